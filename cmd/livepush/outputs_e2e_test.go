package main

import (
	"context"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/proctest"
)

// TestE2EOutputsOneServerOutage: two outputs to two nginx-rtmp servers; the
// second stops for 3 s mid-stream and comes back. The first's recording is
// one publish session carrying every second of the input in order; the
// second comes back alone, soon after its server (the probe, not the
// backoff), and its recordings put together miss no second. One encoder
// ffmpeg for the whole run.
func TestE2EOutputsOneServerOutage(t *testing.T) {
	t.Parallel()
	a, b := startRTMP(t), startRTMP(t)
	dir := t.TempDir()
	const n = 15
	// A backoff far longer than the return the probe gives.
	const maxDelay = 20 * time.Second
	wav := makeStepToneWAV(t, filepath.Join(dir, "steps.wav"), n, 24000)
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 256)
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", a.URL("a"), "-o", b.URL("b"),
		"--restart-delay", "500ms", "--restart-max-delay", maxDelay.String())
	recA := a.WaitRecording("a", 1, 20*time.Second)[0]
	recB, _, ok := b.WaitNewRecording("b", nil, 20*time.Second)
	if !ok {
		t.Fatalf("no publish to b; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	p.WaitMedia(recB, 4, 30*time.Second)
	b.Stop()
	before := b.Recordings("b")
	// The outage itself: how long the server stays away is what this test is about.
	time.Sleep(3 * time.Second)
	b.Start()
	tUp := time.Now()
	rec, tRec, ok := b.WaitNewRecording("b", before, 30*time.Second)
	if !ok {
		t.Fatalf("b did not come back; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	back := tRec.Sub(tUp)
	t.Logf("b back (recording %s) %v after its server's return", filepath.Base(rec), back.Round(time.Millisecond))
	// And its media with it: the kept packets go out at once, not after
	// the muxer has held them.
	for fileSize(rec) < 64<<10 && time.Since(tUp) < 30*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	if media := time.Since(tUp); media > 4*time.Second {
		t.Errorf("b's media began %v after its server's return, want about when it published (%v)", media.Round(time.Millisecond), back.Round(time.Millisecond))
	}
	// Within the backoff's first steps on any machine; the probe makes it
	// far less (see the log line above).
	if back > 5*time.Second {
		t.Errorf("b came back %v after its server, want well within the backoff (probe every 200 ms)", back)
	}
	p.ExpectExit(0, 60*time.Second)
	recsA := a.WaitDone("a", 15*time.Second)
	if len(recsA) != 1 || recsA[0] != recA {
		t.Errorf("a has %d publish sessions, want 1: %v", len(recsA), recsA)
	}
	analyseRecordings(t, recsA, n, 0.15, 0)
	recsB := b.WaitDone("b", 15*time.Second)
	if len(recsB) < 2 {
		t.Errorf("b has %d recordings, want the one before the outage and at least one after", len(recsB))
	}
	analyseRecordings(t, recsB, n, 0.15, 3)
	stderr := p.Stderr.String()
	if got := strings.Count(stderr, "msg=\"ffmpeg started\""); got != 1 {
		t.Errorf("%d encoder starts, want 1; stderr:\n%s", got, tail(stderr, 30))
	}
	for _, want := range []string{"output down, restarting it alone", "output up"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the log does not say %q; stderr:\n%s", want, tail(stderr, 30))
		}
	}
}

// TestE2EOutputsUnreachableAtStart: one output's server is not there when
// the stream starts and comes up later; the other output is one publish
// session with the whole input, and the late one joins at the live edge,
// one session from there to the end.
func TestE2EOutputsUnreachableAtStart(t *testing.T) {
	t.Parallel()
	a, b := startRTMP(t), startRTMP(t)
	b.Stop()
	dir := t.TempDir()
	const n = 10
	wav := makeStepToneWAV(t, filepath.Join(dir, "steps.wav"), n, 24000)
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 256)
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", a.URL("a"), "-o", b.URL("late"),
		"--restart-delay", "500ms", "--restart-max-delay", "20s")
	recA := a.WaitRecording("a", 1, 20*time.Second)[0]
	if !p.WaitStderr("output down, restarting it alone", 10*time.Second) {
		t.Fatalf("the unreachable output was not reported down; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	p.WaitMedia(recA, 3, 30*time.Second)
	b.Start()
	if _, _, ok := b.WaitNewRecording("late", nil, 10*time.Second); !ok {
		t.Fatalf("the late output did not join; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	p.ExpectExit(0, 60*time.Second)
	recs := a.WaitDone("a", 15*time.Second)
	if len(recs) != 1 {
		t.Errorf("a has %d publish sessions, want 1", len(recs))
	}
	analyseRecordings(t, recs, n, 0.15, 0)
	late := b.WaitDone("late", 15*time.Second)
	if len(late) != 1 {
		t.Fatalf("late has %d publish sessions, want 1", len(late))
	}
	x := channel(decodeAudio(t, late[0], 24000, 1), 1, 0)
	sp, err := spanOf(late[0], toneRuns(x, 24000, n))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("late output: input %.2f..%.2f s", sp.Start, sp.End)
	if sp.Start < 2 || sp.Last != n-1 {
		t.Errorf("late output carries input %.2f..%.2f s, want from the live edge (after 3 s) to the end", sp.Start, sp.End)
	}
}

// TestE2EOutputsUnknownScheme: an output of an unknown scheme among good
// ones is refused with exit 2 before anything starts.
func TestE2EOutputsUnknownScheme(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	dir := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 440, 1, 24000, 1)
	out := filepath.Join(dir, "out.flv")
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", out, "-o", "udp://127.0.0.1:9/live/KEY")
	p.ExpectExit(2, 10*time.Second)
	if kids, _ := p.Children(); len(kids) != 0 {
		t.Errorf("ffmpeg started: %v", kids)
	}
	if fileExists(out) {
		t.Errorf("%s was written", out)
	}
	if s := p.Stderr.String(); !strings.Contains(s, `scheme "udp" not supported`) || strings.Contains(s, "KEY") {
		t.Errorf("stderr: %s", s)
	}
}

// TestE2EOutputsSRT: an srt:// output (MPEG-TS over SRT, encrypted) next
// to a file: an ffmpeg SRT listener with the same passphrase receives
// H.264 and AAC, the file the whole stream; the streamid and the
// passphrase show in no log and on no command line.
func TestE2EOutputsSRT(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	dir := t.TempDir()
	port := freePort(t)
	got := filepath.Join(dir, "srt.ts")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	listener := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "mpegts",
		"-i", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&passphrase=srtpass0123456", port), "-c", "copy", got)
	var lerr lockedBuffer
	listener.Stderr = &lerr
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 440, 4, 24000, 1)
	file := filepath.Join(dir, "out.flv")
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", file,
		"-o", fmt.Sprintf("srt://127.0.0.1:%d?streamid=srtsecret42&passphrase=srtpass0123456", port), "--restart-delay", "200ms")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !p.Exited(); time.Sleep(20 * time.Millisecond) {
		found := false
		for _, pid := range childrenOf(p.Pid(), "ffmpeg") {
			joined := strings.Join(proctest.Cmdline(pid), " ")
			if strings.Contains(joined, "srt://") {
				found = true
				if strings.Contains(joined, "srtsecret42") || strings.Contains(joined, "srtpass0123456") || !strings.Contains(joined, "-fpre ") {
					t.Errorf("the SRT output's command line: %s", joined)
				}
			}
		}
		if found {
			break
		}
	}
	p.ExpectExit(0, 40*time.Second)
	if err := listener.Wait(); err != nil {
		t.Fatalf("SRT listener: %v: %s", err, lerr.String())
	}
	info := ffprobe(t, got)
	if v, a := info.Stream("video"), info.Stream("audio"); v == nil || a == nil || v.CodecName != "h264" || a.CodecName != "aac" {
		t.Fatalf("SRT listener got %+v", info)
	}
	if d := info.Duration(); d < 2 {
		t.Errorf("SRT listener got %.2f s", d)
	}
	checkRecording(t, file, streamWant{W: 256, H: 256, FPS: 25, GOP: 1, Rate: 24000, Channels: 1, Dur: 4})
	if s := p.Stderr.String(); strings.Contains(s, "srtsecret42") || strings.Contains(s, "srtpass0123456") {
		t.Errorf("the streamid is in the log:\n%s", p.Stderr.String())
	}
}

// TestE2EOutputsLiveCatchUp: in live mode, an output whose server was away
// for 3 s comes back where its viewers left off, then leaves out silence
// until it is back at the live edge: its new recording is no longer than
// the time it was on air, while the other output is one session.
func TestE2EOutputsLiveCatchUp(t *testing.T) {
	t.Parallel()
	a, b := startRTMP(t), startRTMP(t)
	dir := t.TempDir()
	img := solidPNG(t, filepath.Join(dir, "green.png"), color.RGBA{0, 200, 0, 255}, 64)
	p := startLivepush(t, lpOpts{}, "stream", "--live", "--image", img, "--size", "64x64", "--control", "off",
		"-o", a.URL("a"), "-o", b.URL("b"), "--restart-delay", "500ms", "--restart-max-delay", "20s")
	a.WaitRecording("a", 1, 20*time.Second)
	first, _, ok := b.WaitNewRecording("b", nil, 20*time.Second)
	if !ok {
		t.Fatalf("no publish to b; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	p.WaitMedia(first, 3, 30*time.Second)
	b.Stop()
	before := b.Recordings("b")
	// The outage itself: how long the server stays away is what this test is about.
	time.Sleep(3 * time.Second)
	b.Start()
	rec, tRec, ok := b.WaitNewRecording("b", before, 30*time.Second)
	if !ok {
		t.Fatalf("b did not come back; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	if !p.WaitStderr("output caught up with the live edge", 20*time.Second) {
		t.Fatalf("b never caught up; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	p.WaitMedia(rec, 6, 30*time.Second)
	p.Signal(syscall.SIGINT)
	tStop := time.Now()
	p.ExpectExit(0, 30*time.Second)
	if recs := a.WaitDone("a", 15*time.Second); len(recs) != 1 {
		t.Errorf("a has %d publish sessions, want 1", len(recs))
	}
	b.WaitDone("b", 15*time.Second)
	got, onAir := ffprobe(t, rec).Duration(), tStop.Sub(tRec).Seconds()
	t.Logf("b's recording after its return: %.2f s of media in %.2f s on air", got, onAir)
	// Without catching up it would hold the 3 s outage and the 1 s margin on top.
	if got > onAir+1.5 {
		t.Errorf("b's recording after its return holds %.2f s in %.2f s on air: it did not catch up", got, onAir)
	}
}

// TestE2EOutputsRTMPS: three outputs: rtmps through TLS termination with
// the CA given, rtmps to a server whose certificate that CA did not sign,
// and plain rtmp. The refused one fails alone, once, with no retry; the
// other two record the whole stream; no ffmpeg's command line carries a
// key.
func TestE2EOutputsRTMPS(t *testing.T) {
	t.Parallel()
	srv := startRTMP(t)
	upstream := fmt.Sprintf("127.0.0.1:%d", srv.Port)
	dir := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 1000, 3, 24000, 1)
	ca := newTestCA(t, "livepush-test-ca")
	self, _ := selfSigned(t, "127.0.0.1")
	good := startTLSProxy(t, ca.issue(t, "127.0.0.1"), upstream)
	refused := startTLSProxy(t, self, upstream)
	keys := []string{"tlsgood7", "tlsbad7", "plain7"}
	outs := []string{fmt.Sprintf("rtmps://127.0.0.1:%d/live/%s", good.Port, keys[0]),
		fmt.Sprintf("rtmps://127.0.0.1:%d/live/%s", refused.Port, keys[1]), srv.URL(keys[2])}
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "--size", "64x64", "--tls-ca-file", ca.File,
		"-o", outs[0], "-o", outs[1], "-o", outs[2])
	// Every ffmpeg livepush starts while it streams: the encoder and the outputs'.
	seen := map[int]bool{}
	for deadline := time.Now().Add(20 * time.Second); len(seen) < 3 && time.Now().Before(deadline) && !p.Exited(); {
		for _, pid := range childrenOf(p.Pid(), "ffmpeg") {
			if argv := proctest.Cmdline(pid); argv != nil && !seen[pid] {
				seen[pid] = true
				joined := strings.Join(argv, " ")
				for _, k := range keys {
					if strings.Contains(joined, k) {
						t.Errorf("ffmpeg %d's command line carries %q: %s", pid, k, joined)
					}
				}
				if strings.Contains(joined, "rtmp") && !strings.Contains(joined, "-fpre ") {
					t.Errorf("ffmpeg %d publishes without a key file: %s", pid, joined)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.ExpectExit(0, 60*time.Second)
	for _, k := range []string{keys[0], keys[2]} {
		recs := srv.WaitDone(k, 10*time.Second)
		if len(recs) != 1 {
			t.Fatalf("%s: recordings %v, want 1", k, recs)
		}
		checkRecording(t, recs[0], streamWant{W: 64, H: 64, FPS: 25, GOP: 1, Rate: 24000, Channels: 1, Dur: frameCeil(3, 25)})
	}
	stderr := p.Stderr.String()
	if recs := srv.Recordings(keys[1]); len(recs) > 0 || refused.conns.Load() != 1 {
		t.Errorf("refused certificate: recordings %v, %d connections (want none, 1)", recs, refused.conns.Load())
	}
	if !strings.Contains(stderr, "output failed, not retried") || !strings.Contains(stderr, "state=failed") {
		t.Errorf("the refused output is not reported failed:\n%s", tail(stderr, 20))
	}
	for _, k := range keys {
		if strings.Contains(stderr, k) {
			t.Errorf("stderr shows %q", k)
		}
	}
}

// fileSize is the size of path, 0 if it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
