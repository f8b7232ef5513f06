package orchestrator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSupervisorStatusAndNotify: Status follows a stream that fails and is
// restarted, and Notify hears of every state and restart, the error masked.
func TestSupervisorStatusAndNotify(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	var (
		mu     sync.Mutex
		events []Event
	)
	cfg := h.config(h.fake("fail-after:10"))
	cfg.Realtime = true
	cfg.RestartDelay = 10 * time.Millisecond
	cfg.MaxRestarts = 2
	cfg.Notify = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	sup, res := h.start(ctx, cfg)
	if st := sup.Status(); st.Restarts != 0 || st.LastError != "" {
		t.Errorf("before any failure: %+v", st)
	}
	r := h.waitRun(res, 15*time.Second)
	if r.err == nil {
		t.Fatal("Run = nil, want the failure after MaxRestarts")
	}
	st := sup.Status()
	if st.State != StateFailed || st.Restarts != 2 || st.Started.IsZero() {
		t.Errorf("Status after giving up = %+v, want failed after 2 restarts", st)
	}
	if !strings.Contains(st.LastError, "Connection reset") || strings.Contains(st.LastError, supKey) {
		t.Errorf("LastError %q: want the fake's error, key masked", st.LastError)
	}
	if st.Position < 200*time.Millisecond {
		t.Errorf("Position %v, want the 10 frames (0.4 s) each run wrote", st.Position)
	}
	// Three runs of at least 10 frames each, replays counted.
	if fb := int64(supEncoding.FrameBytes()); st.Frames < 30 || st.Bytes < 30*fb {
		t.Errorf("Frames %d, Bytes %d: want at least 30 frames of %d bytes", st.Frames, st.Bytes, fb)
	}
	mu.Lock()
	defer mu.Unlock()
	var restarts, running int
	for _, e := range events {
		if e.Restart {
			restarts++
			if e.Err == "" || strings.Contains(e.Err, supKey) {
				t.Errorf("restart event %+v: want the error, key masked", e)
			}
		}
		if e.State == StateRunning {
			running++
		}
	}
	if restarts != 2 || running < 1 || events[len(events)-1].State != StateFailed {
		t.Errorf("events %+v: want 2 restarts, running, and failed last", events)
	}
}

// TestSupervisorStatusDrift: a realtime writer on time is not behind its
// deadlines.
func TestSupervisorStatusDrift(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.config(h.fake("ok"))
	cfg.Realtime = true
	cfg.Live = true
	sup, res := h.start(ctx, cfg)
	h.waitLog(ctx, "ffmpeg is publishing", nil)
	deadline := time.Now().Add(10 * time.Second)
	for sup.Status().Position < time.Second && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := sup.Status()
	cancel()
	h.waitRun(res, 10*time.Second)
	if st.Position < time.Second || !st.Publishing || st.State != StateRunning {
		t.Fatalf("Status = %+v, want running and publishing past 1 s (a live stream has no end)", st)
	}
	// Generous: the writer wakes at each deadline; a loaded machine is late
	// by a scheduling delay, not by frames.
	if st.Drift > time.Second {
		t.Errorf("Drift %v on a writer that keeps up", st.Drift)
	}
}

// TestSupervisorNoReplayBefore: after a restart the new ffmpeg is fed from
// what it confirmed less the margin, but never from before the floor.
func TestSupervisorNoReplayBefore(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	once := filepath.Join(h.dir, "once")
	if err := os.Mkdir(once, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := h.config(h.fake("fail-after:40", fakeOnceEnv+"="+once, fakeLagEnv+"=10"))
	cfg.Frames = 100
	sup, res := h.start(ctx, cfg)
	sup.NoReplayBefore(20)
	sup.NoReplayBefore(36)
	sup.NoReplayBefore(30) // never moves back
	if r := h.waitRun(res, 10*time.Second); r.err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", r.err, h.dump())
	}
	runs := h.runs()
	if len(runs) != 2 || len(runs[1].frames) == 0 {
		t.Fatalf("%d ffmpeg runs, want 2\nlog:\n%s", len(runs), h.dump())
	}
	// Confirmed 30, margin 1 s (25 frames): without the floor it would resume at 5.
	if from := runs[1].frames[0]; from != 36 {
		t.Errorf("second run starts at frame %d, want the floor 36", from)
	}
}
