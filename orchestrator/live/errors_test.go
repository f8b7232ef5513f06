package live_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/live"
)

// TestQueueFullSaysItOnce: a refused clip's error, which the control API
// answers with, says what is wrong once.
func TestQueueFullSaysItOnce(t *testing.T) {
	requireFFmpeg(t)
	s, err := live.New(live.Config{Config: orchestrator.Config{Output: filepath.Join(t.TempDir(), "out.ts"), Encoding: enc},
		Image: solid(0, 0, 0), MaxQueue: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SpeakPCM(tone(500, 800*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SpeakPCM(tone(500, 800*time.Millisecond), false); !errors.Is(err, live.ErrQueueFull) ||
		strings.Count(err.Error(), "queue full") != 1 {
		t.Errorf("SpeakPCM past the limit = %v, want ErrQueueFull saying so once", err)
	}
	// A clip that can never fit is told apart: waiting would not help.
	if _, err := s.SpeakPCM(tone(500, 2*time.Second), false); !errors.Is(err, live.ErrTooLong) || errors.Is(err, live.ErrQueueFull) {
		t.Errorf("SpeakPCM of a clip longer than the queue = %v, want ErrTooLong", err)
	}
	if err := s.Drop("nosuchclip"); !errors.Is(err, live.ErrNotFound) || strings.Count(err.Error(), "no such clip") != 1 {
		t.Errorf("Drop(unknown) = %v, want ErrNotFound saying so once", err)
	}
}
