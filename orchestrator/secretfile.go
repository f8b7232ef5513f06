package orchestrator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// keyFile is an rtmp URL split so that the stream key stays off ffmpeg's
// command line, which any local user can read in /proc: ffmpeg gets url,
// and reads the application and the playpath from a preset file (-fpre),
// whose key=value lines it applies as output options. The rtmp protocol
// then connects to the same tcUrl and publishes the same name.
type keyFile struct {
	url  string // what ffmpeg gets as its output: no key, no query
	body string // rtmp_app= and rtmp_playpath= lines
}

// ffmpeg reads the URL's path into 1024 bytes and preset lines into 1000.
const (
	maxRTMPPath   = 1023
	maxPresetLine = 998 // without the newline
)

// splitKey splits an rtmp or rtmps URL as ffmpeg's rtmp protocol would.
// It reports false when there is nothing to hide or when the URL has a
// form that ffmpeg reads in its own way (slist=, an overlong path): ffmpeg
// then gets the whole URL.
func splitKey(output string) (keyFile, bool) {
	i := strings.Index(output, "://")
	if i <= 0 || !isRTMP(output[:i]) {
		return keyFile{}, false
	}
	for _, r := range output {
		if r < 0x20 || r == 0x7f {
			return keyFile{}, false
		}
	}
	rest := output[i+3:]
	ls := strings.IndexAny(rest, "/?#")
	if ls < 0 {
		return keyFile{}, false
	}
	prefix, path := output[:i+3+ls], rest[ls:]
	if len(path) > maxRTMPPath {
		return keyFile{}, false
	}
	app, playpath, ok := rtmpAppPlaypath(path)
	if !ok || app == "" && playpath == "" {
		return keyFile{}, false
	}
	var body strings.Builder
	for _, kv := range [][2]string{{"rtmp_app", app}, {"rtmp_playpath", playpath}} {
		if kv[1] == "" {
			continue // ffmpeg refuses an empty value; the URL below gives the same
		}
		line := kv[0] + "=" + kv[1]
		if len(line) > maxPresetLine {
			return keyFile{}, false
		}
		body.WriteString(line + "\n")
	}
	// The application is shown only where it is not the last path element
	// (which Masker treats as the key) and carries no query.
	url := prefix + "/"
	if app != "" && playpath != "" && !strings.ContainsAny(app, "?#") {
		url += app + "/"
	}
	return keyFile{url: url, body: body.String()}, true
}

// rtmpAppPlaypath reads the application and the playpath from the path of
// an rtmp URL the way ffmpeg 5.1's rtmpproto.c does: the first element is
// the application, or the first two when more follow (an application
// instance) unless a ':' comes first; the rest is the playpath, with a
// trailing .flv cut and mp4: put before .mp4 and .f4v names. ffmpeg takes
// the path byte for byte: nothing is unescaped, and the query belongs to
// the playpath. ok is false for the slist= form, which is left to ffmpeg.
func rtmpAppPlaypath(path string) (app, playpath string, ok bool) {
	if q := strings.IndexByte(path, '?'); q >= 0 && strings.Contains(path[q:], "slist=") {
		return "", "", false
	}
	var fname string
	if rest, found := strings.CutPrefix(path, "/ondemand/"); found {
		app, fname = "ondemand", rest
	} else {
		next := path
		if next != "" {
			next = next[1:]
		}
		p := strings.IndexByte(next, '/')
		if p < 0 {
			return next, "", true
		}
		after := next[p+1:]
		c, s := strings.IndexByte(after, ':'), strings.IndexByte(after, '/')
		if s < 0 || c >= 0 && c < s {
			app, fname = next[:p], after
		} else {
			app, fname = next[:p+1+s], after[s+1:]
		}
	}
	switch n := len(fname); {
	case n >= 4 && !strings.Contains(fname, ":") && (strings.HasSuffix(fname, ".f4v") || strings.HasSuffix(fname, ".mp4")):
		fname = "mp4:" + fname
	case strings.HasSuffix(fname, ".flv"):
		fname = fname[:n-4]
	}
	return app, fname, true
}

// writeKeyFile writes body to a new file of mode 0600 in the private
// folder, removed with it, and returns its path.
func (p *pipeDir) writeKeyFile(body string) (string, error) {
	path := filepath.Join(p.dir, "output")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("key file: %w", err)
	}
	_, err = f.WriteString(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("key file: %w", err)
	}
	return path, nil
}
