package orchestrator

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzMask plants a key in the secret parts of generated rtmp URLs, well
// formed and not, and checks every masked output: it must not show the key,
// nor how it was written in the URL, and it must not change when the key
// does (a part of the key showing changes it).
func FuzzMask(f *testing.F) {
	for i, k := range []string{"sk_live_42", "Abc", "abcd-efgh-ijkl-1X2Y", "-Q9", "_7_A_", "int", "ffmpeg", "live"} {
		f.Add([]byte(k), uint64(i))
		f.Add([]byte(k), uint64(i)<<40|uint64(i)*0x9e3779b97f4a7c15)
	}
	f.Fuzz(func(t *testing.T, raw []byte, seed uint64) {
		key := fuzzKey(raw)
		if key == "" {
			return
		}
		tmpl := genURL(rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)))
		other := rotKey(key)
		a, b := maskOutputs(t, tmpl, key), maskOutputs(t, tmpl, other)
		for what, out := range a {
			for _, leak := range []string{key, tmpl.planted(key)} {
				if strings.Contains(out, leak) {
					t.Errorf("%s of %q shows %q:\n%s", what, tmpl.render(key), leak, out)
				}
			}
			if out != b[what] {
				t.Errorf("%s depends on the key:\n%q: %s\n%q: %s", what, tmpl.render(key), out, tmpl.render(other), b[what])
			}
		}
	})
}

// keyAlphabet holds the characters of real stream keys.
const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// fuzzKey maps raw to a key of 3 to 40 characters of keyAlphabet with at
// least one upper-case letter and one digit, so that no fixed word of the
// outputs (all lower case, or without digits) contains it by chance.
func fuzzKey(raw []byte) string {
	if len(raw) > 40 {
		raw = raw[:40]
	}
	if len(raw) < 3 {
		return ""
	}
	b := make([]byte, len(raw))
	for i, c := range raw {
		b[i] = keyAlphabet[int(c)%len(keyAlphabet)]
	}
	k := string(b)
	if !strings.ContainsAny(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		k = "Q" + k
	}
	if !strings.ContainsAny(k, "0123456789") {
		k += "7"
	}
	return k
}

// rotKey changes every letter and digit of k and keeps its shape.
func rotKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		case c >= '0' && c <= '9':
			b[i] = '0' + (c-'0'+5)%10
		}
	}
	return string(b)
}

// urlTemplate is a URL with holes for the key, each written with some of
// its characters %-encoded.
type urlTemplate struct {
	text []string // text[i] comes before hole i; the last one ends the URL
	enc  []uint64 // which characters each hole %-encodes
	low  []bool   // whether the hole's hex digits are lower case
}

func (u *urlTemplate) lit(s string) { u.text[len(u.text)-1] += s }

func (u *urlTemplate) hole(r *rand.Rand) {
	var enc uint64
	if r.IntN(3) == 0 {
		enc = r.Uint64()
	}
	u.enc = append(u.enc, enc)
	u.low = append(u.low, r.IntN(2) == 0)
	u.text = append(u.text, "")
}

func (u *urlTemplate) render(key string) string {
	var b strings.Builder
	for i, t := range u.text {
		b.WriteString(t)
		if i < len(u.enc) {
			b.WriteString(encodeKey(key, u.enc[i], u.low[i]))
		}
	}
	return b.String()
}

// planted is the key as the first hole writes it.
func (u *urlTemplate) planted(key string) string { return encodeKey(key, u.enc[0], u.low[0]) }

func encodeKey(key string, enc uint64, low bool) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if enc>>(i%64)&1 == 0 {
			b.WriteByte(key[i])
			continue
		}
		h := fmt.Sprintf("%%%02X", key[i])
		if low {
			h = strings.ToLower(h)
		}
		b.WriteString(h)
	}
	return b.String()
}

func pick(r *rand.Rand, choices ...string) string { return choices[r.IntN(len(choices))] }

