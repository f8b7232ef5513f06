package orchestrator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OutputState is where one output of several is.
type OutputState int32

const (
	OutputStarting OutputState = iota // its ffmpeg is connecting
	OutputUp                          // its ffmpeg is sending media out
	OutputDown                        // failed; waiting to start again
	OutputStopped                     // the stream ended, or it was stopped
	OutputFailed                      // given up: a failure no restart mends
)

func (s OutputState) String() string {
	switch s {
	case OutputStarting:
		return "starting"
	case OutputUp:
		return "up"
	case OutputDown:
		return "down"
	case OutputStopped:
		return "stopped"
	case OutputFailed:
		return "failed"
	}
	return fmt.Sprintf("OutputState(%d)", int32(s))
}

// OutputStatus is a snapshot of one output of several.
type OutputStatus struct {
	URL        string // masked
	State      OutputState
	Since      time.Time // when it last went up; zero while it is not up
	Reconnects int       // restarts of its ffmpeg so far
	BytesSent  int64     // FLV given to its ffmpeg, init tags included
	// Delay is how far what its ffmpeg confirmed is behind the newest
	// encoded media; it grows while the output is down.
	Delay     time.Duration
	LastError string // masked; "" if it never failed
}

// probeEvery is how often a down output's server is tried with a TCP
// connect, so that it is started again as soon as its server is back.
const probeEvery = 200 * time.Millisecond

// relay is one output of several: a supervised ffmpeg that copies the FLV
// the hub gives it to its destination, fed by its own writer goroutine.
type relay struct {
	sup    *Supervisor
	n      int // from 1, in the order given: masked URLs can be alike
	output string
	masked string
	log    *slog.Logger

	state      atomic.Int32
	since      atomic.Int64 // Unix nanoseconds; 0 while not up
	reconnects atomic.Int64
	bytes      atomic.Int64
	confirmed  atomic.Int64 // hub timestamp its ffmpeg confirmed, ms; -1 none
	owed       atomic.Int64 // ms its viewers are behind what it sent, from a resume
	lastErr    atomic.Pointer[string]
}

func newRelay(s *Supervisor, n int, output string) *relay {
	r := &relay{sup: s, n: n, output: output, masked: s.cfg.Masker.Mask(output)}
	r.log = s.cfg.Logger.With("output", r.masked, "output_n", n)
	r.confirmed.Store(-1)
	return r
}

func (r *relay) status() OutputStatus {
	st := OutputStatus{URL: r.masked, State: OutputState(r.state.Load()), Reconnects: int(r.reconnects.Load()),
		BytesSent: r.bytes.Load()}
	if ns := r.since.Load(); ns != 0 && st.State == OutputUp {
		st.Since = time.Unix(0, ns)
	}
	if e := r.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	if live, c := r.sup.hub.live(), r.confirmed.Load(); live >= 0 {
		st.Delay = time.Duration(live-max(c, 0)+r.owed.Load()) * time.Millisecond
	}
	return st
}

func (r *relay) setState(st OutputState) { r.state.Store(int32(st)) }

// relayRun is how one relay ffmpeg ended.
type relayRun struct {
	err       error // nil: the hub ended and everything was written
	fatal     bool  // no restart mends it
	up        time.Duration
	confirmed int64 // hub timestamp confirmed, ms; -1 none
	// planned: the session ended for a planned reconnect, cleanly; the
	// next starts at next.
	planned bool
	next    int64
}

