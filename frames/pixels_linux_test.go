package frames

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestNewPixelsHuge: a frame from 2 MiB up starts on a 2 MiB boundary, is
// zeroed, and its capacity covers its last huge page.
func TestNewPixelsHuge(t *testing.T) {
	if small := newPixels(1000); len(small) != 1000 {
		t.Fatalf("len %d", len(small))
	}
	const n = 1920 * 1080 * 3
	before := anonHugeKB(t)
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
	after := anonHugeKB(t)
	t.Logf("AnonHugePages %d -> %d KiB", before, after)
	// Huge pages at fault time are best effort (THP may be off, or memory
	// too fragmented): reported, not required.
	if after-before < 4096 {
		thp, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
		t.Logf("not faulted in as huge pages (AnonHugePages +%d KiB; THP: %s)", after-before, strings.TrimSpace(string(thp)))
	}
}

func anonHugeKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "AnonHugePages:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	return -1
}
