package orchestrator

import (
	"syscall"
	"unsafe"
)

const (
	hugePage     = 2 << 20 // x86-64 and arm64 (4 KiB base pages) transparent huge page
	madvHugePage = 14      // MADV_HUGEPAGE
	madvCollapse = 25      // MADV_COLLAPSE, Linux 6.1
)

// inHugePages returns b, or a copy of it, backed by transparent huge pages
// where the kernel allows; otherwise b itself. vmsplice pins every page of a
// frame each time it is written; walking the page tables for the 1519 small
// pages of a 1920x1080 frame was a third of livepush's CPU, and one huge page
// stands for 512 of them (measured: livepush's samples -17 % at 1080p).
//
// A frame that starts on a 2 MiB boundary (package frames allocates them so)
// is collapsed where it is, which costs nothing when it is huge already;
// another is copied, once per still image, into memory that asks for huge
// pages before it is touched.
func inHugePages(b []byte) []byte {
	if len(b) < hugePage {
		return b
	}
	n := (len(b) + hugePage - 1) / hugePage * hugePage
	if uintptr(unsafe.Pointer(&b[0]))%hugePage == 0 {
		// Only what b's capacity covers: the memory past it is not b's.
		if m := min(n, cap(b)/hugePage*hugePage); m > 0 {
			syscall.Madvise(b[:m:m], madvCollapse)
		}
		return b
	}
	h := aligned(n, n)
	syscall.Madvise(h, madvHugePage) // fault the copy in as huge pages
	copy(h, b)
	if err := syscall.Madvise(h, madvCollapse); err != nil {
		return b
	}
	return h[:len(b):len(b)]
}

// aligned returns n bytes that start on a 2 MiB boundary, with capacity c.
func aligned(n, c int) []byte {
	buf := make([]byte, c+hugePage)
	off := (hugePage - int(uintptr(unsafe.Pointer(&buf[0]))%hugePage)) % hugePage
	return buf[off : off+n : off+c]
}
