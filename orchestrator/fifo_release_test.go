package orchestrator

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/proctest"
)

// hangLimit is how long a cancelled open may take before the test calls it
// a hang; a released open returns in milliseconds.
const hangLimit = 10 * time.Second

// startBlockedOpen starts openWriterVia on a FIFO nobody reads and returns
// once the open is pending, with a channel that gets its error.
func startBlockedOpen(t *testing.T, ctx context.Context, release func(string) (*os.File, error)) (*pipeDir, <-chan error) {
	t.Helper()
	pd, err := newPipeDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pd.remove() })
	errc := make(chan error, 1)
	go func() {
		f, err := openWriterVia(ctx, pd.video, defaultPipeSize, release)
		if f != nil {
			f.Close()
		}
		errc <- err
	}()
	// Pending: a descriptor of ours names the FIFO, and no result yet.
	if !eventually(hangLimit, func() bool { return holdsFD(pd.video) }) {
		t.Fatal("the open never took hold of the FIFO")
	}
	return pd, errc
}

// holdsFD reports whether one of this process's descriptors names path.
func holdsFD(path string) bool {
	files, _ := proctest.OpenFiles(os.Getpid())
	for _, f := range files {
		if strings.HasPrefix(f, path) {
			return true
		}
	}
	return false
}

// eventually calls cond every millisecond until it holds or d has passed.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			return false
		}
	}
	return true
}

func waitReleased(t *testing.T, errc <-chan error) {
	t.Helper()
	select {
	case err := <-errc:
		if err != context.Canceled {
			t.Errorf("cancelled open: %v, want context.Canceled", err)
		}
	case <-time.After(hangLimit):
		t.Fatalf("cancelled open still blocked after %v", hangLimit)
	}
}

// TestOpenWriterReleaseRetried: a releasing open that fails (out of file
// descriptors, say) is tried again, so the cancelled open still returns.
func TestOpenWriterReleaseRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	release := func(name string) (*os.File, error) {
		if calls.Add(1) <= 2 {
			return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
		}
		return openReleaser(name)
	}
	_, errc := startBlockedOpen(t, ctx, release)
	cancel()
	waitReleased(t, errc)
	if n := calls.Load(); n < 3 {
		t.Errorf("release tried %d times, want 3", n)
	}
}

// TestOpenWriterReleaseAfterRemove: the FIFO's folder removed while an open
// waits (a cleaner, or a test's teardown) does not stop its release.
func TestOpenWriterReleaseAfterRemove(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pd, errc := startBlockedOpen(t, ctx, openReleaser)
	if err := pd.remove(); err != nil {
		t.Fatal(err)
	}
	cancel()
	waitReleased(t, errc)
}

// TestOpenWriterNonBlocking: the writer's descriptor is non-blocking, as
// the pipe writer's raw system calls need, and carries the FIFO's path.
func TestOpenWriterNonBlocking(t *testing.T) {
	pd, err := newPipeDir()
	if err != nil {
		t.Fatal(err)
	}
	defer pd.remove()
	rd, err := os.OpenFile(pd.audio, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	w, err := openWriter(context.Background(), pd.audio, defaultPipeSize)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Name() != pd.audio {
		t.Errorf("Name() = %q, want %q", w.Name(), pd.audio)
	}
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags uintptr
	rc.Control(func(fd uintptr) { flags, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0) })
	if flags&syscall.O_NONBLOCK == 0 {
		t.Errorf("writer flags %#x: not O_NONBLOCK", flags)
	}
	// A write to a full pipe must come back, through the poller, at its deadline.
	w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 64<<10)
	for {
		if _, err := w.Write(buf); err != nil {
			if !os.IsTimeout(err) {
				t.Errorf("write to a full pipe: %v, want a timeout", err)
			}
			break
		}
	}
}
