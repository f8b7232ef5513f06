package orchestrator

import (
	"context"
	"os"
	"syscall"
	"testing"
)

// TestOpenWriterPipeSize: a FIFO gets the buffer asked for, or, where the
// kernel refuses that (above fs.pipe-max-size without CAP_SYS_RESOURCE),
// the 1 MiB default; never the kernel's 64 KiB.
func TestOpenWriterPipeSize(t *testing.T) {
	pd, err := newPipeDir()
	if err != nil {
		t.Fatal(err)
	}
	defer pd.remove()
	for _, want := range []int{64 << 10, 1 << 20, 8 << 20} {
		rd, err := os.OpenFile(pd.video, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		w, err := openWriter(context.Background(), pd.video, want)
		if err != nil {
			t.Fatal(err)
		}
		got, _, errno := syscall.Syscall(syscall.SYS_FCNTL, w.Fd(), 1032 /* F_GETPIPE_SZ */, 0)
		w.Close()
		rd.Close()
		if errno != 0 {
			t.Fatal(errno)
		}
		t.Logf("asked %d, got %d", want, got)
		if int(got) != want && (want <= defaultPipeSize || int(got) != defaultPipeSize) {
			t.Errorf("asked for %d bytes, got %d", want, got)
		}
	}
}
