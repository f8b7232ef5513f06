package main

// Real-components test harness: a private nginx-rtmp (through scripts/nginx-rtmp.sh, the one place that
// knows how to run it), the livepush binary built once per test run, ffprobe/ffmpeg helpers that read
// back what the server recorded, and checks that every run leaves no FIFO directory and no ffmpeg behind.
//
// Tests that need ffmpeg or nginx-rtmp skip when the tools are missing (and with -short), unless CI or
// LIVEPUSH_REQUIRE_TOOLS is set: then a missing tool is a failure and -short does not skip them (install
// the tools with `scripts/nginx-rtmp.sh install` and `apt-get install ffmpeg`).

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/proctest"
)

var (
	binDir      string
	buildOnce   sync.Once
	livepushBin string
	buildErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// toolsRequired reports whether a missing tool must fail a test rather than skip it: under CI (which
// .ci/run sets) or LIVEPUSH_REQUIRE_TOOLS (which scripts/test.sh sets), a skip would pass unseen.
func toolsRequired() bool {
	return envTrue("CI") || envTrue("LIVEPUSH_REQUIRE_TOOLS")
}

func envTrue(name string) bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(name)))
	return v != "" && v != "0" && v != "false" && v != "no"
}

// repoRoot is the module root (the directory holding go.mod), found from the package directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "/usr/local/go/bin/go"
}

// needLivepush builds the livepush binary once for the whole test run and returns its path.
func needLivepush(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "lptest-bin-")
		if buildErr != nil {
			return
		}
		livepushBin = filepath.Join(binDir, "livepush")
		cmd := exec.Command(goTool(), "build", "-o", livepushBin, ".")
		cmd.Dir = filepath.Join(repoRoot(t), "cmd", "livepush")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/livepush: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return livepushBin
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var rtmpModulePaths = []string{
	"/usr/lib/nginx/modules/ngx_rtmp_module.so",
	"/usr/lib64/nginx/modules/ngx_rtmp_module.so",
	"/usr/share/nginx/modules/ngx_rtmp_module.so",
}

// needTools skips the test when ffmpeg/ffprobe, and with rtmp also nginx and its RTMP module, are not
// installed, and with -short. When tools are required (toolsRequired) a missing tool fails the test
// and -short is ignored, so that nothing passes by being skipped.
func needTools(t testing.TB, rtmp bool) {
	t.Helper()
	if testing.Short() {
		if !toolsRequired() {
			t.Skip("end-to-end test with real ffmpeg: skipped with -short")
		}
		t.Log("-short ignored: CI or LIVEPUSH_REQUIRE_TOOLS asks for every test to run")
	}
	var missing []string
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if rtmp {
		if _, err := exec.LookPath("nginx"); err != nil && !fileExists("/usr/sbin/nginx") {
			missing = append(missing, "nginx")
		}
		found := false
		for _, p := range rtmpModulePaths {
			found = found || fileExists(p)
		}
		if !found {
			missing = append(missing, "libnginx-mod-rtmp")
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("missing %s: apt-get install ffmpeg nginx libnginx-mod-rtmp (or scripts/nginx-rtmp.sh install)",
		strings.Join(missing, ", "))
	if toolsRequired() {
		t.Fatal(msg + " [CI or LIVEPUSH_REQUIRE_TOOLS is set, so this is a failure, not a skip]")
	}
	t.Skip(msg)
}

// ---------------------------------------------------------------------------------------------------
// nginx-rtmp

type rtmpServer struct {
	t      *testing.T
	Dir    string // nginx prefix: nginx.conf, logs/, rec/
	RecDir string
	Port   int

	mu      sync.Mutex
	running bool
	closed  map[string]bool // recordings made by a server instance that has since been stopped
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRTMP starts a private nginx-rtmp on a free loopback port, stopped when the test ends.
func startRTMP(t *testing.T) *rtmpServer {
	t.Helper()
	needTools(t, true)
	s := &rtmpServer{t: t, Dir: t.TempDir(), closed: map[string]bool{}}
	s.RecDir = filepath.Join(s.Dir, "rec")
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		s.Port = freePort(t)
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(s.Dir, "logs", "error.log")); err == nil {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				if len(lines) > 15 {
					lines = lines[len(lines)-15:]
				}
				t.Logf("nginx error.log (tail):\n%s", strings.Join(lines, "\n"))
			}
		}
	})
	return s
}

func (s *rtmpServer) script(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repoRoot(s.t), "scripts", "nginx-rtmp.sh")}, args...)...)
	return cmd.CombinedOutput()
}

func (s *rtmpServer) start() error {
	out, err := s.script("start", s.Dir, strconv.Itoa(s.Port))
	if err != nil {
		return fmt.Errorf("nginx-rtmp.sh start %s %d: %v\n%s", s.Dir, s.Port, err, out)
	}
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	return nil
}

