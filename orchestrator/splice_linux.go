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

	// write is w.writeOnce, bound once: a closure made per call would
	// allocate every frame. p, n and errno carry its argument and results.
	write func(fd uintptr) bool
	p     []byte
	n     uintptr
	errno syscall.Errno
}

func newPipeWriter(f *os.File, splice bool) (*pipeWriter, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	w := &pipeWriter{f: f, rc: rc, splice: splice}
	w.write = w.writeOnce
	return w, nil
}

// writeOnce makes one non-blocking write of w.p; on EAGAIN the poller waits
// until the pipe has room.
func (w *pipeWriter) writeOnce(fd uintptr) bool {
	if w.splice {
		iov := syscall.Iovec{Base: &w.p[0]}
		iov.SetLen(len(w.p))
		w.n, _, w.errno = syscall.RawSyscall6(syscall.SYS_VMSPLICE, fd, uintptr(unsafe.Pointer(&iov)), 1, spliceNonblock, 0, 0)
	} else {
		w.n, _, w.errno = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&w.p[0])), uintptr(len(w.p)))
	}
	return w.errno != syscall.EAGAIN
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	defer func() { w.p = nil }() // hold no frame after returning
	written := 0
	for written < len(b) {
		w.p = b[written:]
		err := w.rc.Write(w.write)
		switch {
		case err != nil:
			return written, err
		case w.splice && (w.errno == syscall.ENOSYS || w.errno == syscall.EPERM || w.errno == syscall.EINVAL):
			w.splice = false // vmsplice refused (a seccomp filter, say): copy instead
		case w.errno == syscall.EINTR:
		case w.errno != 0:
			return written, &os.PathError{Op: "write", Path: w.f.Name(), Err: w.errno}
		default:
			written += int(w.n)
		}
	}
	return written, nil
}
