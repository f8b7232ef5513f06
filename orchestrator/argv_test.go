package orchestrator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var defaultEncoding = Encoding{Width: 256, Height: 256, FPS: 25, GOP: 1, SampleRate: 24000, Channels: 1, Preset: "veryfast"}

// TestArgsGolden pins the generated command line: every option and its
// place matters to ffmpeg (input options before their -i, for one), and the
// order is the one a reader expects: global options, each input with its
// options, the maps, the codecs, the muxer and the target's options, the
// output.
func TestArgsGolden(t *testing.T) {
	hd := Encoding{Width: 1280, Height: 720, FPS: 30, GOP: 60, SampleRate: 48000, Channels: 2, Preset: "ultrafast",
		VideoBitrate: "2500k", AudioBitrate: "128k", ThreadQueueSize: 64}
	const global = "-hide_banner -nostdin -nostats -loglevel level+warning -progress pipe:1 -stats_period 0.5 -y "
	const inputs = "-f rawvideo -video_size 256x256 -analyzeduration 0 -framerate 25 -pix_fmt bgr24 -probesize 32 -thread_queue_size 16 -i V " +
		"-f s16le -analyzeduration 0 -ch_layout mono -probesize 32 -sample_rate 24000 -thread_queue_size 16 -i A " +
		"-map 0:v -map 1:a "
	const codecs = "-c:v libx264 -preset veryfast -g 1 -pix_fmt yuv420p -c:a aac -ar 24000 -ac 1 "
	const flv = "-f flv -flvflags no_duration_filesize "
	tests := []struct {
		name   string
		enc    Encoding
		output Target
		want   string
	}{
		{"rtmp defaults", defaultEncoding, Target{Output: "rtmp://127.0.0.1/live/key"},
			global + inputs + codecs + flv + "rtmp://127.0.0.1/live/key"},
		{"rtmp, key in a file", defaultEncoding, Target{Output: "rtmp://127.0.0.1/live/", KeyFile: "/tmp/d/output"},
			global + inputs + codecs + flv + "-fpre /tmp/d/output rtmp://127.0.0.1/live/"},
		{"rtmps verifies by default", defaultEncoding, Target{Output: "rtmps://live.example.com:443/app/key"},
			global + inputs + codecs + flv + "-tls_verify 1 rtmps://live.example.com:443/app/key"},
		{"rtmps with a CA file", defaultEncoding, Target{Output: "RTMPS://10.0.0.2/app/", TLS: TLS{CAFile: "/etc/ca.pem"}, KeyFile: "/tmp/d/output"},
			global + inputs + codecs + flv + "-tls_verify 1 -ca_file /etc/ca.pem -fpre /tmp/d/output RTMPS://10.0.0.2/app/"},
		{"rtmps without verification", defaultEncoding, Target{Output: "rtmps://10.0.0.2/app/key", TLS: TLS{Insecure: true}},
			global + inputs + codecs + flv + "-tls_verify 0 rtmps://10.0.0.2/app/key"},
		{"file ignores TLS", defaultEncoding, Target{Output: "/tmp/out.flv", TLS: TLS{CAFile: "/etc/ca.pem"}},
			global + inputs + codecs + "-f flv /tmp/out.flv"},
		{"fragmented mp4", defaultEncoding, Target{Output: "/tmp/out.mp4"},
			global + inputs + codecs + "-f mp4 -movflags +frag_keyframe+empty_moov+delay_moov+default_base_moof " +
				"-frag_duration 1000000 -min_frag_duration 1000000 /tmp/out.mp4"},
		{"file, 720p stereo with bitrates", hd, Target{Output: "/tmp/out.flv"},
			global + "-f rawvideo -video_size 1280x720 -analyzeduration 0 -framerate 30 -pix_fmt bgr24 -probesize 32 -thread_queue_size 64 -i V " +
				"-f s16le -analyzeduration 0 -ch_layout stereo -probesize 32 -sample_rate 48000 -thread_queue_size 64 -i A " +
				"-map 0:v -map 1:a -c:v libx264 -preset ultrafast -g 60 -pix_fmt yuv420p -b:v 2500k -c:a aac -ar 48000 -ac 2 -b:a 128k " +
				"-f flv /tmp/out.flv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// ffmpeg-go builds from maps: run it a few times to catch unstable order.
			for range 5 {
				got := strings.Join(Args(tt.enc, "V", "A", tt.output), " ")
				if got != tt.want {
					t.Fatalf("Args:\n got %s\nwant %s", got, tt.want)
				}
			}
		})
	}
}

