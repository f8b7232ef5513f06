package main

import (
	"bytes"
	"strings"
	"testing"
)

// dryRunOut runs livepush --dry-run in-process and returns its exit status,
// the command lines and the log.
func dryRunOut(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"livepush", "stream", "--dry-run", "--progress=false"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// --platform sets what the ingest expects, flags given win, and the
// preflight warns once per output whose host is a platform when the
// settings break what it documents.
func TestPlatformPresetsAndPreflight(t *testing.T) {
	const yt, tw = "rtmp://a.rtmp.youtube.com/live2/ytkey123", "rtmp://live.twitch.tv/app/live_9_twkey"
	for _, tt := range []struct {
		name     string
		args     []string
		want     []string // words of the encoder's command line
		not      []string
		warnings []string // one line each
	}{
		{"twitch preset", []string{"--platform", "twitch", "--size", "1280x720", "-o", tw},
			[]string{"-g 50", "-ar 48000", "-ac 2", "-b:a 128k", "-b:v 3000k", "-maxrate 3000k", "-bufsize 6000k"}, nil, nil},
		{"youtube preset, gop given", []string{"--platform", "youtube", "--gop", "250", "-o", yt},
			[]string{"-g 250", "-ar 48000", "-b:v 1000k"}, nil,
			[]string{"keyframes 10 s apart (YouTube: at most 4 s)"}},
		{"youtube, the defaults", []string{"--audio-bitrate", "32k", "-o", yt},
			[]string{"-g 1", "-ar 24000"}, []string{"-maxrate"},
			[]string{"audio at 32 kbit/s (YouTube: at least 64), audio at 24000 Hz (YouTube: 44100 or 48000)"}},
		{"twitch, bitrate given", []string{"--platform", "twitch", "--video-bitrate", "8000k", "-o", tw, "-o", yt},
			[]string{"-b:v 8000k", "-maxrate 8000k", "-bufsize 16000k"}, nil,
			[]string{"video at 8000k bit/s (Twitch: at most 6000k)"}},
		{"another server, the defaults", []string{"-o", "rtmp://127.0.0.1/live/k"}, []string{"-g 1"}, []string{"-maxrate"}, nil},
	} {
		code, out, log := dryRunOut(t, tt.args...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", tt.name, code, log)
			continue
		}
		enc := strings.SplitN(out, "\n", 2)[0]
		for _, w := range tt.want {
			if !strings.Contains(enc+" ", " "+w+" ") {
				t.Errorf("%s: no %q in %s", tt.name, w, enc)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(enc, w) {
				t.Errorf("%s: %q in %s", tt.name, w, enc)
			}
		}
		if got := strings.Count(log, "output settings:"); got != len(tt.warnings) {
			t.Errorf("%s: %d warnings, want %d:\n%s", tt.name, got, len(tt.warnings), log)
		}
		for _, w := range tt.warnings {
			if !strings.Contains(log, w) {
				t.Errorf("%s: no warning %q in:\n%s", tt.name, w, log)
			}
		}
		for _, key := range []string{"ytkey123", "twkey"} {
			if strings.Contains(out+log, key) {
				t.Errorf("%s: key %s shown", tt.name, key)
			}
		}
	}
	if code, _, log := dryRunOut(t, "--platform", "myspace", "-o", yt); code != 2 || !strings.Contains(log, `--platform "myspace"`) {
		t.Errorf("unknown platform: exit %d: %s", code, log)
	}
}

// --reconnect-every sends even one output through the hub: the dry run
// shows the encoder and the output's ffmpeg; a zero or negative one is
// bad input.
func TestReconnectEveryFlag(t *testing.T) {
	code, out, log := dryRunOut(t, "--reconnect-every", "47h", "-o", "rtmp://127.0.0.1/live/k")
	if lines := nonEmptyLines(out); code != 0 || len(lines) != 2 || !strings.HasSuffix(lines[0], " pipe:3") ||
		!strings.Contains(lines[1], "-i pipe:0") {
		t.Errorf("exit %d, commands:\n%s\n%s", code, out, log)
	}
	if code, _, log := dryRunOut(t, "--reconnect-every", "0s", "-o", "rtmp://127.0.0.1/live/k"); code != 2 ||
		!strings.Contains(log, "--reconnect-every must be positive") {
		t.Errorf("--reconnect-every 0s: exit %d: %s", code, log)
	}
}

// LIVEPUSH_OUTPUT holds one output a line; the same output twice is bad
// input.
func TestOutputsFromEnv(t *testing.T) {
	t.Setenv("LIVEPUSH_OUTPUT", "rtmp://127.0.0.1/live/envkey1\n\n  rtmp://127.0.0.2/live/envkey2,x  \n")
	code, out, log := dryRunOut(t)
	lines := nonEmptyLines(out)
	if code != 0 || len(lines) != 3 || !strings.HasSuffix(lines[1], "'rtmp://127.0.0.1/live/***'") ||
		!strings.HasSuffix(lines[2], "'rtmp://127.0.0.2/live/***'") {
		t.Errorf("exit %d, commands:\n%s\n%s", code, out, log)
	}
	if strings.Contains(out+log, "envkey") {
		t.Errorf("a key is shown:\n%s\n%s", out, log)
	}
	t.Setenv("LIVEPUSH_OUTPUT", "")
	if code, _, log := dryRunOut(t, "-o", "rtmp://h/live/k", "-o", "rtmp://h/live/k"); code != 2 || !strings.Contains(log, "given twice") {
		t.Errorf("an output twice: exit %d: %s", code, log)
	}
}
