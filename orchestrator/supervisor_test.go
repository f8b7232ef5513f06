package orchestrator

// Tests of the supervisor's state machine against fake ffmpegs (see
// fakeffmpeg_test.go) and, once, a real ffmpeg frozen with SIGSTOP.
//
// Every test checks, when it ends, that the goroutines went back to their
// number before the test, that every process the supervisor started is gone
// (and reaped), and that no FIFO folder is left. The tests do not run in
// parallel: the goroutine count is the process's.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/proctest"
)

// supKey is the stream key of the test output: it must never show.
const supKey = "sEcReTkEy42"

// supOutput is an rtmp URL nobody listens on; the fakes never connect.
const supOutput = "rtmp://127.0.0.1:1/live/" + supKey

// supEncoding is small, so that the fakes read fast and the pipes hold many frames.
var supEncoding = Encoding{Width: 16, Height: 16, FPS: 25, GOP: 1, SampleRate: 8000, Channels: 1, Preset: "veryfast"}

// supVideo makes frames whose first 8 bytes hold their number
// (little-endian); frame failAt (if > 0) and later fail with err.
type supVideo struct {
	size   int
	n      int64
	failAt int64
	err    error
}

func (v *supVideo) NextFrame() ([]byte, error) {
	if v.failAt > 0 && v.n >= v.failAt {
		return nil, v.err
	}
	b := make([]byte, v.size)
	binary.LittleEndian.PutUint64(b, uint64(v.n))
	v.n++
	return b, nil
}

// supSilence is an endless source of silence.
type supSilence struct{}

func (supSilence) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// ---- log capture ----

// logRecord is one record the supervisor logged, attributes flattened.
type logRecord struct {
	Time  time.Time
	Level slog.Level
	Msg   string
	Attrs []slog.Attr
}

func (r logRecord) value(key string) (slog.Value, bool) {
	for _, a := range r.Attrs {
		if a.Key == key {
			return a.Value.Resolve(), true
		}
	}
	return slog.Value{}, false
}

func (r logRecord) str(key string) string {
	v, _ := r.value(key)
	return v.String()
}

func (r logRecord) int(key string) int64 {
	v, ok := r.value(key)
	if !ok || v.Kind() != slog.KindInt64 {
		return -1
	}
	return v.Int64()
}

func (r logRecord) dur(key string) time.Duration {
	v, ok := r.value(key)
	if !ok || v.Kind() != slog.KindDuration {
		return -1
	}
	return v.Duration()
}

// String is the record as a text handler would print it, for leak checks and messages.
func (r logRecord) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %q", r.Time.Format("15:04:05.000"), r.Level, r.Msg)
	for _, a := range r.Attrs {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.Resolve().String())
	}
	return b.String()
}

// logRecorder keeps every record and wakes those waiting for one.
type logRecorder struct {
	mu      sync.Mutex
	records []logRecord
	changed chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{changed: make(chan struct{})} }

func (l *logRecorder) add(r logRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *logRecorder) all() []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

// with returns the records with message msg that match (nil: all).
func (l *logRecorder) with(msg string, match func(logRecord) bool) []logRecord {
	var out []logRecord
	for _, r := range l.all() {
		if r.Msg == msg && (match == nil || match(r)) {
			out = append(out, r)
		}
	}
	return out
}

// wait returns the first record with message msg that matches, waiting
// for it until ctx is done.
func (l *logRecorder) wait(ctx context.Context, msg string, match func(logRecord) bool) (logRecord, error) {
	for {
		l.mu.Lock()
		for _, r := range l.records {
			if r.Msg == msg && (match == nil || match(r)) {
				l.mu.Unlock()
				return r, nil
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return logRecord{}, fmt.Errorf("no log record %q: %w", msg, ctx.Err())
		}
	}
}

// states is the list of states the supervisor went to, in order.
func (l *logRecorder) states() []string {
	var out []string
	for _, r := range l.with("state", nil) {
		out = append(out, r.str("to"))
	}
	return out
}

// pids are the processes the supervisor said it started.
func (l *logRecorder) pids() []int {
	var out []int
	for _, r := range l.with("ffmpeg started", nil) {
		out = append(out, int(r.int("pid")))
	}
	return out
}

type recordHandler struct {
	l     *logRecorder
	attrs []slog.Attr
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Time: r.Time, Level: r.Level, Msg: r.Message, Attrs: slices.Clone(h.attrs)}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs = append(rec.Attrs, a)
		return true
	})
	h.l.add(rec)
	return nil
}

func (h recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return recordHandler{l: h.l, attrs: append(slices.Clone(h.attrs), attrs...)}
}

func (h recordHandler) WithGroup(string) slog.Handler { return h }

// ---- what the fakes did ----

// fakeRun is what one fake ffmpeg recorded.
type fakeRun struct {
	pid                  int
	video, audio, output string
	frames               []int64
	frameTimes           []time.Time
	ready                time.Time // when it printed its first progress report
	confirmed            int64     // frames last reported in progress; -1: none
	exit                 int       // status it exited with by itself; -1: it did not
	events               map[string]bool
}

// readFakeRuns parses the record file: one fakeRun per fake, in start order.
func readFakeRuns(t *testing.T, path string) []*fakeRun {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var runs []*fakeRun
	byPid := map[int]*fakeRun{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		pid, _ := strconv.Atoi(fields[0])
		r := byPid[pid]
		if r == nil {
			r = &fakeRun{pid: pid, confirmed: -1, exit: -1, events: map[string]bool{}}
			byPid[pid] = r
			runs = append(runs, r)
		}
		r.events[fields[1]] = true
		arg := func(i int) int64 {
			if len(fields) <= i {
				return -1
			}
			n, _ := strconv.ParseInt(fields[i], 10, 64)
			return n
		}
		switch fields[1] {
		case "start":
			if len(fields) >= 5 {
				r.video, r.audio, r.output = fields[2], fields[3], fields[4]
			}
		case "frame":
			r.frames = append(r.frames, arg(2))
			r.frameTimes = append(r.frameTimes, time.Unix(0, arg(3)))
		case "ready":
			r.ready = time.Unix(0, arg(2))
		case "progress":
			r.confirmed = arg(2)
		case "exit":
			r.exit = int(arg(2))
		}
	}
	// A wrapper records only whom it started; keep the fakes that ran ffmpeg's part.
	return slices.DeleteFunc(runs, func(r *fakeRun) bool { return r.video == "" && r.events["wrapper-of"] })
}

