package frames

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestLevelDBFS(t *testing.T) {
	sine := make([]byte, 2*2400)
	square := make([]byte, 2*2400)
	for i := 0; i < 2400; i++ {
		binary.LittleEndian.PutUint16(sine[2*i:], uint16(int16(32767*math.Sin(2*math.Pi*float64(i)/48))))
		v := int16(32767)
		if i%48 < 24 {
			v = -32768
		}
		binary.LittleEndian.PutUint16(square[2*i:], uint16(v))
	}
	for _, c := range []struct {
		name string
		pcm  []byte
		want float64
	}{
		{"silence", make([]byte, 960), SilenceDBFS},
		{"nothing", nil, SilenceDBFS},
		{"full-scale sine", sine, -3.01},
		{"full-scale square", square, 0},
	} {
		if got := LevelDBFS(c.pcm); math.Abs(got-c.want) > 0.05 {
			t.Errorf("%s: %.2f dBFS, want %.2f", c.name, got, c.want)
		}
	}
}
