package orchestrator

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrInvalidConfig reports a configuration that cannot work; the message says which field.
var ErrInvalidConfig = errors.New("invalid configuration")

// Encoding says what ffmpeg reads from the pipes and how it encodes it.
type Encoding struct {
	Width, Height int // frame size; both even (yuv420p)
	FPS           int // frames per second
	GOP           int // keyframe interval in frames; 1 is all-intra
	SampleRate    int // PCM and AAC sample rate
	Channels      int
	Preset        string // libx264 preset
	VideoBitrate  string // "" keeps ffmpeg's default (CRF)
	AudioBitrate  string
	// ThreadQueueSize is the number of packets ffmpeg queues per input;
	// 0 means 16. Each video packet is a whole raw frame, so large values
	// cost memory when ffmpeg reads faster than it encodes.
	ThreadQueueSize int
	// MaxRate and BufSize cap the video bitrate (x264's VBV), for an ingest
	// that wants a constant rate; "" for none.
	MaxRate, BufSize string
}

const (
	defaultThreadQueueSize = 16
	maxSide                = 16384
)

var (
	bitrate = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[kKmM]?$`)
	preset  = regexp.MustCompile(`^[a-z]+$`)
)

// Validate reports the first field that ffmpeg could not use.
func (e Encoding) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case e.Width <= 0 || e.Height <= 0 || e.Width > maxSide || e.Height > maxSide:
		return bad("frame size %dx%d out of range", e.Width, e.Height)
	case e.Width%2 != 0 || e.Height%2 != 0:
		return bad("frame size %dx%d: width and height must be even for yuv420p", e.Width, e.Height)
	case e.FPS <= 0 || e.FPS > 240:
		return bad("fps %d out of range 1..240", e.FPS)
	case e.GOP <= 0:
		return bad("gop %d must be at least 1", e.GOP)
	case e.SampleRate < 8000 || e.SampleRate > 96000:
		return bad("sample rate %d out of range 8000..96000", e.SampleRate)
	case e.Channels < 1 || e.Channels > 2:
		return bad("channels %d: 1 or 2 supported", e.Channels)
	case !preset.MatchString(e.Preset):
		return bad("preset %q is not a libx264 preset name", e.Preset)
	case e.VideoBitrate != "" && !bitrate.MatchString(e.VideoBitrate):
		return bad("video bitrate %q (want e.g. 1500k or 2M)", e.VideoBitrate)
	case e.MaxRate != "" && !bitrate.MatchString(e.MaxRate), e.BufSize != "" && !bitrate.MatchString(e.BufSize):
		return bad("max rate %q or buffer size %q (want e.g. 3000k)", e.MaxRate, e.BufSize)
	case e.AudioBitrate != "" && !bitrate.MatchString(e.AudioBitrate):
		return bad("audio bitrate %q (want e.g. 64k)", e.AudioBitrate)
	case e.ThreadQueueSize < 0:
		return bad("thread queue size %d", e.ThreadQueueSize)
	}
	return nil
}

// FrameBytes is the size of one bgr24 frame.
func (e Encoding) FrameBytes() int { return e.Width * e.Height * 3 }

// ChunkBytes is the size of the PCM chunk that goes with frame n. Chunk n
// holds samples [n*rate/fps, (n+1)*rate/fps), so chunks and frames cover the
// same media time and neither drifts from the other when rate/fps is not whole.
func (e Encoding) ChunkBytes(n int64) int {
	return int(sampleAt(n+1, e.SampleRate, e.FPS)-sampleAt(n, e.SampleRate, e.FPS)) * 2 * e.Channels
}

// MaxChunkBytes is the largest ChunkBytes can be.
func (e Encoding) MaxChunkBytes() int {
	return (e.SampleRate + e.FPS - 1) / e.FPS * 2 * e.Channels
}
