package orchestrator

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOutputFormat(t *testing.T) {
	for _, tt := range []struct{ output, want string }{
		{"rtmp://h/live/key", "flv"}, {"rtmps://h/live/key.mp4", "flv"},
		{"out.flv", "flv"}, {"/a/b.c/out.mp4", "mp4"}, {"OUT.MP4", "mp4"}, {"clip.mov", "mov"},
		{"out.mkv", "matroska"}, {"out.ts", "mpegts"}, {"out.m2ts", "mpegts"},
	} {
		got, err := outputFormat(tt.output)
		if err != nil || got != tt.want {
			t.Errorf("outputFormat(%q) = %q, %v; want %q", tt.output, got, err, tt.want)
		}
	}
	for _, output := range []string{"out.avi", "out.txt", "out", "out.flv.bak", "-"} {
		_, err := outputFormat(output)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), FileExtensions) {
			t.Errorf("outputFormat(%q) = %v, want an ErrInvalidConfig naming %s", output, err, FileExtensions)
		}
	}
}

func TestOutputValidateExtension(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"out.avi", "out"} {
		if err := Output(filepath.Join(dir, name)).Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%s) = %v, want ErrInvalidConfig", name, err)
		}
	}
	for _, name := range []string{"out.mp4", "out.mkv", "out.ts"} {
		if err := Output(filepath.Join(dir, name)).Validate(); err != nil {
			t.Errorf("Validate(%s) = %v", name, err)
		}
	}
}

// TestArgsContainer: the muxer follows the extension, MP4 is fragmented, and
// FLV's live-only flag stays with URLs.
func TestArgsContainer(t *testing.T) {
	opt := func(args []string, name string) (string, bool) {
		i := slices.Index(args, name)
		if i < 0 || i+1 >= len(args) {
			return "", false
		}
		return args[i+1], true
	}
	for _, tt := range []struct {
		output, format string
		frag           bool
	}{
		{"out.flv", "flv", false}, {"out.mp4", "mp4", true}, {"out.mov", "mov", true},
		{"out.mkv", "matroska", false}, {"out.m2ts", "mpegts", false}, {"rtmp://h/live/k", "flv", false},
	} {
		args := Args(defaultEncoding, "V", "A", Target{Output: tt.output})
		// The output's -f comes after the last -i: the inputs have their own.
		i := len(args) - 1
		for i > 0 && args[i] != "-i" {
			i--
		}
		if f, _ := opt(args[i:], "-f"); f != tt.format {
			t.Errorf("%s: -f %s, want %s", tt.output, f, tt.format)
		}
		if args[len(args)-1] != tt.output {
			t.Errorf("%s: last argument %q", tt.output, args[len(args)-1])
		}
		mov, ok := opt(args, "-movflags")
		if ok != tt.frag || (ok && mov != "+frag_keyframe+empty_moov+delay_moov+default_base_moof") {
			t.Errorf("%s: -movflags %q (present %v), want fragmented MP4: %v", tt.output, mov, ok, tt.frag)
		}
		if d, _ := opt(args, "-frag_duration"); tt.frag && d != "1000000" {
			t.Errorf("%s: -frag_duration %q, want 1000000", tt.output, d)
		}
		if _, ok := opt(args, "-flvflags"); ok != strings.HasPrefix(tt.output, "rtmp") {
			t.Errorf("%s: -flvflags present %v", tt.output, ok)
		}
	}
}

// TestOutputSegmentSkipsExisting: a restart's file never replaces one that is
// there already, from this run or an earlier one.
func TestOutputSegmentSkipsExisting(t *testing.T) {
	dir := t.TempDir()
	out := Output(filepath.Join(dir, "out.mp4"))
	for _, name := range []string{"out.1.mp4", "out.2.mp4", "out.4.mp4"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, want := range map[int]string{0: "out.mp4", 1: "out.3.mp4", 3: "out.3.mp4", 4: "out.5.mp4", 6: "out.6.mp4"} {
		if got := out.segment(k); got != filepath.Join(dir, want) {
			t.Errorf("segment(%d) = %s, want %s", k, filepath.Base(got), want)
		}
	}
}

func TestProgressMessage(t *testing.T) {
	if got := progressMessage(Args(defaultEncoding, "V", "A", Target{Output: "rtmp://h/live/k"})); got != "ffmpeg is publishing" {
		t.Errorf("URL: %q", got)
	}
	if got := progressMessage(Args(defaultEncoding, "V", "A", Target{Output: "/tmp/out.mkv"})); got != "ffmpeg is writing" {
		t.Errorf("file: %q", got)
	}
}