// contiguous checks that frames are exactly from, from+1, ..., to.
func contiguous(frames []int64, from, to int64) error {
	if len(frames) == 0 {
		return fmt.Errorf("no frames, want %d..%d", from, to)
	}
	for i, f := range frames {
		if f != from+int64(i) {
			return fmt.Errorf("frame #%d is %d, want %d (frames %d..%d)", i, f, from+int64(i), frames[0], frames[len(frames)-1])
		}
	}
	if last := frames[len(frames)-1]; last != to {
		return fmt.Errorf("frames %d..%d, want %d..%d", from, last, from, to)
	}
	return nil
}

// isSubsequence reports whether want appears in got in order, not necessarily adjacent.
func isSubsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// ---- tools ----

// toolsRequired reports whether a missing tool must fail a test rather than
// skip it: under CI (which .ci/run sets) or LIVEPUSH_REQUIRE_TOOLS (which
// scripts/test.sh sets), a skip would pass unseen.
func toolsRequired() bool {
	return envTrue("CI") || envTrue("LIVEPUSH_REQUIRE_TOOLS")
}

func envTrue(name string) bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(name)))
	return v != "" && v != "0" && v != "false" && v != "no"
}

// requireTool returns the path of tool on PATH. When it is missing the test
// skips, or fails when tools are required.
func requireTool(t testing.TB, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not on PATH (apt-get install ffmpeg)", tool)
	if toolsRequired() {
		t.Fatal(msg + " [CI or LIVEPUSH_REQUIRE_TOOLS is set, so this is a failure, not a skip]")
	}
	t.Skip(msg)
	return ""
}

// skipShort skips a slow test with -short, unless tools are required: then
// every test runs.
func skipShort(t testing.TB, what string) {
	t.Helper()
	if !testing.Short() {
		return
	}
	if toolsRequired() {
		t.Logf("-short ignored for %s: CI or LIVEPUSH_REQUIRE_TOOLS asks for every test to run", what)
		return
	}
	t.Skip(what + ": skipped with -short")
}

// ---- the harness ----

type harness struct {
	t       *testing.T
	dir     string
	record  string
	logs    *logRecorder
	fakes   int
	running sync.WaitGroup // Runs not yet returned
}

// newHarness prepares a test and registers the checks that run when it
// ends: goroutines, processes, FIFO folders.
func newHarness(t *testing.T) *harness {
	base := runtime.NumGoroutine()
	dir := t.TempDir() // removed after the checks below, which read the record in it
	h := &harness{t: t, dir: dir, record: filepath.Join(dir, "fake.record"), logs: newLogRecorder()}
	t.Cleanup(func() { h.checkClean(base) })
	return h
}

func (h *harness) logger() *slog.Logger { return slog.New(recordHandler{l: h.logs}) }

// context returns a context bounding the test, cancelled when it ends.
func (h *harness) context(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	h.t.Cleanup(cancel)
	return ctx, cancel
}

// fake writes a script that runs the test binary as a fake ffmpeg in mode,
// with env (NAME=value) added, and returns its path. The script execs, so
// the process the supervisor starts is the fake itself.
func (h *harness) fake(mode string, env ...string) string {
	h.t.Helper()
	self, err := os.Executable()
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	// A race-enabled binary sleeps 1 s before it exits unless told not to.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	for _, kv := range append([]string{fakeModeEnv + "=" + mode, fakeRecordEnv + "=" + h.record, "GORACE=" + gorace}, env...) {
		name, value, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "%s=%s; export %s\n", name, ShellQuote([]string{value}), name)
	}
	fmt.Fprintf(&b, "exec %s \"$@\"\n", ShellQuote([]string{self}))
	h.fakes++
	path := filepath.Join(h.dir, fmt.Sprintf("ffmpeg-%d.sh", h.fakes))
	if err := os.WriteFile(path, []byte(b.String()), 0o700); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// config is a stream to a fake, as fast as it reads, with short delays.
func (h *harness) config(ffmpeg string) Config {
	return Config{
		FFmpeg:       ffmpeg,
		Output:       supOutput,
		Encoding:     supEncoding,
		Video:        &supVideo{size: supEncoding.FrameBytes()},
		Audio:        supSilence{},
		RestartDelay: 20 * time.Millisecond,
		Logger:       h.logger(),
	}
}

type runResult struct {
	err     error
	elapsed time.Duration
	end     time.Time
}

// start runs a supervisor for cfg in a goroutine.
func (h *harness) start(ctx context.Context, cfg Config) (*Supervisor, <-chan runResult) {
	h.t.Helper()
	sup, err := New(cfg)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	res := make(chan runResult, 1)
	h.running.Add(1)
	go func() {
		defer h.running.Done()
		start := time.Now()
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("Run panicked: %v", p)
				}
			}()
			err = sup.Run(ctx)
		}()
		res <- runResult{err: err, elapsed: time.Since(start), end: time.Now()}
	}()
	return sup, res
}

// waitRun waits for Run to return, at most limit.
func (h *harness) waitRun(res <-chan runResult, limit time.Duration) runResult {
	h.t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(limit):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		h.t.Fatalf("Run did not return within %v; log:\n%s\ngoroutines:\n%s", limit, h.dump(), buf)
		return runResult{}
	}
}

