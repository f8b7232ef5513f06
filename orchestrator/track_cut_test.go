package orchestrator

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// errCut is what a source says when its file was cut, as frames.PCM does.
var errCut = fmt.Errorf("audio file %q ended early: 3.2 s of 10.0 s: %w", "speech.wav", io.ErrUnexpectedEOF)

// cutSource plays played, reports the cut, then ends, or with loop plays
// loop over and over, as a looping PCM does with what is left of its file.
type cutSource struct {
	played, loop []byte
	cut          bool // reported
}

func (s *cutSource) Read(p []byte) (int, error) {
	switch {
	case len(s.played) > 0:
		n := copy(p, s.played)
		s.played = s.played[n:]
		return n, nil
	case !s.cut:
		s.cut = true
		return 0, errCut
	case s.loop == nil:
		return 0, io.EOF
	}
	n := copy(p, s.loop) // p is never shorter than loop here
	return n, nil
}

// TestAudioFillCutSource: a source that reports lost audio is warned of
// once, with its message; the chunk is filled up with silence, and the
// source is read on.
func TestAudioFillCutSource(t *testing.T) {
	e := Encoding{FPS: 25, SampleRate: 8000, Channels: 1} // 320 samples, 640 bytes a frame
	for _, loop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", loop), func(t *testing.T) {
			played := bytes.Repeat([]byte{1}, 1000) // ends inside the second chunk
			left := bytes.Repeat([]byte{2}, 640)    // what a loop plays after the cut
			src := &cutSource{played: played}
			if loop {
				src.loop = left
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			fill := audioFill(src, e, log)
			var out []byte
			for n := int64(0); n < 6; n++ {
				b, err := fill(n, nil)
				if err != nil {
					t.Fatalf("chunk %d: %v", n, err)
				}
				out = append(out, b...)
			}
			want := append(append([]byte{}, played...), make([]byte, 1280-1000)...)
			if loop {
				for range 4 {
					want = append(want, left...)
				}
			} else {
				want = append(want, make([]byte, 4*640)...)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("audio differs from the source's, silence-filled: got %v...", out[1000:1290])
			}
			got := logs.String()
			if strings.Count(got, "level=WARN") != 1 || !strings.Contains(got, `ended early: 3.2 s of 10.0 s`) || !strings.Contains(got, "at=40ms") {
				t.Errorf("log, want one warning naming the cut at 40ms:\n%s", got)
			}
		})
	}
}

// TestSupervisorWarnsOfCutAudio: the supervisor's log says when the audio
// file was cut while streamed, and the stream goes on to its end.
func TestSupervisorWarnsOfCutAudio(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(60 * time.Second)
	cfg := h.config(h.fake("ok"))
	cfg.Audio = &cutSource{played: make([]byte, 3000)}
	cfg.Frames = 20
	_, res := h.start(ctx, cfg)
	if r := h.waitRun(res, 40*time.Second); r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	rs := h.logs.with("audio ended early: silence stands in for what is missing", nil)
	if len(rs) != 1 || rs[0].Level != slog.LevelWarn || !strings.Contains(rs[0].str("error"), "3.2 s of 10.0 s") {
		t.Errorf("warnings of the cut: %v, want one naming it", rs)
	}
	if runs := h.runs(); len(runs) != 1 || len(runs[0].frames) != 20 {
		t.Errorf("the stream did not go on to its end: %d runs", len(runs))
	}
}
