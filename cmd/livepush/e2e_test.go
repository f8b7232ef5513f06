package main

// End-to-end tests of `livepush stream` against a real nginx-rtmp and real ffmpeg: what the
// server recorded is probed (codecs, size, frame rate, keyframes, sample rate, duration) and decoded
// (tone frequency, colours); plus pacing, file output, the dry run, bad input and key masking.

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// streamWant is what a recording must contain.
type streamWant struct {
	W, H           int
	FPS            float64
	GOP            int
	Rate, Channels int
	Dur            float64 // the audio length rounded up to a whole frame
}

// frameCeil rounds an audio length up to a whole number of frames.
func frameCeil(sec, fps float64) float64 {
	return math.Ceil(sec*fps-1e-6) / fps
}

// checkRecording probes a recording (or FLV file) against want.
func checkRecording(t *testing.T, path string, want streamWant) {
	t.Helper()
	info := ffprobe(t, path)
	v, a := info.Stream("video"), info.Stream("audio")
	if v == nil || a == nil {
		t.Fatalf("%s: want one video and one audio stream, got %+v", filepath.Base(path), info.Streams)
	}
	if v.CodecName != "h264" {
		t.Errorf("video codec %q, want h264", v.CodecName)
	}
	if v.Width != want.W || v.Height != want.H {
		t.Errorf("video size %dx%d, want %dx%d", v.Width, v.Height, want.W, want.H)
	}
	if v.PixFmt != "yuv420p" {
		t.Errorf("pix_fmt %q, want yuv420p", v.PixFmt)
	}
	if r := parseRate(v.RFrameRate); math.Abs(r-want.FPS) > 0.01 {
		t.Errorf("r_frame_rate %s, want %g", v.RFrameRate, want.FPS)
	}
	if a.CodecName != "aac" {
		t.Errorf("audio codec %q, want aac", a.CodecName)
	}
	if a.SampleRate != fmt.Sprint(want.Rate) || a.Channels != want.Channels {
		t.Errorf("audio %s Hz %d ch, want %d Hz %d ch", a.SampleRate, a.Channels, want.Rate, want.Channels)
	}

	vp := ffprobePackets(t, path, "v")
	ap := ffprobePackets(t, path, "a")
	wantFrames := int(math.Round(want.Dur * want.FPS))
	vd, ad := videoDuration(vp, want.FPS), audioDuration(ap)
	t.Logf("%s: %dx%d %s fps, %d video packets (%.3f s), audio %s Hz %d ch (%.3f s); want %d frames, %.3f s",
		filepath.Base(path), v.Width, v.Height, v.RFrameRate, len(vp), vd, a.SampleRate, a.Channels, ad, wantFrames, want.Dur)
	if math.Abs(vd-want.Dur) > 0.2 {
		t.Errorf("video duration %.3f s (%d frames), want %.3f s ±0.2 (%d frames)", vd, len(vp), want.Dur, wantFrames)
	}
	if math.Abs(ad-want.Dur) > 0.2 {
		t.Errorf("audio duration %.3f s, want %.3f s ±0.2", ad, want.Dur)
	}
	// Frame spacing: one frame every 1/fps (FLV timestamps are whole milliseconds).
	for i := 1; i < len(vp); i++ {
		if d := vp[i].PTS - vp[i-1].PTS; math.Abs(d-1/want.FPS) > 0.0015 {
			t.Errorf("video packets %d->%d are %.3f s apart, want %.3f", i-1, i, d, 1/want.FPS)
			break
		}
	}
	// Keyframes exactly every GOP frames.
	var keys, bad []int
	for i, p := range vp {
		if p.Key {
			keys = append(keys, i)
		}
		if p.Key != (i%want.GOP == 0) {
			bad = append(bad, i)
		}
	}
	if len(bad) > 0 {
		shown := keys
		if len(shown) > 12 {
			shown = shown[:12]
		}
		t.Errorf("keyframes at --gop %d: %d of %d packets are wrong (first: %d); keyframes at %v...", want.GOP, len(bad), len(vp), bad[0], shown)
	} else {
		t.Logf("keyframes: %d of %d video packets, every %d as wanted", len(keys), len(vp), want.GOP)
	}
}

