package frames

import (
	"io"
	"testing"
)

// benchmarkPCMStream reads a looping stereo WAV as 24 kHz mono in the 40 ms
// chunks the pacer asks for, in steady state: decode, mix, resample and
// conversion as the stream pays for them.
func benchmarkPCMStream(b *testing.B, inRate int) {
	wav := simpleWAV(tagPCM, 2, inRate, 16, ramp(4*inRate*5))
	p, err := OpenPCM(writeFile(b, "a.wav", wav), 24000, 1, true)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	buf := make([]byte, 1920)
	for range 100 {
		io.ReadFull(p, buf)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		io.ReadFull(p, buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(buf)/2), "ns/outsample")
}

func BenchmarkPCMStream44100Stereo(b *testing.B) { benchmarkPCMStream(b, 44100) }
func BenchmarkPCMStream48000Stereo(b *testing.B) { benchmarkPCMStream(b, 48000) }

// benchmarkResampleStereo resamples stereo to mono as PCM does: the
// channels mixed down first, then the resampler.
func benchmarkPCMPass(b *testing.B, inRate int) {
	wav := simpleWAV(tagPCM, 2, inRate, 16, ramp(4*inRate*10))
	path := writeFile(b, "a.wav", wav)
	buf := make([]byte, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		p, err := OpenPCM(path, 24000, 1, false)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := p.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		p.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*24000*10), "ns/outsample")
}

// BenchmarkPCMPass48000Stereo opens and converts 10 s of 48 kHz stereo:
// the cost of preparing a file in memory.
func BenchmarkPCMPass48000Stereo(b *testing.B) { benchmarkPCMPass(b, 48000) }
func BenchmarkPCMPass44100Stereo(b *testing.B) { benchmarkPCMPass(b, 44100) }

// BenchmarkPCMFirstRead60s48kStereo is the start-up cost of a minute of
// 48 kHz stereo, from opening to the first 40 ms at 24 kHz mono: streamed,
// and converted into memory first.
func BenchmarkPCMFirstRead60s48kStereo(b *testing.B) {
	path := writeFile(b, "a.wav", simpleWAV(tagPCM, 2, 48000, 16, ramp(4*48000*60)))
	buf := make([]byte, 1920)
	for _, preload := range []bool{false, true} {
		name := "stream"
		if preload {
			name = "preload"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := openStreamPCM(path, 24000, 1, false)
				if err != nil {
					b.Fatal(err)
				}
				if preload {
					if err := p.preload(); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := io.ReadFull(p, buf); err != nil {
					b.Fatal(err)
				}
				p.Close()
			}
		})
	}
}