// run supervises the relay until the hub ends or ctx is done: each failed
// ffmpeg is started again after a backoff that a server's return cuts
// short, resuming where its viewers left off.
func (r *relay) run(ctx context.Context) {
	cfg := r.sup.cfg
	delay := cfg.RestartDelay
	resume := int64(-1) // hub timestamp to resume at; -1: at the newest keyframe
	next := int64(-1)   // where a planned reconnect goes on; -1: none
	for n := 1; ; n++ {
		r.setState(OutputStarting)
		seq := next
		if seq < 0 {
			seq = r.startSeq(resume)
		}
		res := r.runOnce(ctx, n, seq)
		next = -1
		if res.confirmed >= 0 {
			resume = res.confirmed - cfg.ResumeMargin.Milliseconds()
		}
		wasUp := r.since.Swap(0) != 0
		if res.planned && ctx.Err() == nil {
			r.reconnects.Add(1)
			next = res.next
			if wasUp {
				r.sup.notifyOutput(EventOutputDown, r, "planned reconnect")
			}
			r.log.Info("output reconnecting as planned", "attempt", n, "after", res.up.Round(time.Second))
			continue
		}
		switch {
		case res.err == nil || ctx.Err() != nil:
			r.setState(OutputStopped)
			if wasUp {
				r.sup.notifyOutput(EventOutputDown, r, "")
			}
			r.log.Info("output finished")
			return
		}
		msg := cfg.Masker.Mask(res.err.Error())
		r.lastErr.Store(&msg)
		if wasUp {
			r.sup.notifyOutput(EventOutputDown, r, msg)
		}
		if res.fatal {
			r.setState(OutputFailed)
			r.log.Error("output failed, not retried", "error", msg)
			return
		}
		if res.up >= cfg.StableAfter {
			delay = cfg.RestartDelay
		}
		r.setState(OutputDown)
		r.reconnects.Add(1)
		wait := jitter(delay)
		delay = min(2*delay, cfg.RestartMaxDelay)
		r.log.Warn("output down, restarting it alone", "attempt", n, "error", msg, "retry_in", wait.Round(time.Millisecond))
		if !r.backoff(ctx, wait, connectFailed(msg)) {
			r.setState(OutputStopped)
			r.log.Info("output stopped while down: the stream ended")
			return
		}
	}
}

// backoff waits d, or less: while it waits, the server is tried every
// probeEvery, and once it answers after having been seen away the wait
// ends. down says the failure already showed it away. It reports false
// when the stream ended meanwhile.
func (r *relay) backoff(ctx context.Context, d time.Duration, down bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	addr := probeAddr(r.output)
	var probe <-chan time.Time
	if addr != "" {
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		probe = tick.C
	}
	for {
		select {
		case <-t.C:
			return true
		case <-r.sup.hub.done:
			return false
		case <-ctx.Done():
			return false
		case <-probe:
			conn, err := net.DialTimeout("tcp", addr, probeEvery)
			if err != nil {
				down = true
				continue
			}
			conn.Close()
			if down {
				r.log.Info("output's server answers again: restarting it now")
				return true
			}
		}
	}
}

