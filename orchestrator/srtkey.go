package orchestrator

import (
	"net/url"
	"strings"
)

// srtSecrets are the query keys of an srt URL that ffmpeg is given in the
// preset file instead of on its command line.
var srtSecrets = []string{"passphrase", "streamid", "srt_streamid"}

// splitSRTKey moves the passphrase and the streamid of an srt URL into a
// preset file (-fpre), whose lines ffmpeg applies as the srt protocol's
// options, so that they stay off the command line. ffmpeg 5.1 %-decodes
// the streamid of the URL and takes the passphrase as it stands; the file
// gives them as ffmpeg would have read them. It reports false when there
// is nothing to hide or the URL has a form left to ffmpeg.
func splitSRTKey(output string) (keyFile, bool) {
	p, ok := splitURL(output, false)
	if !ok || !isSRT(p.scheme) || !p.hasQuery || p.hasFragment || strings.ContainsAny(output, "\n\r") {
		return keyFile{}, false
	}
	var keep []string
	var body strings.Builder
	for _, pair := range strings.Split(p.query, "&") {
		name, value, _ := strings.Cut(pair, "=")
		secret := false
		for _, s := range srtSecrets {
			secret = secret || name == s
		}
		if !secret {
			keep = append(keep, pair)
			continue
		}
		if name != "passphrase" {
			v, err := url.PathUnescape(value)
			if err != nil {
				return keyFile{}, false
			}
			value = v
		}
		if value == "" || len(name)+1+len(value) > maxPresetLine || strings.ContainsAny(value, "\n\r\x00") {
			return keyFile{}, false
		}
		body.WriteString(name + "=" + value + "\n")
	}
	if body.Len() == 0 {
		return keyFile{}, false
	}
	u := output[:p.queryAt-1]
	if len(keep) > 0 {
		u += "?" + strings.Join(keep, "&")
	}
	return keyFile{url: u, body: body.String()}, true
}

// splitSecret is splitKey for rtmp and rtmps, splitSRTKey for srt.
func splitSecret(output string) (keyFile, bool) {
	if kf, ok := splitKey(output); ok {
		return kf, true
	}
	return splitSRTKey(output)
}
