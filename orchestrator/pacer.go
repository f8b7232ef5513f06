package orchestrator

import (
	"context"
	"time"
)

// pacer holds frame n back until start + (n-first)/fps. Deadlines are
// absolute, taken from one monotonic start, so time spent writing never adds
// up: the prototype slept a second after each second of work and fell behind
// by the work's duration every second.
type pacer struct {
	start    time.Time
	first    int64
	fps      int64
	realtime bool
}

// deadline is when frame n is due.
func (p pacer) deadline(n int64) time.Time {
	return p.start.Add(time.Duration((n - p.first) * int64(time.Second) / p.fps))
}

// wait returns when frame n is due, or with ctx's error. The timer is the
// caller's, reused for every frame so that pacing allocates nothing.
func (p pacer) wait(ctx context.Context, n int64, timer *time.Timer) error {
	if !p.realtime {
		return ctx.Err()
	}
	d := time.Until(p.deadline(n))
	if d <= 0 {
		return ctx.Err()
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		timer.Stop()
		return ctx.Err()
	}
}