func (h *harness) waitLog(ctx context.Context, msg string, match func(logRecord) bool) logRecord {
	h.t.Helper()
	r, err := h.logs.wait(ctx, msg, match)
	if err != nil {
		h.t.Fatalf("%v; log:\n%s", err, h.dump())
	}
	return r
}

func (h *harness) runs() []*fakeRun { return readFakeRuns(h.t, h.record) }

// dump is the log, for failure messages.
func (h *harness) dump() string {
	var b strings.Builder
	for _, r := range h.logs.all() {
		b.WriteString("  " + r.String() + "\n")
	}
	return b.String()
}

// lingers reports whether pid still runs, or is a zombie this process did not reap.
func lingers(pid int) bool {
	st, err := proctest.ReadStat(pid)
	return err == nil && (st.State != 'Z' || st.PPid == os.Getpid())
}

// poll calls cond every few milliseconds until it holds or d has passed.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

const cleanWithin = 5 * time.Second

func (h *harness) checkClean(base int) {
	t := h.t
	// The test's context is cancelled by now: every Run must return.
	returned := make(chan struct{})
	go func() { h.running.Wait(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(cleanWithin):
		t.Errorf("Run did not return within %v of the end of the test", cleanWithin)
	}
	if refused := h.logs.with("state change refused: a bug in livepush", nil); len(refused) > 0 {
		t.Errorf("the supervisor tried a change of state not in its table: %v", refused)
	}
	pids := h.logs.pids()
	for _, r := range h.runs() {
		if !slices.Contains(pids, r.pid) {
			pids = append(pids, r.pid)
		}
	}
	for _, pid := range pids {
		if pid <= 0 {
			continue
		}
		if !poll(cleanWithin, func() bool { return !lingers(pid) }) {
			st, _ := proctest.ReadStat(pid)
			t.Errorf("process %d still there (state %c, parent %d) %v after the test", pid, st.State, st.PPid, cleanWithin)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, r := range h.runs() {
		if r.video == "" {
			continue
		}
		if _, err := os.Stat(filepath.Dir(r.video)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("FIFO folder %s of ffmpeg %d not removed (%v)", filepath.Dir(r.video), r.pid, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "livepush-*")); len(left) > 0 {
		t.Errorf("FIFO folders left in %s: %v", os.TempDir(), left)
		for _, d := range left {
			os.RemoveAll(d)
		}
	}
	if !poll(cleanWithin, func() bool { return runtime.NumGoroutine() <= base }) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutine leak: %d goroutines, %d before the test:\n%s", runtime.NumGoroutine(), base, buf)
	}
}

// checkNoRestart fails if the supervisor logged a restart.
func (h *harness) checkNoRestart() {
	h.t.Helper()
	if rs := h.logs.with("ffmpeg failed, restarting", nil); len(rs) > 0 {
		h.t.Errorf("unexpected restart: %v", rs[0])
	}
}

// ---- the tests ----

func TestSupervisorCompletes(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("ok"))
	cfg.Frames = 50
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 10*time.Second)
	if r.err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", r.err, h.dump())
	}
	if st := sup.State(); st != StateStopped {
		t.Errorf("State() = %v, want stopped", st)
	}
	runs := h.runs()
	if len(runs) != 1 {
		t.Fatalf("%d ffmpeg runs, want 1", len(runs))
	}
	if err := contiguous(runs[0].frames, 0, 49); err != nil {
		t.Error(err)
	}
	if runs[0].exit != 0 || !runs[0].events["audio-eof"] {
		t.Errorf("fake exited with %d (audio end seen: %v), want 0 after the end of both inputs", runs[0].exit, runs[0].events["audio-eof"])
	}
	h.checkNoRestart()
	if got := h.logs.with("stream ended", nil); len(got) != 1 {
		t.Errorf("%d 'stream ended' records, want 1", len(got))
	}
	t.Logf("50 frames in %v", r.elapsed)
}

// realtimeSecond streams 25 frames at 25 fps through ffmpeg and checks
// that one ffmpeg run read all of them, in order.
func (h *harness) realtimeSecond(ffmpeg string) (runResult, *fakeRun) {
	h.t.Helper()
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(ffmpeg)
	cfg.Frames = 25
	cfg.Realtime = true
	_, res := h.start(ctx, cfg)
	r := h.waitRun(res, 10*time.Second)
	if r.err != nil {
		h.t.Fatalf("Run: %v", r.err)
	}
	runs := h.runs()
	if len(runs) != 1 {
		h.t.Fatalf("%d ffmpeg runs, want 1", len(runs))
	}
	if err := contiguous(runs[0].frames, 0, 24); err != nil {
		h.t.Fatal(err)
	}
	return r, runs[0]
}

func TestSupervisorRealtimePacing(t *testing.T) {
	h := newHarness(t)
	r, run := h.realtimeSecond(h.fake("ok"))
	// Frame 24 is due 24/25 s after frame 0.
	if r.elapsed < 950*time.Millisecond {
		t.Errorf("25 frames at 25 fps streamed in %v, want at least 0.96 s", r.elapsed)
	}
	// The clock starts at ffmpeg's first report, after Run began: the last
	// frame cannot come before its time counted from Run's start either.
	if at := run.frameTimes[24].Sub(r.end.Add(-r.elapsed)); at < 950*time.Millisecond {
		t.Errorf("ffmpeg read frame 24 %v after Run began, want at least 0.96 s", at)
	}
	t.Logf("25 frames at 25 fps: Run took %v", r.elapsed)
}

