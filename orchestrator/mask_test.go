package orchestrator

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestMaskURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rtmp://127.0.0.1/live/key", "rtmp://127.0.0.1/live/***"},
		{"rtmp://127.0.0.1:1935/live/key?pwd=x&y=z", "rtmp://127.0.0.1:1935/live/***?***"},
		{"rtmps://user:pass@a.b/app/key", "rtmps://***@a.b/app/***"},
		{"RTMP://h/app/inst/key", "rtmp://h/app/inst/***"},
		{"rtmp://h/app/", "rtmp://h/app/"}, // no key to hide
		{"rtmp://h/key", "rtmp://h/***"},
		{"/tmp/out.flv", "/tmp/out.flv"},
		{"http://h/a/b", "http://h/a/b"},
	}
	for _, tt := range tests {
		if got := MaskURL(tt.in); got != tt.want {
			t.Errorf("MaskURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskerText(t *testing.T) {
	m := NewMasker("rtmp://alice:s3cret@live.example.com/app/sk_live_42?auth=tok99", false)
	lines := []string{
		"[tcp @ 0x1] Connection to tcp://live.example.com:1935 failed: rtmp://alice:s3cret@live.example.com/app/sk_live_42?auth=tok99: refused",
		"Server error: stream sk_live_42 already publishing",
		"playpath 'sk_live_42' rejected, auth tok99 alice s3cret",
		"escaped: sk%5Flive%5F42",
	}
	for _, l := range lines {
		got := m.Mask(l)
		for _, secret := range []string{"sk_live_42", "tok99", "s3cret", "alice"} {
			if strings.Contains(got, secret) {
				t.Errorf("Mask(%q) = %q still shows %q", l, got, secret)
			}
		}
	}
	if got := NewMasker("rtmp://h/app/sk_live_42", true).Mask(lines[1]); got != lines[1] {
		t.Errorf("with show set, Mask changed the text: %q", got)
	}
	// A one-letter key must not garble every "a" in the logs.
	if got := NewMasker("rtmp://h/app/a", false).Mask("a cat at a table"); got != "a cat at a table" {
		t.Errorf("short key masked as plain text: %q", got)
	}
}

func TestMaskHandler(t *testing.T) {
	var buf bytes.Buffer
	m := NewMasker("rtmp://h/live/topsecret", false)
	log := slog.New(NewMaskHandler(slog.NewTextHandler(&buf, nil), m))
	log = log.With("output", "rtmp://h/live/topsecret")
	log.Info("publishing to rtmp://h/live/topsecret",
		"err", errors.New("topsecret refused"),
		slog.Group("g", "url", "rtmp://h/live/topsecret"),
		"stringer", stringer("key=topsecret"),
		"n", 3)
	log.WithGroup("grp").Warn("x", "k", "topsecret")
	out := buf.String()
	if strings.Contains(out, "topsecret") {
		t.Errorf("log shows the key:\n%s", out)
	}
	if !strings.Contains(out, "n=3") || !strings.Contains(out, "rtmp://h/live/***") {
		t.Errorf("log lost content:\n%s", out)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }
