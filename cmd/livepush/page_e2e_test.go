package main

// The control page end to end: headless Chromium, driven with chromedp, on the page a live livepush
// serves, publishing into a real nginx-rtmp; what the page does is checked in the one recording.

import (
	"context"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// needChromium finds Debian's chromium on PATH; missing, it fails the test when tools are required.
func needChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "missing chromium: apt-get install chromium (scripts/test.sh installs it)"
	if toolsRequired() {
		t.Fatal(msg + " [CI or LIVEPUSH_REQUIRE_TOOLS is set, so this is a failure, not a skip]")
	}
	t.Skip(msg)
	return ""
}

// browser is one headless Chromium tab and what its console said.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []string
}

func openBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	// No sandbox: Chromium refuses it to root, and in a container it finds no user namespaces; the
	// browser loads only the page under test.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(needChromium(t)),
		chromedp.WindowSize(width, height), chromedp.UserDataDir(t.TempDir()), chromedp.NoSandbox)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		var line string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				line = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			line = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				line += " " + e.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				line = fmt.Sprintf("%s %s: %s %s", e.Entry.Source, e.Entry.Level, e.Entry.Text, e.Entry.URL)
			}
		}
		if line != "" {
			b.mu.Lock()
			b.console = append(b.console, line)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return b
}

// consoleSince returns what the console said of errors and warnings, dropping it.
func (b *browser) consoleTake() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.console
	b.console = nil
	return c
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v; console: %q", what, err, b.consoleTake())
	}
}

// js evaluates expr in the page.
func js[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// wait polls the JavaScript condition cond in the page until it holds; it fails the test, showing
// show (an expression), after a generous deadline.
func (b *browser) wait(what, cond, show string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(45*time.Second)))
	if err != nil {
		b.t.Fatalf("the page never showed %s (%s): %v; it shows %q; console: %q", what, cond, err,
			js[string](b, show), b.consoleTake())
	}
}

// shown is a JavaScript test that the element with id is rendered (not display: none, nor inside one).
func shown(id string) string {
	return fmt.Sprintf(`document.getElementById(%q).checkVisibility()`, id)
}

