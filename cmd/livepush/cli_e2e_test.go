package main

// End-to-end tests of the command line with the built binary: stops by every signal a terminal or a
// supervisor sends, a log pipe whose reader goes away, messages for mistyped flags, the version, the
// output container chosen by the file's extension, existing files left alone, and the start-up line.

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// onAir is the start of the log line for ffmpeg's first progress ("ffmpeg is writing" for a file,
// "ffmpeg is publishing" for a server).
const onAir = `msg="ffmpeg is `

func sizeOf(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// waitFor polls cond until it holds; false when timeout passes or livepush exits first.
func waitFor(p *lpProc, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if p.Exited() || time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// waitWriting waits until ffmpeg reported progress and the file has bytes in it, while livepush runs.
func waitWriting(t *testing.T, p *lpProc, log func() string, out string) {
	t.Helper()
	if !waitFor(p, 30*time.Second, func() bool { return strings.Contains(log(), onAir) && sizeOf(out) > 0 }) || p.Exited() {
		t.Fatalf("ffmpeg never wrote %s while livepush ran (exited: %v); log:\n%s", filepath.Base(out), p.Exited(), tail(log(), 30))
	}
}

// stopInputs are the inputs of a stream that is stopped: the smiley (about 90 kB/s, so that ffmpeg's
// first blocks reach the file in a few seconds) and a 30 s tone.
func stopInputs(t *testing.T) (img, wav string) {
	img, _ = sampleFiles(t)
	_, wav = cliInputs(t, 30, 24000, 1)
	return img, wav
}

// checkPlayable: the file has video and audio and decodes without a single error.
func checkPlayable(t *testing.T, path string) probeInfo {
	t.Helper()
	info := ffprobe(t, path)
	if info.Stream("video") == nil || info.Stream("audio") == nil {
		t.Fatalf("%s: streams %+v, want video and audio", filepath.Base(path), info.Streams)
	}
	if n := len(ffprobePackets(t, path, "v")); n == 0 {
		t.Fatalf("%s: no video packets", filepath.Base(path))
	}
	var errs bytes.Buffer
	dec := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	dec.Stderr = &errs
	if err := dec.Run(); err != nil || errs.Len() > 0 {
		t.Errorf("decoding %s: %v\n%s", filepath.Base(path), err, errs.String())
	}
	return info
}

// cliInputs makes a 64x64 quadrant PNG and a 1 kHz tone WAV of dur seconds at rate Hz.
func cliInputs(t *testing.T, dur float64, rate, channels int) (img, wav string) {
	t.Helper()
	dir := t.TempDir()
	return makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64), makeToneWAV(t, filepath.Join(dir, "tone.wav"), 1000, dur, rate, channels)
}

// startLivepushTo starts livepush as startLivepush does, but with its stdout and stderr both on w, as
// `livepush ... 2>&1 | tee log` has them, when w is not nil; and through `sh -c`, after the shell
// commands in prefix, when that is not empty.
func startLivepushTo(t *testing.T, w *os.File, prefix string, args ...string) *lpProc {
	t.Helper()
	bin := needLivepush(t)
	p := &lpProc{t: t, Args: args, TmpDir: t.TempDir(), marker: nextMarker(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	if prefix != "" {
		p.cmd = exec.Command("sh", append([]string{"-c", prefix + ` exec "$0" "$@"`, bin}, args...)...)
	}
	p.cmd.Env = childEnv(p.TmpDir, p.marker, nil)
	p.cmd.Stdout, p.cmd.Stderr = &p.Stdout, &p.Stderr
	if w != nil {
		p.cmd.Stdout, p.cmd.Stderr = w, w
	}
	p.launch()
	return p
}

// TestCLIClosedLogPipe: the reader of livepush's stdout and stderr goes away (tee ended by the same
// Ctrl-C), then SIGINT: livepush does not die of SIGPIPE on its next log line; it stops cleanly, exit
// 0, the FLV finished and playable, no FIFO directory left (checked in the harness's cleanup).
func TestCLIClosedLogPipe(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	img, wav := stopInputs(t)
	out := filepath.Join(t.TempDir(), "out.flv")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startLivepushTo(t, w, "", "stream", "--image", img, "--audio", wav, "-o", out)
	w.Close()
	var log lockedBuffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(&log, r)
	}()
	waitWriting(t, p, log.String, out)
	r.Close() // the reader is gone: every write of livepush to fd 1 or 2 now fails
	<-copied
	p.Signal(syscall.SIGINT)
	code := p.Wait(20 * time.Second)
	t.Logf("log until the pipe closed:\n%s", tail(log.String(), 10))
	if code != 0 {
		t.Fatalf("exit code %d after SIGINT with a closed log pipe, want 0 (-1: killed by a signal)", code)
	}
	checkPlayable(t, out)
}

// TestCLIStopByHangupQuit: SIGHUP (terminal closed, ssh dropped) and SIGQUIT stop like SIGTERM: exit 0,
// the FLV finished and playable, ffmpeg gone, no FIFO directory left.
func TestCLIStopByHangupQuit(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	img, wav := stopInputs(t)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.flv")
			p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", out)
			child := p.WaitChild(0, 10*time.Second)
			waitWriting(t, p, p.Stderr.String, out)
			p.Signal(sig)
			if code := p.Wait(20 * time.Second); code != 0 {
				t.Fatalf("exit code %d after %v, want 0; stderr:\n%s", code, sig, tail(p.Stderr.String(), 20))
			}
			if d, ok := waitGone(child, 2*time.Second); !ok {
				t.Errorf("ffmpeg %d still alive %v after livepush exited", child, d)
			}
			checkPlayable(t, out)
		})
	}
}

