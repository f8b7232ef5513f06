//go:build unix

package orchestrator

import (
	"io/fs"
	"os"
	"syscall"
)

// mkfifo makes the named pipe path.
func mkfifo(path string, mode uint32) error { return syscall.Mkfifo(path, mode) }

// signalGroup signals ffmpeg's process group (ffmpeg leads it: Setpgid), so
// that a wrapper's ffmpeg child is reached too, not only the wrapper.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}

// fileUID is the user that owns the file fi describes.
func fileUID(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
