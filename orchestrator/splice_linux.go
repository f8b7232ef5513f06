package orchestrator

import (
	"os"
	"syscall"
	"unsafe"
)

// pipeWriter writes units into a FIFO opened non-blocking (Go's poller waits
// for room). Two choices here, measured at 1280x720 on a 2-core VM:
//   - Video frames go in with vmsplice(2), which maps the frame's pages into
//     the pipe instead of copying them: the copy was a third of livepush's
//     CPU. This is correct only because a frame is never changed once written
//     (VideoSource's contract) and the track's replay ring keeps every frame
//     alive for longer than a full pipe holds it.
//   - The calls are raw syscalls: they never block (the fd is non-blocking),
//     and a plain syscall wakes the runtime's sysmon thread out of its deep
//     sleep every time, which cost more than the writing itself.
//
// spliceNonblock is SPLICE_F_NONBLOCK: vmsplice ignores the fd's O_NONBLOCK,
// and a raw syscall must never sleep in the kernel.
const spliceNonblock = 2

type pipeWriter struct {
	f      *os.File
	rc     syscall.RawConn
	splice bool
}

func newPipeWriter(f *os.File, splice bool) (*pipeWriter, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &pipeWriter{f: f, rc: rc, splice: splice}, nil
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		var n uintptr
		var errno syscall.Errno
		err := w.rc.Write(func(fd uintptr) bool {
			p := b[written:]
			if w.splice {
				iov := syscall.Iovec{Base: &p[0]}
				iov.SetLen(len(p))
				n, _, errno = syscall.RawSyscall6(syscall.SYS_VMSPLICE, fd, uintptr(unsafe.Pointer(&iov)), 1, spliceNonblock, 0, 0)
			} else {
				n, _, errno = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			}
			return errno != syscall.EAGAIN // on EAGAIN, wait until the pipe has room
		})
		switch {
		case err != nil:
			return written, err
		case w.splice && (errno == syscall.ENOSYS || errno == syscall.EPERM || errno == syscall.EINVAL):
			w.splice = false // vmsplice refused (a seccomp filter, say): copy instead
		case errno == syscall.EINTR:
		case errno != 0:
			return written, &os.PathError{Op: "write", Path: w.f.Name(), Err: errno}
		default:
			written += int(n)
		}
	}
	return written, nil
}
