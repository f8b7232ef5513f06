package live

import (
	"errors"
	"time"

	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/speech"
)

// Errors of the control methods; each is checked with errors.Is.
var (
	// ErrNotFound: no queued or airing clip has that id. It is the speech
	// queue's own, whose errors already say so.
	ErrNotFound = speech.ErrNotFound
	// ErrQueueFull: the clip would take the queue past Config.MaxQueue.
	ErrQueueFull = speech.ErrFull
	// ErrTooLong: one clip is longer than the whole queue may hold, so it
	// can never be taken, however long the caller waits.
	ErrTooLong = errors.New("clip longer than the queue holds")
	// ErrBadInput wraps what is wrong with a clip or an image that cannot
	// be used: not a WAV, not an image, empty, too large a picture.
	ErrBadInput = errors.New("bad input")
	// ErrStopped: the stream has ended and takes nothing more.
	ErrStopped = errors.New("stream stopped")
)

// Queued is the answer to a clip put in the queue.
type Queued struct {
	ID       string        `json:"id"`
	Duration time.Duration `json:"-"`
	// Queued is all the speech still to air, this clip included.
	Queued time.Duration `json:"-"`
	// StartsIn is how long until the clip goes on air, as far as the queue
	// knows (what is on air and queued before it).
	StartsIn time.Duration `json:"-"`
}

// Clip is a clip on air or in the queue.
type Clip struct {
	ID       string
	Duration time.Duration
	Elapsed  time.Duration // how much of it has been sent; 0 while queued
}

// Status is a snapshot of a live stream.
type Status struct {
	// State is one of "starting", "idle", "speaking", "restarting",
	// "stopping", "stopped", "failed".
	State      string
	Uptime     time.Duration
	Media      time.Duration // media sent since the stream began, replays included
	BehindLive time.Duration // how far the stream's content is behind the wall clock
	Restarts   int
	Speaking   bool
	Current    *Clip  // nil while idle
	Queue      []Clip // waiting, in order
	QueueTime  time.Duration
	Output     string // masked
	Drift      time.Duration
	LastError  string // masked
	Publishing bool   // ffmpeg is sending media out
	ClipsAired int    // clips that finished or were cut
	Frames     int64  // video frames written into the pipe
	Bytes      int64  // bytes written into both pipes
	Image      string // what the idle picture came from
	// Showing is the picture on air: "idle", "talk", "blink" or "pushed".
	Showing string
	// Outputs is each output's status when the stream has several (in the
	// order given, URLs masked); nil with one.
	Outputs []orchestrator.OutputStatus
	// AudioLevel is the RMS level of the audio written last, one frame's
	// worth, in dBFS; SilenceDBFS in silence.
	AudioLevel float64
}

// Event kinds.
const (
	SpeechStarted  = "speech_started"
	SpeechFinished = "speech_finished"
	SpeechCut      = "speech_cut"
	SpeechDropped  = "speech_dropped" // removed from the queue before it aired
	ImageChanged   = "image_changed"
	StateChanged   = "state"
	Restart        = "restart"
	OutputUp       = "output_up"   // one output of several went on air
	OutputDown     = "output_down" // one output of several went off air
)

// Event is one thing that happened to a live stream.
type Event struct {
	Kind  string
	Time  time.Time     // wall clock
	ID    string        // the clip, for speech events
	Media time.Duration // media time of the stream when it happened
	State string        // for StateChanged
	Role  string        // for ImageChanged: "idle", "talk" or "blink"
	Image string        // for ImageChanged: what the picture came from
	Error string        // masked, for Restart and OutputDown
	// Output is the output an OutputUp or OutputDown is about, masked, and
	// OutputN its number from 1, in the order given.
	Output  string
	OutputN int
}
