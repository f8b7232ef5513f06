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
// costs more CPU than the writing (scripts/bench.sh's realtime CPU rows). A
// timerfd is just another file descriptor to the poller, so sysmon sleeps on.
//
// The calls are raw syscalls for the same reason as pipeWriter's: none of
// them blocks, and an ordinary syscall wakes sysmon too.
type alarm struct {
	ctx  context.Context
	f    *os.File
	rc   syscall.RawConn
	stop func() bool

	// poll is a.pollOnce, bound once: a closure made per wait would
	// allocate every frame. arm, armed and errno are its argument and state.
	poll  func(fd uintptr) bool
	arm   time.Duration // what to arm the timer for
	armed bool
	errno syscall.Errno
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
	a.poll = a.pollOnce
	// A deadline in the past ends a pending read at once and every later one.
	a.stop = context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	return a, nil
}

// wait sleeps until due, or until the context given to newAlarm is done,
// and then returns that context's error.
func (a *alarm) wait(due time.Time) error {
	for {
		d := time.Until(due)
		if d <= 0 {
			return a.ctx.Err()
		}
		a.arm, a.armed = d, false
		err := a.rc.Read(a.poll)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return a.ctx.Err()
		case err != nil:
			return err
		case a.errno != 0:
			return fmt.Errorf("timerfd: %w", a.errno)
		}
		// The poller saw the timer fire, which it does at due or later;
		// the loop only guards against a wake-up that was not the timer's.
	}
}

// pollOnce runs inside RawRead, which forgets any readiness seen before it
// began: so it arms the timer there (a timer armed earlier could expire
// unseen) and leaves the waiting to the poller. Called again, the poller
// has seen the timer fire: no read(2) of the expiration count is needed,
// because the poller is edge-triggered (an unread count does not keep it
// ready) and the next timerfd_settime clears the count.
func (a *alarm) pollOnce(fd uintptr) bool {
	if a.armed {
		return true
	}
	a.armed = true
	// it_interval zero: one shot.
	spec := itimerspec{value: syscall.NsecToTimespec(int64(a.arm))}
	_, _, a.errno = syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	return a.errno != 0
}

func (a *alarm) close() {
	a.stop()
	a.f.Close()
}
