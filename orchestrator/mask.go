package orchestrator

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// masked replaces every secret in logs, errors and printed commands.
const masked = "***"

// urlParts is a URL split without validation, so that the secrets of a URL
// that url.Parse rejects (a bad port, a bad %-escape, a space) are found too.
type urlParts struct {
	scheme, userinfo, host, path, query, fragment string
	hasUser, hasQuery, hasFragment                bool
	userAt, pathAt, queryAt, fragmentAt           int // where the parts start in the URL
}

// splitURL splits scheme://userinfo@host/path?query#fragment. With lastAt
// the userinfo ends at the last '@' anywhere, so that a password holding an
// unescaped '/', '?' or '#' is still taken whole; otherwise at the last '@'
// before the path, as RFC 3986 and ffmpeg read it. It reports false when s
// does not start with a scheme and "://".
func splitURL(s string, lastAt bool) (urlParts, bool) {
	i := strings.Index(s, "://")
	if i <= 0 || !validScheme(s[:i]) {
		return urlParts{}, false
	}
	p := urlParts{scheme: s[:i]}
	at := i + 3
	rest := s[at:]
	end := len(rest)
	if !lastAt {
		if end = strings.IndexAny(rest, "/?#"); end < 0 {
			end = len(rest)
		}
	}
	if j := strings.LastIndexByte(rest[:end], '@'); j >= 0 {
		p.userinfo, p.hasUser, p.userAt = rest[:j], true, at
		rest, at = rest[j+1:], at+j+1
	}
	if j := strings.IndexByte(rest, '#'); j >= 0 {
		p.fragment, p.hasFragment, p.fragmentAt, rest = rest[j+1:], true, at+j+1, rest[:j]
	}
	if j := strings.IndexByte(rest, '?'); j >= 0 {
		p.query, p.hasQuery, p.queryAt, rest = rest[j+1:], true, at+j+1, rest[:j]
	}
	p.pathAt = at + len(rest)
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		p.path, p.pathAt, rest = rest[j:], at+j, rest[:j]
	}
	p.host = rest
	return p, true
}

// secretSpans lists where the secret parts of the URL are, as [start, end)
// byte offsets.
func (p urlParts) secretSpans() [][2]int {
	var out [][2]int
	span := func(at int, part string) {
		if part != "" {
			out = append(out, [2]int{at, at + len(part)})
		}
	}
	if p.hasUser {
		span(p.userAt, p.userinfo)
	}
	rule := ruleFor(p.scheme)
	if i, j := streamSpan(p.path); rule.stream {
		span(p.pathAt+i, p.path[i:j])
	}
	if rule.query {
		span(p.queryAt, p.query)
	}
	if rule.fragment {
		span(p.fragmentAt, p.fragment)
	}
	return out
}

func validScheme(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return s != ""
}

// validateURL is Output.Validate for a URL. Its errors quote the URL only
// masked and never url.Parse's error text.
func validateURL(s string) error {
	bad := func(problem string) error {
		return fmt.Errorf("%w: output URL %q %s", ErrInvalidConfig, MaskURL(s), problem)
	}
	p, ok := splitURL(s, true)
	if !ok {
		return fmt.Errorf("%w: output URL has an invalid scheme (want rtmp:// or rtmps://)", ErrInvalidConfig)
	}
	if !isRTMP(p.scheme) && !isSRT(p.scheme) {
		return fmt.Errorf("%w: output scheme %q not supported (want rtmp://, rtmps://, srt:// or a file path)", ErrInvalidConfig, p.scheme)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return bad("contains a space or control character")
	}
	u, err := url.Parse(s)
	if err != nil {
		var escape url.EscapeError
		var host url.InvalidHostError
		strict, _ := splitURL(s, false)
		switch {
		case p.hasUser && !strict.hasUser:
			return bad("has an '@' after the host (a user or password must %-escape '/', '?' and '#')")
		case !validPort(s):
			return bad("has an invalid port (want a number 1-65535)")
		case errors.As(err, &escape):
			return bad("has an invalid %-escape")
		case errors.As(err, &host):
			return bad("has an invalid character in the host")
		}
		return bad("is not a valid URL (a user or password must %-escape reserved characters)")
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("has no host")
	}
	if !validPort(s) {
		return bad("has an invalid port (want a number 1-65535)")
	}
	if isSRT(p.scheme) {
		if u.Port() == "" {
			return bad("has no port (SRT has no default: srt://host:PORT)")
		}
		return nil
	}
	if !hasStreamName(u.EscapedPath()) {
		return bad("has no stream name (want the key after the app: /app/KEY)")
	}
	return nil
}

