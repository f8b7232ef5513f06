// Package control is the HTTP and JSON control API of a live stream: speech
// queued and cut, the picture swapped, status, Server-Sent Events and
// Prometheus metrics. It codes against the Stream interface, which
// *live.Stream satisfies.
//
// Routes (answers are JSON; errors are {"error": "one line"}):
//
//	POST   /v1/speech[?interrupt=1]  body: a WAV; 202 {"id","duration_seconds","queued_seconds","starts_in_seconds"}
//	DELETE /v1/speech/{id}           204; 404 if no such clip
//	POST   /v1/interrupt             200 {"interrupted": bool}
//	PUT    /v1/image[?role=talk|blink]  body: PNG, JPEG, GIF, BMP or TIFF; 204
//	GET    /v1/status                200, the Status as JSON, durations in seconds
//	GET    /v1/events                Server-Sent Events, "event: KIND" and "data: JSON"
//	POST   /v1/stop                  202; the stream stops gracefully
//	GET    /metrics                  Prometheus text, livepush_* series
//	GET    /healthz, /readyz         200; /readyz is 503 while ffmpeg is not publishing
//	GET    /v1/preview.jpg           the picture on air as a JPEG; ETag, 304 on If-None-Match
//	GET    /                         the control page: HTML with its script and style inline
//
// The stream's errors map to 400 (ErrBadInput), 429 (ErrQueueFull), 413
// (ErrTooLong: a clip longer than the queue holds), 404 (ErrNotFound) and
// 409 (ErrStopped); a body over Config.MaxUpload gets 413 too.
//
// With Config.Token set every route needs "Authorization: Bearer TOKEN"
// except /healthz and /readyz, which stay open because orchestrators'
// probes send no token; they tell only whether the process answers and
// whether ffmpeg is publishing; and the page at /, which must load to ask
// for the token. It is the same static document for everyone: every
// request it makes carries the token.
package control

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator/live"
	"github.com/livepush/livepush/orchestrator/talk"
)

// Stream is what the API controls; *live.Stream implements it.
type Stream interface {
	SpeakFile(path string, interrupt bool) (live.Queued, error)
	Interrupt() bool
	Drop(id string) error
	// SetPictureFile shows the picture at path for role from the next
	// frame on: the idle picture, the talking one or the blink.
	SetPictureFile(role talk.Role, path, name string) error
	Status() live.Status
	Subscribe() (<-chan live.Event, func())
	// Frame is the picture on air now; it is never changed once returned.
	Frame() *frames.Frame
	// Stop asks for a graceful stop, as SIGTERM does.
	Stop()
}

// DefaultMaxUpload bounds an uploaded clip or picture when Config.MaxUpload is 0.
const DefaultMaxUpload = 64 << 20

// DefaultHeartbeat is how often an idle event stream gets a comment line, so
// that proxies and clients see it is alive.
const DefaultHeartbeat = 15 * time.Second

// Config configures a Server.
type Config struct {
	Stream Stream
	// Token, when set, is required as "Authorization: Bearer TOKEN". ""
	// means no authentication; the CLI allows that on loopback only.
	Token string
	// MaxUpload bounds a request body in bytes; 0 means DefaultMaxUpload.
	MaxUpload int64
	// TempDir holds uploads (mode 0600) while the stream decodes them; ""
	// means os.TempDir().
	TempDir string
	// Logger gets one line per control action; nil discards.
	Logger *slog.Logger
	// Version is exported as livepush_build_info{version}; "" leaves it out.
	Version string
	// Heartbeat is the event stream's keep-alive period; 0 means DefaultHeartbeat.
	Heartbeat time.Duration
}

// Server is the control API as an http.Handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	token   [sha256.Size]byte
	metrics http.Handler
	page    page
	preview *preview

	// quit ends open event streams on shutdown, which http.Server.Shutdown
	// would otherwise wait for without end.
	quit     chan struct{}
	quitOnce sync.Once
}

