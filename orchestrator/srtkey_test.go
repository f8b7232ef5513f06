package orchestrator

import "testing"

func TestSplitSRTKey(t *testing.T) {
	for _, tt := range []struct {
		in, url, body string
		ok            bool
	}{
		{"srt://h:9000?streamid=%23%21%3A%3Ar%3Dlive&latency=200&passphrase=abc%20defghij", "srt://h:9000?latency=200",
			"streamid=#!::r=live\npassphrase=abc%20defghij\n", true},
		{"srt://h:9000?passphrase=secretsecret", "srt://h:9000", "passphrase=secretsecret\n", true},
		{"srt://h:9000?latency=200", "", "", false},
		{"srt://h:9000", "", "", false},
		{"srt://h:9000?streamid=%zz", "", "", false},
		{"srt://h:9000?streamid=", "", "", false},
		{"rtmp://h/live/key", "rtmp://h/live/", "rtmp_app=live\nrtmp_playpath=key\n", true},
	} {
		kf, ok := splitSecret(tt.in)
		if ok != tt.ok || kf.url != tt.url || kf.body != tt.body {
			t.Errorf("splitSecret(%q) = %q %q %v, want %q %q %v", tt.in, kf.url, kf.body, ok, tt.url, tt.body, tt.ok)
		}
	}
}
