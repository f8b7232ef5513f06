package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/livepush/livepush/frames/hugepage"
)

// VideoSource supplies raw bgr24 frames, one per frame interval.
type VideoSource interface {
	// NextFrame returns the next frame, Encoding.FrameBytes long. The
	// supervisor keeps recent frames to replay them after a restart, so the
	// source must not change a slice once returned; a still image returns
	// the same slice every time. After io.EOF the last frame is repeated.
	NextFrame() ([]byte, error)
}

// AudioSource supplies interleaved s16le PCM at the output rate and channel
// count. After io.EOF the stream goes on with silence. An error wrapping
// io.ErrUnexpectedEOF says the source lost some of its audio (a file cut
// while read): it is logged as a warning, and the source is read on.
type AudioSource = io.Reader

// ChunkReader is an AudioSource that is told which frame each chunk goes
// with, for audio that must meet a given frame (pushed frames and their
// sound). The supervisor reads it with ReadChunk only, once per frame, in
// order from frame 0.
type ChunkReader interface {
	AudioSource
	// ReadChunk fills all of buf, Encoding.ChunkBytes(n) long, with the
	// audio of frame n. It must not block: a live source gives silence
	// when it has nothing.
	ReadChunk(n int64, buf []byte) error
}

// errSourceFailed marks a failure of a media source: restarting ffmpeg cannot help.
var errSourceFailed = errors.New("media source failed")

// track turns a sequential source into units addressable by frame number,
// keeping the most recent ones so that a restarted ffmpeg can be fed again
// from the position the last one confirmed. One goroutine at a time uses it.
type track struct {
	name string
	ring [][]byte
	next int64 // the first unit not yet taken from the source
	// splice writes units with vmsplice; only for units that are never
	// changed after fill returns them.
	splice bool
	// pipeSize is the FIFO buffer asked for.
	pipeSize int
	// batch is how many units one wake-up writes (0 or 1: one). Audio goes
	// in blocks, ahead of its deadlines by up to batch-1 units: every
	// wake-up costs livepush and ffmpeg's reader a context switch, and
	// ffmpeg interleaves by timestamp, so early audio does not move video.
	batch int64
	// fill produces unit n, reusing buf (the ring slot's old unit) if it can.
	fill func(n int64, buf []byte) ([]byte, error)
	// maxBytes bounds the bytes of the distinct units the ring holds (0: no
	// bound): moving video would otherwise pin a whole window of frames,
	// while a still picture is one frame however long the window. The
	// newest minUnits stay whatever they cost: a pipe may still hold them.
	maxBytes int64
	minUnits int64
	held     int64 // bytes of the distinct units held
	lo       int64 // units before lo were let go to keep within maxBytes
	// sent is the first unit not yet written into the pipe, for Status;
	// units and bytes count all that went in, replays included.
	sent         atomic.Int64
	units, bytes atomic.Int64
}

func newTrack(name string, window int, fill func(int64, []byte) ([]byte, error)) *track {
	return &track{name: name, ring: make([][]byte, window), fill: fill}
}

// oldest is the first unit that can still be replayed.
func (t *track) oldest() int64 { return max(0, t.next-int64(len(t.ring)), t.lo) }

// unit returns unit n, reading the source forward as far as needed.
func (t *track) unit(n int64) ([]byte, error) {
	if n < t.oldest() {
		return nil, fmt.Errorf("%s: unit %d is older than the replay window (oldest %d)", t.name, n, t.oldest())
	}
	for t.next <= n {
		if old := t.next - int64(len(t.ring)); old >= t.lo {
			t.forget(old) // its slot is about to be overwritten
		}
		slot := t.slot(t.next)
		b, err := t.fill(t.next, *slot)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errSourceFailed, t.name, err)
		}
		*slot = b
		if t.next == t.oldest() || !sameUnit(b, *t.slot(t.next - 1)) {
			t.held += int64(len(b))
		}
		t.next++
		for t.maxBytes > 0 && t.held > t.maxBytes && t.lo < t.next-max(t.minUnits, 1) {
			t.lo = max(t.lo, t.oldest())
			t.forget(t.lo)
			*t.slot(t.lo) = nil
			t.lo++
		}
	}
	return *t.slot(n), nil
}

func (t *track) slot(n int64) *[]byte { return &t.ring[n%int64(len(t.ring))] }

// forget takes unit k, the oldest held, out of the byte count, unless the
// unit after it is the same memory and so goes on holding it.
func (t *track) forget(k int64) {
	b := *t.slot(k)
	if k+1 < t.next && sameUnit(b, *t.slot(k + 1)) {
		return
	}
	t.held -= int64(len(b))
}

// sameUnit reports whether a and b are the same memory (a repeated frame).
func sameUnit(a, b []byte) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

// videoFill reads frames from src; after the source ends it repeats the last
// one. A frame the source returns settleAfter times in a row (a still
// image) is from then on served in huge pages, where the kernel allows:
// vmsplice pins every page of a frame each time it is written, and one huge
// page stands for 512 small ones (scripts/bench.sh's 1920x1080 rows); 0: never.
// Not at the first repeat: a producer of moving frames that is late now and
// then repeats one, and copying each of those would cost more than it saves.
func videoFill(src VideoSource, size int, settleAfter int) func(int64, []byte) ([]byte, error) {
	var last, fromSrc []byte // what was returned, and what the source gave for it
	repeats := 0             // how many times in a row the source gave fromSrc again
	settled := false         // f has been through hugepage.Collapse
	return func(int64, []byte) ([]byte, error) {
		f, err := src.NextFrame()
		switch {
		case errors.Is(err, io.EOF) && last != nil:
			return last, nil
		case err != nil:
			return nil, err
		case len(f) != size:
			return nil, fmt.Errorf("frame of %d bytes, want %d", len(f), size)
		}
		if sameUnit(f, fromSrc) {
			if repeats++; settleAfter > 0 && !settled && repeats >= settleAfter {
				last, settled = hugepage.Collapse(f), true
			}
			return last, nil
		}
		last, fromSrc, settled, repeats = f, f, false, 0
		return f, nil
	}
}

