package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
)

// checkOutputFile refuses to replace a file that exists, unless overwrite,
// as ffmpeg does without -y.
func checkOutputFile(output string, overwrite bool) error {
	if overwrite || orchestrator.Output(output).IsURL() {
		return nil
	}
	if _, err := os.Lstat(output); err == nil {
		return fmt.Errorf("output file %q exists (use --overwrite or -y to replace it)", output)
	}
	return nil
}

// describeAudio says what the WAV holds and, when it is converted, what is
// sent: "speech.wav 48000 Hz stereo -> 24000 Hz mono".
func describeAudio(path string, f frames.WAVFormat, rate, channels int) string {
	in := fmt.Sprintf("%s %d Hz %s", filepath.Base(path), f.SampleRate, channelNames(f.Channels))
	if f.SampleRate == rate && f.Channels == channels {
		return in
	}
	return fmt.Sprintf("%s -> %d Hz %s", in, rate, channelNames(channels))
}

func channelNames(n int) string {
	switch n {
	case 1:
		return "mono"
	case 2:
		return "stereo"
	}
	return fmt.Sprintf("%d channels", n)
}
