package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/speech"
	"github.com/livepush/livepush/orchestrator/talk"
)

// Config describes a live stream: the supervisor's settings (ffmpeg, the
// output, the encoding, restarts, logging), of which New sets Video, Audio,
// Realtime, Live, Frames and Notify itself, and what live mode adds.
type Config struct {
	orchestrator.Config

	// Image is the picture on air at the start; ImageName says what it
	// came from, for Status.
	Image     *frames.Frame
	ImageName string
	// Talk, if set, shows on the frames whose audio is speech (the mouth
	// open), and Blink for a moment every few seconds; see package talk.
	Talk, Blink *frames.Frame
	Detector    talk.DetectorConfig
	// Fit is how SetImageFile's pictures meet the frame.
	Fit frames.Fit
	// MaxQueue bounds the speech still to air, and so any one clip
	// (10 minutes).
	MaxQueue time.Duration
	// PushBuffer bounds the bytes of pushed frames waiting to air (64 MiB,
	// and at least one frame); Push blocks beyond it.
	PushBuffer int64
}

// Stream is a live stream: the supervised ffmpeg, fed the queued speech
// (silence between clips) and the picture of the moment, at the same pace
// whether anything is said or not.
type Stream struct {
	cfg       Config
	sup       *orchestrator.Supervisor
	queue     *speech.Queue
	face      *talk.Avatar
	imageName atomic.Pointer[string] // what the idle picture came from
	pushed    *pushQueue
	bus       bus
	// Set on the pacing path, for Status and Frame.
	level      atomic.Uint64 // math.Float64bits of the last frame's audio level
	lastPushed atomic.Pointer[frames.Frame]
	onAir      atomic.Pointer[frames.Frame]
	closed     chan struct{} // closed when the stream stops or ends
	close      sync.Once

	// The content clock: when speech starts after silence, the wall time
	// and the queue's media time; the gap that opens between the two (an
	// outage, a replay) is how far the stream is behind the live edge. One
	// pointer, so that Status never reads the wall time of one start with
	// the media time of another; nil until a clip has started.
	anchor  atomic.Pointer[anchor]
	lastEnd atomic.Int64 // media nanoseconds where the last clip ended; -1: none yet

	decoding sync.Mutex // held while a clip or a picture is decoded

	mu      sync.Mutex
	cancel  context.CancelFunc // of the running stream; nil before Run
	stopped bool               // Stop was called (before or during Run)
	ended   bool               // Run returned
	started time.Time
}

