package orchestrator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// pipeDir is a private folder holding the two FIFOs of one ffmpeg run.
// os.MkdirTemp makes it 0700, so no other local user can open the FIFOs and
// write frames into the stream.
type pipeDir struct {
	dir          string
	video, audio string
}

func newPipeDir() (*pipeDir, error) {
	dir, err := PrivateDir()
	if err != nil {
		return nil, fmt.Errorf("fifo: %w", err)
	}
	p := &pipeDir{dir: dir, video: filepath.Join(dir, "video"), audio: filepath.Join(dir, "audio")}
	for _, path := range []string{p.video, p.audio} {
		if err := mkfifo(path, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("fifo: mkfifo %s: %w", path, err)
		}
	}
	return p, nil
}

// PrivateDir makes a folder (mode 0700) in os.TempDir for this process's
// temporary files, such as uploads being decoded. It is named after its
// owner, so that once the owner has been killed, and so could not remove
// it, the next livepush to start a stream removes it (see
// removeStalePipeDirs). The caller removes it when done.
func PrivateDir() (string, error) {
	pattern := "livepush-*"
	if o, err := selfOwner(); err == nil {
		pattern = o.pipeDirPattern()
	}
	return os.MkdirTemp("", pattern)
}

func (p *pipeDir) remove() error { return os.RemoveAll(p.dir) }

// openWriter opens the FIFO at path for writing, with a buffer of size bytes
// if the kernel allows it, else of defaultPipeSize. The open blocks until ffmpeg
// opens the other end, and ffmpeg opens its inputs one after the other, so
// each FIFO is opened on its own; ctx cancels a pending open by briefly
// becoming the reader it waits for.
func openWriter(ctx context.Context, path string, size int) (*os.File, error) {
	return openWriterVia(ctx, path, size, openReleaser)
}

// openReleaser opens name for reading without blocking: the reader that a
// blocked open for writing waits for.
func openReleaser(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// releaseRetry is how long a failed releasing open waits before the next try.
const releaseRetry = 5 * time.Millisecond

// openWriterVia is openWriter with the releasing open done by release. Both
// opens go through the FIFO pinned by pinFIFO, so a removed path cannot stop
// the release, and the release is tried until the blocked open returns:
// nothing can leave the caller waiting in open(2) for ever.
func openWriterVia(ctx context.Context, path string, size int, release func(string) (*os.File, error)) (*os.File, error) {
	name, unpin, err := pinFIFO(path)
	if err != nil {
		return nil, fmt.Errorf("fifo: %w", err)
	}
	defer unpin() // only once the open below has returned
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := openBlockingWriter(name, path)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("fifo: %w", r.err)
		}
		// Failure is harmless: a smaller buffer works, with more wake-ups.
		if setPipeSize(r.f, size) != nil && size > defaultPipeSize {
			setPipeSize(r.f, defaultPipeSize)
		}
		return r.f, nil
	case <-ctx.Done():
	}
	var rd *os.File // kept open until the blocked open has returned
	for {
		var retry <-chan time.Time
		if rd == nil {
			if rd, _ = release(name); rd == nil {
				retry = time.After(releaseRetry)
			}
		}
		select {
		case r := <-done:
			if rd != nil {
				rd.Close()
			}
			if r.f != nil {
				r.f.Close()
			}
			return nil, ctx.Err()
		case <-retry:
		}
	}
}

// openBlockingWriter opens name for writing, waiting for a reader, and
// returns it non-blocking, as the pipe writer needs (Go's poller waits for
// room), under the name path.
func openBlockingWriter(name, path string) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(fd)
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// defaultPipeSize is 1 MiB, the largest FIFO buffer an unprivileged process
// may set by default (fs.pipe-max-size).
const defaultPipeSize = 1 << 20

// maxPipeSize bounds what is asked for a video FIFO.
const maxPipeSize = 16 << 20

// videoPipeSize is the buffer asked for a video FIFO: room for a whole frame,
// so that a frame goes in with one write and ffmpeg reads it with one read,
// instead of a frame larger than the buffer going in pieces, each a wake-up
// of both sides (three a frame at 1280x720 in 1 MiB). The kernel grants more
// than fs.pipe-max-size only to a process with CAP_SYS_RESOURCE; otherwise
// the FIFO gets defaultPipeSize. Spliced frames are references to livepush's
// memory, so a large buffer costs no memory.
func videoPipeSize(frameBytes int) int { return pipeSizeFor(frameBytes, defaultPipeSize) }

// audioPipeSize is the buffer asked for the audio FIFO of a realtime stream:
// a second of PCM, at least the 64 KiB default. Pipe buffers count against a
// per-user limit (fs.pipe-user-pages-soft, 64 MiB), past which new pipes get
// 8 KiB, and realtime is where many streams run side by side, so a stream
// asks for no more than it needs. Unpaced, the audio FIFO keeps 1 MiB: with
// 64 KiB the writer wakes for every chunk ffmpeg reads, which slows a render
// (scripts/bench.sh's unpaced rows).
func audioPipeSize(bytesPerSecond int) int { return pipeSizeFor(bytesPerSecond, 64<<10) }

// pipeSizeFor is the smallest power of two >= n, within [least, maxPipeSize].
func pipeSizeFor(n, least int) int {
	size := least
	for size < n && size < maxPipeSize {
		size *= 2
	}
	return size
}
