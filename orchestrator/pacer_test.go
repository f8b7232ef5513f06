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
		p := pacer{start: start, first: 100, fps: fps, realtime: true}
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
	p := pacer{start: start, fps: 50, realtime: true}
	for n := int64(0); n < 5; n++ {
		if err := p.wait(context.Background(), n, timer); err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); now.Before(p.deadline(n)) {
			t.Fatalf("frame %d released %v early", n, p.deadline(n).Sub(now))
		}
	}
	// A late frame is released at once.
	late := pacer{start: start.Add(-time.Hour), fps: 25, realtime: true}
	if err := late.wait(context.Background(), 1, timer); err != nil {
		t.Fatal(err)
	}
	// Cancellation ends a wait early.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	far := pacer{start: time.Now().Add(time.Hour), fps: 25, realtime: true}
	if err := far.wait(ctx, 0, timer); err == nil {
		t.Error("wait ignored a cancelled context")
	}
	// Without realtime, nothing waits.
	if err := (pacer{start: time.Now().Add(time.Hour), fps: 25}).wait(context.Background(), 0, timer); err != nil {
		t.Error(err)
	}
}

func TestPacerWaitAllocs(t *testing.T) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	p := pacer{start: time.Now().Add(-time.Hour), fps: 25, realtime: true}
	ctx := context.Background()
	n := int64(0)
	if a := testing.AllocsPerRun(100, func() { p.wait(ctx, n, timer); n++ }); a != 0 {
		t.Errorf("wait allocates %v times a frame", a)
	}
}
