package orchestrator

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
)

// masked replaces every secret in logs, errors and printed commands.
const masked = "***"

// MaskURL hides the credentials of an rtmp or rtmps URL: the userinfo, the
// last path element (the stream key) and the query string. Other strings are
// returned unchanged.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !isRTMP(u.Scheme) {
		return raw
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString(masked + "@")
	}
	b.WriteString(u.Host)
	path := u.EscapedPath()
	if i := strings.LastIndexByte(path, '/'); i >= 0 && i < len(path)-1 {
		path = path[:i+1] + masked
	}
	b.WriteString(path)
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?" + masked)
	}
	if u.Fragment != "" {
		b.WriteString("#" + masked)
	}
	return b.String()
}

func isRTMP(scheme string) bool {
	s := strings.ToLower(scheme)
	return s == "rtmp" || s == "rtmps"
}

// rtmpURL finds rtmp URLs in free text such as ffmpeg's error lines.
var rtmpURL = regexp.MustCompile(`(?i)rtmps?://[^\s'"]+`)

// minSecret is the shortest secret masked by plain substring replacement;
// replacing every occurrence of a one- or two-letter key would garble the
// logs while protecting nothing.
const minSecret = 3

// Masker removes the secrets of one output URL from any text: URLs in the
// text are masked with MaskURL, and the key, query and userinfo of the
// output are replaced wherever they appear on their own, as ffmpeg sometimes
// prints them.
type Masker struct {
	secrets []string
	off     bool
}

// NewMasker returns a Masker for the given output. With show set, Mask
// returns its input unchanged (the user asked to see secrets).
func NewMasker(output string, show bool) *Masker {
	m := &Masker{off: show}
	u, err := url.Parse(output)
	if err != nil || !isRTMP(u.Scheme) {
		return m
	}
	add := func(s string) {
		if len(s) < minSecret {
			return
		}
		for _, v := range []string{s, url.PathEscape(s), url.QueryEscape(s)} {
			if !contains(m.secrets, v) {
				m.secrets = append(m.secrets, v)
			}
		}
	}
	if u.User != nil {
		add(u.User.String())
		add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	if i := strings.LastIndexByte(u.Path, '/'); i >= 0 {
		add(u.Path[i+1:])
	}
	add(u.RawQuery)
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	add(u.Fragment)
	return m
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Mask returns s with the secrets replaced by ***.
func (m *Masker) Mask(s string) string {
	if m == nil || m.off {
		return s
	}
	s = rtmpURL.ReplaceAllStringFunc(s, MaskURL)
	for _, v := range m.secrets {
		s = strings.ReplaceAll(s, v, masked)
	}
	return s
}

// MaskHandler is a slog.Handler that masks secrets in the message and in
// every string, error and Stringer attribute before passing the record on,
// so that no log line can carry the stream key.
type MaskHandler struct {
	next slog.Handler
	m    *Masker
}

// NewMaskHandler wraps next.
func NewMaskHandler(next slog.Handler, m *Masker) *MaskHandler {
	return &MaskHandler{next: next, m: m}
}

// Enabled implements slog.Handler.
func (h *MaskHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *MaskHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.m.Mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *MaskHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.maskAttr(a)
	}
	return &MaskHandler{next: h.next.WithAttrs(masked), m: h.m}
}

// WithGroup implements slog.Handler.
func (h *MaskHandler) WithGroup(name string) slog.Handler {
	return &MaskHandler{next: h.next.WithGroup(name), m: h.m}
}

func (h *MaskHandler) maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.m.Mask(v.String()))
	case slog.KindGroup:
		group := v.Group()
		out := make([]any, len(group))
		for i, g := range group {
			out[i] = h.maskAttr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.m.Mask(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, h.m.Mask(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
