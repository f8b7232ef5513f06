package orchestrator

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// child is one running ffmpeg. It owns three goroutines: the runner, which
// starts the process and waits for it, and the two readers of its stdout
// (progress) and stderr (log), which the runner waits for before Wait so
// that nothing ffmpeg said is lost.
type child struct {
	cmd     *exec.Cmd
	log     *slog.Logger
	masker  *Masker
	started time.Time

	done    chan struct{} // closed once the process has been waited for
	waitErr error         // Wait's result; read only after done

	// Progress, written by the stdout reader, read by the supervisor.
	outTimeUS   atomic.Int64 // media time ffmpeg confirmed it muxed
	lastAdvance atomic.Int64 // nanoseconds after started of the last progress that moved
	publishing  atomic.Bool  // the first packet went out
	// ready is closed at the first progress report: ffmpeg has its output
	// open and its encoders started, and takes frames from now on.
	ready chan struct{}

	mu   sync.Mutex
	tail []string // ffmpeg's last error lines, masked
}

// tailLines is how many of ffmpeg's error lines are kept for the failure message.
const tailLines = 3

// startChild starts cmd (built by the caller with exec.CommandContext) and
// returns once the process runs. The OS thread that forks the child stays
// locked to the runner goroutine until the child has exited, because
// Pdeathsig fires when the thread that created the child ends, not the
// process (golang/go#27505).
func startChild(cmd *exec.Cmd, log *slog.Logger, m *Masker) (*child, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, log: log, masker: m, done: make(chan struct{}), ready: make(chan struct{})}
	c.outTimeUS.Store(-1)
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(c.done)
		c.started = time.Now()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		var readers sync.WaitGroup
		readers.Add(2)
		go func() { defer readers.Done(); c.readProgress(stdout) }()
		go func() { defer readers.Done(); c.readLog(stderr) }()
		readers.Wait()
		c.waitErr = cmd.Wait()
	}()
	if err := <-started; err != nil {
		<-c.done
		return nil, err
	}
	return c, nil
}

// kill ends the process at once. It is safe to call at any time, also after
// the process has exited.
func (c *child) kill() {
	if c.cmd.Process == nil {
		return
	}
	select {
	case <-c.done: // reaped: the group id may belong to someone else by now
	default:
		signalGroup(c.cmd.Process, syscall.SIGKILL)
	}
	c.cmd.Process.Kill()
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// sinceAdvance is how long ago ffmpeg last reported progress that moved.
func (c *child) sinceAdvance(now time.Time) time.Duration {
	return now.Sub(c.started) - time.Duration(c.lastAdvance.Load())
}

// confirmed is the media time ffmpeg reported as written out, or -1 if none.
func (c *child) confirmed() time.Duration {
	us := c.outTimeUS.Load()
	if us < 0 {
		return -1
	}
	return time.Duration(us) * time.Microsecond
}

// lastError returns ffmpeg's last error lines joined, or "".
func (c *child) lastError() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "; ")
}

// readProgress parses ffmpeg's -progress output: blocks of key=value lines,
// each ending with progress=continue or progress=end.
func (c *child) readProgress(r io.Reader) {
	sc := bufio.NewScanner(r)
	var frame, size, outUS int64 = -1, -1, -1
	var lastFrame, lastSize, lastOut int64 = -1, -1, -1
	reported := false
	for sc.Scan() {
		key, val, ok := bytes.Cut(sc.Bytes(), []byte("="))
		if !ok {
			continue
		}
		switch string(key) {
		case "frame":
			frame = parseInt(val)
		case "total_size":
			size = parseInt(val)
		case "out_time_us":
			outUS = parseInt(val)
		case "progress":
			if !reported {
				reported = true
				close(c.ready)
			}
			if frame > lastFrame || size > lastSize || outUS > lastOut {
				c.lastAdvance.Store(int64(time.Since(c.started)))
				lastFrame, lastSize = max(frame, lastFrame), max(size, lastSize)
			}
			if outUS > lastOut {
				lastOut = outUS
				c.outTimeUS.Store(outUS)
				if !c.publishing.Swap(true) {
					c.log.Info(progressMessage(c.cmd.Args), "pid", c.pid(), "after", time.Since(c.started).Round(time.Millisecond))
				}
			}
		}
	}
	io.Copy(io.Discard, r)
}

