package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrFFmpegNotFound reports that the ffmpeg program could not be found.
var ErrFFmpegNotFound = errors.New("ffmpeg not found")

// State is where the supervisor is in the life of a stream.
type State int32

const (
	StateStarting   State = iota // an ffmpeg is being started
	StateRunning                 // ffmpeg confirmed it is writing out
	StateRestarting              // ffmpeg failed; waiting to start the next one
	StateStopping                // input done or stop asked: ffmpeg is finishing
	StateStopped                 // done, cleanly
	StateFailed                  // gave up
)

func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateRunning:
		return "running"
	case StateRestarting:
		return "restarting"
	case StateStopping:
		return "stopping"
	case StateStopped:
		return "stopped"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Config describes one stream. Zero durations take the defaults named.
type Config struct {
	FFmpeg   string // program name or path; "ffmpeg" if empty
	Output   string // rtmp:// or rtmps:// URL, or a file path (.flv, .mp4, ...)
	TLS      TLS    // how an rtmps server is checked
	Encoding Encoding
	// Outputs, with two or more, replaces Output: the media is encoded once
	// into a hub, and each output gets its own ffmpeg that copies it,
	// restarted alone when it fails.
	Outputs []string
	// HubBytes bounds the encoded media kept for outputs that fall behind
	// or come back (DefaultHubBytes).
	HubBytes int
	// ReconnectEvery, if set, ends each output's publish session after this
	// long and starts a new one at once, at a keyframe in silence when one
	// comes soon: for ingests that end a broadcast after a while. Even one
	// output then goes through the hub.
	ReconnectEvery time.Duration
	// Realtime paces frames to the wall clock; without it ffmpeg is fed as
	// fast as it reads (rendering to a file).
	Realtime bool

	Video VideoSource
	Audio AudioSource
	// Frames is how many frames the stream lasts; 0 streams until ctx is done.
	Frames int64

	StaleTimeout    time.Duration // no progress for this long kills ffmpeg (10s)
	RestartDelay    time.Duration // first delay before a restart (500ms)
	RestartMaxDelay time.Duration // cap of the exponential backoff (5s)
	StableAfter     time.Duration // a run this long resets the backoff (30s)
	MaxRestarts     int           // 0: unlimited
	StopTimeout     time.Duration // grace for ffmpeg to finish after a stop (5s)
	// ResumeMargin is how much of what ffmpeg confirmed is sent again after a
	// restart, for what was still in flight to the server (1s).
	ResumeMargin time.Duration
	// ReplayWindow is how much media is kept to feed a restarted ffmpeg (30s).
	ReplayWindow time.Duration
	// ReplayBytes bounds the memory of the video frames kept for that
	// (256 MiB): the window then shrinks for moving video (at 1280x720,
	// about 3.9 s), while a still picture costs one frame.
	ReplayBytes int64

	// Abort, when closed, ends a graceful stop at once: ffmpeg is killed.
	Abort <-chan struct{}

	// Live streams without end and writes audio a chunk a wake-up instead
	// of in blocks, so that a change of what is said (an interrupt) is at
	// most one chunk ahead of the wall clock.
	Live bool
	// Notify, if set, is told of every change of state and every restart,
	// from the goroutine that runs Run, and of each output of several going
	// up or down, from that output's goroutine; one call at a time. It must
	// return quickly.
	Notify func(Event)

	Logger *slog.Logger // nil: discard
	Masker *Masker      // nil: mask the Output's secrets
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.StaleTimeout, 10*time.Second)
	def(&c.RestartDelay, 500*time.Millisecond)
	def(&c.RestartMaxDelay, 5*time.Second)
	def(&c.StableAfter, 30*time.Second)
	def(&c.StopTimeout, 5*time.Second)
	def(&c.ResumeMargin, time.Second)
	def(&c.ReplayWindow, 30*time.Second)
	if c.ReplayBytes == 0 {
		c.ReplayBytes = 256 << 20
	}
	c.RestartDelay = min(c.RestartDelay, c.RestartMaxDelay)
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if len(c.Outputs) == 1 && c.Output == "" {
		c.Output = c.Outputs[0]
	}
	if c.ReconnectEvery > 0 && len(c.Outputs) == 0 && c.Output != "" {
		c.Outputs = []string{c.Output}
	}
	if c.Masker == nil {
		c.Masker = NewMasker(c.Output, false)
		if c.multi() {
			c.Masker = MaskerFor(c.Outputs, false)
		}
	}
}