// Start starts the server again on the same port (after Stop).
func (s *rtmpServer) Start() {
	s.t.Helper()
	t0 := time.Now()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("nginx-rtmp started again on port %d in %v", s.Port, time.Since(t0).Round(time.Millisecond))
}

// Stop stops the server and waits for it to exit. Recordings it was writing are considered finished.
func (s *rtmpServer) Stop() {
	s.mu.Lock()
	running := s.running
	s.running = false
	s.mu.Unlock()
	if !running {
		return
	}
	t0 := time.Now()
	if out, err := s.script("stop", s.Dir); err != nil {
		s.t.Errorf("nginx-rtmp.sh stop: %v\n%s", err, out)
	}
	if d := time.Since(t0); d > 500*time.Millisecond {
		s.t.Logf("nginx-rtmp took %v to stop", d.Round(time.Millisecond))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	files, _ := filepath.Glob(filepath.Join(s.RecDir, "*.flv"))
	for _, f := range files {
		s.closed[f] = true
	}
}

// URL is the publish/play URL of stream name on this server.
func (s *rtmpServer) URL(name string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", s.Port, name)
}

// Recordings lists the recordings of stream name, oldest first (one file per publish: record_unique).
func (s *rtmpServer) Recordings(name string) []string {
	files, _ := filepath.Glob(filepath.Join(s.RecDir, name+"-*.flv"))
	type rec struct {
		path string
		ts   int64
		mod  time.Time
	}
	var recs []rec
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".flv")
		ts, err := strconv.ParseInt(base[strings.LastIndex(base, "-")+1:], 10, 64)
		if err != nil || base[:strings.LastIndex(base, "-")] != name {
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			continue
		}
		recs = append(recs, rec{f, ts, fi.ModTime()})
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].ts != recs[j].ts {
			return recs[i].ts < recs[j].ts
		}
		return recs[i].mod.Before(recs[j].mod)
	})
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.path
	}
	return out
}

// recordingDone: nginx has closed the file (exec_record_done touched FILE.done), or the server that
// wrote it was stopped.
func (s *rtmpServer) recordingDone(path string) bool {
	s.mu.Lock()
	closed := s.closed[path]
	s.mu.Unlock()
	return closed || fileExists(path+".done")
}

