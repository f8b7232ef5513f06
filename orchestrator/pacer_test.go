package orchestrator

import (
	"context"
	"testing"
	"time"
)

// TestPacerDeadlinesDoNotDrift checks the arithmetic: frame n is due at
// exactly n/fps after the start, even after days of frames, with no
// rounding error that accumulates.
func TestPacerDeadlinesDoNotDrift(t *testing.T) {
	start := time.Now()
	for _, fps := range []int64{25, 30, 24, 60, 7} {
		p := newPacer(start, 100, int(fps), true)
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
	p := newPacer(start, 0, 50, true)
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
	late := newPacer(start.Add(-time.Hour), 0, 25, true)
	if err := late.wait(1, a); err != nil {
		t.Fatal(err)
	}
	// Without realtime, nothing waits.
	if err := newPacer(time.Now().Add(time.Hour), 0, 25, false).wait(0, a); err != nil {
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
	far := newPacer(time.Now().Add(time.Hour), 0, 25, true)
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
	p := newPacer(time.Now(), 0, 1000, true)
	n := int64(0)
	if allocs := testing.AllocsPerRun(50, func() { p.wait(n, a); n++ }); allocs != 0 {
		t.Errorf("wait allocates %v times a frame", allocs)
	}
}

// TestPacerBegin checks that the clock starts when the first pipe opens,
// and that a second begin does not move it.
func TestPacerBegin(t *testing.T) {
	base := time.Now().Add(-time.Second)
	p := newPacer(base, 10, 25, true)
	if !p.start().Equal(base) {
		t.Fatal("start before begin is not the base")
	}
	p.begin()
	s := p.start()
	if s.Sub(base) < time.Second {
		t.Errorf("clock started %v after base, want >= 1s", s.Sub(base))
	}
	p.begin()
	if !p.start().Equal(s) {
		t.Error("second begin moved the clock")
	}
	if got := p.deadline(35).Sub(s); got != time.Second {
		t.Errorf("deadline(35) = start + %v, want 1s", got)
	}
}