// Supervisor runs ffmpeg for one stream, restarting it on failure.
type Supervisor struct {
	cfg          Config
	ffmpeg       string // resolved path
	video, audio *track
	state        atomic.Int32

	// For Status, from any goroutine.
	started  atomic.Int64 // Unix nanoseconds when Run began; 0: not yet
	restarts atomic.Int64
	lastErr  atomic.Pointer[string] // masked
	pace     atomic.Pointer[pacer]  // the current ffmpeg's
	cur      atomic.Pointer[child]  // the current ffmpeg
	noReplay atomic.Int64           // frames before this are never replayed

	// With several outputs: the encoded media, and one relay per output.
	hub      *hub
	relays   []*relay
	notifyMu sync.Mutex // Notify is called by one goroutine at a time
}

// Event is a change in the life of a stream, for Config.Notify.
type Event struct {
	Kind    EventKind
	Output  string // EventOutputUp and EventOutputDown: the output, masked
	OutputN int    // and its number, from 1, in the order given
	State   State  // the state entered; for an output's event, the stream's state
	Restart bool   // ffmpeg failed and will be started again
	Attempt int    // the ffmpeg run it concerns, from 1
	Err     string // why ffmpeg failed, masked; "" if it did not
}

// Status is a snapshot of a running stream.
type Status struct {
	State    State
	Started  time.Time // when Run began; zero before
	Restarts int       // ffmpeg restarts so far
	// Position is the media time of the next frame to go into the pipes;
	// after a restart it steps back to what is replayed.
	Position time.Duration
	// Publishing: the current ffmpeg has sent media out.
	Publishing bool
	// Drift is how far the writers are behind their deadlines now.
	Drift     time.Duration
	LastError string // masked; "" if ffmpeg never failed
	// Frames and Bytes count what went into the pipes, replays included:
	// video frames, and the bytes of both pipes.
	Frames, Bytes int64
}

// New checks cfg and finds ffmpeg. It starts nothing.
func New(cfg Config) (*Supervisor, error) {
	cfg.setDefaults()
	if err := cfg.Encoding.Validate(); err != nil {
		return nil, err
	}
	if err := validateOutputs(cfg); err != nil {
		return nil, err
	}
	if cfg.Video == nil || cfg.Audio == nil {
		return nil, fmt.Errorf("%w: a video and an audio source are needed", ErrInvalidConfig)
	}
	if cfg.Frames < 0 || cfg.MaxRestarts < 0 || cfg.ReplayBytes < 0 {
		return nil, fmt.Errorf("%w: negative frame, restart or byte count", ErrInvalidConfig)
	}
	for _, d := range []time.Duration{cfg.StaleTimeout, cfg.RestartDelay, cfg.RestartMaxDelay, cfg.StopTimeout, cfg.ReplayWindow} {
		if d < 0 {
			return nil, fmt.Errorf("%w: negative duration %v", ErrInvalidConfig, d)
		}
	}
	path, err := exec.LookPath(cfg.FFmpeg)
	if err != nil {
		return nil, fmt.Errorf("%w: tried %q (install it with 'apt-get install ffmpeg', or name it with --ffmpeg or LIVEPUSH_FFMPEG)", ErrFFmpegNotFound, cfg.FFmpeg)
	}
	// The window must also outlast the frames a full pipe holds: spliced
	// frames are read by ffmpeg straight from their memory.
	videoPipe := videoPipeSize(cfg.Encoding.FrameBytes())
	window := max(int(cfg.ReplayWindow*time.Duration(cfg.Encoding.FPS)/time.Second), 2*cfg.Encoding.FPS,
		videoPipe/cfg.Encoding.FrameBytes()+2)
	s := &Supervisor{
		cfg:    cfg,
		ffmpeg: path,
		video:  newTrack("video", window, videoFill(cfg.Video, cfg.Encoding.FrameBytes(), cfg.Encoding.FPS)),
		audio:  newTrack("audio", window, audioFill(cfg.Audio, cfg.Encoding, cfg.Logger)),
	}
	s.video.splice = true
	s.video.pipeSize = videoPipe
	s.video.maxBytes = cfg.ReplayBytes
	s.video.minUnits = int64(videoPipe/cfg.Encoding.FrameBytes() + 2)
	s.audio.batch = audioBatch(cfg.Encoding.FPS)
	if cfg.Live {
		s.audio.batch = 1
		s.cfg.Frames = 0
	}
	s.audio.pipeSize = defaultPipeSize
	if cfg.Realtime {
		s.audio.pipeSize = audioPipeSize(cfg.Encoding.SampleRate * 2 * cfg.Encoding.Channels)
	}
	// One block for every audio slot up front, so that no chunk allocates,
	// not even while the ring fills during the first ReplayWindow. It is
	// not touched here: faulting it all in would add to start-up, which is
	// what counts when many streams start at once (bench.sh's scale rows);
	// in the ring the pages cost the same, spread over the first window.
	chunk := cfg.Encoding.MaxChunkBytes()
	backing := make([]byte, window*chunk)
	for i := range s.audio.ring {
		s.audio.ring[i] = backing[i*chunk : i*chunk : (i+1)*chunk]
	}
	if cfg.multi() {
		s.hub = newHub(cfg.HubBytes)
		for i, o := range cfg.Outputs {
			s.relays = append(s.relays, newRelay(s, i+1, o))
		}
	}
	s.state.Store(int32(StateStarting))
	return s, nil
}

