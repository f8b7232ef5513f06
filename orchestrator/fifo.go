package orchestrator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// pipeDir is a private folder holding the two FIFOs of one ffmpeg run.
// os.MkdirTemp makes it 0700, so no other local user can open the FIFOs and
// write frames into the stream.
type pipeDir struct {
	dir          string
	video, audio string
}

func newPipeDir() (*pipeDir, error) {
	dir, err := os.MkdirTemp("", "livepush-*")
	if err != nil {
		return nil, fmt.Errorf("fifo: %w", err)
	}
	p := &pipeDir{dir: dir, video: filepath.Join(dir, "video"), audio: filepath.Join(dir, "audio")}
	for _, path := range []string{p.video, p.audio} {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("fifo: mkfifo %s: %w", path, err)
		}
	}
	return p, nil
}

func (p *pipeDir) remove() error { return os.RemoveAll(p.dir) }

// openWriter opens the FIFO at path for writing. The open blocks until ffmpeg
// opens the other end, and ffmpeg opens its inputs one after the other, so
// each FIFO is opened on its own; ctx cancels a pending open by briefly
// becoming the reader it waits for.
func openWriter(ctx context.Context, path string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("fifo: %w", r.err)
		}
		setPipeSize(r.f, pipeSize)
		return r.f, nil
	case <-ctx.Done():
		if rd, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			defer rd.Close()
		}
		if r := <-done; r.f != nil {
			r.f.Close()
		}
		return nil, ctx.Err()
	}
}

// pipeSize is the FIFO buffer asked for: 1 MiB, the largest an unprivileged
// process may set by default, so a writer is rarely blocked by a short
// pause of ffmpeg's reader.
const pipeSize = 1 << 20