// checkTone decodes the recording's audio and checks every channel carries a tone of freq Hz.
func checkTone(t *testing.T, path string, rate, channels int, freq float64) {
	t.Helper()
	pcm := decodeAudio(t, path, rate, channels)
	for c := 0; c < channels; c++ {
		x := channel(pcm, channels, c)
		if len(x) < rate/2 {
			t.Fatalf("only %d samples of audio decoded", len(x))
		}
		mid := x[len(x)/5 : 4*len(x)/5]
		f := dominantFreq(mid, float64(rate), 50, float64(rate)/2-50, 10)
		t.Logf("channel %d: dominant frequency %g Hz, rms %.3f", c, f, rms(mid))
		if math.Abs(f-freq) > 10 {
			t.Errorf("channel %d: dominant frequency %g Hz, want %g", c, f, freq)
		}
	}
}

// checkQuadrants decodes the frame at 1 s and checks the quadrant colours of makeQuadPNG, placed in the
// rectangle (x0,y0)-(x0+side,y0+side) of a w×h frame.
func checkQuadrants(t *testing.T, path string, w, h, x0, y0, side int) []byte {
	t.Helper()
	rgb := decodeFrameRGB(t, path, 1, w, h)
	names := []string{"top-left red", "top-right green", "bottom-left blue", "bottom-right white"}
	for q := 0; q < 4; q++ {
		cx := x0 + side/4 + (q%2)*side/2
		cy := y0 + side/4 + (q/2)*side/2
		checkColour(t, names[q], meanRGB(rgb, w, cx, cy, side/16), quadColours[q], 40)
	}
	return rgb
}

// quadToneInputs makes the generated sample: a 256×256 PNG of four colour quadrants and a 3 s 1 kHz tone
// at 44.1 kHz stereo 16-bit.
func quadToneInputs(t *testing.T) (img, wav string) {
	t.Helper()
	dir := t.TempDir()
	return makeQuadPNG(t, filepath.Join(dir, "quad.png"), 256), makeToneWAV(t, filepath.Join(dir, "tone.wav"), 1000, 3, 44100, 2)
}

func sampleFiles(t *testing.T) (img, wav string) {
	root := repoRoot(t)
	return filepath.Join(root, "testdata", "sample.png"), filepath.Join(root, "testdata", "speech.wav")
}

// TestE2EBundledSample streams testdata/sample.png + testdata/speech.wav with the defaults and checks
// the recording: h264 256x256 25 fps all-intra, AAC 24 kHz mono, duration, picture colours, speech.
func TestE2EBundledSample(t *testing.T) {
	t.Parallel()
	srv := startRTMP(t)
	img, wav := sampleFiles(t)
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", srv.URL("sample"))
	p.ExpectExit(0, 40*time.Second)
	t.Logf("livepush streamed %.2f s of speech in %v", wavSeconds(t, wav), p.Wall().Round(time.Millisecond))
	recs := srv.WaitDone("sample", 10*time.Second)
	if len(recs) != 1 {
		t.Fatalf("recordings %v, want exactly 1 (one publish)", recs)
	}
	checkRecording(t, recs[0], streamWant{W: 256, H: 256, FPS: 25, GOP: 1, Rate: 24000, Channels: 1,
		Dur: frameCeil(wavSeconds(t, wav), 25)})

	// The smiley (512x512 stretched to 256x256): red nose, yellow face, blue background.
	rgb := decodeFrameRGB(t, recs[0], 1, 256, 256)
	checkColour(t, "nose (red)", meanRGB(rgb, 256, 128, 132, 3), [3]float64{230, 30, 30}, 50)
	checkColour(t, "face (yellow)", meanRGB(rgb, 256, 128, 70, 4), [3]float64{255, 205, 0}, 40)
	checkColour(t, "background (blue)", meanRGB(rgb, 256, 10, 10, 4), [3]float64{22, 63, 154}, 40)

	// The speech is there: loud enough, and not a constant tone.
	x := channel(decodeAudio(t, recs[0], 24000, 1), 1, 0)
	if r := rms(x); r < 0.02 {
		t.Errorf("speech rms %.4f: silent?", r)
	} else {
		t.Logf("speech rms %.3f", r)
	}
}

