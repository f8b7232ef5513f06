//go:build !linux

package orchestrator

// hugeCopy returns b: only Linux collapses memory into huge pages on request.
func hugeCopy(b []byte) []byte { return b }
