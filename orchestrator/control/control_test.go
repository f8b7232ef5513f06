package control

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"image"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/live"
	"github.com/livepush/livepush/orchestrator/talk"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t    *testing.T
	f    *fakeStream
	s    *Server
	tmp  string
	logs *syncBuffer
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, f: &fakeStream{}, tmp: t.TempDir(), logs: &syncBuffer{}}
	cfg := Config{
		Stream:  e.f,
		TempDir: e.tmp,
		Logger:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	return e
}

// do runs one request through the handler.
func (e *env) do(method, target string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.s.ServeHTTP(w, req)
	return w
}

// tmpEmpty checks that no upload was left behind.
func (e *env) tmpEmpty() {
	e.t.Helper()
	ents, err := os.ReadDir(e.tmp)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ents) != 0 {
		e.t.Errorf("uploads left behind: %v", ents)
	}
}

func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json; body %q", ct, w.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer is not JSON: %v: %q", err, w.Body)
	}
	return m
}

// wantError checks the code and the {"error": "one line"} body.
func wantError(t *testing.T, w *httptest.ResponseRecorder, code int) string {
	t.Helper()
	if w.Code != code {
		t.Errorf("code %d, want %d; body %q", w.Code, code, w.Body)
	}
	m := decode(t, w)
	msg, ok := m["error"].(string)
	if !ok || msg == "" || strings.Contains(msg, "\n") || len(m) != 1 {
		t.Errorf("error body %q, want {\"error\": one line}", w.Body)
	}
	return msg
}

func TestSpeech(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  bool
	}{{"", false}, {"?interrupt=1", true}, {"?interrupt=true", true}, {"?interrupt=0", false}} {
		t.Run(tc.query, func(t *testing.T) {
			e := newEnv(t, nil)
			e.f.queued = live.Queued{ID: "c7", Duration: 1500 * time.Millisecond, Queued: 4 * time.Second, StartsIn: 2500 * time.Millisecond}
			w := e.do("POST", "/v1/speech"+tc.query, wavBytes(t, 16000, 8000))
			if w.Code != http.StatusAccepted {
				t.Fatalf("code %d: %s", w.Code, w.Body)
			}
			m := decode(t, w)
			want := map[string]any{"id": "c7", "duration_seconds": 1.5, "queued_seconds": 4.0, "starts_in_seconds": 2.5}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v (%s)", k, m[k], v, w.Body)
				}
			}
			if e.f.speakCalls != 1 || e.f.interrupt != tc.want {
				t.Errorf("SpeakFile calls %d interrupt %v, want 1 %v", e.f.speakCalls, e.f.interrupt, tc.want)
			}
			if e.f.wavErr != nil || e.f.wavFormat.SampleRate != 16000 || e.f.wavFormat.Frames != 8000 {
				t.Errorf("the stream got %+v, %v; want the 16 kHz 8000-frame WAV sent", e.f.wavFormat, e.f.wavErr)
			}
			if e.f.uploadMode != 0o600 {
				t.Errorf("upload mode %o, want 600", e.f.uploadMode)
			}
			e.tmpEmpty()
			if !strings.Contains(e.logs.String(), "clip queued") || !strings.Contains(e.logs.String(), "id=c7") {
				t.Errorf("no log line for the queued clip: %s", e.logs)
			}
		})
	}
}

func TestSpeechErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("%w: not a WAV file", live.ErrBadInput), 400},
		{live.ErrQueueFull, 429},
		{fmt.Errorf("%w: 12s", live.ErrTooLong), 413},
		{fmt.Errorf("queueing: %w", live.ErrStopped), 409},
		{errors.New("disk on fire\nsecond line"), 500},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			e := newEnv(t, nil)
			e.f.speakErr = tc.err
			w := e.do("POST", "/v1/speech", wavBytes(t, 8000, 100))
			msg := wantError(t, w, tc.code)
			if tc.code == 500 && msg != "disk on fire second line" {
				t.Errorf("message %q", msg)
			}
			e.tmpEmpty()
		})
	}
}

func TestSpeechBadRequest(t *testing.T) {
	e := newEnv(t, nil)
	wantError(t, e.do("POST", "/v1/speech", nil), 400)
	wantError(t, e.do("POST", "/v1/speech", []byte{}), 400)
	wantError(t, e.do("POST", "/v1/speech?interrupt=maybe", wavBytes(t, 8000, 10)), 400)
	if e.f.speakCalls != 0 {
		t.Errorf("SpeakFile called %d times for bad requests", e.f.speakCalls)
	}
	e.tmpEmpty()
	// The stream goes on: a good request after the bad ones works.
	e.f.queued = live.Queued{ID: "ok"}
	if w := e.do("POST", "/v1/speech", wavBytes(t, 8000, 10)); w.Code != 202 {
		t.Errorf("after bad requests: %d %s", w.Code, w.Body)
	}
}

