package live_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/live"
)

// flash is frame k of a producer that shows white with a 1 kHz beep for
// the first three frames of every second and black and silence otherwise,
// the test card of audio-video sync.
func flash(k int) (video, audio []byte) {
	on := k%enc.FPS < 3
	video = make([]byte, enc.FrameBytes())
	audio = make([]byte, enc.ChunkBytes(0))
	if on {
		for i := range video {
			video[i] = 255
		}
		copy(audio, tone(1000, time.Second/time.Duration(enc.FPS)))
	}
	return video, audio
}

func runStream(t *testing.T, s *live.Stream) (stop func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	return func() {
		s.Stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// TestPushKeepsLipSync: every pushed frame airs with its own audio, also
// after the producer was late and the last frame was repeated meanwhile.
func TestPushKeepsLipSync(t *testing.T) {
	requireFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.flv")
	s, err := live.New(live.Config{
		Config: orchestrator.Config{Output: out, Encoding: enc},
		Image:  solid(0, 0, 0),
		// Two frames: Push holds the producer to the stream's pace, so
		// that its pause makes it late.
		PushBuffer: int64(2 * (enc.FrameBytes() + enc.ChunkBytes(0))),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runStream(t, s)
	ctx := context.Background()
	for k := 0; k < 4*enc.FPS; k++ {
		if k == 2*enc.FPS+10 {
			time.Sleep(300 * time.Millisecond) // the producer is late: the stream must go on
		}
		v, a := flash(k)
		if err := s.Push(ctx, v, a); err != nil {
			t.Fatal(err)
		}
	}
	// Half a second more, for the last pushed frames to reach the file.
	waitFor(t, func() bool { return s.Status().Frames > int64(4*enc.FPS+8+enc.FPS/2) })
	stop()

	lum, pcm := decode(t, out)
	flashes := onsets(len(lum), func(i int) bool { return lum[i] > 128 })
	perFrame := 2 * enc.SampleRate / enc.FPS // bytes of mono s16le
	beeps := onsets(len(pcm)/perFrame, func(i int) bool { return rms(pcm[i*perFrame:(i+1)*perFrame]) > 0.1 })
	if len(flashes) != 4 {
		t.Fatalf("%d flashes in the recording (frames %v), want 4", len(flashes), flashes)
	}
	if len(beeps) != len(flashes) {
		t.Fatalf("beeps at frames %v, flashes at %v", beeps, flashes)
	}
	for i := range flashes {
		if d := beeps[i] - flashes[i]; d < -1 || d > 1 {
			t.Errorf("flash %d at frame %d, its beep at %d: %d frames apart", i, flashes[i], beeps[i], d)
		}
	}
	// The pause shows as a longer gap between the third and fourth flash:
	// frames were repeated, not lost, and the audio did not stall.
	if gap := flashes[3] - flashes[2]; gap < enc.FPS+3 {
		t.Errorf("flashes %v: the late producer left no mark", flashes)
	}
	if d := len(pcm)/perFrame - len(lum); d < -3 || d > 3 {
		t.Errorf("%d frames of audio, %d of video", len(pcm)/perFrame, len(lum))
	}
}

// TestPushMemoryBoundedByBytes: moving video is kept for a restart up to
// ReplayBytes, not for the whole replay window.
func TestPushMemoryBoundedByBytes(t *testing.T) {
	requireFFmpeg(t)
	e := enc
	e.Width, e.Height = 320, 180 // 172800 bytes a frame
	out := filepath.Join(t.TempDir(), "out.ts")
	cfg := live.Config{
		Config:     orchestrator.Config{Output: out, Encoding: e, ReplayBytes: 2 << 20},
		Image:      &frames.Frame{Width: e.Width, Height: e.Height, Pix: make([]byte, e.FrameBytes())},
		PushBuffer: 1 << 20,
	}
	s, err := live.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runStream(t, s)
	defer stop()
	const n = 150 // 26 MB of frames, 6 s: inside the 30 s window
	for k := 0; k < n; k++ {
		v := make([]byte, e.FrameBytes())
		for i := range v {
			v[i] = byte(k)
		}
		if err := s.Push(context.Background(), v, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return s.Frame().Pix[0] == byte(n-1) })
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if held := m.HeapInuse; held > 16<<20 {
		t.Errorf("%d MB in use after %d MB of frames were pushed, with ReplayBytes 2 MiB and PushBuffer 1 MiB",
			held>>20, n*e.FrameBytes()>>20)
	}
}

// TestPushRefuses: a frame of the wrong size, audio that is too long or not
// whole samples, a stopped stream, a done context.
func TestPushRefuses(t *testing.T) {
	s, _ := newStream(t)
	ctx := context.Background()
	v := make([]byte, enc.FrameBytes())
	for _, c := range []struct {
		name         string
		video, audio []byte
	}{
		{"short frame", v[:10], nil},
		{"long audio", v, make([]byte, enc.MaxChunkBytes()+2)},
		{"half a sample", v, make([]byte, 3)},
	} {
		if err := s.Push(ctx, c.video, c.audio); !errors.Is(err, live.ErrBadInput) {
			t.Errorf("%s: %v, want ErrBadInput", c.name, err)
		}
	}
	// Not running: the buffer fills, then Push waits for the context.
	full, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var err error
	for k := 0; k < 64<<20/len(v)+2 && err == nil; k++ {
		err = s.Push(full, make([]byte, len(v)), nil)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Push into a full buffer: %v, want the context's error", err)
	}
	s.Stop()
	if err := s.Push(ctx, v, nil); !errors.Is(err, live.ErrStopped) {
		t.Errorf("Push after Stop: %v, want ErrStopped", err)
	}
}

// A program that renders its own frames (a talking head, say) pushes each
// with the audio that goes with it; Push holds it to the stream's pace.
func ExampleStream_Push() {
	out := filepath.Join(os.TempDir(), fmt.Sprintf("livepush-push-example-%d.flv", os.Getpid()))
	defer os.Remove(out)
	s, err := live.New(live.Config{
		Config: orchestrator.Config{Output: out, Encoding: enc},
		Image:  solid(0, 0, 0), // on air until the first frame is pushed
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()

	for k := 0; k < 50; k++ { // two seconds
		video := make([]byte, enc.FrameBytes()) // bgr24, the stream's size
		for i := range video {
			video[i] = byte(k * 5)
		}
		audio := tone(440, time.Second/time.Duration(enc.FPS)) // one frame's sound
		if err := s.Push(context.Background(), video, audio); err != nil {
			fmt.Println(err)
			return
		}
	}
	for s.Frame().Pix[0] != 49*5 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("on air:", s.Status().Showing)
	s.Stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// on air: pushed
	// stopped: <nil>
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
	}
}

// decode returns the mean luma of each video frame of the recording and its
// audio as mono s16le at the stream's rate, both from the stream's start:
// the stream that starts later is padded at its front to line up.
func decode(t *testing.T, path string) ([]float64, []byte) {
	t.Helper()
	vStart, aStart := startTime(t, path, "v:0"), startTime(t, path, "a:0")
	raw, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
	if err != nil {
		t.Fatalf("decoding video: %v", err)
	}
	px := enc.Width * enc.Height
	var lum []float64
	for i := 0; i+px <= len(raw); i += px {
		var sum int
		for _, b := range raw[i : i+px] {
			sum += int(b)
		}
		lum = append(lum, float64(sum)/float64(px))
	}
	pcm, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "s16le", "-ac", "1",
		"-ar", strconv.Itoa(enc.SampleRate), "-").Output()
	if err != nil {
		t.Fatalf("decoding audio: %v", err)
	}
	// Line both up on the earlier start.
	if d := aStart - vStart; d > 0 {
		pcm = append(make([]byte, 2*int(d*float64(enc.SampleRate))), pcm...)
	} else if d < 0 {
		lum = append(make([]float64, int(-d*float64(enc.FPS)+0.5)), lum...)
	}
	return lum, pcm
}

func startTime(t *testing.T, path, stream string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "stream=start_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", stream, err)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("start time of %s: %q", stream, out)
	}
	return v
}

// onsets are the indexes where on becomes true after being false.
func onsets(n int, on func(int) bool) []int {
	var at []int
	was := false
	for i := 0; i < n; i++ {
		if o := on(i); o && !was {
			at = append(at, i)
			was = true
		} else if !o {
			was = false
		}
	}
	return at
}

func rms(pcm []byte) float64 {
	var sum float64
	for i := 0; i+1 < len(pcm); i += 2 {
		v := float64(int16(binary.LittleEndian.Uint16(pcm[i:]))) / 32768
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)/2))
}
