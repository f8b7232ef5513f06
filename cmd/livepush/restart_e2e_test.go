package main

// End-to-end tests of the supervisor with real ffmpeg and a real nginx-rtmp: ffmpeg killed
// mid-stream, the server going away and coming back, stops by signal, and livepush itself killed.
// The input for the restart tests is a step tone (second i is 300+100*i Hz), so the recordings show
// which seconds of the input reached the server, in which order.

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// videoSecondsNow is how much video the FLV at path holds so far (its video packets at fps), by
// ffprobe; 0 while it cannot be read yet. The file may still be growing: a cut last packet is fine.
func videoSecondsNow(path string, fps float64) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "ffprobe", "-v", "quiet", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	return float64(len(nonEmptyLines(string(out)))) / fps
}

// WaitMedia waits until the FLV at path (a recording, or livepush's own output, still being written)
// holds at least sec seconds of 25 fps video and returns how much it holds then. It fails the test
// when livepush exits first or timeout passes.
func (p *lpProc) WaitMedia(path string, sec float64, timeout time.Duration) float64 {
	p.t.Helper()
	const fps = 25
	deadline := time.Now().Add(timeout)
	for {
		got := videoSecondsNow(path, fps)
		if got >= sec {
			return got
		}
		if p.Exited() {
			p.t.Fatalf("livepush exited (code %d) while %s held %.2f s of video, waiting for %.2f s; stderr:\n%s",
				p.code, filepath.Base(path), got, sec, tail(p.Stderr.String(), 30))
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s holds %.2f s of video after %v, want %.2f s; stderr:\n%s",
				filepath.Base(path), got, timeout, sec, tail(p.Stderr.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2ERestartAfterKill: kill -9 the ffmpeg child once the first recording holds 5 s, and again once
// the second one does, in a 20 s stream; livepush starts a new one each time and exits 0 at the end;
// the recordings (one per publish) carry every second of the input, in order, none missing, at most a
// few seconds repeated at each restart.
func TestE2ERestartAfterKill(t *testing.T) {
	t.Parallel()
	srv := startRTMP(t)
	dir := t.TempDir()
	const n = 20
	wav := makeStepToneWAV(t, filepath.Join(dir, "steps.wav"), n, 24000)
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 256)
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", srv.URL("steps"),
		"--restart-delay", "500ms", "--restart-max-delay", "2s")
	first, t0, ok := srv.WaitNewRecording("steps", nil, 15*time.Second)
	if !ok {
		p.Wait(time.Second)
		t.Fatalf("no publish within 15 s; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	t.Logf("first publish %v after start", t0.Sub(p.Start).Round(time.Millisecond))
	known := []string{first}
	for i := range 2 {
		// Each kill lands mid-stream, with media on both sides of it in the input.
		cur := known[len(known)-1]
		held := p.WaitMedia(cur, 5, 30*time.Second)
		child := p.WaitChild(0, 5*time.Second)
		if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %d: %v", child, err)
		}
		tKill := time.Now()
		next := p.WaitChild(child, 15*time.Second)
		tChild := time.Now()
		rec, tRec, ok := srv.WaitNewRecording("steps", known, 15*time.Second)
		if !ok {
			t.Fatalf("kill #%d: no new publish within 15 s; stderr:\n%s", i+1, tail(p.Stderr.String(), 30))
		}
		known = append(known, rec)
		t.Logf("kill #%d at %v of the stream (%s held %.2f s): ffmpeg %d killed; new ffmpeg %d started %v later; new publish (recording %s) %v after the kill",
			i+1, tKill.Sub(t0).Round(time.Millisecond), filepath.Base(cur), held, child, next, tChild.Sub(tKill).Round(time.Millisecond),
			filepath.Base(rec), tRec.Sub(tKill).Round(time.Millisecond))
	}
	p.ExpectExit(0, 60*time.Second)
	t.Logf("livepush exited 0 after %v for %d s of input with two restarts", p.Wall().Round(time.Millisecond), n)
	recs := srv.WaitDone("steps", 15*time.Second)
	if len(recs) != 3 {
		t.Errorf("%d recordings, want 3 (one per publish: start + two restarts): %v", len(recs), recs)
	}
	analyseRecordings(t, recs, n, 0.15, 3)
	kids, _ := p.Children()
	t.Logf("ffmpeg children over the run: %v", kids)
}

// TestE2EServerOutage: nginx stops for ~3 s mid-stream and comes back on the same port; the stream
// comes back by itself within the backoff cap (--restart-max-delay 2s), finishes, exits 0, and the
// recordings carry the whole input in order.
func TestE2EServerOutage(t *testing.T) {
	t.Parallel()
	srv := startRTMP(t)
	dir := t.TempDir()
	const n = 15
	const maxDelay = 2 * time.Second
	wav := makeStepToneWAV(t, filepath.Join(dir, "steps.wav"), n, 24000)
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 256)
	p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", srv.URL("outage"),
		"--restart-delay", "500ms", "--restart-max-delay", maxDelay.String())
	first, t0, ok := srv.WaitNewRecording("outage", nil, 15*time.Second)
	if !ok {
		t.Fatalf("no publish within 15 s; stderr:\n%s", tail(p.Stderr.String(), 30))
	}
	// The outage comes mid-stream: 4 s of the input are on the server before it.
	p.WaitMedia(first, 4, 30*time.Second)
	srv.Stop()
	tDown := time.Now()
	before := srv.Recordings("outage")
	// The outage itself: how long the server stays away is what this test is about.
	time.Sleep(3 * time.Second)
	if p.Exited() {
		t.Fatalf("livepush gave up during a 3 s outage (exit %d); stderr:\n%s", p.code, tail(p.Stderr.String(), 30))
	}
	kidsDuring, _ := p.Children()
	srv.Start()
	tUp := time.Now()
	rec, tRec, ok := srv.WaitNewRecording("outage", before, maxDelay+10*time.Second)
	if !ok {
		t.Fatalf("the stream did not come back within %v of the server's return; stderr:\n%s", maxDelay+10*time.Second, tail(p.Stderr.String(), 30))
	}
	back := tRec.Sub(tUp)
	t.Logf("outage: server down at %v of the stream for %v; stream back (recording %s) %v after the server's return (cap %v); %d ffmpeg starts so far",
		tDown.Sub(t0).Round(time.Millisecond), tUp.Sub(tDown).Round(time.Millisecond), filepath.Base(rec),
		back.Round(time.Millisecond), maxDelay, len(kidsDuring))
	// ffmpeg's own start-up and connect take a second or more on a busy machine.
	if back > maxDelay+2500*time.Millisecond {
		t.Errorf("the stream came back %v after the server, want within the backoff cap %v (+2.5 s for ffmpeg to start and connect)", back, maxDelay)
	}
	p.ExpectExit(0, 60*time.Second)
	recs := srv.WaitDone("outage", 15*time.Second)
	t.Logf("livepush exited 0 after %v; recordings: %d", p.Wall().Round(time.Millisecond), len(recs))
	analyseRecordings(t, recs, n, 0.15, 3)
}

// TestE2EStopBySignal: SIGINT or SIGTERM during a real-time file-output stream ends livepush with exit
// 0 within the 5 s grace, the FLV is whole and playable, and no ffmpeg child remains.
func TestE2EStopBySignal(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	dir := t.TempDir()
	// Noise, so that the file grows while it streams and the test can see how much it holds.
	img := makeNoisePNG(t, filepath.Join(dir, "noise.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone10.wav"), 1000, 10, 24000, 1)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		sig := sig
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.flv")
			p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "-o", out)
			child := p.WaitChild(0, 10*time.Second)
			// The stop comes mid-stream, once the file holds 2 s of video (ffmpeg writes it in
			// blocks, so what it holds lags up to a second behind what was sent).
			held := p.WaitMedia(out, 2, 30*time.Second)
			p.Signal(sig)
			tSig := time.Now()
			code := p.Wait(15 * time.Second)
			stop := p.End.Sub(tSig)
			t.Logf("%v: livepush exited %d, %v after the signal", sig, code, stop.Round(time.Millisecond))
			if code != 0 {
				t.Errorf("exit code %d after %v, want 0; stderr:\n%s", code, sig, tail(p.Stderr.String(), 30))
			}
			if stop > 6*time.Second {
				t.Errorf("stopping took %v, want within the 5 s grace", stop)
			}
			if d, ok := waitGone(child, 2*time.Second); !ok {
				t.Errorf("ffmpeg %d still alive %v after livepush exited", child, d)
			}
			// Playable: probe it, and decode all of it without a single error.
			info := ffprobe(t, out)
			if info.Stream("video") == nil || info.Stream("audio") == nil {
				t.Fatalf("%s: streams %+v, want video and audio", out, info.Streams)
			}
			vp := ffprobePackets(t, out, "v")
			d := videoDuration(vp, 25)
			t.Logf("%s after %v: %d frames, %.2f s (%.2f s at the signal), format duration %s",
				filepath.Base(out), sig, len(vp), d, held, info.Format.Duration)
			if after := float64(len(vp)) / 25; after < held {
				t.Errorf("%s holds %.2f s of video after the stop, less than the %.2f s it held before the signal", out, after, held)
			}
			var errs bytes.Buffer
			dec := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", out, "-f", "null", "-")
			dec.Stderr = &errs
			if err := dec.Run(); err != nil || errs.Len() > 0 {
				t.Errorf("decoding %s: %v\n%s", out, err, errs.String())
			}
			if extra, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "out.*.flv")); len(extra) > 0 {
				t.Errorf("continuation files after a clean stop: %v", extra)
			}
		})
	}
}

