// Package speech is the speech queue of live mode: an io.Reader of s16le
// PCM that never blocks and never ends. Clips air back to back, sample
// exact, with silence when the queue is empty; a cut fades the clip on air
// out within one read. It knows nothing of HTTP or of ffmpeg.
package speech

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Errors of the queue; each is checked with errors.Is.
var (
	ErrNotFound = errors.New("no such clip")
	ErrFull     = errors.New("speech queue full")
	ErrEmpty    = errors.New("clip has no samples")
	// ErrPartialFrame: the PCM ends inside a sample frame, so it cannot
	// be the s16le interleaved audio of the queue's channels.
	ErrPartialFrame = errors.New("clip is not a whole number of sample frames")
	ErrConfig       = errors.New("bad speech queue config")
)

const (
	defaultFade = 5 * time.Millisecond
	maxFade     = time.Second
	maxRate     = 768000
	maxChannels = 64

	// edgeTime is the fade given to a clip's start or end that does not
	// lie in silence, so that a join is no click: short enough to leave
	// speech alone, long enough to take a full-scale step down to a few
	// per cent.
	edgeTime = 2 * time.Millisecond

	// edgeQuiet is the loudest sample an edge may hold and still be left
	// as it is: a step this small (about -54 dBFS) cannot be heard, and
	// TTS audio, which starts and ends in silence, then comes through
	// bit for bit.
	edgeQuiet = 64
)

// Config sets up a Queue.
type Config struct {
	// SampleRate and Channels are those of the PCM taken by Add and given
	// by Read: s16le, interleaved.
	SampleRate, Channels int
	// MaxQueued refuses (ErrFull) a clip that would take the speech still
	// to air past it; 0 is no limit. The fade of a cut is not counted.
	MaxQueued time.Duration
	// Fade is how long a cut clip takes to fade out; 0 is 5 ms.
	Fade time.Duration
	// OnEvent, if set, is told what happens to every clip, in order and
	// never from two goroutines at once. It is called from Read, on the
	// pacing path, and from Add, Interrupt and Remove, so it must not
	// block; it may call the Queue's methods.
	OnEvent func(Event)
}

// EventKind says what happened to a clip.
type EventKind int

// Every clip gets exactly one of Finished, Cut or Dropped; Started comes
// before Finished or Cut.
const (
	Started  EventKind = iota + 1 // its first sample was read
	Finished                      // its last sample was read
	Cut                           // cut on air: it fades out from Media
	Dropped                       // removed before it aired
)

