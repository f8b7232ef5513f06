package live

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/speech"
)

// Push queues a frame a program made, video, of the stream's size in bgr24
// (Encoding.FrameBytes), with audio, the s16le PCM that plays while it is
// on air (at most Encoding.MaxChunkBytes; shorter is padded with silence;
// nil: none). Frames air in the order pushed, one per frame interval, each
// with its own audio, so that lip sync holds by construction; the audio is
// mixed with any queued speech. When the next frame is late, the last one
// stays on air and the audio goes on (queued speech, or silence).
//
// Push takes video and audio over: they must not be changed afterwards. It
// blocks while Config.PushBuffer bytes of frames wait to air, until ctx is
// done (its error is returned) or the stream stops (ErrStopped), so that a
// producer faster than the wall clock is held to it.
func (s *Stream) Push(ctx context.Context, video, audio []byte) error {
	e := s.cfg.Encoding
	switch fb := 2 * e.Channels; {
	case len(video) != e.FrameBytes():
		return fmt.Errorf("%w: a frame of %d bytes, the stream's are %d (%dx%d bgr24)", ErrBadInput,
			len(video), e.FrameBytes(), e.Width, e.Height)
	case len(audio) > e.MaxChunkBytes() || len(audio)%fb != 0:
		return fmt.Errorf("%w: %d bytes of audio for one frame; at most %d, in whole %d-byte samples", ErrBadInput,
			len(audio), e.MaxChunkBytes(), fb)
	}
	return s.pushed.push(ctx, s.closed, pushedFrame{video: video, audio: audio})
}

// pushedFrame is one frame of a producer with the audio that goes with it.
type pushedFrame struct{ video, audio []byte }

// slotted is what frame n carries: a pushed frame, or none.
type slotted struct {
	p     pushedFrame
	ok    bool
	asked int // how many of the two writers have taken it
}

// slots gives pushed frames their frame numbers. The video and the audio
// writer each ask for every frame number once, in order, at its deadline;
// the first to ask takes the next pushed frame (or none) for that number
// and the other finds it there, so a frame and its audio go out together.
type slots struct {
	limit int64 // bytes of pushed frames that may wait

	mu      sync.Mutex
	waiting []pushedFrame
	bytes   int64
	taken   map[int64]*slotted
	space   chan struct{} // closed, and replaced, when frames leave waiting
}

func newSlots(limit int64) *slots {
	return &slots{limit: limit, taken: make(map[int64]*slotted), space: make(chan struct{})}
}

func (s *slots) push(ctx context.Context, closed <-chan struct{}, p pushedFrame) error {
	size := int64(len(p.video) + len(p.audio))
	for {
		s.mu.Lock()
		// One frame always fits, however large, so that a frame over the
		// limit does not wait for ever.
		if len(s.waiting) == 0 || s.bytes+size <= s.limit {
			s.waiting = append(s.waiting, p)
			s.bytes += size
			s.mu.Unlock()
			return nil
		}
		space := s.space
		s.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		case <-closed:
			return ErrStopped
		}
	}
}

// take returns what frame n carries; each writer calls it once for each n.
func (s *slots) take(n int64) (pushedFrame, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl, found := s.taken[n]; found {
		delete(s.taken, n)
		return sl.p, sl.ok
	}
	sl := &slotted{}
	if len(s.waiting) > 0 {
		sl.p, sl.ok = s.waiting[0], true
		s.waiting[0] = pushedFrame{}
		s.waiting = s.waiting[1:]
		s.bytes -= int64(len(sl.p.video) + len(sl.p.audio))
		close(s.space)
		s.space = make(chan struct{})
	}
	s.taken[n] = sl
	return sl.p, sl.ok
}

// sound is the audio source of a live stream: the speech queue, with the
// audio of pushed frames mixed in, metered as it goes out.
type sound struct {
	queue *speech.Queue
	slots *slots
	level atomic.Uint64 // math.Float64bits of the last chunk's RMS in dBFS
}

// Read implements io.Reader for orchestrator.AudioSource; the supervisor
// reads ReadChunk.
func (a *sound) Read(p []byte) (int, error) { return a.queue.Read(p) }

// ReadChunk implements orchestrator.ChunkReader.
func (a *sound) ReadChunk(n int64, buf []byte) error {
	a.queue.Read(buf)
	if p, ok := a.slots.take(n); ok {
		mix(buf, p.audio)
	}
	a.level.Store(math.Float64bits(rmsDBFS(buf)))
	return nil
}

// mix adds src into dst, s16le both, clipping at full scale.
func mix(dst, src []byte) {
	n := min(len(dst), len(src)) &^ 1
	for i := 0; i < n; i += 2 {
		v := int32(int16(uint16(dst[i])|uint16(dst[i+1])<<8)) + int32(int16(uint16(src[i])|uint16(src[i+1])<<8))
		v = max(math.MinInt16, min(math.MaxInt16, v))
		dst[i], dst[i+1] = byte(v), byte(v>>8)
	}
}

// SilenceDBFS is the level reported for digital silence.
const SilenceDBFS = -100.0

// rmsDBFS is the RMS level of s16le pcm, in dB below full scale.
func rmsDBFS(pcm []byte) float64 {
	var sum float64
	n := len(pcm) / 2
	for i := 0; i < 2*n; i += 2 {
		v := float64(int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8))
		sum += v * v
	}
	if n == 0 || sum == 0 {
		return SilenceDBFS
	}
	return max(SilenceDBFS, 10*math.Log10(sum/float64(n)/(32768*32768)))
}

// picture is the video source of a live stream: the frame of the moment,
// swapped whole so that the writer never sees half a picture, or the
// pushed frame of the frame number asked for.
type picture struct {
	e     orchestrator.Encoding
	slots *slots
	next  int64 // the frame number NextFrame is asked for next
	cur   atomic.Pointer[namedFrame]
}

type namedFrame struct {
	f    *frames.Frame
	name string
}

// pushedName is what Status calls a picture made of pushed frames.
const pushedName = "pushed frames"

func (p *picture) set(f *frames.Frame, name string) { p.cur.Store(&namedFrame{f, name}) }

func (p *picture) name() string { return p.cur.Load().name }

func (p *picture) frame() *frames.Frame { return p.cur.Load().f }

// NextFrame implements orchestrator.VideoSource, which asks for every frame
// once, in order.
func (p *picture) NextFrame() ([]byte, error) {
	n := p.next
	p.next++
	if f, ok := p.slots.take(n); ok {
		p.set(&frames.Frame{Width: p.e.Width, Height: p.e.Height, Pix: f.video}, pushedName)
		return f.video, nil
	}
	return p.cur.Load().f.Pix, nil
}
