package frames

import (
	"testing"
	"unsafe"
)

// TestNewPixelsHuge: a frame from 2 MiB up starts on a 2 MiB boundary, is
// zeroed, and its capacity covers its last huge page. Whether the kernel then
// backs it with huge pages is best effort (THP may be off); the
// orchestrator's tests measure that where it is required (inHugePages).
func TestNewPixelsHuge(t *testing.T) {
	if small := newPixels(1000); len(small) != 1000 {
		t.Fatalf("len %d", len(small))
	}
	const n = 1920 * 1080 * 3
	p := newPixels(n)
	if len(p) != n || cap(p) != 6<<20 {
		t.Fatalf("len %d cap %d, want %d and %d", len(p), cap(p), n, 6<<20)
	}
	if a := uintptr(unsafe.Pointer(&p[0])); a%hugePage != 0 {
		t.Fatalf("starts at %#x, not on a 2 MiB boundary", a)
	}
	for i := range p {
		if p[i] != 0 {
			t.Fatalf("byte %d not zero", i)
		}
		p[i] = byte(i)
	}
}