// countingReader yields n zero bytes and counts what was read.
type countingReader struct {
	mu   sync.Mutex
	left int64
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > c.left {
		n = c.left
	}
	clear(p[:n])
	c.left -= n
	c.read += n
	return int(n), nil
}

func (c *countingReader) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read
}

func TestUploadTooLarge(t *testing.T) {
	const gib = 1 << 30
	const limit = 1 << 20
	for _, route := range []struct{ method, path string }{{"POST", "/v1/speech"}, {"PUT", "/v1/image"}} {
		for _, declared := range []bool{true, false} {
			t.Run(fmt.Sprint(route.path, declared), func(t *testing.T) {
				e := newEnv(t, func(c *Config) { c.MaxUpload = limit })
				body := &countingReader{left: gib}
				req := httptest.NewRequest(route.method, route.path, body)
				req.ContentLength = -1 // chunked: only the reader's end tells the size
				if declared {
					req.ContentLength = gib
				}
				w := httptest.NewRecorder()
				e.s.ServeHTTP(w, req)
				wantError(t, w, http.StatusRequestEntityTooLarge)
				read := body.total()
				if declared && read != 0 {
					t.Errorf("read %d bytes of a body declared too large", read)
				}
				if read > limit+1<<16 {
					t.Errorf("read %d bytes, want the handler to stop near the %d limit", read, limit)
				}
				if e.f.speakCalls+e.f.imageCalls != 0 {
					t.Error("the stream was called with a too large body")
				}
				e.tmpEmpty()
			})
		}
	}
}

// TestUploadTooLargeOverTCP sends a 1 GiB body to a real server: the answer
// is 413 (or the server cuts the connection) long before the body is sent.
func TestUploadTooLargeOverTCP(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxUpload = 1 << 20 })
	ts := httptest.NewServer(e.s)
	defer ts.Close()
	for _, declared := range []bool{true, false} {
		body := &countingReader{left: 1 << 30}
		req, _ := http.NewRequest("POST", ts.URL+"/v1/speech", body)
		if declared {
			req.ContentLength = 1 << 30
		}
		resp, err := ts.Client().Do(req)
		if err == nil {
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("code %d, want 413", resp.StatusCode)
			}
			resp.Body.Close()
		}
		if read := body.total(); read > 256<<20 {
			t.Errorf("the client sent %d bytes before the server gave up", read)
		}
	}
	e.tmpEmpty()
}

func TestInterrupt(t *testing.T) {
	e := newEnv(t, nil)
	for _, cut := range []bool{true, false} {
		e.f.cut = cut
		w := e.do("POST", "/v1/interrupt", nil)
		if w.Code != 200 || decode(t, w)["interrupted"] != cut {
			t.Errorf("interrupt: %d %s, want 200 interrupted=%v", w.Code, w.Body, cut)
		}
	}
	if e.f.interrupts != 2 || strings.Count(e.logs.String(), "msg=interrupt") != 2 {
		t.Errorf("interrupts %d; logs %s", e.f.interrupts, e.logs)
	}
}

func TestDrop(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do("DELETE", "/v1/speech/c42", nil)
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("drop: %d %q, want 204", w.Code, w.Body)
	}
	e.f.dropErr = live.ErrNotFound
	wantError(t, e.do("DELETE", "/v1/speech/nope", nil), 404)
	e.f.dropErr = live.ErrStopped
	wantError(t, e.do("DELETE", "/v1/speech/c1", nil), 409)
	if fmt.Sprint(e.f.dropped) != "[c42 nope c1]" {
		t.Errorf("dropped %v", e.f.dropped)
	}
	if !strings.Contains(e.logs.String(), `msg="clip dropped" id=c42`) {
		t.Errorf("logs: %s", e.logs)
	}
}