// TestE2EQuadrantsTone streams the generated quadrants + 1 kHz tone with the defaults, and at 320x240
// --fit fit --gop 25 --sample-rate 48000 --channels 2; checks streams, keyframes, tone and colours.
func TestE2EQuadrantsTone(t *testing.T) {
	t.Parallel()
	needTools(t, true)
	img, wav := quadToneInputs(t)

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		srv := startRTMP(t)
		p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", srv.URL("quad"))
		p.ExpectExit(0, 30*time.Second)
		recs := srv.WaitDone("quad", 10*time.Second)
		if len(recs) != 1 {
			t.Fatalf("recordings %v, want 1", recs)
		}
		checkRecording(t, recs[0], streamWant{W: 256, H: 256, FPS: 25, GOP: 1, Rate: 24000, Channels: 1, Dur: 3})
		checkTone(t, recs[0], 24000, 1, 1000)
		checkQuadrants(t, recs[0], 256, 256, 0, 0, 256)
	})

	t.Run("320x240-fit-gop25-48k-stereo", func(t *testing.T) {
		t.Parallel()
		srv := startRTMP(t)
		p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", srv.URL("quadfit"),
			"--size", "320x240", "--fit", "fit", "--gop", "25", "--sample-rate", "48000", "--channels", "2")
		p.ExpectExit(0, 30*time.Second)
		recs := srv.WaitDone("quadfit", 10*time.Second)
		if len(recs) != 1 {
			t.Fatalf("recordings %v, want 1", recs)
		}
		checkRecording(t, recs[0], streamWant{W: 320, H: 240, FPS: 25, GOP: 25, Rate: 48000, Channels: 2, Dur: 3})
		checkTone(t, recs[0], 48000, 2, 1000)
		// The square image letterboxed into 320x240: 240x240 in the middle, black bars 40 px wide.
		rgb := checkQuadrants(t, recs[0], 320, 240, 40, 0, 240)
		checkColour(t, "left bar (black)", meanRGB(rgb, 320, 15, 120, 6), [3]float64{0, 0, 0}, 30)
		checkColour(t, "right bar (black)", meanRGB(rgb, 320, 304, 120, 6), [3]float64{0, 0, 0}, 30)
	})
}

// TestE2EPacing: a 5 s stream is not sent faster than real time.
// Not parallel, so that it runs alone: a functional check that pacing exists, not a benchmark.
func TestE2EPacing(t *testing.T) {
	srv := startRTMP(t)
	dir := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 256)
	wav := makeToneWAV(t, filepath.Join(dir, "tone5.wav"), 1000, 5, 24000, 1)
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", srv.URL("pace"))
	rec, seen, ok := srv.WaitNewRecording("pace", nil, 10*time.Second)
	p.ExpectExit(0, 30*time.Second)
	wall := p.Wall()
	if ok {
		t.Logf("pacing: publish began %v after start; livepush exited %v after start (%v after publish began)",
			seen.Sub(p.Start).Round(time.Millisecond), wall.Round(time.Millisecond), p.End.Sub(seen).Round(time.Millisecond))
	} else {
		t.Errorf("no recording appeared within 10 s")
	}
	// Pacing exists: the stream cannot end much before its media time has
	// passed since ffmpeg began publishing. Only a lower bound is checked; how
	// long ffmpeg takes to start depends on the machine's load, and speed is
	// measured by scripts/bench.sh, not here.
	if ok {
		if d := p.End.Sub(seen).Seconds(); d < 4.5 {
			t.Errorf("a 5 s stream ended %.3f s after publishing began: not paced to real time", d)
		}
	}
	if d := wall.Seconds(); d < 4.5 || d > 20 {
		t.Errorf("a 5 s stream took %.3f s of wall time, want at least 4.5 s and well under 20 s", d)
	}
	if ok {
		srv.WaitDone("pace", 10*time.Second)
		checkRecording(t, rec, streamWant{W: 256, H: 256, FPS: 25, GOP: 1, Rate: 24000, Channels: 1, Dur: 5})
	}
}

