package orchestrator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestMaskURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rtmp://127.0.0.1/live/key", "rtmp://127.0.0.1/live/***"},
		{"rtmp://127.0.0.1:1935/live/key?pwd=x&y=z", "rtmp://127.0.0.1:1935/live/***?***"},
		{"rtmps://user:pass@a.b/app/key", "rtmps://***@a.b/app/***"},
		// ffmpeg sends app/inst as the app: all after the first element is masked.
		{"RTMP://h/app/inst/key", "rtmp://h/app/***"},
		// The last non-empty element may be the key (Validate rejects both).
		{"rtmp://h/app/", "rtmp://h/***/"},
		{"rtmp://h/live/key/", "rtmp://h/live/***/"},
		{"rtmp://h/live//key?", "rtmp://h/live//***?"},
		// Malformed: still split, still masked.
		{"rtmp://h:abc/live/key?x", "rtmp://h:abc/live/***?***"},
		{"rtmp://u:p@h/li ve/k ey", "rtmp://***@h/li ve/***"},
		// A stray '@' makes the userinfo ambiguous: what either reading
		// holds secret is masked.
		{"rtmp://u:pa/ss@h/live/key", "rtmp://***@h/***"},
		{"rtmp://h/live/key?mail=a@b", "rtmp://***"},
		{"http://u:p@h/a/b?c", "http://***@h/a/b?c"},
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

// TestMaskerWholeWords: a key is masked where it stands as a word of its
// own, never inside a longer word.
func TestMaskerWholeWords(t *testing.T) {
	tests := []struct{ output, in, want string }{
		{"rtmp://h/live/int", "signal=interrupt", "signal=interrupt"},
		{"rtmp://h/live/int", "signal=int, code 2", "signal=***, code 2"},
		{"rtmp://h/live/int", "print intint int_x xint int2 int", "print intint int_x xint int2 ***"},
		{"rtmp://h/live/ffmpeg", "ffmpeg5 libffmpeg ffmpeg_go started", "ffmpeg5 libffmpeg ffmpeg_go started"},
		// Standing alone it is the key, whatever it looks like.
		{"rtmp://h/live/ffmpeg", "ffmpeg started", "*** started"},
		{"rtmp://h/live/ffmpeg", "/usr/bin/ffmpeg: 'ffmpeg' \"ffmpeg\" name=ffmpeg&x,ffmpeg?ffmpeg:ffmpeg-1.flv",
			"/usr/bin/***: '***' \"***\" name=***&x,***?***:***-1.flv"},
		{"rtmp://h/live/ключ", "ключи ключ", "ключи ***"},
		// Inside any URL the key is masked with the URL's structure.
		{"rtmp://h/live/int", "to rtmp://other:1935/app/int: refused", "to rtmp://other:1935/app/***: refused"},
		// Keys shorter than minSecret are masked only inside URLs.
		{"rtmp://h/live/ab", "ab rtmp://h/live/ab", "ab rtmp://h/live/***"},
	}
	for _, tt := range tests {
		if got := NewMasker(tt.output, false).Mask(tt.in); got != tt.want {
			t.Errorf("NewMasker(%q).Mask(%q)\n = %q\nwant %q", tt.output, tt.in, got, tt.want)
		}
	}
}

// TestMaskUserinfoAnyScheme: the userinfo of every URL in text is masked;
// other schemes keep their path and query.
func TestMaskUserinfoAnyScheme(t *testing.T) {
	m := NewMasker("rtmp://h/live/key", false)
	in := "proxy http://bob:hunter2@proxy:8080/x?y=1 and tcp://h:1935?timeout=5 (srt://h:9000?passphrase=p)."
	want := "proxy http://***@proxy:8080/x?y=1 and tcp://h:1935?timeout=5 (srt://h:9000?***)."
	if got := m.Mask(in); got != want {
		t.Errorf("Mask(%q)\n = %q\nwant %q", in, got, want)
	}
}

