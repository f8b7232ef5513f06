package orchestrator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileExtensions lists the output file extensions livepush writes, for
// messages.
const FileExtensions = ".flv, .mp4, .mov, .mkv, .ts or .m2ts"

// outputFormat is ffmpeg's muxer for output: FLV for an rtmp(s) URL; for a
// file, the container its extension names.
func outputFormat(output string) (string, error) {
	if p, ok := splitURL(output, true); ok && isSRT(p.scheme) {
		return "mpegts", nil // SRT carries MPEG-TS
	}
	if Output(output).IsURL() {
		return "flv", nil
	}
	ext := strings.ToLower(filepath.Ext(output))
	switch ext {
	case ".flv":
		return "flv", nil
	case ".mp4":
		return "mp4", nil
	case ".mov":
		return "mov", nil
	case ".mkv":
		return "matroska", nil
	case ".ts", ".m2ts": // ffmpeg writes 192-byte packets for .m2ts by itself
		return "mpegts", nil
	}
	if ext == "" {
		return "", fmt.Errorf("%w: output file %q has no extension (want %s)", ErrInvalidConfig, output, FileExtensions)
	}
	return "", fmt.Errorf("%w: output file extension %q not supported (want %s)", ErrInvalidConfig, ext, FileExtensions)
}

// muxerOptions are the output options a muxer needs.
//
// MP4 and MOV are fragmented, about one fragment a second: a plain MP4
// writes its index (moov) only when ffmpeg finishes, so a stream cut by a
// crash, a kill or a power cut would leave an unreadable file. Fragmented,
// such a file plays up to its last whole fragment. delay_moov writes the
// moov with the first fragment, once the AAC priming is known: without it
// the edit list is missing and every video frame but the first is shifted
// by the priming (43 ms at 24 kHz). min_frag_duration keeps frag_keyframe
// from cutting a fragment at every frame at --gop 1; frag_duration cuts
// one a second when keyframes are further apart.
func muxerOptions(format string) []string {
	switch format {
	case "mp4", "mov":
		return []string{
			"-movflags", "+frag_keyframe+empty_moov+delay_moov+default_base_moof",
			"-frag_duration", "1000000",
			"-min_frag_duration", "1000000",
		}
	}
	return nil
}

// progressMessage is the log line for ffmpeg's first progress: it publishes
// to a server or writes a file. The output is ffmpeg's last argument.
func progressMessage(args []string) string {
	if len(args) > 0 && !Output(args[len(args)-1]).IsURL() {
		return "ffmpeg is writing"
	}
	return "ffmpeg is publishing"
}

// freeName is name(k) for the first k from k on whose file does not exist.
// Any other error from Lstat ends the search: ffmpeg reports it better.
func freeName(name func(int) string, k int) string {
	for ; ; k++ {
		if _, err := os.Lstat(name(k)); err != nil {
			return name(k)
		}
	}
}