func parseInt(b []byte) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// readLog relays ffmpeg's stderr into the log, masked. Warnings are logged
// as warnings; errors are kept for the one line that reports the failure,
// and logged only at debug level so a failure is not reported twice.
func (c *child) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	sc.Split(scanLines)
	for sc.Scan() {
		line := strings.TrimSpace(c.masker.Mask(sc.Text()))
		if line == "" {
			continue
		}
		switch {
		case strings.Contains(line, "Thread message queue blocking"):
			// ffmpeg reads faster than it encodes: expected when rendering
			// unpaced, and nothing a user can act on.
			c.log.Debug("ffmpeg: "+stripLevel(line), "pid", c.pid())
		case strings.Contains(line, "[warning]"):
			c.log.Warn("ffmpeg: "+stripLevel(line), "pid", c.pid())
		case strings.Contains(line, "[error]"), strings.Contains(line, "[fatal]"), strings.Contains(line, "[panic]"):
			c.log.Debug("ffmpeg: "+stripLevel(line), "pid", c.pid())
			c.mu.Lock()
			c.tail = append(c.tail, stripLevel(line))
			if len(c.tail) > tailLines {
				c.tail = c.tail[1:]
			}
			c.mu.Unlock()
		default:
			c.log.Debug("ffmpeg: "+line, "pid", c.pid())
		}
	}
	io.Copy(io.Discard, r)
}

func stripLevel(line string) string {
	for _, l := range []string{"[warning] ", "[error] ", "[fatal] ", "[panic] "} {
		line = strings.Replace(line, l, "", 1)
	}
	return line
}

// scanLines splits on \n and on \r, which ffmpeg uses for status lines.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// newCommand builds the exec.Cmd for one ffmpeg run. Cancelling ctx sends
// SIGINT, on which ffmpeg finishes the output and exits; if it has not
// exited after stopTimeout, os/exec kills it.
func newCommand(ctx context.Context, ffmpeg string, args []string, stopTimeout time.Duration) *exec.Cmd {
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	cmd.Cancel = func() error { return interrupt(cmd.Process) }
	cmd.WaitDelay = stopTimeout
	cmd.Env = append(os.Environ(), "AV_LOG_FORCE_NOCOLOR=1")
	setProcAttr(cmd)
	return cmd
}

// interrupt sends ffmpeg one SIGINT, through its process group so that a
// wrapper's ffmpeg gets it too, and to the process alone only if it has no
// group. One, never two: ffmpeg counts the SIGINTs it has handled, and from
// the second on it aborts its own I/O, trailer included ("Immediate exit
// requested"). Two sent back to back usually merge into one pending signal,
// but not when ffmpeg runs in between: then a stop that came before ffmpeg
// had filled its first 32 KiB output buffer left an empty FLV (seen once in
// an end-to-end test on a loaded machine; ffmpeg 5.1.9 alone, given a second
// SIGINT 2 s into a file output, left a broken file in 3 runs of 3).
func interrupt(p *os.Process) error { return interruptVia(p, signalGroup) }

// signalGroup signals ffmpeg's process group (ffmpeg leads it: Setpgid), so
// that a wrapper's ffmpeg child is reached too, not only the wrapper.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}

// interruptVia is interrupt with the group signal sent by group.
func interruptVia(p *os.Process, group func(*os.Process, syscall.Signal) error) error {
	if group(p, syscall.SIGINT) != nil {
		return p.Signal(os.Interrupt)
	}
	return nil
}

// describe says how a process ended, for errors.
func describe(state *os.ProcessState) string {
	if state == nil {
		return "did not start"
	}
	return fmt.Sprint(state)
}
