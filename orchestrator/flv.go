package orchestrator

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// FLV tag types.
const (
	flvAudio  = 8
	flvVideo  = 9
	flvScript = 18
)

// flvHeader is what a relay's ffmpeg reads first: "FLV", version 1, audio
// and video present, a 9-byte header, and PreviousTagSize0.
var flvHeader = []byte{'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0}

// ErrFLV reports FLV that livepush cannot read.
var ErrFLV = errors.New("bad FLV")

// maxTagData is the largest tag body accepted: FLV's 24-bit size field.
const maxTagData = 1<<24 - 1

// flvTag is one FLV tag as the encoder wrote it.
type flvTag struct {
	kind byte  // flvAudio, flvVideo or flvScript
	ts   int64 // milliseconds: the encoder's own while parsed, the hub's once kept
	data []byte
	// key marks a video keyframe; config an AVC or AAC sequence header.
	key, config bool
}

// size is what the tag takes in an FLV stream: header, body, trailing size.
func (t *flvTag) size() int { return 11 + len(t.data) + 4 }

// flvReader reads the tags of one FLV stream.
type flvReader struct {
	r   *bufio.Reader
	hdr [15]byte
}

// newFLVReader reads and checks the FLV header of r.
func newFLVReader(r io.Reader) (*flvReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var h [9]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFLV, err)
	}
	if string(h[:3]) != "FLV" || h[3] != 1 {
		return nil, fmt.Errorf("%w: no FLV signature", ErrFLV)
	}
	off := binary.BigEndian.Uint32(h[5:9])
	if off < 9 || off > 1<<16 {
		return nil, fmt.Errorf("%w: header size %d", ErrFLV, off)
	}
	// The rest of the header, then PreviousTagSize0.
	if _, err := br.Discard(int(off) - 9 + 4); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFLV, err)
	}
	return &flvReader{r: br}, nil
}

// next returns the next tag; io.EOF at a clean end between tags.
func (f *flvReader) next() (*flvTag, error) {
	h := f.hdr[:11]
	if _, err := io.ReadFull(f.r, h); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: tag header: %w", ErrFLV, err)
	}
	if h[0]&0x20 != 0 {
		return nil, fmt.Errorf("%w: encrypted tag", ErrFLV)
	}
	t := &flvTag{kind: h[0] & 0x1f}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	t.ts = int64(uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6]))
	t.data = make([]byte, n+4)
	if _, err := io.ReadFull(f.r, t.data); err != nil {
		return nil, fmt.Errorf("%w: tag body: %w", ErrFLV, err)
	}
	if prev := binary.BigEndian.Uint32(t.data[n:]); prev != uint32(n+11) {
		return nil, fmt.Errorf("%w: tag size %d, previous tag size says %d", ErrFLV, n+11, prev)
	}
	t.data = t.data[:n:n]
	switch t.kind {
	case flvVideo:
		if n >= 2 {
			t.key = t.data[0]>>4 == 1
			t.config = t.data[0]&0x0f == 7 && t.data[1] == 0 // AVC sequence header
		}
	case flvAudio:
		t.config = n >= 2 && t.data[0]>>4 == 10 && t.data[1] == 0 // AAC sequence header
	case flvScript:
	default:
		return nil, fmt.Errorf("%w: tag type %d", ErrFLV, t.kind)
	}
	return t, nil
}

// appendTag appends the tag, with timestamp ts, to b as FLV.
func appendTag(b []byte, t *flvTag, ts int64) []byte {
	n := len(t.data)
	u := uint32(ts)
	b = append(b, t.kind, byte(n>>16), byte(n>>8), byte(n),
		byte(u>>16), byte(u>>8), byte(u), byte(u>>24), 0, 0, 0)
	b = append(b, t.data...)
	return binary.BigEndian.AppendUint32(b, uint32(n+11))
}
