package frames

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"

	wav "github.com/youpy/go-wav"
)

// Errors returned (wrapped) by OpenWAV.
var (
	ErrNotWAV         = errors.New("not a WAV file")
	ErrUnsupportedWAV = errors.New("unsupported WAV format")
	ErrNoSamples      = errors.New("WAV has no samples")
)

// ErrTruncated reports a WAV file that holds less audio than when it was
// opened: another program cut it while it was read. The errors that wrap it
// match io.ErrUnexpectedEOF too.
var ErrTruncated = errors.New("audio file ended early")

// truncatedError says how much of a cut file was read, of how much there was.
type truncatedError struct {
	path      string
	got, want int64 // frames
	rate      int
}

func (e *truncatedError) Error() string {
	return fmt.Sprintf("audio file %q ended early: %.1f s of %.1f s", e.path,
		float64(e.got)/float64(e.rate), float64(e.want)/float64(e.rate))
}

func (e *truncatedError) Is(target error) bool {
	return target == ErrTruncated || target == io.ErrUnexpectedEOF
}

// WAVFormat describes the sample data of a WAV file.
type WAVFormat struct {
	SampleRate    int   // frames per second
	Channels      int   // interleaved channels per frame
	BitsPerSample int   // 8, 16, 24, 32 or 64
	Float         bool  // IEEE float samples
	Frames        int64 // sample frames in the file (exact; clipped to what the file really holds)
}

// Format tags of the fmt chunk.
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagALaw       = 0x0006
	tagMuLaw      = 0x0007
	tagExtensible = 0xFFFE
)

const (
	maxChannels   = 64
	maxSampleRate = 768000

	// unknownSize is the chunk size written by tools that cannot seek
	// back to patch the header, such as ffmpeg writing to a pipe.
	unknownSize = 0xFFFFFFFF

	// maxChunks bounds the header walk of a hostile file made of
	// millions of empty chunks; real WAVs have a handful.
	maxChunks = 10000

	// goWAVMaxChunks keeps go-riff, which allocates for every chunk of
	// the file, to files of ordinary shape.
	goWAVMaxChunks = 64

	// guidTail is the part shared by the KSDATAFORMAT_SUBTYPE GUIDs of
	// WAVE_FORMAT_EXTENSIBLE; their first two bytes are a format tag.
	guidTail = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"

	readBufSize  = 32 << 10
	blockBufSize = 64 << 10
)

// sampleKind selects the decoder for one sample encoding.
type sampleKind uint8

const (
	kindU8 sampleKind = iota
	kindS16
	kindS24
	kindS32
	kindF32
	kindF64
	kindALaw
	kindMuLaw
)

// wavHeader is what the RIFF walk learned about a file.
type wavHeader struct {
	format     WAVFormat
	kind       sampleKind
	blockAlign int
	dataOff    int64 // first byte of the sample data
	dataLen    int64 // bytes of whole frames from dataOff

	// goWAV tells that go-wav reads this file correctly: integer PCM of
	// 16 or 32 bits in one or two channels, with true RIFF and data
	// sizes and every chunk inside the file (go-riff panics otherwise).
	goWAV bool
}

// WAV reads a WAV file as a stream; it never loads the sample data whole.
// A WAV is not safe for concurrent use.
//
// The RIFF chunks are always walked here first. Files that go-wav reads
// correctly (canonical 16- or 32-bit PCM in one or two channels) are then
// parsed again and streamed by go-wav, which must agree; everything else
// is read directly, since go-wav panics or decodes wrongly there. Samples
// are always converted here: go-wav's ReadSamples allocates on every call.
type WAV struct {
	f      *os.File
	h      wavHeader
	pos    int64     // frames returned so far
	src    io.Reader // the sample data from the current position; nil once closed
	sec    *io.SectionReader
	br     *bufio.Reader
	useGo  bool   // src is the data chunk as go-wav reads it
	block  []byte // reused by ReadFrames so that it does not allocate
	closed bool
}