// TestE2EFileOutputFast: --realtime=false to an FLV file gives a playable file with the right content,
// written much faster than real time; no numbered continuation files.
func TestE2EFileOutputFast(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	dir := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 256)
	wav := makeToneWAV(t, filepath.Join(dir, "tone10.wav"), 1000, 10, 44100, 2)
	out := filepath.Join(dir, "out.flv")
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", out, "--realtime=false")
	p.ExpectExit(0, 30*time.Second)
	t.Logf("--realtime=false: 10 s of media written in %v (%.1fx real time)", p.Wall().Round(time.Millisecond), 10/p.Wall().Seconds())
	if p.Wall() > 5*time.Second {
		t.Errorf("10 s of media took %v with --realtime=false, want well under real time (< 5 s)", p.Wall())
	}
	checkRecording(t, out, streamWant{W: 256, H: 256, FPS: 25, GOP: 1, Rate: 24000, Channels: 1, Dur: 10})
	checkTone(t, out, 24000, 1, 1000)
	checkQuadrants(t, out, 256, 256, 0, 0, 256)
	if extra, _ := filepath.Glob(filepath.Join(dir, "out.*.flv")); len(extra) > 0 {
		t.Errorf("continuation files written without any restart: %v", extra)
	}
}

// fakeFFmpeg writes an executable named ffmpeg that records each invocation's argv (one per line) in
// logDir/ffmpeg-args.<pid> and answers -version; returns its path.
func fakeFFmpeg(t *testing.T, logDir string) string {
	t.Helper()
	binDir := filepath.Join(t.TempDir(), "fakebin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(binDir, "ffmpeg")
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s/ffmpeg-args.'$$\necho 'ffmpeg version 5.1-fake Copyright (c) the test'\nexit 0\n", logDir)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeInvocations returns the argv of every run of the fake ffmpeg that was not just a version query.
func fakeInvocations(t *testing.T, logDir string) [][]string {
	files, _ := filepath.Glob(filepath.Join(logDir, "ffmpeg-args.*"))
	var out [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		isVersion := len(args) <= 2 && (len(args) == 0 || args[0] == "-version" || args[0] == "-hide_banner")
		if !isVersion {
			out = append(out, args)
		}
	}
	return out
}

// TestE2EDryRun: --dry-run prints one shell-quoted ffmpeg command line, runs nothing, masks the stream
// key, query string and userinfo, and prints them with --show-secrets; the printed line, run by a shell,
// gives ffmpeg the exact URL and a -thread_queue_size before each -i.
func TestE2EDryRun(t *testing.T) {
	t.Parallel()
	img, wav := sampleFiles(t)
	cases := []struct {
		name, url   string
		showSecrets bool
		mustHave    []string
		mustNot     []string
	}{
		{"key", "rtmp://127.0.0.1/live/secretkey", false, []string{"***", "rtmp://127.0.0.1/live/***"}, []string{"secretkey"}},
		{"userinfo", "rtmp://alice:hunter2@example.com/app/streamkey42", false, []string{"***", "example.com/app/"},
			[]string{"alice", "hunter2", "streamkey42"}},
		{"query", "rtmps://127.0.0.1/live/secretkey?token=tok3n", false, []string{"***", "rtmps://127.0.0.1/live/"},
			[]string{"secretkey", "tok3n"}},
		{"show-secrets", "rtmp://127.0.0.1/live/secretkey", true, []string{"rtmp://127.0.0.1/live/secretkey"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			logDir := t.TempDir()
			ff := fakeFFmpeg(t, logDir)
			args := []string{"stream", "--image", img, "--audio", wav, "-o", c.url, "--ffmpeg", ff, "--dry-run"}
			if c.showSecrets {
				args = append(args, "--show-secrets")
			}
			p := startLivepush(t, lpOpts{}, args...)
			p.ExpectExit(0, 10*time.Second)
			stdout, stderr := p.Stdout.String(), p.Stderr.String()
			lines := nonEmptyLines(stdout)
			if len(lines) != 1 {
				t.Fatalf("dry run printed %d lines on stdout, want 1:\n%s", len(lines), stdout)
			}
			line := lines[0]
			t.Logf("dry run: %s", line)
			for _, s := range c.mustHave {
				if !strings.Contains(line, s) {
					t.Errorf("dry-run line lacks %q", s)
				}
			}
			for _, s := range c.mustNot {
				if strings.Contains(stdout, s) || strings.Contains(stderr, s) {
					t.Errorf("%q appears in the output of a dry run without --show-secrets", s)
				}
			}
			if inv := fakeInvocations(t, logDir); len(inv) > 0 {
				t.Errorf("the dry run ran ffmpeg: %q", inv)
			}
			if !c.showSecrets {
				return
			}
			// Run the printed line through a shell, with the fake ffmpeg, and look at the argv it gets.
			cmd := exec.Command("bash", "-c", line)
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(ff)+":"+os.Getenv("PATH"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the printed command does not run in a shell: %v\n%s", err, out)
			}
			inv := fakeInvocations(t, logDir)
			if len(inv) != 1 {
				t.Fatalf("the printed command ran the fake ffmpeg %d times, want 1", len(inv))
			}
			argv := inv[0]
			t.Logf("argv after shell parsing: %q", argv)
			hasURL, inputs := false, 0
			for i, a := range argv {
				hasURL = hasURL || a == c.url
				if a == "-i" {
					inputs++
					// -thread_queue_size must stand before this -i, after the previous one.
					ok := false
					for j := i - 1; j >= 0 && argv[j] != "-i"; j-- {
						ok = ok || argv[j] == "-thread_queue_size"
					}
					if !ok {
						t.Errorf("no -thread_queue_size before -i %s", argv[i+1])
					}
				}
			}
			if !hasURL {
				t.Errorf("the URL %q is not one argument of the printed command", c.url)
			}
			if inputs != 2 {
				t.Errorf("%d inputs (-i), want 2 (video FIFO, audio FIFO)", inputs)
			}
		})
	}
}

// TestE2EBadInput: each bad input exits 2 in under a second with one line on stderr, before ffmpeg
// starts, with no output file, no FIFO directory left and no panic. Not parallel: the 1 s limit is
// measured while nothing else runs.
func TestE2EBadInput(t *testing.T) {
	needLivepush(t)
	img, wav := sampleFiles(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("this is not an image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := writeEmptyWAV(t, filepath.Join(dir, "empty.wav"))

	cases := []struct {
		name  string
		args  []string // after "stream"; -o OUT and --ffmpeg FAKE are added unless noOut/ownFFmpeg
		env   []string
		noOut bool
		ownFF bool
	}{
		{name: "missing image", args: []string{"--image", filepath.Join(dir, "nope.png"), "--audio", wav}},
		{name: "missing audio", args: []string{"--image", img, "--audio", filepath.Join(dir, "nope.wav")}},
		{name: "text as image", args: []string{"--image", text, "--audio", wav}},
		{name: "png as audio", args: []string{"--image", img, "--audio", img}},
		{name: "wav without samples", args: []string{"--image", img, "--audio", empty}},
		{name: "odd size", args: []string{"--image", img, "--audio", wav, "--size", "255x256"}},
		{name: "zero size", args: []string{"--image", img, "--audio", wav, "--size", "0x0"}},
		{name: "size abc", args: []string{"--image", img, "--audio", wav, "--size", "abc"}},
		{name: "fps 0", args: []string{"--image", img, "--audio", wav, "--fps", "0"}},
		{name: "http output", args: []string{"--image", img, "--audio", wav, "-o", "http://x"}, noOut: true},
		{name: "no output", args: []string{"--image", img, "--audio", wav}, noOut: true},
		{name: "empty LIVEPUSH_OUTPUT", args: []string{"--image", img, "--audio", wav}, env: []string{"LIVEPUSH_OUTPUT="}, noOut: true},
		{name: "ffmpeg not found", args: []string{"--image", img, "--audio", wav, "--ffmpeg", "/nonexistent/ffmpeg"}, ownFF: true},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			tmp := t.TempDir()
			logDir := t.TempDir()
			out := filepath.Join(tmp, "out", "out.flv")
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"stream"}, c.args...)
			if !c.noOut {
				args = append(args, "-o", out)
			}
			if !c.ownFF {
				args = append(args, "--ffmpeg", fakeFFmpeg(t, logDir))
			}
			p := startLivepush(t, lpOpts{TmpDir: tmp, Env: c.env}, args...)
			code := p.Wait(10 * time.Second)
			stderr := p.Stderr.String()
			lines := nonEmptyLines(stderr)
			t.Logf("exit %d after %v; stderr: %s", code, p.Wall().Round(time.Millisecond), strings.TrimSpace(stderr))
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if p.Wall() > time.Second {
				t.Errorf("took %v, want under 1 s", p.Wall())
			}
			if len(lines) != 1 {
				t.Errorf("stderr has %d non-empty lines, want exactly 1:\n%s", len(lines), stderr)
			}
			if strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("panic on stderr")
			}
			if fileExists(out) {
				t.Errorf("output file %s was created", out)
			}
			if inv := fakeInvocations(t, logDir); len(inv) > 0 {
				t.Errorf("ffmpeg was started for bad input: %q", inv)
			}
			// The FIFO-directory check runs in the cleanup of startLivepush.
		})
	}
}

