package orchestrator

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// ffmpegFLV makes an FLV with ffmpeg: H.264 with a keyframe every gop
// frames at 25 fps and AAC, secs seconds.
func ffmpegFLV(t *testing.T, gop, secs string) []byte {
	t.Helper()
	ff := requireTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "a.flv")
	cmd := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=24000", "-t", secs,
		"-c:v", "libx264", "-preset", "ultrafast", "-g", gop, "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1",
		"-f", "flv", "-flvflags", "no_duration_filesize", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readAllTags(t *testing.T, b []byte) []*flvTag {
	t.Helper()
	r, err := newFLVReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var tags []*flvTag
	for {
		tag, err := r.next()
		if errors.Is(err, io.EOF) {
			return tags
		}
		if err != nil {
			t.Fatalf("tag %d: %v", len(tags), err)
		}
		tags = append(tags, tag)
	}
}

// The parser reads what ffmpeg writes: metadata and both sequence headers
// first, keyframes where the gop puts them, timestamps in order per
// stream; and the tags written back give the same bytes.
func TestFLVParseFFmpeg(t *testing.T) {
	b := ffmpegFLV(t, "10", "2")
	tags := readAllTags(t, b)
	if len(tags) < 3 || tags[0].kind != flvScript || !tags[1].config || !tags[2].config {
		t.Fatalf("first tags are not metadata and two sequence headers: %+v", tags[:min(3, len(tags))])
	}
	var frames, keys, audio int
	last := map[byte]int64{}
	for _, tg := range tags[3:] {
		if tg.config {
			t.Fatalf("a sequence header mid-stream at %d ms", tg.ts)
		}
		if tg.ts < last[tg.kind] {
			t.Errorf("kind %d: timestamp %d after %d", tg.kind, tg.ts, last[tg.kind])
		}
		last[tg.kind] = tg.ts
		switch tg.kind {
		case flvVideo:
			if tg.key != (frames%10 == 0) {
				t.Errorf("frame %d: key=%v with gop 10", frames, tg.key)
			}
			frames++
			if tg.key {
				keys++
			}
		case flvAudio:
			audio++
		}
	}
	if frames < 50 || frames > 51 || keys != (frames+9)/10 || audio < 40 {
		t.Errorf("%d frames, %d keyframes, %d audio tags; want 2 s at 25 fps, one in 10 a keyframe, about 47", frames, keys, audio)
	}
	out := append([]byte(nil), flvHeader...)
	for _, tg := range tags {
		out = appendTag(out, tg, tg.ts)
	}
	if !bytes.Equal(out, b) {
		t.Errorf("tags written back differ from ffmpeg's FLV (%d vs %d bytes)", len(out), len(b))
	}
}

func TestFLVBadInput(t *testing.T) {
	b := ffmpegFLV(t, "1", "0.2")
	for name, in := range map[string][]byte{
		"not flv":   []byte("RIFF....WAVEfmt "),
		"cut":       b[:len(b)-3],
		"bad sizes": append(append([]byte(nil), b[:len(b)-1]...), 0x7f),
	} {
		r, err := newFLVReader(bytes.NewReader(in))
		for err == nil {
			_, err = r.next()
		}
		if !errors.Is(err, ErrFLV) {
			t.Errorf("%s: %v, want ErrFLV", name, err)
		}
	}
}

func mediaTag(kind byte, ts int64, key bool, size int) *flvTag {
	d := make([]byte, size)
	d[0] = 0x27 // inter frame, AVC
	if key {
		d[0] = 0x17
	}
	if kind == flvAudio {
		d[0] = 0xaf
	}
	d[1] = 1
	return &flvTag{kind: kind, ts: ts, key: key && kind == flvVideo, data: d}
}

