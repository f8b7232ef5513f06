package control

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// The page is one document: its script and style are inlined when the
// server is built, because a <script src> cannot send the bearer token and
// only the document may load without one.
var (
	//go:embed page/index.html
	pageHTML string
	//go:embed page/app.js
	pageJS string
	//go:embed page/style.css
	pageCSS string
)

// pagePattern is the route of the control page; it is open (see open).
const pagePattern = "GET /{$}"

// page is the control page, built once.
type page struct {
	body []byte
	csp  string
}

// newPage inlines the script and the style into the document and allows
// exactly those two by hash, so that nothing injected could run.
func newPage() (page, error) {
	const js, css = "<script></script>", "<style></style>"
	if strings.Count(pageHTML, js) != 1 || strings.Count(pageHTML, css) != 1 {
		return page{}, errors.New("control: the page lacks its script or style slot")
	}
	body := strings.Replace(pageHTML, js, "<script>"+pageJS+"</script>", 1)
	body = strings.Replace(body, css, "<style>"+pageCSS+"</style>", 1)
	csp := "default-src 'self'; script-src " + hashSource(pageJS) + "; style-src " + hashSource(pageCSS) +
		"; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return page{body: []byte(body), csp: csp}, nil
}

func hashSource(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.page.csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
	w.Write(s.page.body)
}
