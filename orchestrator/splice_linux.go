package orchestrator

import (
	"os"
	"syscall"
	"unsafe"
)

// pipeWriter writes units into a FIFO opened non-blocking (Go's poller waits
// for room). Three choices here, each of which shows in scripts/bench.sh's
// realtime CPU and unpaced rows:
//   - Video frames go in with vmsplice(2), which maps the frame's pages into
//     the pipe instead of copying them, the writer's largest cost at large
//     frame sizes. This is correct only because a frame is never changed
//     once written (VideoSource's contract) and the track's replay ring
//     keeps every frame alive for longer than a full pipe holds it.
//   - The calls are raw syscalls: they never block (the fd is non-blocking),
//     and a plain syscall wakes the runtime's sysmon thread out of its deep
//     sleep every time, which costs more than the writing itself.
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

	// write is w.writeSome, bound once: a closure made per call would
	// allocate every frame. The fields below carry its argument and results.
	write   func(fd uintptr) bool
	units   [][]byte // left to write
	off     int      // bytes of units[0] already written
	written int
	iov     []syscall.Iovec
	errno   syscall.Errno
}

func newPipeWriter(f *os.File, splice bool) (*pipeWriter, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	w := &pipeWriter{f: f, rc: rc, splice: splice, iov: make([]syscall.Iovec, 0, maxIovecs)}
	w.write = w.writeSome
	return w, nil
}

// writeSome writes what is left of w.units with non-blocking calls. It
// reports false (the poller then waits for room) after EAGAIN and also after
// a short write: that one filled the pipe, and trying again at once only
// finds the reader holding the pipe's lock while it copies out, a spin that
// costs the writer much of its CPU when unpaced. The reader's next read of a
// full pipe wakes the poller, so no wake-up is lost.
func (w *pipeWriter) writeSome(fd uintptr) bool {
	nr := syscall.SYS_WRITEV
	if w.splice {
		nr = syscall.SYS_VMSPLICE
	}
	for {
		for len(w.units) > 0 && w.off == len(w.units[0]) {
			w.units, w.off = w.units[1:], 0
		}
		if len(w.units) == 0 {
			return true
		}
		w.iov = w.iov[:0]
		want := 0
		for i, u := range w.units[:min(len(w.units), maxIovecs)] {
			if i == 0 {
				u = u[w.off:]
			}
			if len(u) > 0 { // an empty unit has no address to take
				v := syscall.Iovec{Base: &u[0]}
				v.SetLen(len(u))
				w.iov = append(w.iov, v)
				want += len(u)
			}
		}
		n, _, errno := syscall.RawSyscall6(uintptr(nr), fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(len(w.iov)), spliceNonblock, 0, 0)
		switch errno {
		case 0:
		case syscall.EAGAIN:
			return false
		case syscall.EINTR:
			continue
		default:
			w.errno = errno
			return true
		}
		// Step past what went in: whole units, then into a partial one.
		w.written += int(n)
		for k := int(n); k > 0; {
			c := min(k, len(w.units[0])-w.off)
			k -= c
			w.off += c
			if w.off == len(w.units[0]) {
				w.units, w.off = w.units[1:], 0
			}
		}
		if int(n) < want {
			return false
		}
	}
}

// WriteUnits writes the units in order, in as few system calls as the
// pipe's room allows, and returns how many bytes of them were written.
func (w *pipeWriter) WriteUnits(units [][]byte) (int, error) {
	w.units, w.off, w.written = units, 0, 0
	defer func() { w.units, w.iov = nil, w.iov[:0] }() // hold no frame after returning
	for {
		w.errno = 0
		err := w.rc.Write(w.write)
		switch {
		case err != nil:
			return w.written, err
		case w.splice && (w.errno == syscall.ENOSYS || w.errno == syscall.EPERM || w.errno == syscall.EINVAL):
			w.splice = false // vmsplice refused (a seccomp filter, say): copy instead
		case w.errno != 0:
			return w.written, &os.PathError{Op: "write", Path: w.f.Name(), Err: w.errno}
		default:
			return w.written, nil
		}
	}
}
