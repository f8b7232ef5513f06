package talk

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/livepush/livepush/frames"
)

const (
	rate  = 24000
	fps   = 25
	chunk = rate / fps // samples a frame
)

// speech is testdata/talk-speech.wav (espeak-ng, whose pauses are digital
// silence, so that which frames are speech is known), as samples.
func speech(t *testing.T) []float64 {
	t.Helper()
	pcm, err := frames.DecodeWAV("../../testdata/talk-speech.wav", rate, 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]float64, len(pcm)/2)
	for i := range s {
		s[i] = float64(int16(binary.LittleEndian.Uint16(pcm[2*i:]))) / 32768
	}
	return s
}

// pcmOf turns samples into s16le, clipped.
func pcmOf(s []float64) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(max(-32768, min(32767, math.Round(v*32768))))))
	}
	return b
}

// truth is, for each frame of s, whether it holds any sound at all.
func truth(s []float64) []bool {
	var out []bool
	for i := 0; i+chunk <= len(s); i += chunk {
		any := false
		for _, v := range s[i : i+chunk] {
			if math.Abs(v) > 2.0/32768 {
				any = true
				break
			}
		}
		out = append(out, any)
	}
	return out
}

// judge runs a detector over s, frame by frame.
func judge(t *testing.T, cfg DetectorConfig, s []float64) []bool {
	t.Helper()
	cfg.FPS = fps
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pcm := pcmOf(s)
	var out []bool
	for i := 0; i+2*chunk <= len(pcm); i += 2 * chunk {
		out = append(out, d.Speaking(pcm[i:i+2*chunk]))
	}
	return out
}

// TestDetectorOnSpeech: on real speech, quiet or loud, clean or with hiss,
// the frames of a word read as speech, and those of a pause (after the
// hold) as silence.
func TestDetectorOnSpeech(t *testing.T) {
	clean := speech(t)
	want := truth(clean)
	noise := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name        string
		gainDB      float64
		noiseDBFS   float64 // RMS of white noise added; 0: none
		minVoiced   float64 // share of the words' frames that must read as speech
		maxInPauses float64 // share of the pauses' frames that may
	}{
		{"as made", 0, 0, 0.95, 0},
		{"quiet", -24, 0, 0.95, 0},
		{"loud", +6, 0, 0.95, 0},
		{"with hiss", 0, -55, 0.9, 0.05},
		{"quiet with hiss", -18, -60, 0.85, 0.05},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := make([]float64, len(clean))
			g := math.Pow(10, c.gainDB/20)
			sigma := 0.0
			if c.noiseDBFS != 0 {
				sigma = math.Pow(10, c.noiseDBFS/20)
			}
			for i, v := range clean {
				s[i] = v*g + sigma*noise.NormFloat64()
			}
			got := judge(t, DetectorConfig{}, s)
			hold := 3 // 100 ms at 25 fps, less a frame of slack
			var words, voiced, pauses, wrong int
			for i, w := range want {
				if w {
					words++
					if got[i] {
						voiced++
					}
					continue
				}
				// A frame of a pause, past the hold of the speech before it.
				if i >= hold && !want[i-1] && !want[i-2] && !want[i-3] {
					pauses++
					if got[i] {
						wrong++
					}
				}
			}
			if r := float64(voiced) / float64(words); r < c.minVoiced {
				t.Errorf("%d of %d frames of words read as speech (%.2f, want >= %.2f)", voiced, words, r, c.minVoiced)
			}
			if r := float64(wrong) / float64(pauses); r > c.maxInPauses {
				t.Errorf("%d of %d frames of pauses read as speech (%.2f, want <= %.2f)", wrong, pauses, r, c.maxInPauses)
			}
		})
	}
}

// tones is 1 kHz bursts at amp during the given frame ranges, over noise
// of RMS sigma.
func tones(frames int, amp, sigma float64, on [][2]int) []float64 {
	s := make([]float64, frames*chunk)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range s {
		s[i] = sigma * r.NormFloat64()
	}
	for _, b := range on {
		for i := b[0] * chunk; i < b[1]*chunk; i++ {
			s[i] += amp * math.Sin(2*math.Pi*1000*float64(i)/rate)
		}
	}
	return s
}

