package orchestrator

import (
	"errors"
	"io"
	"sync"
)

// DefaultHubBytes is how much encoded media the hub keeps for outputs that
// fall behind or come back: some minutes at a few Mbit/s.
const DefaultHubBytes = 16 << 20

// errBehind reports a cursor older than every tag the hub still keeps.
var errBehind = errors.New("output fell behind what is kept")

// flvInit is what a relay's ffmpeg needs before the media of one encoder
// run: its metadata and its AVC and AAC sequence headers. A set is never
// changed once a tag points at it; a new header makes a new set.
type flvInit struct{ meta, video, audio *flvTag }

func (in *flvInit) tags() []*flvTag {
	var out []*flvTag
	for _, t := range []*flvTag{in.meta, in.video, in.audio} {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// hubTag is a kept media tag and the init set it decodes with.
type hubTag struct {
	*flvTag
	init *flvInit
}

// hub keeps the newest media tags of the encoder, bounded by bytes, on one
// timeline that never goes back even when the encoder restarts. One reader
// adds to it (never blocked by the outputs), and each output reads it
// through its own cursor, a sequence number.
type hub struct {
	mu     sync.Mutex
	tags   []hubTag // tags[0] has sequence number first
	first  int64
	bytes  int
	limit  int
	init   *flvInit
	wake   chan struct{} // closed at the next add or close
	closed bool
	done   chan struct{} // closed by close

	// Timestamps: a run's are moved by offset onto the hub's timeline.
	offset  int64
	runBase int64 // where the current run starts on the timeline, ms
	fresh   bool  // no media tag of the current run yet
	last    [2]int64
	newest  int64 // newest timestamp, -1 before any
	runLast int64 // the current run's newest video timestamp, as the encoder wrote it; -1 none
}

func newHub(limit int) *hub {
	if limit <= 0 {
		limit = DefaultHubBytes
	}
	return &hub{limit: limit, wake: make(chan struct{}), done: make(chan struct{}), init: &flvInit{}, newest: -1, runLast: -1,
		last: [2]int64{-1, -1}}
}

// startRun announces a new encoder run, whose timestamp 0 is at media time
// baseMs; the timeline still never goes back.
func (h *hub) startRun(baseMs int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.init = &flvInit{}
	h.runBase, h.fresh, h.runLast = baseMs, true, -1
}

// runVideo is the newest video timestamp of the current run as the encoder
// wrote it, or -1.
func (h *hub) runVideo() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.runLast
}

// add keeps one tag from the encoder.
func (h *hub) add(t *flvTag) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.kind == flvScript || t.config {
		in := *h.init
		switch {
		case t.kind == flvScript:
			in.meta = t
		case t.kind == flvVideo:
			in.video = t
		default:
			in.audio = t
		}
		h.init = &in
		return
	}
	if t.kind == flvVideo {
		h.runLast = t.ts
	}
	if h.fresh {
		h.fresh = false
		h.offset = max(h.runBase, h.newest+1) - t.ts
	}
	k := 0
	if t.kind == flvVideo {
		k = 1
	}
	t.ts = max(t.ts+h.offset, h.last[k])
	h.last[k] = t.ts
	h.newest = max(h.newest, t.ts)
	h.tags = append(h.tags, hubTag{t, h.init})
	h.bytes += t.size()
	for h.bytes > h.limit && len(h.tags) > 1 {
		h.bytes -= h.tags[0].size()
		h.tags[0] = hubTag{}
		h.tags = h.tags[1:]
		h.first++
	}
	close(h.wake)
	h.wake = make(chan struct{})
}

// close ends the stream: readers get io.EOF once they have read it all.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.wake)
		close(h.done)
	}
}

// read appends to buf the tags from seq on, at most max of them. With none
// to read it returns a channel closed when there may be, or io.EOF after
// close; errBehind when seq is no longer kept.
func (h *hub) read(seq int64, buf []hubTag, max int) ([]hubTag, <-chan struct{}, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq < h.first {
		return buf, nil, errBehind
	}
	i := int(seq - h.first)
	if i >= len(h.tags) {
		if h.closed {
			return buf, nil, io.EOF
		}
		return buf, h.wake, nil
	}
	end := min(len(h.tags), i+max)
	return append(buf, h.tags[i:end]...), nil, nil
}

// end is the sequence number the next tag will get.
func (h *hub) end() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.first + int64(len(h.tags))
}

// live is the newest timestamp on the timeline, -1 before any tag.
func (h *hub) live() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.newest
}

// newestKey is the sequence number of the newest video keyframe kept, or
// end() when there is none yet: an output starting there waits for it.
func (h *hub) newestKey() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.tags) - 1; i >= 0; i-- {
		if t := h.tags[i]; t.kind == flvVideo && t.key {
			return h.first + int64(i)
		}
	}
	return h.first + int64(len(h.tags))
}

// keyAt is the sequence number of the newest video keyframe at or before
// timestamp ts, so that an output resumes decodable where its viewers were.
// ok is false when no keyframe that old is kept.
func (h *hub) keyAt(ts int64) (seq int64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.tags) - 1; i >= 0; i-- {
		if t := h.tags[i]; t.kind == flvVideo && t.key && t.ts <= ts {
			return h.first + int64(i), true
		}
	}
	return 0, false
}