// validPort reports whether the URL has no port or a number 1-65535, read
// from the host as ffmpeg reads it (up to the first '/', '?' or '#').
func validPort(s string) bool {
	p, _ := splitURL(s, false)
	host := p.host
	if i := strings.LastIndexByte(host, ']'); i >= 0 {
		host = host[i+1:]
	}
	i := strings.LastIndexByte(host, ':')
	if i < 0 {
		return true
	}
	n, err := strconv.Atoi(host[i+1:])
	return err == nil && n >= 1 && n <= 65535 && !strings.HasPrefix(host[i+1:], "+")
}

// hasStreamName reports whether ffmpeg would publish to a non-empty stream
// name. ffmpeg's rtmp takes the last path element as the name and the ones
// before as the app; with one element (rtmp://h/live) it is the app and the
// name is empty, which nginx-rtmp accepts (recording "-<time>.flv"); a
// trailing slash (rtmp://h/live/KEY/) makes "live/KEY" the app and the
// name empty again.
func hasStreamName(path string) bool {
	if strings.HasSuffix(path, "/") {
		return false
	}
	n := 0
	for _, el := range strings.Split(path, "/") {
		if el != "" {
			n++
		}
	}
	return n >= 2
}

// urlRule says which parts of a scheme's URLs are secret besides the
// userinfo, which is secret in every scheme.
type urlRule struct {
	stream   bool // the path after the app (streamSpan)
	query    bool
	fragment bool
}

func ruleFor(scheme string) urlRule {
	if isRTMP(scheme) {
		return urlRule{stream: true, query: true, fragment: true}
	}
	if isSRT(scheme) {
		// The query holds the passphrase and the streamid.
		return urlRule{query: true, fragment: true}
	}
	return urlRule{}
}

func isSRT(scheme string) bool { return strings.EqualFold(scheme, "srt") }

func isRTMP(scheme string) bool {
	s := strings.ToLower(scheme)
	return s == "rtmp" || s == "rtmps"
}

// streamSpan is the secret part of an rtmp path, path[i:j]: every element
// after the first, or the only one. ffmpeg sends the elements before the
// last as the app (so in /live/KEY/x the key is in the app) and the last as
// the stream name; the first is the application and not secret. Trailing
// slashes stay outside the span, so /live/KEY/ masks KEY.
func streamSpan(path string) (i, j int) {
	j = len(strings.TrimRight(path, "/"))
	i = len(path) - len(strings.TrimLeft(path, "/"))
	if i >= j {
		return j, j
	}
	if k := strings.IndexByte(path[i:j], '/'); k >= 0 {
		i += k
		for path[i] == '/' {
			i++
		}
	}
	return i, j
}

// MaskURL hides the credentials of a URL: the userinfo of any scheme and,
// for rtmp and rtmps, the stream key (the path after the app), the query
// and the fragment. It needs no valid URL: whatever url.Parse rejects is
// split leniently, and where a stray '@' makes the userinfo ambiguous, what
// is secret in either reading is masked. Strings that are no URL are
// returned unchanged.
func MaskURL(raw string) string {
	var secret []bool
	var scheme string
	for _, lastAt := range []bool{true, false} {
		p, ok := splitURL(raw, lastAt)
		if !ok {
			return raw
		}
		scheme = p.scheme
		for _, sp := range p.secretSpans() {
			if secret == nil {
				secret = make([]bool, len(raw))
			}
			for k := sp[0]; k < sp[1]; k++ {
				secret[k] = true
			}
		}
	}
	var b strings.Builder
	if ruleFor(scheme).stream {
		b.WriteString(strings.ToLower(scheme))
	} else {
		b.WriteString(scheme)
	}
	for k := len(scheme); k < len(raw); k++ {
		switch {
		case secret == nil || !secret[k]:
			b.WriteByte(raw[k])
		case !secret[k-1]: // k > 0: the scheme comes first
			b.WriteString(masked)
		}
	}
	return b.String()
}

// urlInText finds URLs in free text such as ffmpeg's error lines. A URL
// ends at a space, a quote or an angle bracket.
var urlInText = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://[^\s'"<>]*`)