// New checks cfg and builds the handler.
func New(cfg Config) (*Server, error) {
	if cfg.Stream == nil {
		return nil, errors.New("control: no stream")
	}
	if cfg.MaxUpload < 0 {
		return nil, fmt.Errorf("control: negative upload limit %d", cfg.MaxUpload)
	}
	if cfg.MaxUpload == 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if fi, err := os.Stat(cfg.TempDir); err != nil {
		return nil, fmt.Errorf("control: upload directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("control: upload directory %s is not a directory", cfg.TempDir)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, quit: make(chan struct{})}
	var err error
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Token != "" {
		s.token = sha256.Sum256([]byte(cfg.Token))
	}
	s.metrics = newMetricsHandler(cfg.Stream, cfg.Version)
	if s.page, err = newPage(); err != nil {
		return nil, err
	}
	s.preview = newPreview()
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/speech", s.speak)
	m.HandleFunc("DELETE /v1/speech/{id}", s.drop)
	m.HandleFunc("POST /v1/interrupt", s.interrupt)
	m.HandleFunc("PUT /v1/image", s.image)
	m.HandleFunc("GET /v1/status", s.status)
	m.HandleFunc("GET /v1/events", s.events)
	m.Handle("GET /metrics", s.metrics)
	m.HandleFunc("POST /v1/stop", s.stop)
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.HandleFunc("GET /v1/preview.jpg", s.previewJPEG)
	m.HandleFunc(pagePattern, s.servePage)
	s.mux = m
}

// ServeHTTP authenticates, then routes; the mux's plain-text 404 and 405
// answers are replaced by JSON ones.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		s.unrouted(w, r, h)
		return
	}
	if s.cfg.Token != "" && !open(pattern) && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="livepush"`)
		s.fail(w, r, http.StatusUnauthorized, errors.New("missing or wrong bearer token"))
		return
	}
	// The mux, not h, so that it sets the path values.
	s.mux.ServeHTTP(w, r)
}

func open(pattern string) bool {
	return pattern == "GET /healthz" || pattern == "GET /readyz" || pattern == pagePattern
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return tokenOK(strings.TrimSpace(tok), s.token)
}

// tokenOK compares hashes in constant time, so that neither the content nor
// the length of the token leaks through timing.
func tokenOK(got string, want [sha256.Size]byte) bool {
	g := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(g[:], want[:]) == 1
}

// unrouted runs the mux's own answer for a request no pattern matched (404,
// 405 with Allow, or a redirect to the clean path) and rewrites an error
// into JSON.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	c := &capture{header: http.Header{}}
	h.ServeHTTP(c, r)
	switch c.code {
	case http.StatusNotFound:
		s.fail(w, r, c.code, fmt.Errorf("no route %s", r.URL.Path))
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", c.header.Get("Allow"))
		s.fail(w, r, c.code, fmt.Errorf("method %s not allowed on %s", r.Method, r.URL.Path))
	default:
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.WriteHeader(c.code)
		w.Write(c.body)
	}
}

// capture keeps a small in-memory answer.
type capture struct {
	header http.Header
	code   int
	body   []byte
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}
func (c *capture) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	c.body = append(c.body, p...)
	return len(p), nil
}

// statusOf maps the stream's errors to HTTP codes.
func statusOf(err error) int {
	switch {
	case errors.Is(err, live.ErrBadInput):
		return http.StatusBadRequest
	case errors.Is(err, live.ErrQueueFull):
		return http.StatusTooManyRequests
	case errors.Is(err, live.ErrTooLong):
		return http.StatusRequestEntityTooLarge // waiting will not help
	case errors.Is(err, live.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, live.ErrStopped):
		// The stream has ended for good: a retry cannot succeed, so not 503.
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// fail answers {"error": msg} and logs the refusal; the body is never logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	msg := oneLine(err.Error())
	lvl := slog.LevelDebug
	if code >= 500 {
		lvl = slog.LevelError
	}
	s.log.Log(r.Context(), lvl, "control request refused", "method", r.Method, "path", r.URL.Path, "code", code, "error", msg)
	writeJSON(w, code, map[string]string{"error": msg})
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func (s *Server) speak(w http.ResponseWriter, r *http.Request) {
	interrupt, err := queryBool(r, "interrupt")
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	path, code, err := s.upload(w, r, "speech")
	if err != nil {
		s.fail(w, r, code, err)
		return
	}
	defer os.Remove(path)
	q, err := s.cfg.Stream.SpeakFile(path, interrupt)
	if err != nil {
		s.fail(w, r, statusOf(err), hidePath(err, path, "the speech body"))
		return
	}
	s.log.Info("clip queued", "id", q.ID, "duration", q.Duration, "starts_in", q.StartsIn, "interrupt", interrupt)
	writeJSON(w, http.StatusAccepted, map[string]any{
		"id":                q.ID,
		"duration_seconds":  seconds(q.Duration),
		"queued_seconds":    seconds(q.Queued),
		"starts_in_seconds": seconds(q.StartsIn),
	})
}

func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want 1, 0, true or false", name, v)
	}
	return b, nil
}

// upload saves the body to a private temporary file, bounded by MaxUpload,
// and returns its path; on failure it returns the HTTP code and leaves
// nothing behind.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, what string) (string, int, error) {
	limit := s.cfg.MaxUpload
	if r.ContentLength > limit {
		return "", http.StatusRequestEntityTooLarge, fmt.Errorf("%s body of %d bytes is over the %d byte limit", what, r.ContentLength, limit)
	}
	if r.ContentLength == 0 {
		return "", http.StatusBadRequest, fmt.Errorf("empty %s body", what)
	}
	f, err := os.CreateTemp(s.cfg.TempDir, "livepush-"+what+"-*")
	if err != nil {
		return "", http.StatusInternalServerError, fmt.Errorf("saving the %s: %w", what, err)
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, limit))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	code := http.StatusBadRequest
	switch {
	case err != nil:
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
			err = fmt.Errorf("%s body is over the %d byte limit", what, limit)
		} else {
			err = fmt.Errorf("reading the %s body: %w", what, err)
		}
	case n == 0:
		err = fmt.Errorf("empty %s body", what)
	default:
		return f.Name(), 0, nil
	}
	os.Remove(f.Name())
	return "", code, err
}

// hidePath names the upload instead of its temporary file, which means
// nothing to the client; call it after statusOf, as it loses the error chain.
func hidePath(err error, path, name string) error {
	return errors.New(strings.ReplaceAll(err.Error(), path, name))
}

func (s *Server) interrupt(w http.ResponseWriter, r *http.Request) {
	cut := s.cfg.Stream.Interrupt()
	s.log.Info("interrupt", "cut", cut)
	writeJSON(w, http.StatusOK, map[string]bool{"interrupted": cut})
}

func (s *Server) drop(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.cfg.Stream.Drop(id); err != nil {
		s.fail(w, r, statusOf(err), fmt.Errorf("dropping clip %q: %w", id, err))
		return
	}
	s.log.Info("clip dropped", "id", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	role, err := talk.ParseRole(r.URL.Query().Get("role"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	path, code, err := s.upload(w, r, "image")
	if err != nil {
		s.fail(w, r, code, err)
		return
	}
	defer os.Remove(path)
	name := imageName(r.URL.Query().Get("name"))
	if err := s.cfg.Stream.SetPictureFile(role, path, name); err != nil {
		s.fail(w, r, statusOf(err), hidePath(err, path, "the image body"))
		return
	}
	s.log.Info("image changed", "role", role, "name", name)
	w.WriteHeader(http.StatusNoContent)
}

// imageName is what an uploaded picture is called in the status and the
// log: the caller's ?name=, kept short and printable, or "upload" (the
// file it was saved in is gone once decoded).
func imageName(q string) string {
	q = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(q))
	if q == "" {
		return "upload"
	}
	if r := []rune(q); len(r) > 64 {
		q = string(r[:64])
	}
	return q
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	s.log.Info("stop requested")
	writeJSON(w, http.StatusAccepted, map[string]bool{"stopping": true})
	// The answer goes out before the stream begins to wind down.
	http.NewResponseController(w).Flush()
	s.cfg.Stream.Stop()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Stream.Status().Publishing {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "error": "not publishing"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

type clipJSON struct {
	ID       string   `json:"id"`
	Elapsed  *float64 `json:"elapsed_seconds,omitempty"`
	Duration float64  `json:"duration_seconds"`
}

type queueJSON struct {
	Items   []clipJSON `json:"items"`
	Seconds float64    `json:"seconds"`
}

type statusJSON struct {
	State      string    `json:"state"`
	Uptime     float64   `json:"uptime_seconds"`
	Media      float64   `json:"media_seconds"`
	BehindLive float64   `json:"behind_live_seconds"`
	Restarts   int       `json:"restarts"`
	Speaking   bool      `json:"speaking"`
	Current    *clipJSON `json:"current"`
	Queue      queueJSON `json:"queue"`
	Output     string    `json:"output"`
	DriftMS    float64   `json:"drift_ms"`
	LastError  string    `json:"last_error"`
	Publishing bool      `json:"publishing"`
	ClipsAired int       `json:"clips_aired"`
	Image      string    `json:"image"`
	Showing    string    `json:"showing"`
	AudioLevel float64   `json:"audio_level_db"`
	// Outputs is there only with several outputs.
	Outputs []outputJSON `json:"outputs,omitempty"`
}

type outputJSON struct {
	URL        string     `json:"url"`
	State      string     `json:"state"`
	Since      *time.Time `json:"connected_since"` // null while not up
	Reconnects int        `json:"reconnects"`
	BytesSent  int64      `json:"bytes_sent"`
	Delay      float64    `json:"delay_seconds"`
	LastError  string     `json:"last_error"`
}

func toStatusJSON(st live.Status) statusJSON {
	out := statusJSON{
		State:      st.State,
		Uptime:     seconds(st.Uptime),
		Media:      seconds(st.Media),
		BehindLive: seconds(st.BehindLive),
		Restarts:   st.Restarts,
		Speaking:   st.Speaking,
		Queue:      queueJSON{Items: make([]clipJSON, 0, len(st.Queue)), Seconds: seconds(st.QueueTime)},
		Output:     st.Output,
		DriftMS:    float64(st.Drift) / float64(time.Millisecond),
		LastError:  st.LastError,
		Publishing: st.Publishing,
		ClipsAired: st.ClipsAired,
		Image:      st.Image,
		Showing:    st.Showing,
		AudioLevel: st.AudioLevel,
	}
	for _, o := range st.Outputs {
		oj := outputJSON{URL: o.URL, State: o.State.String(), Reconnects: o.Reconnects, BytesSent: o.BytesSent,
			Delay: seconds(o.Delay), LastError: o.LastError}
		if !o.Since.IsZero() {
			since := o.Since
			oj.Since = &since
		}
		out.Outputs = append(out.Outputs, oj)
	}
	if c := st.Current; c != nil {
		el := seconds(c.Elapsed)
		out.Current = &clipJSON{ID: c.ID, Elapsed: &el, Duration: seconds(c.Duration)}
	}
	for _, c := range st.Queue {
		out.Queue.Items = append(out.Queue.Items, clipJSON{ID: c.ID, Duration: seconds(c.Duration)})
	}
	return out
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toStatusJSON(s.cfg.Stream.Status()))
}

// Timeouts of the server Serve runs. The event stream clears its own
// deadlines.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 2 * time.Minute // a 64 MiB upload over a slow link
	WriteTimeout      = 2 * time.Minute // decoding a long clip before the answer
	IdleTimeout       = 2 * time.Minute
	ShutdownTimeout   = 5 * time.Second
)

// HTTPServer returns an http.Server for s with every timeout set; Serve
// runs one.
func (s *Server) HTTPServer() *http.Server {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv.RegisterOnShutdown(s.CloseEvents)
	return srv
}

// CloseEvents ends every open event stream and refuses new ones; a server
// shutting down calls it, since Shutdown waits for handlers to return.
func (s *Server) CloseEvents() {
	s.quitOnce.Do(func() { close(s.quit) })
}

// Serve answers on ln until ctx ends, then shuts down: open event streams
// end, other requests get ShutdownTimeout to finish. It returns nil after a
// shutdown, or the error that stopped the server.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.HTTPServer()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.CloseEvents()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
