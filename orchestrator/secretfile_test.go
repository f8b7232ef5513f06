package orchestrator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSplitKey pins how a URL is split into what ffmpeg's command line shows
// and the preset file it reads the rest from. The application and playpath
// are those ffmpeg's rtmp protocol derives from the whole URL, so that the
// server sees the same connect and publish either way.
func TestSplitKey(t *testing.T) {
	long := strings.Repeat("k", 990)
	tests := []struct {
		output, url, body string // url "": not split, ffmpeg gets output whole
	}{
		{"rtmp://127.0.0.1:1935/live/key", "rtmp://127.0.0.1:1935/live/", "rtmp_app=live\nrtmp_playpath=key\n"},
		{"rtmps://live.example.com/app/sk_9f8e", "rtmps://live.example.com/app/", "rtmp_app=app\nrtmp_playpath=sk_9f8e\n"},
		{"rtmp://h/live/inst/key", "rtmp://h/live/inst/", "rtmp_app=live/inst\nrtmp_playpath=key\n"},
		{"rtmp://h/live/inst/a/b", "rtmp://h/live/inst/", "rtmp_app=live/inst\nrtmp_playpath=a/b\n"},
		{"rtmp://h/app/a:b/c", "rtmp://h/app/", "rtmp_app=app\nrtmp_playpath=a:b/c\n"},
		{"rtmp://h/live/key?foo=bar&x=1", "rtmp://h/live/", "rtmp_app=live\nrtmp_playpath=key?foo=bar&x=1\n"},
		{"rtmp://h/live/key%20x", "rtmp://h/live/", "rtmp_app=live\nrtmp_playpath=key%20x\n"},
		{"rtmp://h/live/key.flv", "rtmp://h/live/", "rtmp_app=live\nrtmp_playpath=key\n"},
		{"rtmp://h/live/key?t=1.flv", "rtmp://h/live/", "rtmp_app=live\nrtmp_playpath=key?t=1\n"},
		{"rtmp://h/live/key.mp4", "rtmp://h/live/", "rtmp_app=live\nrtmp_playpath=mp4:key.mp4\n"},
		{"rtmp://h/live/key.f4v", "rtmp://h/live/", "rtmp_app=live\nrtmp_playpath=mp4:key.f4v\n"},
		{"rtmp://h/live/mp4:key.mp4", "rtmp://h/live/", "rtmp_app=live\nrtmp_playpath=mp4:key.mp4\n"},
		{"rtmp://h/ondemand/x/y", "rtmp://h/ondemand/", "rtmp_app=ondemand\nrtmp_playpath=x/y\n"},
		{"rtmp://alice:pw@h:1935/live/key", "rtmp://alice:pw@h:1935/live/", "rtmp_app=live\nrtmp_playpath=key\n"},
		{"rtmp://[::1]:1935/live/key", "rtmp://[::1]:1935/live/", "rtmp_app=live\nrtmp_playpath=key\n"},
		// A query in the application, or an application alone (which the
		// masker takes for the key), stays off the command line too.
		{"rtmp://h/live?token=t0k/key", "rtmp://h/", "rtmp_app=live?token=t0k\nrtmp_playpath=key\n"},
		{"rtmp://h/onlyapp", "rtmp://h/", "rtmp_app=onlyapp\n"},
		{"rtmp://h/onlyapp?token=t0k", "rtmp://h/", "rtmp_app=onlyapp?token=t0k\n"},
		{"rtmp://h//key", "rtmp://h/", "rtmp_playpath=key\n"},
		// Nothing to hide, or forms ffmpeg reads in its own way.
		{"rtmp://h", "", ""},
		{"rtmp://h/", "", ""},
		{"rtmp://h/app?slist=key", "", ""},
		{"rtmp://h/live/" + long, "", ""},
		{"rtmp://h/live/" + long + long, "", ""},
		{"/tmp/out.flv", "", ""},
		{"http://h/live/key", "", ""},
	}
	for _, tt := range tests {
		kf, ok := splitKey(tt.output)
		if !ok {
			if tt.url != "" {
				t.Errorf("splitKey(%.60q) not split, want %q + %q", tt.output, tt.url, tt.body)
			}
			continue
		}
		if kf.url != tt.url || kf.body != tt.body {
			t.Errorf("splitKey(%.60q) = %q + %q, want %q + %q", tt.output, kf.url, kf.body, tt.url, tt.body)
		}
	}
}

// TestKeyFilePrivate: the key file is readable by its owner alone, in the
// private folder, and goes with it.
func TestKeyFilePrivate(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	p, err := newPipeDir()
	if err != nil {
		t.Fatal(err)
	}
	path, err := p.writeKeyFile("rtmp_playpath=k\n")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != p.dir {
		t.Errorf("key file %s is not in the FIFO folder %s", path, p.dir)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("key file mode %v, want 0600", m)
	}
	if _, err := p.writeKeyFile("x=y\n"); err == nil {
		t.Error("a second key file in the same folder was written over the first")
	}
	if err := p.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("key file left after remove: %v", err)
	}
}

// TestSupervisorKeyFileEachRun: every ffmpeg, restarts included, gets the
// URL without the key and reads the key from a file of its own (the fake
// publishes to the URL plus the file's playpath, as ffmpeg does).
func TestSupervisorKeyFileEachRun(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("fail-after:3"))
	cfg.MaxRestarts = 2
	cfg.RestartDelay = 10 * time.Millisecond
	_, res := h.start(ctx, cfg)
	h.waitRun(res, 10*time.Second)
	runs := h.runs()
	if len(runs) != 3 {
		t.Fatalf("%d ffmpeg runs, want 3", len(runs))
	}
	for _, r := range runs {
		if r.output != supOutput || !r.events["keyfile"] {
			t.Errorf("fake %d published to %q (key file: %v), want %q through a key file", r.pid, r.output, r.events["keyfile"], supOutput)
		}
	}
}