// OpenWAV opens the WAV file at path and checks its header. Its errors
// name the path and wrap ErrNotWAV, ErrUnsupportedWAV, ErrNoSamples or
// the error of the file system (such as fs.ErrNotExist).
func OpenWAV(path string) (*WAV, error) {
	w, err := openWAV(path)
	if err != nil {
		return nil, fmt.Errorf("audio %q: %w", path, err)
	}
	return w, nil
}

func openWAV(path string) (_ *WAV, err error) {
	f, err := os.Open(path)
	if err != nil {
		// The path is named by OpenWAV already.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// Pipes and devices have no size to check the header against and
	// cannot be rewound.
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	h, err := readWAVHeader(f, st.Size())
	if err != nil {
		return nil, err
	}
	w := &WAV{
		f:     f,
		h:     h,
		useGo: h.goWAV,
		block: make([]byte, max(blockBufSize/h.blockAlign, 1)*h.blockAlign),
	}
	if err := w.Rewind(); err != nil {
		return nil, err
	}
	return w, nil
}

// Format describes the sample data.
func (w *WAV) Format() WAVFormat { return w.h.format }

// ReadFrames decodes up to len(dst)/Channels frames into dst as interleaved
// float32 in [-1, 1] and returns how many frames it decoded; it returns
// 0, io.EOF after the last frame. It returns io.ErrShortBuffer if dst
// cannot hold one frame, and an error matching ErrTruncated (and
// io.ErrUnexpectedEOF) if the file has become shorter since it was opened;
// from then on the file is taken to hold the frames read (Format().Frames
// says so), and after a Rewind it is read that far.
func (w *WAV) ReadFrames(dst []float32) (int, error) {
	if w.closed {
		return 0, fs.ErrClosed
	}
	left := w.h.format.Frames - w.pos
	if left <= 0 {
		return 0, io.EOF
	}
	ch := w.h.format.Channels
	want := len(dst) / ch
	if want == 0 {
		return 0, io.ErrShortBuffer
	}
	if int64(want) > left {
		want = int(left)
	}
	ba := w.h.blockAlign
	done := 0
	for done < want {
		n := min(want-done, len(w.block)/ba)
		got, err := io.ReadFull(w.src, w.block[:n*ba])
		whole := got / ba
		decodeSamples(w.h.kind, dst[done*ch:(done+whole)*ch], w.block[:whole*ba])
		done += whole
		w.pos += int64(whole)
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = &truncatedError{path: w.f.Name(), got: w.pos, want: w.h.format.Frames, rate: w.h.format.SampleRate}
				w.h.format.Frames = w.pos
			}
			return done, err
		}
	}
	return done, nil
}

// Rewind goes back to the first frame (used to loop the audio).
func (w *WAV) Rewind() error {
	if w.closed {
		return fs.ErrClosed
	}
	w.pos = 0
	if w.useGo {
		r, err := openGoWAV(w.f, &w.h)
		if err == nil {
			w.src = goWAVSource{r}
			return nil
		}
		// Our own walk vouched for the file, so read it ourselves.
		w.useGo = false
	}
	if w.sec == nil {
		w.sec = io.NewSectionReader(w.f, w.h.dataOff, w.h.dataLen)
		w.br = bufio.NewReaderSize(w.sec, readBufSize)
	}
	if _, err := w.sec.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w.br.Reset(w.sec)
	w.src = w.br
	return nil
}

// Close closes the file.
func (w *WAV) Close() error {
	if w.closed {
		return fs.ErrClosed
	}
	w.closed = true
	w.src = nil
	return w.f.Close()
}

