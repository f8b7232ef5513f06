package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Colours of the talking-picture tests' pictures, and how a frame is told.
var (
	green  = color.RGBA{0, 200, 0, 255}
	red    = color.RGBA{220, 0, 0, 255}
	blue   = color.RGBA{0, 0, 220, 255}
	yellow = color.RGBA{220, 220, 0, 255}
)

func colourName(rgb [3]byte) string {
	for _, c := range []struct {
		name string
		c    color.RGBA
	}{{"green", green}, {"red", red}, {"blue", blue}, {"yellow", yellow}} {
		if abs(int(rgb[0])-int(c.c.R)) < 40 && abs(int(rgb[1])-int(c.c.G)) < 40 && abs(int(rgb[2])-int(c.c.B)) < 40 {
			return c.name
		}
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", rgb[0], rgb[1], rgb[2])
}

func abs(x int) int { return max(x, -x) }

// frameColours decodes every video frame of path to its mean colour's name.
func frameColours(t *testing.T, path string) []string {
	t.Helper()
	out := runTool(t, 120*time.Second, "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0",
		"-vf", "scale=1:1:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	var names []string
	for i := 0; i+3 <= len(out); i += 3 {
		names = append(names, colourName([3]byte{out[i], out[i+1], out[i+2]}))
	}
	return names
}

// streamStart is the start time in seconds of path's first stream of kind ("v" or "a").
func streamStart(t *testing.T, path, kind string) float64 {
	t.Helper()
	out := runTool(t, 30*time.Second, "ffprobe", "-v", "error", "-select_streams", kind+":0",
		"-show_entries", "stream=start_time", "-of", "csv=p=0", path)
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("start time of %s in %s: %q", kind, path, out)
	}
	return v
}

// speechFrames tells, for each video frame of the recording, whether the
// recording's own audio during that frame is loud (a tone), from the
// streams' start times.
func speechFrames(t *testing.T, path string, frames int, fps float64) []bool {
	t.Helper()
	const rate = 24000
	pcm := channel(decodeAudio(t, path, rate, 1), 1, 0)
	vStart, aStart := streamStart(t, path, "v"), streamStart(t, path, "a")
	out := make([]bool, frames)
	for k := range out {
		from := int(math.Round((vStart + float64(k)/fps - aStart) * rate))
		to := from + int(rate/fps)
		if from < 0 || to > len(pcm) {
			continue
		}
		out[k] = rms(pcm[from:to]) > 0.05
	}
	return out
}

// checkTalking checks that the frames show talk on speech (and for hold
// frames after it) and idle otherwise, each change within one frame of the
// audio's, and that blinks, if any, last blinkFrames. It returns how many
// blinks there were.
func checkTalking(t *testing.T, colours []string, speech []bool, idle, talk string, hold, blinkFrames int) int {
	t.Helper()
	held := make([]bool, len(speech))
	for k := range speech {
		for j := max(0, k-hold); j <= k; j++ {
			held[k] = held[k] || speech[j]
		}
	}
	changes := func(k int) bool { // the audio changes within a frame of k
		for j := max(1, k-1); j <= min(len(held)-1, k+1); j++ {
			if held[j] != held[j-1] {
				return true
			}
		}
		return false
	}
	blinks, run, talked := 0, 0, 0
	var wrong []string
	for k, c := range colours {
		if c == "blue" {
			if run == 0 {
				blinks++
			}
			run++
			continue
		}
		if run > 0 && run != blinkFrames {
			t.Errorf("a blink ending at frame %d lasted %d frames, want %d", k, run, blinkFrames)
		}
		run = 0
		want := idle
		if held[k] {
			want = talk
		}
		if c == talk {
			talked++
		}
		if c != want && !changes(k) {
			wrong = append(wrong, fmt.Sprintf("%d:%s", k, c))
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%d frames show the wrong picture (frame:colour): %v", len(wrong), wrong)
	}
	if talked == 0 {
		t.Errorf("the talking picture never showed: %v", colours)
	}
	return blinks
}

// TestE2ETalkingImageFile: file mode with --talk-image and --blink-image,
// into nginx-rtmp: in the recording, frames during the tones show the
// talking picture and frames of silence the idle one, each within a frame
// of the audio (plus the hold after each tone); blinks last 150 ms.
func TestE2ETalkingImageFile(t *testing.T) {
	t.Parallel()
	needTools(t, true)
	srv := startRTMP(t)
	dir := t.TempDir()
	idle := solidPNG(t, filepath.Join(dir, "idle.png"), green, 64)
	talk := solidPNG(t, filepath.Join(dir, "talk.png"), red, 64)
	blink := solidPNG(t, filepath.Join(dir, "blink.png"), blue, 64)
	// Tones from 1-2 s, 2.6-3 s and 4.5-6.5 s of 8 s.
	wav := makeWAV(t, filepath.Join(dir, "bursts.wav"),
		"aevalsrc=exprs='0.4*sin(2*PI*440*t)*(between(t,1,2)+between(t,2.6,3)+between(t,4.5,6.5))':s=48000:d=8", 48000, 2)
	p := startLivepush(t, lpOpts{}, "stream", "--image", idle, "--talk-image", talk, "--blink-image", blink,
		"--audio", wav, "--size", "64x64", "-o", srv.URL("talk"))
	if code := p.Wait(60 * time.Second); code != 0 {
		t.Fatalf("livepush exited %d; stderr:\n%s", code, tail(p.Stderr.String(), 30))
	}
	recs := srv.WaitDone("talk", 20*time.Second)
	if len(recs) != 1 {
		t.Fatalf("%d recordings, want 1", len(recs))
	}
	colours := frameColours(t, recs[0])
	speech := speechFrames(t, recs[0], len(colours), 25)
	if blinks := checkTalking(t, colours, speech, "green", "red", 2, 3); blinks == 0 {
		t.Errorf("no blink in 8 s (one every 2-6 s): %v", colours)
	}
}

// TestE2ETalkingImageLive: live mode with --talk-image; PUT
// /v1/image?role=talk swaps the talking picture on air; the clips posted
// then show it on their frames and the idle picture between them, and the
// status says which picture shows.
func TestE2ETalkingImageLive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := solidPNG(t, filepath.Join(dir, "red.png"), red, 64)
	r := startLive(t, "talklive", "--talk-image", first)
	a, p := r.api, r.p
	a.expect(204, "PUT", "/v1/image?role=talk&name=yellow.png", mustRead(t, solidPNG(t, filepath.Join(dir, "yellow.png"), yellow, 64)))
	a.expect(400, "PUT", "/v1/image?role=smile", mustRead(t, first))
	if st := a.status(); st.Showing != "idle" {
		t.Errorf("showing %q while silent, want idle", st.Showing)
	}
	tone := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 440, 1.5, 24000, 1)
	a.speak(tone, "")
	a.waitStatus(p, "the talking picture on air", 20*time.Second, func(s liveStatus) bool { return s.Showing == "talk" })
	a.waitStatus(p, "the clip aired", 20*time.Second, func(s liveStatus) bool { return !s.Speaking && s.Current == nil })
	a.playFor(p, 0.5)
	a.speak(tone, "")
	a.waitStatus(p, "the second clip aired", 20*time.Second, func(s liveStatus) bool { return !s.Speaking && s.Current == nil })
	a.playFor(p, 0.5)
	p.Signal(syscall.SIGTERM)
	p.ExpectExit(0, 30*time.Second)

	recs := r.srv.WaitDone("talklive", 15*time.Second)
	if len(recs) != 1 {
		t.Fatalf("recordings %v: want one publish session", recs)
	}
	colours := frameColours(t, recs[0])
	speech := speechFrames(t, recs[0], len(colours), 25)
	checkTalking(t, colours, speech, "green", "yellow", 2, 3)
	if !strings.Contains(p.Stderr.String(), `msg="image changed" role=talk image=yellow.png`) {
		t.Errorf("the talking picture's change is not in the log:\n%s", tail(p.Stderr.String(), 20))
	}
}

