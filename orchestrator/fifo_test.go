package orchestrator

import "testing"

func TestPipeSizes(t *testing.T) {
	for _, c := range []struct{ frame, video int }{
		{256 * 256 * 3, 1 << 20},
		{1280 * 720 * 3, 4 << 20},
		{1920 * 1080 * 3, 8 << 20},
		{3840 * 2160 * 3, 16 << 20}, // capped
	} {
		if got := videoPipeSize(c.frame); got != c.video {
			t.Errorf("videoPipeSize(%d) = %d, want %d", c.frame, got, c.video)
		}
	}
	for _, c := range []struct{ rate, audio int }{
		{24000 * 2, 64 << 10},
		{48000 * 2 * 2, 256 << 10},
	} {
		if got := audioPipeSize(c.rate); got != c.audio {
			t.Errorf("audioPipeSize(%d) = %d, want %d", c.rate, got, c.audio)
		}
	}
}
