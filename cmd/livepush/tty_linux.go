package main

import (
	"io"
	"syscall"
	"unsafe"
)

// isTerminal reports whether w is a terminal: the TCGETS ioctl that
// isatty(3) makes succeeds on it.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
