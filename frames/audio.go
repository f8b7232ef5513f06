package frames

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// blockFrames is how many WAV frames are decoded at a time: small enough to
// keep memory flat for any length of file (256 KiB of float32 in stereo),
// large enough that a realtime stream reads its file about once a second:
// every read(2) wakes the Go runtime's sysmon thread, which with blocks of a
// few thousand frames costs more than the audio itself.
const blockFrames = 1 << 14

// maxLoopPCM bounds the converted PCM of one pass that a looping PCM holds
// in memory instead of decoding and resampling its file again on every
// pass: 16 MiB is 5.8 minutes of 24 kHz mono output (TTS clips and jingles
// fit many times over), and keeps a looping 720p stream within the 50 MB of
// RSS that scripts/bench.sh allows it. Longer files stream as they would
// without a loop.
const maxLoopPCM = 16 << 20

// PCM reads a WAV file as a stream and turns it into interleaved s16le PCM at
// an output rate and channel count: it mixes the channels down (or up), and
// resamples with a band-limited filter. It streams the file, except that a
// looping PCM whose pass fits in maxLoopPCM converts it once, when opened,
// and then loops over the result.
type PCM struct {
	wav      *WAV
	rs       *Resampler
	in, out  int // channel counts
	loop     bool
	samples  int64 // output frames in one pass of the file
	flushed  bool  // the resampler's tail has been taken for this pass
	dec, mix []float32
	res      []float32
	share    []float32 // weight of an input channel on its output channel
	pending  []byte    // converted PCM not yet returned by Read
	cut      error     // the file was cut: returned by Read once pending is read
	buf      []byte    // backing store of pending

	// One pass of converted PCM, when held in memory (mem != nil): Read
	// loops over it. memCut is where a cut found while converting is
	// reported (memErr, once).
	mem        []byte
	memPos     int
	memCut     int
	memErr     error
	preloading bool
	passes     int // passes decoded from the file, for tests
}

// OpenPCM opens the WAV at path for reading as PCM at rate Hz with channels
// channels. With loop set, the audio repeats forever.
func OpenPCM(path string, rate, channels int, loop bool) (*PCM, error) {
	p, err := openStreamPCM(path, rate, channels, loop)
	if err != nil {
		return nil, err
	}
	if loop && p.samples*int64(p.out)*2 <= maxLoopPCM {
		if err := p.preload(); err != nil {
			p.Close()
			return nil, fmt.Errorf("audio %q: %w", path, err)
		}
	}
	return p, nil
}

// openStreamPCM opens a PCM that streams its file.
func openStreamPCM(path string, rate, channels int, loop bool) (*PCM, error) {
	w, err := OpenWAV(path)
	if err != nil {
		return nil, err
	}
	f := w.Format()
	rs, err := NewResampler(f.SampleRate, rate, channels)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("audio %q: %w", path, err)
	}
	// Each output averages the inputs that land on it, rather than summing them.
	share := make([]float32, channels)
	for c := range share {
		k := 0
		for i := c; i < f.Channels; i += channels {
			k++
		}
		share[c] = 1 / float32(max(k, 1))
	}
	return &PCM{
		share:   share,
		wav:     w,
		rs:      rs,
		in:      f.Channels,
		out:     channels,
		loop:    loop,
		samples: (f.Frames*int64(rate) + int64(f.SampleRate) - 1) / int64(f.SampleRate),
		dec:     make([]float32, blockFrames*f.Channels),
		mix:     make([]float32, blockFrames*channels),
	}, nil
}

// Samples is the number of output frames (samples per channel) the stream
// holds, or -1 when it loops forever.
func (p *PCM) Samples() int64 {
	if p.loop {
		return -1
	}
	return p.samples
}

// Format describes the WAV file being read.
func (p *PCM) Format() WAVFormat { return p.wav.Format() }

// Close closes the WAV file.
func (p *PCM) Close() error { return p.wav.Close() }

