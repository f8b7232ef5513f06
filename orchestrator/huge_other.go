//go:build !linux

package orchestrator

// inHugePages returns b: only Linux backs memory with huge pages on request.
func inHugePages(b []byte) []byte { return b }