// State reports the current state; it is safe to call from any goroutine.
func (s *Supervisor) State() State { return State(s.state.Load()) }

// allowed lists every change of state a supervisor makes, in one place:
//
//	starting   -> running     ffmpeg sent its first media out
//	starting   -> stopping    a stop, or the input ended, before that
//	running    -> stopping    a stop, or the input ended
//	starting, running, stopping
//	           -> restarting  ffmpeg failed, or made no progress, and is started again
//	           -> stopped     ffmpeg finished the output
//	           -> failed      a failure no restart mends, or restarts ran out
//	restarting -> starting    the wait before the next ffmpeg is over
//	restarting -> stopped     a stop during that wait
//
// stopped and failed are final.
func allowed(from, to State) bool {
	switch from {
	case StateStarting:
		return to != StateStarting
	case StateRunning, StateStopping:
		return to == StateStopping || to == StateRestarting || to == StateStopped || to == StateFailed
	case StateRestarting:
		return to == StateStarting || to == StateStopped
	}
	return false
}

// setState moves to st if allowed says so; staying is no change. Another
// change is a bug: it is refused and logged, and the state stays.
func (s *Supervisor) setState(st State) {
	old := s.State()
	if old == st {
		return
	}
	if !allowed(old, st) || !s.state.CompareAndSwap(int32(old), int32(st)) {
		s.cfg.Logger.Error("state change refused: a bug in livepush", "from", old, "to", st)
		return
	}
	s.cfg.Logger.Debug("state", "from", old, "to", st)
	s.notify(Event{State: st})
}

func (s *Supervisor) notify(e Event) {
	if s.cfg.Notify != nil {
		s.notifyMu.Lock()
		defer s.notifyMu.Unlock()
		s.cfg.Notify(e)
	}
}

// NoReplayBefore keeps a restarted ffmpeg from being fed again the frames
// before frame, for a live stream whose speech was cut there: viewers must
// not hear again what was cut. Safe from any goroutine; the latest frame
// given wins, and it never moves back.
func (s *Supervisor) NoReplayBefore(frame int64) {
	for {
		old := s.noReplay.Load()
		if frame <= old || s.noReplay.CompareAndSwap(old, frame) {
			return
		}
	}
}

// Status reports where the stream is; it is safe to call from any goroutine.
func (s *Supervisor) Status() Status {
	st := Status{State: s.State(), Restarts: int(s.restarts.Load())}
	if ns := s.started.Load(); ns != 0 {
		st.Started = time.Unix(0, ns)
	}
	if e := s.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	st.Frames = s.video.units.Load()
	st.Bytes = s.video.bytes.Load() + s.audio.bytes.Load()
	next := min(s.video.sent.Load(), s.audio.sent.Load())
	st.Position = s.mediaTime(next)
	if p := s.pace.Load(); p != nil && p.realtime && p.started.Load() > 0 {
		st.Drift = max(0, time.Since(p.deadline(next)))
	}
	if c := s.cur.Load(); c != nil {
		st.Publishing = c.publishing.Load() && st.State == StateRunning
	}
	return st
}

