package main

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/talk"
)

// faceFlags are the flags of a talking picture.
type faceFlags struct {
	talk, blink string // picture paths; "" if not given
	detector    talk.DetectorConfig
}

// talkFlags reads and checks the talking picture's flags.
func talkFlags(c *cli.Context) (faceFlags, error) {
	f := faceFlags{talk: c.String("talk-image"), blink: c.String("blink-image")}
	f.detector.Threshold = c.Float64("talk-threshold")
	if t := f.detector.Threshold; t > 0 || t < frames.SilenceDBFS {
		return f, fmt.Errorf("--talk-threshold %g: a level in dBFS from %g to 0 (0: relative to the speech)", t, frames.SilenceDBFS)
	}
	switch hold := c.Duration("talk-hold"); {
	case hold < 0:
		return f, fmt.Errorf("--talk-hold %v must not be negative", hold)
	case hold == 0:
		f.detector.Hold = time.Nanosecond // none; the detector's zero is its default
	default:
		f.detector.Hold = hold
	}
	if f.talk == "" && (c.IsSet("talk-threshold") || c.IsSet("talk-hold")) {
		return f, errors.New("--talk-threshold and --talk-hold need --talk-image")
	}
	for _, p := range []struct{ flag, path string }{{"talk-image", f.talk}, {"blink-image", f.blink}} {
		if p.path == "" {
			continue
		}
		if err := frames.CheckImage(p.path); err != nil {
			return f, fmt.Errorf("--%s: %w", p.flag, err)
		}
	}
	return f, nil
}

// load decodes the talking and the blinking picture now, for live mode;
// nil for one not given.
func (f faceFlags) load(enc orchestrator.Encoding, fit frames.Fit) (talking, blinking *frames.Frame, err error) {
	for _, p := range []struct {
		flag, path string
		to         **frames.Frame
	}{{"talk-image", f.talk, &talking}, {"blink-image", f.blink, &blinking}} {
		if p.path == "" {
			continue
		}
		if *p.to, err = frames.LoadImage(p.path, enc.Width, enc.Height, fit); err != nil {
			return nil, nil, fmt.Errorf("--%s: %w", p.flag, err)
		}
	}
	return talking, blinking, nil
}

// on reports whether the picture is animated at all.
func (f faceFlags) on() bool { return f.talk != "" || f.blink != "" }

// talkingPair is the video and audio of a talking picture in file mode:
// each frame's picture chosen from the audio that goes out with it.
type talkingPair struct {
	*orchestrator.Pair
	stills []*still // the talking and blinking pictures, decoding
}

// pair starts decoding the pictures and returns the sources of the
// stream; the first frame waits for the decodes, as the still image does.
func (f faceFlags) pair(idle *still, pcm orchestrator.AudioSource, enc orchestrator.Encoding, fit frames.Fit, log *slog.Logger) *talkingPair {
	tp := &talkingPair{}
	load := func(path string) *still {
		if path == "" {
			return nil
		}
		s := loadStill(path, enc.Width, enc.Height, fit, nil)
		tp.stills = append(tp.stills, s)
		return s
	}
	talking, blinking := load(f.talk), load(f.blink)
	fill := orchestrator.ChunkFiller(pcm, enc, log)
	var face *talk.Avatar
	tp.Pair = orchestrator.NewPair(enc, func(n int64, audio []byte) ([]byte, error) {
		if face == nil {
			var err error
			if face, err = f.avatar(enc, idle, talking, blinking); err != nil {
				return nil, err
			}
		}
		if err := fill(n, audio); err != nil {
			return nil, err
		}
		return face.Frame(n, audio).Pix, nil
	})
	return tp
}

// avatar waits for the pictures and makes the avatar of them.
func (f faceFlags) avatar(enc orchestrator.Encoding, idle, talking, blinking *still) (*talk.Avatar, error) {
	cfg := talk.Config{Width: enc.Width, Height: enc.Height, FPS: enc.FPS, Detector: f.detector}
	for _, p := range []struct {
		s  *still
		to **frames.Frame
	}{{idle, &cfg.Idle}, {talking, &cfg.Talk}, {blinking, &cfg.Blink}} {
		if p.s == nil {
			continue
		}
		if _, err := p.s.NextFrame(); err != nil {
			return nil, err
		}
		*p.to = p.s.frame
	}
	return talk.New(cfg)
}

// wait waits for the decoding goroutines to end.
func (tp *talkingPair) wait() {
	for _, s := range tp.stills {
		s.wait()
	}
}