// New checks cfg and prepares the stream. It starts nothing.
func New(cfg Config) (*Stream, error) {
	if cfg.Image == nil {
		return nil, fmt.Errorf("%w: live: a picture to start with is needed", orchestrator.ErrInvalidConfig)
	}
	if len(cfg.Image.Pix) != cfg.Encoding.FrameBytes() {
		return nil, fmt.Errorf("%w: live: the picture is %dx%d, the stream %dx%d", orchestrator.ErrInvalidConfig,
			cfg.Image.Width, cfg.Image.Height, cfg.Encoding.Width, cfg.Encoding.Height)
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 10 * time.Minute
	}
	if cfg.PushBuffer <= 0 {
		cfg.PushBuffer = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Masker == nil {
		outputs := cfg.Outputs
		if len(outputs) == 0 {
			outputs = []string{cfg.Output}
		}
		cfg.Masker = orchestrator.MaskerFor(outputs, false)
	}
	s := &Stream{cfg: cfg, pushed: newPushQueue(cfg.PushBuffer), closed: make(chan struct{})}
	s.lastEnd.Store(-1)
	e := cfg.Encoding
	face, err := talk.New(talk.Config{Width: e.Width, Height: e.Height, FPS: e.FPS, Idle: cfg.Image,
		Talk: cfg.Talk, Blink: cfg.Blink, Detector: cfg.Detector})
	if err != nil {
		return nil, fmt.Errorf("%w: live: %w", orchestrator.ErrInvalidConfig, err)
	}
	s.face = face
	s.imageName.Store(&cfg.ImageName)
	s.onAir.Store(cfg.Image)
	s.level.Store(math.Float64bits(SilenceDBFS))
	q, err := speech.New(speech.Config{
		SampleRate: cfg.Encoding.SampleRate,
		Channels:   cfg.Encoding.Channels,
		MaxQueued:  cfg.MaxQueue,
		OnEvent:    s.speechEvent,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: live: %w", orchestrator.ErrInvalidConfig, err)
	}
	s.queue = q
	pair := orchestrator.NewPair(cfg.Encoding, s.makeFrame)
	sc := cfg.Config
	sc.Realtime, sc.Live, sc.Frames = true, true, 0
	sc.Video, sc.Audio, sc.Notify = pair.Video(), pair.Audio(), s.supervisorEvent
	s.sup, err = orchestrator.New(sc)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Run streams until ctx is done, Stop is called, or the supervisor gives
// up. It returns nil after a stop.
func (s *Stream) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	if s.cancel != nil || s.ended {
		s.mu.Unlock()
		return errors.New("live: Run called twice")
	}
	s.cancel = cancel
	s.started = time.Now()
	if s.stopped {
		cancel()
	}
	s.mu.Unlock()

	events, unsubscribe := s.Subscribe()
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		s.logEvents(events)
	}()
	err := s.sup.Run(ctx)

	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.close.Do(func() { close(s.closed) })
	unsubscribe()
	<-logged
	s.bus.close()
	return err
}

// Stop ends the stream gracefully, as SIGTERM does: ffmpeg finishes the
// output. It returns at once; Run returns when the stream has ended.
func (s *Stream) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.cancel != nil {
		s.cancel()
	}
	s.close.Do(func() { close(s.closed) })
}