// TestE2ECorruptImage: an image whose header is fine but whose body is cut short. livepush decodes it
// while ffmpeg starts (see still.go), so ffmpeg may have been started; the run must still end at once
// with exit 2 and the error as the last line, without a restart, with no output file (ffmpeg never got
// past opening its inputs), and, checked in startLivepush's cleanup, no ffmpeg and no FIFO left.
func TestE2ECorruptImage(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	_, wav := sampleFiles(t)
	dir := t.TempDir()
	whole := makeQuadPNG(t, filepath.Join(dir, "whole.png"), 640)
	b, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.png")
	if err := os.WriteFile(cut, b[:len(b)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.flv")
	p := startLivepush(t, lpOpts{}, "stream", "--image", cut, "--audio", wav, "-o", out)
	code := p.Wait(15 * time.Second)
	stderr := p.Stderr.String()
	lines := nonEmptyLines(stderr)
	t.Logf("exit %d after %v; stderr:\n%s", code, p.Wall().Round(time.Millisecond), stderr)
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if p.Wall() > 3*time.Second {
		t.Errorf("took %v, want under 3 s", p.Wall())
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "livepush: ") || !strings.Contains(lines[len(lines)-1], "cut.png") {
		t.Errorf("the last line of stderr is not the error naming the file")
	}
	if strings.Contains(stderr, "restart") || strings.Contains(stderr, "panic:") {
		t.Errorf("a restart or a panic on stderr")
	}
	if fileExists(out) {
		t.Errorf("output file %s was created", out)
	}
}

// TestE2EKeyNotLogged: with --log-level debug the stream key never appears on stdout or stderr, while it
// is really used (the server records under that name); with --log-format json every stderr line is a
// JSON object.
func TestE2EKeyNotLogged(t *testing.T) {
	t.Parallel()
	needTools(t, true)
	dir := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone2.wav"), 1000, 2, 24000, 1)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			srv := startRTMP(t)
			const key = "sekritkey123"
			p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", srv.URL(key),
				"--log-level", "debug", "--log-format", format)
			p.ExpectExit(0, 30*time.Second)
			stdout, stderr := p.Stdout.String(), p.Stderr.String()
			if strings.Contains(stdout, key) || strings.Contains(stderr, key) {
				t.Errorf("the stream key appears in the output:\n%s", tail(strings.ReplaceAll(stdout+stderr, key, ">>>"+key+"<<<"), 40))
			}
			lines := nonEmptyLines(stderr)
			t.Logf("%d stderr lines at --log-level debug; first: %s", len(lines), firstLine(stderr))
			if len(lines) == 0 {
				t.Errorf("no log lines at all at --log-level debug")
			}
			if recs := srv.WaitDone(key, 10*time.Second); len(recs) != 1 {
				t.Errorf("recordings under the key: %v, want 1", recs)
			}
			if format == "json" {
				for _, l := range lines {
					var m map[string]any
					if err := json.Unmarshal([]byte(l), &m); err != nil {
						t.Errorf("--log-format json: stderr line is not a JSON object: %s", l)
						break
					}
				}
			}
		})
	}
}

func firstLine(s string) string {
	if l := nonEmptyLines(s); len(l) > 0 {
		return l[0]
	}
	return ""
}
