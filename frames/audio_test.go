package frames

import (
	"encoding/binary"
	"io"
	"math"
	"testing"
)

// pcm16 returns s16le samples.
func pcm16(samples ...int16) []byte {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

func s16(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out
}

func openPCM(t *testing.T, wav []byte, rate, channels int, loop bool) *PCM {
	t.Helper()
	p, err := OpenPCM(writeFile(t, "a.wav", wav), rate, channels, loop)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestPCMSameRateIsExact checks that 16-bit audio at the output rate comes
// out bit for bit, in reads of any size.
func TestPCMSameRateIsExact(t *testing.T) {
	in := make([]int16, 5000)
	for i := range in {
		in[i] = int16(i*37%65536 - 32768)
	}
	p := openPCM(t, simpleWAV(1, 1, 24000, 16, pcm16(in...)), 24000, 1, false)
	if p.Samples() != 5000 {
		t.Fatalf("Samples = %d, want 5000", p.Samples())
	}
	var got []byte
	buf := make([]byte, 333)
	for {
		n, err := p.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	out := s16(got)
	if len(out) != len(in) {
		t.Fatalf("%d samples out, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("sample %d = %d, want %d", i, out[i], in[i])
		}
	}
}

// TestPCMLengthAfterResampling checks the promised length: ceil(n*out/in).
func TestPCMLengthAfterResampling(t *testing.T) {
	for _, tt := range []struct{ inRate, frames, outRate int }{{44100, 44101, 24000}, {16000, 999, 24000}, {48000, 48000, 24000}} {
		p := openPCM(t, simpleWAV(1, 2, tt.inRate, 16, make([]byte, tt.frames*4)), tt.outRate, 1, false)
		want := (int64(tt.frames)*int64(tt.outRate) + int64(tt.inRate) - 1) / int64(tt.inRate)
		got, err := io.Copy(io.Discard, p)
		if err != nil {
			t.Fatal(err)
		}
		if got != 2*want || p.Samples() != want {
			t.Errorf("%+v: %d bytes, Samples %d; want %d samples", tt, got, p.Samples(), want)
		}
	}
}

func TestPCMChannelMix(t *testing.T) {
	// Stereo: left 1000, right 3000.
	stereo := pcm16(1000, 3000, 1000, 3000)
	if got := s16(readN(t, openPCM(t, simpleWAV(1, 2, 24000, 16, stereo), 24000, 1, false), 4)); got[0] != 2000 || got[1] != 2000 {
		t.Errorf("stereo to mono = %v, want the average 2000", got)
	}
	// Mono to stereo copies.
	if got := s16(readN(t, openPCM(t, simpleWAV(1, 1, 24000, 16, pcm16(1234, -50)), 24000, 2, false), 8)); got[0] != 1234 || got[1] != 1234 || got[2] != -50 || got[3] != -50 {
		t.Errorf("mono to stereo = %v", got)
	}
	// Four channels to stereo: 0 and 2 average to left, 1 and 3 to right.
	quad := pcm16(100, 1000, 300, 3000)
	if got := s16(readN(t, openPCM(t, simpleWAV(1, 4, 24000, 16, quad), 24000, 2, false), 4)); got[0] != 200 || got[1] != 2000 {
		t.Errorf("quad to stereo = %v, want [200 2000]", got)
	}
}

// TestPCMClips checks that full-scale float input is clipped, not wrapped.
func TestPCMClips(t *testing.T) {
	f := make([]byte, 8)
	binary.LittleEndian.PutUint32(f, math.Float32bits(1.0))
	binary.LittleEndian.PutUint32(f[4:], math.Float32bits(-1.0))
	got := s16(readN(t, openPCM(t, simpleWAV(3, 1, 24000, 32, f), 24000, 1, false), 4))
	if got[0] != 32767 || got[1] != -32768 {
		t.Errorf("float ±1.0 = %v, want [32767 -32768]", got)
	}
}

func TestPCMLoop(t *testing.T) {
	p := openPCM(t, simpleWAV(1, 1, 24000, 16, pcm16(1, 2, 3)), 24000, 1, true)
	if p.Samples() != -1 {
		t.Errorf("Samples = %d, want -1 when looping", p.Samples())
	}
	got := s16(readN(t, p, 2*10))
	want := []int16{1, 2, 3, 1, 2, 3, 1, 2, 3, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("looped = %v, want %v", got, want)
		}
	}
}

func TestPCMReadAllocs(t *testing.T) {
	p := openPCM(t, simpleWAV(1, 2, 44100, 16, ramp(44100*4)), 24000, 1, true)
	buf := make([]byte, 1920)
	for range 50 {
		io.ReadFull(p, buf)
	}
	if a := testing.AllocsPerRun(200, func() { io.ReadFull(p, buf) }); a != 0 {
		t.Errorf("Read allocates %v times per 40 ms chunk", a)
	}
}

func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func BenchmarkPCM44100To24000Chunk(b *testing.B) {
	p, err := OpenPCM(writeFile(b, "a.wav", simpleWAV(1, 2, 44100, 16, ramp(44100*4*2))), 24000, 1, true)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	buf := make([]byte, 1920)
	b.SetBytes(1920)
	for b.Loop() {
		io.ReadFull(p, buf)
	}
}