// TestSupervisorClockStartsWhenFFmpegIsReady: ffmpeg takes a while after
// opening its inputs before it reports (connecting, starting its encoders).
// The first frame goes at once, for ffmpeg to probe; the others keep their
// pace from ffmpeg's first report instead of going out in a burst that
// catches up the time ffmpeg took.
func TestSupervisorClockStartsWhenFFmpegIsReady(t *testing.T) {
	h := newHarness(t)
	const wait = 600 * time.Millisecond
	_, run := h.realtimeSecond(h.fake("ok", fakeReadyEnv+"="+wait.String()))
	if run.ready.IsZero() {
		t.Fatal("the fake recorded no first report")
	}
	if run.frameTimes[0].After(run.ready) {
		t.Errorf("frame 0 reached ffmpeg %v after its first report, want before (ffmpeg probes it)", run.frameTimes[0].Sub(run.ready))
	}
	// Frame n is due n/25 s after the report; the supervisor sees the report
	// a little later, so nothing may come earlier than that.
	for n := 1; n < 25; n++ {
		due := run.ready.Add(time.Duration(n) * time.Second / 25)
		if at := run.frameTimes[n]; at.Before(due) {
			t.Errorf("frame %d reached ffmpeg %v before it was due counting from ffmpeg's first report", n, due.Sub(at))
		}
	}
}

func TestSupervisorRestartResumes(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	once := filepath.Join(h.dir, "once")
	if err := os.Mkdir(once, 0o700); err != nil {
		t.Fatal(err)
	}
	const lag = 10 // frames read but not confirmed when ffmpeg fails
	cfg := h.config(h.fake("fail-after:40", fakeOnceEnv+"="+once, fakeLagEnv+"="+strconv.Itoa(lag)))
	cfg.Frames = 100
	cfg.ResumeMargin = 200 * time.Millisecond
	marginFrames := int64(cfg.ResumeMargin * time.Duration(supEncoding.FPS) / time.Second)
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 10*time.Second)
	if r.err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", r.err, h.dump())
	}
	if st := sup.State(); st != StateStopped {
		t.Errorf("State() = %v, want stopped", st)
	}
	runs := h.runs()
	if len(runs) != 2 {
		t.Fatalf("%d ffmpeg runs, want 2\nlog:\n%s", len(runs), h.dump())
	}
	first, second := runs[0], runs[1]
	if err := contiguous(first.frames, 0, 39); err != nil {
		t.Errorf("first run: %v", err)
	}
	if first.exit != 1 {
		t.Errorf("first run exited with %d, want 1", first.exit)
	}
	confirmed := first.confirmed // frames 0..confirmed-1 confirmed
	if confirmed != 40-lag {
		t.Fatalf("first run confirmed %d frames, want %d", confirmed, 40-lag)
	}
	if len(second.frames) == 0 {
		t.Fatal("second run read no frames")
	}
	from := second.frames[0]
	if from > confirmed || from < confirmed-marginFrames {
		t.Errorf("second run starts at frame %d, want within [%d, %d]: the confirmed position (%d) less the margin (%d frames)",
			from, confirmed-marginFrames, confirmed, confirmed, marginFrames)
	}
	if err := contiguous(second.frames, from, 99); err != nil {
		t.Errorf("second run: %v", err)
	}
	if second.exit != 0 {
		t.Errorf("second run exited with %d, want 0", second.exit)
	}
	seen := map[int64]bool{}
	for _, run := range runs {
		for _, f := range run.frames {
			seen[f] = true
		}
	}
	for f := range int64(100) {
		if !seen[f] {
			t.Errorf("frame %d never reached ffmpeg", f)
		}
	}

	restarts := h.logs.with("ffmpeg failed, restarting", nil)
	if len(restarts) != 1 {
		t.Fatalf("%d restart records, want 1\nlog:\n%s", len(restarts), h.dump())
	}
	rr := restarts[0]
	if rr.Level < slog.LevelWarn {
		t.Errorf("restart logged at %v, want warn or above", rr.Level)
	}
	if rr.int("attempt") != 1 {
		t.Errorf("restart record attempt=%d, want 1", rr.int("attempt"))
	}
	if e := rr.str("error"); !strings.Contains(e, "Connection reset by peer") || !strings.Contains(e, "status 1") {
		t.Errorf("restart record error=%q, want ffmpeg's error text and status", e)
	}
	if d := rr.dur("retry_in"); d < 0 || d > cfg.RestartDelay {
		t.Errorf("restart record retry_in=%v, want within (0, %v]", d, cfg.RestartDelay)
	}
	if at, want := rr.dur("resume_at"), Duration(from, supEncoding.FPS); at != want {
		t.Errorf("restart record resume_at=%v, but the second run started at %v", at, want)
	}
	if !isSubsequence(h.logs.states(), []string{"restarting", "starting", "stopped"}) {
		t.Errorf("states %v, want restarting, starting, ..., stopped", h.logs.states())
	}
	t.Logf("first run read 0..39 and confirmed %d; second read %d..99; %d frames repeated", confirmed, from, 40-from)
}

func TestSupervisorStale(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("stall:10"))
	cfg.StaleTimeout = 500 * time.Millisecond
	cfg.MaxRestarts = 1
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 5*time.Second)
	if r.err == nil || !strings.Contains(r.err.Error(), "no progress") {
		t.Fatalf("Run = %v, want an error about no progress", r.err)
	}
	if st := sup.State(); st != StateFailed {
		t.Errorf("State() = %v, want failed", st)
	}
	if n := len(h.logs.pids()); n != 2 {
		t.Fatalf("%d ffmpeg started, want 2 (MaxRestarts 1)", n)
	}
	// A fake that was slower to start than the stale timeout never got to stall.
	for _, run := range h.runs() {
		if run.exit != -1 {
			t.Errorf("fake %d exited with %d, want it killed", run.pid, run.exit)
		}
	}
	if runs := h.runs(); len(runs) == 0 || !runs[0].events["stalled"] {
		t.Errorf("the first fake did not stall: the test proves nothing")
	}
	t.Logf("gave up after %v: %v", r.elapsed, r.err)
}

