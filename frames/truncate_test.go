package frames

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// TestWAVCutBetweenReads: a file cut while it is read reports the cut with
// how much was read of how much there was, matching ErrTruncated and
// io.ErrUnexpectedEOF; the WAV then ends where the file was cut.
func TestWAVCutBetweenReads(t *testing.T) {
	const rate, frames, cutAt = 8000, 80000, 25600 // 10 s, cut at 3.2 s
	for _, goWAV := range []bool{true, false} {
		t.Run(fmt.Sprintf("goWAV=%v", goWAV), func(t *testing.T) {
			p := writeFile(t, "x.wav", simpleWAV(tagPCM, 2, rate, 16, ramp(4*frames)))
			w := openT(t, p)
			w.useGo = goWAV
			w.Rewind()
			dst := make([]float32, 2*480)
			total, _ := w.ReadFrames(dst)
			if err := os.Truncate(p, 44+4*cutAt); err != nil {
				t.Fatal(err)
			}
			var err error
			for err == nil {
				var n int
				n, err = w.ReadFrames(dst)
				total += n
			}
			if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("after %d frames: %v, want ErrTruncated", total, err)
			}
			if want := fmt.Sprintf("audio file %q ended early: 3.2 s of 10.0 s", p); err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if total != cutAt || w.Format().Frames != cutAt {
				t.Errorf("read %d frames, Frames %d; want %d", total, w.Format().Frames, cutAt)
			}
			if n, err := w.ReadFrames(dst); n != 0 || err != io.EOF {
				t.Errorf("after the cut: %d, %v; want 0, io.EOF", n, err)
			}
			w.Rewind()
			total = 0
			for {
				n, err := w.ReadFrames(dst)
				total += n
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("second pass: %v", err)
				}
			}
			if total != cutAt {
				t.Errorf("second pass read %d frames, want %d", total, cutAt)
			}
		})
	}
}

// readS16 reads n samples of p, or up to its first error.
func readS16(p *PCM, n int) ([]int16, error) {
	var out []byte
	buf := make([]byte, 999)
	for len(out) < 2*n {
		k, err := p.Read(buf[:min(len(buf), 2*n-len(out))])
		out = append(out, buf[:k]...)
		if err != nil {
			return s16(out), err
		}
	}
	return s16(out), nil
}

// TestPCMCutWhileStreamed: a PCM whose file is cut plays what the file held,
// then says so once; without a loop it ends, with one it loops over what is
// left of the file.
func TestPCMCutWhileStreamed(t *testing.T) {
	const rate, frames, cutAt = 8000, 80000, 25600
	in := make([]int16, frames)
	for i := range in {
		in[i] = int16(i%30000 + 1)
	}
	for _, loop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", loop), func(t *testing.T) {
			path := writeFile(t, "a.wav", simpleWAV(tagPCM, 1, rate, 16, pcm16(in...)))
			// Streaming: a looping PCM this short would be held in memory.
			p, err := openStreamPCM(path, rate, 1, loop)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			first, err := readS16(p, rate)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, 44+2*cutAt); err != nil {
				t.Fatal(err)
			}
			rest, err := readS16(p, frames)
			if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("after %d samples: %v, want ErrTruncated", len(first)+len(rest), err)
			}
			if !strings.Contains(err.Error(), "ended early: 3.2 s of 10.0 s") {
				t.Errorf("error %q does not say how much was played", err)
			}
			got := append(first, rest...)
			if len(got) != cutAt {
				t.Fatalf("played %d samples before the cut was reported, want %d", len(got), cutAt)
			}
			for i, v := range got {
				if v != in[i] {
					t.Fatalf("sample %d is %d, want %d", i, v, in[i])
				}
			}
			if !loop {
				if n, err := p.Read(make([]byte, 100)); n != 0 || err != io.EOF {
					t.Errorf("after the cut: %d, %v; want 0, io.EOF", n, err)
				}
				return
			}
			if !strings.Contains(err.Error(), "looping over the 3.2 s left") {
				t.Errorf("error %q does not say the loop goes on", err)
			}
			// Three more passes over what is left, without another report.
			again, err := readS16(p, 3*cutAt)
			if err != nil {
				t.Fatalf("looping after the cut: %v", err)
			}
			for i, v := range again {
				if v != in[i%cutAt] {
					t.Fatalf("looped sample %d is %d, want %d", i, v, in[i%cutAt])
				}
			}
		})
	}
}

// TestPCMLoopCutToNothing: a looping PCM whose file is cut before its first
// frame ends instead of looping over nothing.
func TestPCMLoopCutToNothing(t *testing.T) {
	path := writeFile(t, "a.wav", simpleWAV(tagPCM, 1, 8000, 16, pcm16(make([]int16, 8000)...)))
	p, err := openStreamPCM(path, 8000, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := os.Truncate(path, 44); err != nil {
		t.Fatal(err)
	}
	if _, err := readS16(p, 100); !errors.Is(err, ErrTruncated) {
		t.Fatalf("first read: %v, want ErrTruncated", err)
	}
	if n, err := p.Read(make([]byte, 100)); n != 0 || err != io.EOF {
		t.Errorf("then: %d, %v; want 0, io.EOF", n, err)
	}
}
