//go:build !linux

package orchestrator

import (
	"context"
	"time"
)

// alarm sleeps a pipe writer until its next frame is due, on a runtime timer.
type alarm struct {
	ctx   context.Context
	timer *time.Timer
}

func newAlarm(ctx context.Context) (*alarm, error) {
	return &alarm{ctx: ctx, timer: time.NewTimer(time.Hour)}, nil
}

// wait sleeps until due, or until the context given to newAlarm is done,
// and then returns that context's error.
func (a *alarm) wait(due time.Time) error {
	d := time.Until(due)
	if d <= 0 {
		return a.ctx.Err()
	}
	a.timer.Reset(d)
	select {
	case <-a.timer.C:
	case <-a.ctx.Done():
		a.timer.Stop()
	}
	return a.ctx.Err()
}

func (a *alarm) close() { a.timer.Stop() }
