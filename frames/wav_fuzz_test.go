package frames

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenWAV opens arbitrary bytes as a WAV file and reads every frame:
// nothing may panic, errors must have the documented shape, and no more
// frames may come out than Format().Frames promises.
func FuzzOpenWAV(f *testing.F) {
	data := ramp(96)
	fmt16 := riffChunk("fmt ", fmtPCM(tagPCM, 2, 24000, 16))
	pipe := riffFile(fmt16, sizedChunk("data", unknownSize, data[:30]))
	binary.LittleEndian.PutUint32(pipe[4:], unknownSize)
	rf64 := riffFile(riffChunk("ds64", make([]byte, 28)), fmt16, sizedChunk("data", unknownSize, data))
	copy(rf64, "RF64")
	binary.LittleEndian.PutUint64(rf64[28:], 40) // ds64 data size
	seeds := [][]byte{
		// Valid files of every supported encoding.
		simpleWAV(tagPCM, 1, 8000, 8, data),
		simpleWAV(tagPCM, 2, 24000, 16, data),
		simpleWAV(tagPCM, 3, 22050, 24, data[:90]),
		simpleWAV(tagPCM, 2, 48000, 32, data),
		simpleWAV(tagFloat, 1, 48000, 32, data),
		simpleWAV(tagFloat, 2, 44100, 64, data),
		simpleWAV(tagALaw, 1, 8000, 8, data),
		simpleWAV(tagMuLaw, 2, 8000, 8, data),
		riffFile(riffChunk("fmt ", fmtExt(tagFloat, 2, 48000, 32)), riffChunk("data", data)),
		riffFile(riffChunk("fmt ", fmtExt(tagPCM, 6, 48000, 24)), riffChunk("data", data[:36])),
		riffFile(riffChunk("LIST", []byte("INFOabc")), fmt16, riffChunk("junk", []byte{1}), riffChunk("data", data), riffChunk("id3 ", []byte("x"))),
		riffFile(riffChunk("data", data), fmt16),
		pipe,
		rf64,
		// Broken ones.
		nil,
		[]byte("RIFF"),
		[]byte("RIFF\xff\xff\xff\xffWAVE"),
		riffFile(fmt16),
		riffFile(riffChunk("fmt ", fmtRaw(tagPCM, 2, 24000, 0, 16)), riffChunk("data", data)),
		riffFile(fmt16, sizedChunk("data", 1000, data[:31])),
		riffFile(fmt16, sizedChunk("data", 0, data[:9])),
		riffFile(fmt16, sizedChunk("LIST", 0xFFFFFFF0, nil), riffChunk("data", data)),
		simpleWAV(tagPCM, 2, 24000, 16, data)[:43],
	}
	for _, s := range seeds {
		f.Add(s)
	}

	// One file per fuzzing process, rewritten for every input: a fresh
	// directory per input would cost more than the test itself.
	p := filepath.Join(f.TempDir(), "fuzz.wav")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := OpenWAV(p)
		if err != nil {
			checkOpenErr(t, p, err)
			return
		}
		defer w.Close()
		ft := w.Format()
		if ft.Frames <= 0 || ft.Channels < 1 || ft.Channels > maxChannels ||
			ft.SampleRate < 1 || ft.SampleRate > maxSampleRate {
			t.Fatalf("opened with format %+v", ft)
		}
		if max := int64(len(b)) / int64(ft.Channels*ft.BitsPerSample/8); ft.Frames > max {
			t.Fatalf("Frames = %d, but a file of %d bytes holds at most %d", ft.Frames, len(b), max)
		}
		// Vary the read size with the input so that block edges move.
		chunk := 1 + len(b)%61
		dst := make([]float32, chunk*ft.Channels)
		var total int64
		var first []float32
		for {
			n, err := w.ReadFrames(dst)
			if n < 0 || n > chunk {
				t.Fatalf("ReadFrames returned %d frames for a buffer of %d", n, chunk)
			}
			if first == nil && n > 0 {
				first = append([]float32(nil), dst[:n*ft.Channels]...)
			}
			for i, v := range dst[:n*ft.Channels] {
				if !(v >= -1 && v <= 1) {
					t.Fatalf("sample %d = %v, outside [-1, 1]", i, v)
				}
			}
			total += int64(n)
			if total > ft.Frames {
				t.Fatalf("read %d frames, Format().Frames = %d", total, ft.Frames)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("after %d frames: %v", total, err)
			}
		}
		if total != ft.Frames {
			t.Fatalf("read %d frames, Format().Frames = %d", total, ft.Frames)
		}
		if err := w.Rewind(); err != nil {
			t.Fatal(err)
		}
		n, err := w.ReadFrames(dst)
		if err != nil || n != len(first)/ft.Channels {
			t.Fatalf("after Rewind: %d, %v; want %d frames", n, err, len(first)/ft.Channels)
		}
		for i, v := range dst[:n*ft.Channels] {
			if v != first[i] {
				t.Fatalf("after Rewind, sample %d = %v, was %v", i, v, first[i])
			}
		}
	})
}
