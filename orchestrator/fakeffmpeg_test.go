package orchestrator

// A fake ffmpeg for the supervisor tests: the test binary itself, started
// again with LIVEPUSH_FAKE_FFMPEG set, behaves as ffmpeg does towards the
// supervisor (argv, FIFOs, -progress on stdout, error lines on stderr, exit
// statuses, SIGINT) in one of a few ways a real ffmpeg can misbehave.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Environment of a fake ffmpeg.
const (
	// fakeModeEnv names the behaviour; when set, the test binary is ffmpeg:
	//   ok            read both FIFOs to the end, report progress, exit 0
	//                 (255 on SIGINT, as ffmpeg does)
	//   fail-after:N  as ok, but after N frames print a connection error
	//                 naming the output and exit 1
	//   stall:N       read N frames, report them, then neither read nor
	//                 report, and never exit
	//   never-open    never open the FIFOs, never report, never exit
	//   ignore-int    as ok, but ignore SIGINT and do not exit at the end of
	//                 the input: only SIGKILL ends it
	//   eof-only      as ok, but ignore SIGINT: exit 0 at the end of the input
	//   permanent     print "Unknown encoder" and exit 1 at once
	//   wrapper:MODE  start a fake in MODE as a child sharing stdin, stdout
	//                 and stderr (as a shell script without exec does), and
	//                 exit with its status
	fakeModeEnv = "LIVEPUSH_FAKE_FFMPEG"
	// fakeRecordEnv is a file the fake appends what it did to, one event a
	// line: "<pid> <event> [args]" (see fakeLog).
	fakeRecordEnv = "LIVEPUSH_FAKE_RECORD"
	// fakeOnceEnv is a folder; when set, fail-after fails only in the first
	// run that sees it (later runs behave as ok).
	fakeOnceEnv = "LIVEPUSH_FAKE_ONCE"
	// fakeLagEnv is how many frames read are not yet confirmed in the
	// progress reports, as an encoder and muxer hold some back.
	fakeLagEnv = "LIVEPUSH_FAKE_LAG"
	// fakeReadyEnv is how long (a time.ParseDuration string) the fake takes
	// after opening the FIFOs to print its first progress report, as ffmpeg
	// does once it has connected to the server and started its encoders.
	fakeReadyEnv = "LIVEPUSH_FAKE_READY"
)

// fakeLifetime ends a fake that nobody ended, so a failed test does not leave
// processes behind (the tests check that the supervisor ended them long before).
const fakeLifetime = 90 * time.Second

func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv(fakeModeEnv); ok {
		os.Exit(fakeFFmpeg(mode, os.Args[1:]))
	}
	if _, ok := os.LookupEnv(sigCountEnv); ok {
		os.Exit(countSIGINT())
	}
	os.Exit(runWithPrivateTemp(m))
}