func TestImage(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do("PUT", "/v1/image", pngBytes(t, 64, 36))
	if w.Code != http.StatusNoContent {
		t.Fatalf("image: %d %s", w.Code, w.Body)
	}
	if e.f.imageErrDec != nil || e.f.imageSize != image.Pt(64, 36) {
		t.Errorf("the stream got %v %v, want the 64x36 PNG sent", e.f.imageSize, e.f.imageErrDec)
	}
	if e.f.uploadMode != 0o600 {
		t.Errorf("upload mode %o", e.f.uploadMode)
	}
	if e.f.imageName != "upload" {
		t.Errorf("an upload without ?name= is called %q, want upload", e.f.imageName)
	}
	if w := e.do("PUT", "/v1/image?name=smile%0A.png", pngBytes(t, 64, 36)); w.Code != 204 || e.f.imageName != "smile.png" {
		t.Errorf("?name=smile%%0A.png: %d, called %q, want smile.png", w.Code, e.f.imageName)
	}
	if e.f.imageRole != talk.Idle {
		t.Errorf("an upload without ?role= is for %v, want idle", e.f.imageRole)
	}
	if w := e.do("PUT", "/v1/image?role=talk", pngBytes(t, 64, 36)); w.Code != 204 || e.f.imageRole != talk.Talk {
		t.Errorf("?role=talk: %d, for %v", w.Code, e.f.imageRole)
	}
	calls := e.f.imageCalls
	wantError(t, e.do("PUT", "/v1/image?role=smile", pngBytes(t, 64, 36)), 400)
	if e.f.imageCalls != calls {
		t.Error("an image for an unknown role reached the stream")
	}
	e.tmpEmpty()
	e.f.imageErr = fmt.Errorf("%w: not an image", live.ErrBadInput)
	wantError(t, e.do("PUT", "/v1/image", []byte("hello")), 400)
	wantError(t, e.do("PUT", "/v1/image", nil), 400)
	e.tmpEmpty()
	if strings.Count(e.logs.String(), "image changed") != 3 {
		t.Errorf("logs: %s", e.logs)
	}
}