// A cursor older than the kept tags is told so (the output is cut), and
// rejoins at the newest keyframe; keyAt finds where viewers left off, or
// says it is no longer kept.
func TestHubCutRejoin(t *testing.T) {
	h := newHub(10 * 100)
	h.startRun(0)
	h.add(&flvTag{kind: flvVideo, config: true, data: []byte{0x17, 0, 0, 0, 0}})
	for i := range 30 {
		h.add(mediaTag(flvVideo, int64(i*40), i%5 == 0, 100-15))
	}
	if h.bytes > 1000 {
		t.Fatalf("hub keeps %d bytes, limit 1000", h.bytes)
	}
	if _, _, err := h.read(0, nil, 10); !errors.Is(err, errBehind) {
		t.Fatalf("read at 0 after 30 tags of which 10 kept: %v, want errBehind", err)
	}
	k := h.newestKey()
	got, _, err := h.read(k, nil, 100)
	if err != nil || len(got) == 0 || !got[0].key || got[0].ts != 25*40 {
		t.Fatalf("newest keyframe: %v %+v", err, got)
	}
	if got[0].init == nil || got[0].init.video == nil {
		t.Errorf("a kept tag lost its sequence header")
	}
	if seq, ok := h.keyAt(23 * 40); !ok || seq != 20 {
		t.Errorf("keyAt(920 ms) = %d %v, want the keyframe of frame 20", seq, ok)
	}
	if _, ok := h.keyAt(19 * 40); ok {
		t.Errorf("keyAt found a keyframe older than the kept tags")
	}
	// Nothing new: a channel that closes on the next add.
	_, wait, err := h.read(h.end(), nil, 10)
	if err != nil || wait == nil {
		t.Fatalf("read at the end: %v %v", wait, err)
	}
	h.add(mediaTag(flvAudio, 1200, false, 10))
	select {
	case <-wait:
	default:
		t.Fatal("add did not wake the reader")
	}
	h.close()
	if _, _, err := h.read(h.end(), nil, 10); !errors.Is(err, io.EOF) {
		t.Errorf("read at the end after close: %v, want EOF", err)
	}
}

// A restarted encoder starts its timestamps at 0 again: the hub's
// timeline goes on forward, and the new run's tags carry its own headers.
func TestHubRebase(t *testing.T) {
	h := newHub(0)
	h.startRun(0)
	h.add(&flvTag{kind: flvVideo, config: true, data: []byte{0x17, 0, 1}})
	for i := range 10 {
		h.add(mediaTag(flvVideo, int64(i*40), true, 20))
		h.add(mediaTag(flvAudio, int64(i*40+5), false, 20))
	}
	if got := h.runVideo(); got != 360 {
		t.Errorf("runVideo %d, want 360", got)
	}
	// The encoder came back resuming at 200 ms of media: the timeline
	// cannot go back there, so the run goes on after 365.
	h.startRun(200)
	h.add(&flvTag{kind: flvVideo, config: true, data: []byte{0x17, 0, 2}})
	for i := range 5 {
		h.add(mediaTag(flvVideo, int64(i*40), true, 20))
		h.add(mediaTag(flvAudio, int64(i*40), false, 20))
	}
	got, _, _ := h.read(0, nil, 100)
	last := map[byte]int64{}
	for i, tg := range got {
		if tg.ts < last[tg.kind] {
			t.Errorf("tag %d kind %d: %d after %d", i, tg.kind, tg.ts, last[tg.kind])
		}
		last[tg.kind] = tg.ts
	}
	second := got[20]
	if second.ts != 366 || second.init.video.data[2] != 2 || got[0].init.video.data[2] != 1 {
		t.Errorf("second run starts at %d with header %d (first run's %d); want 366, 2, 1",
			second.ts, second.init.video.data[2], got[0].init.video.data[2])
	}
	// A run that resumes past the timeline starts where it says.
	h.startRun(5000)
	h.add(mediaTag(flvVideo, 0, true, 20))
	if got := h.live(); got != 5000 {
		t.Errorf("run at 5 s: newest %d", got)
	}
}

// gatedWriter holds its first Write until gate is closed.
type gatedWriter struct {
	gate    chan struct{}
	entered chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
	once    sync.Once
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.once.Do(func() { close(g.entered); <-g.gate })
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

// A relay whose ffmpeg stops reading while the hub overflows is cut: its
// writer, once it can write again, says so and goes on at the newest
// keyframe, timestamps still in order; the hub reader was never held.
func TestRelayWriterCut(t *testing.T) {
	h := newHub(30 * 100)
	h.startRun(0)
	h.add(&flvTag{kind: flvVideo, config: true, data: []byte{0x17, 0, 0, 0, 0}})
	logs := newLogRecorder()
	r := &relay{sup: &Supervisor{hub: h}, log: slog.New(recordHandler{l: logs})}
	w := &relayWriter{hub: h, relay: r, stop: make(chan struct{})}
	out := &gatedWriter{gate: make(chan struct{}), entered: make(chan struct{})}
	for i := range 5 {
		h.add(mediaTag(flvVideo, int64(i*40), true, 85))
	}
	done := make(chan error, 1)
	go func() { done <- w.run(out, 0) }()
	<-out.entered
	// The writer is held; the hub goes on by 200 tags, a keyframe every 10.
	for i := 5; i < 205; i++ {
		h.add(mediaTag(flvVideo, int64(i*40), i%10 == 0, 85))
	}
	close(out.gate)
	h.close()
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("writer: %v", err)
	}
	tags := readAllTags(t, out.buf.Bytes())
	if !tags[0].config {
		t.Fatal("no sequence header first")
	}
	var ts []int64
	for _, tg := range tags[1:] {
		ts = append(ts, tg.ts)
	}
	if len(ts) < 6 || ts[4] != 160 || !tags[6].key || ts[5] <= ts[4] || ts[5]%400 != 0 || ts[5] < 180*40 {
		t.Errorf("timestamps after the cut: %v", ts)
	}
	if len(logs.with("output fell behind the kept media: cut, rejoining at the newest keyframe", nil)) != 1 {
		t.Errorf("the cut was not logged once: %v", logs.all())
	}
	if r.bytes.Load() != int64(out.buf.Len()) {
		t.Errorf("bytes sent %d, written %d", r.bytes.Load(), out.buf.Len())
	}
}

