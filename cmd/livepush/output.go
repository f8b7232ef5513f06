package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
	"github.com/urfave/cli/v2"
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

// outputList is every output given: each -o, and each line of
// LIVEPUSH_OUTPUT, trimmed, empty ones left out.
func outputList(c *cli.Context) []string {
	var out []string
	for _, v := range c.StringSlice("output") {
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
	}
	return out
}

// checkOutputs refuses, before anything starts, an output that cannot work
// (an unknown scheme, a missing folder, a file that exists), the same one
// given twice, and a CA file with no rtmps output to use it.
func checkOutputs(outputs []string, tls orchestrator.TLS, overwrite bool) error {
	seen := map[string]bool{}
	tlsFor := outputs[0]
	for _, o := range outputs {
		if err := orchestrator.Output(o).Validate(); err != nil {
			return err
		}
		if err := checkOutputFile(o, overwrite); err != nil {
			return err
		}
		if seen[o] {
			return fmt.Errorf("output %s given twice", orchestrator.MaskURL(o))
		}
		seen[o] = true
		if strings.HasPrefix(strings.ToLower(o), "rtmps://") {
			tlsFor = o
		}
	}
	if err := tls.Validate(tlsFor); err != nil {
		return fmt.Errorf("--tls-ca-file: %w", err)
	}
	return nil
}

// dryRun is the command line of each ffmpeg livepush would start: the one
// that publishes, or with several outputs (or planned reconnects) the
// encoder and each output's.
func dryRun(ffmpeg string, enc orchestrator.Encoding, outputs []string, tls orchestrator.TLS, m *orchestrator.Masker, relayed bool) []string {
	if len(outputs) == 1 && !relayed {
		return []string{orchestrator.DryRunCommand(ffmpeg, enc, orchestrator.Target{Output: outputs[0], TLS: tls}, m)}
	}
	return orchestrator.DryRunCommands(ffmpeg, enc, outputs, tls, m)
}

// logOutputs says, at the end of a stream with several outputs, how each fared.
func logOutputs(log *slog.Logger, outs []orchestrator.OutputStatus) {
	for i, o := range outs {
		log.Info("output", "url", o.URL, "output_n", i+1, "state", o.State, "reconnects", o.Reconnects, "bytes_sent", o.BytesSent,
			"last_error", o.LastError)
	}
}
