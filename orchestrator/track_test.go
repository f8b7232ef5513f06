package orchestrator

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/livepush/livepush/orchestrator/proctest"
)

// countingVideo yields 8-byte frames holding their own number.
type countingVideo struct{ n, limit int64 }

func (v *countingVideo) NextFrame() ([]byte, error) {
	if v.limit > 0 && v.n >= v.limit {
		return nil, io.EOF
	}
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(v.n))
	v.n++
	return b, nil
}

func frameNo(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) }

func TestTrackReplay(t *testing.T) {
	tr := newTrack("video", 10, videoFill(&countingVideo{}, 8, 0))
	for n := int64(0); n < 25; n++ {
		b, err := tr.unit(n)
		if err != nil || frameNo(b) != n {
			t.Fatalf("unit(%d) = %d, %v", n, frameNo(b), err)
		}
	}
	// Going back within the window replays the same frames.
	for n := int64(15); n < 25; n++ {
		if b, err := tr.unit(n); err != nil || frameNo(b) != n {
			t.Fatalf("replay unit(%d) = %d, %v", n, frameNo(b), err)
		}
	}
	if tr.oldest() != 15 {
		t.Errorf("oldest = %d, want 15", tr.oldest())
	}
	if _, err := tr.unit(14); err == nil {
		t.Error("unit older than the window did not fail")
	}
	// Jumping ahead reads the source forward.
	if b, err := tr.unit(40); err != nil || frameNo(b) != 40 {
		t.Fatalf("unit(40) = %d, %v", frameNo(b), err)
	}
}

func TestVideoFillRepeatsLastFrameAfterEOF(t *testing.T) {
	tr := newTrack("video", 4, videoFill(&countingVideo{limit: 3}, 8, 0))
	for n, want := range []int64{0, 1, 2, 2, 2} {
		if b, err := tr.unit(int64(n)); err != nil || frameNo(b) != want {
			t.Fatalf("unit(%d) = %d, %v; want %d", n, frameNo(b), err, want)
		}
	}
	empty := newTrack("video", 4, videoFill(&countingVideo{limit: -1}, 8, 0))
	empty.fill = videoFill(sourceFunc(func() ([]byte, error) { return nil, io.EOF }), 8, 0)
	if _, err := empty.unit(0); !errors.Is(err, errSourceFailed) {
		t.Errorf("empty source: err = %v, want errSourceFailed", err)
	}
	wrong := newTrack("video", 4, videoFill(sourceFunc(func() ([]byte, error) { return make([]byte, 5), nil }), 8, 0))
	if _, err := wrong.unit(0); !errors.Is(err, errSourceFailed) {
		t.Errorf("short frame: err = %v, want errSourceFailed", err)
	}
}

type sourceFunc func() ([]byte, error)

func (f sourceFunc) NextFrame() ([]byte, error) { return f() }