// openGoWAV opens the data chunk with go-wav and checks that go-wav
// parsed the header as we did; any disagreement or panic is an error.
func openGoWAV(f *os.File, h *wavHeader) (r *wav.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("go-wav: panic: %v", p)
		}
	}()
	r = wav.NewReader(f)
	gf, err := r.Format()
	if err != nil {
		return nil, err
	}
	if gf.AudioFormat != tagPCM ||
		int(gf.NumChannels) != h.format.Channels ||
		int(gf.SampleRate) != h.format.SampleRate ||
		int(gf.BitsPerSample) != h.format.BitsPerSample ||
		int(gf.BlockAlign) != h.blockAlign {
		return nil, errors.New("go-wav: format differs")
	}
	// A read of nothing makes go-wav locate the data chunk.
	if _, err := r.Read(nil); err != nil {
		return nil, err
	}
	if r.WavData == nil || int64(r.WavData.Size) != h.dataLen {
		return nil, errors.New("go-wav: data size differs")
	}
	return r, nil
}

// goWAVSource is the data chunk as go-wav reads it; a panic inside go-wav
// becomes an error.
type goWAVSource struct{ r *wav.Reader }

func (s goWAVSource) Read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("go-wav: panic: %v", v)
		}
	}()
	return s.r.Read(p)
}

// readWAVHeader walks the RIFF chunks of a file of the given size. It
// trusts no size field: the RIFF size is ignored, and a data size that is
// unknown, zero or past the end of the file means the data runs to the end
// of the file.
func readWAVHeader(r io.ReaderAt, size int64) (wavHeader, error) {
	var h wavHeader
	var b [12]byte
	if size < 12 {
		return h, fmt.Errorf("%w: %d bytes", ErrNotWAV, size)
	}
	if _, err := r.ReadAt(b[:12], 0); err != nil {
		return h, err
	}
	magic := string(b[:4])
	if magic != "RIFF" && magic != "RF64" || string(b[8:12]) != "WAVE" {
		return h, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
	}
	riffSize := int64(binary.LittleEndian.Uint32(b[4:]))

	var (
		fmtBody   []byte
		haveData  bool
		declared  int64 // data size field
		toEnd     bool  // the data runs to the end of the file
		ds64Data  int64 = -1
		tidy            = true // every chunk lies inside the file
		chunks    int
		fmtBefore bool // the fmt chunk precedes the data chunk
	)
	off := int64(12)
	for off+8 <= size {
		chunks++
		if chunks > maxChunks {
			if fmtBody == nil || !haveData {
				return h, fmt.Errorf("%w: more than %d chunks", ErrNotWAV, maxChunks)
			}
			tidy = false
			break
		}
		if _, err := r.ReadAt(b[:8], off); err != nil {
			return h, err
		}
		id := string(b[:4])
		sz := int64(binary.LittleEndian.Uint32(b[4:]))
		body := off + 8
		switch id {
		case "fmt ":
			if fmtBody != nil {
				break
			}
			if sz < 16 {
				return h, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, sz)
			}
			n := min(sz, 40)
			if body+n > size {
				return h, fmt.Errorf("%w: fmt chunk cut short", ErrNotWAV)
			}
			fmtBody = make([]byte, n)
			if _, err := r.ReadAt(fmtBody, body); err != nil {
				return h, err
			}
			fmtBefore = !haveData
		case "ds64":
			// RF64 keeps the true 64-bit data size here.
			if magic == "RF64" && sz >= 28 && body+28 <= size {
				var d [8]byte
				if _, err := r.ReadAt(d[:], body+8); err != nil {
					return h, err
				}
				if v := binary.LittleEndian.Uint64(d[:]); v <= math.MaxInt64 {
					ds64Data = int64(v)
				}
			}
		case "data":
			if haveData {
				break
			}
			haveData = true
			h.dataOff = body
			declared = sz
			avail := size - body
			switch {
			case magic == "RF64" && sz == unknownSize && ds64Data > 0 && ds64Data <= avail:
				h.dataLen = ds64Data
			case sz == unknownSize || sz == 0 || sz > avail:
				h.dataLen = avail
				toEnd = true
			default:
				h.dataLen = sz
			}
		}
		if toEnd {
			// Nothing after data of unknown length can be found.
			tidy = false
			break
		}
		if body+sz > size {
			tidy = false
			break
		}
		off = body + sz + sz&1
	}
	if fmtBody == nil {
		if toEnd {
			return h, fmt.Errorf("%w: no fmt chunk before the data", ErrNotWAV)
		}
		return h, fmt.Errorf("%w: no fmt chunk", ErrNotWAV)
	}
	tag, err := parseFmt(fmtBody, &h)
	if err != nil {
		return h, err
	}
	if !haveData {
		return h, fmt.Errorf("%w: no data chunk", ErrNotWAV)
	}
	ba := int64(h.blockAlign)
	if h.dataLen < ba {
		return h, fmt.Errorf("%w: %d bytes of data, a frame takes %d", ErrNoSamples, h.dataLen, ba)
	}
	h.format.Frames = h.dataLen / ba
	h.dataLen = h.format.Frames * ba
	h.goWAV = tidy && fmtBefore && !toEnd &&
		magic == "RIFF" && riffSize+8 == size && chunks <= goWAVMaxChunks &&
		tag == tagPCM && (h.kind == kindS16 || h.kind == kindS32) &&
		h.format.Channels <= 2 && declared == h.dataLen
	return h, nil
}