// Read implements io.Reader, returning s16le PCM. A file cut while it is
// read (see ErrTruncated) is reported once, after the audio it still held:
// Read returns an error matching ErrTruncated and io.ErrUnexpectedEOF, and
// then, without a loop, io.EOF; with a loop it goes on, looping over what
// is left of the file. Samples stays as it was.
func (p *PCM) Read(b []byte) (int, error) {
	if p.mem != nil {
		return p.readMem(b)
	}
	for len(p.pending) == 0 {
		if err := p.cut; err != nil {
			p.cut = nil
			return 0, err
		}
		if err := p.refill(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

// preload converts one pass of the file into p.mem with refill, block by
// block as a stream would, so that looping over it gives the very same
// samples, and notes where a cut was found.
func (p *PCM) preload() error {
	mem := make([]byte, 0, p.samples*int64(p.out)*2)
	p.memCut = -1
	p.preloading = true
	defer func() { p.preloading = false }()
	for {
		err := p.refill()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		mem = append(mem, p.pending...)
		p.pending = nil
		if p.cut != nil {
			p.memCut, p.memErr, p.cut = len(mem), p.cut, nil
		}
	}
	p.mem = mem
	p.dec, p.mix, p.res, p.buf = nil, nil, nil, nil
	return nil
}

// readMem is Read over the pass held in memory.
func (p *PCM) readMem(b []byte) (int, error) {
	if p.memPos == p.memCut && p.memErr != nil {
		err := p.memErr
		p.memErr = nil
		return 0, err
	}
	end := len(p.mem)
	if p.memErr != nil {
		end = p.memCut
	}
	if p.memPos == end {
		if len(p.mem) == 0 {
			return 0, io.EOF // cut to nothing: nothing to loop over
		}
		p.memPos = 0
	}
	n := copy(b, p.mem[p.memPos:end])
	p.memPos += n
	return n, nil
}

// refill decodes, mixes and resamples one block into pending.
func (p *PCM) refill() error {
	n, err := p.wav.ReadFrames(p.dec)
	p.res = p.res[:0]
	if n > 0 {
		p.res = p.rs.Process(p.res, p.downmix(p.dec[:n*p.in], n))
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrTruncated):
		// What the file held is played out, as at its end; the WAV now
		// ends where it was cut.
		if p.loop && p.wav.Format().Frames > 0 {
			err = fmt.Errorf("%w; looping over the %.1f s left", err, float64(p.wav.Format().Frames)/float64(p.wav.Format().SampleRate))
		}
		p.cut = err
		p.res = p.rs.Flush(p.res)
		p.flushed = true
	case err == io.EOF && !p.flushed:
		p.res = p.rs.Flush(p.res)
		p.flushed = true
		p.passes++
	case err == io.EOF && p.loop && p.wav.Format().Frames == 0:
		return io.EOF // cut to nothing: nothing to loop over
	case err == io.EOF && p.loop && !p.preloading:
		if err := p.wav.Rewind(); err != nil {
			return err
		}
		p.rs.Reset()
		p.flushed = false
		return nil
	case err != nil:
		return err
	}
	p.pending = p.toS16(p.res)
	return nil
}

// downmix maps n frames of p.in channels onto p.out channels: a mono output
// averages every input channel, a mono input is copied to every output, and
// otherwise input channel i goes to output i mod out, averaged.
func (p *PCM) downmix(in []float32, n int) []float32 {
	if p.in == p.out {
		return in
	}
	mix := p.mix[:n*p.out]
	clear(mix)
	if p.in == 1 {
		for i := 0; i < n; i++ {
			for c := 0; c < p.out; c++ {
				mix[i*p.out+c] = in[i]
			}
		}
		return mix
	}
	if p.in == 2 && p.out == 1 {
		// The common case, without the general loop's index arithmetic:
		// the same sums (but for the sign of a zero).
		s := p.share[0]
		in = in[:2*n]
		for i := range mix {
			mix[i] = in[2*i]*s + in[2*i+1]*s
		}
		return mix
	}
	for i := 0; i < n; i++ {
		frame := in[i*p.in : (i+1)*p.in]
		for ch, v := range frame {
			mix[i*p.out+ch%p.out] += v * p.share[ch%p.out]
		}
	}
	return mix
}

// toS16 converts samples to s16le in p.buf, clipping what overshoots.
func (p *PCM) toS16(s []float32) []byte {
	if cap(p.buf) < 2*len(s) {
		p.buf = make([]byte, 2*len(s))
	}
	out := p.buf[:2*len(s)]
	for i, v := range s {
		x := math.Round(float64(v) * 32768)
		x = max(-32768, min(32767, x))
		binary.LittleEndian.PutUint16(out[2*i:], uint16(int16(x)))
	}
	return out
}
