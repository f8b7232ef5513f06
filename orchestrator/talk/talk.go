// Package talk animates a still picture with the speech that airs with it:
// the way a "PNGtuber" avatar works, one picture with the mouth closed and
// one with it open, switched frame by frame by the level of each frame's
// audio, and now and then a blink.
package talk

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/livepush/livepush/frames"
)

// Role is what a picture stands for.
type Role int32

const (
	Idle  Role = iota // the mouth closed: silence, and the default
	Talk              // the mouth open: the frame's audio is speech
	Blink             // the eyes closed, for a moment now and then
)

func (r Role) String() string {
	switch r {
	case Idle:
		return "idle"
	case Talk:
		return "talk"
	case Blink:
		return "blink"
	}
	return fmt.Sprintf("Role(%d)", int32(r))
}

// ParseRole reads "idle", "talk" or "blink"; "" is Idle.
func ParseRole(s string) (Role, error) {
	switch s {
	case "", "idle":
		return Idle, nil
	case "talk":
		return Talk, nil
	case "blink":
		return Blink, nil
	}
	return 0, fmt.Errorf("unknown picture role %q (idle, talk or blink)", s)
}

// ErrBadPicture: a picture of the wrong size, or none for Idle.
var ErrBadPicture = errors.New("bad picture")

// Config describes an avatar. Zero durations take the defaults named.
type Config struct {
	Width, Height, FPS int
	// Idle is required; Talk and Blink may be nil (no talking, no blinks).
	Idle, Talk, Blink *frames.Frame
	Detector          DetectorConfig
	BlinkMin          time.Duration // shortest time between blinks (2s)
	BlinkMax          time.Duration // longest (6s)
	BlinkFor          time.Duration // how long a blink shows (150ms)
	// Seed makes the blinks' times repeatable; 0: random.
	Seed uint64
}

// Avatar chooses each frame's picture from its audio. Frame is called by
// one goroutine at a time, once per frame in order (see
// orchestrator.Pair); Set and Showing are safe from any goroutine.
type Avatar struct {
	w, h, fps int
	pics      [3]atomic.Pointer[frames.Frame]
	showing   atomic.Int32
	det       *Detector

	rnd                  *rand.Rand
	blinkMin, blinkMax   int64 // frames
	blinkFor             int64
	nextBlink, blinkEnds int64
}

// New checks cfg and returns its avatar.
func New(cfg Config) (*Avatar, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.FPS <= 0 {
		return nil, fmt.Errorf("talk: frame size %dx%d at %d fps", cfg.Width, cfg.Height, cfg.FPS)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.BlinkMin, 2*time.Second)
	def(&cfg.BlinkMax, 6*time.Second)
	def(&cfg.BlinkFor, 150*time.Millisecond)
	if cfg.BlinkMax < cfg.BlinkMin {
		return nil, fmt.Errorf("talk: blinks every %v to %v", cfg.BlinkMin, cfg.BlinkMax)
	}
	cfg.Detector.FPS = cfg.FPS
	det, err := NewDetector(cfg.Detector)
	if err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	count := func(d time.Duration) int64 { return max(1, int64(d)*int64(cfg.FPS)/int64(time.Second)) }
	a := &Avatar{w: cfg.Width, h: cfg.Height, fps: cfg.FPS, det: det,
		rnd:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		blinkMin: count(cfg.BlinkMin), blinkMax: count(cfg.BlinkMax), blinkFor: count(cfg.BlinkFor)}
	if cfg.Idle == nil {
		return nil, fmt.Errorf("%w: an idle picture is needed", ErrBadPicture)
	}
	for r, f := range []*frames.Frame{cfg.Idle, cfg.Talk, cfg.Blink} {
		if f == nil {
			continue
		}
		if err := a.Set(Role(r), f); err != nil {
			return nil, err
		}
	}
	a.nextBlink = a.blinkGap()
	return a, nil
}

// Set shows f for role from the next frame on; f must not be changed
// afterwards. A nil f for Talk or Blink turns that role off.
func (a *Avatar) Set(r Role, f *frames.Frame) error {
	if r < Idle || r > Blink {
		return fmt.Errorf("%w: role %v", ErrBadPicture, r)
	}
	if f == nil {
		if r == Idle {
			return fmt.Errorf("%w: an idle picture is needed", ErrBadPicture)
		}
		a.pics[r].Store(nil)
		return nil
	}
	if f.Width != a.w || f.Height != a.h || len(f.Pix) != a.w*a.h*3 {
		return fmt.Errorf("%w: a %dx%d picture for a %dx%d stream", ErrBadPicture, f.Width, f.Height, a.w, a.h)
	}
	a.pics[r].Store(f)
	return nil
}

// Picture is the picture set for role r, or nil.
func (a *Avatar) Picture(r Role) *frames.Frame { return a.pics[r].Load() }

// Showing is the role of the picture on air.
func (a *Avatar) Showing() Role { return Role(a.showing.Load()) }

// Frame returns the picture of frame n, whose audio is pcm (s16le): the
// talking one while the audio is speech, the blink one during a blink,
// the idle one otherwise. It allocates nothing and copies no picture.
func (a *Avatar) Frame(n int64, pcm []byte) *frames.Frame {
	return a.FrameLevel(n, frames.LevelDBFS(pcm))
}

// FrameLevel is Frame for audio whose level (frames.LevelDBFS) is known.
func (a *Avatar) FrameLevel(n int64, level float64) *frames.Frame {
	role := Idle
	if a.det.SpeakingLevel(level) {
		role = Talk
	}
	if n >= a.nextBlink {
		a.blinkEnds = n + a.blinkFor
		a.nextBlink = n + a.blinkGap()
	}
	if n < a.blinkEnds {
		role = Blink
	}
	f := a.pics[role].Load()
	if f == nil && role == Blink && a.det.talking() {
		role, f = Talk, a.pics[Talk].Load()
	}
	if f == nil {
		role, f = Idle, a.pics[Idle].Load()
	}
	a.showing.Store(int32(role))
	return f
}

// blinkGap is a random number of frames to the next blink.
func (a *Avatar) blinkGap() int64 {
	return a.blinkMin + a.rnd.Int64N(a.blinkMax-a.blinkMin+1)
}
