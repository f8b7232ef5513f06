package hugepage

import (
	"syscall"
	"unsafe"
)

const (
	madvHugePage = 14 // MADV_HUGEPAGE
	madvCollapse = 25 // MADV_COLLAPSE, Linux 6.1
)

// Alloc returns n zeroed bytes. From Size up they start on a Size boundary,
// their capacity covers the last huge page, and they ask for huge pages
// before anything touches them, so that they are faulted in as huge pages.
func Alloc(n int) []byte {
	if n < Size {
		return make([]byte, n)
	}
	m := roundUp(n)
	buf := make([]byte, m+Size)
	off := (Size - int(uintptr(unsafe.Pointer(&buf[0]))%Size)) % Size
	p := buf[off : off+m : off+m]
	syscall.Madvise(p, madvHugePage) // advice: without it, small pages
	return p[:n]
}

// Collapse returns b, or a copy of it, backed by huge pages where the kernel
// allows (MADV_COLLAPSE); otherwise b itself. Memory from Alloc is collapsed
// where it is, which costs nothing when it is in huge pages already; other
// memory is copied into Alloc's. It is meant for memory that is written once
// and then read for a long time, such as a still frame.
func Collapse(b []byte) []byte {
	if len(b) < Size {
		return b
	}
	if uintptr(unsafe.Pointer(&b[0]))%Size == 0 {
		// Only what b's capacity covers: the memory past it is not b's.
		if m := min(roundUp(len(b)), cap(b)/Size*Size); m > 0 {
			syscall.Madvise(b[:m:m], madvCollapse)
		}
		return b
	}
	h := Alloc(len(b))
	copy(h, b)
	if err := syscall.Madvise(h[:cap(h)], madvCollapse); err != nil {
		return b
	}
	return h
}

// roundUp is n rounded up to whole huge pages.
func roundUp(n int) int { return (n + Size - 1) / Size * Size }
