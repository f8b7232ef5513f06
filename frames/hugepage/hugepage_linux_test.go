package hugepage

import (
	"syscall"
	"testing"
	"unsafe"

	"github.com/livepush/livepush/orchestrator/proctest"
)

// TestAllocHuge: memory from Size up starts on a Size boundary, is zeroed,
// and its capacity covers its last huge page. Whether the kernel then backs
// it with huge pages is best effort (THP may be off); TestCollapseAligned
// checks that where the kernel can.
func TestAllocHuge(t *testing.T) {
	if small := Alloc(1000); len(small) != 1000 {
		t.Fatalf("len %d", len(small))
	}
	const n = 1920 * 1080 * 3
	p := Alloc(n)
	if len(p) != n || cap(p) != 6<<20 {
		t.Fatalf("len %d cap %d, want %d and %d", len(p), cap(p), n, 6<<20)
	}
	if a := uintptr(unsafe.Pointer(&p[0])); a%Size != 0 {
		t.Fatalf("starts at %#x, not on a 2 MiB boundary", a)
	}
	for i := range p {
		if p[i] != 0 {
			t.Fatalf("byte %d not zero", i)
		}
		p[i] = byte(i)
	}
}

// ownMapping returns n bytes (rounded up to whole huge pages) on a Size
// boundary, in a mapping of their own between two inaccessible guards, so
// that /proc/self/smaps counts their huge pages alone: the Go heap is one
// mapping, whose count also moves with memory earlier tests left behind.
func ownMapping(t *testing.T, n int) []byte {
	t.Helper()
	m := roundUp(n)
	const guard = 4096
	all, err := syscall.Mmap(-1, 0, m+Size+2*guard, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(all) })
	start := uintptr(unsafe.Pointer(&all[0])) + guard
	off := guard + int((Size-start%Size)%Size)
	b := all[off : off+m : off+m]
	if err := syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		t.Fatal(err)
	}
	return b
}

// collapseWorks reports whether this kernel collapses memory on request.
func collapseWorks(t *testing.T) bool {
	b := ownMapping(t, Size)
	for i := range b {
		b[i] = 1
	}
	return syscall.Madvise(b, madvCollapse) == nil
}

// TestCollapseAligned: memory on a Size boundary (as Alloc gives) is
// collapsed where it is, not copied, keeps its bytes, and is in huge pages
// afterwards where the kernel collapses on request.
func TestCollapseAligned(t *testing.T) {
	const n = 1280 * 720 * 3
	b := ownMapping(t, n)[:n]
	for i := range b {
		b[i] = byte(i % 253)
	}
	got := Collapse(b)
	if &got[0] != &b[0] || len(got) != n {
		t.Fatal("aligned memory was copied")
	}
	huge, err := proctest.MappingAnonHugeKB(uintptr(unsafe.Pointer(&b[0])))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("huge pages in the frame's mapping: %d KiB", huge)
	if collapseWorks(t) && huge < 4096 {
		t.Errorf("%d KiB of the frame in huge pages, want 4096", huge)
	}
	for i := range got {
		if got[i] != byte(i%253) {
			t.Fatalf("byte %d changed", i)
		}
	}
}

// TestCollapseCopies: memory off a Size boundary comes back as a copy on
// one, with the same bytes; smaller memory comes back as it is.
func TestCollapseCopies(t *testing.T) {
	buf := make([]byte, 3<<20+1)
	b := buf[1:]
	if uintptr(unsafe.Pointer(&b[0]))%Size == 0 {
		b = buf[:len(buf)-1]
	}
	for i := range b {
		b[i] = byte(i % 251)
	}
	got := Collapse(b)
	if len(got) != len(b) {
		t.Fatalf("len %d, want %d", len(got), len(b))
	}
	if &got[0] != &b[0] {
		if uintptr(unsafe.Pointer(&got[0]))%Size != 0 {
			t.Error("the copy is not on a 2 MiB boundary")
		}
		for i := range got {
			if got[i] != b[i] {
				t.Fatalf("byte %d differs", i)
			}
		}
	} else if collapseWorks(t) {
		t.Error("memory off a 2 MiB boundary was not copied, though the kernel collapses")
	}
	small := make([]byte, 1000)
	if got := Collapse(small); &got[0] != &small[0] {
		t.Error("small memory was copied")
	}
}
