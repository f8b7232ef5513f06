package main

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/livepush/livepush/frames"
)

// Decoding the image leaves GOMAXPROCS alone: a process that also serves
// HTTP must not be throttled behind its back. The caller's ready func is
// where a file-mode stream sets it.
func TestLoadStillLeavesGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	img := makeQuadPNG(t, filepath.Join(t.TempDir(), "quad.png"), 64)

	s := loadStill(img, 64, 64, frames.FitStretch, nil)
	s.wait()
	if n := runtime.GOMAXPROCS(0); n != 2 {
		t.Fatalf("GOMAXPROCS = %d after loadStill, want 2 as it was", n)
	}
	if pix, err := s.NextFrame(); err != nil || len(pix) != 64*64*3 {
		t.Fatalf("NextFrame = %d bytes, %v", len(pix), err)
	}

	calls := 0
	s = loadStill(img, 64, 64, frames.FitStretch, func() { calls++ })
	s.wait()
	if calls != 1 {
		t.Errorf("ready called %d times, want 1", calls)
	}
}

func TestFileModeProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	t.Setenv("GOMAXPROCS", "")
	ready := fileModeProcs()
	if ready == nil {
		t.Fatal("fileModeProcs() = nil without GOMAXPROCS in the environment")
	}
	ready()
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS = %d after the file-mode ready func, want 1", n)
	}
	t.Setenv("GOMAXPROCS", "3")
	if fileModeProcs() != nil {
		t.Error("fileModeProcs() overrides the user's GOMAXPROCS")
	}
}
