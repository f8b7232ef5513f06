package orchestrator

import (
	"strings"
	"testing"
)

// TestRelayArgsGolden pins the command lines of several outputs: the
// encoder's, writing FLV to livepush, and each output's ffmpeg.
func TestRelayArgsGolden(t *testing.T) {
	const global = "-hide_banner -nostdin -nostats -loglevel level+warning -progress pipe:1 -stats_period 0.5 -y "
	const in = global + "-f flv -fpsprobesize 0 -analyzeduration 100000 -i pipe:0 -map 0:v -map 0:a -c copy "
	for _, tt := range []struct {
		name string
		t    Target
		want string
	}{
		{"rtmp, key in a file", Target{Output: "rtmp://127.0.0.1/live/", KeyFile: "/tmp/d/output"},
			in + "-f flv -flvflags no_duration_filesize -fpre /tmp/d/output rtmp://127.0.0.1/live/"},
		{"rtmps verifies by default", Target{Output: "rtmps://live.example.com/app/key"},
			in + "-f flv -flvflags no_duration_filesize -tls_verify 1 rtmps://live.example.com/app/key"},
		{"rtmps with a CA file", Target{Output: "rtmps://10.0.0.2/app/", TLS: TLS{CAFile: "/etc/ca.pem"}, KeyFile: "/k"},
			in + "-f flv -flvflags no_duration_filesize -tls_verify 1 -ca_file /etc/ca.pem -fpre /k rtmps://10.0.0.2/app/"},
		{"rtmps without verification", Target{Output: "rtmps://10.0.0.2/app/key", TLS: TLS{Insecure: true}},
			in + "-f flv -flvflags no_duration_filesize -tls_verify 0 rtmps://10.0.0.2/app/key"},
		{"srt is MPEG-TS", Target{Output: "srt://10.0.0.3:9000?streamid=x"}, in + "-f mpegts srt://10.0.0.3:9000?streamid=x"},
		{"mp4 file, fragmented", Target{Output: "/tmp/a.mp4"},
			in + "-f mp4 -movflags +frag_keyframe+empty_moov+delay_moov+default_base_moof -frag_duration 1000000 -min_frag_duration 1000000 /tmp/a.mp4"},
		{"mkv file", Target{Output: "/tmp/a.mkv"}, in + "-f matroska /tmp/a.mkv"},
	} {
		if got := strings.Join(RelayArgs(tt.t), " "); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	enc := strings.Join(encoderArgs(defaultEncoding, "V", "A"), " ")
	if want := " -c:a aac -ar 24000 -ac 1 -f flv -flvflags no_duration_filesize pipe:3"; !strings.HasSuffix(enc, want) {
		t.Errorf("encoder:\n got %s\nwant ...%s", enc, want)
	}
	// One SRT output: the encoder publishes MPEG-TS itself, with no FLV flags.
	srt := strings.Join(Args(defaultEncoding, "V", "A", Target{Output: "srt://h:9000"}), " ")
	if !strings.Contains(srt, " -f mpegts ") || strings.Contains(srt, "flvflags") {
		t.Errorf("one SRT output: %s", srt)
	}
}
