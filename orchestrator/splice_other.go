//go:build !linux

package orchestrator

import "os"

// pipeWriter writes with plain writes where vmsplice and raw syscalls are
// not available.
type pipeWriter struct{ f *os.File }

func newPipeWriter(f *os.File, splice bool) (*pipeWriter, error) { return &pipeWriter{f: f}, nil }

// WriteUnits writes the units in order and returns how many bytes of them
// were written.
func (w *pipeWriter) WriteUnits(units [][]byte) (int, error) {
	written := 0
	for _, u := range units {
		n, err := w.f.Write(u)
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}