// A planned reconnect that is due waits for half a second of silence and
// cuts at the next keyframe; with no silence, at the first keyframe after
// its hard deadline.
func TestRelayWriterPlannedCut(t *testing.T) {
	for _, tt := range []struct {
		name    string
		hardDue time.Duration
		want    int64 // ts of the first tag not written
	}{
		{"in silence", time.Hour, 2000 + 520},
		{"no silence in time", -time.Second, 40},
	} {
		h := newHub(0)
		h.startRun(0)
		h.add(&flvTag{kind: flvVideo, config: true, data: []byte{0x17, 0, 0, 0, 0}})
		audio := func(ts int64, silent bool) *flvTag {
			tg := mediaTag(flvAudio, ts, false, 40)
			if silent {
				tg.data = tg.data[:6]
			}
			return tg
		}
		// 2 s of speech, then silence, a keyframe every 40 ms.
		for ts := int64(0); ts < 4000; ts += 40 {
			h.add(mediaTag(flvVideo, ts, true, 50))
			h.add(audio(ts, ts >= 2000))
		}
		h.close()
		logs := newLogRecorder()
		r := &relay{sup: &Supervisor{hub: h}, log: slog.New(recordHandler{l: logs})}
		w := &relayWriter{hub: h, relay: r, stop: make(chan struct{}),
			due: time.Now().Add(-time.Second), hardDue: time.Now().Add(tt.hardDue)}
		var out bytes.Buffer
		if err := w.run(&out, 0); !errors.Is(err, errPlanned) {
			t.Fatalf("%s: %v, want errPlanned", tt.name, err)
		}
		got, _, _ := h.read(w.next, nil, 1)
		if len(got) != 1 || got[0].ts != tt.want || got[0].kind != flvVideo {
			t.Errorf("%s: next session starts at %+v, want the keyframe at %d ms", tt.name, got, tt.want)
		}
		tags := readAllTags(t, out.Bytes())
		if last := tags[len(tags)-1]; last.ts >= tt.want {
			t.Errorf("%s: the session went on to %d ms", tt.name, last.ts)
		}
	}
}

// Behind the live edge, a live output leaves out silence, past its first
// half second, until it has caught up: timestamps run on without a gap,
// and no sound is left out.
func TestRelayWriterCatchUp(t *testing.T) {
	h := newHub(0)
	h.startRun(0)
	h.add(&flvTag{kind: flvVideo, config: true, data: []byte{0x17, 0, 0, 0, 0}})
	for ts := int64(0); ts < 4000; ts += 40 {
		h.add(mediaTag(flvVideo, ts, true, 50))
		a := mediaTag(flvAudio, ts, false, 40)
		if ts >= 1000 && ts < 3000 {
			a.data = a.data[:6]
		}
		h.add(a)
	}
	h.close()
	r := &relay{sup: &Supervisor{hub: h}, log: slog.New(slog.DiscardHandler)}
	w := &relayWriter{hub: h, relay: r, stop: make(chan struct{}), catchUp: true}
	var out bytes.Buffer
	if err := w.run(&out, 0); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	var video []int64
	loud := 0
	for _, tg := range readAllTags(t, out.Bytes())[1:] {
		switch {
		case tg.kind == flvVideo:
			video = append(video, tg.ts)
		case !silentAAC(tg):
			loud++
		}
	}
	for i := 1; i < len(video); i++ {
		if video[i]-video[i-1] != 40 {
			t.Fatalf("video %d ms after %d: %v", video[i], video[i-1], video)
		}
	}
	if len(video) != 100-37 || loud != 50 {
		t.Errorf("%d video frames (want 63: 1480 ms of silence left out), %d loud audio frames (want all 50)", len(video), loud)
	}
	if got := r.owed.Load(); got != 3960-1480 {
		t.Errorf("still owed %d ms, want %d", got, 3960-1480)
	}
	// The hub timestamp of what ffmpeg confirms, across the cut.
	if got := w.hubAt(1520); got != 3000 {
		t.Errorf("hubAt(1520) = %d, want 3000", got)
	}
	if got := w.hubAt(1000); got != 1000 {
		t.Errorf("hubAt(1000) = %d, want 1000", got)
	}
}
