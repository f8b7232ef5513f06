//go:build !linux

package hugepage

// Alloc returns n zeroed bytes: only Linux backs memory with huge pages on
// request.
func Alloc(n int) []byte { return make([]byte, n) }

// Collapse returns b.
func Collapse(b []byte) []byte { return b }
