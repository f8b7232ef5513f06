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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// child is one running ffmpeg. It owns three goroutines: the runner, which
// starts the process and waits for it, and the two readers of its stdout
// (progress) and stderr (log), which the runner waits for after Wait, for
// at most outputGrace, so that nothing ffmpeg said is lost and nothing that
// outlives ffmpeg can hold the runner.
type child struct {
	cmd     *exec.Cmd
	log     *slog.Logger
	masker  *Masker
	started time.Time

	done    chan struct{} // closed once the process has been waited for
	waitErr error         // Wait's result; read only after done

	// Progress, written by the stdout reader, read by the supervisor.
	outTimeUS   atomic.Int64  // media time ffmpeg confirmed it muxed
	lastAdvance atomic.Int64  // nanoseconds after started of the last progress that moved
	publishing  atomic.Bool   // the first packet went out
	published   chan struct{} // closed when publishing turns true
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
	// The pipes are ours, not exec's: exec's Wait waits for every process
	// that holds their write ends, and a process that left ffmpeg's group
	// (a wrapper's grandchild) may hold them for ever.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	c := &child{cmd: cmd, log: log, masker: m, done: make(chan struct{}), ready: make(chan struct{}),
		published: make(chan struct{})}
	c.outTimeUS.Store(-1)
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(c.done)
		c.started = time.Now()
		err := cmd.Start()
		outW.Close() // ffmpeg has its own copies
		errW.Close()
		if err != nil {
			outR.Close()
			errR.Close()
			started <- err
			return
		}
		started <- nil
		ended := make(chan struct{}, 2)
		go func() { c.readProgress(outR); ended <- struct{}{} }()
		go func() { c.readLog(errR); ended <- struct{}{} }()
		c.waitErr = cmd.Wait()
		awaitReaders(ended, outputGrace, outR, errR)
	}()
	if err := <-started; err != nil {
		<-c.done
		return nil, err
	}
	return c, nil
}

// outputGrace is how long ffmpeg's output is read on after it exited. What
// ffmpeg wrote is in the pipes by then and is read at once; only a process
// that outlived it can keep the pipes open longer.
const outputGrace = 2 * time.Second

// awaitReaders waits for the two readers to report on ended, closing their
// files after grace to end their reads, and closes the files.
func awaitReaders(ended <-chan struct{}, grace time.Duration, files ...*os.File) {
	t := time.NewTimer(grace)
	defer t.Stop()
	for n := 0; n < 2; {
		select {
		case <-ended:
			n++
		case <-t.C:
			for _, f := range files {
				f.Close()
			}
		}
	}
	for _, f := range files {
		f.Close()
	}
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
	sc, lines := newLineScanner(r, "\n")
	var frame, size, outUS int64 = -1, -1, -1
	var lastFrame, lastSize, lastOut int64 = -1, -1, -1
	reported := false
	for sc.Scan() {
		if lines.cut {
			continue // no key=value line is that long
		}
		key, val, ok := bytes.Cut(bytes.TrimSuffix(sc.Bytes(), []byte("\r")), []byte("="))
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
					close(c.published)
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
	sc, lines := newLineScanner(r, "\r\n")
	for sc.Scan() {
		text := sc.Bytes()
		if lines.cut {
			text = cutLine(text)
		}
		line := strings.TrimSpace(c.masker.Mask(string(text)))
		if lines.cut {
			line += " [line cut]"
		}
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

// maxLine is the longest line of ffmpeg's output read whole. ffmpeg's lines
// are far shorter; a longer one is cut, and the lines after it are read on.
const maxLine = 64 << 10

// maxCutLine is how much of a line longer than maxLine is logged.
const maxCutLine = 1 << 10

// lineSplitter is a bufio.SplitFunc state that splits on any byte of delims
// and cuts lines longer than limit: their first limit bytes are returned
// (cut is then set), and the rest, up to the next delimiter, is dropped.
// bufio.ScanLines, by contrast, stops the Scanner at a line past its buffer.
type lineSplitter struct {
	delims   string
	limit    int
	skipping bool // in the dropped rest of a long line
	cut      bool // the last line returned was cut
}

func (s *lineSplitter) split(data []byte, atEOF bool) (int, []byte, error) {
	s.cut = false
	i := bytes.IndexAny(data, s.delims)
	switch {
	case s.skipping && i >= 0:
		s.skipping = false
		return i + 1, nil, nil
	case s.skipping:
		return len(data), nil, nil
	case i >= 0:
		return i + 1, data[:i], nil
	case len(data) >= s.limit:
		s.skipping, s.cut = true, true
		return len(data), data[:s.limit], nil
	case atEOF && len(data) > 0:
		return len(data), data, nil
	}
	return 0, nil, nil
}

// newLineScanner scans r by lines ending in any byte of delims, of at most
// maxLine bytes; the splitter tells which lines were cut.
func newLineScanner(r io.Reader, delims string) (*bufio.Scanner, *lineSplitter) {
	ls := &lineSplitter{delims: delims, limit: maxLine}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	sc.Split(ls.split)
	return sc, ls
}

// cutLine shortens a cut line to maxCutLine bytes, at a space, so that no
// word is split: a secret cut in two would no longer be found by the Masker.
func cutLine(b []byte) []byte {
	b = b[:min(len(b), maxCutLine)]
	if i := bytes.LastIndexAny(b, " \t"); i >= 0 {
		return b[:i]
	}
	return nil
}

// newCommand builds the exec.Cmd for one ffmpeg run. Cancelling ctx sends
// SIGINT, on which ffmpeg finishes the output and exits; if it has not
// exited after stopTimeout, os/exec kills it.
func newCommand(ctx context.Context, ffmpeg string, args []string, stopTimeout time.Duration) *exec.Cmd {
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	cmd.Cancel = func() error { return interrupt(cmd.Process) }
	cmd.WaitDelay = stopTimeout
	cmd.Env = append(childEnv(os.Environ()), "AV_LOG_FORCE_NOCOLOR=1")
	setProcAttr(cmd)
	return cmd
}

// secretEnv names the variables that can carry a secret to livepush; ffmpeg
// needs none of them, and its environment would be one more place to read
// them from.
var secretEnv = []string{"LIVEPUSH_OUTPUT", "LIVEPUSH_CONTROL_TOKEN"}

// childEnv is env without the variables of secretEnv.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(secretEnv, name) {
			out = append(out, kv)
		}
	}
	return out
}

// interrupt sends ffmpeg one SIGINT, through its process group so that a
// wrapper's ffmpeg gets it too, and to the process alone only if it has no
// group. One, never two: ffmpeg counts the SIGINTs it has handled, and from
// the second on it aborts its own I/O, trailer included ("Immediate exit
// requested"). Two sent back to back usually merge into one pending signal,
// but not when ffmpeg runs in between, and then the file is left empty or
// without its trailer.
func interrupt(p *os.Process) error { return interruptVia(p, signalGroup) }

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