func (k EventKind) String() string {
	switch k {
	case Started:
		return "started"
	case Finished:
		return "finished"
	case Cut:
		return "cut"
	case Dropped:
		return "dropped"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing that happened to a clip.
type Event struct {
	Kind EventKind
	ID   string
	// Media is the media time of the queue's output when it happened:
	// the clip's first sample for Started, just after its last for
	// Finished, the first faded sample for Cut.
	Media time.Duration
}

// Added is the answer to Add.
type Added struct {
	ID       string
	Duration time.Duration
	// Queued is all the audio still to air, this clip included.
	Queued time.Duration
	// StartsIn is what airs before the clip: the clip on air, the clips
	// queued before it, and the fade of a cut.
	StartsIn time.Duration
}

// Clip is a clip on air or in the queue.
type Clip struct {
	ID       string
	Duration time.Duration
	Elapsed  time.Duration // read so far; 0 while queued
}

// Snapshot is the state of the queue at one moment.
type Snapshot struct {
	// Current is the clip on air, or the one that airs at the next Read;
	// nil when nothing does.
	Current  *Clip
	Queue    []Clip        // waiting after Current, in order
	Queued   time.Duration // all still to air, Current's rest included
	Media    time.Duration // read since the queue was made
	Speaking bool          // Current is set
	Aired    int           // clips that finished or were cut
}

// clip is a clip's PCM and how far it has been read.
type clip struct {
	id     string
	pcm    []byte // nil once it has finished, been cut or dropped
	pos    int    // bytes read; 0 until it airs
	frames int64
}

// Queue is the speech queue. Read is for one goroutine, the writer of the
// audio pipe; the other methods are safe from any goroutine.
type Queue struct {
	rate, fb  int // sample rate, bytes per frame
	maxQueued time.Duration
	onEvent   func(Event)
	fadeGain  []float32 // gain of each frame of a cut's fade
	edgeGain  []float32 // gain of the frames of a loud start; reversed at an end
	prefix    string    // of every id, random so that ids differ between queues

	mu      sync.Mutex
	clips   []*clip // clips[0] is on air (pos > 0) or airs at the next Read
	fade    []byte  // what is left to read of a cut's fade, in fadeBuf
	fadeBuf []byte  // a cut's faded audio, made when the cut is asked for
	media   int64   // frames read
	aired   int
	next    uint64 // counter of ids

	// Events are queued under mu in the order things happen, and handed
	// to OnEvent outside it by whichever call finds them.
	events, spare []Event
	draining      bool
}

// New returns an empty queue, which reads as silence.
func New(cfg Config) (*Queue, error) {
	switch {
	case cfg.SampleRate <= 0 || cfg.SampleRate > maxRate:
		return nil, fmt.Errorf("%w: sample rate %d, want 1 to %d", ErrConfig, cfg.SampleRate, maxRate)
	case cfg.Channels <= 0 || cfg.Channels > maxChannels:
		return nil, fmt.Errorf("%w: %d channels, want 1 to %d", ErrConfig, cfg.Channels, maxChannels)
	case cfg.MaxQueued < 0:
		return nil, fmt.Errorf("%w: negative MaxQueued %v", ErrConfig, cfg.MaxQueued)
	case cfg.Fade < 0 || cfg.Fade > maxFade:
		return nil, fmt.Errorf("%w: fade %v, want 0 to %v", ErrConfig, cfg.Fade, maxFade)
	}
	fade := cfg.Fade
	if fade == 0 {
		fade = defaultFade
	}
	var p [3]byte
	rand.Read(p[:]) // never fails (crypto/rand)
	q := &Queue{
		rate:      cfg.SampleRate,
		fb:        2 * cfg.Channels,
		maxQueued: cfg.MaxQueued,
		onEvent:   cfg.OnEvent,
		fadeGain:  fadeOut(framesOf(fade, cfg.SampleRate)),
		edgeGain:  fadeIn(framesOf(edgeTime, cfg.SampleRate)),
		prefix:    hex.EncodeToString(p[:]),
		events:    make([]Event, 0, 16),
		spare:     make([]Event, 0, 16),
	}
	q.fadeBuf = make([]byte, len(q.fadeGain)*q.fb)
	return q, nil
}

// framesOf is d in whole frames at rate, at least one.
func framesOf(d time.Duration, rate int) int {
	return max(1, int(math.Round(d.Seconds()*float64(rate))))
}

// fadeIn is a raised cosine rising over n frames; neither end is 0 or 1,
// so that every frame of it changes the audio and none is silenced.
func fadeIn(n int) []float32 {
	g := make([]float32, n)
	for i := range g {
		g[i] = float32(0.5 - 0.5*math.Cos(math.Pi*float64(i+1)/float64(n+1)))
	}
	return g
}

// fadeOut is fadeIn reversed.
func fadeOut(n int) []float32 {
	g := fadeIn(n)
	slices.Reverse(g)
	return g
}

// Add queues pcm, s16le at the queue's rate and channels, to air after
// what is queued; with interrupt it first cuts the clip on air and clears
// the queue, and the clip starts right after the cut's fade. The queue
// owns pcm from now on: it fades a start or an end that is not silent in
// place. A refused clip changes nothing.
func (q *Queue) Add(pcm []byte, interrupt bool) (Added, error) {
	if len(pcm) == 0 {
		return Added{}, ErrEmpty
	}
	if len(pcm)%q.fb != 0 {
		return Added{}, fmt.Errorf("%w: %d bytes, a frame takes %d", ErrPartialFrame, len(pcm), q.fb)
	}
	frames := int64(len(pcm) / q.fb)
	d := q.duration(frames)
	if q.maxQueued > 0 && d > q.maxQueued {
		return Added{}, fmt.Errorf("%w: the clip takes %v, at most %v", ErrFull, d.Round(time.Millisecond), q.maxQueued)
	}
	q.smoothEdges(pcm)

	q.mu.Lock()
	if !interrupt && q.maxQueued > 0 {
		if queued := q.duration(q.speechFrames()); queued+d > q.maxQueued {
			q.mu.Unlock()
			return Added{}, fmt.Errorf("%w: %v queued and the clip takes %v, at most %v",
				ErrFull, queued.Round(time.Millisecond), d.Round(time.Millisecond), q.maxQueued)
		}
	}
	if interrupt {
		q.clear()
	}
	before := q.speechFrames() + int64(len(q.fade)/q.fb)
	c := &clip{id: q.newID(), pcm: pcm, frames: frames}
	q.clips = append(q.clips, c)
	q.mu.Unlock()
	q.flush()
	return Added{ID: c.id, Duration: d, Queued: q.duration(before + frames), StartsIn: q.duration(before)}, nil
}

// Interrupt cuts the clip on air, which fades out from the next sample
// read, and drops the queue. It reports whether there was anything to cut
// or drop.
func (q *Queue) Interrupt() bool {
	q.mu.Lock()
	had := q.clear()
	q.mu.Unlock()
	q.flush()
	return had
}

// Remove drops the queued clip id, or cuts it if it is on air; the clips
// after it move up. It returns an error matching ErrNotFound for a clip
// that is not queued or on air (any more).
func (q *Queue) Remove(id string) error {
	q.mu.Lock()
	i := slices.IndexFunc(q.clips, func(c *clip) bool { return c.id == id })
	switch {
	case i < 0:
		q.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	case i == 0 && q.clips[0].pos > 0:
		q.cutHead()
	default:
		q.drop(q.clips[i])
		q.clips = slices.Delete(q.clips, i, i+1)
	}
	q.mu.Unlock()
	q.flush()
	return nil
}

// Read fills all of p with the audio on air, or silence, and returns
// len(p), nil: it never blocks on the producers, never ends and does not
// allocate. p should hold whole sample frames; a partial one at its end is
// silence.
func (q *Queue) Read(p []byte) (int, error) {
	q.mu.Lock()
	n := len(p) / q.fb * q.fb
	i := 0
	for i < n {
		switch {
		case len(q.fade) > 0:
			k := copy(p[i:n], q.fade)
			q.fade = q.fade[k:]
			i += k
		case len(q.clips) > 0:
			c := q.clips[0]
			if c.pos == 0 {
				q.emit(Started, c.id, q.media+int64(i/q.fb))
			}
			k := copy(p[i:n], c.pcm[c.pos:])
			c.pos += k
			i += k
			if c.pos == len(c.pcm) {
				q.emit(Finished, c.id, q.media+int64(i/q.fb))
				c.pcm = nil
				q.pop()
				q.aired++
			}
		default:
			clear(p[i:n])
			i = n
		}
	}
	clear(p[n:])
	q.media += int64(n / q.fb)
	pending := len(q.events) > 0
	q.mu.Unlock()
	if pending {
		q.flush()
	}
	return len(p), nil
}

// Snapshot returns the state of the queue.
func (q *Queue) Snapshot() Snapshot {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := Snapshot{
		Media:  q.duration(q.media),
		Aired:  q.aired,
		Queued: q.duration(q.speechFrames() + int64(len(q.fade)/q.fb)),
	}
	for i, c := range q.clips {
		cl := Clip{ID: c.id, Duration: q.duration(c.frames), Elapsed: q.duration(int64(c.pos / q.fb))}
		if i == 0 {
			s.Current = &cl
			continue
		}
		if s.Queue == nil {
			s.Queue = make([]Clip, 0, len(q.clips)-1)
		}
		s.Queue = append(s.Queue, cl)
	}
	s.Speaking = s.Current != nil
	return s
}

// clear cuts the clip on air and drops the rest; q.mu is held.
func (q *Queue) clear() bool {
	if len(q.clips) == 0 {
		return false
	}
	if q.clips[0].pos > 0 {
		q.cutHead()
	}
	for _, c := range q.clips {
		q.drop(c)
	}
	clear(q.clips)
	q.clips = q.clips[:0]
	return true
}

// cutHead cuts the clip on air: what the fade takes of it is faded into
// fadeBuf now, so that Read only copies, and its PCM is let go; q.mu is
// held. The fade ends early where the clip does.
func (q *Queue) cutHead() {
	c := q.clips[0]
	rest := c.pcm[c.pos:]
	n := min(len(rest), len(q.fadeBuf))
	buf := q.fadeBuf[:n]
	for i := 0; i < n; i += 2 {
		g := q.fadeGain[i/q.fb]
		v := float32(int16(binary.LittleEndian.Uint16(rest[i:])))
		binary.LittleEndian.PutUint16(buf[i:], uint16(int16(math.Round(float64(v*g)))))
	}
	q.fade = buf
	q.emit(Cut, c.id, q.media)
	c.pcm = nil
	q.pop()
	q.aired++
}

// drop lets a clip go that has not aired; q.mu is held.
func (q *Queue) drop(c *clip) {
	q.emit(Dropped, c.id, q.media)
	c.pcm = nil
}

// pop takes the first clip off the queue, leaving no reference to it.
func (q *Queue) pop() {
	q.clips[0] = nil
	q.clips = q.clips[1:]
}

// speechFrames is what is left of the clips on air and queued; q.mu is held.
func (q *Queue) speechFrames() int64 {
	var n int64
	for _, c := range q.clips {
		n += c.frames - int64(c.pos/q.fb)
	}
	return n
}

// newID returns an id no other clip of this queue has: short, URL-safe,
// and different from another queue's (a restarted stream's).
func (q *Queue) newID() string {
	q.next++
	return fmt.Sprintf("%s%06x", q.prefix, q.next)
}

// emit queues an event for OnEvent; q.mu is held.
func (q *Queue) emit(k EventKind, id string, media int64) {
	if q.onEvent != nil {
		q.events = append(q.events, Event{Kind: k, ID: id, Media: q.duration(media)})
	}
}

// flush hands the queued events to OnEvent, unless another call is doing
// so already: that one takes these too, so events keep their order, no
// call waits for another's OnEvent, and OnEvent may call back into q.
func (q *Queue) flush() {
	if q.onEvent == nil {
		return
	}
	q.mu.Lock()
	if q.draining {
		q.mu.Unlock()
		return
	}
	q.draining = true
	for len(q.events) > 0 {
		batch := q.events
		q.events = q.spare[:0]
		q.mu.Unlock()
		for _, e := range batch {
			q.onEvent(e)
		}
		clear(batch)
		q.mu.Lock()
		q.spare = batch[:0]
	}
	q.draining = false
	q.mu.Unlock()
}

// duration is n frames as media time, without the overflow of
// n*time.Second in a long run.
func (q *Queue) duration(n int64) time.Duration {
	r := int64(q.rate)
	return time.Duration(n/r)*time.Second + time.Duration(n%r)*time.Second/time.Duration(r)
}

// smoothEdges fades in the first edgeTime of pcm, and out the last, where
// they are not silent, so that a clip joins silence or another clip without
// a step. Silent edges are left alone.
func (q *Queue) smoothEdges(pcm []byte) {
	frames := len(pcm) / q.fb
	n := min(len(q.edgeGain), frames)
	if loud(pcm[:n*q.fb]) {
		for i := 0; i < n*q.fb; i += 2 {
			scale(pcm[i:], q.edgeGain[i/q.fb])
		}
	}
	if tail := pcm[len(pcm)-n*q.fb:]; loud(tail) {
		for i := 0; i < len(tail); i += 2 {
			scale(tail[i:], q.edgeGain[n-1-i/q.fb])
		}
	}
}

// loud reports whether any sample of b is louder than edgeQuiet.
func loud(b []byte) bool {
	for i := 0; i+1 < len(b); i += 2 {
		if v := int16(binary.LittleEndian.Uint16(b[i:])); v > edgeQuiet || v < -edgeQuiet {
			return true
		}
	}
	return false
}

// scale multiplies the s16le sample at b[0:2] by g.
func scale(b []byte, g float32) {
	v := float32(int16(binary.LittleEndian.Uint16(b)))
	binary.LittleEndian.PutUint16(b, uint16(int16(math.Round(float64(v*g)))))
}