// runWithPrivateTemp runs the tests with TMPDIR set to a folder of their own,
// so that FIFO folders left behind by the supervisor can be found and are not
// confused with those of other processes on the machine.
func runWithPrivateTemp(m *testing.M) int {
	root, err := os.MkdirTemp("", "orchestrator-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(root)
	old, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", root)
	code := m.Run()
	if had {
		os.Setenv("TMPDIR", old)
	} else {
		os.Unsetenv("TMPDIR")
	}
	if left, _ := filepath.Glob(filepath.Join(root, "livepush-*")); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FIFO folders left behind by the supervisor: %v\n", left)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// fakeArgs is what the fake understood of its command line.
type fakeArgs struct {
	video, audio, output string
	width, height, fps   int
	rate, channels       int
	keyFile              bool // the key came from a -fpre file
}

// parseFakeArgs reads argv the way ffmpeg does as far as the fake needs:
// input options stand before their -i; the output is the last argument.
func parseFakeArgs(args []string) (fakeArgs, error) {
	a := fakeArgs{channels: 1}
	var inputs []string
	opts := map[string]string{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || i+1 >= len(args) {
			continue
		}
		switch arg {
		case "-hide_banner", "-nostdin", "-nostats", "-y":
			continue
		case "-i":
			inputs = append(inputs, args[i+1])
			if len(inputs) == 1 {
				if _, err := fmt.Sscanf(opts["-video_size"], "%dx%d", &a.width, &a.height); err != nil {
					return a, fmt.Errorf("video input: -video_size %q: %v", opts["-video_size"], err)
				}
				a.fps, _ = strconv.Atoi(opts["-framerate"])
			} else {
				a.rate, _ = strconv.Atoi(opts["-sample_rate"])
				if opts["-ch_layout"] == "stereo" {
					a.channels = 2
				}
			}
			opts = map[string]string{}
		default:
			opts[arg] = args[i+1]
		}
		i++
	}
	if len(inputs) != 2 || a.fps <= 0 || a.rate <= 0 || len(args) == 0 {
		return a, fmt.Errorf("want a video and an audio input with -framerate and -sample_rate, got %q", args)
	}
	a.video, a.audio, a.output = inputs[0], inputs[1], args[len(args)-1]
	// Like ffmpeg, publish to the playpath of a key file: the fake then
	// shows the key in its errors, as a careless ffmpeg might.
	if pre := opts["-fpre"]; pre != "" {
		a.keyFile = true
		b, err := os.ReadFile(pre)
		if err != nil {
			return a, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if k, ok := strings.CutPrefix(l, "rtmp_playpath="); ok {
				a.output += k
			}
		}
	}
	return a, nil
}

// fakeLog appends events to the record file, each with one write(2), so
// that what a fake did is there even when it is killed.
type fakeLog struct {
	mu  sync.Mutex
	f   *os.File
	pid int
}

func (l *fakeLog) event(format string, args ...any) {
	if l.f == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "%d %s\n", l.pid, fmt.Sprintf(format, args...))
}

func fakeFFmpeg(mode string, args []string) int {
	time.AfterFunc(fakeLifetime, func() { os.Exit(3) })
	log := &fakeLog{pid: os.Getpid()}
	if p := os.Getenv(fakeRecordEnv); p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintf(os.Stderr, "[fatal] fake ffmpeg: %v\n", err)
			return 1
		}
		log.f = f
	}
	if inner, ok := strings.CutPrefix(mode, "wrapper:"); ok {
		return fakeWrapper(log, inner, args)
	}
	a, err := parseFakeArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[fatal] fake ffmpeg: %v\n", err)
		return 1
	}
	log.event("start %s %s %s", a.video, a.audio, a.output)
	if a.keyFile {
		log.event("keyfile")
	}
	exit := func(code int) int {
		log.event("exit %d", code)
		return code
	}

	name, arg, _ := strings.Cut(mode, ":")
	n, _ := strconv.Atoi(arg)
	switch name {
	case "permanent":
		fmt.Fprintln(os.Stderr, "[error] Unknown encoder 'libx264'")
		return exit(1)
	case "certificate": // what ffmpeg 5.1 with GnuTLS logs for an unknown CA
		fmt.Fprintln(os.Stderr, "[tls @ 0x5589537a1c00] [error] Peer certificate failed verification")
		fmt.Fprintf(os.Stderr, "[error] %s: Input/output error\n", a.output)
		return exit(1)
	case "never-open":
		select {}
	case "ok", "ignore-int", "eof-only", "fail-after", "stall":
	default:
		fmt.Fprintf(os.Stderr, "[fatal] fake ffmpeg: unknown mode %q\n", mode)
		return exit(1)
	}
	if name == "fail-after" {
		if dir := os.Getenv(fakeOnceEnv); dir != "" {
			f, err := os.OpenFile(filepath.Join(dir, "failed"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				name = "ok" // failed once already
			} else {
				f.Close()
			}
		}
	}

	if name == "ignore-int" || name == "eof-only" {
		signal.Ignore(os.Interrupt)
	} else {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		go func() {
			<-sig
			log.event("sigint")
			os.Exit(exit(255))
		}()
	}

	// Like ffmpeg: open and probe the first input before opening the second.
	vf, err := os.Open(a.video)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[error] %s: %v\n", a.video, err)
		return exit(1)
	}
	af, err := os.Open(a.audio)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[error] %s: %v\n", a.audio, err)
		return exit(1)
	}
	log.event("opened")

	lag, _ := strconv.Atoi(os.Getenv(fakeLagEnv))
	ready, _ := time.ParseDuration(os.Getenv(fakeReadyEnv))
	p := &fakeProgress{w: bufio.NewWriter(os.Stdout), fps: a.fps, lag: int64(lag), log: log,
		frameAudio: max(1, int64(a.rate/a.fps*2*a.channels))}
	go p.loop(ready)

	var stalled atomic.Bool
	audioDone := make(chan int64)
	go func() {
		buf := make([]byte, 4096)
		var total int64
		for !stalled.Load() {
			k, err := af.Read(buf)
			total += int64(k)
			p.audioBytes.Add(int64(k))
			if err != nil {
				audioDone <- total
				return
			}
		}
		select {}
	}()

	frame := make([]byte, a.width*a.height*3)
	for {
		_, err := io.ReadFull(vf, frame)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			log.event("partial-frame")
		}
		if err != nil {
			break
		}
		log.event("frame %d %d", binary.LittleEndian.Uint64(frame), time.Now().UnixNano())
		read := p.read.Add(1)
		switch {
		case name == "fail-after" && read >= int64(n):
			// ffmpeg muxes by timestamp: what it confirms it has of both
			// inputs, so the audio gets a moment to catch up first.
			p.awaitAudio(read, 2*time.Second)
			p.report("continue")
			fmt.Fprintf(os.Stderr, "[error] %s: Connection reset by peer\n", a.output)
			return exit(1)
		case name == "stall" && read >= int64(n):
			p.report("continue")
			p.stop()
			stalled.Store(true)
			log.event("stalled")
			select {}
		}
	}
	log.event("video-eof")
	log.event("audio-eof %d", <-audioDone)
	if name == "ignore-int" {
		select {}
	}
	p.stop()
	p.report("end")
	return exit(0)
}

