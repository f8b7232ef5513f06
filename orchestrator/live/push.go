package live

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/livepush/livepush/frames"
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
	f := &frames.Frame{Width: e.Width, Height: e.Height, Pix: video}
	return s.pushed.push(ctx, s.closed, pushedFrame{video: f, audio: audio})
}

// pushedFrame is one frame of a producer with the audio that goes with it.
type pushedFrame struct {
	video *frames.Frame
	audio []byte
}

// pushQueue holds pushed frames until their frame interval comes.
type pushQueue struct {
	limit int64 // bytes of pushed frames that may wait

	mu      sync.Mutex
	waiting []pushedFrame
	bytes   int64
	space   chan struct{} // closed, and replaced, when a frame leaves
}

func newPushQueue(limit int64) *pushQueue {
	return &pushQueue{limit: limit, space: make(chan struct{})}
}

func (q *pushQueue) push(ctx context.Context, closed <-chan struct{}, p pushedFrame) error {
	size := int64(len(p.video.Pix) + len(p.audio))
	for {
		q.mu.Lock()
		// One frame always fits, however large, so that a frame over the
		// limit does not wait for ever.
		if len(q.waiting) == 0 || q.bytes+size <= q.limit {
			q.waiting = append(q.waiting, p)
			q.bytes += size
			q.mu.Unlock()
			return nil
		}
		space := q.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		case <-closed:
			return ErrStopped
		}
	}
}

// pop takes the next pushed frame, if there is one.
func (q *pushQueue) pop() (pushedFrame, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		return pushedFrame{}, false
	}
	p := q.waiting[0]
	q.waiting[0] = pushedFrame{}
	q.waiting = q.waiting[1:]
	q.bytes -= int64(len(p.video.Pix) + len(p.audio))
	close(q.space)
	q.space = make(chan struct{})
	return p, true
}

// clear drops what waits, for a picture set on purpose.
func (q *pushQueue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.waiting)
	q.waiting, q.bytes = q.waiting[:0], 0
	close(q.space)
	q.space = make(chan struct{})
}

// makeFrame makes frame n, for orchestrator.Pair, on the pacing path: its
// audio is the speech queue's, with a pushed frame's own mixed in; its
// picture the pushed frame, else the last one pushed, else the avatar's
// choice for that audio (the idle, talking or blinking picture).
func (s *Stream) makeFrame(n int64, audio []byte) ([]byte, error) {
	s.queue.Read(audio)
	p, pushed := s.pushed.pop()
	if pushed {
		mix(audio, p.audio)
	}
	level := frames.LevelDBFS(audio)
	s.level.Store(math.Float64bits(level))
	if pushed {
		s.lastPushed.Store(p.video)
	}
	if f := s.lastPushed.Load(); f != nil {
		s.face.FrameLevel(n, level) // the avatar keeps its clock and blinks
		s.onAir.Store(f)
		return f.Pix, nil
	}
	f := s.face.FrameLevel(n, level)
	s.onAir.Store(f)
	return f.Pix, nil
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

// SilenceDBFS is the level Status reports for digital silence.
const SilenceDBFS = frames.SilenceDBFS
