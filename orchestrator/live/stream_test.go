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
	"strings"
	"testing"
	"time"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/live"
)

var enc = orchestrator.Encoding{Width: 64, Height: 64, FPS: 25, GOP: 25, SampleRate: 24000, Channels: 1, Preset: "ultrafast"}

// requireFFmpeg skips without ffmpeg, or fails where a missing tool must not
// pass unseen (CI, LIVEPUSH_REQUIRE_TOOLS).
func requireFFmpeg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		return
	}
	for _, v := range []string{"CI", "LIVEPUSH_REQUIRE_TOOLS"} {
		if s := strings.ToLower(os.Getenv(v)); s != "" && s != "0" && s != "false" && s != "no" {
			t.Fatal("ffmpeg not on PATH (apt-get install ffmpeg) [" + v + " is set, so this is a failure, not a skip]")
		}
	}
	t.Skip("ffmpeg not on PATH")
}

// solid is a frame of one colour, given in B, G, R order.
func solid(b, g, r byte) *frames.Frame {
	f := &frames.Frame{Width: enc.Width, Height: enc.Height, Pix: make([]byte, enc.FrameBytes())}
	for i := 0; i < len(f.Pix); i += 3 {
		f.Pix[i], f.Pix[i+1], f.Pix[i+2] = b, g, r
	}
	return f
}

// tone is s16le mono PCM of a sine at the stream's rate.
func tone(freq float64, d time.Duration) []byte {
	n := int(d.Seconds() * float64(enc.SampleRate))
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		v := 0.4 * math.Sin(2*math.Pi*freq*float64(i)/float64(enc.SampleRate))
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(v*32767)))
	}
	return b
}

func newStream(t *testing.T) (*live.Stream, string) {
	t.Helper()
	requireFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.ts")
	s, err := live.New(live.Config{Config: orchestrator.Config{Output: out, Encoding: enc}, Image: solid(0, 200, 0), ImageName: "green"})
	if err != nil {
		t.Fatal(err)
	}
	return s, out
}

// next waits for the next event of one of kinds, skipping others.
func next(t *testing.T, ev <-chan live.Event, kinds ...string) live.Event {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				t.Fatalf("events ended while waiting for %v", kinds)
			}
			for _, k := range kinds {
				if e.Kind == k {
					return e
				}
			}
		case <-timeout:
			t.Fatalf("no %v within 20 s", kinds)
		}
	}
}

// TestStreamControl: clips air in order and back to back, an interrupt cuts
// one, a picture is swapped, and Status follows; after Stop nothing more is
// taken and the events end.
func TestStreamControl(t *testing.T) {
	s, out := newStream(t)
	ev, unsubscribe := s.Subscribe()
	defer unsubscribe()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(context.Background()) }()

	a, err := s.SpeakPCM(tone(600, 400*time.Millisecond), false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SpeakPCM(tone(900, 300*time.Millisecond), false)
	if err != nil {
		t.Fatal(err)
	}
	if a.Duration != 400*time.Millisecond || b.StartsIn < 300*time.Millisecond || b.Queued != 700*time.Millisecond {
		t.Errorf("queued %+v then %+v: want 0.4 s, then 0.3 s starting after A (0.7 s queued in all)", a, b)
	}
	sa := next(t, ev, live.SpeechStarted)
	fa := next(t, ev, live.SpeechFinished)
	sb := next(t, ev, live.SpeechStarted)
	if sa.ID != a.ID || fa.ID != a.ID || sb.ID != b.ID || sb.Media != fa.Media || fa.Media-sa.Media != 400*time.Millisecond {
		t.Errorf("events %+v %+v %+v: want A for 0.4 s, then B at once", sa, fa, sb)
	}
	next(t, ev, live.SpeechFinished)
	if err := s.SetImage(solid(0, 0, 220), "red"); err != nil {
		t.Fatal(err)
	}
	next(t, ev, live.ImageChanged)
	c, err := s.SpeakPCM(tone(1200, 10*time.Second), false)
	if err != nil {
		t.Fatal(err)
	}
	next(t, ev, live.SpeechStarted)
	if st := s.Status(); st.State != "speaking" || st.Current == nil || st.Current.ID != c.ID || st.Image != "red" {
		t.Errorf("Status while C airs: %+v", st)
	}
	if !s.Interrupt() {
		t.Error("Interrupt() = false while a clip aired")
	}
	cut := next(t, ev, live.SpeechCut, live.SpeechFinished)
	if cut.Kind != live.SpeechCut || cut.ID != c.ID {
		t.Errorf("after the interrupt: %+v, want C cut", cut)
	}
	if err := s.Drop("nosuchclip"); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("Drop(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.SetImage(&frames.Frame{Width: 2, Height: 2, Pix: make([]byte, 12)}, "tiny"); !errors.Is(err, live.ErrBadInput) {
		t.Errorf("SetImage(2x2) = %v, want ErrBadInput", err)
	}
	if st := s.Status(); st.Speaking || st.Current != nil || st.BehindLive != 0 || st.ClipsAired != 3 ||
		st.Frames == 0 || st.Bytes < st.Frames*int64(enc.FrameBytes()) {
		t.Errorf("Status after the cut: %+v, want idle, nothing behind, 3 clips aired, frames and bytes counted", st)
	}

	s.Stop()
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v after Stop", err)
	}
	if _, err := s.SpeakPCM(tone(600, time.Second), false); !errors.Is(err, live.ErrStopped) {
		t.Errorf("SpeakPCM after the stream ended = %v, want ErrStopped", err)
	}
	for range ev { // the channel closes with the stream
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("output: %v", err)
	}
}

// TestNewRefuses: a picture of the wrong size, or none, is refused.
func TestNewRefuses(t *testing.T) {
	requireFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.ts")
	for _, img := range []*frames.Frame{nil, {Width: 2, Height: 2, Pix: make([]byte, 12)}} {
		if _, err := live.New(live.Config{Config: orchestrator.Config{Output: out, Encoding: enc}, Image: img}); !errors.Is(err, orchestrator.ErrInvalidConfig) {
			t.Errorf("New with picture %v = %v, want ErrInvalidConfig", img, err)
		}
	}
}

// A program that speaks through a live stream: it queues a clip and waits
// until it has aired.
func Example() {
	out := filepath.Join(os.TempDir(), fmt.Sprintf("livepush-example-%d.ts", os.Getpid()))
	defer os.Remove(out)
	s, err := live.New(live.Config{
		Config: orchestrator.Config{
			Output:   out, // or rtmp://host/app/KEY
			Encoding: enc,
		},
		Image: solid(0, 200, 0),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	events, unsubscribe := s.Subscribe()
	defer unsubscribe()
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()

	q, err := s.SpeakPCM(tone(440, 500*time.Millisecond), false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("queued", q.Duration)
	for e := range events {
		if e.ID == q.ID {
			fmt.Println(e.Kind)
		}
		if e.Kind == live.SpeechFinished {
			break
		}
	}
	s.Stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// queued 500ms
	// speech_started
	// speech_finished
	// stopped: <nil>
}