// DryRunCommand is the command line Run would start first, with placeholder
// pipe paths and the output's secrets masked unless the Masker shows them.
// The key stays in the URL, so that the printed command runs as it is; Run
// gives it to ffmpeg in a private file instead, to the same effect.
func DryRunCommand(ffmpeg string, e Encoding, t Target, m *Masker) string {
	dir := filepath.Join(os.TempDir(), "livepush-XXXXXXXX")
	t.KeyFile = ""
	args := append([]string{ffmpeg}, Args(e, filepath.Join(dir, "video"), filepath.Join(dir, "audio"), t)...)
	// Mask before quoting, so the masked words are quoted as they are printed.
	for i, a := range args {
		args[i] = m.Mask(a)
	}
	return ShellQuote(args)
}

// Run streams until the input ends, ctx is done, or restarts run out.
// Cancelling ctx stops gracefully: the pipes are closed so ffmpeg finishes
// the output, and ffmpeg is killed if it has not exited after StopTimeout.
// Run returns nil on a complete stream and on a stop; otherwise the last
// ffmpeg error.
func (s *Supervisor) Run(ctx context.Context) error {
	log := s.cfg.Logger
	s.started.Store(time.Now().UnixNano())
	removeStalePipeDirs(os.TempDir(), log)
	if s.hub != nil {
		defer s.startRelays()()
	}
	var (
		pos      int64 // first frame not yet confirmed by any ffmpeg
		restarts int
		delay    = s.cfg.RestartDelay
	)
	for attempt := 1; ; attempt++ {
		s.setState(StateStarting)
		r := s.runOnce(ctx, attempt, pos)
		if r.resume > pos {
			pos = r.resume
		}
		switch {
		case r.fatal != nil:
			msg := s.cfg.Masker.Mask(r.fatal.Error())
			s.lastErr.Store(&msg)
			s.setState(StateFailed)
			return r.fatal
		case r.err == nil:
			s.setState(StateStopped)
			if ctx.Err() != nil {
				log.Info("stream stopped", "at", s.mediaTime(r.written))
			} else {
				log.Info("stream ended", "duration", s.mediaTime(r.written))
			}
			return nil
		case ctx.Err() != nil:
			s.setState(StateStopped)
			log.Warn("stream stopped, but ffmpeg did not finish cleanly", "error", r.err)
			return nil
		}
		// A stable run starts the backoff and the count of failures in a
		// row anew: a stream that runs for days fails now and then.
		if r.ran >= s.cfg.StableAfter {
			delay = s.cfg.RestartDelay
			restarts = 0
		}
		restarts++
		msg := s.cfg.Masker.Mask(r.err.Error())
		s.lastErr.Store(&msg)
		if s.cfg.MaxRestarts > 0 && restarts > s.cfg.MaxRestarts {
			s.setState(StateFailed)
			return fmt.Errorf("ffmpeg failed %d times in a row, giving up: %w", restarts, r.err)
		}
		s.restarts.Add(1)
		wait := jitter(delay)
		log.Warn("ffmpeg failed, restarting", "attempt", attempt, "error", r.err,
			"retry_in", wait.Round(time.Millisecond), "resume_at", s.mediaTime(pos))
		delay = min(2*delay, s.cfg.RestartMaxDelay)
		s.setState(StateRestarting)
		s.notify(Event{State: StateRestarting, Restart: true, Attempt: attempt, Err: msg})
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			s.setState(StateStopped)
			log.Info("stream stopped while waiting to restart")
			return nil
		}
	}
}

// jitter spreads a delay over [d/2, d) so that many streams restarting at
// once do not reconnect in step.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func (s *Supervisor) mediaTime(frame int64) time.Duration { return Duration(frame, s.cfg.Encoding.FPS) }

// runOutcome is how one ffmpeg run ended.
type runOutcome struct {
	err     error         // why ffmpeg failed; nil: the stream is complete or stopped cleanly
	fatal   error         // a failure a restart cannot mend
	resume  int64         // the frame the next ffmpeg starts from
	written int64         // frames written to both pipes
	ran     time.Duration // how long this ffmpeg ran
}