func TestSupervisorNeverOpens(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("never-open"))
	cfg.StaleTimeout = 500 * time.Millisecond
	cfg.MaxRestarts = 1
	_, res := h.start(ctx, cfg)
	r := h.waitRun(res, 5*time.Second)
	if r.err == nil || !strings.Contains(r.err.Error(), "no progress") {
		t.Fatalf("Run = %v, want an error about no progress", r.err)
	}
	if n := len(h.logs.pids()); n != 2 {
		t.Fatalf("%d ffmpeg started, want 2 (MaxRestarts 1)", n)
	}
	for _, run := range h.runs() {
		if run.events["opened"] {
			t.Errorf("fake %d opened its FIFOs", run.pid)
		}
	}
	t.Logf("gave up after %v: %v", r.elapsed, r.err)
}

func TestSupervisorMaxRestartsMasksKey(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("fail-after:3"))
	cfg.MaxRestarts = 2
	cfg.RestartDelay = 10 * time.Millisecond
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 10*time.Second)
	if r.err == nil {
		t.Fatal("Run = nil, want an error")
	}
	msg := r.err.Error()
	for _, want := range []string{"3 times", "status 1", "Connection reset by peer", "rtmp://127.0.0.1:1/live/***"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, supKey) {
		t.Errorf("error shows the stream key: %s", msg)
	}
	if st := sup.State(); st != StateFailed {
		t.Errorf("State() = %v, want failed", st)
	}
	runs := h.runs()
	if len(runs) != 3 {
		t.Fatalf("%d ffmpeg runs, want 3 (MaxRestarts 2)", len(runs))
	}
	if !strings.Contains(runs[0].output, supKey) {
		t.Fatalf("the fake got output %q, not the key: the test proves nothing", runs[0].output)
	}
	for _, rec := range h.logs.all() {
		if strings.Contains(rec.String(), supKey) {
			t.Errorf("log shows the stream key: %s", rec)
		}
	}
	restarts := h.logs.with("ffmpeg failed, restarting", nil)
	if len(restarts) != 2 {
		t.Errorf("%d restart records, want 2", len(restarts))
	}
	for i, rr := range restarts {
		if rr.int("attempt") != int64(i+1) || !strings.Contains(rr.str("error"), "Connection reset by peer") {
			t.Errorf("restart record %d: %v", i, rr)
		}
	}
}

func TestSupervisorBackoff(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("fail-after:1"))
	cfg.RestartDelay = 50 * time.Millisecond
	cfg.RestartMaxDelay = 200 * time.Millisecond
	cfg.MaxRestarts = 5
	_, res := h.start(ctx, cfg)
	r := h.waitRun(res, 10*time.Second)
	if r.err == nil {
		t.Fatal("Run = nil, want an error")
	}
	restarts := h.logs.with("ffmpeg failed, restarting", nil)
	started := h.logs.with("ffmpeg started", nil)
	if len(restarts) != 5 || len(started) != 6 {
		t.Fatalf("%d restarts and %d starts, want 5 and 6\nlog:\n%s", len(restarts), len(started), h.dump())
	}
	const slack = 400 * time.Millisecond // fork, exec and a loaded machine
	var gaps, waits []time.Duration
	for i, rr := range restarts {
		d := rr.dur("retry_in")
		waits = append(waits, d)
		base := min(cfg.RestartDelay<<i, cfg.RestartMaxDelay)
		if d < base/2 || d > base {
			t.Errorf("restart %d: retry_in %v, want within [%v, %v]", i+1, d, base/2, base)
		}
		gap := started[i+1].Time.Sub(rr.Time)
		gaps = append(gaps, gap)
		if gap < d-time.Millisecond || gap > d+slack {
			t.Errorf("restart %d: next ffmpeg started %v after the failure, want %v (+ up to %v)", i+1, gap, d, slack)
		}
		if gap > cfg.RestartMaxDelay+slack {
			t.Errorf("restart %d: gap %v over the cap %v", i+1, gap, cfg.RestartMaxDelay)
		}
	}
	// The waits the supervisor chose, not the gaps measured: on a loaded
	// machine one fork and exec can outlast the first wait.
	if waits[0] >= slices.Max(waits[2:]) {
		t.Errorf("waits %v do not grow", waits)
	}
	t.Logf("gaps between attempts: %v", gaps)
}

func TestSupervisorBackoffResetsAfterStableRun(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	// Each run reads 10 frames in real time (0.4 s) before it fails: longer
	// than StableAfter, so every restart waits the first delay again and
	// counts as the first failure in a row.
	cfg := h.config(h.fake("fail-after:10"))
	cfg.Realtime = true
	cfg.StableAfter = 200 * time.Millisecond
	cfg.RestartDelay = 40 * time.Millisecond
	cfg.RestartMaxDelay = time.Second
	// The failures are never in a row: MaxRestarts never gives up.
	cfg.MaxRestarts = 1
	ctx, cancel := context.WithCancel(ctx)
	_, res := h.start(ctx, cfg)
	for len(h.logs.with("ffmpeg failed, restarting", nil)) < 3 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if r := h.waitRun(res, 10*time.Second); r.err != nil {
		t.Fatalf("Run = %v: it gave up on failures that were not in a row\nlog:\n%s", r.err, h.dump())
	}
	restarts := h.logs.with("ffmpeg failed, restarting", nil)
	if len(restarts) < 3 {
		t.Fatalf("%d restarts, want at least 3", len(restarts))
	}
	for i, rr := range restarts {
		if d := rr.dur("retry_in"); d < 0 || d > cfg.RestartDelay {
			t.Errorf("restart %d after a stable run: retry_in %v, want at most %v", i+1, d, cfg.RestartDelay)
		}
	}
}

