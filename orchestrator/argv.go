package orchestrator

import (
	"fmt"
	"strconv"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

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
	// Options after the maps, in the order a reader of ffmpeg commands
	// expects: the codecs, then the muxer and what the target needs. They
	// are not given to ffmpeg-go, which would sort them by name.
	var out []string
	add := func(opts ...string) { out = append(out, opts...) }
	add("-c:v", "libx264", "-preset", e.Preset, "-g", strconv.Itoa(e.GOP), "-pix_fmt", "yuv420p")
	if e.VideoBitrate != "" {
		add("-b:v", e.VideoBitrate)
	}
	if e.MaxRate != "" {
		add("-maxrate", e.MaxRate)
	}
	if e.BufSize != "" {
		add("-bufsize", e.BufSize)
	}
	add("-c:a", "aac", "-ar", strconv.Itoa(e.SampleRate), "-ac", strconv.Itoa(e.Channels))
	if e.AudioBitrate != "" {
		add("-b:a", e.AudioBitrate)
	}
	format, _ := outputFormat(t.Output) // Validate refuses outputs it has no muxer for
	add("-f", format)
	add(muxerOptions(format)...)
	if Output(t.Output).IsURL() && format == "flv" {
		// Live output cannot be seeked back to patch the header.
		add("-flvflags", "no_duration_filesize")
	}
	if isRTMPS(t.Output) {
		// The tls protocol under rtmps takes these as output options.
		verify := "1"
		if t.TLS.Insecure {
			verify = "0"
		}
		add("-tls_verify", verify)
		if t.TLS.CAFile != "" {
			add("-ca_file", t.TLS.CAFile)
		}
	}
	if t.KeyFile != "" {
		add("-fpre", t.KeyFile)
	}
	global := []string{
		"-hide_banner", "-nostdin", "-nostats",
		"-loglevel", "level+warning",
		"-progress", "pipe:1", "-stats_period", "0.5",
		"-y",
	}
	graph := ffmpeg.Output([]*ffmpeg.Stream{video.Video(), audio.Audio()}, t.Output).GetArgs()
	// The graph ends with the output's name: the options go just before it.
	args := append(global, graph[:len(graph)-1]...)
	args = append(args, out...)
	return append(args, graph[len(graph)-1])
}

// layout names the channel layout, so ffmpeg need not guess (and warn).
func layout(channels int) string {
	if channels == 2 {
		return "stereo"
	}
	return "mono"
}