// TestE2ELivepushKilled: SIGKILL of livepush takes its ffmpeg child with it within 2 s and the stream
// stops. "child-stopped" first freezes ffmpeg with SIGSTOP, so that only the kernel's parent-death
// signal (not the end of its input pipes) can end it.
func TestE2ELivepushKilled(t *testing.T) {
	t.Parallel()
	needTools(t, true)
	dir := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 256)
	wav := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 1000, 3, 24000, 1)
	for _, mode := range []string{"running", "child-stopped"} {
		mode := mode
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := startRTMP(t)
			p := startLivepush(t, lpOpts{}, "stream", "--image", img, "--audio", wav, "--loop", "-o", srv.URL("killed"))
			// A process killed with SIGKILL cannot remove its FIFO directory.
			p.allowFIFOLeft = true
			rec, _, ok := srv.WaitNewRecording("killed", nil, 15*time.Second)
			if !ok {
				t.Fatalf("no publish within 15 s; stderr:\n%s", tail(p.Stderr.String(), 30))
			}
			child := p.WaitChild(0, 5*time.Second)
			// The kill comes while the stream is on the air: the server has a second of it.
			p.WaitMedia(rec, 1, 30*time.Second)
			if mode == "child-stopped" {
				if err := syscall.Kill(child, syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			tKill := time.Now()
			p.Wait(5 * time.Second)
			d, gone := waitGone(child, 2*time.Second)
			if !gone {
				t.Errorf("ffmpeg %d still alive %v after livepush was killed (mode %s)", child, d, mode)
			} else {
				t.Logf("%s: ffmpeg %d gone %v after livepush was killed", mode, child, d.Round(time.Millisecond))
			}
			// The stream stops: nginx closes the recording, and nothing publishes again.
			deadline := time.Now().Add(5 * time.Second)
			for !srv.recordingDone(rec) {
				if time.Now().After(deadline) {
					t.Fatalf("nginx still receiving %s 5 s after livepush was killed", filepath.Base(rec))
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%s: publishing stopped (recording closed) %v after the kill", mode, time.Since(tKill).Round(time.Millisecond))
			if _, _, again := srv.WaitNewRecording("killed", []string{rec}, time.Second); again {
				t.Errorf("a new publish appeared after livepush was killed")
			}
		})
	}
}