// audioFill reads one frame's worth of PCM from src into buf; after the
// source ends it gives silence. A source that reports lost audio (see
// AudioSource) is warned of once, its chunk is filled up with silence, and
// it is read on: a looping one goes on, an ended one returns io.EOF next.
func audioFill(src AudioSource, e Encoding, log *slog.Logger) func(int64, []byte) ([]byte, error) {
	ended, warned := false, false
	cr, addressed := src.(ChunkReader)
	return func(n int64, buf []byte) ([]byte, error) {
		size := e.ChunkBytes(n)
		if cap(buf) < e.MaxChunkBytes() {
			buf = make([]byte, e.MaxChunkBytes())
		}
		buf = buf[:size]
		if addressed {
			return buf, cr.ReadChunk(n, buf)
		}
		got := 0
		if !ended {
			var err error
			got, err = io.ReadFull(src, buf)
			switch {
			case err == nil:
			case err == io.ErrUnexpectedEOF, errors.Is(err, io.EOF):
				// The end; ReadFull reports an end inside the chunk as a
				// bare io.ErrUnexpectedEOF.
				ended = true
			case errors.Is(err, io.ErrUnexpectedEOF):
				level := slog.LevelWarn
				if warned {
					level = slog.LevelDebug
				}
				warned = true
				log.Log(context.Background(), level, "audio ended early: silence stands in for what is missing",
					"at", Duration(n, e.FPS), "error", err)
			default:
				return nil, err
			}
		}
		clear(buf[got:])
		return buf, nil
	}
}

// ChunkFiller reads src the way the supervisor does, for a MakeFrame: fill
// puts the audio of frame n, Encoding.ChunkBytes(n) long, into buf;
// silence after the end, and lost audio warned of once (see AudioSource).
// Call it once per frame, in order.
func ChunkFiller(src AudioSource, e Encoding, log *slog.Logger) (fill func(n int64, buf []byte) error) {
	f := audioFill(src, e, log)
	return func(n int64, buf []byte) error {
		got, err := f(n, buf)
		if err == nil && len(got) > 0 && &got[0] != &buf[0] {
			copy(buf, got)
		}
		return err
	}
}

// audioBlock is about how much audio one wake-up writes (4 frames at 25
// fps): each wake-up costs livepush and ffmpeg a context switch, and larger
// blocks saved no more (scripts/bench.sh's realtime CPU rows).
const audioBlock = 160 * time.Millisecond

// audioBatch is how many frames of audio make one block at fps.
func audioBatch(fps int) int64 {
	return max(1, int64(fps)*int64(audioBlock)/int64(time.Second))
}

// feedResult is what one pipe writer reports when it stops.
type feedResult struct {
	next int64 // the first unit not written
	err  error
}

// feed opens the FIFO at path and writes units [from, end) of t into it at
// the pace p sets (end 0: no end), t.batch units at each deadline, then
// closes it so that ffmpeg sees the end of its input. A graceful stop (ctx
// done) ends it between two batches; abort ends it at once, also inside a
// blocked open or write.
func feed(ctx, abort context.Context, path string, t *track, from, end int64, p *pacer) feedResult {
	res := feedResult{next: from}
	t.sent.Store(from)
	// The first unit before the pipe: a source that is still being prepared
	// (an image decoding while ffmpeg starts) fails here, while ffmpeg waits
	// to open its inputs and has not touched its output.
	if end == 0 || from < end {
		if _, err := t.unit(from); err != nil {
			res.err = err
			return res
		}
	}
	f, err := openWriter(abort, path, t.pipeSize)
	if err != nil {
		res.err = fmt.Errorf("%s pipe: %w", t.name, err)
		return res
	}
	defer f.Close()
	stop := context.AfterFunc(abort, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	al, err := newAlarm(ctx)
	if err != nil {
		res.err = fmt.Errorf("%s pacing: %w", t.name, err)
		return res
	}
	defer al.close()
	w, err := newPipeWriter(f, t.splice)
	if err != nil {
		res.err = fmt.Errorf("%s pipe: %w", t.name, err)
		return res
	}
	batch := max(t.batch, 1)
	units := make([][]byte, 0, batch) // one batch, reused
	for n := from; end == 0 || n < end; n += int64(len(units)) {
		if p.wait(n, al) != nil {
			return res
		}
		units = units[:0]
		for k := n; k < n+batch && (end == 0 || k < end); k++ {
			b, err := t.unit(k)
			if err != nil {
				res.err = err
				return res
			}
			units = append(units, b)
		}
		written, err := w.WriteUnits(units)
		t.bytes.Add(int64(written))
		for _, b := range units {
			if written < len(b) {
				break
			}
			written -= len(b)
			res.next++
			t.units.Add(1)
		}
		t.sent.Store(res.next)
		clear(units) // hold no unit between batches
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = context.Cause(abort)
			}
			res.err = fmt.Errorf("%s pipe: %w", t.name, err)
			return res
		}
	}
	return res
}
