package orchestrator

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The lines are ffmpeg 5.1's, captured from real runs, as the supervisor
// keeps them: the level dropped, the last three joined by "; ".
func TestPermanent(t *testing.T) {
	const initErr = "Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height"
	tests := []struct {
		name     string
		out      string
		msg      string
		file     bool // permanent in file mode
		liveMode bool // permanent in live mode
	}{
		{"unknown encoder", "out.flv", "Unknown encoder 'nosuch'", true, true},
		{"unknown preset", "out.flv", "x264 [error]: invalid preset 'nosuch'; [libx264 @ 0x557875f4e7c0] Error setting preset/tune nosuch/(null).; " + initErr, true, true},
		{"unknown option", "out.flv", "Unrecognized option 'foo'.; Error splitting the argument list: Option not found", true, true},
		{"missing argument", "out.flv", "Missing argument for option 'map'.; Error splitting the argument list: Invalid argument", true, true},
		{"unknown encoder option", "out.flv", "[libx264 @ 0x55fbec5807c0] bad option 'nosuch': '1'; " + initErr, true, true},
		{"bad option value", "out.flv", `[libx264 @ 0x55e53d2a8900] Unable to parse option value "abc"; [libx264 @ 0x55e53d2a8900] Error setting option b to value abc.; ` + initErr, true, true},
		{"unknown format", "out.flv", "[NULL @ 0x55fcd3fbf500] Requested output format 'nosuchfmt' is not a suitable output format; out.flv: Invalid argument", true, true},
		{"no format for the name", "out.nosuch", "[NULL @ 0x55ce85f8ba40] Unable to find a suitable output format for 'out.nosuch'; out.nosuch: Invalid argument", true, true},
		{"no output folder", "/nonexistent/dir/out.flv", "/nonexistent/dir/out.flv: No such file or directory", true, false},
		{"unwritable output", "ro/out.flv", "ro/out.flv: Permission denied", true, false},
		{"output is a folder", "isdir.flv", "isdir.flv: Is a directory", true, false},
		{"certificate refused", "rtmps://127.0.0.1:1935/live/x", "[tls @ 0x5589537a1c00] Peer certificate failed verification; rtmps://127.0.0.1:1935/live/x: Input/output error", true, false},
		// Transient: a restart mends them.
		{"input pipe gone", "out.flv", "/tmp/livepush-gone12/video: No such file or directory", false, false},
		{"connection refused", "rtmp://127.0.0.1:1/live/x", "[tcp @ 0x55dda9b2d040] Connection to tcp://127.0.0.1:1?tcp_nodelay=0 failed: Connection refused; [rtmp @ 0x55dda9b2cd80] Cannot open connection tcp://127.0.0.1:1?tcp_nodelay=0; rtmp://127.0.0.1:1/live/x: Connection refused", false, false},
		{"unknown host", "rtmp://nosuch.invalid/live/x", "[tcp @ 0x56389de5c040] Failed to resolve hostname nosuch.invalid: Name or service not known; [rtmp @ 0x56389de5bd80] Cannot open connection tcp://nosuch.invalid:1935?tcp_nodelay=0; rtmp://nosuch.invalid/live/x: Input/output error", false, false},
		{"connection reset", "rtmps://127.0.0.1:47123/live/x", "[tls @ 0x560baf314400] IO error: Connection reset by peer; [rtmps @ 0x560baf313d00] Cannot open connection tls://127.0.0.1:47123; rtmps://127.0.0.1:47123/live/x: Connection reset by peer", false, false},
		{"another file's error", "out.1.flv", "out.flv: Permission denied", false, false},
		{"encoder failed to open", "out.flv", initErr, false, false},
		{"no message", "out.flv", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := permanent(tt.msg, tt.out, false); got != tt.file {
				t.Errorf("file mode: permanent(%q) = %v, want %v", tt.msg, got, tt.file)
			}
			if got := permanent(tt.msg, tt.out, true); got != tt.liveMode {
				t.Errorf("live mode: permanent(%q) = %v, want %v", tt.msg, got, tt.liveMode)
			}
		})
	}
}

// An option value libx264 refuses ends the stream after one ffmpeg, in
// file mode and in live mode alike.
func TestSupervisorRealFFmpegInvalidOption(t *testing.T) {
	skipShort(t, "real ffmpeg")
	ffmpegPath := requireTool(t, "ffmpeg")
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "file", true: "live"}[live], func(t *testing.T) {
			h := newHarness(t)
			ctx, _ := h.context(30 * time.Second)
			enc := Encoding{Width: 64, Height: 64, FPS: 25, GOP: 1, SampleRate: 24000, Channels: 1, Preset: "nosuchpreset"}
			var restarts int
			cfg := Config{
				FFmpeg:       ffmpegPath,
				Output:       filepath.Join(h.dir, "out.flv"),
				Encoding:     enc,
				Realtime:     true,
				Live:         live,
				Video:        newNoiseVideo(enc, 1),
				Audio:        supSilence{},
				Frames:       250,
				RestartDelay: 10 * time.Millisecond,
				Logger:       h.logger(),
				Notify: func(e Event) {
					if e.Restart {
						restarts++
					}
				},
			}
			sup, res := h.start(ctx, cfg)
			r := h.waitRun(res, 25*time.Second)
			if r.err == nil || !strings.Contains(r.err.Error(), "Error setting preset/tune nosuchpreset") {
				t.Fatalf("Run = %v, want libx264's refusal", r.err)
			}
			if st := sup.State(); st != StateFailed {
				t.Errorf("State() = %v, want failed", st)
			}
			if restarts != 0 || len(h.logs.with("ffmpeg started", nil)) != 1 {
				t.Errorf("%d restarts, %d ffmpeg started; want none and one; log:\n%s", restarts, len(h.logs.with("ffmpeg started", nil)), h.dump())
			}
		})
	}
}
