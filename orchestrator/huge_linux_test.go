package orchestrator

import (
	"syscall"
	"testing"
)

// collapseWorks reports whether this kernel collapses memory on request.
func collapseWorks() bool {
	b := aligned(hugePage, hugePage)
	for i := range b {
		b[i] = 1
	}
	return syscall.Madvise(b, madvCollapse) == nil
}

// TestInHugePagesAligned: a frame on a 2 MiB boundary (as package frames
// allocates them) is collapsed where it is, not copied, and keeps its bytes.
func TestInHugePagesAligned(t *testing.T) {
	const n = 1280 * 720 * 3
	b := aligned(n, 4<<20)
	for i := range b {
		b[i] = byte(i % 253)
	}
	before := anonHugeKB(t)
	got := inHugePages(b)
	if &got[0] != &b[0] || len(got) != n {
		t.Fatal("an aligned frame was copied")
	}
	after := anonHugeKB(t)
	t.Logf("huge pages: %d KiB -> %d KiB", before, after)
	if collapseWorks() && after-before < 4096 {
		t.Errorf("AnonHugePages grew by %d KiB, want >= 4096", after-before)
	}
	for i := range got {
		if got[i] != byte(i%253) {
			t.Fatalf("byte %d changed", i)
		}
	}
}
