package frames

import "testing"

// TestResampleTaps pins the filter lengths of the common conversions to
// 24 kHz, the resampler's cost per output sample: its quality tests say
// how short it may be.
func TestResampleTaps(t *testing.T) {
	for _, c := range []struct{ in, taps int }{{44100, 108}, {48000, 116}} {
		half, _, _ := resampleDesign(c.in, 24000)
		if 2*half > c.taps {
			t.Errorf("%d -> 24000 Hz: %d taps, want at most %d", c.in, 2*half, c.taps)
		}
	}
}
