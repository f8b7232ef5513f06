package orchestrator

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"
)

// TestPairGivesBothHalvesOfAFrame: whichever writer asks first, each gets
// frame n's half, made once; one far ahead of the other does not wait.
func TestPairGivesBothHalvesOfAFrame(t *testing.T) {
	e := Encoding{Width: 2, Height: 2, FPS: 25, SampleRate: 24000, Channels: 1}
	made := 0
	pics := make([][]byte, 300)
	p := NewPair(e, func(n int64, audio []byte) ([]byte, error) {
		made++
		binary.LittleEndian.PutUint64(audio, uint64(n))
		pics[n] = make([]byte, e.FrameBytes())
		pics[n][0] = byte(n)
		return pics[n], nil
	})
	video, audio := p.Video(), p.Audio()
	buf := make([]byte, e.ChunkBytes(0))
	// Audio 250 frames ahead (past the kept 100), then video catches up,
	// then both in step from two goroutines.
	for n := int64(0); n < 250; n++ {
		if err := audio.ReadChunk(n, buf); err != nil || binary.LittleEndian.Uint64(buf) != uint64(n) {
			t.Fatalf("chunk %d: %d, %v", n, binary.LittleEndian.Uint64(buf), err)
		}
	}
	for n := 0; n < 250; n++ {
		if f, err := video.NextFrame(); err != nil || &f[0] != &pics[n][0] {
			t.Fatalf("frame %d: not its own picture (%v)", n, err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for n := 250; n < 300; n++ {
			if f, err := video.NextFrame(); err != nil || f[0] != byte(n) {
				t.Errorf("frame %d: %v", n, err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		b := make([]byte, e.ChunkBytes(0))
		for n := int64(250); n < 300; n++ {
			if err := audio.ReadChunk(n, b); err != nil || binary.LittleEndian.Uint64(b) != uint64(n) {
				t.Errorf("chunk %d: %v", n, err)
				return
			}
		}
	}()
	wg.Wait()
	if made != 300 {
		t.Errorf("made %d frames for 300", made)
	}
	if err := audio.ReadChunk(5, buf); err == nil {
		t.Error("a frame out of order was served")
	}
}

func TestPairFailure(t *testing.T) {
	e := Encoding{Width: 2, Height: 2, FPS: 25, SampleRate: 24000, Channels: 1}
	boom := errors.New("boom")
	p := NewPair(e, func(n int64, audio []byte) ([]byte, error) {
		if n == 2 {
			return nil, boom
		}
		return make([]byte, 5), nil // the wrong size
	})
	if _, err := p.Video().NextFrame(); err == nil {
		t.Error("a picture of the wrong size was served")
	}
	if err := p.Audio().ReadChunk(0, make([]byte, e.ChunkBytes(0))); err == nil {
		t.Error("the other writer did not see the failure")
	}
}

func TestPairSteadyStateAllocs(t *testing.T) {
	e := Encoding{Width: 16, Height: 16, FPS: 25, SampleRate: 24000, Channels: 1}
	pic := make([]byte, e.FrameBytes())
	p := NewPair(e, func(int64, []byte) ([]byte, error) { return pic, nil })
	video, audio := p.Video(), p.Audio()
	buf := make([]byte, e.MaxChunkBytes())
	n := int64(0)
	if a := testing.AllocsPerRun(500, func() {
		audio.ReadChunk(n, buf[:e.ChunkBytes(n)])
		video.NextFrame()
		n++
	}); a != 0 {
		t.Errorf("%v allocations a frame", a)
	}
}