// runOnce runs ffmpeg number n from frame from, in four steps: start the
// child, start the two pipe writers, watch them all until ffmpeg exits,
// and judge how the run ended.
func (s *Supervisor) runOnce(ctx context.Context, n int, from int64) runOutcome {
	pipes, err := newPipeDir()
	if err != nil {
		return runOutcome{fatal: err, resume: from}
	}
	defer pipes.remove()
	ff, early := s.startFFmpeg(ctx, n, from, pipes)
	if early != nil {
		return *early
	}
	w := s.startWriters(ctx, ff.c, from, pipes)
	defer w.abort(nil)
	seen := s.watch(ctx, ff.c, w)
	// ffmpeg has exited: writers blocked on its pipes are released.
	w.abort(errors.New("ffmpeg exited"))
	for len(seen.feeds) < 2 {
		seen.feeds = append(seen.feeds, <-w.results)
	}
	if ff.hub != nil {
		if err := ff.hub.wait(outputGrace); err != nil {
			s.cfg.Logger.Warn("the encoder's FLV could not be read to its end", "error", err)
		}
	}
	return s.judge(ctx, ff, w, seen, from)
}

// ffmpegRun is one started ffmpeg: its command, the child, what it writes
// to (the output, or the hub's pipe with several outputs) and, then, the
// hub's feed.
type ffmpegRun struct {
	cmd *exec.Cmd
	c   *child
	out string
	hub *hubFeed
}

// startFFmpeg builds the command of ffmpeg number n and starts it. A run
// that cannot start returns how it ended instead.
func (s *Supervisor) startFFmpeg(ctx context.Context, n int, from int64, pipes *pipeDir) (*ffmpegRun, *runOutcome) {
	cfg, log := s.cfg, s.cfg.Logger
	fatal := func(err error) (*ffmpegRun, *runOutcome) { return nil, &runOutcome{fatal: err, resume: from} }
	ff := &ffmpegRun{out: hubPipe}
	if s.hub != nil {
		hf, err := s.startHubFeed(s.mediaTime(from))
		if err != nil {
			return fatal(err)
		}
		ff.hub = hf
		ff.cmd = newCommand(ctx, s.ffmpeg, encoderArgs(cfg.Encoding, pipes.video, pipes.audio), cfg.StopTimeout)
		ff.cmd.ExtraFiles = []*os.File{hf.w}
	} else {
		ff.out = Output(cfg.Output).segment(n - 1)
		if n > 1 && !Output(cfg.Output).IsURL() {
			log.Info("continuing the output in a new file", "file", ff.out)
		}
		target := Target{Output: ff.out, TLS: cfg.TLS}
		if kf, ok := splitSecret(ff.out); ok {
			var err error
			if target.KeyFile, err = pipes.writeKeyFile(kf.body); err != nil {
				return fatal(err)
			}
			target.Output = kf.url
		}
		ff.cmd = newCommand(ctx, s.ffmpeg, Args(cfg.Encoding, pipes.video, pipes.audio, target), cfg.StopTimeout)
	}
	c, err := startChild(ff.cmd, log, cfg.Masker)
	if ff.hub != nil {
		ff.hub.w.Close() // the encoder has its own copy
	}
	if err != nil {
		if ff.hub != nil {
			ff.hub.wait(0)
		}
		if ctx.Err() != nil {
			// Stopped before ffmpeg could start (exec refuses a done context).
			return nil, &runOutcome{resume: from, written: from}
		}
		return fatal(fmt.Errorf("start ffmpeg: %w", err))
	}
	ff.c = c
	log.Info("ffmpeg started", "attempt", n, "pid", c.pid(), "from", s.mediaTime(from), "output", cfg.Masker.Mask(ff.out))
	s.cur.Store(c)
	return ff, nil
}

// writers are the two pipe writers of one run and the pacer they share.
type writers struct {
	pace    *pacer
	results chan feedResult
	// abort releases writers blocked on a pipe that ffmpeg no longer reads.
	abort context.CancelCauseFunc
}