// TestArgsInputOptionsBeforeInput checks that every input option stands
// before its -i: after it, ffmpeg would apply it to the next file.
func TestArgsInputOptionsBeforeInput(t *testing.T) {
	args := Args(defaultEncoding, "V", "A", Target{Output: "out.flv"})
	idx := func(s string, from int) int {
		for i := from; i < len(args); i++ {
			if args[i] == s {
				return i
			}
		}
		return -1
	}
	v, a := idx("V", 0), idx("A", 0)
	if v < 0 || a < 0 || args[v-1] != "-i" || args[a-1] != "-i" || v > a {
		t.Fatalf("inputs misplaced: %v", args)
	}
	for _, opt := range []string{"-thread_queue_size", "-probesize", "-analyzeduration", "-f"} {
		if i := idx(opt, 0); i < 0 || i > v {
			t.Errorf("%s not before the video input", opt)
		}
		if i := idx(opt, v+1); i < 0 || i > a {
			t.Errorf("%s not before the audio input", opt)
		}
	}
}

func TestDryRunCommandMasks(t *testing.T) {
	tests := []struct {
		output, want string
		show         bool
	}{
		{"rtmp://127.0.0.1/live/secretkey", "'rtmp://127.0.0.1/live/***'", false},
		{"rtmp://user:pass@host:1935/app/key123?token=abc", "'rtmp://***@host:1935/app/***?***'", false},
		{"rtmps://live.example.com:443/app/sk_live_9f8e", "'rtmps://live.example.com:443/app/***'", false},
		{"rtmp://127.0.0.1/live/secretkey", "rtmp://127.0.0.1/live/secretkey", true},
		{"/data/out file.flv", "'/data/out file.flv'", false},
	}
	for _, tt := range tests {
		got := DryRunCommand("ffmpeg", defaultEncoding, Target{Output: tt.output, KeyFile: "/tmp/x"}, NewMasker(tt.output, tt.show))
		if !strings.HasPrefix(got, "ffmpeg -hide_banner ") || !strings.HasSuffix(got, " "+tt.want) {
			t.Errorf("DryRunCommand(%q) = %s\nwant it to end with %s", tt.output, got, tt.want)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("DryRunCommand(%q) is not one line", tt.output)
		}
		if strings.Contains(got, "-fpre") {
			t.Errorf("DryRunCommand(%q) names a key file, which only a real run has: %s", tt.output, got)
		}
	}
}

func TestShellQuote(t *testing.T) {
	got := ShellQuote([]string{"ffmpeg", "-i", "a b", "it's", "", "x=1,y:2"})
	want := `ffmpeg -i 'a b' 'it'\''s' '' x=1,y:2`
	if got != want {
		t.Errorf("ShellQuote = %s, want %s", got, want)
	}
}

func TestEncodingValidate(t *testing.T) {
	mod := func(f func(*Encoding)) Encoding {
		e := defaultEncoding
		f(&e)
		return e
	}
	bad := []Encoding{
		mod(func(e *Encoding) { e.Width = 255 }),
		mod(func(e *Encoding) { e.Height = 0 }),
		mod(func(e *Encoding) { e.Width = 20000 }),
		mod(func(e *Encoding) { e.FPS = 0 }),
		mod(func(e *Encoding) { e.GOP = 0 }),
		mod(func(e *Encoding) { e.SampleRate = 100 }),
		mod(func(e *Encoding) { e.Channels = 3 }),
		mod(func(e *Encoding) { e.Preset = "fast; rm -rf /" }),
		mod(func(e *Encoding) { e.VideoBitrate = "lots" }),
		mod(func(e *Encoding) { e.ThreadQueueSize = -1 }),
	}
	for _, e := range bad {
		if err := e.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidConfig", e, err)
		}
	}
	good := []Encoding{defaultEncoding, mod(func(e *Encoding) { e.VideoBitrate, e.AudioBitrate = "1.5M", "64k" })}
	for _, e := range good {
		if err := e.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", e, err)
		}
	}
}