// SpeakFile queues the WAV at path (any format the file mode's --audio
// takes); with interrupt, what airs is cut and the queue cleared first.
func (s *Stream) SpeakFile(path string, interrupt bool) (Queued, error) {
	if err := s.open(); err != nil {
		return Queued{}, err
	}
	e := s.cfg.Encoding
	// One decode at a time: each may take hundreds of MB (a large picture),
	// and requests in parallel must not add them up.
	s.decoding.Lock()
	pcm, err := frames.DecodeWAV(path, e.SampleRate, e.Channels, s.cfg.MaxQueue)
	s.decoding.Unlock()
	if err != nil {
		if errors.Is(err, frames.ErrTooLong) {
			return Queued{}, fmt.Errorf("%w (--max-queue %v): %w", ErrTooLong, s.cfg.MaxQueue, err)
		}
		return Queued{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return s.SpeakPCM(pcm, interrupt)
}

// SpeakPCM queues s16le PCM at the stream's sample rate and channels; the
// queue takes pcm over. With interrupt, what airs is cut and the queue
// cleared first.
func (s *Stream) SpeakPCM(pcm []byte, interrupt bool) (Queued, error) {
	if err := s.open(); err != nil {
		return Queued{}, err
	}
	e := s.cfg.Encoding
	if d := time.Duration(len(pcm)/(2*e.Channels)) * time.Second / time.Duration(e.SampleRate); d > s.cfg.MaxQueue {
		return Queued{}, fmt.Errorf("%w: %v of speech, --max-queue %v", ErrTooLong, d, s.cfg.MaxQueue)
	}
	if interrupt {
		s.keepCut()
	}
	a, err := s.queue.Add(pcm, interrupt)
	switch {
	case errors.Is(err, ErrQueueFull):
		return Queued{}, err
	case err != nil:
		return Queued{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return Queued{ID: a.ID, Duration: a.Duration, Queued: a.Queued, StartsIn: a.StartsIn}, nil
}

// Interrupt cuts the clip on air, with a fade of a few milliseconds, and
// clears the queue. It reports whether there was anything to cut or clear.
func (s *Stream) Interrupt() bool {
	s.keepCut()
	return s.queue.Interrupt()
}

// keepCut keeps what has gone into the pipes so far from being sent again
// after a restart: speech being cut must not come back. The queue's own cut
// comes a chunk later; this holds even if ffmpeg dies before that chunk.
func (s *Stream) keepCut() {
	pos := s.sup.Status().Position
	s.sup.NoReplayBefore(int64(pos) * int64(s.cfg.Encoding.FPS) / int64(time.Second))
}

// Drop removes a queued clip, or cuts it if it is on air.
func (s *Stream) Drop(id string) error {
	if c := s.queue.Snapshot().Current; c != nil && c.ID == id {
		s.keepCut()
	}
	return s.queue.Remove(id)
}

// SetImageFile shows the picture at path from the next frame on, brought
// to the stream's size as Config.Fit says; name is what Status and the log
// call it ("": the file's name). Decoding happens here, in the caller's
// goroutine, never on the pacing path.
func (s *Stream) SetImageFile(path, name string) error {
	return s.SetPictureFile(talk.Idle, path, name)
}

// SetImage shows f, a frame of the stream's size, from the next frame on.
// f must not be changed afterwards: the last seconds of frames are kept to
// be sent again after a restart.
func (s *Stream) SetImage(f *frames.Frame, name string) error {
	return s.SetPicture(talk.Idle, f, name)
}

// SetPictureFile is SetImageFile for the picture of a role: the idle one
// (the image), the one shown while speech plays, or the blink.
func (s *Stream) SetPictureFile(role talk.Role, path, name string) error {
	if err := s.open(); err != nil {
		return err
	}
	e := s.cfg.Encoding
	s.decoding.Lock()
	f, err := frames.LoadImage(path, e.Width, e.Height, s.cfg.Fit)
	s.decoding.Unlock()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if name == "" {
		name = filepath.Base(path)
	}
	return s.SetPicture(role, f, name)
}

// SetPicture is SetImage for the picture of a role; a nil f turns the
// talking or the blinking picture off. Setting the idle picture ends
// pushed frames: what was pushed and has not aired is dropped.
func (s *Stream) SetPicture(role talk.Role, f *frames.Frame, name string) error {
	if err := s.face.Set(role, f); err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if role == talk.Idle {
		s.imageName.Store(&name)
		s.pushed.clear()
		s.lastPushed.Store(nil)
	}
	s.bus.publish(Event{Kind: ImageChanged, Time: time.Now(), Media: s.queue.Snapshot().Media, Role: role.String(), Image: name})
	return nil
}

// Frame is the picture on air now: the image set last, or the last pushed
// frame. It must not be changed.
func (s *Stream) Frame() *frames.Frame { return s.onAir.Load() }

// open reports ErrStopped once the stream is stopping or has ended.
func (s *Stream) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.ended {
		return ErrStopped
	}
	return nil
}

// Status is a snapshot of the stream; safe from any goroutine.
func (s *Stream) Status() Status {
	sup := s.sup.Status()
	q := s.queue.Snapshot()
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	st := Status{
		State: stateName(sup.State, q.Speaking || len(q.Queue) > 0),
		// What went out, replays included: it never steps back, as a
		// restart's position does.
		Media:      orchestrator.Duration(sup.Frames, s.cfg.Encoding.FPS),
		Restarts:   sup.Restarts,
		Speaking:   q.Speaking,
		Output:     s.cfg.Masker.Mask(s.cfg.Output),
		Drift:      sup.Drift,
		LastError:  sup.LastError,
		Publishing: sup.Publishing,
		ClipsAired: q.Aired,
		Frames:     sup.Frames,
		Bytes:      sup.Bytes,
		Image:      *s.imageName.Load(),
		Showing:    s.face.Showing().String(),
		AudioLevel: math.Float64frombits(s.level.Load()),
		Outputs:    s.sup.Outputs(),
	}
	if s.lastPushed.Load() != nil {
		st.Showing = "pushed"
	}
	if !started.IsZero() {
		st.Uptime = time.Since(started)
	}
	if q.Current != nil {
		st.Current = &Clip{ID: q.Current.ID, Duration: q.Current.Duration, Elapsed: q.Current.Elapsed}
	}
	st.QueueTime = 0 // what waits, not what airs
	for _, c := range q.Queue {
		st.Queue = append(st.Queue, Clip{ID: c.ID, Duration: c.Duration})
		st.QueueTime += c.Duration
	}
	if a := s.anchor.Load(); q.Speaking && a != nil {
		st.BehindLive = max(0, time.Since(a.wall)-(q.Media-a.media))
	}
	return st
}

// stateName names the supervisor's state the way a live stream's user
// sees it: while ffmpeg runs, the stream is speaking or idle.
func stateName(st orchestrator.State, speaking bool) string {
	switch {
	case st == orchestrator.StateRunning && speaking:
		return "speaking"
	case st == orchestrator.StateRunning:
		return "idle"
	}
	return st.String()
}

// Subscribe returns the stream's events from now on. The channel is closed
// when the stream ends or the returned func is called. A subscriber that
// falls far behind loses events rather than hold the stream up.
func (s *Stream) Subscribe() (<-chan Event, func()) { return s.bus.subscribe() }

// speechEvent is the queue's report, from the audio writer (the pacing
// path): it only notes and publishes.
func (s *Stream) speechEvent(e speech.Event) {
	ev := Event{Time: time.Now(), ID: e.ID, Media: e.Media}
	switch e.Kind {
	case speech.Started:
		ev.Kind = SpeechStarted
		// A clip that follows another at once goes on with its clock; one
		// that breaks a silence starts it again.
		if int64(e.Media) != s.lastEnd.Load() {
			s.anchor.Store(&anchor{wall: ev.Time, media: e.Media})
		}
	case speech.Finished:
		ev.Kind = SpeechFinished
		s.lastEnd.Store(int64(e.Media))
	case speech.Cut:
		ev.Kind = SpeechCut
		s.lastEnd.Store(int64(e.Media))
		// The frame whose audio holds the cut: a restart resumes no earlier.
		s.sup.NoReplayBefore(int64(e.Media) * int64(s.cfg.Encoding.FPS) / int64(time.Second))
	case speech.Dropped:
		ev.Kind = SpeechDropped
	default:
		return
	}
	s.bus.publish(ev)
}

// supervisorEvent is the supervisor's report of a state or a restart.
func (s *Stream) supervisorEvent(e orchestrator.Event) {
	ev := Event{Time: time.Now(), Media: s.sup.Status().Position}
	switch {
	case e.Kind == orchestrator.EventOutputUp:
		ev.Kind, ev.Output, ev.OutputN = OutputUp, e.Output, e.OutputN
	case e.Kind == orchestrator.EventOutputDown:
		ev.Kind, ev.Output, ev.OutputN, ev.Error = OutputDown, e.Output, e.OutputN, e.Err
	case e.Restart:
		ev.Kind, ev.Error = Restart, e.Err
	default:
		ev.Kind, ev.State = StateChanged, e.State.String()
	}
	s.bus.publish(ev)
}

// logEvents writes one line per event: the log never runs on the pacing
// path, where a slow stderr would hold the stream up.
func (s *Stream) logEvents(events <-chan Event) {
	log := s.cfg.Logger
	for e := range events {
		switch e.Kind {
		case SpeechStarted:
			log.Info("speech started", "id", e.ID, "at", e.Media.Round(time.Millisecond))
		case SpeechFinished:
			log.Info("speech finished", "id", e.ID, "at", e.Media.Round(time.Millisecond))
		case SpeechCut:
			log.Info("speech cut", "id", e.ID, "at", e.Media.Round(time.Millisecond))
		case SpeechDropped:
			log.Info("speech dropped from the queue", "id", e.ID)
		case ImageChanged:
			log.Info("image changed", "role", e.Role, "image", e.Image, "at", e.Media.Round(time.Millisecond))
		case StateChanged:
			log.Info("state", "state", e.State)
		}
	}
}

// anchor is where the content clock was set: a wall time and the media
// time that aired then.
type anchor struct {
	wall  time.Time
	media time.Duration
}
