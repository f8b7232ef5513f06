package orchestrator

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// silentServer accepts TCP connections, reads what comes and never
// answers: a server that stalls without closing. It tells the RTMP
// handshakes (first byte 3) from bare connects (the probe's).
type silentServer struct {
	l      net.Listener
	hangUp bool // close each connection after its first read, as a server refusing the client
	mu     sync.Mutex
	rtmp   []time.Time
	conns  []net.Conn
	wg     sync.WaitGroup
}

func listenSilent(t *testing.T, addr string) *silentServer { return listenServer(t, addr, false) }

func listenServer(t *testing.T, addr string, hangUp bool) *silentServer {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{l: l, hangUp: hangUp}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				b := make([]byte, 4096)
				n, _ := c.Read(b)
				if n > 0 && b[0] == 3 {
					s.mu.Lock()
					s.rtmp = append(s.rtmp, time.Now())
					s.mu.Unlock()
				}
				if s.hangUp {
					c.Close()
					return
				}
				for {
					if _, err := c.Read(b); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *silentServer) handshakes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.rtmp...)
}

func (s *silentServer) close() {
	s.l.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func relayTestConfig(t *testing.T, h *harness, outputs ...string) Config {
	enc := Encoding{Width: 160, Height: 120, FPS: 25, GOP: 1, SampleRate: 24000, Channels: 1, Preset: "ultrafast"}
	return Config{
		FFmpeg:       requireTool(t, "ffmpeg"),
		Outputs:      outputs,
		Encoding:     enc,
		Realtime:     true,
		Video:        newNoiseVideo(enc, 4),
		Audio:        supSilence{},
		StaleTimeout: 2 * time.Second,
		StopTimeout:  2 * time.Second,
		Logger:       h.logger(),
	}
}

// An output whose server accepts the connection and never answers is
// killed for making no progress and retried, while the other output
// gets the whole stream, never restarted.
func TestRelayStalledServer(t *testing.T) {
	skipShort(t, "real ffmpeg")
	ffprobe := requireTool(t, "ffprobe")
	h := newHarness(t)
	ctx, _ := h.context(60 * time.Second)
	srv := listenSilent(t, "127.0.0.1:0")
	stalled := fmt.Sprintf("rtmp://%s/live/stalledkey", srv.l.Addr())
	file := filepath.Join(h.dir, "a.flv")
	cfg := relayTestConfig(t, h, file, stalled)
	cfg.Frames = 8 * 25
	cfg.RestartDelay = 100 * time.Millisecond
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 40*time.Second)
	if r.err != nil {
		t.Fatalf("Run: %v; log:\n%s", r.err, h.dump())
	}
	if n := probeVideoPackets(t, ffprobe, file); int64(n) != cfg.Frames {
		t.Errorf("%s: %d video packets, want %d", file, n, cfg.Frames)
	}
	st := sup.Outputs()
	if st[0].Reconnects != 0 || st[0].LastError != "" {
		t.Errorf("the file output was disturbed: %+v", st[0])
	}
	if st[1].Reconnects < 1 || !strings.Contains(st[1].LastError, "no progress") {
		t.Errorf("the stalled output: %+v, want retried for no progress; log:\n%s", st[1], h.dump())
	}
	if strings.Contains(st[1].URL, "stalledkey") || strings.Contains(st[1].LastError, "stalledkey") {
		t.Errorf("key in the status: %+v", st[1])
	}
	if got := len(srv.handshakes()); got < 2 {
		t.Errorf("%d RTMP handshakes at the stalled server, want the first and a retry", got)
	}
}

// While an output waits out a long backoff, its server's return is seen
// by the probe and the output starts again at once.
func TestRelayProbeEndsBackoff(t *testing.T) {
	skipShort(t, "real ffmpeg")
	h := newHarness(t)
	ctx, cancel := h.context(60 * time.Second)
	// A port with nothing on it, taken again below.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	file := filepath.Join(h.dir, "a.flv")
	cfg := relayTestConfig(t, h, file, "rtmp://"+addr+"/live/key")
	// The first backoff is 15-30 s: only the probe can end it sooner.
	cfg.RestartDelay, cfg.RestartMaxDelay = 30*time.Second, 30*time.Second
	sup, res := h.start(ctx, cfg)
	down := h.waitLog(ctx, "output down, restarting it alone", nil)
	if !strings.Contains(down.str("error"), "Connection refused") {
		t.Errorf("down for %q, want a refused connection", down.str("error"))
	}
	srv := listenSilent(t, addr)
	back := time.Now()
	if !poll(14*time.Second, func() bool { return len(srv.handshakes()) > 0 }) {
		t.Fatalf("no new connect within 14 s of the server's return (backoff at least 15 s); log:\n%s", h.dump())
	}
	t.Logf("the output connected again %v after its server's return", time.Since(back).Round(time.Millisecond))
	h.waitLog(ctx, "output's server answers again: restarting it now", nil)
	if st := sup.Outputs()[1]; st.Reconnects != 1 || st.State != OutputStarting {
		t.Errorf("status %+v, want one reconnect, starting", st)
	}
	cancel()
	if r := h.waitRun(res, 20*time.Second); r.err != nil {
		t.Errorf("Run: %v", r.err)
	}
}

