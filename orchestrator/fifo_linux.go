package orchestrator

import (
	"os"
	"strconv"
	"syscall"
)

// fSetPipeSz is F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which package
// syscall does not name.
const fSetPipeSz = 1031

// oPath is O_PATH (the same on every architecture Go runs Linux on), which
// package syscall does not name.
const oPath = 0x200000

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

// pinFIFO opens the FIFO at path with O_PATH and returns a name for it,
// /proc/self/fd/N, that reaches the FIFO itself for as long as unpin has not
// been called, even once path is removed. Without /proc it returns path.
func pinFIFO(path string) (name string, unpin func(), err error) {
	fd, err := syscall.Open(path, oPath|syscall.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	unpin = func() { syscall.Close(fd) }
	name = "/proc/self/fd/" + strconv.Itoa(fd)
	if _, err := os.Stat(name); err != nil {
		unpin()
		return path, func() {}, nil
	}
	return name, unpin, nil
}