// TestCLITalkFlagsRefused: a talking or blinking picture that is missing or
// not an image, a threshold out of range, and the detector's flags without
// a talking picture are bad input: one line naming the flag, exit 2, no
// ffmpeg, nothing written, in file and in live mode.
func TestCLITalkFlagsRefused(t *testing.T) {
	t.Parallel()
	needLivepush(t)
	img, wav := sampleFiles(t)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"missing talk image", []string{"--talk-image", "/nonexistent/open.png"}, "--talk-image"},
		{"blink not an image", []string{"--blink-image", wav}, "--blink-image"},
		{"threshold above 0", []string{"--talk-image", img, "--talk-threshold", "3"}, "--talk-threshold"},
		{"threshold below -100", []string{"--talk-image", img, "--talk-threshold", "-120"}, "--talk-threshold"},
		{"hold without a talking picture", []string{"--talk-hold", "300ms"}, "--talk-image"},
		{"negative hold", []string{"--talk-image", img, "--talk-hold", "-1s"}, "--talk-hold"},
	} {
		for _, live := range []bool{false, true} {
			t.Run(strings.ReplaceAll(c.name, " ", "_")+map[bool]string{false: "/file", true: "/live"}[live], func(t *testing.T) {
				t.Parallel()
				dir, logDir := t.TempDir(), t.TempDir()
				args := []string{"stream", "--image", img, "--audio", wav, "-o", filepath.Join(dir, "out.flv"), "--ffmpeg", fakeFFmpeg(t, logDir)}
				if live {
					args = append(args, "--live", "--control", "off")
				}
				p := startLivepush(t, lpOpts{}, append(args, c.args...)...)
				code := p.Wait(10 * time.Second)
				lines := nonEmptyLines(p.Stderr.String())
				if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
					t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 and one line naming %s", code, p.Stderr.String(), c.want)
				}
				if inv := fakeInvocations(t, logDir); len(inv) > 0 {
					t.Errorf("ffmpeg was run: %q", inv)
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("the output folder holds %d entries", len(ents))
				}
			})
		}
	}
}
