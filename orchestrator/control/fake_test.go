package control

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg"
	"image/png"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator/live"
	"github.com/livepush/livepush/orchestrator/talk"
)

// fakeStream records calls and answers with canned results. SpeakFile and
// SetImageFile decode the uploaded file, as the real stream does, so a test
// sees that the body arrived whole in a private file.
type fakeStream struct {
	mu sync.Mutex

	queued   live.Queued
	speakErr error
	dropErr  error
	imageErr error
	cut      bool
	status   live.Status
	frame    *frames.Frame

	speakCalls  int
	interrupt   bool
	wavFormat   frames.WAVFormat
	wavErr      error
	uploadMode  os.FileMode
	uploadPaths []string
	imageCalls  int
	imageName   string
	imageRole   talk.Role
	imageSize   image.Point
	imageErrDec error
	dropped     []string
	interrupts  int
	stops       int

	subs   []chan live.Event
	unsubs int
}

func (f *fakeStream) noteUpload(path string) {
	if fi, err := os.Stat(path); err == nil {
		f.uploadMode = fi.Mode().Perm()
	}
	f.uploadPaths = append(f.uploadPaths, path)
}

func (f *fakeStream) SpeakFile(path string, interrupt bool) (live.Queued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.speakCalls++
	f.interrupt = interrupt
	f.noteUpload(path)
	w, err := frames.OpenWAV(path)
	f.wavErr = err
	if err == nil {
		f.wavFormat = w.Format()
		w.Close()
	}
	if f.speakErr != nil {
		return live.Queued{}, f.fail(f.speakErr, path)
	}
	return f.queued, nil
}

func (f *fakeStream) Interrupt() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.interrupts++
	return f.cut
}

func (f *fakeStream) Drop(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropped = append(f.dropped, id)
	return f.dropErr
}

func (f *fakeStream) SetPictureFile(role talk.Role, path, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imageCalls++
	f.imageName = name
	f.imageRole = role
	f.noteUpload(path)
	fh, err := os.Open(path)
	if err == nil {
		var cfg image.Config
		cfg, _, err = image.DecodeConfig(fh)
		fh.Close()
		f.imageSize = image.Pt(cfg.Width, cfg.Height)
	}
	f.imageErrDec = err
	return f.fail(f.imageErr, path)
}

// fail returns err, or for an errPath a bad-input error naming path, as
// the real stream's errors do.
func (f *fakeStream) fail(err error, path string) error {
	if ep, ok := err.(errPath); ok {
		return fmt.Errorf(ep.format, live.ErrBadInput, path)
	}
	return err
}

func (f *fakeStream) Status() live.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeStream) Frame() *frames.Frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frame
}

func (f *fakeStream) setFrame(fr *frames.Frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frame = fr
}

func (f *fakeStream) setStatus(st live.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = st
}

func (f *fakeStream) Subscribe() (<-chan live.Event, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan live.Event, 16)
	f.subs = append(f.subs, ch)
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.unsubs++
			for i, c := range f.subs {
				if c == ch {
					f.subs = append(f.subs[:i], f.subs[i+1:]...)
					break
				}
			}
		})
	}
}

func (f *fakeStream) publish(ev live.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.subs {
		c <- ev
	}
}

func (f *fakeStream) counts() (subs, unsubs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs), f.unsubs
}

func (f *fakeStream) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops++
}

// wavBytes is a real PCM WAV: 16-bit mono at rate, a sine-ish ramp.
func wavBytes(t testing.TB, rate, frames int) []byte {
	t.Helper()
	var b bytes.Buffer
	data := frames * 2
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(1)) // PCM
	binary.Write(&b, le, uint16(1)) // mono
	binary.Write(&b, le, uint32(rate))
	binary.Write(&b, le, uint32(rate*2))
	binary.Write(&b, le, uint16(2))
	binary.Write(&b, le, uint16(16))
	b.WriteString("data")
	binary.Write(&b, le, uint32(data))
	for i := range frames {
		binary.Write(&b, le, int16((i%200-100)*300))
	}
	return b.Bytes()
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
