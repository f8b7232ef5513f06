#!/usr/bin/env bash
# demo.sh: see livepush work on a fresh Debian machine, in one command:
#
#   bash scripts/demo.sh
#
# Installs what is missing (ffmpeg, nginx, libnginx-mod-rtmp with apt-get), builds livepush, starts a
# private nginx-rtmp on 127.0.0.1:$PORT (default 1935), streams testdata/sample.png + testdata/speech.wav
# in a loop for $DURATION seconds (default 20; Ctrl-C stops earlier), then probes what the server recorded
# and prints a summary. While it runs, watch with:  ffplay rtmp://127.0.0.1:1935/live/demo
#
# Environment: PORT (1935), DURATION (20), NAME (stream name, demo), DEMO_DIR (work directory: binary,
# nginx config and logs, recordings; a new one under $TMPDIR by default, kept afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-1935}
DURATION=${DURATION:-20}
NAME=${NAME:-demo}
export PATH="$PATH:/usr/local/go/bin:/usr/sbin"

say() { printf '\n== %s\n' "$*" >&2; }
die() { echo "demo.sh: $*" >&2; exit 1; }
. scripts/lib.sh

case "$PORT" in '' | *[!0-9]*) die "PORT must be a number, got '$PORT'" ;; esac
case "$DURATION" in '' | *[!0-9]*) die "DURATION must be whole seconds, got '$DURATION'" ;; esac

# --- What is needed -----------------------------------------------------------------------------------
ensure_packages --why "livepush runs ffmpeg to encode and publish the stream" ffmpeg
bash scripts/nginx-rtmp.sh install
ensure_go
ensure_modules

# --- Build --------------------------------------------------------------------------------------------
WORK=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/lpdemo.XXXXXX")}
mkdir -p "$WORK"
say "building livepush into $WORK"
# As the README builds it: static (nothing in livepush needs cgo) and stripped.
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.buildVersion=$(git describe --always --dirty 2>/dev/null)" -o "$WORK/livepush" ./cmd/livepush

# --- Server -------------------------------------------------------------------------------------------
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	die "127.0.0.1:$PORT is already in use; run with another port, e.g. PORT=19350 bash scripts/demo.sh"
fi
LP=""
cleanup() {
	if [ -n "$LP" ] && kill -0 "$LP" 2>/dev/null; then
		kill -TERM "$LP" 2>/dev/null || true
		wait "$LP" 2>/dev/null || true
	fi
	bash scripts/nginx-rtmp.sh stop "$WORK/nginx" || true
}
trap cleanup EXIT
say "starting nginx-rtmp on 127.0.0.1:$PORT"
bash scripts/nginx-rtmp.sh start "$WORK/nginx" "$PORT"

# --- Stream -------------------------------------------------------------------------------------------
URL="rtmp://127.0.0.1:$PORT/live/$NAME"
say "streaming testdata/sample.png + testdata/speech.wav (looped) to $URL for ${DURATION}s (Ctrl-C stops earlier)"
echo "Watch it with:  ffplay $URL" >&2
# Its own session: a Ctrl-C reaches this script, which then stops livepush with one SIGTERM.
setsid "$WORK/livepush" stream --image testdata/sample.png --audio testdata/speech.wav --loop -o "$URL" &
LP=$!
interrupted=0
trap 'interrupted=1' INT TERM
sleep "$DURATION" &
SLEEPER=$!
while kill -0 "$SLEEPER" 2>/dev/null && kill -0 "$LP" 2>/dev/null && [ $interrupted = 0 ]; do
	wait -n "$SLEEPER" "$LP" 2>/dev/null || true
done
kill "$SLEEPER" 2>/dev/null || true
rc=0
if kill -0 "$LP" 2>/dev/null; then
	kill -TERM "$LP"
	wait "$LP" || rc=$?
else
	wait "$LP" || rc=$?
	echo "demo.sh: livepush ended before it was stopped (exit $rc)" >&2
fi
LP=""
trap - INT TERM
echo "livepush exited with status $rc" >&2

# --- What the server recorded -------------------------------------------------------------------------
sleep 0.5 # nginx closes the recording when the publisher disconnects
say "recordings in $WORK/nginx/rec"
shopt -s nullglob
recs=("$WORK/nginx/rec/$NAME"-*.flv)
[ ${#recs[@]} -gt 0 ] || die "nginx recorded nothing; see $WORK/nginx/logs/error.log"
for f in "${recs[@]}"; do
	echo "$f ($(stat -c %s "$f") bytes)"
	ffprobe -v error -show_entries stream=codec_type,codec_name,width,height,r_frame_rate,sample_rate,channels \
		-of compact=p=0:nk=0 "$f" | sed 's/^/  /'
	nv=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$f")
	nk=$(ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 "$f" | grep -c K || true)
	last=$(ffprobe -v error -select_streams a:0 -show_entries packet=pts_time -of csv=p=0 "$f" | tail -n1)
	echo "  video frames=$nv keyframes=$nk, audio up to ${last:-?} s"
done
echo "Play the recording with:  ffplay ${recs[-1]}" >&2
exit "$rc"