// TestCLINohup: started with SIGHUP ignored (nohup), livepush keeps it ignored and streams on.
func TestCLINohup(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	img, wav := cliInputs(t, 3, 24000, 1)
	out := filepath.Join(t.TempDir(), "out.flv")
	p := startLivepushTo(t, nil, `trap "" HUP;`, "stream", "--image", img, "--audio", wav, "-o", out)
	if !p.WaitStderr(onAir, 30*time.Second) || p.Exited() {
		t.Fatalf("ffmpeg never wrote while livepush ran; stderr:\n%s", tail(p.Stderr.String(), 20))
	}
	p.Signal(syscall.SIGHUP)
	p.ExpectExit(0, 30*time.Second)
	if s := p.Stderr.String(); strings.Contains(s, "stopping") || !strings.Contains(s, "stream ended") {
		t.Errorf("SIGHUP under nohup stopped the stream; stderr:\n%s", tail(s, 20))
	}
	checkRecording(t, out, streamWant{W: 256, H: 256, FPS: 25, GOP: 1, Rate: 24000, Channels: 1, Dur: 3})
}

// stuckFFmpeg writes a fake ffmpeg that never reads its pipes and leaves a process outside its group
// holding its stdout and stderr, so that livepush cannot finish even after killing it: only a third
// signal ends livepush. The stray's pid is written to pidFile.
func stuckFFmpeg(t *testing.T, pidFile string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ffmpeg")
	script := "#!/bin/sh\n" +
		"case \"$*\" in *-version*) echo 'ffmpeg version 5.1-fake'; exit 0;; esac\n" +
		"setsid sh -c 'echo $$ > \"$0\"; exec sleep 120' '" + pidFile + "' &\n" +
		"exec sleep 120\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLIThirdSignalExits: with a stop that cannot finish, the first SIGINT stops, the second kills
// ffmpeg, and the third ends livepush at once with 128+SIGINT.
func TestCLIThirdSignalExits(t *testing.T) {
	t.Parallel()
	needLivepush(t)
	img, wav := sampleFiles(t)
	pidFile := filepath.Join(t.TempDir(), "stray.pid")
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", filepath.Join(t.TempDir(), "out.flv"),
		"--ffmpeg", stuckFFmpeg(t, pidFile), "--stale-timeout", "60s")
	p.allowFIFOLeft = true // an exit at once skips the clean-up; the next start removes the directory
	t.Cleanup(func() {     // runs before the harness's checks
		b, _ := os.ReadFile(pidFile)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
			waitGone(pid, 2*time.Second)
		}
	})
	step := func(want string) {
		t.Helper()
		if !p.WaitStderr(want, 15*time.Second) {
			t.Fatalf("no %q in the log (exited: %v); stderr:\n%s", want, p.Exited(), tail(p.Stderr.String(), 20))
		}
	}
	step("ffmpeg started")
	p.Signal(syscall.SIGINT)
	step("stopping")
	p.Signal(syscall.SIGINT)
	step("second signal")
	p.Signal(syscall.SIGINT)
	if code := p.Wait(10 * time.Second); code != 128+int(syscall.SIGINT) {
		t.Errorf("exit code %d after the third SIGINT, want %d; stderr:\n%s", code, 128+int(syscall.SIGINT), tail(p.Stderr.String(), 20))
	}
}

