package orchestrator

import (
	"fmt"
	"sync"
)

// MakeFrame makes frame n: it fills audio, Encoding.ChunkBytes(n) long,
// with the frame's sound and returns its picture, Encoding.FrameBytes
// long, which must not be changed afterwards (return the same slice to
// repeat a picture). It must not block: it runs on the pacing path.
type MakeFrame func(n int64, audio []byte) (video []byte, err error)

// Pair is a video and an audio source made from one MakeFrame, for a
// picture that follows the sound (a talking avatar) or sound that follows
// the pictures (frames pushed with their audio). The two writers ask for
// each frame at about the same time, in either order; the first to ask
// makes it, and the other finds its half kept. Nothing is allocated per
// frame.
type Pair struct {
	make MakeFrame
	e    Encoding

	mu     sync.Mutex
	chunks [][]byte // made audio, by frame number modulo len
	pics   [][]byte // made pictures, likewise
	made   int64    // frames made so far
	v, a   int64    // the next frame each writer takes
	err    error    // MakeFrame's failure, for both writers
}

// pairAhead is how far, in seconds, one writer may run ahead of the other
// before the kept frames need more memory: more than ffmpeg's input queues
// let them part. The one in front never waits for the other, which may
// have stopped (ffmpeg exited) and come back only after a restart.
const pairAhead = 4

// NewPair returns the sources of mk's frames at e's sizes.
func NewPair(e Encoding, mk MakeFrame) *Pair {
	k := pairAhead * e.FPS
	return &Pair{make: mk, e: e, chunks: newChunks(k, e.MaxChunkBytes()), pics: make([][]byte, k)}
}

func newChunks(k, size int) [][]byte {
	backing := make([]byte, k*size)
	c := make([][]byte, k)
	for i := range c {
		c[i] = backing[i*size : (i+1)*size]
	}
	return c
}

// Video is the pair's VideoSource.
func (p *Pair) Video() VideoSource { return pairVideo{p} }

// Audio is the pair's AudioSource (a ChunkReader).
func (p *Pair) Audio() ChunkReader { return pairAudio{p} }

// frame makes frames up to n if needed and returns slot n's index. mine is
// the caller's position, theirs the other writer's.
func (p *Pair) frame(n int64, mine, theirs *int64) (int, error) {
	if n != *mine {
		return 0, fmt.Errorf("pair: frame %d asked for, %d is next", n, *mine)
	}
	if p.err != nil {
		return 0, p.err
	}
	for p.made <= n {
		if p.made-int64(len(p.chunks)) >= *theirs {
			p.grow(*theirs) // the slot to reuse is not taken yet
		}
		i := p.made % int64(len(p.chunks))
		chunk := p.chunks[i][:p.e.ChunkBytes(p.made)]
		pic, err := p.make(p.made, chunk)
		if err == nil && len(pic) != p.e.FrameBytes() {
			err = fmt.Errorf("frame %d: picture of %d bytes, want %d", p.made, len(pic), p.e.FrameBytes())
		}
		if err != nil {
			p.err = err
			return 0, err
		}
		p.pics[i] = pic
		p.made++
	}
	*mine = n + 1
	return int(n % int64(len(p.chunks))), nil
}

// grow doubles the kept frames, moving those from oldest on to their new
// slots.
func (p *Pair) grow(oldest int64) {
	k := 2 * len(p.chunks)
	chunks, pics := newChunks(k, p.e.MaxChunkBytes()), make([][]byte, k)
	for f := oldest; f < p.made; f++ {
		from, to := f%int64(len(p.chunks)), f%int64(k)
		copy(chunks[to], p.chunks[from])
		pics[to] = p.pics[from]
	}
	p.chunks, p.pics = chunks, pics
}

type pairVideo struct{ p *Pair }

// NextFrame implements VideoSource, which is asked for every frame once,
// in order.
func (v pairVideo) NextFrame() ([]byte, error) {
	p := v.p
	p.mu.Lock()
	defer p.mu.Unlock()
	i, err := p.frame(p.v, &p.v, &p.a)
	if err != nil {
		return nil, err
	}
	pic := p.pics[i]
	if p.a >= p.v {
		p.pics[i] = nil // both have it: hold no picture longer than needed
	}
	return pic, nil
}

type pairAudio struct{ p *Pair }

// Read is never used: the supervisor reads a ChunkReader by ReadChunk.
func (a pairAudio) Read([]byte) (int, error) {
	return 0, fmt.Errorf("pair: audio is read by frame (ReadChunk)")
}

// ReadChunk implements ChunkReader.
func (a pairAudio) ReadChunk(n int64, buf []byte) error {
	p := a.p
	p.mu.Lock()
	defer p.mu.Unlock()
	i, err := p.frame(n, &p.a, &p.v)
	if err != nil {
		return err
	}
	copy(buf, p.chunks[i])
	if p.v >= p.a {
		p.pics[i] = nil
	}
	return nil
}
