package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startScript starts a shell script as startChild starts ffmpeg.
func startScript(t *testing.T, script string, log *slog.Logger) *child {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ffmpeg.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := newCommand(context.Background(), path, nil, 5*time.Second)
	c, err := startChild(cmd, log, NewMasker(supOutput, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.kill)
	return c
}

// waitDone waits for the child to be reaped and its output read, at most d.
func waitDone(t *testing.T, c *child, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-c.done:
		return time.Since(start)
	case <-time.After(d):
		t.Fatalf("child not done within %v", d)
		return 0
	}
}

// lineLog keeps the messages logged.
type lineLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *lineLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *lineLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *lineLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lineLog) WithGroup(string) slog.Handler      { return l }

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// longLine prints a line of n bytes of c (no newline) to the script's stdout.
func longLine(n int, c byte) string {
	return fmt.Sprintf("head -c %d /dev/zero | tr '\\0' '%c'", n, c)
}

// TestChildReadsOnAfterLongLines: a line longer than the scanner's 64 KiB,
// on stdout or stderr, does not stop the lines after it being read:
// progress still makes ffmpeg ready and publishing, and the error after it
// is kept for the failure message.
func TestChildReadsOnAfterLongLines(t *testing.T) {
	logs := &lineLog{}
	c := startScript(t, strings.Join([]string{
		longLine(100<<10, 'x') + "; echo",
		"printf 'frame=1\\ntotal_size=48\\nout_time_us=40000\\nprogress=continue\\n'",
		"{ " + longLine(100<<10, 'y') + "; echo; } >&2",
		"echo '[error] the error after the long line' >&2",
		"{ printf '[warning] '; " + longLine(200<<10, 'w') + "; printf '\\r'; } >&2",
		"echo '[warning] a warning after the long line' >&2",
		"exit 1",
	}, "\n"), slog.New(logs))
	waitDone(t, c, 30*time.Second)
	select {
	case <-c.ready:
	default:
		t.Error("progress after a long line not seen: never ready")
	}
	if !c.publishing.Load() || c.confirmed() != 40*time.Millisecond {
		t.Errorf("publishing %v, confirmed %v; want true, 40ms", c.publishing.Load(), c.confirmed())
	}
	if got := c.lastError(); got != "the error after the long line" {
		t.Errorf("lastError = %q", got)
	}
	msgs := logs.all()
	if !strings.Contains(strings.Join(msgs, "\n"), "ffmpeg: a warning after the long line") {
		t.Errorf("warning after the long lines not logged: %q", msgs)
	}
	for _, m := range msgs {
		if len(m) > 2*maxCutLine {
			t.Errorf("a log line of %d bytes", len(m))
		}
	}
}

// TestCutLineKeepsSecretsWhole: a long line is cut at a space, so that a
// stream key straddling the cut is masked as a whole or left out, never cut
// in two with its first part shown.
func TestCutLineKeepsSecretsWhole(t *testing.T) {
	m := NewMasker(supOutput, false)
	for pad := maxCutLine - len(supKey) - 2; pad <= maxCutLine+2; pad++ {
		line := "[error] " + strings.Repeat("a", pad-8) + " " + supKey + " " + strings.Repeat("b", maxLine)
		got := strings.TrimSpace(m.Mask(string(cutLine([]byte(line)[:maxLine]))))
		for k := minSecret; k <= len(supKey); k++ {
			if strings.Contains(got, supKey[:k]) {
				t.Fatalf("pad %d: cut line shows %q of the key: ...%s", pad, supKey[:k], got[max(0, len(got)-40):])
			}
		}
	}
}

// TestChildExitSeenDespiteGrandchild: a grandchild that left ffmpeg's
// process group and holds its stdout and stderr does not hide ffmpeg's
// exit: the child is done within outputGrace of it, with what ffmpeg said
// before it exited, and the readers end.
func TestChildExitSeenDespiteGrandchild(t *testing.T) {
	base := runtime.NumGoroutine()
	pidFile := filepath.Join(t.TempDir(), "grandchild")
	c := startScript(t, heldOutputScript(pidFile, "[error] said before the exit"), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { killGrandchildren(t, pidFile) })
	waitDone(t, c, 30*time.Second)
	if got := c.lastError(); got != "said before the exit" {
		t.Errorf("lastError = %q", got)
	}
	if ee, ok := c.waitErr.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("wait: %v, want exit status 3", c.waitErr)
	}
	if !eventually(10*time.Second, func() bool { return runtime.NumGoroutine() <= base }) {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
	}
}

// heldOutputScript is an ffmpeg that starts a grandchild in a session of
// its own holding stdout and stderr (its pid appended to pidFile), prints
// msg to stderr and exits 3.
func heldOutputScript(pidFile, msg string) string {
	return fmt.Sprintf("setsid sleep 300 </dev/null &\necho $! >>%s\necho %s >&2\nexit 3\n",
		ShellQuote([]string{pidFile}), ShellQuote([]string{msg}))
}

// killGrandchildren kills the processes listed in pidFile.
func killGrandchildren(t *testing.T, pidFile string) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Errorf("no grandchild recorded: %v", err)
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestSupervisorSeesExitDespiteGrandchild: the supervisor reports the exit
// of an ffmpeg whose grandchild holds its output, restarts it, and gives
// up with its error, each exit seen within outputGrace.
func TestSupervisorSeesExitDespiteGrandchild(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(h.dir, "grandchildren")
	t.Cleanup(func() { killGrandchildren(t, pidFile) })
	script := filepath.Join(h.dir, "ffmpeg-held.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+heldOutputScript(pidFile, "[error] held output")), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, _ := h.context(60 * time.Second)
	cfg := h.config(script)
	cfg.MaxRestarts = 1
	_, res := h.start(ctx, cfg)
	r := h.waitRun(res, 40*time.Second)
	if r.err == nil || !strings.Contains(r.err.Error(), "held output") || !strings.Contains(r.err.Error(), "2 times") {
		t.Errorf("Run: %v, want a give-up after 2 failures naming the error", r.err)
	}
	t.Logf("Run returned after %v", r.elapsed.Round(time.Millisecond))
}
