package orchestrator

import (
	"os"
	"syscall"
)

// fSetPipeSz is F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which package
// syscall does not name.
const fSetPipeSz = 1031

// setPipeSize enlarges the kernel buffer of a pipe. Failure is harmless: the
// default buffer works, only with more wake-ups.
func setPipeSize(f *os.File, size int) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, uintptr(size))
		})
	}
}
