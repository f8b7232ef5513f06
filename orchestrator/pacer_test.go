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

func TestPacerWait(t *testing.T) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	p := newPacer(start, 0, 50, true)
	for n := int64(0); n < 5; n++ {
		if err := p.wait(context.Background(), n, timer); err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); now.Before(p.deadline(n)) {
			t.Fatalf("frame %d released %v early", n, p.deadline(n).Sub(now))
		}
	}
	// A late frame is released at once.
	late := newPacer(start.Add(-time.Hour), 0, 25, true)
	if err := late.wait(context.Background(), 1, timer); err != nil {
		t.Fatal(err)
	}
	// Cancellation ends a wait early.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	far := newPacer(time.Now().Add(time.Hour), 0, 25, true)
	if err := far.wait(ctx, 0, timer); err == nil {
		t.Error("wait ignored a cancelled context")
	}
	// Without realtime, nothing waits.
	if err := newPacer(time.Now().Add(time.Hour), 0, 25, false).wait(context.Background(), 0, timer); err != nil {
		t.Error(err)
	}
}

func TestPacerWaitAllocs(t *testing.T) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	p := newPacer(time.Now().Add(-time.Hour), 0, 25, true)
	ctx := context.Background()
	n := int64(0)
	if a := testing.AllocsPerRun(100, func() { p.wait(ctx, n, timer); n++ }); a != 0 {
		t.Errorf("wait allocates %v times a frame", a)
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
