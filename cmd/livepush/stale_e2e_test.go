package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// fifoDirs lists the livepush FIFO folders in dir.
func fifoDirs(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "livepush-*"))
	return m
}

// waitFIFODir waits for a FIFO folder in dir that is not in known.
func waitFIFODir(t *testing.T, p *lpProc, dir string, known []string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, d := range fifoDirs(dir) {
			if !slices.Contains(known, d) {
				return d
			}
		}
		if time.Now().After(deadline) || p.Exited() {
			t.Fatalf("no FIFO folder of livepush %d in %s; stderr:\n%s", p.Pid(), dir, tail(p.Stderr.String(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestE2EStaleFIFODirRemoved: the FIFO folder of a livepush killed with
// SIGKILL is removed by the next livepush that starts with the same TMPDIR,
// while the folder of one still running beside them stays, and that one
// streams on.
func TestE2EStaleFIFODirRemoved(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	dir := t.TempDir()
	tmp := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 1000, 2, 24000, 1)
	args := func(out string, loop bool) []string {
		a := []string{"stream", "--image", img, "--audio", wav, "--size", "64x64", "-o", filepath.Join(dir, out)}
		if loop {
			a = append(a, "--loop")
		}
		return a
	}

	killed := startLivepush(t, lpOpts{TmpDir: tmp}, args("killed.flv", true)...)
	killed.allowFIFOLeft = true
	stale := waitFIFODir(t, killed, tmp, nil)
	running := startLivepush(t, lpOpts{TmpDir: tmp}, args("running.flv", true)...)
	live := waitFIFODir(t, running, tmp, []string{stale})
	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed.Wait(5 * time.Second)
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("the killed livepush's folder is gone before another started: %v", err)
	}

	next := startLivepush(t, lpOpts{TmpDir: tmp}, args("next.flv", false)...)
	if !next.WaitStderr("removed FIFO folders left by livepush processes that were killed", 20*time.Second) {
		t.Errorf("the next livepush did not say it removed a stale folder; stderr:\n%s", tail(next.Stderr.String(), 30))
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale folder %s still there (%v)", stale, err)
	}
	if code := next.Wait(60 * time.Second); code != 0 {
		t.Errorf("next livepush exited %d; stderr:\n%s", code, tail(next.Stderr.String(), 30))
	}
	// The one running beside them keeps its folder and its stream.
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the running livepush's folder was removed: %v", err)
	}
	if running.Exited() {
		t.Fatalf("the running livepush ended (code %d); stderr:\n%s", running.code, tail(running.Stderr.String(), 30))
	}
	running.Signal(syscall.SIGINT)
	if code := running.Wait(20 * time.Second); code != 0 {
		t.Errorf("running livepush exited %d after SIGINT; stderr:\n%s", code, tail(running.Stderr.String(), 30))
	}
}

// TestE2EStaleUploadDirRemoved: the folder a live livepush keeps uploads in
// is, like its FIFO folder, removed by the next livepush when the first was
// killed with SIGKILL.
func TestE2EStaleUploadDirRemoved(t *testing.T) {
	t.Parallel()
	needTools(t, false)
	dir := t.TempDir()
	tmp := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 1000, 1, 24000, 1)
	killed := startLivepush(t, lpOpts{TmpDir: tmp}, "stream", "--live", "--image", img, "--size", "64x64",
		"-o", filepath.Join(dir, "live.flv"), "--control", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	killed.allowFIFOLeft = true
	first := waitFIFODir(t, killed, tmp, nil)
	second := waitFIFODir(t, killed, tmp, []string{first}) // the uploads' and the FIFOs'
	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed.Wait(5 * time.Second)

	next := startLivepush(t, lpOpts{TmpDir: tmp}, "stream", "--image", img, "--audio", wav, "--size", "64x64",
		"-o", filepath.Join(dir, "next.flv"))
	if code := next.Wait(60 * time.Second); code != 0 {
		t.Fatalf("next livepush exited %d; stderr:\n%s", code, tail(next.Stderr.String(), 30))
	}
	for _, d := range []string{first, second} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("folder %s of the killed livepush still there (%v)", d, err)
		}
	}
}
