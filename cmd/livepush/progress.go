package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/live"
)

// progressInfo is what the progress line shows at one moment.
type progressInfo struct {
	State    string
	Media    time.Duration // media time sent
	Drift    time.Duration
	Restarts int
	// Speech is set in live mode only: a file's audio is all speech.
	Speech *speechInfo
}

// speechInfo is a live stream's speech: on air or not, and what waits.
type speechInfo struct {
	Speaking  bool
	Queued    int
	QueueTime time.Duration
}

// fileProgress is what a file-mode stream shows.
func fileProgress(st orchestrator.Status) progressInfo {
	return progressInfo{State: st.State.String(), Media: st.Position, Drift: st.Drift, Restarts: st.Restarts}
}

// liveProgress is what a live stream shows.
func liveProgress(st live.Status) progressInfo {
	return progressInfo{
		State: st.State, Media: st.Media, Drift: st.Drift, Restarts: st.Restarts,
		Speech: &speechInfo{Speaking: st.Speaking, Queued: len(st.Queue), QueueTime: st.QueueTime},
	}
}

// String is the line: "running  00:12:34.5  drift 2ms  speaking (3 queued,
// 12.4 s)  restarts 1".
func (p progressInfo) String() string {
	parts := []string{p.State, clock(p.Media), "drift " + max(0, p.Drift).Round(time.Millisecond).String()}
	if sp := p.Speech; sp != nil {
		s := "idle"
		if sp.Speaking {
			s = "speaking"
		}
		if sp.Queued > 0 {
			s += fmt.Sprintf(" (%d queued, %.1f s)", sp.Queued, sp.QueueTime.Seconds())
		}
		parts = append(parts, s)
	}
	parts = append(parts, fmt.Sprintf("restarts %d", p.Restarts))
	return strings.Join(parts, "  ")
}

// clock formats d as hh:mm:ss.d, cut to tenths.
func clock(d time.Duration) string {
	d = max(0, d)
	tenths := int64(d / (100 * time.Millisecond))
	return fmt.Sprintf("%02d:%02d:%02d.%d", tenths/36000, tenths/600%60, tenths/10%60, tenths%10)
}

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// progressPeriod is how often the line is redrawn.
const progressPeriod = 500 * time.Millisecond

// progress draws a one-line status at the bottom of a terminal. Log lines
// go through its Write, which takes the status line off before a log line
// and puts it back after, each in a single write, so they never mix.
// Disabled, it passes writes through and draws nothing.
type progress struct {
	on bool
	mu sync.Mutex
	w  io.Writer
	// line is on screen, after the last log line; "" if none.
	line string
}

func newProgress(w io.Writer, on bool) *progress { return &progress{w: w, on: on} }

// Write writes a log line (or several) under the status line.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.line == "" {
		return p.w.Write(b)
	}
	buf := make([]byte, 0, len(clearLine)+len(b)+len(p.line))
	buf = append(append(buf, clearLine...), b...)
	if len(b) > 0 && b[len(b)-1] == '\n' {
		buf = append(buf, p.line...)
	} else {
		p.line = "" // the cursor is not at a line's start: draw anew next time
	}
	if _, err := p.w.Write(buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

// draw replaces the status line with s; "" clears it.
func (p *progress) draw(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == "" && p.line == "" {
		return
	}
	io.WriteString(p.w, clearLine+s)
	p.line = s
}

// start redraws what status returns every progressPeriod, from one
// goroutine, until stop is called; stop waits for it and clears the line.
// Disabled, start does nothing.
func (p *progress) start(status func() progressInfo) (stop func()) {
	if !p.on {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(progressPeriod)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw(status().String())
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
			p.draw("")
		})
	}
}

// showProgress reports whether the line is drawn: on stderr a terminal,
// with text logs, unless --progress=false.
func showProgress(stderr io.Writer, enabled bool, logFormat string) bool {
	return enabled && logFormat == "text" && isTerminal(stderr)
}
