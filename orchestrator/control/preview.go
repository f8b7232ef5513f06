package control

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livepush/livepush/frames"
)

// previewEvery bounds how often a moving picture (pushed frames) is
// encoded, however many pages poll: a poll sooner gets the last JPEG.
const previewEvery = 100 * time.Millisecond

// previewQuality is the JPEG quality of the preview: enough to judge the
// picture by, a fraction of its bytes.
const previewQuality = 80

// preview encodes the picture on air as a JPEG when a page asks for it,
// never on the pacing path. A still picture is encoded once: the JPEG is
// kept for the frame it came from, which the stream never changes.
type preview struct {
	now   func() time.Time
	nonce string // tells this process's ETags from another's

	mu      sync.Mutex // one encoding at a time
	frame   *frames.Frame
	jpeg    []byte
	etag    string
	at      time.Time
	seq     uint64
	rgba    *image.RGBA // reused between encodings of one size
	encodes int
}

func newPreview() *preview {
	b := make([]byte, 6)
	rand.Read(b)
	return &preview{now: time.Now, nonce: hex.EncodeToString(b)}
}

// get returns the JPEG of f, or of the frame encoded last if that was less
// than previewEvery ago, and its ETag.
func (p *preview) get(f *frames.Frame) ([]byte, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.jpeg != nil && (f == p.frame || now.Sub(p.at) < previewEvery) {
		return p.jpeg, p.etag, nil
	}
	if f.Width <= 0 || f.Height <= 0 || len(f.Pix) < f.Width*f.Height*3 {
		return nil, "", fmt.Errorf("a %dx%d frame of %d bytes is not bgr24", f.Width, f.Height, len(f.Pix))
	}
	if p.rgba == nil || p.rgba.Rect.Dx() != f.Width || p.rgba.Rect.Dy() != f.Height {
		p.rgba = image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	}
	bgrToRGBA(p.rgba, f.Pix)
	var b bytes.Buffer
	b.Grow(len(p.jpeg))
	if err := jpeg.Encode(&b, p.rgba, &jpeg.Options{Quality: previewQuality}); err != nil {
		return nil, "", fmt.Errorf("encoding the preview: %w", err)
	}
	p.seq++
	p.encodes++
	p.frame, p.jpeg, p.at = f, b.Bytes(), now
	p.etag = `"` + p.nonce + "-" + strconv.FormatUint(p.seq, 10) + `"`
	return p.jpeg, p.etag, nil
}

// bgrToRGBA fills dst, opaque, from bgr24 pixels of its size.
func bgrToRGBA(dst *image.RGBA, bgr []byte) {
	d := dst.Pix
	for i, j := 0, 0; j+2 < len(bgr) && i+3 < len(d); i, j = i+4, j+3 {
		d[i], d[i+1], d[i+2], d[i+3] = bgr[j+2], bgr[j+1], bgr[j], 0xff
	}
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func (s *Server) previewJPEG(w http.ResponseWriter, r *http.Request) {
	f := s.cfg.Stream.Frame()
	if f == nil {
		s.fail(w, r, http.StatusServiceUnavailable, errors.New("no picture on air yet"))
		return
	}
	jpg, etag, err := s.preview.get(f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	h := w.Header()
	// Each poll asks again; an unchanged picture costs a 304.
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(jpg)))
	w.Write(jpg)
}
