package orchestrator

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
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
