package frames

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

// readPasses reads n bytes of p in reads of odd sizes, up to its first error.
func readPasses(p *PCM, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 1237)
	for len(out) < n {
		k, err := p.Read(buf[:min(len(buf), n-len(out))])
		out = append(out, buf[:k]...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// TestPCMLoopInMemoryExact: a looping PCM held in memory gives the very
// samples the streaming path gives, pass after pass.
func TestPCMLoopInMemoryExact(t *testing.T) {
	for _, c := range []struct {
		tag                  uint16
		inCh, inRate, bits   int
		seconds              float64
		outRate, outChannels int
	}{
		{tagPCM, 2, 44100, 16, 1.3, 24000, 1},
		{tagPCM, 2, 48000, 16, 1.3, 24000, 1},
		{tagPCM, 1, 24000, 16, 0.7, 24000, 1},
		{tagPCM, 1, 16000, 8, 0.9, 24000, 2},
		{tagPCM, 2, 22050, 24, 0.5, 48000, 2},
		{tagFloat, 3, 44101, 32, 0.4, 24000, 1},
	} {
		t.Run(fmt.Sprintf("%dch-%d-%dbit-to-%d-%dch", c.inCh, c.inRate, c.bits, c.outRate, c.outChannels), func(t *testing.T) {
			frames := int(c.seconds * float64(c.inRate))
			data := ramp(frames * c.inCh * c.bits / 8)
			if c.tag == tagFloat {
				data = floatRamp(frames * c.inCh)
			}
			path := writeFile(t, "a.wav", simpleWAV(c.tag, c.inCh, c.inRate, c.bits, data))
			mem, err := OpenPCM(path, c.outRate, c.outChannels, true)
			if err != nil {
				t.Fatal(err)
			}
			defer mem.Close()
			if mem.mem == nil {
				t.Fatal("a short looping file is not held in memory")
			}
			str, err := openStreamPCM(path, c.outRate, c.outChannels, true)
			if err != nil {
				t.Fatal(err)
			}
			defer str.Close()
			n := int(3.5 * float64(2*c.outChannels) * float64(str.samples))
			want, err := readPasses(str, n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readPasses(mem, n)
			if err != nil {
				t.Fatal(err)
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("in memory, byte %d of %d differs from the streamed PCM", i, n)
			}
		})
	}
}

// floatRamp returns n float32 samples in [-1, 1) as little-endian bytes.
func floatRamp(n int) []byte {
	b := make([]byte, 4*n)
	for i, v := range ramp(n) {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(int8(v))/128))
	}
	return b
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// TestPCMLoopDecodesOnce: looping over a file that fits in memory decodes
// and resamples it once, when opened: the passes after it do not read the
// file (overwritten here) nor run the resampler.
func TestPCMLoopDecodesOnce(t *testing.T) {
	in := ramp(4 * 48000)
	path := writeFile(t, "a.wav", simpleWAV(tagPCM, 2, 48000, 16, in))
	p, err := OpenPCM(path, 24000, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pass := int(2 * p.samples)
	first, err := readPasses(p, pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, simpleWAV(tagPCM, 2, 48000, 16, make([]byte, len(in))), 0o644); err != nil {
		t.Fatal(err)
	}
	for k := 2; k <= 4; k++ {
		again, err := readPasses(p, pass)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, first) {
			t.Fatalf("pass %d differs from the first: the file was read again", k)
		}
	}
	if p.passes != 1 {
		t.Errorf("%d passes decoded and resampled for 4 played, want 1", p.passes)
	}
	buf := make([]byte, 1920)
	if a := testing.AllocsPerRun(200, func() { io.ReadFull(p, buf) }); a != 0 {
		t.Errorf("Read allocates %v times per 40 ms chunk", a)
	}
}

// TestPCMLoopTooLongStreams: a looping file whose converted pass exceeds
// maxLoopPCM streams instead.
func TestPCMLoopTooLongStreams(t *testing.T) {
	// 22 s of 8 kHz as 192 kHz stereo: 16.9 MB a pass.
	path := writeFile(t, "a.wav", simpleWAV(tagPCM, 1, 8000, 8, ramp(22*8000)))
	p, err := OpenPCM(path, 192000, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.mem != nil {
		t.Fatalf("a pass of %d bytes is held in memory, bound %d", 4*p.samples, maxLoopPCM)
	}
	if _, err := readPasses(p, 1<<16); err != nil {
		t.Fatal(err)
	}
}

// TestPCMCutWhilePreloading: a file cut while it is converted into memory
// plays as the stream would: what it held, the report once, then loops over
// what is left.
func TestPCMCutWhilePreloading(t *testing.T) {
	const rate, frames, cutAt = 44100, 3 * 44100, 40000
	data := ramp(4 * frames)
	wav := simpleWAV(tagPCM, 2, rate, 16, data)
	open := func() *PCM {
		path := writeFile(t, "a.wav", wav)
		p, err := openStreamPCM(path, 24000, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		if err := os.Truncate(path, int64(len(wav)-len(data)+4*cutAt)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mem := open()
	if err := mem.preload(); err != nil {
		t.Fatal(err)
	}
	str := open()
	var runs [2][]byte
	for i, p := range []*PCM{str, mem} {
		head, err := readPasses(p, 1<<30)
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "looping over the 0.9 s left") {
			t.Fatalf("after %d bytes: %v, want ErrTruncated, looping", len(head), err)
		}
		tail, err := readPasses(p, 3*len(head))
		if err != nil {
			t.Fatalf("looping after the cut: %v", err)
		}
		runs[i] = append(head, tail...)
	}
	if i := firstDiff(runs[1], runs[0]); i >= 0 {
		t.Fatalf("in memory, byte %d differs from the streamed PCM", i)
	}
}

// TestDownmixStereoToMono: the stereo to mono case gives what the general
// loop gives.
func TestDownmixStereoToMono(t *testing.T) {
	const n = 4096
	in := make([]float32, 2*n)
	for i, b := range ramp(2 * n) {
		in[i] = float32(int8(b)) / 128 * 0.999
	}
	p := &PCM{in: 2, out: 1, share: []float32{0.5}, mix: make([]float32, n)}
	got := p.downmix(in, n)
	for i := range n {
		want := float32(0)
		want += in[2*i] * 0.5
		want += in[2*i+1] * 0.5
		if got[i] != want {
			t.Fatalf("frame %d: %v, want %v", i, got[i], want)
		}
	}
}
