package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/live"
)

func TestProgressInfoString(t *testing.T) {
	tests := []struct {
		in   progressInfo
		want string
	}{
		{progressInfo{State: "running", Media: 12*time.Minute + 34*time.Second + 560*time.Millisecond, Drift: 2 * time.Millisecond, Restarts: 1,
			Speech: &speechInfo{Speaking: true, Queued: 3, QueueTime: 12400 * time.Millisecond}},
			"running  00:12:34.5  drift 2ms  speaking (3 queued, 12.4 s)  restarts 1"},
		{progressInfo{State: "running", Media: 90 * time.Minute, Speech: &speechInfo{}},
			"running  01:30:00.0  drift 0s  idle  restarts 0"},
		{progressInfo{State: "running", Speech: &speechInfo{Queued: 1, QueueTime: 2 * time.Second}},
			"running  00:00:00.0  drift 0s  idle (1 queued, 2.0 s)  restarts 0"},
		{progressInfo{State: "restarting", Media: 3*time.Hour + 59*time.Millisecond, Drift: 1503 * time.Microsecond, Restarts: 12},
			"restarting  03:00:00.0  drift 2ms  restarts 12"},
		{progressInfo{State: "starting", Media: -time.Second, Drift: -time.Second},
			"starting  00:00:00.0  drift 0s  restarts 0"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestFileAndLiveProgress(t *testing.T) {
	got := fileProgress(orchestrator.Status{State: orchestrator.StateRunning, Position: 5 * time.Second, Drift: time.Millisecond, Restarts: 2}).String()
	if want := "running  00:00:05.0  drift 1ms  restarts 2"; got != want {
		t.Errorf("file mode: %q, want %q", got, want)
	}
	st := live.Status{State: "speaking", Media: time.Minute, Speaking: true, Restarts: 1,
		Queue: []live.Clip{{ID: "a"}, {ID: "b"}}, QueueTime: 4500 * time.Millisecond}
	if got, want := liveProgress(st).String(), "speaking  00:01:00.0  drift 0s  speaking (2 queued, 4.5 s)  restarts 1"; got != want {
		t.Errorf("live mode: %q, want %q", got, want)
	}
}

// screen plays terminal output the way a terminal shows it: \r to the line's
// start, ESC[K erases to its end, \n to the next line (the pty's \r\n too).
func screen(out string) []string {
	lines := []string{""}
	col := 0
	for i := 0; i < len(out); i++ {
		cur := &lines[len(lines)-1]
		switch {
		case out[i] == '\r':
			col = 0
		case out[i] == '\n':
			lines = append(lines, "")
			col = 0
		case strings.HasPrefix(out[i:], "\x1b[K"):
			*cur = (*cur)[:col]
			i += 2
		default:
			if col < len(*cur) {
				*cur = (*cur)[:col] + out[i:i+1] + (*cur)[col+1:]
			} else {
				*cur += out[i : i+1]
			}
			col++
		}
	}
	return lines
}

func TestProgressLineDiscipline(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, true)
	p.draw("running  00:00:01.0  drift 0s  restarts 0")
	fmt.Fprint(p, "level=INFO msg=one\n")
	p.draw("running  00:00:01.5  drift 0s  restarts 0")
	fmt.Fprint(p, "level=WARN msg=two\nlevel=WARN msg=three\n")
	p.draw("run")
	p.draw("")
	want := []string{"level=INFO msg=one", "level=WARN msg=two", "level=WARN msg=three", ""}
	if got := screen(buf.String()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("screen %q, want %q; written %q", got, want, buf.String())
	}
	if !strings.HasSuffix(buf.String(), "\r\x1b[K") {
		t.Errorf("the line is not cleared at the end: %q", buf.String())
	}
}

// Log lines from many goroutines while the line is redrawn: every log line
// comes out whole on its own line, and the status line is gone at the end.
func TestProgressConcurrentLogs(t *testing.T) {
	var out lockedBuffer
	var draws atomic.Int32
	p := newProgress(&out, true)
	stop := p.start(func() progressInfo {
		draws.Add(1)
		return progressInfo{State: "running", Media: time.Second}
	})
	log := slog.New(slog.NewTextHandler(p, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	var wg sync.WaitGroup
	var logged atomic.Int32
	deadline := time.Now().Add(20 * time.Second)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Until the line was redrawn a few times between log lines.
			for i := 0; draws.Load() < 3 && time.Now().Before(deadline); i++ {
				log.Info("line", "g", g, "i", i)
				logged.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	stop()
	stop() // twice is harmless
	s := out.String()
	if draws.Load() < 3 || !strings.Contains(s, "running  00:00:01.0") {
		t.Fatalf("status line drawn %d times: %q", draws.Load(), s)
	}
	lines := screen(s)
	if last := lines[len(lines)-1]; last != "" {
		t.Errorf("last line %q, want cleared", last)
	}
	seen := map[string]bool{}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "level=INFO msg=line g=") || strings.Contains(l, "running") {
			t.Errorf("garbled line %q", l)
		}
		seen[l] = true
	}
	if len(seen) != int(logged.Load()) {
		t.Errorf("%d distinct log lines, want %d", len(seen), logged.Load())
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestProgressOff(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, false)
	stop := p.start(func() progressInfo { t.Error("status asked while off"); return progressInfo{} })
	fmt.Fprint(p, "level=INFO msg=x\n")
	stop()
	if got := buf.String(); got != "level=INFO msg=x\n" {
		t.Errorf("written %q", got)
	}
}

// livepush on a terminal draws the line; with stderr piped, or with
// --progress=false, it does not.
func TestProgressE2E(t *testing.T) {
	needTools(t, false)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) (util-linux) to run livepush on a terminal")
	}
	bin := needLivepush(t)
	img, wav := cliInputs(t, 3, 24000, 1)
	dir := t.TempDir()
	args := func(out string, extra ...string) []string {
		return append([]string{bin, "stream", "--image", img, "--audio", wav, "-o", filepath.Join(dir, out), "--size", "64x64"}, extra...)
	}
	onTTY := func(argv []string) string {
		t.Helper()
		cmd := exec.Command(script, "-qfec", orchestrator.ShellQuote(argv), os.DevNull)
		cmd.Env = childEnv(t.TempDir(), nextMarker(), nil)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v\n%q", argv, err, out)
		}
		return string(out)
	}

	out := onTTY(args("tty.flv"))
	if !strings.Contains(out, "\r\x1b[Krunning  00:00:0") || !strings.Contains(out, "  restarts 0") {
		t.Fatalf("no progress line on the terminal:\n%q", out)
	}
	lines := screen(out)
	for _, l := range lines[:len(lines)-1] {
		if strings.Contains(l, "restarts") {
			t.Errorf("the progress line stayed on screen or mixed with a log line: %q", l)
		}
	}
	if last := lines[len(lines)-1]; last != "" {
		t.Errorf("last line %q, want the progress line cleared", last)
	}
	if !strings.Contains(out, `msg="stream ended"`) {
		t.Errorf("no end of stream logged:\n%q", out)
	}

	if out := onTTY(args("off.flv", "--progress=false")); strings.Contains(out, "restarts") || strings.Contains(out, "\x1b[K") {
		t.Errorf("progress drawn with --progress=false:\n%q", out)
	}

	piped := exec.Command(args("pipe.flv")[0], args("pipe.flv")[1:]...)
	piped.Env = childEnv(t.TempDir(), nextMarker(), nil)
	var stderr bytes.Buffer
	piped.Stderr = &stderr
	if err := piped.Run(); err != nil {
		t.Fatalf("piped: %v\n%s", err, stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "restarts") || strings.Contains(s, "\x1b[K") || !strings.Contains(s, "stream ended") {
		t.Errorf("with stderr piped, want the log alone:\n%q", s)
	}
}
