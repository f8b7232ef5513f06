package orchestrator

import (
	"os"
	"syscall"
)

// fSetPipeSz is F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which package
// syscall does not name.
const fSetPipeSz = 1031

// setPipeSize sets the kernel buffer of a pipe to size bytes.
func setPipeSize(f *os.File, size int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, uintptr(size))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