// startWriters starts writing the video and the audio from frame from into
// the pipes of c.
func (s *Supervisor) startWriters(ctx context.Context, c *child, from int64, pipes *pipeDir) *writers {
	abort, cancel := context.WithCancelCause(context.Background())
	w := &writers{
		pace:    newPacer(time.Now(), from, s.cfg.Encoding.FPS, s.cfg.Realtime, c.done),
		results: make(chan feedResult, 2),
		abort:   cancel,
	}
	s.pace.Store(w.pace)
	for _, t := range []struct {
		path string
		tr   *track
	}{{pipes.video, s.video}, {pipes.audio, s.audio}} {
		go func() { w.results <- feed(ctx, abort, t.path, t.tr, from, s.cfg.Frames, w.pace) }()
	}
	return w
}

// watched is what watch saw of a run.
type watched struct {
	feeds   []feedResult // the writers that ended while ffmpeg ran
	killed  error        // why the supervisor killed ffmpeg; nil if it did not
	refused bool         // killed for an error no restart mends
}

// watch follows ffmpeg and the writers until ffmpeg exits: it starts the
// pacer's clock when ffmpeg is ready, enters running when it publishes,
// stopping on a stop or the input's end, and kills ffmpeg when a source
// fails, it refuses its command, it stalls, or the caller aborts.
func (s *Supervisor) watch(ctx context.Context, c *child, w *writers) watched {
	cfg := s.cfg
	var (
		seen    watched
		stopped = ctx.Done()
		ready   = c.ready
		publish = c.published
		abortC  = cfg.Abort
		ticker  = time.NewTicker(max(min(cfg.StaleTimeout/4, time.Second), time.Millisecond))
	)
	defer ticker.Stop()
	kill := func(why error) {
		if seen.killed == nil {
			seen.killed = why
		}
		c.kill()
	}
	for {
		select {
		case <-c.done:
			return seen
		case <-ready:
			ready = nil
			w.pace.begin(time.Now())
		case <-publish:
			publish = nil
			if s.State() == StateStarting {
				s.setState(StateRunning)
			}
		case r := <-w.results:
			seen.feeds = append(seen.feeds, r)
			if errors.Is(r.err, errSourceFailed) {
				kill(r.err)
			}
			if len(seen.feeds) == 2 && seen.killed == nil {
				s.setState(StateStopping)
			}
		case now := <-ticker.C:
			// ffmpeg 5.1 can hang on its input pipes after refusing its
			// options instead of exiting: a refusal is final at once.
			if msg := c.lastError(); !seen.refused && invalidCommand(msg) {
				seen.refused = true
				kill(fmt.Errorf("ffmpeg refused its command: %s", msg))
			}
			if d := c.sinceAdvance(now); d > cfg.StaleTimeout {
				kill(fmt.Errorf("ffmpeg made no progress for %v", d.Round(time.Second)))
			}
		case <-stopped:
			stopped = nil
			s.setState(StateStopping)
			// exec's WaitDelay kills only ffmpeg itself; end its group too.
			escalate := time.AfterFunc(cfg.StopTimeout, c.kill)
			defer escalate.Stop()
		case <-abortC:
			abortC = nil
			kill(errors.New("aborted"))
		}
	}
}

// judge says how a run ended: where the next starts, and whether ffmpeg
// failed, and if so whether a restart can mend it.
func (s *Supervisor) judge(ctx context.Context, ff *ffmpegRun, w *writers, seen watched, from int64) runOutcome {
	cfg, c := s.cfg, ff.c
	r := runOutcome{ran: time.Since(w.pace.base), written: min(seen.feeds[0].next, seen.feeds[1].next)}
	r.resume = s.resumeAt(c, from, r.written)
	complete := cfg.Frames > 0 && r.written == cfg.Frames
	for _, f := range seen.feeds {
		if errors.Is(f.err, errSourceFailed) {
			r.fatal = f.err
			return r
		}
	}
	exitErr := classify(c.waitErr, ctx.Err() != nil)
	switch {
	case seen.killed != nil:
		r.err = seen.killed
		if seen.refused {
			r.fatal = r.err
		}
	case exitErr != nil:
		r.err = fmt.Errorf("%w: %s", exitErr, orUnknown(c.lastError()))
		if certificateRefused(c.lastError()) {
			r.err = fmt.Errorf("%w: %w", ErrCertificate, r.err)
		}
		if permanent(c.lastError(), ff.out, cfg.Live) {
			r.fatal = r.err
		}
	case !complete && ctx.Err() == nil:
		r.err = fmt.Errorf("ffmpeg exited before the input ended (%d of %d frames written)", r.written, cfg.Frames)
	}
	if r.err == nil && complete {
		r.resume = cfg.Frames
	}
	cfg.Logger.Debug("ffmpeg exited", "pid", c.pid(), "status", describe(ff.cmd.ProcessState), "written", s.mediaTime(r.written),
		"confirmed", c.confirmed(), "error", r.err)
	return r
}

