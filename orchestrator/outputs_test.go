package orchestrator

import (
	"path/filepath"
	"testing"
	"time"
)

// Two file outputs of one encode: each gets the whole stream.
func TestOutputsRealFFmpegFiles(t *testing.T) {
	skipShort(t, "real ffmpeg")
	ffmpegPath := requireTool(t, "ffmpeg")
	ffprobe := requireTool(t, "ffprobe")
	h := newHarness(t)
	ctx, _ := h.context(40 * time.Second)
	enc := Encoding{Width: 160, Height: 120, FPS: 25, GOP: 1, SampleRate: 24000, Channels: 1, Preset: "ultrafast"}
	outs := []string{filepath.Join(h.dir, "a.flv"), filepath.Join(h.dir, "b.mp4")}
	var events []Event
	cfg := Config{
		FFmpeg:   ffmpegPath,
		Outputs:  outs,
		Encoding: enc,
		Video:    newNoiseVideo(enc, 4),
		Audio:    supSilence{},
		Frames:   50,
		Logger:   h.logger(),
		Notify:   func(e Event) { events = append(events, e) },
	}
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 30*time.Second)
	if r.err != nil {
		t.Fatalf("Run: %v; log:\n%s", r.err, h.dump())
	}
	for _, o := range outs {
		if n := probeVideoPackets(t, ffprobe, o); n != 50 {
			t.Errorf("%s: %d video packets, want 50; log:\n%s", o, n, h.dump())
		}
	}
	for _, st := range sup.Outputs() {
		if st.State != OutputStopped || st.BytesSent == 0 || st.Reconnects != 0 {
			t.Errorf("status %+v", st)
		}
	}
	up := map[int]bool{}
	for _, e := range events {
		if e.Kind == EventOutputUp && e.OutputN >= 1 && e.OutputN <= 2 && e.Output == outs[e.OutputN-1] {
			up[e.OutputN] = true
		}
	}
	if ups := len(up); ups != 2 {
		t.Errorf("%d output_up events, want 2: %+v", ups, events)
	}
}
