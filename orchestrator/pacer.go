package orchestrator

import (
	"errors"
	"sync/atomic"
	"time"
)

// pacer holds frame n back until start + (n-first)/fps. Deadlines are
// absolute, taken from one monotonic start, so time spent writing never adds
// up, as it would with a sleep after each piece of work.
//
// Both pipe writers share one pacer. The clock starts (begin) when ffmpeg is
// ready to take frames at real time: its first progress report, which ffmpeg
// prints once its output is open and its encoders are initialized, with only
// the first unit of each input read. Until then a writer writes its first
// unit at once (ffmpeg probes it) and waits. A clock started when ffmpeg
// opens a pipe would leave the probing of both inputs, the connection to the
// server and the encoders' start-up to be caught up later in a burst, most
// of all when many streams start at once (scripts/bench.sh's scale rows).
type pacer struct {
	base     time.Time // monotonic origin
	first    int64
	fps      int64
	realtime bool
	started  atomic.Int64    // 1 + nanoseconds after base when the clock started; 0: not yet
	begun    chan struct{}   // closed when the clock starts
	gone     <-chan struct{} // closed when ffmpeg exited: the clock will not start
}

// errNotBegun is wait's error when the reader went away before the clock started.
var errNotBegun = errors.New("ffmpeg exited before it was ready")

// newPacer returns a pacer whose clock has not started. gone is closed when
// the reader can no longer become ready (ffmpeg exited); nil: never.
func newPacer(base time.Time, first int64, fps int, realtime bool, gone <-chan struct{}) *pacer {
	return &pacer{base: base, first: first, fps: int64(fps), realtime: realtime, begun: make(chan struct{}), gone: gone}
}

// begin starts the clock at t (not before base), unless it started already.
func (p *pacer) begin(t time.Time) {
	if p.started.CompareAndSwap(0, int64(max(t.Sub(p.base), 0))+1) {
		close(p.begun)
	}
}

// start is the time of frame first; base until the clock starts.
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
// the alarm was made with. Frame first is due at once; a later one waits for
// the clock to start, too. The alarm is the caller's, reused for every frame
// so that pacing allocates nothing.
func (p *pacer) wait(n int64, a *alarm) error {
	if !p.realtime {
		return a.ctx.Err()
	}
	if n > p.first && p.started.Load() == 0 {
		select {
		case <-p.begun:
		case <-p.gone:
			return errNotBegun
		case <-a.ctx.Done():
			return a.ctx.Err()
		}
	}
	return a.wait(p.deadline(n))
}