// TestCLIUsageErrors: a mistyped flag or command gets one line that names it as typed, suggests the
// nearest one and points to the help; exit 2, at once.
func TestCLIUsageErrors(t *testing.T) {
	t.Parallel()
	needLivepush(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"stream", "--imge", "a.png"}, "unknown flag --imge (did you mean --image?); see 'livepush stream --help'"},
		{[]string{"stream", "--imge=a.png"}, "unknown flag --imge (did you mean --image?); see 'livepush stream --help'"},
		{[]string{"stream", "-imge", "a.png"}, "unknown flag -imge (did you mean --image?); see 'livepush stream --help'"},
		{[]string{"stream", "--outptu", "x.flv"}, "unknown flag --outptu (did you mean --output?); see 'livepush stream --help'"},
		{[]string{"stream", "--real"}, "unknown flag --real (did you mean --realtime?); see 'livepush stream --help'"},
		{[]string{"stream", "--xyzzy"}, "unknown flag --xyzzy; see 'livepush stream --help'"},
		{[]string{"stream", "-o"}, "flag -o needs a value; see 'livepush stream --help'"},
		{[]string{"stream", "--fps", "abc"}, `invalid value "abc" for --fps; see 'livepush stream --help'`},
		{[]string{"--verison"}, "unknown flag --verison (did you mean --version?); see 'livepush --help'"},
		{[]string{"--xyzzy"}, "unknown flag --xyzzy; see 'livepush --help'"},
		{[]string{"strem"}, `unknown command "strem" (did you mean stream?); see 'livepush --help'`},
	} {
		name := strings.Join(c.args, "_")
		t.Run(name, func(t *testing.T) {
			p := startLivepush(t, lpOpts{}, c.args...)
			code := p.Wait(10 * time.Second)
			lines := nonEmptyLines(p.Stderr.String())
			if code != 2 || len(lines) != 1 || lines[0] != "livepush: "+c.want {
				t.Errorf("livepush %s: exit %d, stderr:\n%s\nwant exit 2 and the one line\nlivepush: %s",
					strings.Join(c.args, " "), code, p.Stderr.String(), c.want)
			}
		})
	}
}

// TestCLIVersionFlag: `livepush --version` prints what `livepush version` prints.
func TestCLIVersionFlag(t *testing.T) {
	t.Parallel()
	needLivepush(t)
	sub := startLivepush(t, lpOpts{}, "version")
	sub.ExpectExit(0, 10*time.Second)
	flag := startLivepush(t, lpOpts{}, "--version")
	flag.ExpectExit(0, 10*time.Second)
	if got, want := flag.Stdout.String(), sub.Stdout.String(); got != want || !strings.HasPrefix(got, "livepush ") {
		t.Errorf("livepush --version printed %q (stderr %q), livepush version %q", got, flag.Stderr.String(), want)
	}
}

// TestCLIVersionLdflags: a build without .git names its version with -ldflags -X main.buildVersion.
func TestCLIVersionLdflags(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds livepush: skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "livepush")
	build := exec.Command(goTool(), "build", "-ldflags", "-X main.buildVersion=v9.8.7-test", "-o", bin, ".")
	build.Dir = filepath.Join(repoRoot(t), "cmd", "livepush")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "livepush v9.8.7-test") {
		t.Errorf("livepush version: %q, %v; want it to start with livepush v9.8.7-test", out, err)
	}
}

