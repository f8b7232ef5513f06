package orchestrator

import (
	"sync/atomic"
	"time"
)

// pacer holds frame n back until start + (n-first)/fps. Deadlines are
// absolute, taken from one monotonic start, so time spent writing never adds
// up: the prototype slept a second after each second of work and fell behind
// by the work's duration every second.
//
// Both pipe writers share one pacer. The clock starts when the first of them
// has its pipe opened by ffmpeg, not when ffmpeg was started, so ffmpeg's
// start-up time is not caught up later in a burst of frames.
type pacer struct {
	base     time.Time // monotonic origin
	first    int64
	fps      int64
	realtime bool
	started  atomic.Int64 // 1 + nanoseconds after base when the clock started; 0: not yet
}

func newPacer(base time.Time, first int64, fps int, realtime bool) *pacer {
	return &pacer{base: base, first: first, fps: int64(fps), realtime: realtime}
}

// begin starts the clock now, unless a writer already did.
func (p *pacer) begin() {
	p.started.CompareAndSwap(0, int64(time.Since(p.base))+1)
}

// start is the time of frame first.
func (p *pacer) start() time.Time {
	if s := p.started.Load(); s > 0 {
		return p.base.Add(time.Duration(s - 1))
	}
	return p.base
}

// deadline is when frame n is due.
func (p *pacer) deadline(n int64) time.Time {
	return p.start().Add(time.Duration((n - p.first) * int64(time.Second) / p.fps))
}

// wait returns when frame n is due, or early with the error of the context
// the alarm was made with. The alarm is the caller's, reused for every frame
// so that pacing allocates nothing.
func (p *pacer) wait(n int64, a *alarm) error {
	if !p.realtime {
		return a.ctx.Err()
	}
	return a.wait(p.deadline(n))
}
