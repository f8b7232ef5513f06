package orchestrator

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestPipeWriter writes units larger than the pipe, with vmsplice and with
// plain writes, and checks that the reader gets every byte in order and that
// a write allocates nothing.
func TestPipeWriter(t *testing.T) {
	for _, splice := range []bool{true, false} {
		r, wf, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w, err := newPipeWriter(wf, splice)
		if err != nil {
			t.Fatal(err)
		}
		unit := make([]byte, 3<<20/2) // more than the 64 KiB default pipe: many waits for room
		for i := range unit {
			unit[i] = byte(i * 7 / 3)
		}
		const runs = 20
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(r)
			got <- b
		}()
		allocs := testing.AllocsPerRun(runs-1, func() {
			if n, err := w.Write(unit); err != nil || n != len(unit) {
				t.Errorf("splice %v: Write = %d, %v", splice, n, err)
			}
		})
		wf.Close()
		b := <-got
		r.Close()
		if allocs != 0 {
			t.Errorf("splice %v: Write allocates %v times", splice, allocs)
		}
		if len(b) != runs*len(unit) {
			t.Fatalf("splice %v: read %d bytes, want %d", splice, len(b), runs*len(unit))
		}
		for i := 0; i < runs; i++ {
			if !bytes.Equal(b[i*len(unit):(i+1)*len(unit)], unit) {
				t.Fatalf("splice %v: unit %d differs", splice, i)
			}
		}
	}
}
