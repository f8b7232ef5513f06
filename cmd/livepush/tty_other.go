//go:build !linux

package main

import "io"

// isTerminal is false off Linux: no progress line is drawn there.
func isTerminal(io.Writer) bool { return false }