// A first delay above the cap is capped too: New takes it, and the first
// restart waits at most RestartMaxDelay. The first delay is a minute, so an
// uncapped wait shows as a Run still waiting when the test's context ends,
// not as a timing that a slow machine could blur.
func TestSupervisorBackoffCapAppliesToFirstDelay(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(15 * time.Second)
	cfg := h.config(h.fake("fail-after:1"))
	cfg.RestartDelay = time.Minute
	cfg.RestartMaxDelay = 100 * time.Millisecond
	cfg.MaxRestarts = 1
	if _, err := New(cfg); err != nil {
		t.Fatalf("New refused RestartDelay %v above RestartMaxDelay %v: %v (it is capped, see setDefaults)",
			cfg.RestartDelay, cfg.RestartMaxDelay, err)
	}
	_, res := h.start(ctx, cfg)
	r := h.waitRun(res, 20*time.Second)
	if r.err == nil {
		t.Fatalf("Run = nil after %v: it was still waiting to restart when the context ended, so the first delay %v was not capped at %v; log:\n%s",
			r.elapsed, cfg.RestartDelay, cfg.RestartMaxDelay, h.dump())
	}
	restarts := h.logs.with("ffmpeg failed, restarting", nil)
	started := h.logs.with("ffmpeg started", nil)
	if len(restarts) != 1 || len(started) != 2 {
		t.Fatalf("%d restarts and %d starts, want 1 and 2 (MaxRestarts 1); Run = %v; log:\n%s", len(restarts), len(started), r.err, h.dump())
	}
	if d := restarts[0].dur("retry_in"); d <= 0 || d > cfg.RestartMaxDelay {
		t.Errorf("retry_in %v with RestartMaxDelay %v", d, cfg.RestartMaxDelay)
	}
}

func TestSupervisorGracefulStop(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := h.context(20 * time.Second)
	cfg := h.config(h.fake("ok"))
	cfg.Realtime = true
	// A stop that had to wait for the escalation would take this long: the
	// fake must end by itself well before, however slow the machine.
	cfg.StopTimeout = 10 * time.Second
	sup, res := h.start(ctx, cfg)
	h.waitLog(ctx, "ffmpeg is publishing", nil)
	h.waitLog(ctx, "state", func(r logRecord) bool { return r.str("to") == "running" })
	if st := sup.State(); st != StateRunning {
		t.Errorf("State() = %v while publishing, want running", st)
	}
	stop := time.Now()
	cancel()
	r := h.waitRun(res, 15*time.Second)
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if took := r.end.Sub(stop); took >= cfg.StopTimeout {
		t.Errorf("Run returned %v after cancel: the stop waited for the escalation (%v)", took, cfg.StopTimeout)
	}
	if st := sup.State(); st != StateStopped {
		t.Errorf("State() = %v, want stopped", st)
	}
	runs := h.runs()
	if len(runs) != 1 {
		t.Fatalf("%d ffmpeg runs, want 1", len(runs))
	}
	if e := runs[0].exit; e != 0 && e != 255 {
		t.Errorf("fake ended with %d, want an exit by itself (0 at end of input or 255 on SIGINT)", e)
	}
	if len(runs[0].frames) > 0 {
		if err := contiguous(runs[0].frames, 0, runs[0].frames[len(runs[0].frames)-1]); err != nil {
			t.Error(err)
		}
	}
	if !isSubsequence(h.logs.states(), []string{"running", "stopping", "stopped"}) {
		t.Errorf("states %v, want running, stopping, stopped", h.logs.states())
	}
	h.checkNoRestart()
	if got := h.logs.with("stream stopped", nil); len(got) != 1 {
		t.Errorf("%d 'stream stopped' records, want 1\nlog:\n%s", len(got), h.dump())
	}
	t.Logf("stopped %v after cancel", r.end.Sub(stop).Round(time.Millisecond))
}

func TestSupervisorStopEscalates(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := h.context(20 * time.Second)
	cfg := h.config(h.fake("ignore-int"))
	cfg.Realtime = true
	cfg.StopTimeout = 300 * time.Millisecond
	sup, res := h.start(ctx, cfg)
	h.waitLog(ctx, "ffmpeg is publishing", nil)
	stop := time.Now()
	cancel()
	r := h.waitRun(res, 5*time.Second)
	took := r.end.Sub(stop)
	if r.err != nil {
		t.Errorf("Run: %v", r.err)
	}
	if took < cfg.StopTimeout-50*time.Millisecond || took > cfg.StopTimeout+1500*time.Millisecond {
		t.Errorf("Run returned %v after cancel, want about StopTimeout %v", took, cfg.StopTimeout)
	}
	if st := sup.State(); st != StateStopped {
		t.Errorf("State() = %v, want stopped", st)
	}
	runs := h.runs()
	if len(runs) != 1 || runs[0].exit != -1 || !runs[0].events["audio-eof"] {
		t.Errorf("want one fake that saw the end of both inputs and was killed; got %d runs", len(runs))
	}
	t.Logf("Run returned %v after cancel (StopTimeout %v)", took, cfg.StopTimeout)
}

func TestSupervisorAbort(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := h.context(20 * time.Second)
	abort := make(chan struct{})
	cfg := h.config(h.fake("ignore-int"))
	cfg.Realtime = true
	cfg.StopTimeout = 30 * time.Second
	cfg.Abort = abort
	sup, res := h.start(ctx, cfg)
	h.waitLog(ctx, "ffmpeg is publishing", nil)
	stop := time.Now()
	cancel()
	close(abort)
	r := h.waitRun(res, 15*time.Second)
	// The fake ignores SIGINT: only the abort's kill ends it before the
	// StopTimeout's, however slow the machine.
	if took := r.end.Sub(stop); took >= cfg.StopTimeout {
		t.Errorf("Run returned %v after the abort: it waited for StopTimeout %v", took, cfg.StopTimeout)
	}
	if r.err != nil {
		t.Errorf("Run: %v", r.err)
	}
	if st := sup.State(); st != StateStopped {
		t.Errorf("State() = %v, want stopped", st)
	}
	if runs := h.runs(); len(runs) != 1 || runs[0].exit != -1 {
		t.Errorf("want one fake, killed")
	}
}

func TestSupervisorPermanentError(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("permanent"))
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 15*time.Second)
	if r.err == nil || !strings.Contains(r.err.Error(), "Unknown encoder") {
		t.Fatalf("Run = %v, want ffmpeg's error", r.err)
	}
	if st := sup.State(); st != StateFailed {
		t.Errorf("State() = %v, want failed", st)
	}
	if n := len(h.logs.pids()); n != 1 {
		t.Errorf("%d ffmpeg started, want 1", n)
	}
	h.checkNoRestart()
}