// parseFmt checks the fmt chunk body b (16 to 40 bytes) and fills in the
// format, sample kind and block align of h. It returns the format tag.
func parseFmt(b []byte, h *wavHeader) (uint16, error) {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:])
	channels := int(le.Uint16(b[2:]))
	rate := int64(le.Uint32(b[4:]))
	blockAlign := int(le.Uint16(b[12:]))
	bits := int(le.Uint16(b[14:]))

	sub := tag
	if tag == tagExtensible {
		if len(b) < 40 {
			return tag, fmt.Errorf("%w: extensible fmt chunk of %d bytes", ErrNotWAV, len(b))
		}
		if cb := le.Uint16(b[16:]); cb < 22 {
			return tag, fmt.Errorf("%w: extensible fmt chunk with %d extra bytes", ErrNotWAV, cb)
		}
		sub = le.Uint16(b[24:])
		if string(b[26:40]) != guidTail {
			return tag, fmt.Errorf("%w: extensible subformat GUID %x", ErrUnsupportedWAV, b[24:40])
		}
	}

	var kind sampleKind
	switch sub {
	case tagPCM:
		switch bits {
		case 8:
			kind = kindU8
		case 16:
			kind = kindS16
		case 24:
			kind = kindS24
		case 32:
			kind = kindS32
		default:
			return tag, fmt.Errorf("%w: %d-bit PCM", ErrUnsupportedWAV, bits)
		}
	case tagFloat:
		switch bits {
		case 32:
			kind = kindF32
		case 64:
			kind = kindF64
		default:
			return tag, fmt.Errorf("%w: %d-bit float", ErrUnsupportedWAV, bits)
		}
	case tagALaw, tagMuLaw:
		if bits != 8 {
			return tag, fmt.Errorf("%w: %d-bit %s", ErrUnsupportedWAV, bits, tagName(sub))
		}
		kind = kindALaw
		if sub == tagMuLaw {
			kind = kindMuLaw
		}
	default:
		return tag, fmt.Errorf("%w: format tag 0x%04X (%s)", ErrUnsupportedWAV, sub, tagName(sub))
	}
	if channels < 1 || channels > maxChannels {
		return tag, fmt.Errorf("%w: %d channels", ErrUnsupportedWAV, channels)
	}
	if rate < 1 || rate > maxSampleRate {
		return tag, fmt.Errorf("%w: sample rate %d Hz", ErrUnsupportedWAV, rate)
	}
	if want := channels * bits / 8; blockAlign != want {
		return tag, fmt.Errorf("%w: block align %d, want %d for %d channels of %d bits",
			ErrNotWAV, blockAlign, want, channels, bits)
	}
	h.kind = kind
	h.blockAlign = blockAlign
	h.format = WAVFormat{
		SampleRate:    int(rate),
		Channels:      channels,
		BitsPerSample: bits,
		Float:         sub == tagFloat,
	}
	return tag, nil
}