// TestEmptyStreamName: a URL whose stream name is empty is bad input, and
// its key (in the app then) is masked all the same.
func TestEmptyStreamName(t *testing.T) {
	for _, o := range []string{"rtmp://h/live/sk_live_42/", "rtmp://h/live", "rtmp://h/live/", "rtmp://h/", "rtmp://h",
		"rtmp://h/live?key=sk_live_42", "rtmp://h/live/sk_live_42//"} {
		err := Output(o).Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "stream name") && !strings.Contains(err.Error(), "host") {
			t.Errorf("Validate(%q) = %v, want ErrInvalidConfig naming the stream name", o, err)
		}
		if err != nil && strings.Contains(err.Error(), "sk_live_42") {
			t.Errorf("Validate(%q) = %v shows the key", o, err)
		}
	}
	for _, o := range []string{"rtmp://h/live/k", "rtmps://h:443/app/inst/key?x=1", "rtmp://u:p@h/live/k"} {
		if err := Output(o).Validate(); err != nil {
			t.Errorf("Validate(%q) = %v", o, err)
		}
	}
	m := NewMasker("rtmp://h/live/sk_live_42/", false)
	for _, s := range []string{"stream sk_live_42 not found", "rtmp://h/live/sk_live_42/: Input/output error"} {
		if got := m.Mask(s); strings.Contains(got, "sk_live_42") {
			t.Errorf("Mask(%q) = %q", s, got)
		}
	}
	if got := MaskURL("rtmp://h/live/sk_live_42/"); got != "rtmp://h/live/***/" {
		t.Errorf("MaskURL = %q", got)
	}
}

// TestMalformedURL: no error or masked text echoes the secrets of a URL
// that url.Parse rejects.
func TestMalformedURL(t *testing.T) {
	secrets := []string{"sk_live_42", "alice", "s3cret", "tok99"}
	for _, o := range []string{
		"rtmp://host:abc/live/sk_live_42",
		"rtmp://alice:s3cret@host:abc/live/sk_live_42?auth=tok99",
		"rtmp://host:99999/live/sk_live_42",
		"rtmp://host:/live/sk_live_42",
		"rtmp://host/live/sk_live_42%zz",
		"rtmp://host/live/sk_live_42?auth=tok99%",
		"rtmp://ho st/live/sk_live_42",
		"rtmp://host/live/sk_live_42 ",
		"rtmp://alice:s3/cret@host/live/sk_live_42",
		"rtmp://alice:s3cret@host/live/sk_live_42?mail=a@b",
		"rtmp://[::1/live/sk_live_42",
		"rtmp://alice:s3[cret@host/live/sk_live_42",
		"rtmp://host/live/sk_live_42\x7f",
	} {
		if !Output(o).IsURL() {
			t.Errorf("IsURL(%q) = false: a malformed URL is no file name", o)
		}
		m := NewMasker(o, false)
		outs := map[string]string{
			"MaskURL":  MaskURL(o),
			"Mask":     m.Mask(o),
			"MaskText": m.Mask(`[rtmp @ 0x1] Cannot open "` + o + `": sk_live_42 s3cret alice tok99 refused`),
			"DryRun":   DryRunCommand("ffmpeg", defaultEncoding, Target{Output: o}, m),
		}
		if err := Output(o).Validate(); err != nil {
			outs["Validate"] = err.Error()
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate(%q) = %v, want ErrInvalidConfig", o, err)
			}
		}
		for what, got := range outs {
			for _, s := range secrets {
				if strings.Contains(o, s) && strings.Contains(got, s) {
					t.Errorf("%s of %q shows %q: %s", what, o, s, got)
				}
			}
		}
	}
	// The error names the problem.
	for o, want := range map[string]string{
		"rtmp://host:abc/live/key":  `"rtmp://host:abc/live/***" has an invalid port`,
		"rtmp://host/live/key%zz":   `"rtmp://host/live/***" has an invalid %-escape`,
		"rtmp://host/live/k ey":     "contains a space",
		"rtmp://u:p@/live/key":      `"rtmp://***@/live/***" has no host`,
		"ftp://u:p@host/live/key":   `scheme "ftp" not supported`,
		"rtmp://ho%zzst/live/key":   "invalid %-escape",
		"rtmp://host:1935/live/key": "",
		"rtmp://u:pa/ss@h/live/key": `"rtmp://***@h/***" has an '@' after the host`,
	} {
		err := Output(o).Validate()
		if want == "" {
			if err != nil {
				t.Errorf("Validate(%q) = %v", o, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%q) = %v, want it to say %q", o, err, want)
		}
	}
}