// resumeAt is where the next ffmpeg starts: what this one confirmed, less
// the margin, rounded down to a frame, but never before from, never past
// what was written, and never before what the tracks can replay.
func (s *Supervisor) resumeAt(c *child, from, written int64) int64 {
	conf := c.confirmed() - s.cfg.ResumeMargin
	at := from
	if conf > 0 {
		at = from + int64(conf)*int64(s.cfg.Encoding.FPS)/int64(time.Second)
	}
	if s.hub != nil {
		// The hub has all that this encoder wrote: go on after its last
		// frame, with nothing sent twice.
		at = from
		if v := s.hub.runVideo(); v >= 0 {
			at = from + (v*int64(s.cfg.Encoding.FPS)+500)/1000 + 1
		}
	}
	// What was cut on purpose is not sent again, however little ffmpeg
	// had confirmed of it.
	at = max(at, min(s.noReplay.Load(), written))
	at = min(at, written)
	if oldest := max(s.video.oldest(), s.audio.oldest()); at < oldest {
		s.cfg.Logger.Warn("replay window exceeded: some media is skipped", "from", s.mediaTime(at), "to", s.mediaTime(oldest))
		at = oldest
	}
	return at
}

func orUnknown(s string) string {
	if s == "" {
		return "no error message"
	}
	return s
}

// invalidConfig are ffmpeg 5.1's messages, whole lines, for a command line
// it can never accept: an unknown encoder, option or format, an option value
// the encoder refuses, an argument list it cannot parse. No restart mends
// them, in file or in live mode.
var invalidConfig = []*regexp.Regexp{
	regexp.MustCompile(`^Unknown encoder '[^']*'$`),
	regexp.MustCompile(`^Unrecognized option '[^']*'\.$`),
	regexp.MustCompile(`^Missing argument for option '[^']*'\.$`),
	regexp.MustCompile(`^Error splitting the argument list: .+$`),
	regexp.MustCompile(`^Error setting option \S+ to value .*\.$`),
	regexp.MustCompile(`^Error setting preset/tune .*\.$`),
	regexp.MustCompile(`^bad option '[^']*': '.*'$`),
	regexp.MustCompile(`^Requested output format '[^']*' is not a suitable output format$`),
	regexp.MustCompile(`^Unable to find a suitable output format for '.*'$`),
}

// fileErrors are the reasons ffmpeg 5.1 gives, as "PATH: reason", for an
// output file it cannot create; they count only for the output's own path.
var fileErrors = []string{"No such file or directory", "Permission denied", "Is a directory"}

// logContext matches the "[libx264 @ 0x55e5...] " prefixes of a line.
var logContext = regexp.MustCompile(`^(\[[^]]+ @ 0x[0-9a-f]+\] )+`)

// permanent reports whether msg, ffmpeg's last error lines joined by "; ",
// names a failure that no restart can mend. out is the output ffmpeg was
// given. A live stream retries anything but an invalid configuration: an
// output that is missing or refused now may come back.
func permanent(msg, out string, live bool) bool {
	if !live && certificateRefused(msg) {
		return true
	}
	if invalidCommand(msg) {
		return true
	}
	if live || Output(out).IsURL() {
		return false
	}
	for _, line := range errorLines(msg) {
		path, reason, ok := strings.Cut(line, ": ")
		if ok && path == out && slices.Contains(fileErrors, reason) {
			return true
		}
	}
	return false
}

// invalidCommand reports whether msg has one of the invalidConfig lines.
func invalidCommand(msg string) bool {
	for _, line := range errorLines(msg) {
		for _, re := range invalidConfig {
			if re.MatchString(line) {
				return true
			}
		}
	}
	return false
}

// errorLines splits lastError's lines and drops their context prefixes.
func errorLines(msg string) []string {
	lines := strings.Split(msg, "; ")
	for i, l := range lines {
		lines[i] = logContext.ReplaceAllString(strings.TrimSpace(l), "")
	}
	return lines
}
