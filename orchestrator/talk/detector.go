package talk

import (
	"fmt"
	"time"

	"github.com/livepush/livepush/frames"
)

// DetectorConfig describes how speech is told from silence. Zero values
// take the defaults named.
type DetectorConfig struct {
	FPS int // frames a second: each frame's audio is judged on its own
	// Threshold is a fixed level in dBFS above which a frame is speech;
	// 0: relative to the speech and the noise heard so far (see Detector).
	Threshold float64
	// Hold keeps the talking picture this long after the last frame of
	// speech, so that the mouth does not flicker between syllables (100ms).
	Hold time.Duration
}

// Relative threshold: a frame is speech when it is louder than both the
// noise floor plus noiseMargin and the recent speech peak less peakRange,
// and than floorDBFS. Both trackers follow a change towards them at once
// and one away at trackRate, so that a quiet and a loud voice, with or
// without hiss, are told apart from their own silences: the gaps between
// syllables keep the noise floor down. The first frame, with nothing heard
// before it, is judged against floorDBFS alone.
const (
	noiseMargin = 6.0   // dB over the noise floor
	peakRange   = 25.0  // dB under the speech peak: a voice's quiet syllables
	floorDBFS   = -70.0 // quieter than this is never speech
	trackRate   = 3.0   // dB a second
)

// Detector tells, frame by frame, whether the audio is speech.
type Detector struct {
	fixed       float64 // the threshold, or 0 for relative
	hold        int     // frames
	step        float64 // trackRate per frame
	peak, noise float64
	started     bool
	left        int // frames of hold still to show
}

// NewDetector checks cfg and returns a detector.
func NewDetector(cfg DetectorConfig) (*Detector, error) {
	if cfg.FPS <= 0 {
		return nil, fmt.Errorf("talk: %d fps", cfg.FPS)
	}
	if cfg.Threshold > 0 || cfg.Threshold < frames.SilenceDBFS {
		return nil, fmt.Errorf("talk: threshold %g dBFS out of range %g..0", cfg.Threshold, frames.SilenceDBFS)
	}
	if cfg.Hold < 0 {
		return nil, fmt.Errorf("talk: negative hold %v", cfg.Hold)
	}
	if cfg.Hold == 0 {
		cfg.Hold = 100 * time.Millisecond
	}
	return &Detector{
		fixed: cfg.Threshold,
		hold:  int(int64(cfg.Hold) * int64(cfg.FPS) / int64(time.Second)),
		step:  trackRate / float64(cfg.FPS),
		peak:  frames.SilenceDBFS,
	}, nil
}

// Speaking judges the next frame's audio, s16le pcm.
func (d *Detector) Speaking(pcm []byte) bool { return d.SpeakingLevel(frames.LevelDBFS(pcm)) }

// SpeakingLevel judges the next frame by its audio's level in dBFS.
func (d *Detector) SpeakingLevel(level float64) bool {
	if d.voiced(level) {
		d.left = d.hold + 1
	}
	if d.left > 0 {
		d.left--
		return true
	}
	return false
}

// talking reports whether the last frame judged was speech.
func (d *Detector) talking() bool { return d.left > 0 }

// Threshold is the level above which the next frame counts as speech.
func (d *Detector) Threshold() float64 {
	if d.fixed != 0 {
		return d.fixed
	}
	if !d.started {
		return floorDBFS
	}
	return max(d.noise+noiseMargin, d.peak-peakRange, floorDBFS)
}

// voiced judges one level, then updates the trackers with it.
func (d *Detector) voiced(level float64) bool {
	voiced := level > d.Threshold()
	if !d.started {
		d.noise, d.started = level, true
	}
	if level > d.peak {
		d.peak = level
	} else {
		d.peak = max(level, d.peak-d.step)
	}
	if level < d.noise {
		d.noise = level
	} else {
		d.noise = min(level, d.noise+d.step)
	}
	return voiced
}