// TestChunkBytes checks that the audio chunks of one second hold exactly one
// second of samples, also when rate/fps is not whole (44100/24 = 1837.5).
func TestChunkBytes(t *testing.T) {
	for _, tt := range []struct{ rate, fps, ch int }{{24000, 25, 1}, {44100, 24, 2}, {48000, 30, 1}, {22050, 60, 2}} {
		e := Encoding{SampleRate: tt.rate, FPS: tt.fps, Channels: tt.ch}
		var total int
		for n := int64(0); n < int64(tt.fps)*3; n++ {
			b := e.ChunkBytes(n)
			if b > e.MaxChunkBytes() || b%(2*tt.ch) != 0 {
				t.Fatalf("%+v: chunk %d is %d bytes (max %d)", tt, n, b, e.MaxChunkBytes())
			}
			total += b
		}
		if want := 3 * tt.rate * 2 * tt.ch; total != want {
			t.Errorf("%+v: 3 s of chunks = %d bytes, want %d", tt, total, want)
		}
	}
	if got := (Encoding{SampleRate: 24000, FPS: 25, Channels: 1}).ChunkBytes(7); got != 1920 {
		t.Errorf("24 kHz mono at 25 fps: chunk = %d bytes, want 1920 (40 ms)", got)
	}
}

func TestFramesFor(t *testing.T) {
	for _, tt := range []struct {
		samples    int64
		rate, fps  int
		wantFrames int64
	}{{24000, 24000, 25, 25}, {24001, 24000, 25, 26}, {1, 24000, 25, 1}, {44100 * 10, 44100, 24, 240}} {
		if got := FramesFor(tt.samples, tt.rate, tt.fps); got != tt.wantFrames {
			t.Errorf("FramesFor(%d, %d, %d) = %d, want %d", tt.samples, tt.rate, tt.fps, got, tt.wantFrames)
		}
	}
}

func TestOutputValidate(t *testing.T) {
	dir := t.TempDir()
	good := []string{"rtmp://127.0.0.1/live/x", "rtmps://a.b:443/app/k", "RTMP://h/app/k", "srt://127.0.0.1:9000?streamid=s", filepath.Join(dir, "out.flv")}
	for _, o := range good {
		if err := Output(o).Validate(); err != nil {
			t.Errorf("Validate(%q) = %v", o, err)
		}
	}
	bad := []string{"", "http://example.com/x", "udp://h:1", "srt://h/nopath", "rtmp:///nohost/k", filepath.Join(dir, "missing", "out.flv"), dir}
	for _, o := range bad {
		if err := Output(o).Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%q) = %v, want ErrInvalidConfig", o, err)
		}
	}
	if err := Output("http://user:pw@h/app/key").Validate(); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("error leaks or is missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.flv")); err == nil {
		t.Error("Validate created the output file")
	}
}

func TestOutputSegment(t *testing.T) {
	for _, tt := range []struct {
		out  string
		k    int
		want string
	}{
		{"out.flv", 0, "out.flv"}, {"out.flv", 1, "out.1.flv"}, {"/a/b.c/out.flv", 2, "/a/b.c/out.2.flv"},
		{"noext", 3, "noext.3"}, {"rtmp://h/app/key", 4, "rtmp://h/app/key"},
	} {
		if got := Output(tt.out).segment(tt.k); got != tt.want {
			t.Errorf("segment(%q, %d) = %q, want %q", tt.out, tt.k, got, tt.want)
		}
	}
}
