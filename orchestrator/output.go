package orchestrator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Output is where the stream goes: an rtmp or rtmps URL, or a file whose
// extension names the container (see outputFormat).
type Output string

// IsURL reports whether the output is a network URL rather than a file.
// It reads the scheme only, so that a malformed URL is still no file name.
func (o Output) IsURL() bool {
	p, ok := splitURL(string(o), true)
	return ok && (isRTMP(p.scheme) || isSRT(p.scheme))
}

// Validate checks a URL's scheme, host, port and stream name, or that a
// file's folder exists. Its errors show a URL only masked: never url.Parse's
// error, which quotes the whole URL, key included.
func (o Output) Validate() error {
	s := string(o)
	if s == "" {
		return fmt.Errorf("%w: no output given", ErrInvalidConfig)
	}
	if i := strings.Index(s, "://"); i > 0 {
		return validateURL(s)
	}
	dir := filepath.Dir(s)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: output folder %q does not exist", ErrInvalidConfig, dir)
	}
	if st, err := os.Stat(s); err == nil && st.IsDir() {
		return fmt.Errorf("%w: output %q is a folder", ErrInvalidConfig, s)
	}
	_, err := outputFormat(s)
	return err
}

// segment names the file that restart k writes to: out.flv, out.1.flv,
// out.2.flv, ... so that a restart never overwrites what was written. A
// number whose file exists already (from an earlier run) is skipped.
func (o Output) segment(k int) string {
	if k == 0 || o.IsURL() {
		return string(o)
	}
	s := string(o)
	ext := filepath.Ext(s)
	return freeName(func(k int) string { return fmt.Sprintf("%s.%d%s", strings.TrimSuffix(s, ext), k, ext) }, k)
}

// Target is the output as ffmpeg is given it.
type Target struct {
	Output string // rtmp or rtmps URL, or file path
	TLS    TLS    // how an rtmps server is checked
	// KeyFile is a preset file (-fpre) of output options that ffmpeg reads
	// the rest of the URL from; "" when Output is the whole URL.
	KeyFile string
}
