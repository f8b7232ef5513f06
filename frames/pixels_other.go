//go:build !linux

package frames

// newPixels returns n zeroed bytes for a frame's pixels.
func newPixels(n int) []byte { return make([]byte, n) }