type textKey struct{ s string }

func (k textKey) MarshalText() ([]byte, error) { return []byte(k.s), nil }

type jsonKey struct{ s string }

func (k jsonKey) MarshalJSON() ([]byte, error) { return json.Marshal(k.s) }

// valueStringer panics as a nil pointer: fmt prints <nil>, so must we.
type valueStringer struct{ s string }

func (v valueStringer) String() string { return v.s }

type valuer struct{ v slog.Value }

func (v valuer) LogValue() slog.Value { return v.v }

type withURL struct {
	Name string
	URL  string
}

// TestMaskHandlerKinds plants the key in every kind of attribute, through
// both handlers, in records, WithAttrs and WithGroup.
func TestMaskHandlerKinds(t *testing.T) {
	const key = "topsecret"
	url := "rtmp://h/live/" + key
	attrs := []any{
		"string", url,
		"error", fmt.Errorf("publish: %w", errors.New(key+" refused")),
		"stringer", stringer("key=" + key),
		"text", textKey{"k " + key},
		"json", jsonKey{key},
		"bytes", []byte(key),
		"strings", []string{"a", key},
		"map", map[string]string{"output": url},
		"struct", withURL{"out", url},
		"pointer", &withURL{"out", url},
		"anys", []any{1, key},
		"valuer", valuer{slog.StringValue(url)},
		"nilstringer", (*valueStringer)(nil),
		"nilerror", (*fs.PathError)(nil),
		"valuergroup", valuer{slog.GroupValue(slog.Any("inner", []string{key}))},
		slog.Group("g", "url", url, slog.Group("gg", "k", []string{key})),
		key, "attribute key",
	}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var next slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			next = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(NewMaskHandler(next, NewMasker(url, false)))
		log.Info("record "+key, attrs...)
		log.With(attrs...).Info("with")
		log.WithGroup(key).With(attrs...).WithGroup("grp").Info("group", attrs...)
		out := buf.String()
		if strings.Contains(out, key) {
			t.Errorf("%s log shows the key:\n%s", format, out)
		}
		for _, want := range []string{"rtmp://h/live/***", "record ***", "out"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s log lost %q:\n%s", format, want, out)
			}
		}
	}
	// A key of digits is masked in numbers too; other numbers stay.
	var buf bytes.Buffer
	log := slog.New(NewMaskHandler(slog.NewTextHandler(&buf, nil), NewMasker("rtmp://h/live/48213", false)))
	log.Info("x", "pid", 48213, "n", uint64(48213), "f", 48213.0, "other", 7)
	if out := buf.String(); strings.Contains(out, "48213") || !strings.Contains(out, "other=7") {
		t.Errorf("numeric key: %s", out)
	}
	// Values without secrets keep their kind (JSON arrays stay arrays).
	buf.Reset()
	log = slog.New(NewMaskHandler(slog.NewJSONHandler(&buf, nil), NewMasker(url, false)))
	log.Info("x", "list", []string{"a", "b"})
	if out := buf.String(); !strings.Contains(out, `"list":["a","b"]`) {
		t.Errorf("clean value changed: %s", out)
	}
}

// TestMaskerWithSecret: an added secret is masked as a word, the output's
// secrets still are, and the original Masker is left as it was.
func TestMaskerWithSecret(t *testing.T) {
	m := NewMasker("rtmp://h/live/streamKey9", false)
	m2 := m.WithSecret("t0kenValue")
	got := m2.Mask("Authorization: Bearer t0kenValue for rtmp://h/live/streamKey9 and streamKey9")
	if strings.Contains(got, "t0kenValue") || strings.Contains(got, "streamKey9") {
		t.Errorf("Mask = %q: a secret shows", got)
	}
	if got := m.Mask("Bearer t0kenValue"); got != "Bearer t0kenValue" {
		t.Errorf("the original Masker changed: %q", got)
	}
	if got := NewMasker("", true).WithSecret("t0kenValue").Mask("t0kenValue"); got != "t0kenValue" {
		t.Errorf("--show-secrets: %q", got)
	}
}