func TestSupervisorSourceError(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	errCamera := errors.New("camera unplugged")
	cfg := h.config(h.fake("ok"))
	cfg.Video = &supVideo{size: supEncoding.FrameBytes(), failAt: 10, err: errCamera}
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 5*time.Second)
	if !errors.Is(r.err, errCamera) {
		t.Fatalf("Run = %v, want the source's error", r.err)
	}
	if st := sup.State(); st != StateFailed {
		t.Errorf("State() = %v, want failed", st)
	}
	runs := h.runs()
	if len(runs) != 1 {
		t.Fatalf("%d ffmpeg runs, want 1", len(runs))
	}
	if n := len(runs[0].frames); n > 10 {
		t.Errorf("ffmpeg read %d frames, the source had 10", n)
	}
	h.checkNoRestart()
}

// Stopping before the first ffmpeg started is a stop, not a failure.
func TestSupervisorRunWithCancelledContext(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := h.context(20 * time.Second)
	cancel()
	cfg := h.config(h.fake("ok"))
	cfg.Realtime = true
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 5*time.Second)
	if r.err != nil {
		t.Errorf("Run with a cancelled context = %v, want nil (a stop)", r.err)
	}
	if st := sup.State(); st != StateStopped {
		t.Errorf("State() = %v, want stopped", st)
	}
}

// A stop by a context deadline is as clean as one by cancel.
func TestSupervisorStopByDeadlineIsClean(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	stopCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	cfg := h.config(h.fake("eof-only")) // ignores SIGINT, exits 0 at the end of its input
	cfg.Realtime = true
	_, res := h.start(stopCtx, cfg)
	h.waitLog(ctx, "ffmpeg is publishing", nil)
	r := h.waitRun(res, 5*time.Second)
	if r.err != nil {
		t.Errorf("Run: %v", r.err)
	}
	if runs := h.runs(); len(runs) != 1 || runs[0].exit != 0 {
		t.Fatalf("want one fake that exited 0")
	}
	for _, rec := range h.logs.all() {
		if rec.Level >= slog.LevelWarn {
			t.Errorf("ffmpeg exited 0 after the deadline, yet: %v", rec)
		}
	}
}

// A program that runs ffmpeg as its child (a wrapper script without exec)
// must not keep the supervisor waiting, nor outlive it.
func TestSupervisorKillsWrappedFFmpeg(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(30 * time.Second)
	cfg := h.config(h.fake("wrapper:stall:10"))
	cfg.StaleTimeout = time.Second
	cfg.MaxRestarts = 1
	_, res := h.start(ctx, cfg)
	first := h.waitLog(ctx, "ffmpeg started", nil)
	wait, cancelWait := context.WithTimeout(ctx, cfg.StaleTimeout+3*time.Second)
	defer cancelWait()
	_, err := h.logs.wait(wait, "ffmpeg failed, restarting", nil)
	if err == nil {
		if runs := h.runs(); len(runs) == 0 || runs[0].pid == int(first.int("pid")) || !runs[0].events["stalled"] {
			t.Errorf("the wrapped fake did not run and stall: the test proves nothing")
		}
		r := h.waitRun(res, 10*time.Second)
		if r.err == nil || !strings.Contains(r.err.Error(), "no progress") {
			t.Errorf("Run = %v, want an error about no progress", r.err)
		}
		return
	}
	t.Errorf("ffmpeg stalled %v ago and the supervisor still waits for it: the wrapper %d was killed, its child ffmpeg (%v) was not, and holds its stdout",
		time.Since(first.Time).Round(time.Second), first.int("pid"), h.runs()[0].pid)
	// Free the supervisor: kill what the wrappers started, until Run returns.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-res:
			return
		case <-tick.C:
			for _, run := range h.runs() {
				syscall.Kill(run.pid, syscall.SIGKILL)
			}
		case <-ctx.Done():
			t.Fatal("Run did not return")
		}
	}
}

// A stale timeout shorter than the ticker's granularity must not crash: New
// takes it, and each ffmpeg is killed at the first tick for making no
// progress, until MaxRestarts gives up.
func TestSupervisorTinyStaleTimeout(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("ok"))
	cfg.StaleTimeout = 3 // nanoseconds
	cfg.MaxRestarts = 1
	if _, err := New(cfg); err != nil {
		t.Fatalf("New refused a 3 ns stale timeout: %v", err)
	}
	_, res := h.start(ctx, cfg)
	r := h.waitRun(res, 10*time.Second)
	if r.err == nil || !strings.Contains(r.err.Error(), "no progress") {
		t.Fatalf("Run = %v, want giving up for no progress; log:\n%s", r.err, h.dump())
	}
	if n := len(h.logs.pids()); n != 2 {
		t.Errorf("%d ffmpeg started, want 2 (MaxRestarts 1)", n)
	}
}

// noiseVideo cycles through a few frames of noise, which x264 cannot
// shrink much, so that ffmpeg writes a file quickly.
type noiseVideo struct {
	frames [][]byte
	n      int
}

func newNoiseVideo(e Encoding, count int) *noiseVideo {
	r := rand.New(rand.NewPCG(1, 2))
	v := &noiseVideo{}
	for range count {
		b := make([]byte, e.FrameBytes())
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		v.frames = append(v.frames, b)
	}
	return v
}

func (v *noiseVideo) NextFrame() ([]byte, error) {
	f := v.frames[v.n%len(v.frames)]
	v.n++
	return f, nil
}

