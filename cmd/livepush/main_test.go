package main

import (
	"bytes"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livepush/livepush/frames"
)

func TestVersionString(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "3d62ef6abcdef0123456789abcdef0123456789a"},
		{Key: "vcs.time", Value: "2026-12-01T09:10:39Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tt := range []struct {
		name     string
		bi       *debug.BuildInfo
		override string
		want     string
	}{
		{"checkout, dirty", &debug.BuildInfo{GoVersion: "go1.24.1", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"", "devel (3d62ef6abcde+dirty, 2026-12-01T09:10:39Z) go1.24.1"},
		{"clean", &debug.BuildInfo{GoVersion: "go1.24.1", Main: debug.Module{Version: "v0.0.0-20261201091039-3d62ef6abcde"},
			Settings: append(vcs[:3:3], debug.BuildSetting{Key: "vcs.modified", Value: "false"})},
			"", "v0.0.0-20261201091039-3d62ef6abcde go1.24.1"},
		{"ldflags and a checkout", &debug.BuildInfo{GoVersion: "go1.24.1", Settings: vcs}, "v1.2.0",
			"v1.2.0 (3d62ef6abcde+dirty, 2026-12-01T09:10:39Z) go1.24.1"},
		{"git describe and a checkout", &debug.BuildInfo{GoVersion: "go1.24.1", Settings: vcs}, "3d62ef6-dirty",
			"3d62ef6-dirty go1.24.1"},
		{"ldflags", &debug.BuildInfo{GoVersion: "go1.24.1", Main: debug.Module{Version: "(devel)"}}, "v1.2.0",
			"v1.2.0 go1.24.1"},
		{"go install", &debug.BuildInfo{GoVersion: "go1.24.1", Main: debug.Module{Version: "v1.2.0"}}, "", "v1.2.0 go1.24.1"},
		{"no build info", nil, "", "devel"},
	} {
		if got := versionString(tt.bi, tt.override); got != tt.want {
			t.Errorf("%s: versionString = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	flags := []string{"help", "h", "image", "audio", "output", "o", "size", "fps", "gop", "realtime", "overwrite", "y"}
	for typed, want := range map[string]string{
		"imge": "image", "iamge": "image", "audoi": "audio", "fsp": "fps", "fp": "fps", "outptu": "output",
		"real": "realtime", "overwirte": "overwrite", "x": "", "xyzzy": "", "s": "size", "ou": "o",
	} {
		if got := suggest(typed, flags); got != want {
			t.Errorf("suggest(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"image", "image", 0}, {"imge", "image", 1}, {"iamge", "image", 1}, {"", "fps", 3},
		{"kitten", "sitting", 3}, {"ab", "ba", 1}, {"ca", "abc", 3},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestRunUsageLines runs the command line in-process for the messages that need no files.
func TestRunUsageLines(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"stream", "--imge=x"}, "livepush: unknown flag --imge (did you mean --image?); see 'livepush stream --help'\n"},
		{[]string{"-v"}, "livepush: unknown flag -v (did you mean --version?); see 'livepush --help'\n"},
		{[]string{"stream", "--realtime=maybe"},
			"livepush: invalid value \"maybe\" for --realtime (want true or false); see 'livepush stream --help'\n"},
		{[]string{"versoin"}, "livepush: unknown command \"versoin\" (did you mean version?); see 'livepush --help'\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"livepush"}, tt.args...), &stdout, &stderr)
		if code != exitBadUsage || stderr.String() != tt.want {
			t.Errorf("livepush %s: exit %d, stderr %q; want exit 2, %q", strings.Join(tt.args, " "), code, stderr.String(), tt.want)
		}
	}
}

func TestDescribeAudio(t *testing.T) {
	f := frames.WAVFormat{SampleRate: 48000, Channels: 2, BitsPerSample: 16, Frames: 48000}
	if got, want := describeAudio("/x/speech.wav", f, 24000, 1), "speech.wav 48000 Hz stereo -> 24000 Hz mono"; got != want {
		t.Errorf("describeAudio = %q, want %q", got, want)
	}
	if got, want := describeAudio("speech.wav", f, 48000, 2), "speech.wav 48000 Hz stereo"; got != want {
		t.Errorf("describeAudio = %q, want %q", got, want)
	}
	f.Channels = 6
	if got, want := describeAudio("a.wav", f, 48000, 2), "a.wav 48000 Hz 6 channels -> 48000 Hz stereo"; got != want {
		t.Errorf("describeAudio = %q, want %q", got, want)
	}
}

// TestHandleSignals sends the test process SIGHUP, SIGQUIT and SIGTERM: the first stops, the second
// aborts, the third exits with 128+SIGTERM.
func TestHandleSignals(t *testing.T) {
	stop, abort, exit := make(chan struct{}), make(chan struct{}), make(chan int, 1)
	release := handleSignals(slog.New(slog.NewTextHandler(io.Discard, nil)), signalActions{
		stop:  func() { close(stop) },
		abort: func() { close(abort) },
		exit:  func(code int) { exit <- code },
	})
	defer release()
	wait := func(what string, c <-chan struct{}) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", what)
		}
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGHUP)
	wait("stop after SIGHUP", stop)
	syscall.Kill(syscall.Getpid(), syscall.SIGQUIT)
	wait("abort after SIGQUIT", abort)
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	select {
	case code := <-exit:
		if code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit code %d after the third signal, want %d", code, 128+int(syscall.SIGTERM))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after the third signal")
	}
}
