package main

// Live mode end to end: livepush --live into a real nginx-rtmp, driven over its control API as a
// user's program would, and the one recording checked with ffmpeg.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// liveAPI talks to a live livepush's control API.
type liveAPI struct {
	t     *testing.T
	base  string
	token string
}

func (a liveAPI) do(method, path string, body []byte) (int, []byte) {
	a.t.Helper()
	code, b, err := a.try(method, path, body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, b
}

// try is do that reports a failed connection instead of failing the test.
func (a liveAPI) try(method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// expect does the request and fails the test unless the answer has status want; it returns the body.
func (a liveAPI) expect(want int, method, path string, body []byte) []byte {
	a.t.Helper()
	code, b := a.do(method, path, body)
	if code != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	if want >= 400 {
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
			a.t.Errorf("%s %s: %d with body %q, want a JSON error", method, path, code, b)
		}
	}
	return b
}

type liveStatus struct {
	State      string  `json:"state"`
	Showing    string  `json:"showing"`
	Media      float64 `json:"media_seconds"`
	Speaking   bool    `json:"speaking"`
	Publishing bool    `json:"publishing"`
	Restarts   int     `json:"restarts"`
	Behind     float64 `json:"behind_live_seconds"`
	Current    *struct {
		ID      string  `json:"id"`
		Elapsed float64 `json:"elapsed_seconds"`
	} `json:"current"`
	Queue struct {
		Seconds float64 `json:"seconds"`
	} `json:"queue"`
	Output string `json:"output"`
}

func (a liveAPI) status() liveStatus {
	a.t.Helper()
	var st liveStatus
	if err := json.Unmarshal(a.expect(200, "GET", "/v1/status", nil), &st); err != nil {
		a.t.Fatal(err)
	}
	return st
}

// waitStatus polls the status until ok holds, or fails the test after timeout.
func (a liveAPI) waitStatus(p *lpProc, what string, timeout time.Duration, ok func(liveStatus) bool) liveStatus {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() {
			a.t.Fatalf("livepush exited while waiting for %s; stderr:\n%s", what, tail(p.Stderr.String(), 30))
		}
		code, b, err := a.try("GET", "/v1/status", nil) // refused until livepush listens
		var st liveStatus
		if err == nil && code == 200 && json.Unmarshal(b, &st) == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("no %s within %v: last status %d %s; stderr:\n%s", what, timeout, code, b, tail(p.Stderr.String(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// playFor waits until the stream has sent d more of media: what the recording is to show, timed by
// the stream rather than by the wall clock.
func (a liveAPI) playFor(p *lpProc, d float64) {
	a.t.Helper()
	from := a.status().Media
	a.waitStatus(p, fmt.Sprintf("%.1f s more of media", d), 30*time.Second, func(s liveStatus) bool { return s.Media >= from+d })
}

// speak posts the WAV at path and returns the clip's id.
func (a liveAPI) speak(path, query string) string {
	a.t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		a.t.Fatal(err)
	}
	var q struct {
		ID       string  `json:"id"`
		Duration float64 `json:"duration_seconds"`
	}
	if err := json.Unmarshal(a.expect(202, "POST", "/v1/speech"+query, body), &q); err != nil || q.ID == "" {
		a.t.Fatalf("POST /v1/speech: answer %+v, %v", q, err)
	}
	return q.ID
}

// sseEvents reads the event stream at url into a list until the stream ends.
type sseEvents struct {
	mu    sync.Mutex
	kinds []string
	done  chan struct{}
}

func watchEvents(t *testing.T, a liveAPI) *sseEvents {
	req, _ := http.NewRequest("GET", a.base+"/v1/events", nil)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/events: %v", err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /v1/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ev := &sseEvents{done: make(chan struct{})}
	go func() {
		defer close(ev.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if k, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				ev.mu.Lock()
				ev.kinds = append(ev.kinds, k)
				ev.mu.Unlock()
			}
		}
	}()
	return ev
}

func (e *sseEvents) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.kinds...)
}

// logTimes finds the media time of each log line "msg=<msg> id=<id> ... at=<duration>".
func logTimes(t *testing.T, stderr, msg string) map[string]float64 {
	t.Helper()
	re := regexp.MustCompile(`msg="` + regexp.QuoteMeta(msg) + `" id=(\S+) at=(\S+)`)
	out := map[string]float64{}
	for _, m := range re.FindAllStringSubmatch(stderr, -1) {
		d, err := time.ParseDuration(m[2])
		if err != nil {
			t.Fatalf("log %q: %v", m[0], err)
		}
		out[m[1]] = d.Seconds()
	}
	return out
}

func solidPNG(t *testing.T, path string, c color.RGBA, size int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// toneAt is the strength of freq in the window [from, to) seconds of x, against the window's energy:
// near 1 for a pure tone of that frequency, near 0 for another tone or silence.
func toneAt(x []float64, rate int, from, to, freq float64) (share, level float64) {
	a, b := int(from*float64(rate)), int(to*float64(rate))
	a, b = max(a, 0), min(b, len(x))
	if b-a < rate/100 {
		return 0, 0
	}
	w := x[a:b]
	level = rms(w)
	if level == 0 {
		return 0, 0
	}
	// goertzel gives the power at freq; a sine of amplitude A has A²/2 of mean power, n²A²/4 of power.
	p := goertzel(w, float64(rate), freq)
	n := float64(len(w))
	return math.Min(1, p/(n*n/2*level*level)), level
}

// liveRun is one livepush --live into a private nginx-rtmp, publishing, with its control API.
type liveRun struct {
	srv *rtmpServer
	p   *lpProc
	api liveAPI
	dir string // the test's inputs
	img string // the picture it started with: green
}

// startLive starts livepush --live at 64x64 on a green picture into stream name, with extra flags, and
// waits until it publishes.
func startLive(t *testing.T, name string, extra ...string) liveRun {
	t.Helper()
	r := liveRun{srv: startRTMP(t), dir: t.TempDir()}
	r.img = solidPNG(t, filepath.Join(r.dir, "green.png"), color.RGBA{0, 200, 0, 255}, 64)
	port := freePort(t)
	r.api = liveAPI{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	args := append([]string{"stream", "--live", "--image", r.img, "--size", "64x64", "-o", r.srv.URL(name),
		"--control", fmt.Sprintf("127.0.0.1:%d", port)}, extra...)
	r.p = startLivepush(t, lpOpts{}, args...)
	r.api.waitStatus(r.p, "publishing", 30*time.Second, func(s liveStatus) bool { return s.Publishing })
	return r
}

// TestE2ELive: one live stream for its whole run: idle with no audio at first, two clips posted back
// to back (one 48 kHz stereo, converted), a picture swapped on air, a long clip cut by an interrupt,
// the control API's error answers, then SIGTERM. From the one recording: each clip aired whole, in
// order, where the log says, joined without a gap; the picture changed; the cut came within a chunk.
func TestE2ELive(t *testing.T) {
	t.Parallel()
	r := startLive(t, "live1", "--max-upload", "1MiB", "--max-queue", "10s")
	srv, p, a, dir := r.srv, r.p, r.api, r.dir
	red := solidPNG(t, filepath.Join(dir, "red.png"), color.RGBA{220, 0, 0, 255}, 64)
	const rate = 24000
	toneA := makeToneWAV(t, filepath.Join(dir, "a.wav"), 600, 1.0, 24000, 1)
	toneB := makeToneWAV(t, filepath.Join(dir, "b.wav"), 1000, 0.8, 48000, 2)
	toneC := makeToneWAV(t, filepath.Join(dir, "c.wav"), 1400, 6, 24000, 1)
	tooLong := makeToneWAV(t, filepath.Join(dir, "long.wav"), 500, 12, 8000, 1)
	st := a.status()
	if st.State != "idle" || st.Speaking || strings.Contains(st.Output, "live1") {
		t.Errorf("status while idle: %+v (want idle, not speaking, the key masked)", st)
	}
	events := watchEvents(t, a)
	a.expect(200, "GET", "/readyz", nil)

	// Idle for a second: the stream goes on with the picture and silence.
	a.waitStatus(p, "1 s of idle media", 20*time.Second, func(s liveStatus) bool { return s.Media >= 1 })

	// Bad requests answer 4xx and leave the stream alone.
	a.expect(400, "POST", "/v1/speech", []byte("not a wav at all"))
	a.expect(400, "PUT", "/v1/image", []byte("not an image"))
	a.expect(404, "DELETE", "/v1/speech/nosuchclip", nil)
	a.expect(413, "POST", "/v1/speech", make([]byte, 2<<20))
	big, _ := os.ReadFile(tooLong)
	a.expect(413, "POST", "/v1/speech", big) // longer than the whole queue: waiting will not help
	// A queue past --max-queue: C (6 s) airs, a second C would take it to 12 s.
	idFull := a.speak(toneC, "")
	a.expect(429, "POST", "/v1/speech", mustRead(t, toneC))
	a.waitStatus(p, "the first C on air", 20*time.Second, func(s liveStatus) bool { return s.Current != nil && s.Current.Elapsed > 0 })
	a.expect(200, "POST", "/v1/interrupt", nil)
	a.waitStatus(p, "idle after clearing", 20*time.Second, func(s liveStatus) bool { return !s.Speaking && s.Current == nil })

	idA := a.speak(toneA, "")
	idB := a.speak(toneB, "")
	a.waitStatus(p, "both clips aired", 20*time.Second, func(s liveStatus) bool {
		return !s.Speaking && s.Current == nil && s.Queue.Seconds == 0
	})
	a.expect(204, "PUT", "/v1/image?name=red.png", mustRead(t, red))
	a.playFor(p, 0.5) // the new picture, before the next clip
	idC := a.speak(toneC, "")
	a.waitStatus(p, "clip C on air for a second", 20*time.Second, func(s liveStatus) bool {
		return s.Current != nil && s.Current.ID == idC && s.Media > 0
	})
	a.playFor(p, 1) // C's first second, for the recording
	before := a.status().Media
	if b := a.expect(200, "POST", "/v1/interrupt", nil); !strings.Contains(string(b), "true") {
		t.Errorf("POST /v1/interrupt: %s, want interrupted true", b)
	}
	a.waitStatus(p, "idle after the cut", 20*time.Second, func(s liveStatus) bool { return !s.Speaking && s.Current == nil })
	a.playFor(p, 1) // a second of silence after the cut, for the recording

	p.Signal(syscall.SIGTERM)
	p.ExpectExit(0, 30*time.Second)
	<-events.done // the event stream ends with the stream

	recs := srv.WaitDone("live1", 15*time.Second)
	if len(recs) != 1 {
		t.Fatalf("recordings %v: want exactly one publish session for the whole run", recs)
	}
	stderr := p.Stderr.String()
	starts := logTimes(t, stderr, "speech started")
	ends := logTimes(t, stderr, "speech finished")
	cuts := logTimes(t, stderr, "speech cut")
	t.Logf("started %v, finished %v, cut %v", starts, ends, cuts)
	sA, okA := starts[idA]
	sB, okB := starts[idB]
	sC, okC := starts[idC]
	cC, okCut := cuts[idC]
	if _, ok := cuts[idFull]; !ok {
		t.Errorf("the clip that filled the queue was not cut by the interrupt")
	}
	if !okA || !okB || !okC || !okCut {
		t.Fatalf("log lacks a clip's start or C's cut; stderr:\n%s", tail(stderr, 40))
	}
	if math.Abs(sB-(sA+1.0)) > 0.001 || math.Abs(ends[idA]-sB) > 0.001 {
		t.Errorf("B started at %.3f s, A at %.3f s and ended at %.3f s: want B right after A's 1.0 s", sB, sA, ends[idA])
	}
	if cC-before > 0.5 {
		t.Errorf("cut at %.3f s of media, the interrupt came at about %.3f s: later than a chunk and the request", cC, before)
	}

	x := channel(decodeAudio(t, recs[0], rate, 1), 1, 0)
	// AAC's encoder delay shifts the decoded audio by a few tens of ms: look inside each span.
	const edge = 0.1
	check := func(what string, from, to, freq float64) {
		share, level := toneAt(x, rate, from, to, freq)
		if share < 0.8 || level < 0.05 {
			t.Errorf("%s [%.2f, %.2f) s: %.0f Hz share %.2f, level %.3f; want the tone", what, from, to, freq, share, level)
		}
	}
	quiet := func(what string, from, to float64) {
		if _, level := toneAt(x, rate, from, to, 1000); level > 0.01 {
			t.Errorf("%s [%.2f, %.2f) s: level %.3f, want silence", what, from, to, level)
		}
	}
	quiet("idle before the first clip", 0.3, sA-edge)
	check("clip A", sA+edge, sA+1.0-edge, 600)
	check("clip B", sB+edge, sB+0.8-edge, 1000)
	check("clip C before the cut", sC+edge, cC-edge, 1400)
	quiet("after the cut", cC+0.15, cC+0.9)
	// No gap at the join of A and B: every 20 ms window around it carries sound.
	for at := sB - 0.1; at < sB+0.1; at += 0.02 {
		if _, level := toneAt(x, rate, at, at+0.02, 600); level < 0.05 {
			t.Errorf("gap at the join of A and B: level %.3f at %.2f s", level, at)
		}
	}

	swaps := regexp.MustCompile(`msg="image changed" role=idle image=red.png at=(\S+)`).FindStringSubmatch(stderr)
	if swaps == nil {
		t.Fatalf("no image change logged")
	}
	swap, _ := time.ParseDuration(swaps[1])
	checkColour(t, "before the swap", meanRGB(decodeFrameRGB(t, recs[0], sB, 64, 64), 64, 32, 32, 8), [3]float64{0, 200, 0}, 40)
	checkColour(t, "after the swap", meanRGB(decodeFrameRGB(t, recs[0], swap.Seconds()+0.2, 64, 64), 64, 32, 32, 8), [3]float64{220, 0, 0}, 40)

	want := []string{"speech_started", "speech_cut", // the clip that filled the queue
		"speech_started", "speech_finished", "speech_started", "speech_finished", "image_changed", "speech_started", "speech_cut"}
	var got []string
	for _, k := range events.list() {
		if strings.HasPrefix(k, "speech_") || k == "image_changed" {
			got = append(got, k)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events %v, want %v", got, want)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestE2ELiveControlGuard: a control address others could reach needs a token (exit 2 at once
// otherwise); with one, a request without it or with another is refused, and the token shows in no
// log line.
func TestE2ELiveControlGuard(t *testing.T) {
	t.Parallel()
	srv := startRTMP(t)
	dir := t.TempDir()
	img := solidPNG(t, filepath.Join(dir, "g.png"), color.RGBA{0, 200, 0, 255}, 64)
	port := freePort(t)
	p := startLivepush(t, lpOpts{}, "stream", "--live", "--image", img, "--size", "64x64",
		"-o", srv.URL("guard"), "--control", "0.0.0.0:"+strconv.Itoa(port))
	p.ExpectExit(2, 10*time.Second)
	if s := p.Stderr.String(); !strings.Contains(s, "--control-token") || len(nonEmptyLines(s)) != 1 {
		t.Errorf("stderr %q: want one line naming --control-token", s)
	}

	const token = "s3cretControlT0ken"
	p = startLivepush(t, lpOpts{Env: []string{"LIVEPUSH_CONTROL_TOKEN=" + token}}, "stream", "--live",
		"--image", img, "--size", "64x64", "-o", srv.URL("guard"), "--control", "0.0.0.0:"+strconv.Itoa(port),
		"--log-level", "debug")
	a := liveAPI{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), token: token}
	a.waitStatus(p, "publishing", 30*time.Second, func(s liveStatus) bool { return s.Publishing })
	a.token = ""
	a.expect(401, "GET", "/v1/status", nil)
	a.token = "wrong-token-of-same-size"
	a.expect(401, "POST", "/v1/interrupt", nil)
	a.token = token
	a.expect(202, "POST", "/v1/stop", nil)
	p.ExpectExit(0, 30*time.Second)
	if strings.Contains(p.Stderr.String(), token) {
		t.Errorf("the token shows in the log:\n%s", p.Stderr.String())
	}
}

// trimQuiet drops the quiet at both ends of runs: a live recording is idle before and after a clip.
func trimQuiet(runs []toneRun) []toneRun {
	for len(runs) > 0 && runs[0].Tone < 0 {
		runs = runs[1:]
	}
	for len(runs) > 0 && runs[len(runs)-1].Tone < 0 {
		runs = runs[:len(runs)-1]
	}
	return runs
}

// TestE2ELiveRestart: ffmpeg killed mid-clip: the clip resumes in the next publish where viewers last
// heard it (nothing lost, a little repeated), the status says how far behind the live edge that left
// the stream, and that lag is gone once the clip is over: a clip posted in the silence airs at once.
func TestE2ELiveRestart(t *testing.T) {
	t.Parallel()
	r := startLive(t, "restart")
	srv, p, a, dir := r.srv, r.p, r.api, r.dir
	const n = 8 // seconds of step tones in the clip
	clip := makeStepToneWAV(t, filepath.Join(dir, "steps.wav"), n, 24000)
	hush := makeWAV(t, filepath.Join(dir, "hush.wav"), "anullsrc=r=24000:cl=mono:d=0.5", 24000, 1)
	first := p.WaitChild(0, 10*time.Second)
	id := a.speak(clip, "")
	a.waitStatus(p, "3 s of the clip", 30*time.Second, func(s liveStatus) bool {
		return s.Current != nil && s.Current.ID == id && s.Current.Elapsed >= 3
	})
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := a.waitStatus(p, "the restarted ffmpeg publishing", 30*time.Second, func(s liveStatus) bool {
		return s.Restarts == 1 && s.Publishing && s.Speaking
	})
	// Once the replay (a second, ResumeMargin, at least) has gone out, the clip is behind by it and
	// by the outage.
	a.playFor(p, 1.5)
	if st = a.status(); st.Behind < 0.9 || !st.Speaking {
		t.Errorf("behind the live edge by %.2f s after an outage mid-clip and its replay, want over 0.9 s; %+v", st.Behind, st)
	}
	t.Logf("after the restart: %+v", st)
	st = a.waitStatus(p, "idle after the clip", 30*time.Second, func(s liveStatus) bool { return !s.Speaking && s.Current == nil })
	if st.Behind != 0 {
		t.Errorf("behind the live edge by %.2f s while idle, want 0: the lag is absorbed in the silence", st.Behind)
	}
	var q struct {
		StartsIn float64 `json:"starts_in_seconds"`
	}
	if err := json.Unmarshal(a.expect(202, "POST", "/v1/speech", mustRead(t, hush)), &q); err != nil || q.StartsIn > 0.05 {
		t.Errorf("a clip posted in the silence starts in %.3f s (%v), want at once", q.StartsIn, err)
	}
	a.playFor(p, 1)
	p.Signal(syscall.SIGTERM)
	p.ExpectExit(0, 30*time.Second)

	recs := srv.WaitDone("restart", 15*time.Second)
	if len(recs) != 2 {
		t.Fatalf("recordings %v, want 2 (one per publish)", recs)
	}
	var spans []toneSpan
	for _, r := range recs {
		x := channel(decodeAudio(t, r, 24000, 1), 1, 0)
		runs := toneRuns(x, 24000, n)
		sp, err := spanOf(r, trimQuiet(runs))
		t.Logf("recording %s: input %.2f..%.2f s, tones %s", filepath.Base(r), sp.Start, sp.End, runsString(runs))
		if err != nil {
			t.Fatalf("recording %s: %v", filepath.Base(r), err)
		}
		spans = append(spans, sp)
	}
	repeats, err := checkSpans(spans, n, 0.15, 2.5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("repeated at the restart: %.2f s", repeats[0])
}

// TestE2ELiveCutNotReplayed: ffmpeg dies right after an interrupt: the restarted ffmpeg does not
// replay the speech that was cut (a restart otherwise sends the last second again).
func TestE2ELiveCutNotReplayed(t *testing.T) {
	t.Parallel()
	r := startLive(t, "cut")
	srv, p, a, dir := r.srv, r.p, r.api, r.dir
	const n = 8
	clip := makeStepToneWAV(t, filepath.Join(dir, "steps.wav"), n, 24000)
	first := p.WaitChild(0, 10*time.Second)
	id := a.speak(clip, "")
	a.waitStatus(p, "3 s of the clip", 30*time.Second, func(s liveStatus) bool {
		return s.Current != nil && s.Current.ID == id && s.Current.Elapsed >= 3
	})
	a.expect(200, "POST", "/v1/interrupt", nil)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.waitStatus(p, "the restarted ffmpeg publishing", 30*time.Second, func(s liveStatus) bool { return s.Restarts == 1 && s.Publishing })
	a.playFor(p, 2)
	p.Signal(syscall.SIGTERM)
	p.ExpectExit(0, 30*time.Second)

	recs := srv.WaitDone("cut", 15*time.Second)
	if len(recs) != 2 {
		t.Fatalf("recordings %v, want 2 (one per publish)", recs)
	}
	x := channel(decodeAudio(t, recs[1], 24000, 1), 1, 0)
	// The cut's own fade (5 ms, in the first chunk after the interrupt) may open the new publish: up
	// to two analysis windows of it; a replay would be a second of speech.
	windows := 0
	for _, r := range toneRuns(x, 24000, n) {
		if r.Tone >= 0 {
			windows += r.Windows
		}
	}
	if windows > 2 {
		t.Errorf("the publish after the restart carries %.2f s of the cut speech: %s", float64(windows)*toneWindow,
			runsString(toneRuns(x, 24000, n)))
	}
}