// genURL builds a URL with the key in one or more of the userinfo's user and
// password, the stream name (with or without a trailing slash, or with an
// instance), a query name or value and the fragment; and sometimes with
// garbage: bad ports, bad %-escapes, spaces, stray reserved characters.
func genURL(r *rand.Rand) *urlTemplate {
	u := &urlTemplate{text: []string{""}}
	junk := func() string {
		if r.IntN(4) != 0 {
			return ""
		}
		return pick(r, "%zz", "%", "%4", " ", "\t", "/", "?", "#", ":", "@", "%20", "[", " x y")
	}
	// Before a key, junk must not end in a word character or a half
	// escape: glued to the key it would make a longer key.
	junkBefore := func() string {
		if r.IntN(4) != 0 {
			return ""
		}
		return pick(r, " ", "\t", "/", "?", "#", ":", "@", "%20", "[")
	}
	u.lit(pick(r, "rtmp", "rtmps", "RTMP", "Rtmps") + "://")
	planted := false
	plant := func(p int) bool {
		if r.IntN(p) == 0 {
			u.hole(r)
			planted = true
			return true
		}
		return false
	}
	switch r.IntN(4) {
	case 1:
		if !plant(2) {
			u.lit("alice")
		}
		u.lit(junk() + "@")
	case 2:
		if !plant(3) {
			u.lit("alice")
		}
		u.lit(":" + junkBefore())
		if !plant(2) {
			u.lit("pw123")
		}
		u.lit(junk() + "@")
	}
	u.lit(pick(r, "live.example.com", "127.0.0.1", "[::1]", "ho st", "h%zz", "", "a.b") +
		pick(r, "", "", ":1935", ":443", ":abc", ":99999", ":", ":-1", ": 1"))
	app := pick(r, "/live", "/app", "/li ve", "/app%zz", "", "//live")
	u.lit(app + pick(r, "/", "/", "/inst/", "//"))
	if !plant(1) {
		u.lit("name")
	}
	if app == "" {
		// The key is the only element (rtmp://h/KEY); after it an
		// element would make it the app, which is not secret.
		u.lit(junk() + pick(r, "", "/", "//"))
	} else {
		u.lit(junk() + pick(r, "", "", "/", "//", "/extra"))
	}
	if r.IntN(2) == 0 {
		u.lit("?" + pick(r, "", "a=1&", "auth=tok99;"))
		switch r.IntN(3) {
		case 0:
			plant(2)
		case 1:
			u.lit("key=")
			plant(2)
		default:
			if !plant(2) {
				u.lit("n")
			}
			u.lit("=1")
		}
		u.lit(junk() + pick(r, "", "&b=2", "&x"))
	}
	if r.IntN(3) == 0 {
		u.lit("#" + junkBefore())
		plant(2)
	}
	if !planted {
		u.lit("?k=")
		u.hole(r)
	}
	return u
}

// maskOutputs is every output that must not show the key of the URL.
func maskOutputs(t *testing.T, tmpl *urlTemplate, key string) map[string]string {
	s := tmpl.render(key)
	m := NewMasker(s, false)
	out := map[string]string{
		"MaskURL": MaskURL(s),
		"Mask":    m.Mask(s),
		"DryRun":  DryRunCommand("ffmpeg", defaultEncoding, Target{Output: s}, m),
	}
	// What ffmpeg is given instead of the whole URL shows in its messages.
	if kf, ok := splitKey(s); ok {
		out["KeyFileURL"] = m.Mask(kf.url)
	}
	if err := Output(s).Validate(); err != nil {
		out["Validate"] = err.Error()
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%q) = %v, want ErrInvalidConfig", s, err)
		}
	}
	lines := []string{
		"[rtmp @ 0x55d0] Error opening output " + s + ": I/O error",
		"Output #0, flv, to '" + s + "':",
		`url="` + s + `" next`,
		"(" + s + ").",
		"x" + s + ",",
		"url=" + s,
		"[rtmp @ 0x55d0] Server error: stream " + key + " already publishing",
		"playpath=" + key + "&x '" + key + "' \"" + key + "\" " + key + ": " + key,
		"raw " + tmpl.planted(key) + " at " + tmpl.planted(key) + ",",
	}
	for i, l := range lines {
		out[fmt.Sprintf("Mask(line %d)", i)] = m.Mask(l)
	}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}}
		var h slog.Handler = slog.NewTextHandler(&buf, opts)
		if format == "json" {
			h = slog.NewJSONHandler(&buf, opts)
		}
		log := slog.New(NewMaskHandler(h, m)).With("output", s)
		log.Error("ffmpeg: "+lines[0], "err", errors.New(lines[6]), "args", []string{s, key})
		out["log "+format] = buf.String()
	}
	return out
}