// fileSize is the size of path, or -1.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// probeVideoPackets counts the video packets ffprobe reads in path.
func probeVideoPackets(t *testing.T, ffprobe, path string) int {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=codec_name,nb_read_packets", "-of", "default=noprint_wrappers=1", path).Output()
	if err != nil {
		t.Errorf("ffprobe %s: %v", path, err)
		return 0
	}
	var codec string
	n := -1
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "codec_name":
			codec = v
		case "nb_read_packets":
			n, _ = strconv.Atoi(v)
		}
	}
	if codec != "h264" || n <= 0 {
		t.Errorf("ffprobe %s: codec %q, %d packets; output:\n%s", path, codec, n, out)
	}
	return n
}

// segmentName is the file attempt n writes to: out.flv, out.1.flv, ...
func segmentName(dir string, attempt int64) string {
	if attempt <= 1 {
		return filepath.Join(dir, "out.flv")
	}
	return filepath.Join(dir, fmt.Sprintf("out.%d.flv", attempt-1))
}

func TestSupervisorRealFFmpegFrozen(t *testing.T) {
	skipShort(t, "real ffmpeg")
	ffmpegPath := requireTool(t, "ffmpeg")
	ffprobe := requireTool(t, "ffprobe")
	h := newHarness(t)
	ctx, cancel := h.context(40 * time.Second)
	enc := Encoding{Width: 160, Height: 120, FPS: 25, GOP: 1, SampleRate: 24000, Channels: 1, Preset: "ultrafast"}
	cfg := Config{
		FFmpeg:   ffmpegPath,
		Output:   segmentName(h.dir, 1),
		Encoding: enc,
		Realtime: true,
		Video:    newNoiseVideo(enc, 4),
		Audio:    supSilence{},
		// Real ffmpeg can take more than a second from exec to its first
		// -progress block on a busy machine: with 1 s, new ffmpegs would
		// often be killed before they report.
		StaleTimeout: 2 * time.Second,
		RestartDelay: 100 * time.Millisecond,
		ReplayWindow: 10 * time.Second,
		Logger:       h.logger(),
	}
	pidIs := func(pid int) func(logRecord) bool {
		return func(r logRecord) bool { return int(r.int("pid")) == pid }
	}
	_, res := h.start(ctx, cfg)
	pub1 := h.waitLog(ctx, "ffmpeg is writing", nil)
	pid1 := int(pub1.int("pid"))
	started1 := h.waitLog(ctx, "ffmpeg started", pidIs(pid1))
	out1 := segmentName(h.dir, started1.int("attempt"))
	// Let it write some of the file, then freeze it.
	if !poll(15*time.Second, func() bool { return fileSize(out1) >= 64<<10 }) {
		t.Fatalf("%s has %d bytes after 15 s; log:\n%s", out1, fileSize(out1), h.dump())
	}
	frozen := time.Now()
	if err := syscall.Kill(pid1, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid1, syscall.SIGKILL) // should the supervisor not

	started2 := h.waitLog(ctx, "ffmpeg started", func(r logRecord) bool { return r.Time.After(frozen) })
	if started2.int("pid") == int64(pid1) {
		t.Fatal("the same pid started again")
	}
	if _, err := proctest.ReadStat(pid1); err == nil {
		t.Errorf("the frozen ffmpeg %d still exists when the next one starts", pid1)
	}
	if got, want := started2.str("output"), segmentName(h.dir, started2.int("attempt")); got != want {
		t.Errorf("attempt %d writes to %s, want %s", started2.int("attempt"), got, want)
	}
	fail := h.logs.with("ffmpeg failed, restarting", func(r logRecord) bool { return r.int("attempt") == started1.int("attempt") })
	if len(fail) != 1 || !strings.Contains(fail[0].str("error"), "no progress") {
		t.Errorf("want one restart for no progress of attempt %d; log:\n%s", started1.int("attempt"), h.dump())
	}
	// A new ffmpeg on the air: the first one after the freeze, unless a busy
	// machine made it miss the stale timeout while it started.
	pub2 := h.waitLog(ctx, "ffmpeg is writing", func(r logRecord) bool { return r.Time.After(frozen) })
	started3 := h.waitLog(ctx, "ffmpeg started", pidIs(int(pub2.int("pid"))))
	out2 := segmentName(h.dir, started3.int("attempt"))
	if !poll(10*time.Second, func() bool { return fileSize(out2) > 0 }) {
		t.Fatalf("%s not written", out2)
	}
	if len(h.logs.with("continuing the output in a new file", nil)) == 0 {
		t.Error("the new file was not said in the log")
	}
	t.Logf("frozen ffmpeg: next one started after %v, publishing (attempt %d) after %v",
		started2.Time.Sub(frozen).Round(time.Millisecond), started3.int("attempt"), pub2.Time.Sub(frozen).Round(time.Millisecond))

	cancel()
	r := h.waitRun(res, 10*time.Second)
	if r.err != nil {
		t.Errorf("Run: %v", r.err)
	}
	n1 := probeVideoPackets(t, ffprobe, out1)
	n2 := probeVideoPackets(t, ffprobe, out2)
	t.Logf("%s: %d video packets (ffmpeg killed); %s: %d (stopped)", filepath.Base(out1), n1, filepath.Base(out2), n2)
}

// TestStateTable: the final states have no way out, every other state can
// be left, and no state is entered from nowhere.
func TestStateTable(t *testing.T) {
	states := []State{StateStarting, StateRunning, StateRestarting, StateStopping, StateStopped, StateFailed}
	entered := map[State]bool{StateStarting: true} // where New leaves it
	for _, from := range states {
		out := 0
		for _, to := range states {
			if from != to && allowed(from, to) {
				out++
				entered[to] = true
			}
		}
		final := from == StateStopped || from == StateFailed
		if final != (out == 0) {
			t.Errorf("%v: %d ways out", from, out)
		}
	}
	for _, st := range states {
		if !entered[st] {
			t.Errorf("%v is never entered", st)
		}
	}
	if allowed(StateRestarting, StateRunning) || allowed(StateStopped, StateStarting) {
		t.Error("the table lets a restart skip starting, or a stopped stream start again")
	}
}