// TestAudioFillChunksAndPads checks that the PCM stream is cut into chunks of
// one frame's duration, in order, with silence after the source ends.
func TestAudioFillChunksAndPads(t *testing.T) {
	e := Encoding{SampleRate: 44100, FPS: 24, Channels: 2} // 1837.5 samples a frame
	pcm := make([]byte, 4000*4)                            // 4000 stereo samples
	for i := range pcm {
		pcm[i] = byte(i%251 + 1) // never zero
	}
	tr := newTrack("audio", 8, audioFill(bytes.NewReader(pcm), e, discardLogger()))
	var got []byte
	for n := int64(0); n < 4; n++ {
		b, err := tr.unit(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != e.ChunkBytes(n) {
			t.Fatalf("chunk %d: %d bytes, want %d", n, len(b), e.ChunkBytes(n))
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got[:len(pcm)], pcm) {
		t.Error("PCM out of order or changed")
	}
	if tail := got[len(pcm):]; len(tail) == 0 || bytes.Count(tail, []byte{0}) != len(tail) {
		t.Errorf("tail after the source ended is not silence (%d bytes)", len(tail))
	}
	// Replaying an old chunk returns the same bytes.
	b, _ := tr.unit(1)
	if !bytes.Equal(b, got[e.ChunkBytes(0):e.ChunkBytes(0)+e.ChunkBytes(1)]) {
		t.Error("replayed chunk differs")
	}
}

func TestAudioFillSourceError(t *testing.T) {
	e := Encoding{SampleRate: 24000, FPS: 25, Channels: 1}
	tr := newTrack("audio", 8, audioFill(io.MultiReader(strings.NewReader("abcd"), errReader{}), e, discardLogger()))
	if _, err := tr.unit(0); !errors.Is(err, errSourceFailed) {
		t.Errorf("err = %v, want errSourceFailed", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestTrackSteadyStateAllocs(t *testing.T) {
	e := Encoding{SampleRate: 24000, FPS: 25, Channels: 1}
	audio := newTrack("audio", 50, audioFill(zeroReader{}, e, discardLogger()))
	still := make([]byte, 256*256*3)
	video := newTrack("video", 50, videoFill(sourceFunc(func() ([]byte, error) { return still, nil }), len(still), 1))
	n := int64(0)
	for ; n < 100; n++ { // fill the rings once
		audio.unit(n)
		video.unit(n)
	}
	allocs := testing.AllocsPerRun(200, func() {
		audio.unit(n)
		video.unit(n)
		n++
	})
	if allocs != 0 {
		t.Errorf("steady state allocates %v times a frame", allocs)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestSupervisorAudioRingPreallocated checks that filling the replay ring for
// the first time allocates nothing either.
func TestSupervisorAudioRingPreallocated(t *testing.T) {
	s, err := New(Config{Output: filepath.Join(t.TempDir(), "o.flv"), Encoding: defaultEncoding,
		Video: sourceFunc(func() ([]byte, error) { return make([]byte, 256*256*3), nil }), Audio: zeroReader{},
		FFmpeg: os.Args[0]})
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	if a := testing.AllocsPerRun(200, func() { s.audio.unit(n); n++ }); a != 0 {
		t.Errorf("audio chunk allocates %v times while the ring fills", a)
	}
}

// TestVideoFillStillInHugePages: a frame the source repeats is served from one
// copy with the same bytes; on Linux 6.1+ that copy is backed by huge pages.
func TestVideoFillStillInHugePages(t *testing.T) {
	still := make([]byte, 1920*1080*3)
	for i := range still {
		still[i] = byte(i % 251)
	}
	before := anonHugeKB(t)
	fill := videoFill(sourceFunc(func() ([]byte, error) { return still, nil }), len(still), 1)
	first, err := fill(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if &first[0] != &still[0] {
		t.Error("the first frame is not the source's own slice")
	}
	second, _ := fill(1, nil)
	third, _ := fill(2, nil)
	if !bytes.Equal(second, still) || len(second) != len(still) {
		t.Fatal("the repeated frame differs from the source's")
	}
	if &second[0] != &third[0] {
		t.Error("the repeated frame was copied more than once")
	}
	after := anonHugeKB(t)
	t.Logf("huge pages: %d KiB -> %d KiB; copy at %p, source at %p", before, after, &second[0], &still[0])
	if &second[0] != &still[0] && after-before < 4096 {
		t.Errorf("the copy is not in huge pages: AnonHugePages grew by %d KiB, want >= 4096", after-before)
	}
	// A new frame from the source is passed on as it is.
	other := bytes.Clone(still)
	fill = videoFill(sourceFunc(func() ([]byte, error) { other = bytes.Clone(other); return other, nil }), len(still), 1)
	for n := int64(0); n < 3; n++ {
		f, _ := fill(n, nil)
		if &f[0] != &other[0] {
			t.Fatalf("frame %d of a moving source was not passed on as it is", n)
		}
	}
}

// anonHugeKB is this process's AnonHugePages, or -1 where it cannot be read.
// Memory that earlier tests left to the garbage collector is returned first,
// so that its release during a test does not hide what the test added.
func anonHugeKB(t *testing.T) int {
	debug.FreeOSMemory()
	n, err := proctest.AnonHugeKB()
	if err != nil {
		t.Log(err)
		return -1
	}
	return n
}

// TestFeedBatchAhead: a track with batch 4 is written in blocks of four units
// at the deadline of each block's first unit, never before it.
func TestFeedBatchAhead(t *testing.T) {
	const fps, units, batch = 5, 8, 4
	tr := newTrack("audio", 16, videoFill(&countingVideo{}, 8, 0))
	tr.batch = batch
	pd, err := newPipeDir()
	if err != nil {
		t.Fatal(err)
	}
	defer pd.remove()
	type arrival struct {
		n  int64
		at time.Time
	}
	got := make(chan arrival, units)
	readErr := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(pd.audio, os.O_RDONLY, 0)
		if err != nil {
			readErr <- err
			return
		}
		defer f.Close()
		buf := make([]byte, 8)
		for {
			if _, err := io.ReadFull(f, buf); err != nil {
				if err == io.EOF {
					err = nil
				}
				readErr <- err
				return
			}
			got <- arrival{frameNo(buf), time.Now()}
		}
	}()
	p := runningPacer(time.Now(), 0, fps)
	res := feed(context.Background(), context.Background(), pd.audio, tr, 0, units, p)
	if res.err != nil || res.next != units {
		t.Fatalf("feed: %d of %d, %v", res.next, units, res.err)
	}
	select {
	case err := <-readErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reader did not see the end of the pipe")
	}
	close(got)
	n := int64(0)
	for a := range got {
		if a.n != n {
			t.Fatalf("read unit %d, want %d", a.n, n)
		}
		block := n / batch * batch
		if a.at.Before(p.deadline(block)) {
			t.Errorf("unit %d arrived %v before its block's deadline", n, p.deadline(block).Sub(a.at))
		}
		// Written with the block's first unit, not at its own deadline.
		if n%batch != 0 && !a.at.Before(p.deadline(block+1)) {
			t.Errorf("unit %d arrived %v after its block began: not written with it", n, a.at.Sub(p.deadline(block)))
		}
		n++
	}
	if n != units {
		t.Errorf("read %d units, want %d", n, units)
	}
}

func TestAudioBatch(t *testing.T) {
	for fps, want := range map[int]int64{1: 1, 5: 1, 25: 4, 30: 4, 50: 8, 60: 9} {
		if got := audioBatch(fps); got != want {
			t.Errorf("audioBatch(%d) = %d, want %d", fps, got, want)
		}
	}
}

// The ring holds moving video up to maxBytes, and a still picture for the
// whole window: the bound is on memory, not on frames.
func TestTrackBoundedByBytes(t *testing.T) {
	moving := newTrack("video", 100, videoFill(&countingVideo{}, 8, 0))
	moving.maxBytes, moving.minUnits = 80, 3 // ten 8-byte frames
	for n := int64(0); n < 500; n++ {
		if _, err := moving.unit(n); err != nil {
			t.Fatal(err)
		}
		if moving.held > moving.maxBytes {
			t.Fatalf("after unit %d: %d bytes held, bound %d", n, moving.held, moving.maxBytes)
		}
		kept := 0
		for _, b := range moving.ring {
			if b != nil {
				kept++
			}
		}
		if want := min(int(n+1), 10); kept != want {
			t.Fatalf("after unit %d: %d frames referenced, want %d", n, kept, want)
		}
	}
	if got := moving.oldest(); got != 490 {
		t.Errorf("oldest = %d, want 490", got)
	}
	for n := int64(490); n < 500; n++ {
		if b, err := moving.unit(n); err != nil || frameNo(b) != n {
			t.Fatalf("replay unit(%d) = %d, %v", n, frameNo(b), err)
		}
	}
	if _, err := moving.unit(489); err == nil {
		t.Error("a frame let go was served")
	}

	still := make([]byte, 8)
	pic := newTrack("video", 100, videoFill(sourceFunc(func() ([]byte, error) { return still, nil }), 8, 0))
	pic.maxBytes, pic.minUnits = 80, 3
	for n := int64(0); n < 500; n++ {
		if _, err := pic.unit(n); err != nil {
			t.Fatal(err)
		}
	}
	if pic.held != 8 || pic.oldest() != 400 {
		t.Errorf("still picture: %d bytes held, oldest %d; want 8, 400", pic.held, pic.oldest())
	}

	// Runs of a repeated frame between changes count once each.
	var k int
	frames := [][]byte{make([]byte, 8), make([]byte, 8), make([]byte, 8)}
	runs := newTrack("video", 100, videoFill(sourceFunc(func() ([]byte, error) {
		k++
		return frames[(k/7)%3], nil
	}), 8, 0))
	runs.maxBytes, runs.minUnits = 16, 3
	for n := int64(0); n < 300; n++ {
		if _, err := runs.unit(n); err != nil {
			t.Fatal(err)
		}
		if runs.held > 16 && runs.next-runs.oldest() > 3 {
			t.Fatalf("after unit %d: %d bytes held over %d units", n, runs.held, runs.next-runs.oldest())
		}
	}
	if span := runs.next - runs.oldest(); span < 7 {
		t.Errorf("repeated frames cost as distinct ones: only %d units kept", span)
	}
}

// TestVideoFillSettlesAfterRepeats: a frame repeated now and then (a late
// producer) is passed on as it is; only one repeated settleAfter times in
// a row is copied into huge pages.
func TestVideoFillSettlesAfterRepeats(t *testing.T) {
	frame := make([]byte, 1920*1080*3)
	var give []byte
	fill := videoFill(sourceFunc(func() ([]byte, error) { return give, nil }), len(frame), 25)
	give = frame
	for n := int64(0); n < 25; n++ { // the frame and 24 repeats
		if f, _ := fill(n, nil); &f[0] != &frame[0] {
			t.Fatalf("frame %d, repeat %d, was copied", n, n)
		}
	}
	f, _ := fill(25, nil)
	if &f[0] == &frame[0] && runtime.GOOS == "linux" && uintptr(unsafe.Pointer(&frame[0]))%(2<<20) != 0 {
		t.Error("the 25th repeat was not moved into huge pages")
	}
	other := make([]byte, len(frame))
	give = other
	if f, _ := fill(26, nil); &f[0] != &other[0] {
		t.Error("a new frame was not passed on as it is")
	}
}
