package orchestrator

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator/talk"
)

// Benchmarks of the write path, unpaced: the cost of moving one unit from a
// track into a FIFO that a goroutine drains, as ffmpeg would. Compare
// splice=true with splice=false for what vmsplice saves, and the sizes for
// how the cost grows with the frame.
//
//	go test -run - -bench . -benchmem ./orchestrator

// drain reads the FIFO at path until EOF, as ffmpeg's demuxer does, in reads
// of up to a frame.
func drain(b *testing.B, path string, frame int) chan error {
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_RDONLY, 0)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		buf := make([]byte, frame)
		for {
			if _, err := f.Read(buf); err != nil {
				if err == io.EOF {
					err = nil
				}
				done <- err
				return
			}
		}
	}()
	return done
}

// BenchmarkFeedVideo is feed writing a still frame b.N times: the track, the
// pacer (unpaced) and the pipe writer together.
func BenchmarkFeedVideo(b *testing.B) {
	for _, size := range []struct{ w, h int }{{256, 256}, {1280, 720}, {1920, 1080}} {
		for _, splice := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dx%d/splice=%v", size.w, size.h, splice), func(b *testing.B) {
				frame := make([]byte, size.w*size.h*3)
				for i := range frame {
					frame[i] = byte(i)
				}
				tr := newTrack("video", 50, videoFill(sourceFunc(func() ([]byte, error) { return frame, nil }), len(frame), 1))
				tr.splice = splice
				tr.pipeSize = videoPipeSize(len(frame))
				pd, err := newPipeDir()
				if err != nil {
					b.Fatal(err)
				}
				defer pd.remove()
				done := drain(b, pd.video, len(frame))
				p := newPacer(time.Now(), 0, 25, false, nil)
				b.SetBytes(int64(len(frame)))
				b.ReportAllocs()
				b.ResetTimer()
				res := feed(context.Background(), context.Background(), pd.video, tr, 0, int64(b.N), p)
				b.StopTimer()
				if res.err != nil || res.next != int64(b.N) {
					b.Fatalf("feed: %d of %d, %v", res.next, b.N, res.err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkAudioChunk is one frame's worth of PCM (24 kHz mono, 25 fps) taken
// from the source into the replay ring.
func BenchmarkAudioChunk(b *testing.B) {
	e := Encoding{SampleRate: 24000, FPS: 25, Channels: 1}
	tr := newTrack("audio", 750, audioFill(zeroReader{}, e, discardLogger()))
	n := int64(0)
	for ; n < 750; n++ { // the ring's slots once (the supervisor preallocates them)
		tr.unit(n)
	}
	b.SetBytes(int64(e.MaxChunkBytes()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.unit(n); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// BenchmarkPipeWriter1280x720 is one 720p frame through pipeWriter into an
// anonymous pipe of the default 64 KiB, drained by a goroutine.
func BenchmarkPipeWriter1280x720(b *testing.B) {
	for _, splice := range []bool{true, false} {
		b.Run(fmt.Sprintf("splice=%v", splice), func(b *testing.B) {
			r, wf, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			frame := make([]byte, 1280*720*3)
			w, err := newPipeWriter(wf, splice)
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				io.Copy(io.Discard, r)
			}()
			one := [][]byte{frame}
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.WriteUnits(one); err != nil {
					b.Fatal(err)
				}
			}
			wf.Close()
			<-done
			r.Close()
		})
	}
}

// burstReader is endless s16le mono: a loud square wave for half of each
// second, silence for the other half.
type burstReader struct{ rate, i int }

func (r *burstReader) Read(p []byte) (int, error) {
	for k := 0; k+1 < len(p); k += 2 {
		var v int16
		if r.i%r.rate < r.rate/2 {
			v = 8000
			if r.i%48 < 24 {
				v = -8000
			}
		}
		p[k], p[k+1] = byte(v), byte(uint16(v)>>8)
		r.i++
	}
	return len(p) &^ 1, nil
}

// BenchmarkFrameSources is one frame taken into both tracks' rings, 1280x720
// at 25 fps with 24 kHz mono speech that starts and stops every half
// second: "still" is a still picture and the audio read apart, "talking"
// the same audio choosing each frame's picture (package talk) through a
// Pair. Compare the two for what a talking picture costs a frame; both
// must allocate nothing.
func BenchmarkFrameSources(b *testing.B) {
	e := Encoding{Width: 1280, Height: 720, FPS: 25, SampleRate: 24000, Channels: 1}
	pic := func(v byte) *frames.Frame {
		f := &frames.Frame{Width: e.Width, Height: e.Height, Pix: make([]byte, e.FrameBytes())}
		for i := range f.Pix {
			f.Pix[i] = v
		}
		return f
	}
	idle, open := pic(10), pic(200)
	run := func(b *testing.B, video VideoSource, audio AudioSource) {
		v := newTrack("video", 750, videoFill(video, e.FrameBytes(), e.FPS))
		a := newTrack("audio", 750, audioFill(audio, e, discardLogger()))
		chunk := e.MaxChunkBytes()
		backing := make([]byte, 750*chunk)
		for i := range a.ring {
			a.ring[i] = backing[i*chunk : i*chunk : (i+1)*chunk]
		}
		n := int64(0)
		for ; n < 750; n++ { // fill the rings once
			a.unit(n)
			v.unit(n)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.unit(n); err != nil {
				b.Fatal(err)
			}
			if _, err := v.unit(n); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.Run("still", func(b *testing.B) {
		run(b, sourceFunc(func() ([]byte, error) { return idle.Pix, nil }), &burstReader{rate: e.SampleRate})
	})
	b.Run("talking", func(b *testing.B) {
		face, err := talk.New(talk.Config{Width: e.Width, Height: e.Height, FPS: e.FPS, Idle: idle, Talk: open})
		if err != nil {
			b.Fatal(err)
		}
		fill := ChunkFiller(&burstReader{rate: e.SampleRate}, e, discardLogger())
		pair := NewPair(e, func(n int64, audio []byte) ([]byte, error) {
			if err := fill(n, audio); err != nil {
				return nil, err
			}
			return face.Frame(n, audio).Pix, nil
		})
		run(b, pair.Video(), pair.Audio())
	})
}