// TestCLIFileContainers: the file's extension picks the container; the file has the stream in it.
func TestCLIFileContainers(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	img, wav := cliInputs(t, 2, 24000, 1)
	for _, c := range []struct{ ext, format string }{
		{".mp4", "mov,mp4,m4a,3gp,3g2,mj2"}, {".mov", "mov,mp4,m4a,3gp,3g2,mj2"}, {".mkv", "matroska,webm"},
		{".ts", "mpegts"}, {".m2ts", "mpegts"}, {".FLV", "flv"},
	} {
		t.Run(c.ext, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out"+c.ext)
			p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", out, "--realtime=false", "--size", "128x128")
			p.ExpectExit(0, 60*time.Second)
			if got := ffprobe(t, out).Format.FormatName; got != c.format {
				t.Errorf("%s holds %s, want %s", filepath.Base(out), got, c.format)
			}
			checkRecording(t, out, streamWant{W: 128, H: 128, FPS: 25, GOP: 1, Rate: 24000, Channels: 1, Dur: 2})
			if c.ext == ".m2ts" {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if len(b)%192 != 0 || len(b) < 192 || b[4] != 0x47 || b[196] != 0x47 {
					t.Errorf("%s is not made of 192-byte BDAV packets (%d bytes)", filepath.Base(out), len(b))
				}
			}
		})
	}
}

