package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// alarm sleeps a pipe writer until its next frame is due. On Linux it is a
// timerfd waited on by Go's network poller rather than a runtime timer:
// every runtime timer also wakes the runtime's sysmon thread out of its deep
// sleep (it sleeps only until the next timer), which at 25 frames a second
// cost livepush more CPU than the writing (measured at 1280x720). A timerfd
// is just another file descriptor to the poller, so sysmon sleeps on.
//
// The calls are raw syscalls for the same reason as pipeWriter's: none of
// them blocks, and an ordinary syscall wakes sysmon too.
type alarm struct {
	ctx  context.Context
	f    *os.File
	rc   syscall.RawConn
	stop func() bool

	// read is a.readExpirations, bound once: a closure made per wait would
	// allocate every frame.
	read  func(fd uintptr) bool
	arm   time.Duration // what the next read arms the timer for
	errno syscall.Errno
	count uint64
}

// itimerspec is struct itimerspec; Timespec has the platform's word sizes.
type itimerspec struct{ interval, value syscall.Timespec }

const (
	clockMonotonic = 1       // CLOCK_MONOTONIC
	tfdNonblock    = 0x800   // TFD_NONBLOCK (O_NONBLOCK)
	tfdCloexec     = 0x80000 // TFD_CLOEXEC (O_CLOEXEC)
)

// newAlarm returns an alarm whose waits end early, with ctx's error, once
// ctx is done. Close releases it.
func newAlarm(ctx context.Context) (*alarm, error) {
	fd, _, errno := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil, fmt.Errorf("timerfd_create: %w", errno)
	}
	f := os.NewFile(fd, "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	a := &alarm{ctx: ctx, f: f, rc: rc}
	a.read = a.readExpirations
	// A deadline in the past ends a pending read at once and every later one.
	a.stop = context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	return a, nil
}

// wait sleeps for d, or until the context given to newAlarm is done, and
// then returns that context's error.
func (a *alarm) wait(d time.Duration) error {
	if d <= 0 {
		return a.ctx.Err()
	}
	a.arm = d
	err := a.rc.Read(a.read)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return a.ctx.Err()
	case err != nil:
		return err
	case a.errno != 0:
		return fmt.Errorf("timerfd: %w", a.errno)
	}
	return a.ctx.Err()
}

// readExpirations first arms the timer for a.arm and goes to the poller
// without a read(2) that could only say EAGAIN: one system call a frame
// saved. Arming happens here, inside RawRead, because RawRead forgets any
// readiness seen before it began: a timer armed earlier could expire unseen.
// Then it reads the expiration count; EAGAIN means not yet, and the poller
// waits.
func (a *alarm) readExpirations(fd uintptr) bool {
	if d := a.arm; d > 0 {
		a.arm = 0
		// it_interval zero: one shot.
		spec := itimerspec{value: syscall.NsecToTimespec(int64(d))}
		_, _, a.errno = syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
		return a.errno != 0
	}
	_, _, a.errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&a.count)), 8)
	return a.errno != syscall.EAGAIN
}

func (a *alarm) close() {
	a.stop()
	a.f.Close()
}