func TestStatus(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do("GET", "/v1/status", nil)
	m := decode(t, w)
	if w.Code != 200 || m["current"] != nil || fmt.Sprint(m["queue"]) != "map[items:[] seconds:0]" {
		t.Errorf("idle status: %d %s", w.Code, w.Body)
	}
	e.f.setStatus(live.Status{
		State: "speaking", Uptime: 90 * time.Second, Media: 89 * time.Second, BehindLive: 250 * time.Millisecond,
		Restarts: 2, Speaking: true,
		Current:   &live.Clip{ID: "a", Duration: 3 * time.Second, Elapsed: time.Second},
		Queue:     []live.Clip{{ID: "b", Duration: 2 * time.Second}, {ID: "c", Duration: time.Second}},
		QueueTime: 3 * time.Second, Output: "rtmp://host/app/****", Drift: 1500 * time.Microsecond,
		LastError: "ffmpeg exited", Publishing: true, Image: "face.png", Showing: "talk", AudioLevel: -18.5,
	})
	w = e.do("GET", "/v1/status", nil)
	var got map[string]any
	json.Unmarshal(w.Body.Bytes(), &got)
	want := `{"audio_level_db":-18.5,"behind_live_seconds":0.25,"clips_aired":0,"current":{"duration_seconds":3,"elapsed_seconds":1,"id":"a"},` +
		`"drift_ms":1.5,"image":"face.png","last_error":"ffmpeg exited","media_seconds":89,"output":"rtmp://host/app/****",` +
		`"publishing":true,"queue":{"items":[{"duration_seconds":2,"id":"b"},{"duration_seconds":1,"id":"c"}],"seconds":3},` +
		`"restarts":2,"showing":"talk","speaking":true,"state":"speaking","uptime_seconds":90}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("status\n got %s\nwant %s", b, want)
	}
	if strings.Contains(e.logs.String(), "status") {
		t.Errorf("a status poll was logged: %s", e.logs)
	}
}

func TestStop(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do("POST", "/v1/stop", nil)
	if w.Code != http.StatusAccepted || e.f.stops != 1 {
		t.Errorf("stop: %d %s, stops %d", w.Code, w.Body, e.f.stops)
	}
	if !strings.Contains(e.logs.String(), "stop requested") {
		t.Errorf("logs: %s", e.logs)
	}
}

func TestHealthReady(t *testing.T) {
	e := newEnv(t, nil)
	if w := e.do("GET", "/healthz", nil); w.Code != 200 {
		t.Errorf("healthz %d", w.Code)
	}
	if w := e.do("GET", "/readyz", nil); w.Code != 503 {
		t.Errorf("readyz while not publishing: %d", w.Code)
	}
	e.f.setStatus(live.Status{Publishing: true})
	if w := e.do("GET", "/readyz", nil); w.Code != 200 {
		t.Errorf("readyz while publishing: %d", w.Code)
	}
	e.f.setStatus(live.Status{Publishing: false, State: "restarting"})
	if w := e.do("GET", "/readyz", nil); w.Code != 503 {
		t.Errorf("readyz while restarting: %d", w.Code)
	}
}

func TestNotFoundMethodNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	wantError(t, e.do("GET", "/nope", nil), 404)
	wantError(t, e.do("GET", "/v1/speech/x/y", nil), 404)
	w := e.do("GET", "/v1/speech", nil)
	wantError(t, w, 405)
	if w.Header().Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	wantError(t, e.do("DELETE", "/v1/status", nil), 405)
	wantError(t, e.do("POST", "/metrics", nil), 405)
}

func TestToken(t *testing.T) {
	const tok = "s3cret-token-value"
	e := newEnv(t, func(c *Config) { c.Token = tok })
	e.f.queued = live.Queued{ID: "x"}
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", tok},
		{"Authorization", "Basic " + tok}, {"Authorization", "Bearer " + tok + "x"}, {"Authorization", "Bearer"}} {
		for _, r := range []struct{ m, p string }{{"GET", "/v1/status"}, {"POST", "/v1/stop"}, {"GET", "/metrics"}, {"GET", "/v1/events"}} {
			w := e.do(r.m, r.p, nil, hdr...)
			wantError(t, w, 401)
			if strings.Contains(w.Body.String(), tok) {
				t.Errorf("the token is in an answer: %s", w.Body)
			}
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
		}
	}
	if e.f.stops != 0 {
		t.Error("Stop ran without the token")
	}
	for _, h := range []string{"Bearer " + tok, "bearer " + tok} {
		if w := e.do("GET", "/v1/status", nil, "Authorization", h); w.Code != 200 {
			t.Errorf("%q: %d %s", h, w.Code, w.Body)
		}
	}
	if w := e.do("POST", "/v1/speech", wavBytes(t, 8000, 10), "Authorization", "Bearer "+tok); w.Code != 202 {
		t.Errorf("speech with the token: %d", w.Code)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if w := e.do("GET", p, nil); w.Code == 401 {
			t.Errorf("%s needs the token; probes send none", p)
		}
	}
	if strings.Contains(e.logs.String(), tok) {
		t.Errorf("the token is in the logs: %s", e.logs)
	}
}

// TestTokenConstantTime checks that tokenOK compares with
// subtle.ConstantTimeCompare and that nothing else in the package compares
// the token with == or bytes/strings.Equal.
func TestTokenConstantTime(t *testing.T) {
	fs := token.NewFileSet()
	f, err := parser.ParseFile(fs, "control.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var fn *ast.FuncDecl
	for _, d := range f.Decls {
		if d, ok := d.(*ast.FuncDecl); ok && d.Name.Name == "tokenOK" {
			fn = d
		}
	}
	if fn == nil {
		t.Fatal("no tokenOK in control.go")
	}
	constant := false
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Name == "subtle" && n.Sel.Name == "ConstantTimeCompare" {
				constant = true
			}
		case *ast.BinaryExpr:
			if n.Op == token.EQL {
				if lit, ok := n.Y.(*ast.BasicLit); !ok || lit.Value != "1" {
					t.Errorf("tokenOK compares with == at %s", fs.Position(n.Pos()))
				}
			}
		}
		return true
	})
	if !constant {
		t.Error("tokenOK does not use subtle.ConstantTimeCompare")
	}
	want := sha256.Sum256([]byte("right"))
	if !tokenOK("right", want) || tokenOK("wrong", want) || tokenOK("", want) {
		t.Error("tokenOK does not tell the right token from others")
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no stream: no error")
	}
	if _, err := New(Config{Stream: &fakeStream{}, MaxUpload: -1}); err == nil {
		t.Error("negative MaxUpload: no error")
	}
	if _, err := New(Config{Stream: &fakeStream{}, TempDir: "/nonexistent/dir"}); err == nil {
		t.Error("missing TempDir: no error")
	}
	s, err := New(Config{Stream: &fakeStream{}})
	if err != nil || s.cfg.MaxUpload != DefaultMaxUpload || s.cfg.Heartbeat != DefaultHeartbeat {
		t.Errorf("defaults: %v %+v", err, s.cfg)
	}
}

func TestServerTimeouts(t *testing.T) {
	e := newEnv(t, nil)
	srv := e.s.HTTPServer()
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("timeouts not all set: %+v", srv)
	}
	if srv.Handler != e.s {
		t.Error("the server does not run the control handler")
	}
}

func TestServeListenerError(t *testing.T) {
	e := newEnv(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := e.s.Serve(context.Background(), ln); err == nil {
		t.Error("Serve on a closed listener: no error")
	}
}

// The client sent a body, not a file: errors name the body, not the
// temporary file the stream read.
func TestErrorsHideTempPath(t *testing.T) {
	e := newEnv(t, nil)
	e.f.speakErr = errPath{"%w: %s: no RIFF header"}
	e.f.imageErr = errPath{"%w: %s: unknown format"}
	for _, r := range []struct{ m, p string }{{"POST", "/v1/speech"}, {"PUT", "/v1/image"}} {
		msg := wantError(t, e.do(r.m, r.p, []byte("junk")), 400)
		if strings.Contains(msg, e.tmp) || !strings.Contains(msg, "body") {
			t.Errorf("%s: %q", r.p, msg)
		}
	}
}

// errPath is a canned error whose text is completed with the path the fake
// was given; see fakeStream.fail.
type errPath struct{ format string }

func (e errPath) Error() string { return e.format }