// maskURLInText masks one URL found in text. Punctuation that ends a
// sentence or closes a bracket is kept outside the URL, and a scheme glued
// to a word ("urlrtmp://") is still recognised.
func maskURLInText(s string) string {
	core := strings.TrimRight(s, ".,;:!?)]}")
	tail := s[len(core):]
	scheme, _, _ := strings.Cut(core, "://")
	lower := strings.ToLower(scheme)
	for _, known := range []string{"rtmps", "rtmp"} {
		if lower != known && strings.HasSuffix(lower, known) {
			k := len(scheme) - len(known)
			return core[:k] + MaskURL(core[k:]) + tail
		}
	}
	return MaskURL(core) + tail
}

// minSecret is the shortest secret masked where it stands as a word of its
// own. Inside URLs every secret is masked; a one- or two-character key is
// no secret (a few thousand guesses), and masking it as a word would hide
// every small number and short word in the logs.
const minSecret = 3

// Masker removes the secrets of one output URL from any text. The secrets
// (userinfo, stream key, query, fragment, each also %-decoded and
// %-encoded) are replaced wherever they stand as a whole word, that is not
// inside a longer run of letters, digits and '_', so a key "int" leaves
// "interrupt" alone. Then every URL in the text is masked with MaskURL.
type Masker struct {
	secrets []string // longest first, so a userinfo goes before its user
	off     bool
}

// NewMasker returns a Masker for the given output, which need not be a
// valid URL (nor a URL at all: a file name has no secrets). With show set,
// Mask returns its input unchanged (the user asked to see secrets).
func NewMasker(output string, show bool) *Masker {
	m := &Masker{off: show}
	if show {
		return m
	}
	s := strings.TrimSpace(output)
	seen := map[string]bool{}
	add := func(v string) {
		if utf8.RuneCountInString(v) >= minSecret && !seen[v] {
			seen[v] = true
			m.secrets = append(m.secrets, v)
		}
	}
	// Both readings of the userinfo: where it ends is ambiguous when '@'
	// appears after the host, and each reading finds secrets the other
	// takes for a userinfo.
	for _, lastAt := range []bool{true, false} {
		if p, ok := splitURL(s, lastAt); ok {
			p.secrets(func(raw string) { forms(raw, add) })
		}
	}
	sort.SliceStable(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	return m
}

// WithSecret returns a Masker that also masks secret (a control token, say)
// wherever it stands as a whole word. m is not changed.
func (m *Masker) WithSecret(secret string) *Masker {
	out := &Masker{off: m.off, secrets: slices.Clone(m.secrets)}
	if utf8.RuneCountInString(secret) >= minSecret && !slices.Contains(out.secrets, secret) {
		out.secrets = append(out.secrets, secret)
		sort.SliceStable(out.secrets, func(i, j int) bool { return len(out.secrets[i]) > len(out.secrets[j]) })
	}
	return out
}

// secrets passes each secret part of the URL, and its pieces, to add.
func (p urlParts) secrets(add func(string)) {
	if p.hasUser {
		add(p.userinfo)
		user, pass, _ := strings.Cut(p.userinfo, ":")
		add(user)
		add(pass)
	}
	rule := ruleFor(p.scheme)
	if i, j := streamSpan(p.path); rule.stream && i < j {
		add(p.path[i:j])
		for _, el := range strings.Split(p.path[i:j], "/") {
			add(el)
		}
	}
	if rule.query && p.hasQuery {
		add(p.query)
		for _, pair := range strings.FieldsFunc(p.query, func(r rune) bool { return r == '&' || r == ';' }) {
			name, value, _ := strings.Cut(pair, "=")
			add(pair)
			add(name)
			add(value)
		}
	}
	if rule.fragment && p.hasFragment {
		add(p.fragment)
	}
}

// forms passes raw and the ways a program may print it to add: %-decoded,
// %-encoded, and its pieces between characters that a URL reserves or
// forbids (a password with a stray '/' or a key with a bad %-escape or a
// space is still masked where a parser splits it).
func forms(raw string, add func(string)) {
	vs := []string{raw, unescape(raw)}
	if d, err := url.QueryUnescape(raw); err == nil {
		vs = append(vs, d)
	}
	for _, v := range vs {
		for _, p := range append(pieces(v), v) {
			add(p)
			add(unescape(p))
			add(url.PathEscape(p))
			add(url.QueryEscape(p))
			// %-escapes are written in either case.
			add(hexCase(p, unicode.ToLower))
			add(hexCase(p, unicode.ToUpper))
		}
	}
}

// hexCase changes the case of the hex digits of s's %-escapes.
func hexCase(s string, to func(rune) rune) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := range b {
		if validEscape(s, i) {
			b[i+1], b[i+2] = byte(to(rune(b[i+1]))), byte(to(rune(b[i+2])))
		}
	}
	return string(b)
}

