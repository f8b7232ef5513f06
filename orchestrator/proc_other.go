//go:build !linux

package orchestrator

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr puts ffmpeg in its own process group. Without Pdeathsig, an
// ffmpeg whose livepush was killed runs until its pipes close.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup signals ffmpeg's process group (ffmpeg leads it: Setpgid), so
// that a wrapper's ffmpeg child is reached too, not only the wrapper.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}