// A restarted encoder starts its timestamps at 0 again: the outputs go on
// unbroken, one ffmpeg each, their timestamps still in order, nothing
// sent twice.
func TestRelayEncoderRestart(t *testing.T) {
	skipShort(t, "real ffmpeg")
	ffprobe := requireTool(t, "ffprobe")
	h := newHarness(t)
	ctx, _ := h.context(60 * time.Second)
	a, b := filepath.Join(h.dir, "a.flv"), filepath.Join(h.dir, "b.mkv")
	cfg := relayTestConfig(t, h, a, b)
	cfg.Frames = 6 * 25
	cfg.RestartDelay = 100 * time.Millisecond
	_, res := h.start(ctx, cfg)
	pub := h.waitLog(ctx, "ffmpeg is writing", func(r logRecord) bool { _, ok := r.value("output"); return !ok })
	pid := int(pub.int("pid"))
	if !poll(20*time.Second, func() bool { return fileSize(a) > 100<<10 }) {
		t.Fatalf("%s not written; log:\n%s", a, h.dump())
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := h.waitRun(res, 40*time.Second)
	if r.err != nil {
		t.Fatalf("Run: %v; log:\n%s", r.err, h.dump())
	}
	if n := len(h.logs.with("ffmpeg started", nil)); n != 2 {
		t.Errorf("%d encoder starts, want 2", n)
	}
	if n := len(h.logs.with("output ffmpeg started", nil)); n != 2 {
		t.Errorf("%d output ffmpeg starts, want one per output", n)
	}
	for _, f := range []string{a, b} {
		pts := probePTS(t, ffprobe, f)
		for i := 1; i < len(pts); i++ {
			if pts[i] <= pts[i-1] {
				t.Errorf("%s: video pts %v after %v", f, pts[i], pts[i-1])
				break
			}
		}
		// Nothing twice: what the killed encoder had not written is
		// encoded again, so at most a few frames more than the input.
		if n := int64(len(pts)); n < cfg.Frames-5 || n > cfg.Frames+5 {
			t.Errorf("%s: %d video frames, want about %d", f, n, cfg.Frames)
		}
	}
}

func probePTS(t *testing.T, ffprobe, path string) []float64 {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var pts []float64
	for _, l := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64)
		if err == nil {
			pts = append(pts, v)
		}
	}
	return pts
}

// A planned reconnect ends each session after ReconnectEvery, at a
// keyframe in silence, and the next one goes on from there: one output
// written as several files that hold every frame once between them.
func TestRelayReconnectEvery(t *testing.T) {
	skipShort(t, "real ffmpeg")
	ffprobe := requireTool(t, "ffprobe")
	h := newHarness(t)
	ctx, _ := h.context(60 * time.Second)
	out := filepath.Join(h.dir, "a.flv")
	cfg := relayTestConfig(t, h)
	cfg.Output = out
	cfg.ReconnectEvery = 2 * time.Second
	cfg.Frames = 7 * 25
	var downs []Event
	cfg.Notify = func(e Event) {
		if e.Kind == EventOutputDown {
			downs = append(downs, e)
		}
	}
	sup, res := h.start(ctx, cfg)
	if r := h.waitRun(res, 40*time.Second); r.err != nil {
		t.Fatalf("Run: %v; log:\n%s", r.err, h.dump())
	}
	planned := len(h.logs.with("output reconnecting as planned", nil))
	if planned < 2 {
		t.Fatalf("%d planned reconnects in 7 s every 2 s; log:\n%s", planned, h.dump())
	}
	total := 0
	for k := 0; k <= planned; k++ {
		f := out
		if k > 0 {
			f = filepath.Join(h.dir, fmt.Sprintf("a.%d.flv", k))
		}
		total += probeVideoPackets(t, ffprobe, f)
	}
	if int64(total) != cfg.Frames {
		t.Errorf("%d sessions hold %d frames, want %d, each once", planned+1, total, cfg.Frames)
	}
	if st := sup.Outputs()[0]; st.Reconnects != planned || st.LastError != "" {
		t.Errorf("status %+v", st)
	}
	n := 0
	for _, e := range downs {
		if e.Err == "planned reconnect" {
			n++
		}
	}
	// And one at the end of the stream.
	if n != planned || len(downs) != planned+1 {
		t.Errorf("output_down events %+v, want %d planned and the last", downs, planned)
	}
}

// A server that answers and then hangs up (as one refusing the key does)
// is retried after the whole backoff: the probe, which it answers, does
// not cut it short.
func TestRelayRefusingServerBacksOff(t *testing.T) {
	skipShort(t, "real ffmpeg")
	h := newHarness(t)
	ctx, _ := h.context(60 * time.Second)
	srv := listenServer(t, "127.0.0.1:0", true)
	cfg := relayTestConfig(t, h, filepath.Join(h.dir, "a.flv"), fmt.Sprintf("rtmp://%s/live/key", srv.l.Addr()))
	cfg.Frames = 6 * 25
	cfg.RestartDelay, cfg.RestartMaxDelay = 2*time.Second, 2*time.Second
	_, res := h.start(ctx, cfg)
	if r := h.waitRun(res, 40*time.Second); r.err != nil {
		t.Fatalf("Run: %v; log:\n%s", r.err, h.dump())
	}
	// 6 s with waits of 1-2 s: at most 7 tries; at the probe's pace, 20 or more.
	if n := len(srv.handshakes()); n < 2 || n > 7 {
		t.Errorf("%d tries in 6 s with a backoff of 1-2 s; log:\n%s", n, h.dump())
	}
	if n := len(h.logs.with("output's server answers again: restarting it now", nil)); n != 0 {
		t.Errorf("the probe cut the backoff short %d times", n)
	}
}
