package orchestrator

import (
	"os"
	"syscall"
	"unsafe"
)

// pipeWriter writes units into a FIFO opened non-blocking (Go's poller waits
// for room). Three choices here, measured at 1280x720 on a 2-core VM:
//   - Video frames go in with vmsplice(2), which maps the frame's pages into
//     the pipe instead of copying them: the copy was a third of livepush's
//     CPU. This is correct only because a frame is never changed once written
//     (VideoSource's contract) and the track's replay ring keeps every frame
//     alive for longer than a full pipe holds it.
//   - The calls are raw syscalls: they never block (the fd is non-blocking),
//     and a plain syscall wakes the runtime's sysmon thread out of its deep
//     sleep every time, which cost more than the writing itself.
//   - A batch of units (an audio block) is one writev(2), not a write each:
//     system calls are dear on a VM, and this is most of them.
//
// spliceNonblock is SPLICE_F_NONBLOCK: vmsplice ignores the fd's O_NONBLOCK,
// and a raw syscall must never sleep in the kernel.
const spliceNonblock = 2

// maxIovecs bounds the units one call passes (Linux's UIO_MAXIOV is 1024).
const maxIovecs = 64

type pipeWriter struct {
	f      *os.File
	rc     syscall.RawConn
	splice bool

	// write is w.writeOnce, bound once: a closure made per call would
	// allocate every frame. iov, n and errno carry its argument and results.
	write func(fd uintptr) bool
	iov   []syscall.Iovec
	n     uintptr
	errno syscall.Errno
}

func newPipeWriter(f *os.File, splice bool) (*pipeWriter, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	w := &pipeWriter{f: f, rc: rc, splice: splice, iov: make([]syscall.Iovec, 0, maxIovecs)}
	w.write = w.writeOnce
	return w, nil
}

// writeOnce makes one non-blocking write of w.iov; on EAGAIN the poller
// waits until the pipe has room.
func (w *pipeWriter) writeOnce(fd uintptr) bool {
	nr := syscall.SYS_WRITEV
	if w.splice {
		nr = syscall.SYS_VMSPLICE
	}
	w.n, _, w.errno = syscall.RawSyscall6(uintptr(nr), fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(len(w.iov)), spliceNonblock, 0, 0)
	return w.errno != syscall.EAGAIN
}

// Write writes b whole, or returns the error that stopped it.
func (w *pipeWriter) Write(b []byte) (int, error) {
	var one [1][]byte
	one[0] = b
	return w.WriteUnits(one[:])
}

// WriteUnits writes the units in order, in as few system calls as the
// pipe's room allows, and returns how many bytes of them were written.
func (w *pipeWriter) WriteUnits(units [][]byte) (int, error) {
	defer func() { w.iov = w.iov[:0] }() // hold no frame after returning
	written := 0
	off := 0 // bytes of units[0] already written
	for {
		for len(units) > 0 && off == len(units[0]) {
			units, off = units[1:], 0
		}
		if len(units) == 0 {
			return written, nil
		}
		w.iov = w.iov[:0]
		for i, u := range units[:min(len(units), maxIovecs)] {
			if i == 0 {
				u = u[off:]
			}
			if len(u) > 0 { // an empty unit has no address to take
				v := syscall.Iovec{Base: &u[0]}
				v.SetLen(len(u))
				w.iov = append(w.iov, v)
			}
		}
		err := w.rc.Write(w.write)
		switch {
		case err != nil:
			return written, err
		case w.splice && (w.errno == syscall.ENOSYS || w.errno == syscall.EPERM || w.errno == syscall.EINVAL):
			w.splice = false // vmsplice refused (a seccomp filter, say): copy instead
			continue
		case w.errno == syscall.EINTR:
			continue
		case w.errno != 0:
			return written, &os.PathError{Op: "write", Path: w.f.Name(), Err: w.errno}
		}
		// Step past what went in: whole units, then into a partial one.
		n := int(w.n)
		written += n
		for n > 0 {
			k := min(n, len(units[0])-off)
			n -= k
			off += k
			if off == len(units[0]) {
				units, off = units[1:], 0
			}
		}
	}
}
