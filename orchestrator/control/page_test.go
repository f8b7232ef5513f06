package control

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"image"
	"image/jpeg"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/livepush/livepush/frames"
)

// inline returns the contents of the one <tag>...</tag> in body.
func inline(t *testing.T, body, tag string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(body, -1)
	if len(m) != 1 {
		t.Fatalf("%d <%s> elements in the page, want 1", len(m), tag)
	}
	return m[0][1]
}

func TestPage(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do("GET", "/", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	if inline(t, body, "script") != pageJS || inline(t, body, "style") != pageCSS {
		t.Error("the page's script or style is not the embedded one, inlined whole")
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'",
		"script-src " + sha(pageJS) + ";", "style-src " + sha(pageCSS) + ";"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q allows unsafe sources", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := w.Header().Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	// Nothing from another host, and no file beside the page: the document is all there is.
	for _, m := range regexp.MustCompile(`(?i)\b(src|href|action)\s*=\s*["']?([^"' >]*)`).FindAllStringSubmatch(pageHTML, -1) {
		if m[2] != "data:," {
			t.Errorf("the page loads %s=%q", m[1], m[2])
		}
	}
	if regexp.MustCompile(`(?i)https?://|//[a-z0-9.-]+\.[a-z]{2,}/`).MatchString(body) {
		t.Error("the page refers to another host")
	}
	if regexp.MustCompile(`(?i)@import|url\(`).MatchString(pageCSS) {
		t.Error("the style loads a resource")
	}
	// Every API path the script uses is a route.
	calls := regexp.MustCompile(`api\('([A-Z]+)', '(/v1/[a-z./]+)`).FindAllStringSubmatch(pageJS, -1)
	if len(calls) < 7 {
		t.Errorf("found %d API calls in the script, want every one of them", len(calls))
	}
	for _, m := range calls {
		path := m[2]
		if strings.HasSuffix(path, "/") {
			path += "id"
		}
		if _, pat := e.s.mux.Handler(httptest.NewRequest(m[1], path, nil)); pat == "" {
			t.Errorf("the script asks for %s %s, which is no route", m[1], path)
		}
	}
	if e.do("HEAD", "/", nil).Code != 200 {
		t.Error("HEAD / is not 200")
	}
	if w := e.do("POST", "/", nil); w.Code != 405 {
		t.Errorf("POST /: %d, want 405", w.Code)
	}
	if w := e.do("GET", "/app.js", nil); w.Code != 404 {
		t.Errorf("GET /app.js: %d, want 404: the script is inline", w.Code)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// TestPageToken: with a token the document loads without it, so that it can
// ask for it, and shows nothing of the stream; everything it then asks for
// needs the token.
func TestPageToken(t *testing.T) {
	const tok = "s3cret-token-value"
	e := newEnv(t, func(c *Config) { c.Token = tok })
	e.f.setFrame(solidFrame(32, 18, 10, 20, 30))
	w := e.do("GET", "/", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `id="auth"`) {
		t.Fatalf("GET / without the token: %d, want the page with its token prompt", w.Code)
	}
	if !bytes.Equal(w.Body.Bytes(), e.s.page.body) {
		t.Error("the page is not the same static document for every request")
	}
	for _, p := range []string{"/v1/preview.jpg", "/v1/status", "/v1/events"} {
		for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}} {
			if w := e.do("GET", p, nil, hdr...); w.Code != 401 {
				t.Errorf("GET %s with %v: %d, want 401", p, hdr, w.Code)
			}
		}
	}
	if w := e.do("GET", "/v1/preview.jpg", nil, "Authorization", "Bearer "+tok); w.Code != 200 {
		t.Errorf("GET /v1/preview.jpg with the token: %d", w.Code)
	}
}

func solidFrame(w, h int, b, g, r byte) *frames.Frame {
	pix := make([]byte, w*h*3)
	for i := 0; i < len(pix); i += 3 {
		pix[i], pix[i+1], pix[i+2] = b, g, r
	}
	return &frames.Frame{Width: w, Height: h, Pix: pix}
}

// jpegColour decodes a JPEG and returns its size and the colour at its centre.
func jpegColour(t *testing.T, b []byte) (image.Point, [3]int) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the preview is no JPEG: %v", err)
	}
	r, g, bl, _ := img.At(img.Bounds().Dx()/2, img.Bounds().Dy()/2).RGBA()
	return img.Bounds().Size(), [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
}

func near(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

func TestPreview(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Unix(1000, 0)
	e.s.preview.now = func() time.Time { return now }
	// The stream's picture is bgr24: blue 200, green 100, red 30.
	e.f.setFrame(solidFrame(64, 36, 200, 100, 30))
	w := e.do("GET", "/v1/preview.jpg", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET /v1/preview.jpg: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	size, c := jpegColour(t, w.Body.Bytes())
	if size != image.Pt(64, 36) || !near(c, [3]int{30, 100, 200}, 8) {
		t.Errorf("preview %v of colour %v, want 64x36 of rgb(30, 100, 200)", size, c)
	}
	tag := w.Header().Get("ETag")
	if tag == "" || !strings.Contains(w.Header().Get("Cache-Control"), "no-cache") {
		t.Errorf("ETag %q, Cache-Control %q: want a tag and no-cache", tag, w.Header().Get("Cache-Control"))
	}

	// Polls of a still picture, however far apart, encode nothing more.
	now = now.Add(time.Minute)
	if w := e.do("GET", "/v1/preview.jpg", nil, "If-None-Match", tag); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("GET with If-None-Match of the same picture: %d, %d bytes; want 304", w.Code, w.Body.Len())
	}
	if w := e.do("GET", "/v1/preview.jpg", nil); w.Code != 200 || w.Header().Get("ETag") != tag {
		t.Errorf("GET again: %d, ETag %q, want 200 and %q", w.Code, w.Header().Get("ETag"), tag)
	}
	if e.s.preview.encodes != 1 {
		t.Errorf("%d encodings of one still picture, want 1", e.s.preview.encodes)
	}

	// A new picture is encoded at the next poll; one more within previewEvery of that waits.
	e.f.setFrame(solidFrame(64, 36, 0, 0, 220))
	w = e.do("GET", "/v1/preview.jpg", nil, "If-None-Match", tag)
	if w.Code != 200 || w.Header().Get("ETag") == tag {
		t.Fatalf("GET after the picture changed: %d, ETag %q (was %q)", w.Code, w.Header().Get("ETag"), tag)
	}
	if _, c := jpegColour(t, w.Body.Bytes()); !near(c, [3]int{220, 0, 0}, 8) {
		t.Errorf("preview of the new picture is %v, want red", c)
	}
	tag = w.Header().Get("ETag")
	e.f.setFrame(solidFrame(64, 36, 0, 220, 0))
	now = now.Add(previewEvery / 2)
	if w := e.do("GET", "/v1/preview.jpg", nil, "If-None-Match", tag); w.Code != 304 {
		t.Errorf("a third picture %v after the second was encoded: %d, want 304 (the second)", previewEvery/2, w.Code)
	}
	now = now.Add(previewEvery)
	w = e.do("GET", "/v1/preview.jpg", nil, "If-None-Match", tag)
	if _, c := jpegColour(t, w.Body.Bytes()); w.Code != 200 || !near(c, [3]int{0, 220, 0}, 8) {
		t.Errorf("GET %v later: %d of colour %v, want the green picture", previewEvery, w.Code, c)
	}
	if e.s.preview.encodes != 3 {
		t.Errorf("%d encodings of three pictures, want 3", e.s.preview.encodes)
	}
	if strings.Contains(e.logs.String(), "preview") {
		t.Errorf("a preview poll was logged: %s", e.logs)
	}
}

func TestPreviewNoPicture(t *testing.T) {
	e := newEnv(t, nil)
	wantError(t, e.do("GET", "/v1/preview.jpg", nil), 503)
	e.f.setFrame(&frames.Frame{Width: 10, Height: 10, Pix: make([]byte, 10)})
	wantError(t, e.do("GET", "/v1/preview.jpg", nil), 500)
}

func TestETagMatches(t *testing.T) {
	for _, tc := range []struct {
		h    string
		want bool
	}{{`"a-1"`, true}, {`W/"a-1"`, true}, {`"b", "a-1"`, true}, {`*`, true}, {`"a-2"`, false}, {``, false}, {`a-1`, false}} {
		if got := etagMatches(tc.h, `"a-1"`); got != tc.want {
			t.Errorf("etagMatches(%q): %v, want %v", tc.h, got, tc.want)
		}
	}
}

// BenchmarkPreviewEncode1280x720 is the cost of a preview of a new picture: bgr24 to RGBA and JPEG.
func BenchmarkPreviewEncode1280x720(b *testing.B) {
	p := newPreview()
	f := solidFrame(1280, 720, 10, 20, 30)
	for i := range f.Pix {
		f.Pix[i] = byte(i * 7 / 3)
	}
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		p.frame = nil // a new picture each time
		if _, _, err := p.get(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreviewStill1280x720 is the cost of a poll of a still picture: the kept JPEG.
func BenchmarkPreviewStill1280x720(b *testing.B) {
	p := newPreview()
	f := solidFrame(1280, 720, 10, 20, 30)
	p.get(f)
	b.ReportAllocs()
	for b.Loop() {
		p.get(f)
	}
}
