package orchestrator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
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

func sampleAt(frame int64, rate, fps int) int64 { return frame * int64(rate) / int64(fps) }

// FramesFor is the number of frames that covers the given number of audio
// samples, the last frame padded with silence.
func FramesFor(samples int64, rate, fps int) int64 {
	return (samples*int64(fps) + int64(rate) - 1) / int64(rate)
}

// Output is where the stream goes: an rtmp or rtmps URL, or a file whose
// extension names the container (see outputFormat).
type Output string

// IsURL reports whether the output is a network URL rather than a file.
// It reads the scheme only, so that a malformed URL is still no file name.
func (o Output) IsURL() bool {
	p, ok := splitURL(string(o), true)
	return ok && (isRTMP(p.scheme) || isSRT(p.scheme))
}

// Validate checks a URL's scheme, host, port and stream name, or that a
// file's folder exists. Its errors show a URL only masked: never url.Parse's
// error, which quotes the whole URL, key included.
func (o Output) Validate() error {
	s := string(o)
	if s == "" {
		return fmt.Errorf("%w: no output given", ErrInvalidConfig)
	}
	if i := strings.Index(s, "://"); i > 0 {
		return validateURL(s)
	}
	dir := filepath.Dir(s)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: output folder %q does not exist", ErrInvalidConfig, dir)
	}
	if st, err := os.Stat(s); err == nil && st.IsDir() {
		return fmt.Errorf("%w: output %q is a folder", ErrInvalidConfig, s)
	}
	_, err := outputFormat(s)
	return err
}

// segment names the file that restart k writes to: out.flv, out.1.flv,
// out.2.flv, ... so that a restart never overwrites what was written. A
// number whose file exists already (from an earlier run) is skipped.
func (o Output) segment(k int) string {
	if k == 0 || o.IsURL() {
		return string(o)
	}
	s := string(o)
	ext := filepath.Ext(s)
	return freeName(func(k int) string { return fmt.Sprintf("%s.%d%s", strings.TrimSuffix(s, ext), k, ext) }, k)
}

// Target is the output as ffmpeg is given it.
type Target struct {
	Output string // rtmp or rtmps URL, or file path
	TLS    TLS    // how an rtmps server is checked
	// KeyFile is a preset file (-fpre) of output options that ffmpeg reads
	// the rest of the URL from; "" when Output is the whole URL.
	KeyFile string
}

// Args returns ffmpeg's arguments (without the program name) to read bgr24
// frames from videoPipe and s16le PCM from audioPipe and publish FLV to
// the target, or write a file in the container its extension names.
// Progress goes to stdout as key=value lines.
func Args(e Encoding, videoPipe, audioPipe string, t Target) []string {
	tqs := e.ThreadQueueSize
	if tqs == 0 {
		tqs = defaultThreadQueueSize
	}
	video := ffmpeg.Input(videoPipe, ffmpeg.KwArgs{
		"f":                 "rawvideo",
		"pix_fmt":           "bgr24",
		"video_size":        fmt.Sprintf("%dx%d", e.Width, e.Height),
		"framerate":         e.FPS,
		"thread_queue_size": tqs,
		"probesize":         32,
		"analyzeduration":   0,
	})
	audio := ffmpeg.Input(audioPipe, ffmpeg.KwArgs{
		"f":                 "s16le",
		"sample_rate":       e.SampleRate,
		"ch_layout":         layout(e.Channels),
		"thread_queue_size": tqs,
		"probesize":         32,
		"analyzeduration":   0,
	})
	out := ffmpeg.KwArgs{
		"c:v":     "libx264",
		"preset":  e.Preset,
		"g":       e.GOP,
		"pix_fmt": "yuv420p",
		"c:a":     "aac",
		"ar":      e.SampleRate,
		"ac":      e.Channels,
	}
	format, _ := outputFormat(t.Output) // Validate refuses outputs it has no muxer for
	out["f"] = format
	for k, v := range muxerOptions(format) {
		out[k] = v
	}
	if e.VideoBitrate != "" {
		out["b:v"] = e.VideoBitrate
	}
	if e.AudioBitrate != "" {
		out["b:a"] = e.AudioBitrate
	}
	if e.MaxRate != "" {
		out["maxrate"] = e.MaxRate
	}
	if e.BufSize != "" {
		out["bufsize"] = e.BufSize
	}
	if Output(t.Output).IsURL() && format == "flv" {
		// Live output cannot be seeked back to patch the header.
		out["flvflags"] = "no_duration_filesize"
	}
	if isRTMPS(t.Output) {
		// The tls protocol under rtmps takes these as output options.
		out["tls_verify"] = 1
		if t.TLS.Insecure {
			out["tls_verify"] = 0
		}
		if t.TLS.CAFile != "" {
			out["ca_file"] = t.TLS.CAFile
		}
	}
	if t.KeyFile != "" {
		out["fpre"] = t.KeyFile
	}
	global := []string{
		"-hide_banner", "-nostdin", "-nostats",
		"-loglevel", "level+warning",
		"-progress", "pipe:1", "-stats_period", "0.5",
		"-y",
	}
	stream := ffmpeg.Output([]*ffmpeg.Stream{video.Video(), audio.Audio()}, t.Output, out)
	return append(global, stream.GetArgs()...)
}

// layout names the channel layout, so ffmpeg need not guess (and warn).
func layout(channels int) string {
	if channels == 2 {
		return "stereo"
	}
	return "mono"
}

// ShellQuote joins args into one line that a POSIX shell reads back as the
// same words.
func ShellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = quoteWord(a)
	}
	return strings.Join(quoted, " ")
}

func quoteWord(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=+,@%^", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Duration is the media time of the given number of frames.
func Duration(frames int64, fps int) time.Duration {
	return time.Duration(frames * int64(time.Second) / int64(fps))
}
