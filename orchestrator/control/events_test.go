package control

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/live"
)

type sseEvent struct {
	name string
	data map[string]any
}

// sseReader parses a text/event-stream; comments come back as name ":".
type sseReader struct{ r *bufio.Reader }

func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.name != "" {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			ev.name = ":"
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data); err != nil {
				return ev, err
			}
		}
	}
}

// nextEvent skips comments.
func (s *sseReader) nextEvent(t *testing.T) sseEvent {
	t.Helper()
	for {
		ev, err := s.next()
		if err != nil {
			t.Fatalf("reading events: %v", err)
		}
		if ev.name != ":" {
			return ev
		}
	}
}

// serve runs s.Serve on a free loopback port; the returned func shuts it
// down and returns Serve's error.
func serve(t *testing.T, s *Server, srvMod func(*http.Server)) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		if srvMod == nil {
			errc <- s.Serve(ctx, ln)
			return
		}
		srv := s.HTTPServer()
		srvMod(srv)
		go func() { <-ctx.Done(); srv.Shutdown(context.Background()) }()
		if err := srv.Serve(ln); err != http.ErrServerClosed {
			errc <- err
		}
		errc <- nil
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-errc
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

func openEvents(t *testing.T, ctx context.Context, url string, f *fakeStream) (*http.Response, *sseReader) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	waitFor(t, "the subscription", func() bool { n, _ := f.counts(); return n == 1 })
	return resp, &sseReader{bufio.NewReader(resp.Body)}
}

func settle(t *testing.T, before int) {
	t.Helper()
	http.DefaultClient.CloseIdleConnections()
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestEventsInOrder(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEnv(t, nil)
	url, stop := serve(t, e.s, nil)
	resp, sse := openEvents(t, context.Background(), url, e.f)
	defer resp.Body.Close()

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sent := []live.Event{
		{Kind: live.SpeechStarted, ID: "c1", Time: t0, Media: 2 * time.Second},
		{Kind: live.SpeechFinished, ID: "c1", Time: t0.Add(time.Second), Media: 3 * time.Second},
		{Kind: live.StateChanged, State: "idle", Time: t0.Add(time.Second)},
		{Kind: live.Restart, Error: "ffmpeg exited 1", Time: t0.Add(2 * time.Second)},
	}
	for _, ev := range sent {
		e.f.publish(ev)
	}
	for i, want := range sent {
		got := sse.nextEvent(t)
		if got.name != want.Kind || got.data["kind"] != want.Kind {
			t.Fatalf("event %d: %+v, want kind %s", i, got, want.Kind)
		}
		if got.data["media_seconds"] != want.Media.Seconds() || got.data["time"] != want.Time.Format(time.RFC3339Nano) {
			t.Errorf("event %d data %v", i, got.data)
		}
		if id, _ := got.data["id"].(string); id != want.ID {
			t.Errorf("event %d id %q, want %q", i, id, want.ID)
		}
	}
	if logs := e.logs.String(); logs != "" {
		t.Errorf("events were logged: %s", logs)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	resp.Body.Close()
	settle(t, before)
}

func TestEventsEndOnShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEnv(t, nil)
	url, stop := serve(t, e.s, nil)
	resp, sse := openEvents(t, context.Background(), url, e.f)
	defer resp.Body.Close()
	e.f.publish(live.Event{Kind: live.ImageChanged})
	if ev := sse.nextEvent(t); ev.name != live.ImageChanged {
		t.Fatalf("got %+v", ev)
	}
	done := make(chan error, 1)
	go func() { done <- stop() }()
	for {
		if _, err := sse.next(); err != nil {
			break // the stream ended
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, un := e.f.counts(); un != 1 {
		t.Errorf("unsubscribed %d times, want 1", un)
	}
	resp.Body.Close()
	settle(t, before)
}

func TestEventsEndWhenClientGoes(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEnv(t, nil)
	url, stop := serve(t, e.s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	resp, _ := openEvents(t, ctx, url, e.f)
	cancel()
	resp.Body.Close()
	waitFor(t, "the handler to unsubscribe", func() bool { _, un := e.f.counts(); return un == 1 })
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	settle(t, before)
}

// TestEventsOutliveServerTimeouts: the stream clears the server's read and
// write deadlines, so it goes on past them, with heartbeats.
func TestEventsOutliveServerTimeouts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Heartbeat = 20 * time.Millisecond })
	const timeout = 100 * time.Millisecond
	url, _ := serve(t, e.s, func(srv *http.Server) {
		srv.ReadTimeout = timeout
		srv.WriteTimeout = timeout
	})
	start := time.Now()
	resp, sse := openEvents(t, context.Background(), url, e.f)
	defer resp.Body.Close()
	beats := 0
	for time.Since(start) < 5*timeout {
		ev, err := sse.next()
		if err != nil {
			t.Fatalf("the stream ended after %v: %v", time.Since(start), err)
		}
		if ev.name == ":" {
			beats++
		}
	}
	e.f.publish(live.Event{Kind: live.SpeechCut, ID: "late"})
	if ev := sse.nextEvent(t); ev.name != live.SpeechCut || ev.data["id"] != "late" {
		t.Errorf("after the timeouts: %+v", ev)
	}
	if beats < 2 {
		t.Errorf("%d heartbeats", beats)
	}
	if _, un := e.f.counts(); un != 0 {
		t.Error("the handler ended while the client was there")
	}
}

func TestEventsEndWhenChannelCloses(t *testing.T) {
	e := newEnv(t, nil)
	url, _ := serve(t, e.s, nil)
	resp, sse := openEvents(t, context.Background(), url, e.f)
	defer resp.Body.Close()
	e.f.mu.Lock()
	close(e.f.subs[0])
	e.f.subs = nil
	e.f.mu.Unlock()
	for {
		if _, err := sse.next(); err != nil {
			break
		}
	}
}
