package orchestrator

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestPacerDeadlinesDoNotDrift checks the arithmetic: frame n is due at
// exactly n/fps after the start, even after days of frames, with no
// rounding error that accumulates.
func TestPacerDeadlinesDoNotDrift(t *testing.T) {
	start := time.Now()
	for _, fps := range []int64{25, 30, 24, 60, 7} {
		p := newPacer(start, 100, int(fps), true, nil)
		day := 86400 * fps
		for _, n := range []int64{100, 101, 100 + fps, 100 + day, 100 + 7*day} {
			want := time.Duration(n-100) * time.Second / time.Duration(fps)
			if got := p.deadline(n).Sub(start); got != want {
				t.Errorf("fps %d: deadline(%d) = %v, want %v", fps, n, got, want)
			}
		}
		// Consecutive deadlines differ by 1/fps, within the nanosecond of integer division.
		for n := int64(100); n < 100+3*fps; n++ {
			d := p.deadline(n + 1).Sub(p.deadline(n))
			if exact := time.Second / time.Duration(fps); d < exact || d > exact+1 {
				t.Fatalf("fps %d: step %d = %v", fps, n, d)
			}
		}
	}
}

// runningPacer returns a realtime pacer whose clock started at base.
func runningPacer(base time.Time, first int64, fps int) *pacer {
	p := newPacer(base, first, fps, true, nil)
	p.begin(base)
	return p
}

func newTestAlarm(t *testing.T, ctx context.Context) *alarm {
	t.Helper()
	a, err := newAlarm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	return a
}

func TestPacerWait(t *testing.T) {
	a := newTestAlarm(t, context.Background())
	start := time.Now()
	p := runningPacer(start, 0, 50)
	for n := int64(0); n < 5; n++ {
		if err := p.wait(n, a); err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); now.Before(p.deadline(n)) {
			t.Fatalf("frame %d released %v early", n, p.deadline(n).Sub(now))
		}
	}
	if late := time.Since(p.deadline(4)); late > 500*time.Millisecond {
		t.Errorf("frame 4 released %v late", late)
	}
	// A late frame is released at once.
	late := runningPacer(start.Add(-time.Hour), 0, 25)
	if err := late.wait(1, a); err != nil {
		t.Fatal(err)
	}
	// Without realtime, nothing waits.
	if err := newPacer(time.Now().Add(time.Hour), 0, 25, false, nil).wait(0, a); err != nil {
		t.Error(err)
	}
}

// TestAlarmCancel checks that a done context ends a wait already under way,
// and every wait after it.
func TestAlarmCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	a := newTestAlarm(t, ctx)
	done := make(chan error, 1)
	go func() { done <- a.wait(time.Now().Add(time.Hour)) }()
	time.AfterFunc(20*time.Millisecond, cancel)
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("wait = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled wait did not return")
	}
	if err := a.wait(time.Now().Add(time.Hour)); err != context.Canceled {
		t.Errorf("wait after cancel = %v", err)
	}
	far := newPacer(time.Now().Add(time.Hour), 0, 25, true, nil)
	if err := far.wait(0, a); err == nil {
		t.Error("pacer wait ignored a cancelled context")
	}
}

// TestAlarmShortWaits: waits shorter than the time to arm and poll still end
// (an expiry before the poller looks must not be lost).
func TestAlarmShortWaits(t *testing.T) {
	a := newTestAlarm(t, context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, d := range []time.Duration{1, 10, 100, time.Microsecond, 10 * time.Microsecond} {
			for range 200 {
				a.wait(time.Now().Add(d))
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a short wait never ended")
	}
}

// TestPacerWaitAllocs waits for real (1 ms a frame): sleeping must not allocate.
func TestPacerWaitAllocs(t *testing.T) {
	a := newTestAlarm(t, context.Background())
	p := runningPacer(time.Now(), 0, 1000)
	n := int64(0)
	if allocs := testing.AllocsPerRun(50, func() { p.wait(n, a); n++ }); allocs != 0 {
		t.Errorf("wait allocates %v times a frame", allocs)
	}
}

// TestPacerBegin checks that begin starts the clock, that a second begin
// does not move it, and that a time before base counts as base.
func TestPacerBegin(t *testing.T) {
	base := time.Now().Add(-time.Second)
	p := newPacer(base, 10, 25, true, nil)
	if !p.start().Equal(base) {
		t.Fatal("start before begin is not the base")
	}
	at := base.Add(time.Second)
	p.begin(at)
	if !p.start().Equal(at) {
		t.Errorf("clock started %v after base, want 1s", p.start().Sub(base))
	}
	p.begin(at.Add(time.Hour))
	if !p.start().Equal(at) {
		t.Error("second begin moved the clock")
	}
	if got := p.deadline(35).Sub(at); got != time.Second {
		t.Errorf("deadline(35) = start + %v, want 1s", got)
	}
	early := newPacer(base, 0, 25, true, nil)
	early.begin(base.Add(-time.Hour))
	if !early.start().Equal(base) {
		t.Errorf("begin before base: start is base %+v", early.start().Sub(base))
	}
}

// TestPacerWaitsForBegin: the first frame is due at once; a later one waits
// until the clock starts, and returns early if the reader goes away or the
// context ends first.
func TestPacerWaitsForBegin(t *testing.T) {
	a := newTestAlarm(t, context.Background())
	gone := make(chan struct{})
	p := newPacer(time.Now().Add(-time.Hour), 5, 25, true, gone)
	if err := p.wait(5, a); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.wait(7, a) }()
	select {
	case err := <-done:
		t.Fatalf("frame 7 released (%v) before the clock started", err)
	case <-time.After(100 * time.Millisecond):
	}
	at := time.Now()
	p.begin(at)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); now.Before(p.deadline(7)) {
			t.Errorf("frame 7 released %v before its deadline", p.deadline(7).Sub(now))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("begin did not release the wait")
	}

	q := newPacer(time.Now(), 0, 25, true, gone)
	go func() { done <- q.wait(1, a) }()
	close(gone)
	select {
	case err := <-done:
		if !errors.Is(err, errNotBegun) {
			t.Errorf("wait after the reader went = %v, want errNotBegun", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader's going did not release the wait")
	}

	ctx, cancel := context.WithCancel(context.Background())
	c := newTestAlarm(t, ctx)
	r := newPacer(time.Now(), 0, 25, true, nil)
	go func() { done <- r.wait(1, c) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("wait after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not release the wait")
	}
}