// tagName names the format tags that turn up in practice, so that an
// unsupported file says what it is.
func tagName(tag uint16) string {
	switch tag {
	case tagPCM:
		return "PCM"
	case 0x0002:
		return "MS ADPCM"
	case tagFloat:
		return "IEEE float"
	case tagALaw:
		return "A-law"
	case tagMuLaw:
		return "mu-law"
	case 0x0011:
		return "IMA ADPCM"
	case 0x0031:
		return "GSM 6.10"
	case 0x0050:
		return "MPEG"
	case 0x0055:
		return "MPEG Layer 3"
	case 0x00FF, 0x1610:
		return "AAC"
	case 0x2000:
		return "AC-3"
	case 0xF1AC:
		return "FLAC"
	case tagExtensible:
		return "extensible"
	}
	return "unknown"
}

// decodeSamples converts the little-endian samples in src to floats in
// [-1, 1]; dst holds one float per sample of src. The integer scales are
// those of ffmpeg, so both decode a file to the same values.
func decodeSamples(k sampleKind, dst []float32, src []byte) {
	le := binary.LittleEndian
	switch k {
	case kindU8:
		src = src[:len(dst)]
		for i, v := range src {
			dst[i] = float32(int(v)-128) / (1 << 7)
		}
	case kindS16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = float32(int16(le.Uint16(src[2*i:]))) / (1 << 15)
		}
	case kindS24:
		src = src[:3*len(dst)]
		for i := range dst {
			s := src[3*i : 3*i+3]
			v := int32(uint32(s[0])<<8|uint32(s[1])<<16|uint32(s[2])<<24) >> 8
			dst[i] = float32(v) / (1 << 23)
		}
	case kindS32:
		src = src[:4*len(dst)]
		for i := range dst {
			dst[i] = float32(int32(le.Uint32(src[4*i:]))) / (1 << 31)
		}
	case kindF32:
		src = src[:4*len(dst)]
		for i := range dst {
			dst[i] = clampUnit(math.Float32frombits(le.Uint32(src[4*i:])))
		}
	case kindF64:
		src = src[:8*len(dst)]
		for i := range dst {
			dst[i] = clampUnit(float32(math.Float64frombits(le.Uint64(src[8*i:]))))
		}
	case kindALaw:
		src = src[:len(dst)]
		for i, v := range src {
			dst[i] = float32(alawToLinear(v)) / (1 << 15)
		}
	case kindMuLaw:
		src = src[:len(dst)]
		for i, v := range src {
			dst[i] = float32(ulawToLinear(v)) / (1 << 15)
		}
	}
}

// clampUnit keeps float samples in [-1, 1], as callers convert them to
// integers; NaN becomes silence.
func clampUnit(x float32) float32 {
	switch {
	case x > 1:
		return 1
	case x >= -1:
		return x
	case x < -1:
		return -1
	}
	return 0
}

// alawToLinear decodes a G.711 A-law byte to 16-bit linear PCM, as the
// reference g711.c does (13-bit magnitude shifted left by 3).
func alawToLinear(a byte) int16 {
	a ^= 0x55
	t := int16(a&0x0f)<<4 + 8
	if seg := (a & 0x70) >> 4; seg > 0 {
		t = (t + 0x100) << (seg - 1)
	}
	if a&0x80 != 0 {
		return t
	}
	return -t
}

// ulawToLinear decodes a G.711 mu-law byte to 16-bit linear PCM, as the
// reference g711.c does (14-bit magnitude shifted left by 2).
func ulawToLinear(u byte) int16 {
	const bias = 0x84
	u = ^u
	t := (int32(u&0x0f)<<3 + bias) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(bias - t)
	}
	return int16(t - bias)
}
