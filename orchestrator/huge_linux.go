package orchestrator

import (
	"syscall"
	"unsafe"
)

const (
	hugePage     = 2 << 20 // x86-64 and arm64 (4 KiB base pages) transparent huge page
	madvCollapse = 25      // MADV_COLLAPSE, Linux 6.1
)

// hugeCopy returns a copy of b in memory backed by transparent huge pages,
// or b itself when the kernel will not collapse it (before Linux 6.1, or with
// THP disabled). vmsplice pins every page of a frame each time it is written;
// walking the page tables for 1500 small pages of a 1920x1080 frame was a
// third of livepush's CPU, and one huge page stands for 512 of them
// (measured: livepush's samples -17 % at 1080p). The copy costs a few
// milliseconds, once per still image.
func hugeCopy(b []byte) []byte {
	if len(b) < hugePage {
		return b
	}
	n := (len(b) + hugePage - 1) / hugePage * hugePage
	buf := make([]byte, n+hugePage)
	off := (hugePage - int(uintptr(unsafe.Pointer(&buf[0]))%hugePage)) % hugePage
	h := buf[off : off+n]
	copy(h, b)
	if err := syscall.Madvise(h, madvCollapse); err != nil {
		return b
	}
	return h[:len(b):len(b)]
}