// TestCLIMP4SurvivesKill: an MP4 whose livepush (and so its ffmpeg) is killed mid-stream is readable up
// to its last whole fragment.
func TestCLIMP4SurvivesKill(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	img, wav := stopInputs(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", out)
	p.allowFIFOLeft = true // SIGKILL: no clean-up
	child := p.WaitChild(0, 10*time.Second)
	// Fragments are about a second long, and ffmpeg writes a file in large blocks: wait until a
	// second of video can be read back.
	readable := func() int {
		b, err := exec.Command("ffprobe", "-v", "quiet", "-select_streams", "v:0", "-count_packets",
			"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", out).Output()
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	if !waitFor(p, 40*time.Second, func() bool { return strings.Contains(p.Stderr.String(), onAir) && readable() >= 25 }) {
		t.Fatalf("%s has %d bytes and not a second of video; stderr:\n%s", filepath.Base(out), sizeOf(out), tail(p.Stderr.String(), 20))
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.Wait(10 * time.Second)
	if _, ok := waitGone(child, 5*time.Second); !ok {
		t.Fatalf("ffmpeg %d outlived the killed livepush", child)
	}
	info := ffprobe(t, out)
	n := len(ffprobePackets(t, out, "v"))
	t.Logf("%s after SIGKILL: %d bytes, %s, %d video packets", filepath.Base(out), sizeOf(out), info.Format.FormatName, n)
	if info.Format.FormatName != "mov,mp4,m4a,3gp,3g2,mj2" || info.Stream("video") == nil || info.Stream("audio") == nil || n < 25 {
		t.Errorf("the killed MP4 is not readable: format %q, streams %+v, %d video packets", info.Format.FormatName, info.Streams, n)
	}
}

// TestCLIOutputRefused: an extension livepush has no container for, and an existing file without
// --overwrite/-y, are bad input: one line, exit 2, no ffmpeg, nothing written or replaced.
func TestCLIOutputRefused(t *testing.T) {
	t.Parallel()
	needLivepush(t)
	img, wav := sampleFiles(t)
	for _, c := range []struct {
		name, file string
		exists     bool
		dryRun     bool
		want       []string
	}{
		{"avi", "out.avi", false, false, []string{`".avi"`, ".flv, .mp4, .mov, .mkv, .ts or .m2ts"}},
		{"no extension", "out", false, false, []string{"no extension", ".flv, .mp4"}},
		{"exists", "out.flv", true, false, []string{"out.flv", "exists", "--overwrite", "-y"}},
		{"exists dry run", "out.mp4", true, true, []string{"out.mp4", "exists"}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			dir, logDir := t.TempDir(), t.TempDir()
			out := filepath.Join(dir, c.file)
			if c.exists {
				if err := os.WriteFile(out, []byte("keep me"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"stream", "--image", img, "--audio", wav, "-o", out, "--ffmpeg", fakeFFmpeg(t, logDir)}
			if c.dryRun {
				args = append(args, "--dry-run")
			}
			p := startLivepush(t, lpOpts{}, args...)
			code := p.Wait(10 * time.Second)
			lines := nonEmptyLines(p.Stderr.String())
			if code != 2 || len(lines) != 1 {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 and one line", code, p.Stderr.String())
			}
			for _, s := range c.want {
				if !strings.Contains(lines[0], s) {
					t.Errorf("%q does not say %q", lines[0], s)
				}
			}
			if inv := fakeInvocations(t, logDir); len(inv) > 0 {
				t.Errorf("ffmpeg was run: %q", inv)
			}
			ents, _ := os.ReadDir(dir)
			want := 0
			if c.exists {
				want = 1
			}
			if b, _ := os.ReadFile(out); len(ents) != want || (c.exists && string(b) != "keep me") {
				t.Errorf("the output folder holds %d entries, want %d; %s holds %q", len(ents), want, c.file, b)
			}
		})
	}
}

// TestCLIOverwrite: with --overwrite or -y an existing file is replaced by the stream.
func TestCLIOverwrite(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	img, wav := cliInputs(t, 1, 24000, 1)
	for _, flag := range []string{"--overwrite", "-y"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.mkv")
			if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", out, "--realtime=false", flag)
			p.ExpectExit(0, 60*time.Second)
			checkPlayable(t, out)
		})
	}
}

// TestCLIRestartKeepsExistingFiles: a restart's continuation file skips a number whose file exists.
func TestCLIRestartKeepsExistingFiles(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	img, wav := cliInputs(t, 6, 24000, 1)
	dir := t.TempDir()
	out, old := filepath.Join(dir, "out.flv"), filepath.Join(dir, "out.1.flv")
	if err := os.WriteFile(old, []byte("an earlier run's"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", out, "--restart-delay", "100ms")
	child := p.WaitChild(0, 10*time.Second)
	if !p.WaitStderr(onAir, 30*time.Second) {
		t.Fatalf("ffmpeg never wrote; stderr:\n%s", tail(p.Stderr.String(), 20))
	}
	if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.ExpectExit(0, 60*time.Second)
	if b, _ := os.ReadFile(old); string(b) != "an earlier run's" {
		t.Errorf("%s was overwritten by the restart (%d bytes); stderr:\n%s", filepath.Base(old), len(b), tail(p.Stderr.String(), 20))
	}
	next := filepath.Join(dir, "out.2.flv")
	if !strings.Contains(p.Stderr.String(), "continuing the output in a new file") || sizeOf(next) <= 0 {
		t.Fatalf("no continuation in %s; stderr:\n%s", filepath.Base(next), tail(p.Stderr.String(), 20))
	}
	checkPlayable(t, next)
}

// TestCLIStartupLine: the start-up line says what is sent, and what the WAV is converted from; the
// first-progress line of a file output says "writing", not "publishing".
func TestCLIStartupLine(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	img, wav := cliInputs(t, 1, 48000, 2)
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"converted", nil, []string{`size=128x128`, `fps=25`, `gop=1`, `audio="tone.wav 48000 Hz stereo -> 24000 Hz mono"`}},
		{"as-is", []string{"--sample-rate", "48000", "--channels", "2", "--gop", "5", "--fps", "10"},
			[]string{`fps=10`, `gop=5`, `audio="tone.wav 48000 Hz stereo"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.flv")
			args := append([]string{"stream", "--image", img, "--audio", wav, "-o", out, "--realtime=false", "--size", "128x128"}, c.args...)
			p := startLivepush(t, lpOpts{}, args...)
			p.ExpectExit(0, 60*time.Second)
			var start string
			for _, l := range nonEmptyLines(p.Stderr.String()) {
				if strings.Contains(l, `msg=streaming`) {
					start = l
				}
			}
			for _, s := range c.want {
				if !strings.Contains(start, s) {
					t.Errorf("start-up line lacks %s:\n%s", s, start)
				}
			}
			if s := p.Stderr.String(); !strings.Contains(s, `msg="ffmpeg is writing"`) || strings.Contains(s, "publishing") {
				t.Errorf("a file output's log says publishing, or not writing:\n%s", s)
			}
		})
	}
}
