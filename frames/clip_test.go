package frames

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// sine returns frames of s16 interleaved audio, a tone per channel.
func sine(frames, channels, rate int) []int16 {
	out := make([]int16, frames*channels)
	for i := 0; i < frames; i++ {
		for c := 0; c < channels; c++ {
			out[i*channels+c] = int16(12000 * math.Sin(2*math.Pi*float64(440*(c+1))*float64(i)/float64(rate)))
		}
	}
	return out
}

// streamPCM is what OpenPCM gives for the file, read in small pieces.
func streamPCM(t *testing.T, path string, rate, channels int) []byte {
	t.Helper()
	p, err := OpenPCM(path, rate, channels, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var out bytes.Buffer
	if _, err := io.CopyBuffer(&out, struct{ io.Reader }{p}, make([]byte, 960)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestDecodeWAVConverts: DecodeWAV gives what OpenPCM streams, resampled and
// mixed, at the length OpenPCM promises.
func TestDecodeWAVConverts(t *testing.T) {
	for _, tt := range []struct {
		name           string
		inRate, inCh   int
		outRate, outCh int
		frames         int
		exact          bool // same format: the samples come through bit for bit
	}{
		{"48k stereo to 24k mono", 48000, 2, 24000, 1, 48000, false},
		{"44.1k mono to 24k stereo", 44100, 1, 24000, 2, 44101, false},
		{"16k mono to 48k stereo", 16000, 1, 48000, 2, 999, false},
		{"24k mono as is", 24000, 1, 24000, 1, 24000, true},
		{"48k stereo as is", 48000, 2, 48000, 2, 4801, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := pcm16(sine(tt.frames, tt.inCh, tt.inRate)...)
			path := writeFile(t, "a.wav", simpleWAV(tagPCM, tt.inCh, tt.inRate, 16, in))
			got, err := DecodeWAV(path, tt.outRate, tt.outCh, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			frames := (int64(tt.frames)*int64(tt.outRate) + int64(tt.inRate) - 1) / int64(tt.inRate)
			if want := frames * int64(tt.outCh) * 2; int64(len(got)) != want {
				t.Fatalf("%d bytes, want %d (%d frames)", len(got), want, frames)
			}
			if cap(got) != len(got) {
				t.Errorf("cap %d for %d bytes: the buffer was grown, not sized from the header", cap(got), len(got))
			}
			if want := streamPCM(t, path, tt.outRate, tt.outCh); !bytes.Equal(got, want) {
				t.Fatal("DecodeWAV differs from OpenPCM's stream")
			}
			if tt.exact && !bytes.Equal(got, in) {
				t.Fatal("same format, but the samples changed")
			}
		})
	}
}

// TestDecodeWAVFFmpeg decodes a WAV that ffmpeg wrote, 48 kHz stereo, to
// 24 kHz mono: a mono output is the average of the channels.
func TestDecodeWAVFFmpeg(t *testing.T) {
	needFFmpeg(t)
	path := filepath.Join(t.TempDir(), "tone.wav")
	// The same tone in both channels, so that the mix is the tone.
	ffmpeg(t, "-f", "lavfi", "-i", "aevalsrc=exprs=0.5*sin(2*PI*440*t)|0.5*sin(2*PI*440*t):s=48000:d=0.5", "-c:a", "pcm_s16le", path)
	got, err := DecodeWAV(path, 24000, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2*12000 {
		t.Fatalf("%d bytes, want %d (0.5 s at 24 kHz mono)", len(got), 2*12000)
	}
	s := s16(got)
	peak := 0
	for _, v := range s[1000:11000] { // clear of the resampler's edges
		peak = max(peak, int(math.Abs(float64(v))))
	}
	if want := 16384; peak < want*97/100 || peak > want*103/100 {
		t.Errorf("peak %d, want about %d: the channels were not averaged", peak, want)
	}
}

// TestDecodeWAVTooLong: a WAV over the limit is refused from its header:
// a 10-minute file (sparse on disk) costs no decoding and no buffer.
func TestDecodeWAVTooLong(t *testing.T) {
	const rate, ch = 48000, 2
	size := int64(600 * rate * ch * 2)
	// A header that claims ten minutes of data, and the data as a hole.
	head := simpleWAV(tagPCM, ch, rate, 16, nil)
	binary.LittleEndian.PutUint32(head[4:], uint32(36+size))
	binary.LittleEndian.PutUint32(head[40:], uint32(size))
	path := writeFile(t, "long.wav", head)
	if err := os.Truncate(path, 44+size); err != nil {
		t.Fatal(err)
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeWAV(path, 24000, 1, time.Minute)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("err = %v, want ErrTooLong", err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "10m0s, at most 1m0s") {
		t.Errorf("error %q does not name the file, its length and the limit", msg)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("refusing allocated %d bytes: the file was decoded", got)
	}

	// At the limit is not over it; no limit takes anything.
	short := writeFile(t, "1s.wav", simpleWAV(tagPCM, 1, 24000, 16, make([]byte, 2*24000)))
	if _, err := DecodeWAV(short, 24000, 1, time.Second); err != nil {
		t.Errorf("1 s clip, limit 1 s: %v", err)
	}
	if _, err := DecodeWAV(short, 24000, 1, 999*time.Millisecond); !errors.Is(err, ErrTooLong) {
		t.Errorf("1 s clip, limit 999 ms: %v, want ErrTooLong", err)
	}
	if _, err := DecodeWAV(short, 24000, 1, 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

// TestDecodeWAVRefuses: an empty WAV, a file that is not one and a missing
// file are errors that name the file and what is wrong.
func TestDecodeWAVRefuses(t *testing.T) {
	fmt16 := riffChunk("fmt ", fmtPCM(tagPCM, 1, 24000, 16))
	for _, tt := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty data", riffFile(fmt16, riffChunk("data", nil)), ErrNoSamples},
		{"under a frame", riffFile(fmt16, riffChunk("data", []byte{1})), ErrNoSamples},
		{"not a WAV", []byte("ID3 this is an mp3, honest"), ErrNotWAV},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "x.wav", tt.data)
			pcm, err := DecodeWAV(path, 24000, 1, time.Minute)
			if !errors.Is(err, tt.want) || pcm != nil {
				t.Fatalf("got %d bytes, %v; want %v", len(pcm), err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	missing := filepath.Join(t.TempDir(), "none.wav")
	if _, err := DecodeWAV(missing, 24000, 1, time.Minute); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

// TestDecodeWAVCut: a file cut between its opening and its end is an error
// matching ErrTruncated, not a short clip.
func TestDecodeWAVCut(t *testing.T) {
	const rate = 8000
	path := writeFile(t, "a.wav", simpleWAV(tagPCM, 1, rate, 16, pcm16(sine(10*rate, 1, rate)...)))
	p, err := OpenPCM(path, rate, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := os.Truncate(path, 44+2*rate*3); err != nil {
		t.Fatal(err)
	}
	pcm, err := decodeAll(p, path, rate, 1, time.Minute)
	if !errors.Is(err, ErrTruncated) || pcm != nil {
		t.Fatalf("got %d bytes, %v; want ErrTruncated", len(pcm), err)
	}
	if want := "ended early: 3.0 s of 10.0 s"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file and say %q", err, want)
	}
}
