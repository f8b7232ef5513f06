package orchestrator

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// throughPipe makes a pipeWriter on a fresh pipe and calls write runs times
// under testing.AllocsPerRun, while a reader takes up to size bytes. It
// returns the allocations per call and what the reader got.
func throughPipe(t *testing.T, splice bool, runs, size int, write func(*pipeWriter)) (float64, []byte) {
	t.Helper()
	r, wf, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := newPipeWriter(wf, splice)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		// Into a buffer made up front: growing one would count as the
		// writer's allocations.
		b := make([]byte, size+1)
		n, _ := io.ReadFull(r, b)
		got <- b[:n]
	}()
	allocs := testing.AllocsPerRun(runs-1, func() { write(w) })
	wf.Close()
	return allocs, <-got
}

// TestPipeWriter writes units larger than the pipe, with vmsplice and with
// plain writes, and checks that the reader gets every byte in order and that
// a write allocates nothing.
func TestPipeWriter(t *testing.T) {
	for _, splice := range []bool{true, false} {
		unit := make([]byte, 3<<20/2) // more than the 64 KiB default pipe: many waits for room
		for i := range unit {
			unit[i] = byte(i * 7 / 3)
		}
		const runs = 20
		one := [][]byte{unit}
		allocs, b := throughPipe(t, splice, runs, runs*len(unit), func(w *pipeWriter) {
			if n, err := w.WriteUnits(one); err != nil || n != len(unit) {
				t.Errorf("splice %v: Write = %d, %v", splice, n, err)
			}
		})
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

// TestPipeWriterUnits writes batches of units, some empty and some larger
// than the pipe (so that writes end inside a unit), and checks that the
// reader gets them whole and in order, and that a batch allocates nothing.
func TestPipeWriterUnits(t *testing.T) {
	for _, splice := range []bool{true, false} {
		var units [][]byte
		var want []byte
		for i, size := range []int{1920, 0, 100 << 10, 7, 0, 1 << 20, 1920, 3} {
			u := make([]byte, size)
			for j := range u {
				u[j] = byte(i*31 + j*7/3)
			}
			units = append(units, u)
			want = append(want, u...)
		}
		const runs = 10
		short := 0
		allocs, b := throughPipe(t, splice, runs, runs*len(want), func(w *pipeWriter) {
			if n, err := w.WriteUnits(units); err != nil || n != len(want) {
				short++
			}
		})
		if short > 0 {
			t.Errorf("splice %v: %d of %d batches not written whole", splice, short, runs)
		}
		if allocs != 0 {
			t.Errorf("splice %v: WriteUnits allocates %v times", splice, allocs)
		}
		if !bytes.Equal(b, bytes.Repeat(want, runs)) {
			t.Fatalf("splice %v: read %d bytes, not the %d written in order", splice, len(b), runs*len(want))
		}
	}
}