// WaitRecording waits until stream name has at least n recordings and returns them.
func (s *rtmpServer) WaitRecording(name string, n int, timeout time.Duration) []string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if recs := s.Recordings(name); len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no recording #%d of %q after %v (have %v)", n, name, timeout, s.Recordings(name))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitNewRecording waits for a recording of name that is not in known; returns it and when it was seen.
func (s *rtmpServer) WaitNewRecording(name string, known []string, timeout time.Duration) (string, time.Time, bool) {
	seen := map[string]bool{}
	for _, k := range known {
		seen[k] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range s.Recordings(name) {
			if !seen[r] {
				return r, time.Now(), true
			}
		}
		if time.Now().After(deadline) {
			return "", time.Time{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitDone waits until every recording of name is complete (the publisher disconnected and nginx closed
// the file) and returns them, oldest first.
func (s *rtmpServer) WaitDone(name string, timeout time.Duration) []string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		recs := s.Recordings(name)
		all := len(recs) > 0
		for _, r := range recs {
			all = all && s.recordingDone(r)
		}
		if all {
			return recs
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("recordings of %q not complete after %v: %v", name, timeout, recs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------------------
// ffprobe / ffmpeg helpers

type probeStream struct {
	Index        int    `json:"index"`
	CodecType    string `json:"codec_type"`
	CodecName    string `json:"codec_name"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	PixFmt       string `json:"pix_fmt"`
	RFrameRate   string `json:"r_frame_rate"`
	AvgFrameRate string `json:"avg_frame_rate"`
	SampleRate   string `json:"sample_rate"`
	Channels     int    `json:"channels"`
}

type probeInfo struct {
	Streams []probeStream `json:"streams"`
	Format  struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// Stream returns the first stream of codec_type kind ("video", "audio") or nil.
func (p probeInfo) Stream(kind string) *probeStream {
	for i := range p.Streams {
		if p.Streams[i].CodecType == kind {
			return &p.Streams[i]
		}
	}
	return nil
}

func (p probeInfo) Duration() float64 {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

func runTool(t testing.TB, timeout time.Duration, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// ffprobe returns the streams and format of a media file (or URL).
func ffprobe(t testing.TB, path string) probeInfo {
	t.Helper()
	out := runTool(t, 60*time.Second, "ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path)
	var p probeInfo
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	return p
}

type packet struct {
	PTS, Dur float64
	Key      bool
}

// ffprobePackets returns the packets of the first video ("v") or audio ("a") stream, in pts order.
func ffprobePackets(t testing.TB, path, sel string) []packet {
	t.Helper()
	out := runTool(t, 60*time.Second, "ffprobe", "-v", "error", "-select_streams", sel+":0", "-show_entries",
		"packet=pts_time,duration_time,flags", "-of", "json", path)
	var raw struct {
		Packets []struct {
			PTS   string `json:"pts_time"`
			Dur   string `json:"duration_time"`
			Flags string `json:"flags"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("ffprobe packets %s: %v", path, err)
	}
	pk := make([]packet, 0, len(raw.Packets))
	for _, r := range raw.Packets {
		pts, err := strconv.ParseFloat(r.PTS, 64)
		if err != nil {
			continue
		}
		d, _ := strconv.ParseFloat(r.Dur, 64)
		pk = append(pk, packet{PTS: pts, Dur: d, Key: strings.Contains(r.Flags, "K")})
	}
	sort.SliceStable(pk, func(i, j int) bool { return pk[i].PTS < pk[j].PTS })
	return pk
}

// videoDuration: frames × frame duration, from the first frame's pts to the end of the last one.
func videoDuration(pk []packet, fps float64) float64 {
	if len(pk) == 0 {
		return 0
	}
	return pk[len(pk)-1].PTS - pk[0].PTS + 1/fps
}

// audioDuration: from the first packet's pts to the end of the last one.
func audioDuration(pk []packet) float64 {
	if len(pk) == 0 {
		return 0
	}
	last := pk[len(pk)-1]
	return last.PTS + last.Dur - pk[0].PTS
}

func parseRate(s string) float64 {
	if a, b, ok := strings.Cut(s, "/"); ok {
		n, _ := strconv.ParseFloat(a, 64)
		d, _ := strconv.ParseFloat(b, 64)
		if d == 0 {
			return 0
		}
		return n / d
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// decodeAudio decodes the first audio stream to interleaved signed 16-bit PCM at rate and channels.
func decodeAudio(t testing.TB, path string, rate, channels int) []int16 {
	t.Helper()
	out := runTool(t, 120*time.Second, "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0",
		"-f", "s16le", "-ac", strconv.Itoa(channels), "-ar", strconv.Itoa(rate), "-")
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return pcm
}

// decodeFrameRGB decodes the video frame at media time at (seconds) to packed rgb24, w×h.
func decodeFrameRGB(t testing.TB, path string, at float64, w, h int) []byte {
	t.Helper()
	out := runTool(t, 60*time.Second, "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0",
		"-ss", fmt.Sprintf("%.3f", at), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	if len(out) != w*h*3 {
		t.Fatalf("frame at %.2fs of %s: got %d bytes, want %dx%dx3=%d", at, path, len(out), w, h, w*h*3)
	}
	return out
}

// meanRGB averages a (2r+1)² block of an rgb24 frame of width w centred on (x, y).
func meanRGB(rgb []byte, w, x, y, r int) [3]float64 {
	var sum [3]float64
	n := 0.0
	for yy := y - r; yy <= y+r; yy++ {
		for xx := x - r; xx <= x+r; xx++ {
			i := (yy*w + xx) * 3
			for c := 0; c < 3; c++ {
				sum[c] += float64(rgb[i+c])
			}
			n++
		}
	}
	for c := range sum {
		sum[c] /= n
	}
	return sum
}

// checkColour reports whether got is within tol of want on every channel.
func checkColour(t testing.TB, what string, got [3]float64, want [3]float64, tol float64) {
	t.Helper()
	for c := 0; c < 3; c++ {
		if math.Abs(got[c]-want[c]) > tol {
			t.Errorf("%s: decoded colour (%.0f,%.0f,%.0f), want (%.0f,%.0f,%.0f) ±%.0f (RGB order swapped or wrong conversion?)",
				what, got[0], got[1], got[2], want[0], want[1], want[2], tol)
			return
		}
	}
	t.Logf("%s: decoded colour (%.0f,%.0f,%.0f), want (%.0f,%.0f,%.0f)", what, got[0], got[1], got[2], want[0], want[1], want[2])
}

// channel extracts channel c of interleaved PCM as float64 in [-1, 1).
func channel(pcm []int16, channels, c int) []float64 {
	out := make([]float64, len(pcm)/channels)
	for i := range out {
		out[i] = float64(pcm[i*channels+c]) / 32768
	}
	return out
}

// goertzel returns the power of x at frequency f (Hz) for sample rate rate.
func goertzel(x []float64, rate, f float64) float64 {
	w := 2 * math.Pi * f / rate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// dominantFreq scans lo..hi Hz in steps of step and returns the frequency of highest power.
func dominantFreq(x []float64, rate, lo, hi, step float64) float64 {
	best, bestP := 0.0, -1.0
	for f := lo; f <= hi; f += step {
		if p := goertzel(x, rate, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

func rms(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(len(x)))
}

// ---------------------------------------------------------------------------------------------------
// Inputs made by the tests

// makeWAV runs ffmpeg with a lavfi audio source and writes 16-bit PCM WAV to path.
func makeWAV(t testing.TB, path, lavfi string, rate, channels int) string {
	t.Helper()
	runTool(t, 60*time.Second, "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", lavfi,
		"-ar", strconv.Itoa(rate), "-ac", strconv.Itoa(channels), "-c:a", "pcm_s16le", path)
	return path
}

// makeToneWAV writes a sine of freq Hz lasting dur seconds.
func makeToneWAV(t testing.TB, path string, freq, dur float64, rate, channels int) string {
	return makeWAV(t, path, fmt.Sprintf("sine=frequency=%g:sample_rate=%d:duration=%g", freq, rate, dur), rate, channels)
}

// Step tones: second i of the input is a sine of stepToneBase + stepToneStep*i Hz, so that the content
// tells seconds apart.
const (
	stepToneBase = 300.0
	stepToneStep = 100.0
)

func makeStepToneWAV(t testing.TB, path string, seconds, rate int) string {
	return makeWAV(t, path, fmt.Sprintf("aevalsrc=exprs='0.4*sin(2*PI*(%g+%g*floor(t))*t)':s=%d:d=%d",
		stepToneBase, stepToneStep, rate, seconds), rate, 1)
}

// Quadrant colours of makeQuadPNG: top-left red, top-right green, bottom-left blue, bottom-right white.
var quadColours = [4][3]float64{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}}

// makeQuadPNG writes a size×size PNG of four solid quadrants (see quadColours).
func makeQuadPNG(t testing.TB, path string, size int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			q := 0
			if x >= size/2 {
				q++
			}
			if y >= size/2 {
				q += 2
			}
			c := quadColours[q]
			img.Set(x, y, color.RGBA{uint8(c[0]), uint8(c[1]), uint8(c[2]), 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// makeNoisePNG writes a size×size PNG of seeded random pixels. Scaled up and encoded, each frame of it
// takes some kB, so that ffmpeg's file output (written in 256 kB blocks) grows every second or so.
func makeNoisePNG(t testing.TB, path string, size int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeEmptyWAV writes a valid 16-bit mono 24 kHz WAV header with no samples.
func writeEmptyWAV(t testing.TB, path string) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1))     // PCM
	binary.Write(&b, binary.LittleEndian, uint16(1))     // mono
	binary.Write(&b, binary.LittleEndian, uint32(24000)) // rate
	binary.Write(&b, binary.LittleEndian, uint32(48000)) // byte rate
	binary.Write(&b, binary.LittleEndian, uint16(2))     // block align
	binary.Write(&b, binary.LittleEndian, uint16(16))    // bits
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(0))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// wavSeconds is the duration of a WAV file according to ffprobe.
func wavSeconds(t testing.TB, path string) float64 {
	t.Helper()
	d := ffprobe(t, path).Duration()
	if d <= 0 {
		t.Fatalf("ffprobe: no duration for %s", path)
	}
	return d
}

// ---------------------------------------------------------------------------------------------------
// Running livepush

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type lpOpts struct {
	Env    []string // extra KEY=VALUE entries
	TmpDir string   // TMPDIR of the child; a fresh temp dir when empty
}

// lpProc is one livepush run. Its ffmpeg children are watched while it runs, and when the test ends the
// run is checked for leftovers: a livepush-* FIFO directory in its TMPDIR, or a live process carrying its
// marker in the environment (an ffmpeg that outlived it).
type lpProc struct {
	t      *testing.T
	Args   []string
	cmd    *exec.Cmd
	Stdout lockedBuffer
	Stderr lockedBuffer
	TmpDir string
	marker string
	Start  time.Time
	End    time.Time
	done   chan struct{}
	code   int

	allowFIFOLeft bool // the test kills livepush with SIGKILL: it cannot clean up

	mu       sync.Mutex
	children []int // ffmpeg children, in the order they were first seen
	seenAt   []time.Time
}

var markerSeq struct {
	sync.Mutex
	n int
}

func nextMarker() string {
	markerSeq.Lock()
	defer markerSeq.Unlock()
	markerSeq.n++
	return fmt.Sprintf("%d-%d-%d", os.Getpid(), time.Now().UnixNano(), markerSeq.n)
}

// childEnv is the environment for livepush: ours without LIVEPUSH_* and TMPDIR, plus TMPDIR, the
// marker and extra.
func childEnv(tmp, marker string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LIVEPUSH_") || strings.HasPrefix(kv, "TMPDIR=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TMPDIR="+tmp, "LPTEST_MARKER="+marker)
	return append(env, extra...)
}

// startLivepush starts the livepush binary with args.
func startLivepush(t *testing.T, o lpOpts, args ...string) *lpProc {
	t.Helper()
	bin := needLivepush(t)
	if o.TmpDir == "" {
		o.TmpDir = t.TempDir()
	}
	p := &lpProc{t: t, Args: args, TmpDir: o.TmpDir, marker: nextMarker(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = childEnv(o.TmpDir, p.marker, o.Env)
	p.cmd.Stdout = &p.Stdout
	p.cmd.Stderr = &p.Stderr
	p.launch()
	return p
}

// launch starts p.cmd, set up by the caller, and watches it and its ffmpeg
// children until the test ends.
func (p *lpProc) launch() {
	p.t.Helper()
	p.Start = time.Now()
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start livepush: %v", err)
	}
	go func() {
		p.cmd.Wait()
		p.End = time.Now()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	go p.watchChildren()
	p.t.Cleanup(p.cleanup)
}

func (p *lpProc) Pid() int { return p.cmd.Process.Pid }

func (p *lpProc) watchChildren() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, c := range childrenOf(p.Pid(), "ffmpeg") {
			p.mu.Lock()
			known := false
			for _, k := range p.children {
				known = known || k == c
			}
			if !known {
				p.children = append(p.children, c)
				p.seenAt = append(p.seenAt, time.Now())
			}
			p.mu.Unlock()
		}
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
	}
}

// Children returns every ffmpeg child seen so far, oldest first, with the time each was first seen.
func (p *lpProc) Children() ([]int, []time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.children...), append([]time.Time(nil), p.seenAt...)
}

// WaitStderr waits until livepush's stderr contains s; false if it does not
// within timeout or livepush exits without it.
func (p *lpProc) WaitStderr(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Stderr.String(), s) {
		if time.Now().After(deadline) || p.Exited() && !strings.Contains(p.Stderr.String(), s) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// WaitChild waits until livepush has a live ffmpeg child other than not (0: any) and returns its pid.
func (p *lpProc) WaitChild(not int, timeout time.Duration) int {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, c := range childrenOf(p.Pid(), "ffmpeg") {
			if c != not && proctest.Alive(c) {
				return c
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("livepush exited (code %d) while waiting for an ffmpeg child; stderr:\n%s", p.code, tail(p.Stderr.String(), 40))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no ffmpeg child of livepush (pid %d) after %v; stderr:\n%s", p.Pid(), timeout, tail(p.Stderr.String(), 40))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Exited reports whether livepush has exited.
func (p *lpProc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for livepush to exit and returns its exit code (-1 when killed by a signal). After timeout
// the process is killed and the test fails.
func (p *lpProc) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		p.cmd.Process.Signal(syscall.SIGQUIT) // a goroutine dump on stderr helps find the hang
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		p.t.Fatalf("livepush %s did not exit within %v; stderr:\n%s", maskArgs(p.Args), timeout, tail(p.Stderr.String(), 60))
		return -1
	}
}

// Wall is the wall-clock time from start to exit.
func (p *lpProc) Wall() time.Duration { return p.End.Sub(p.Start) }

// ExpectExit waits and fails the test unless the exit code is want.
func (p *lpProc) ExpectExit(want int, timeout time.Duration) {
	p.t.Helper()
	if code := p.Wait(timeout); code != want {
		p.t.Fatalf("livepush %s: exit code %d, want %d; stderr:\n%s", maskArgs(p.Args), code, want, tail(p.Stderr.String(), 40))
	}
}

func (p *lpProc) cleanup() {
	t := p.t
	if !p.Exited() {
		t.Errorf("livepush (pid %d) still running at the end of the test: killing it", p.Pid())
		p.cmd.Process.Kill()
		<-p.done
	}
	if s := p.Stderr.String(); strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") {
		t.Errorf("livepush stderr shows a panic or goroutine dump:\n%s", tail(s, 40))
	}
	if s := p.Stderr.String(); strings.Contains(s, "state change refused") {
		t.Errorf("the supervisor tried a change of state not in its table:\n%s", tail(s, 40))
	}
	// No FIFO directory left behind.
	if left, _ := filepath.Glob(filepath.Join(p.TmpDir, "livepush-*")); len(left) > 0 {
		if p.allowFIFOLeft {
			t.Logf("FIFO directory left by the killed livepush (expected after SIGKILL): %v", left)
		} else {
			t.Errorf("FIFO directories left in the child's TMPDIR: %v", left)
		}
	}
	// No ffmpeg (or anything else) of this run still alive. A killed livepush's child may take a moment.
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := p.leftovers()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				t.Errorf("process %d (%s) of this livepush run is still running after it ended: killing it", pid, proctest.Comm(pid))
				syscall.Kill(pid, syscall.SIGKILL)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leftovers: live processes that were this run's ffmpeg children, or that carry its marker.
func (p *lpProc) leftovers() []int {
	set := map[int]bool{}
	kids, _ := p.Children()
	for _, c := range kids {
		if proctest.Alive(c) && proctest.Comm(c) == "ffmpeg" && proctest.HasEnv(c, "LPTEST_MARKER="+p.marker) {
			set[c] = true
		}
	}
	for _, pid := range proctest.Pids() {
		if pid != os.Getpid() && proctest.Alive(pid) && proctest.HasEnv(pid, "LPTEST_MARKER="+p.marker) {
			set[pid] = true
		}
	}
	var out []int
	for pid := range set {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}

// Signal sends sig to livepush.
func (p *lpProc) Signal(sig syscall.Signal) {
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Logf("signal %v to livepush: %v", sig, err)
	}
}

// ---------------------------------------------------------------------------------------------------
// processes

// childrenOf lists the live children of ppid whose comm is comm (any when empty).
func childrenOf(ppid int, comm string) []int {
	var out []int
	for _, pid := range proctest.Pids() {
		if st, err := proctest.ReadStat(pid); err == nil && st.PPid == ppid && !st.Zombie() && (comm == "" || proctest.Comm(pid) == comm) {
			out = append(out, pid)
		}
	}
	return out
}

// waitGone waits until pid is gone or a zombie; returns how long that took and whether it happened.
func waitGone(pid int, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	for {
		if !proctest.Alive(pid) {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// maskArgs shows args for failure messages with any rtmp path after /live/ masked.
func maskArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if j := strings.Index(a, "/live/"); j >= 0 && strings.HasPrefix(a, "rtmp") {
			a = a[:j+len("/live/")] + "***"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

var errNoRecording = errors.New("no recording")

// ---------------------------------------------------------------------------------------------------
// Tone-sequence analysis (restart tests): which second of a step-tone input each part of a recording
// carries.

const toneWindow = 0.05 // seconds per analysis window (20 per tone second)

type toneRun struct {
	Tone    int // index of the tone (second of the input); -1 for silence
	Windows int
}

// toneRuns labels each toneWindow of mono PCM with the strongest of n step tones (or -1 when quiet) and
// collapses equal neighbours into runs.
func toneRuns(x []float64, rate, n int) []toneRun {
	win := int(float64(rate) * toneWindow)
	var runs []toneRun
	for off := 0; off+win <= len(x); off += win {
		w := x[off : off+win]
		label := -1
		if rms(w) > 0.02 {
			best := -1.0
			for k := 0; k < n; k++ {
				if p := goertzel(w, float64(rate), stepToneBase+stepToneStep*float64(k)); p > best {
					best, label = p, k
				}
			}
		}
		if len(runs) > 0 && runs[len(runs)-1].Tone == label {
			runs[len(runs)-1].Windows++
		} else {
			runs = append(runs, toneRun{label, 1})
		}
	}
	return runs
}

func runsString(runs []toneRun) string {
	var b strings.Builder
	for i, r := range runs {
		if i > 0 {
			b.WriteByte(' ')
		}
		if r.Tone < 0 {
			fmt.Fprintf(&b, "quiet×%d", r.Windows)
		} else {
			fmt.Fprintf(&b, "%d×%d", r.Tone, r.Windows)
		}
	}
	return b.String()
}

// toneSpan is the part of the input that one recording carries, in input seconds.
type toneSpan struct {
	File       string
	First      int     // first tone (input second) present
	Last       int     // last tone present
	Start, End float64 // input time of the first and last sample, estimated from the partial runs
	Runs       []toneRun
}

// spanOf checks that the runs of one recording are one contiguous, increasing stretch of the input
// (quiet allowed only at the ends, up to 0.3 s) and estimates which stretch.
func spanOf(file string, runs []toneRun) (toneSpan, error) {
	sp := toneSpan{File: filepath.Base(file), Runs: runs}
	perTone := int(math.Round(1 / toneWindow))
	r := runs
	for len(r) > 0 && r[0].Tone < 0 {
		if r[0].Windows > 6 {
			return sp, fmt.Errorf("%s: %.2f s of quiet at the start", sp.File, float64(r[0].Windows)*toneWindow)
		}
		r = r[1:]
	}
	for len(r) > 0 && r[len(r)-1].Tone < 0 {
		if r[len(r)-1].Windows > 6 {
			return sp, fmt.Errorf("%s: %.2f s of quiet at the end", sp.File, float64(r[len(r)-1].Windows)*toneWindow)
		}
		r = r[:len(r)-1]
	}
	if len(r) == 0 {
		return sp, fmt.Errorf("%s: no tone at all", sp.File)
	}
	for i, run := range r {
		if run.Tone < 0 {
			return sp, fmt.Errorf("%s: %.2f s of quiet in the middle (a gap): %s", sp.File, float64(run.Windows)*toneWindow, runsString(runs))
		}
		if i > 0 && run.Tone != r[i-1].Tone+1 {
			return sp, fmt.Errorf("%s: second %d follows second %d (skipped or repeated inside one recording): %s",
				sp.File, run.Tone, r[i-1].Tone, runsString(runs))
		}
		if i > 0 && i < len(r)-1 && (run.Windows < perTone-2 || run.Windows > perTone+2) {
			return sp, fmt.Errorf("%s: second %d lasts %.2f s: %s", sp.File, run.Tone, float64(run.Windows)*toneWindow, runsString(runs))
		}
	}
	sp.First, sp.Last = r[0].Tone, r[len(r)-1].Tone
	a := math.Min(float64(r[0].Windows), float64(perTone))
	b := math.Min(float64(r[len(r)-1].Windows), float64(perTone))
	if len(r) == 1 {
		sp.Start, sp.End = float64(sp.First), float64(sp.First)+a*toneWindow
		return sp, nil
	}
	sp.Start = float64(sp.First) + 1 - a*toneWindow
	sp.End = float64(sp.Last) + b*toneWindow
	return sp, nil
}

// checkSpans proves that spans, in order, cover input seconds 0..n-1 with no gap (tolerance tol
// seconds) and at most maxRepeat seconds repeated at each boundary. It returns the repeat at each
// boundary.
func checkSpans(spans []toneSpan, n int, tol, maxRepeat float64) ([]float64, error) {
	if len(spans) == 0 {
		return nil, errNoRecording
	}
	if spans[0].First != 0 || spans[0].Start > tol {
		return nil, fmt.Errorf("the first recording starts at input second %.2f, want 0", spans[0].Start)
	}
	last := spans[len(spans)-1]
	if last.Last != n-1 || last.End < float64(n)-tol {
		return nil, fmt.Errorf("the last recording ends at input second %.2f, want %d", last.End, n)
	}
	var repeats []float64
	for i := 1; i < len(spans); i++ {
		prev, cur := spans[i-1], spans[i]
		if cur.Start > prev.End+tol {
			return repeats, fmt.Errorf("gap between %s (ends at input %.2f s) and %s (starts at %.2f s): %.2f s of input missing",
				prev.File, prev.End, cur.File, cur.Start, cur.Start-prev.End)
		}
		rep := prev.End - cur.Start
		if rep > maxRepeat {
			return repeats, fmt.Errorf("%s starts at input %.2f s but %s already reached %.2f s: %.2f s repeated (max %.1f)",
				cur.File, cur.Start, prev.File, prev.End, rep, maxRepeat)
		}
		if cur.End <= prev.End {
			return repeats, fmt.Errorf("%s (up to %.2f s) adds nothing after %s (up to %.2f s)", cur.File, cur.End, prev.File, prev.End)
		}
		repeats = append(repeats, rep)
	}
	return repeats, nil
}

// analyseRecordings decodes each recording and checks, with checkSpans, that together they carry the
// step-tone input of n seconds in order.
func analyseRecordings(t *testing.T, recs []string, n int, tol, maxRepeat float64) []toneSpan {
	t.Helper()
	const rate = 24000
	var spans []toneSpan
	for _, r := range recs {
		x := channel(decodeAudio(t, r, rate, 1), 1, 0)
		runs := toneRuns(x, rate, n)
		sp, err := spanOf(r, runs)
		t.Logf("recording %s: %.2f s of audio, input %.2f..%.2f s, tones %s", filepath.Base(r), float64(len(x))/rate,
			sp.Start, sp.End, runsString(runs))
		if err != nil {
			t.Fatalf("recording %s: %v", filepath.Base(r), err)
		}
		spans = append(spans, sp)
	}
	repeats, err := checkSpans(spans, n, tol, maxRepeat)
	for i, rep := range repeats {
		t.Logf("boundary %d (%s -> %s): %.2f s of input repeated", i+1, spans[i].File, spans[i+1].File, rep)
	}
	if err != nil {
		t.Fatal(err)
	}
	return spans
}

// ---------------------------------------------------------------------------------------------------
// Harness self-tests: no livepush needed.

// TestToneAnalysisSynthetic checks the tone-sequence analysis on PCM made here: one piece, two pieces
// with an overlap (passes), two pieces with a gap (fails).
func TestToneAnalysisSynthetic(t *testing.T) {
	const rate, n = 24000, 8
	piece := func(from, to float64) []float64 {
		var x []float64
		for i := int(from * rate); i < int(to*rate); i++ {
			tt := float64(i) / rate
			f := stepToneBase + stepToneStep*math.Floor(tt)
			x = append(x, 0.4*math.Sin(2*math.Pi*f*tt))
		}
		return x
	}
	spansOf := func(ps ...[2]float64) []toneSpan {
		var spans []toneSpan
		for i, p := range ps {
			sp, err := spanOf(fmt.Sprintf("piece%d", i), toneRuns(piece(p[0], p[1]), rate, n))
			if err != nil {
				t.Fatal(err)
			}
			spans = append(spans, sp)
		}
		return spans
	}
	if _, err := checkSpans(spansOf([2]float64{0, 8}), n, 0.15, 3); err != nil {
		t.Errorf("whole input: %v", err)
	}
	spans := spansOf([2]float64{0, 3.52}, [2]float64{2.4, 8})
	rep, err := checkSpans(spans, n, 0.15, 3)
	if err != nil || len(rep) != 1 || math.Abs(rep[0]-1.12) > 0.1 {
		t.Errorf("overlapping pieces: repeats %v, err %v (want one repeat of 1.12 s)", rep, err)
	}
	if _, err := checkSpans(spansOf([2]float64{0, 3.5}, [2]float64{4.2, 8}), n, 0.15, 3); err == nil {
		t.Errorf("a 0.7 s gap was not detected")
	} else {
		t.Logf("gap detected as expected: %v", err)
	}
	if _, err := checkSpans(spansOf([2]float64{0, 6}, [2]float64{1, 8}), n, 0.15, 3); err == nil {
		t.Errorf("a 5 s repeat was not detected")
	}
	if _, err := checkSpans(spansOf([2]float64{0, 7.5}), n, 0.15, 3); err == nil {
		t.Errorf("a missing end was not detected")
	}
}

// TestHarnessNginxRecordsFFmpegPush checks the harness itself against plain ffmpeg: a 2 s real-time
// push is recorded, probed and decoded as expected; a stop/start of the server on the same port works;
// and step-tone pieces pushed as separate publishes are stitched back together by the analysis.
func TestHarnessNginxRecordsFFmpegPush(t *testing.T) {
	t.Parallel()
	srv := startRTMP(t)
	push := func(name string, extra ...string) {
		args := append([]string{"-nostdin", "-v", "error"}, extra...)
		args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-g", "1", "-pix_fmt", "yuv420p",
			"-c:a", "aac", "-ar", "24000", "-ac", "1", "-f", "flv", srv.URL(name))
		runTool(t, 60*time.Second, "ffmpeg", args...)
	}
	start := time.Now()
	push("selftest", "-re", "-f", "lavfi", "-i", "testsrc=s=256x256:r=25", "-f", "lavfi", "-i",
		"sine=frequency=1000:sample_rate=24000", "-t", "2")
	wall := time.Since(start)
	recs := srv.WaitDone("selftest", 10*time.Second)
	if len(recs) != 1 {
		t.Fatalf("recordings: %v, want 1", recs)
	}
	t.Logf("ffmpeg -re push of 2 s took %v", wall.Round(time.Millisecond))
	info := ffprobe(t, recs[0])
	v, a := info.Stream("video"), info.Stream("audio")
	if v == nil || a == nil || v.CodecName != "h264" || a.CodecName != "aac" || v.Width != 256 || v.Height != 256 ||
		parseRate(v.RFrameRate) != 25 || a.SampleRate != "24000" || a.Channels != 1 {
		t.Fatalf("unexpected streams: %+v", info.Streams)
	}
	vp := ffprobePackets(t, recs[0], "v")
	for i, p := range vp {
		if !p.Key {
			t.Fatalf("video packet %d is not a keyframe at -g 1", i)
		}
	}
	if d := videoDuration(vp, 25); math.Abs(d-2) > 0.05 || len(vp) != 50 {
		t.Errorf("video: %d frames, %.3f s; want 50, 2 s", len(vp), d)
	}
	if d := audioDuration(ffprobePackets(t, recs[0], "a")); math.Abs(d-2) > 0.2 {
		t.Errorf("audio duration %.3f s, want 2", d)
	}
	x := channel(decodeAudio(t, recs[0], 24000, 1), 1, 0)
	if f := dominantFreq(x[len(x)/4:3*len(x)/4], 24000, 100, 5000, 10); f != 1000 {
		t.Errorf("dominant frequency %g Hz, want 1000", f)
	}
	decodeFrameRGB(t, recs[0], 1, 256, 256)

	// Stop and start again on the same port.
	srv.Stop()
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port), time.Second); err == nil {
		c.Close()
		t.Fatal("port still accepts connections after Stop")
	}
	srv.Start()

	// Step tones pushed as two overlapping publishes (0-4.5 s and 3.2-6 s, as after a restart) and as
	// two publishes with a gap (0-3 s and 4-6 s).
	dir := t.TempDir()
	wav := makeStepToneWAV(t, filepath.Join(dir, "steps.wav"), 6, 24000)
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	piece := func(name string, from, to float64) {
		push(name, "-loop", "1", "-framerate", "25", "-i", img, "-ss", fmt.Sprint(from), "-t", fmt.Sprint(to-from),
			"-i", wav, "-map", "0:v", "-map", "1:a", "-shortest", "-s", "64x64")
	}
	piece("okA", 0, 4.5)
	piece("okB", 3.2, 6)
	piece("gapA", 0, 3)
	piece("gapB", 4, 6)
	ok := append(srv.WaitDone("okA", 10*time.Second), srv.WaitDone("okB", 10*time.Second)...)
	analyseRecordings(t, ok, 6, 0.15, 3)
	var spans []toneSpan
	for _, r := range append(srv.WaitDone("gapA", 10*time.Second), srv.WaitDone("gapB", 10*time.Second)...) {
		sp, err := spanOf(r, toneRuns(channel(decodeAudio(t, r, 24000, 1), 1, 0), 24000, 6))
		if err != nil {
			t.Fatal(err)
		}
		spans = append(spans, sp)
	}
	if _, err := checkSpans(spans, 6, 0.15, 3); err == nil {
		t.Error("a 1 s gap between two real recordings was not detected")
	} else {
		t.Logf("gap between real recordings detected as expected: %v", err)
	}
}