// connectFailed reports ffmpeg errors that say the server could not be
// reached at all. Only these let the first probe that connects end the
// backoff: a server that answers and then refuses (a wrong key) must be
// retried with the whole backoff, not at the probe's pace.
func connectFailed(msg string) bool {
	for _, s := range []string{"Connection refused", "No route to host", "Network is unreachable", "Connection timed out"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// probeAddr is the host:port a TCP connect tries for output, or "" where
// none tells (files, and SRT over UDP).
func probeAddr(output string) string {
	u, err := url.Parse(output)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	switch strings.ToLower(u.Scheme) {
	case "rtmp":
		port = cmp.Or(port, "1935")
	case "rtmps":
		port = cmp.Or(port, "443")
	default:
		return ""
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// startSeq is where a relay starts: the keyframe at or before resume, or
// the newest keyframe when it never was on air or the hub no longer keeps
// that far back.
func (r *relay) startSeq(resume int64) int64 {
	h := r.sup.hub
	if resume < 0 {
		return h.newestKey()
	}
	if seq, ok := h.keyAt(resume); ok {
		return seq
	}
	r.log.Warn("the kept media does not reach back to where the output left off: rejoining at the newest keyframe",
		"missed_from", time.Duration(resume)*time.Millisecond, "kept_bytes", h.limit)
	return h.newestKey()
}

// runOnce starts one relay ffmpeg fed from seq on and supervises it.
func (r *relay) runOnce(ctx context.Context, n int, seq int64) relayRun {
	cfg, log := r.sup.cfg, r.log
	res := relayRun{confirmed: -1}
	dir, err := newPipeDir()
	if err != nil {
		res.err, res.fatal = err, true
		return res
	}
	defer dir.remove()
	out := Output(r.output).segment(n - 1)
	target := Target{Output: out, TLS: cfg.TLS}
	if kf, ok := splitSecret(out); ok {
		if target.KeyFile, err = dir.writeKeyFile(kf.body); err != nil {
			res.err, res.fatal = err, true
			return res
		}
		target.Output = kf.url
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		res.err = err
		return res
	}
	cmd := newCommand(ctx, r.sup.ffmpeg, RelayArgs(target), cfg.StopTimeout)
	cmd.Stdin = pr
	c, err := startChild(cmd, log, cfg.Masker)
	pr.Close()
	if err != nil {
		pw.Close()
		res.err, res.fatal = fmt.Errorf("start ffmpeg: %w", err), ctx.Err() == nil
		return res
	}
	log.Info("output ffmpeg started", "attempt", n, "pid", c.pid())

	w := &relayWriter{hub: r.sup.hub, relay: r, stop: c.done, catchUp: cfg.Live}
	if every := cfg.ReconnectEvery; every > 0 {
		w.due = time.Now().Add(every)
		w.hardDue = w.due.Add(plannedDelay(every))
	}
	w.start.Store(-1)
	w.last.Store(-1)
	written := make(chan error, 1)
	go func() {
		err := w.run(pw, seq)
		pw.Close() // EOF: ffmpeg finishes the output
		written <- err
	}()
	confirm := func() {
		if conf := c.confirmed(); conf >= 0 && w.start.Load() >= 0 {
			ts := min(w.hubAt(w.start.Load()+conf.Milliseconds()), w.last.Load())
			res.confirmed = ts
			r.confirmed.Store(ts)
		}
	}
	var (
		killed  error
		refused bool
		wErr    error
		wDone   = written
		publish = c.published
		abortC  = cfg.Abort
		upAt    time.Time
		ticker  = time.NewTicker(max(min(cfg.StaleTimeout/4, time.Second), time.Millisecond))
	)
	defer ticker.Stop()
	kill := func(why error) {
		if killed == nil {
			killed = why
		}
		c.kill()
	}
wait:
	for {
		select {
		case <-c.done:
			break wait
		case <-publish:
			publish = nil
			upAt = time.Now()
			r.since.Store(upAt.UnixNano())
			r.setState(OutputUp)
			log.Info("output up", "attempt", n)
			r.sup.notifyOutput(EventOutputUp, r, "")
		case wErr = <-wDone:
			wDone = nil
		case <-abortC:
			abortC = nil
			kill(errors.New("aborted"))
		case now := <-ticker.C:
			confirm()
			if msg := c.lastError(); !refused && invalidCommand(msg) {
				refused = true
				kill(fmt.Errorf("ffmpeg refused its command: %s", msg))
			}
			// Stale only while it has media to take: with nothing new to
			// send, ffmpeg has nothing to report either.
			adv := c.started.Add(time.Duration(c.lastAdvance.Load()))
			pending := w.busy.Load() || w.active.Load() > adv.UnixNano()
			if d := now.Sub(adv); d > cfg.StaleTimeout && pending {
				kill(fmt.Errorf("output made no progress for %v", d.Round(time.Second)))
			}
		}
	}
	if wDone != nil {
		wErr = <-wDone
	}
	confirm()
	if !upAt.IsZero() {
		res.up = time.Since(upAt)
	}
	exitErr := classify(c.waitErr, ctx.Err() != nil)
	switch {
	case killed != nil:
		res.err, res.fatal = killed, refused
	case exitErr != nil:
		res.err = fmt.Errorf("%w: %s", exitErr, orUnknown(c.lastError()))
		res.fatal = permanent(c.lastError(), out, cfg.Live)
	case errors.Is(wErr, errPlanned):
		res.planned, res.next = true, w.next
	case !errors.Is(wErr, io.EOF) && ctx.Err() == nil:
		res.err = fmt.Errorf("output ffmpeg exited before the stream ended")
	}
	log.Debug("output ffmpeg exited", "pid", c.pid(), "status", describe(cmd.ProcessState), "error", res.err)
	return res
}

// relayWriter copies the hub's tags to one relay ffmpeg's stdin.
type relayWriter struct {
	hub   *hub
	relay *relay
	stop  <-chan struct{} // ffmpeg exited
	// start and last are the first and newest hub timestamps written, ms.
	start, last atomic.Int64
	active      atomic.Int64 // Unix nanoseconds when a write last began
	busy        atomic.Bool  // a write has not returned

	// catchUp leaves out stretches of silence while the output's viewers
	// are behind the live edge, by owed ms; offset is what has been left
	// out, and breaks where it grew, on the output's timeline.
	catchUp bool
	owed    int64
	offset  int64
	mu      sync.Mutex
	breaks  []tsBreak

	// A planned reconnect ends the session at the first keyframe after due
	// that follows minSilence of silence, or at the first after hardDue;
	// next is then where the next session starts. Zero: never.
	due, hardDue time.Time
	next         int64
}

// caughtUp is how close to the live edge, in ms, an output that catches
// up is said to have.
const caughtUp = 100

// tsBreak says that from output timestamp out on, the hub's is out+offset.
type tsBreak struct{ out, offset int64 }

// hubAt is the hub timestamp of output timestamp out.
func (w *relayWriter) hubAt(out int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	off := int64(0)
	for _, b := range w.breaks {
		if out >= b.out {
			off = b.offset
		}
	}
	return out + off
}

// errPlanned ends a writer for a planned reconnect.
var errPlanned = errors.New("planned reconnect")

// minSilence is how much silence precedes a planned reconnect's cut, so
// that it falls between words.
const minSilence = 500

// silentAAC reports an AAC frame of digital silence: ffmpeg's encoder
// makes them 4-6 bytes, while even a -60 dB tone takes over 30.
func silentAAC(t *flvTag) bool { return len(t.data)-2 <= 16 }

// plannedDelay is how long a planned reconnect waits for silence at most.
func plannedDelay(every time.Duration) time.Duration { return min(every/4, 10*time.Minute) }

// relayBatch is how much FLV is gathered before it is written.
const relayBatch = 32 << 10

// run writes the FLV header, the init tags and the tags from seq on until
// the hub ends (io.EOF), a write fails, or ffmpeg exits.
func (w *relayWriter) run(out io.Writer, seq int64) error {
	w.start.Store(-1)
	buf := append(make([]byte, 0, 2*relayBatch), flvHeader...)
	var cur *flvInit
	var tags []hubTag
	// held is a stretch from a keyframe in silence that may be left out,
	// kept until the next keyframe tells whether it all was silent.
	var held []hubTag
	silentFrom, media := int64(-1), false
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		w.active.Store(time.Now().UnixNano())
		w.busy.Store(true)
		n, err := out.Write(buf)
		w.busy.Store(false)
		w.relay.bytes.Add(int64(n))
		buf = buf[:0]
		return err
	}
	emit := func(t hubTag) {
		if w.catchUp && !media {
			w.owed = max(0, w.hub.live()-t.ts)
			w.relay.owed.Store(w.owed)
		}
		media = true
		ts := t.ts - w.offset
		if t.init != cur {
			for _, it := range t.init.tags() {
				if cur == nil || it.kind != flvScript && it != cur.video && it != cur.audio {
					buf = appendTag(buf, it, ts)
				}
			}
			cur = t.init
		}
		buf = appendTag(buf, t.flvTag, ts)
		if s := w.start.Load(); s < 0 || ts < s {
			w.start.Store(ts)
		}
		w.last.Store(max(w.last.Load(), t.ts))
	}
	// release ends a held stretch at keyframe next: left out if it was all
	// silence and fits in what is owed, else written as it is.
	release := func(next int64) {
		d := next - held[0].ts
		silent := d <= w.owed
		for _, h := range held {
			silent = silent && (h.kind != flvAudio || silentAAC(h.flvTag))
		}
		if !silent {
			for _, h := range held {
				emit(h)
			}
			held = held[:0]
			return
		}
		// Viewers are behind: the silence is left out, and what follows
		// moves back in its place.
		w.offset += d
		if w.owed -= d; w.owed < caughtUp && w.owed+d >= caughtUp {
			w.relay.log.Info("output caught up with the live edge", "silence_left_out",
				time.Duration(w.offset)*time.Millisecond)
		}
		w.relay.owed.Store(w.owed)
		w.mu.Lock()
		w.breaks = append(w.breaks, tsBreak{out: next - w.offset, offset: w.offset})
		w.mu.Unlock()
		held = held[:0]
	}
	for {
		var wait <-chan struct{}
		var err error
		tags, wait, err = w.hub.read(seq, tags[:0], 256)
		switch {
		case errors.Is(err, errBehind):
			next := w.hub.newestKey()
			w.relay.log.Warn("output fell behind the kept media: cut, rejoining at the newest keyframe",
				"skipped_tags", next-seq)
			seq, held = next, held[:0]
			continue
		case errors.Is(err, io.EOF):
			for _, h := range held {
				emit(h)
			}
			if err := flush(); err != nil {
				return err
			}
			return io.EOF
		case wait != nil:
			if err := flush(); err != nil {
				return err
			}
			select {
			case <-wait:
			case <-w.stop:
				return errors.New("ffmpeg exited")
			}
			continue
		}
		now := time.Now()
		for i, t := range tags {
			key := t.kind == flvVideo && t.key
			if len(held) > 0 && key {
				release(t.ts)
			}
			if t.kind == flvAudio {
				if !silentAAC(t.flvTag) {
					silentFrom = -1
				} else if silentFrom < 0 {
					silentFrom = t.ts
				}
			}
			if len(held) > 0 {
				held = append(held, t)
				continue
			}
			if !w.due.IsZero() && media && key && now.After(w.due) &&
				(silentFrom >= 0 && t.ts-silentFrom >= minSilence || now.After(w.hardDue)) {
				w.next = seq + int64(i)
				if err := flush(); err != nil {
					return err
				}
				return errPlanned
			}
			if w.catchUp && media && key && w.owed >= caughtUp && silentFrom >= 0 && t.ts-silentFrom >= minSilence {
				held = append(held, t)
				continue
			}
			emit(t)
		}
		seq += int64(len(tags))
		if len(buf) >= relayBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// RelayArgs returns the arguments of an output's ffmpeg: FLV from stdin,
// copied, to the target: FLV for rtmp and rtmps, MPEG-TS for srt, a file in
// the container its extension names.
func RelayArgs(t Target) []string {
	args := []string{
		"-hide_banner", "-nostdin", "-nostats",
		"-loglevel", "level+warning",
		"-progress", "pipe:1", "-stats_period", "0.5",
		"-y",
		// The hub's FLV starts with both sequence headers: without
		// these, ffmpeg reads 1.6 s of input to guess the frame rate
		// before it opens the output.
		"-f", "flv", "-fpsprobesize", "0", "-analyzeduration", "100000", "-i", "pipe:0",
		// The picture and the sound only: with -map 0 the metadata's data
		// stream, which has no packets, held the muxer's interleaving for
		// its 10 s limit, so a returning output's media began that late.
		"-map", "0:v", "-map", "0:a", "-c", "copy",
	}
	format, _ := outputFormat(t.Output)
	args = append(args, "-f", format)
	args = append(args, muxerOptions(format)...)
	if Output(t.Output).IsURL() && format == "flv" {
		args = append(args, "-flvflags", "no_duration_filesize")
	}
	if isRTMPS(t.Output) {
		verify := "1"
		if t.TLS.Insecure {
			verify = "0"
		}
		args = append(args, "-tls_verify", verify)
		if t.TLS.CAFile != "" {
			args = append(args, "-ca_file", t.TLS.CAFile)
		}
	}
	if t.KeyFile != "" {
		args = append(args, "-fpre", t.KeyFile)
	}
	return append(args, t.Output)
}
