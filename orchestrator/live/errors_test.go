package live_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/live"
)

// TestQueueFullSaysItOnce: a refused clip's error, which the control API
// answers with, says what is wrong once.
func TestQueueFullSaysItOnce(t *testing.T) {
	requireFFmpeg(t)
	s, err := live.New(live.Config{Output: filepath.Join(t.TempDir(), "out.ts"), Encoding: enc,
		Image: solid(0, 0, 0), MaxQueue: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SpeakPCM(tone(500, 800*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{800 * time.Millisecond, 2 * time.Second} {
		_, err := s.SpeakPCM(tone(500, d), false)
		if !errors.Is(err, live.ErrQueueFull) || strings.Count(err.Error(), "queue full") != 1 {
			t.Errorf("SpeakPCM of %v past the limit = %v, want ErrQueueFull saying so once", d, err)
		}
	}
	if err := s.Drop("nosuchclip"); !errors.Is(err, live.ErrNotFound) || strings.Count(err.Error(), "no such clip") != 1 {
		t.Errorf("Drop(unknown) = %v, want ErrNotFound saying so once", err)
	}
}
