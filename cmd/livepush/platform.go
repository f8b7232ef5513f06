package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/livepush/livepush/orchestrator"
	"github.com/urfave/cli/v2"
)

// platforms are the --platform presets: what these ingests document, with
// a keyframe every 2 s, AAC 48 kHz stereo at 128 kbit/s and a constant
// video bitrate suited to the frame size.
var platforms = []string{"youtube", "twitch", "generic"}

// presetBitrate is a constant video bitrate for a frame of w x h pixels,
// in kbit/s: the ingests' guidance for 30 fps at 360p, 480p, 720p and
// 1080p, capped at Twitch's 6000.
func presetBitrate(w, h int) int {
	switch px := w * h; {
	case px <= 640*360:
		return 1000
	case px <= 854*480:
		return 1500
	case px <= 1280*720:
		return 3000
	case px <= 1920*1080:
		return 4500
	}
	return 6000
}

// applyPlatform sets what --platform names on e, leaving alone every
// setting given by its own flag.
func applyPlatform(c *cli.Context, e *orchestrator.Encoding) error {
	name := strings.ToLower(strings.TrimSpace(c.String("platform")))
	if name == "" {
		return nil
	}
	known := false
	for _, p := range platforms {
		known = known || p == name
	}
	if !known {
		return fmt.Errorf("--platform %q: want %s", name, strings.Join(platforms, ", "))
	}
	set := func(flag string, apply func()) {
		if !c.IsSet(flag) {
			apply()
		}
	}
	set("gop", func() { e.GOP = 2 * e.FPS })
	set("sample-rate", func() { e.SampleRate = 48000 })
	set("channels", func() { e.Channels = 2 })
	set("audio-bitrate", func() { e.AudioBitrate = "128k" })
	kbps := presetBitrate(e.Width, e.Height)
	if c.IsSet("video-bitrate") {
		kbps = int(kbitPerSecond(e.VideoBitrate))
	}
	set("video-bitrate", func() { e.VideoBitrate = fmt.Sprintf("%dk", kbps) })
	if kbps > 0 {
		e.MaxRate = fmt.Sprintf("%dk", kbps)
		e.BufSize = fmt.Sprintf("%dk", 2*kbps)
	}
	return nil
}

// kbitPerSecond reads an ffmpeg bitrate ("128k", "2.5M", "64000"); -1 when
// it is not one.
func kbitPerSecond(s string) float64 {
	s = strings.TrimSpace(s)
	mult := 0.001
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1000, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return -1
	}
	return v * mult
}

// platformOf recognises an ingest from its URL's host.
func platformOf(output string) string {
	u, err := url.Parse(output)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "youtube.com" || strings.HasSuffix(host, ".youtube.com"):
		return "youtube"
	case host == "twitch.tv" || strings.HasSuffix(host, ".twitch.tv") || strings.HasSuffix(host, ".live-video.net"):
		return "twitch"
	}
	return ""
}

// preflight lists, for each output whose host is a known platform, the
// settings that break what that platform documents: warnings, not errors.
func preflight(e orchestrator.Encoding, outputs []string) []string {
	var out []string
	keyEvery := float64(e.GOP) / float64(e.FPS)
	ab := 128.0 // ffmpeg's AAC encoder default
	if e.AudioBitrate != "" {
		ab = kbitPerSecond(e.AudioBitrate)
	}
	for _, o := range outputs {
		var w []string
		switch platformOf(o) {
		case "youtube":
			if keyEvery > 4 {
				w = append(w, fmt.Sprintf("keyframes %.3g s apart (YouTube: at most 4 s)", keyEvery))
			}
			if ab >= 0 && ab < 64 {
				w = append(w, fmt.Sprintf("audio at %.0f kbit/s (YouTube: at least 64)", ab))
			}
			if e.SampleRate != 44100 && e.SampleRate != 48000 {
				w = append(w, fmt.Sprintf("audio at %d Hz (YouTube: 44100 or 48000)", e.SampleRate))
			}
		case "twitch":
			if e.GOP != 2*e.FPS {
				w = append(w, fmt.Sprintf("keyframes %.3g s apart (Twitch: every 2 s)", keyEvery))
			}
			if e.VideoBitrate != "" && kbitPerSecond(e.VideoBitrate) > 6000 {
				w = append(w, fmt.Sprintf("video at %s bit/s (Twitch: at most 6000k)", e.VideoBitrate))
			}
		default:
			continue
		}
		if len(w) > 0 {
			out = append(out, fmt.Sprintf("%s: %s; --platform %s sets what it expects",
				orchestrator.MaskURL(o), strings.Join(w, ", "), platformOf(o)))
		}
	}
	return out
}
