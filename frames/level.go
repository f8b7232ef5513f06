package frames

import "math"

// SilenceDBFS is the level of digital silence, and the floor of LevelDBFS.
const SilenceDBFS = -100.0

// LevelDBFS is the RMS level of s16le PCM in dB relative to full scale:
// 0 for a full-scale square wave, about -3 for a full-scale sine, and
// SilenceDBFS for silence or less.
func LevelDBFS(pcm []byte) float64 {
	var sum float64
	n := len(pcm) / 2
	for i := 0; i < 2*n; i += 2 {
		v := float64(int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8))
		sum += v * v
	}
	if n == 0 || sum == 0 {
		return SilenceDBFS
	}
	return max(SilenceDBFS, 10*math.Log10(sum/float64(n)/(32768*32768)))
}