// unescape decodes the valid %-escapes of s and keeps the rest as it is.
func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if validEscape(s, i) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// pieces splits s at the characters that are not unreserved in a URL,
// also where they are %-encoded; an escape of an unreserved character (or
// of a byte of a non-ASCII letter) stays inside its piece.
func pieces(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if validEscape(s, i) {
			r, n = rune(unhex(s[i+1])<<4|unhex(s[i+2])), 3
		}
		if r < utf8.RuneSelf && !isWord(r) && r != '-' && r != '.' && r != '~' || r == utf8.RuneError && n == 1 {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + n
		}
		i += n
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func validEscape(s string, i int) bool {
	return s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// Mask returns s with the secrets replaced by ***.
func (m *Masker) Mask(s string) string {
	if m == nil || m.off {
		return s
	}
	for _, v := range m.secrets {
		s = replaceWord(s, v)
	}
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, maskURLInText)
}

// replaceWord replaces each occurrence of w in s that is not part of a
// longer word.
func replaceWord(s, w string) string {
	var b strings.Builder
	done, from := 0, 0
	for {
		k := strings.Index(s[from:], w)
		if k < 0 {
			break
		}
		i, j := from+k, from+k+len(w)
		if !bounded(s, i, j) {
			from = i + 1
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString(masked)
		done, from = j, j
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// bounded reports whether s[i:j] is not glued to word characters on either
// side. An edge of the match that is itself no word character needs no
// boundary.
func bounded(s string, i, j int) bool {
	first, _ := utf8.DecodeRuneInString(s[i:])
	last, _ := utf8.DecodeLastRuneInString(s[:j])
	before, _ := utf8.DecodeLastRuneInString(s[:i])
	after, _ := utf8.DecodeRuneInString(s[j:])
	return (i == 0 || !isWord(before) || !isWord(first)) &&
		(j == len(s) || !isWord(after) || !isWord(last))
}

func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// MaskHandler is a slog.Handler that masks secrets in the message and in
// every attribute (key and value, of any kind, in groups too) before
// passing the record on, so that no log line can carry the stream key.
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
	if h.m == nil || h.m.off {
		return h.next.Handle(ctx, r)
	}
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
	return &MaskHandler{next: h.next.WithGroup(h.m.Mask(name)), m: h.m}
}

func (h *MaskHandler) maskAttr(a slog.Attr) slog.Attr {
	key := h.m.Mask(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = h.maskAttr(g)
		}
		return slog.Attr{Key: key, Value: slog.GroupValue(out...)}
	case slog.KindString:
		return slog.String(key, h.m.Mask(v.String()))
	case slog.KindAny:
		return slog.Attr{Key: key, Value: h.maskAny(v.Any())}
	}
	// Numbers, times and durations: a key of digits is masked there too.
	if s := v.String(); h.m.Mask(s) != s {
		return slog.String(key, h.m.Mask(s))
	}
	return slog.Attr{Key: key, Value: v}
}

// maskAny keeps a value as it is unless one of the ways a handler may print
// it (Error, MarshalText, a []byte as text, String, %+v, JSON) shows a
// secret; then the value becomes the masked text that the text handler
// would print.
func (h *MaskHandler) maskAny(x any) slog.Value {
	shown := printed(x)
	for _, s := range shown {
		if h.m.Mask(s) != s {
			return slog.StringValue(h.m.Mask(shown[0]))
		}
	}
	return slog.AnyValue(x)
}

// printed lists the texts a handler may print for x, the text handler's
// first. Methods that panic (as on a nil pointer) print nothing here.
func printed(x any) []string {
	var out []string
	try := func(f func() string) {
		defer func() { _ = recover() }()
		out = append(out, f())
	}
	switch y := x.(type) {
	case error:
		try(y.Error)
	case encoding.TextMarshaler:
		try(func() string {
			b, err := y.MarshalText()
			if err != nil {
				return fmt.Sprintf("%+v", x)
			}
			return string(b)
		})
	}
	if v := reflect.ValueOf(x); v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
		try(func() string { return string(v.Bytes()) })
	}
	if y, ok := x.(fmt.Stringer); ok {
		try(y.String)
	}
	out = append(out, fmt.Sprintf("%+v", x))
	try(func() string {
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	})
	return out
}
