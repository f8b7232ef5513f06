//go:build unix && !linux

package orchestrator

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts ffmpeg in its own process group. Without Pdeathsig, an
// ffmpeg whose livepush was killed runs until its pipes close.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