func (b *browser) text(id string) string {
	b.t.Helper()
	return js[string](b, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
}

// screenshot writes the whole page at width x height to dir/name.
func (b *browser) screenshot(dir, name string, width, height int64, mobile bool) string {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	b.do("viewport "+name, chromedp.EmulateViewport(width, height, opts...))
	// The layout settles before the picture is taken: two animation frames.
	js[bool](b, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%dx%d, %d bytes)", path, width, height, len(png))
	return path
}

// screenshotDir is $LIVEPUSH_SCREENSHOTS, made if need be, or a directory the test removes.
func screenshotDir(t *testing.T) string {
	d := os.Getenv("LIVEPUSH_SCREENSHOTS")
	if d == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// previewColour is the colour at the centre of the page's preview, drawn on a canvas, as "r,g,b";
// "" until a picture has loaded.
const previewColour = `(() => {
	const img = document.getElementById('preview');
	if (!img.complete || !img.naturalWidth) return '';
	const c = document.createElement('canvas');
	c.width = img.naturalWidth; c.height = img.naturalHeight;
	const g = c.getContext('2d');
	g.drawImage(img, 0, 0);
	const d = g.getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
	return d[0] + ',' + d[1] + ',' + d[2];
})()`

// colourNear is a JavaScript test of previewColour against r, g, b within tol.
func colourNear(r, g, b, tol int) string {
	return fmt.Sprintf(`((s) => { if (!s) return false; const [r, g, b] = s.split(',').map(Number);
		return Math.abs(r - %d) <= %d && Math.abs(g - %d) <= %d && Math.abs(b - %d) <= %d; })(%s)`,
		r, tol, g, tol, b, tol, previewColour)
}

// TestE2EPage: a person at the control page of a live stream that has a token. The page asks for the
// token and says so when a wrong one is given; with the right one it loads without a console error and
// reads idle and live. A WAV queued through its file input airs (its tone is in the recording where
// the log says the clip started), a second one queued shows in the queue and its Drop button removes
// it, the Interrupt button cuts the first; a picture swapped through the page shows in the preview and
// in the recording, and one dropped on the page in the preview; the page follows a restart of ffmpeg;
// Stop, confirmed, ends the stream and the page says livepush has stopped; a livepush started again
// at the address, the page takes it up.
// Screenshots at a desktop and a phone width go to $LIVEPUSH_SCREENSHOTS (else a temporary directory).
func TestE2EPage(t *testing.T) {
	t.Parallel()
	needChromium(t)
	const token = "page-e2e-control-token"
	srv := startRTMP(t)
	dir := t.TempDir()
	green := solidPNG(t, filepath.Join(dir, "green.png"), color.RGBA{0, 200, 0, 255}, 64)
	red := solidPNG(t, filepath.Join(dir, "red.png"), color.RGBA{220, 0, 0, 255}, 64)
	const rate = 24000
	// Long enough to be still on air through the screenshots on a slow machine; the Interrupt button
	// cuts it.
	long := makeToneWAV(t, filepath.Join(dir, "hello.wav"), 600, 30, rate, 1)
	second := makeToneWAV(t, filepath.Join(dir, "second.wav"), 1000, 2, rate, 1)
	port := freePort(t)
	a := liveAPI{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), token: token}
	p := startLivepush(t, lpOpts{Env: []string{"LIVEPUSH_CONTROL_TOKEN=" + token}}, "stream", "--live",
		"--image", green, "--size", "160x90", "-o", srv.URL("page"), "--control", fmt.Sprintf("127.0.0.1:%d", port))
	a.waitStatus(p, "publishing", 30*time.Second, func(s liveStatus) bool { return s.Publishing })
	shots := screenshotDir(t)

	b := openBrowser(t, 1280, 800)
	b.do("open the page", chromedp.Navigate(a.base+"/"))
	b.wait("the token prompt", shown("auth")+` && !`+shown("main"),
		`document.body.innerText`)
	if body := js[string](b, `document.body.innerText`); strings.Contains(body, "127.0.0.1:"+fmt.Sprint(srv.Port)) {
		t.Errorf("the page shows the stream before the token is given: %q", body)
	}
	b.do("a wrong token", chromedp.SendKeys(chromedp.ID("token"), "not-the-token-at-all"), chromedp.Click(chromedp.ID("token-ok")))
	b.wait("the wrong token refused", `document.getElementById('auth-msg').textContent.includes('refused')`, `document.body.innerText`)
	b.screenshot(shots, "page-token.png", 390, 844, true)
	b.do("desktop", chromedp.EmulateViewport(1280, 800))
	b.do("the token", chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("token-ok")))
	b.wait("the state", `document.getElementById('state').textContent === 'idle'`, `document.body.innerText`)
	if strings.Contains(js[string](b, `document.documentElement.outerHTML`), token) {
		t.Error("the token shows in the page")
	}

	// A fresh load, the token kept for the tab: no console error, the state at a glance.
	b.consoleTake() // the 401s of the token prompt
	b.do("reload", chromedp.Reload())
	b.wait("idle and live", `document.getElementById('state').textContent === 'idle' &&
		document.getElementById('onair').textContent === 'LIVE' && !`+shown("auth"), `document.body.innerText`)
	b.wait("the green preview", colourNear(0, 200, 0, 40), previewColour)
	if got := b.text("imgsize"); got != "160×90" {
		t.Errorf("image size %q, want 160×90", got)
	}
	if out := b.text("outputs"); !strings.Contains(out, "rtmp://127.0.0.1") || strings.Contains(out, "/page") {
		t.Errorf("output %q: want the masked URL", out)
	}

	// Queue a WAV through the file input: it airs; a second one waits in the queue.
	b.do("queue hello.wav", chromedp.SetUploadFiles(chromedp.ID("speech-file"), []string{long}))
	b.wait("speaking", `document.getElementById('state').textContent === 'speaking' &&
		document.getElementById('current-id').textContent.startsWith('on air: ')`, `document.body.innerText`)
	b.do("queue second.wav", chromedp.SetUploadFiles(chromedp.ID("speech-file"), []string{second}))
	b.wait("the second clip queued", `document.querySelectorAll('#queue li').length === 1`, `document.getElementById('queue').innerText`)
	b.wait("the level of the clip", `document.getElementById('level-db').textContent.endsWith('dBFS')`, `document.getElementById('level-db').textContent`)
	b.wait("the clip's progress", `document.getElementById('current-progress').value >= 1`, `document.getElementById('current').innerText`)
	b.wait("the answer to the upload", shown("toast")+` && document.getElementById('toast').textContent.startsWith('Queued second.wav')`,
		`document.getElementById('toast').textContent`)
	b.do("close the answer", chromedp.Click(chromedp.ID("toast")))
	b.wait("the answer closed", `!`+shown("toast"), `document.getElementById('toast').textContent`)
	b.screenshot(shots, "page-desktop.png", 1280, 800, false)
	b.screenshot(shots, "page-phone.png", 390, 844, true)
	b.do("desktop", chromedp.EmulateViewport(1280, 800))

	// Drop the queued clip, then cut the one on air.
	dropped := js[string](b, `document.querySelector('#queue li').dataset.id`)
	b.do("drop the queued clip", chromedp.Click(chromedp.CSS("#queue li button")))
	b.wait("speech_dropped", `(document.querySelector('#events li.k-speech_dropped .detail') || {}).textContent === `+fmt.Sprintf("%q", dropped)+
		` && document.querySelectorAll('#queue li').length === 0`, `document.getElementById('events').innerText`)
	b.do("interrupt", chromedp.Click(chromedp.ID("interrupt")))
	b.wait("the cut", `document.querySelector('#events li').classList.contains('k-speech_cut') &&
		document.getElementById('state').textContent === 'idle'`, `document.getElementById('events').innerText`)
	if st := a.status(); st.Speaking || st.Current != nil {
		t.Errorf("status after the interrupt button: %+v, want nothing on air", st)
	}
	a.playFor(p, 0.5)

	// Swap the picture through the page: the preview turns red.
	b.do("swap the picture", chromedp.SetUploadFiles(chromedp.ID("image-file"), []string{red}))
	b.wait("the red preview", colourNear(220, 0, 0, 40), previewColour)
	if got := b.text("imgname"); got != "red.png" {
		t.Errorf("image name %q, want red.png", got)
	}
	a.playFor(p, 1)
	// And a picture dropped on the picture's zone (a drop event as the browser makes it for a file
	// dragged from the desktop).
	js[bool](b, `(async () => {
		const c = document.createElement('canvas');
		c.width = c.height = 32;
		const g = c.getContext('2d');
		g.fillStyle = 'rgb(0, 0, 220)';
		g.fillRect(0, 0, 32, 32);
		const blob = await new Promise(r => c.toBlob(r, 'image/png'));
		const dt = new DataTransfer();
		dt.items.add(new File([blob], 'blue.png', { type: 'image/png' }));
		document.getElementById('image-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
		return true;
	})()`)
	b.wait("the blue preview", colourNear(0, 0, 220, 40)+` && document.getElementById('imgname').textContent === 'blue.png'`, previewColour)

	// The talking picture, chosen in the role selector: the log says so, and the picture on air
	// (silence) stays the blue one.
	b.do("choose the talking role", chromedp.SetValue(chromedp.ID("image-role"), "talk"))
	b.do("set the talking picture", chromedp.SetUploadFiles(chromedp.ID("image-file"), []string{red}))
	if !p.WaitStderr(`msg="image changed" role=talk image=red.png`, 10*time.Second) {
		t.Errorf("no talking picture set through the page; stderr:\n%s", tail(p.Stderr.String(), 20))
	}
	if got := b.text("showing"); got != "showing: idle" {
		t.Errorf("the page says %q while silent, want showing: idle", got)
	}
	b.wait("the blue preview still", colourNear(0, 0, 220, 40), previewColour)
	b.do("back to the idle role", chromedp.SetValue(chromedp.ID("image-role"), "idle"))

	// A status with a list of outputs (as several -o give) shows one row each: the status is
	// rewritten on its way into the page, and the page's own fetch put back after.
	js[bool](b, `(() => {
		window.realFetch = window.fetch;
		window.fetch = async (url, opts) => {
			const r = await window.realFetch(url, opts);
			if (url !== '/v1/status' || !r.ok) return r;
			const st = await r.json();
			st.outputs = [{ url: 'rtmp://a.example/live/***', state: 'publishing' }, { url: 'srt://b.example:9000', state: 'restarting' }];
			return new Response(JSON.stringify(st), { status: 200, headers: { 'Content-Type': 'application/json' } });
		};
		return true;
	})()`)
	b.wait("two output rows", `document.querySelectorAll('#outputs tr').length === 2 &&
		document.getElementById('outputs').textContent.includes('srt://b.example:9000restarting')`, `document.getElementById('outputs').innerText`)
	js[bool](b, `(() => { window.fetch = window.realFetch; return true; })()`)
	b.wait("one output row again", `document.querySelectorAll('#outputs tr').length === 1`, `document.getElementById('outputs').innerText`)

	// ffmpeg killed: the page follows the stream through the restart.
	if err := syscall.Kill(p.WaitChild(0, 10*time.Second), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.wait("the restart", `document.getElementById('restarts').textContent === '1' &&
		document.getElementById('state').textContent === 'idle' && document.querySelector('#events li.k-restart') !== null`,
		`document.body.innerText`)
	if c := b.consoleTake(); len(c) > 0 {
		t.Errorf("console errors and warnings on the page: %q", c)
	}

	// Stop, confirmed: livepush ends, and the page says so.
	if js[bool](b, shown("stop-confirm")) {
		t.Error("the stop confirmation shows before Stop is pressed")
	}
	b.do("stop", chromedp.Click(chromedp.ID("stop")))
	b.wait("the confirmation", shown("stop-confirm"), `document.body.innerText`)
	b.do("confirm", chromedp.Click(chromedp.ID("stop-yes")))
	p.ExpectExit(0, 30*time.Second)
	b.wait("livepush has stopped", shown("banner")+` &&
		document.getElementById('banner').textContent.includes('livepush has stopped')`, `document.body.innerText`)

	recs := srv.WaitDone("page", 15*time.Second)
	if len(recs) != 2 {
		t.Fatalf("recordings %v: want two publish sessions, before and after the restart", recs)
	}
	stderr := p.Stderr.String()
	starts := logTimes(t, stderr, "speech started")
	cuts := logTimes(t, stderr, "speech cut")
	if len(starts) != 1 || len(cuts) != 1 {
		t.Fatalf("clips started %v, cut %v: want the first clip started and cut, the second never aired", starts, cuts)
	}
	var start, cut float64
	for id, s := range starts {
		start, cut = s, cuts[id]
	}
	if _, ok := starts[dropped]; ok {
		t.Errorf("the dropped clip %s aired", dropped)
	}
	x := channel(decodeAudio(t, recs[0], rate, 1), 1, 0)
	if _, level := toneAt(x, rate, 0.3, start-0.1, 600); level > 0.01 {
		t.Errorf("level %.3f before the upload, want silence", level)
	}
	if share, level := toneAt(x, rate, start+0.1, cut-0.1, 600); share < 0.8 || level < 0.05 {
		t.Errorf("[%.2f, %.2f) s after the upload: 600 Hz share %.2f, level %.3f; want the clip's tone", start+0.1, cut-0.1, share, level)
	}
	if _, level := toneAt(x, rate, cut+0.15, cut+0.5, 600); level > 0.01 {
		t.Errorf("level %.3f after the interrupt button, want silence", level)
	}
	swaps := regexp.MustCompile(`msg="image changed" role=idle image=red.png at=(\S+)`).FindStringSubmatch(stderr)
	if swaps == nil {
		t.Fatalf("no image change logged; stderr:\n%s", tail(stderr, 30))
	}
	swap, _ := time.ParseDuration(swaps[1])
	checkColour(t, "before the swap", meanRGB(decodeFrameRGB(t, recs[0], start, 160, 90), 160, 80, 45, 8), [3]float64{0, 200, 0}, 40)
	checkColour(t, "after the swap", meanRGB(decodeFrameRGB(t, recs[0], swap.Seconds()+0.2, 160, 90), 160, 80, 45, 8), [3]float64{220, 0, 0}, 40)

	// livepush started again at the address: the page, left open, takes it up.
	p2 := startLivepush(t, lpOpts{Env: []string{"LIVEPUSH_CONTROL_TOKEN=" + token}}, "stream", "--live",
		"--image", red, "--size", "160x90", "-o", srv.URL("page2"), "--control", fmt.Sprintf("127.0.0.1:%d", port))
	b.wait("the page back", `!`+shown("banner")+` && document.getElementById('state').textContent === 'idle' &&
		document.getElementById('onair').textContent === 'LIVE'`, `document.body.innerText`)
	b.wait("the new stream's preview", colourNear(220, 0, 0, 40), previewColour)
	p2.Signal(syscall.SIGTERM)
	p2.ExpectExit(0, 30*time.Second)
}