// fakeProgress prints -progress blocks to stdout every 100 ms.
type fakeProgress struct {
	mu   sync.Mutex
	w    *bufio.Writer
	fps  int
	lag  int64
	log  *fakeLog
	read atomic.Int64 // video frames read
	// audioBytes is the PCM read, and frameAudio the bytes of one frame's
	// worth: like ffmpeg, the fake confirms no media time beyond what it has
	// of both inputs.
	audioBytes atomic.Int64
	frameAudio int64
	stopped    bool
}

// loop reports first after ready, then every 100 ms.
func (p *fakeProgress) loop(ready time.Duration) {
	// The fake's start-up time, set by the test: the delay is what it plays.
	time.Sleep(ready)
	p.log.event("ready %d", time.Now().UnixNano())
	if !p.report("continue") {
		return
	}
	t := time.NewTicker(100 * time.Millisecond)
	for range t.C {
		if !p.report("continue") {
			return
		}
	}
}

// awaitAudio waits until frames frames' worth of audio was read, or timeout.
func (p *fakeProgress) awaitAudio(frames int64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for p.audioBytes.Load()/p.frameAudio < frames && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func (p *fakeProgress) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
}

// report prints one block, as ffmpeg does: out_time_us is N/A until a frame
// went out. It reports false once stopped (the final block still goes out).
func (p *fakeProgress) report(state string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped && state == "continue" {
		return false
	}
	confirmed := max(0, min(p.read.Load(), p.audioBytes.Load()/p.frameAudio)-p.lag)
	outUS := "N/A"
	if confirmed > 0 {
		outUS = strconv.FormatInt(confirmed*1e6/int64(p.fps), 10)
	}
	fmt.Fprintf(p.w, "frame=%d\nfps=%d.00\nstream_0_0_q=23.0\nbitrate=N/A\ntotal_size=%d\nout_time_us=%s\nout_time_ms=%s\ndup_frames=0\ndrop_frames=0\nspeed=1x\nprogress=%s\n",
		confirmed, p.fps, 48+confirmed*1000, outUS, outUS, state)
	p.w.Flush()
	p.log.event("progress %d", confirmed)
	return true
}

// fakeWrapper runs a fake in mode as its child, sharing its standard files,
// as a wrapper script that does not exec ffmpeg does.
func fakeWrapper(log *fakeLog, mode string, args []string) int {
	self, err := os.Executable()
	if err != nil {
		return 1
	}
	signal.Ignore(os.Interrupt)
	// The first of two equal names wins in Go's getenv: drop ours.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, fakeModeEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, fakeModeEnv+"="+mode)
	p, err := os.StartProcess(self, append([]string{self}, args...), &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		return 1
	}
	log.event("wrapper-of %d", p.Pid)
	st, err := p.Wait()
	if err != nil {
		return 1
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}