// TestDetectorOnTones: a burst reads as speech from its first frame to its
// last plus the hold, and not a frame more; with and without noise; with a
// fixed threshold too.
func TestDetectorOnTones(t *testing.T) {
	bursts := [][2]int{{10, 30}, {50, 52}, {80, 130}}
	for _, c := range []struct {
		name       string
		amp, sigma float64
		cfg        DetectorConfig
	}{
		{"clean", 0.5, 0, DetectorConfig{}},
		{"faint", 0.01, 0, DetectorConfig{}},
		{"noisy", 0.3, 0.01, DetectorConfig{}},
		{"fixed threshold", 0.5, 0.01, DetectorConfig{Threshold: -30}},
		{"longer hold", 0.5, 0, DetectorConfig{Hold: 400 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := judge(t, c.cfg, tones(160, c.amp, c.sigma, bursts))
			hold := 2 // 100 ms at 25 fps, rounded
			if c.cfg.Hold > 0 {
				hold = int(c.cfg.Hold * fps / time.Second)
			}
			for i, g := range got {
				if c.sigma > 0 && c.cfg.Threshold == 0 && i <= hold {
					continue // the first frame is judged before any noise was heard
				}
				want := false
				for _, b := range bursts {
					if i >= b[0] && i < b[1]+hold {
						want = true
					}
				}
				if g != want {
					t.Errorf("frame %d: speaking %v, want %v", i, g, want)
				}
			}
		})
	}
}

func TestNewDetectorRefuses(t *testing.T) {
	for _, c := range []DetectorConfig{{FPS: 0}, {FPS: 25, Threshold: 3}, {FPS: 25, Threshold: -200}, {FPS: 25, Hold: -time.Second}} {
		if _, err := NewDetector(c); err == nil {
			t.Errorf("NewDetector(%+v) took it", c)
		}
	}
}

func solid(v byte) *frames.Frame {
	f := &frames.Frame{Width: 4, Height: 2, Pix: make([]byte, 4*2*3)}
	for i := range f.Pix {
		f.Pix[i] = v
	}
	return f
}

// TestAvatarBlinks: the blink picture shows for BlinkFor at intervals in
// [BlinkMin, BlinkMax], while idle and while talking.
func TestAvatarBlinks(t *testing.T) {
	idle, talk, blink := solid(1), solid(2), solid(3)
	a, err := New(Config{Width: 4, Height: 2, FPS: fps, Idle: idle, Talk: talk, Blink: blink, Seed: 7,
		Detector: DetectorConfig{Threshold: -30}})
	if err != nil {
		t.Fatal(err)
	}
	s := tones(2000, 0.5, 0, [][2]int{{500, 1500}})
	pcm := pcmOf(s)
	var starts []int
	var run int
	for n := 0; n < 2000; n++ {
		f := a.Frame(int64(n), pcm[2*chunk*n:2*chunk*(n+1)])
		if f == blink {
			if run == 0 {
				starts = append(starts, n)
			}
			run++
			if a.Showing() != Blink {
				t.Fatalf("frame %d: blink shown, Showing says %v", n, a.Showing())
			}
			continue
		}
		if run != 0 && run != 3 { // 150 ms at 25 fps
			t.Errorf("blink at frame %d lasted %d frames, want 3", n-run, run)
		}
		run = 0
		want := idle
		if n >= 500 && n < 1500+2 { // the hold: 100 ms
			want = talk
		}
		if f != want {
			t.Fatalf("frame %d: picture %d, want %d", n, f.Pix[0], want.Pix[0])
		}
	}
	if len(starts) < 2000/150 || len(starts) > 2000/50+1 {
		t.Errorf("%d blinks in 80 s, want 13-41", len(starts))
	}
	for i := 1; i < len(starts); i++ {
		if d := starts[i] - starts[i-1]; d < 50 || d > 150 {
			t.Errorf("blinks %d frames apart, want 50-150", d)
		}
	}
	// Without a blink picture nothing blinks; without a talking one the
	// mouth stays shut.
	a, _ = New(Config{Width: 4, Height: 2, FPS: fps, Idle: idle, Seed: 7})
	for n := 0; n < 2000; n++ {
		if f := a.Frame(int64(n), pcm[2*chunk*n:2*chunk*(n+1)]); f != idle {
			t.Fatalf("frame %d: not the idle picture", n)
		}
	}
}

func TestAvatarFrameAllocs(t *testing.T) {
	a, err := New(Config{Width: 4, Height: 2, FPS: fps, Idle: solid(1), Talk: solid(2), Blink: solid(3)})
	if err != nil {
		t.Fatal(err)
	}
	pcm := pcmOf(tones(1, 0.5, 0, [][2]int{{0, 1}}))
	n := int64(0)
	if allocs := testing.AllocsPerRun(1000, func() { a.Frame(n, pcm); n++ }); allocs != 0 {
		t.Errorf("%v allocations a frame", allocs)
	}
}

func TestAvatarSetRefuses(t *testing.T) {
	a, err := New(Config{Width: 4, Height: 2, FPS: fps, Idle: solid(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Set(Idle, nil); err == nil {
		t.Error("no idle picture was taken")
	}
	if err := a.Set(Talk, &frames.Frame{Width: 2, Height: 2, Pix: make([]byte, 12)}); err == nil {
		t.Error("a picture of the wrong size was taken")
	}
	if _, err := ParseRole("smile"); err == nil {
		t.Error("an unknown role was taken")
	}
}
