package orchestrator

import "time"

// The timeline: frame n is media time n/fps, and its audio the samples
// from sampleAt(n) to sampleAt(n+1).

// sampleAt is the first audio sample of frame.
func sampleAt(frame int64, rate, fps int) int64 { return frame * int64(rate) / int64(fps) }

// FramesFor is the number of frames that covers the given number of audio
// samples, the last frame padded with silence.
func FramesFor(samples int64, rate, fps int) int64 {
	return (samples*int64(fps) + int64(rate) - 1) / int64(rate)
}

// Duration is the media time of the given number of frames.
func Duration(frames int64, fps int) time.Duration {
	return time.Duration(frames * int64(time.Second) / int64(fps))
}
