package orchestrator

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts ffmpeg in its own process group, so that a Ctrl-C at the
// terminal reaches only livepush, which then stops ffmpeg in order; and asks
// the kernel to kill ffmpeg if livepush dies, so no orphan streams on.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
