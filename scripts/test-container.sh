#!/usr/bin/env bash
# Build the livepush container image from the repo's Dockerfile with podman and test it for real:
# --help, version, --dry-run (stream key masked), a non-root process, and a real stream of the
# bundled samples into nginx-rtmp on this machine's loopback, checked with ffprobe.
#
# Meant for a Debian bookworm machine, with no Docker engine and no container registry (only Debian's
# packages and the Go module proxy are reachable). It needs root and re-runs itself with sudo when
# started as another user. So:
#   - podman runs as lib.sh's podman_env sets it up (runc, cgroupfs, the host's network namespace);
#   - the base images are made locally and tagged with the public names the Dockerfile uses:
#     docker.io/library/debian:bookworm-slim (mmdebstrap minbase, with the slim variant's dpkg
#     excludes) and docker.io/library/golang:1.25-bookworm (that Debian plus the Go that lib.sh's
#     ensure_go finds or fetches, its GOROOT), so the Dockerfile builds unchanged with --pull=never.
# Podman's images and build cache are kept in $LIVEPUSH_PODMAN_DIR (default /var/tmp/livepush-podman)
# so a second run is fast; delete that directory to start cold.
#
# Usage: scripts/test-container.sh            (env: IMAGE, RTMP_PORT, LIVEPUSH_PODMAN_DIR, KEEP_TMP=1)
# Prints PASS/FAIL lines and ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/lib.sh"
LIB_KEEP_ENV="IMAGE RTMP_PORT KEEP_TMP GOTOOLCHAIN" rerun_as_root "$0" "$@"
exec </dev/null
IMAGE=${IMAGE:-localhost/livepush:test}
GO_TAG=1.25-bookworm
DEB_TAG=bookworm-slim

PASSED=0 FAILED=0
t() { echo "== $* (${SECONDS}s)"; }
pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
finish() {
  echo "== done (${SECONDS}s)"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && exit 0 || exit 1
}
die() { fail "$*"; finish; }

TMP=$(mktemp -d /tmp/livepush-ctr.XXXXXX)
NGINX_DIR=$TMP/nginx
CTR=livepush-test-$$
cleanup() {
  if [ -n "${PODMAN_READY:-}" ]; then podman rm -f -t 0 "$CTR" >/dev/null 2>&1 || true; fi
  if [ -f "$NGINX_DIR/nginx.pid" ] && [ -f "$ROOT/scripts/nginx-rtmp.sh" ]; then
    bash "$ROOT/scripts/nginx-rtmp.sh" stop "$NGINX_DIR" >/dev/null 2>&1 || true
  fi
  if [ -z "${KEEP_TMP:-}" ]; then rm -rf "$TMP"; else echo "kept $TMP"; fi
}
trap cleanup EXIT

# ---- host packages, podman, Go --------------------------------------------------------------------
t "host packages"
# ffmpeg: stand-in samples and ffprobe for the recordings; nginx-rtmp: the server the container streams to.
# (lib.sh's installers end the script with their error and log when they fail.)
ensure_packages --why "ffprobe checks what the container streamed" ffmpeg
bash "$ROOT/scripts/nginx-rtmp.sh" install || die "install nginx-rtmp"
podman_env || die "podman set-up"
PODMAN_READY=1
# Containers left by a run that was killed.
podman ps -a --format '{{.Names}}' 2>/dev/null | grep '^livepush-test-' | xargs -r podman rm -f -t 0 >/dev/null 2>&1
P() { podman "$@"; }

# ---- base images, made locally under the public names ---------------------------------------------
debian_image "$TMP" || die "base image debian:$DEB_TAG"

# The Go the scripts use (on PATH, in /usr/local/go, or fetched): the image is remade when it changes.
ensure_go
GOROOT_USED=$(go env GOROOT)
GO_LABEL="$(go env GOVERSION) $GOROOT_USED"
if [ "$(P image inspect --format '{{index .Labels "livepush.go"}}' "docker.io/library/golang:$GO_TAG" 2>/dev/null)" != "$GO_LABEL" ]; then
  t "base image golang:$GO_TAG (Debian + $GO_LABEL)"
  # This machine's extra CA certificates (if any) go into the build image only, so that
  # 'go mod download' inside the build trusts the module proxy as this machine does.
  mkdir -p "$TMP/goctx/ca"
  cp -a /usr/local/share/ca-certificates/. "$TMP/goctx/ca/" 2>/dev/null || true
  cat > "$TMP/goctx/Dockerfile" <<'EOF'
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
COPY --from=go . /usr/local/go
ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
  P build -q --pull=never --network=host -t "docker.io/library/golang:$GO_TAG" --label "livepush.go=$GO_LABEL" \
      --build-context go="$GOROOT_USED" -f "$TMP/goctx/Dockerfile" "$TMP/goctx" >/dev/null 2>"$TMP/golang.log" \
    || { tail -20 "$TMP/golang.log"; die "base image golang:$GO_TAG"; }
fi

# ---- the image ---------------------------------------------------------------------------------------
t "build $IMAGE"
if P build --pull=never --network=host --build-arg VERSION="$(git -C "$ROOT" describe --always --dirty 2>/dev/null)" -t "$IMAGE" "$ROOT" >"$TMP/build.log" 2>&1; then
  size=$(P image inspect --format '{{.Size}}' "$IMAGE")
  pass "image builds ($((size / 1000000)) MB)"
else
  tail -40 "$TMP/build.log"
  die "image builds"
fi
run() { P run --rm --pull=never --network=host "$@"; }

# ---- samples -----------------------------------------------------------------------------------------
DATA=$ROOT/testdata
if [ ! -f "$DATA/sample.png" ] || [ ! -f "$DATA/speech.wav" ]; then
  echo "testdata/sample.png or testdata/speech.wav missing: generating stand-ins"
  DATA=$TMP/data && mkdir -p "$DATA"
  ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=256x256 -frames:v 1 "$DATA/sample.png"
  ffmpeg -hide_banner -loglevel error -f lavfi -i sine=frequency=440:sample_rate=16000:duration=4 \
    -ac 1 -c:a pcm_s16le "$DATA/speech.wav"
fi
MOUNT=(-v "$DATA:/data:ro")

# ---- (1) help and version -------------------------------------------------------------------------
t "help"
if out=$(run "$IMAGE" stream --help 2>&1) && grep -q -- '--image' <<<"$out" && grep -q -- '--audio' <<<"$out"; then
  pass "stream --help"
else
  echo "$out" | tail -20; fail "stream --help"
fi
if out=$(run "$IMAGE" 2>&1); then pass "default CMD (--help) exits 0"; else echo "$out" | tail -20; fail "default CMD (--help) exits 0"; fi
if out=$(run "$IMAGE" version 2>&1) && [ -n "$out" ]; then pass "version: $(head -1 <<<"$out")"; else echo "$out" | tail; fail "version"; fi
if out=$(run --entrypoint ffmpeg "$IMAGE" -hide_banner -encoders 2>&1) && grep -q libx264 <<<"$out" && grep -qw aac <<<"$out"; then
  pass "ffmpeg in the image has libx264 and aac"
else
  echo "$out" | tail; fail "ffmpeg in the image has libx264 and aac"
fi
if out=$(run --entrypoint ldd "$IMAGE" /usr/bin/ffmpeg 2>&1) && ! grep -q 'not found' <<<"$out"; then
  pass "every library ffmpeg links is in the image"
else
  grep 'not found' <<<"$out" | head; fail "every library ffmpeg links is in the image"
fi

# ---- (2) --dry-run masks the stream key; exit codes ------------------------------------------------
t "dry-run, exit codes"
KEY=k3y-$RANDOM$RANDOM-secret
STREAM_ARGS=(stream --image /data/sample.png --audio /data/speech.wav --size 256x256)
if out=$(run "${MOUNT[@]}" "$IMAGE" "${STREAM_ARGS[@]}" -o "rtmp://127.0.0.1:1/live/$KEY" --dry-run 2>&1) \
    && grep -q '^ffmpeg .*libx264' <<<"$out" && grep -q 'rtmp://127.0.0.1:1/live/' <<<"$out" && ! grep -q "$KEY" <<<"$out"; then
  pass "--dry-run prints the ffmpeg command with the key masked"
else
  echo "$out" | tail -20; fail "--dry-run prints the ffmpeg command with the key masked"
fi
if out=$(run "${MOUNT[@]}" -e "LIVEPUSH_OUTPUT=rtmp://127.0.0.1:1/live/$KEY" "$IMAGE" "${STREAM_ARGS[@]}" --dry-run 2>&1) \
    && grep -q '^ffmpeg .*rtmp://127.0.0.1:1/live/' <<<"$out" && ! grep -q "$KEY" <<<"$out"; then
  pass "--dry-run with LIVEPUSH_OUTPUT from the environment, key masked"
else
  echo "$out" | tail -20; fail "--dry-run with LIVEPUSH_OUTPUT from the environment, key masked"
fi
if out=$(run "${MOUNT[@]}" -e LIVEPUSH_FFMPEG=/usr/bin/ffmpeg "$IMAGE" "${STREAM_ARGS[@]}" -o out.flv --dry-run 2>&1) \
    && grep -q '^/usr/bin/ffmpeg ' <<<"$out"; then
  pass "--dry-run with LIVEPUSH_FFMPEG from the environment"
else
  echo "$out" | tail -20; fail "--dry-run with LIVEPUSH_FFMPEG from the environment"
fi
out=$(run "${MOUNT[@]}" "$IMAGE" stream --image /data/missing.png --audio /data/speech.wav -o rtmp://127.0.0.1:1/live/x 2>&1); rc=$?
if [ "$rc" -eq 2 ]; then pass "a missing input file exits 2"; else echo "$out" | tail; fail "a missing input file exits 2 (got $rc)"; fi
out=$(run "${MOUNT[@]}" "$IMAGE" "${STREAM_ARGS[@]}" -o "rtmp://127.0.0.1:1/live/$KEY" \
  --max-restarts 1 --restart-delay 100ms 2>&1); rc=$?
if [ "$rc" -eq 1 ] && grep -q 'Connection refused' <<<"$out" && ! grep -q "$KEY" <<<"$out"; then
  pass "an unreachable server exits 1 after --max-restarts, key masked in the log"
else
  echo "$out" | tail; fail "an unreachable server exits 1 after --max-restarts, key masked in the log (got $rc)"
fi

# ---- (3) not root ---------------------------------------------------------------------------------------
t "user"
uid=$(run --entrypoint id "$IMAGE" -u 2>&1)
if [[ "$uid" =~ ^[0-9]+$ ]] && [ "$uid" -ne 0 ]; then pass "image user is uid $uid"; else fail "image user is not root (id -u: $uid)"; fi
if out=$(run --entrypoint sh "$IMAGE" -c 'd=$(mktemp -d) && mkfifo "$d/f" && rm -r "$d" && echo ok' 2>&1) && [ "$out" = ok ]; then
  pass "the user can make FIFOs under TMPDIR"
else
  echo "$out"; fail "the user can make FIFOs under TMPDIR"
fi

# ---- (4) real streams into nginx-rtmp on loopback -----------------------------------------------------
t "stream"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${RTMP_PORT:-}
if [ -z "$PORT" ]; then
  for p in $(seq $((19350 + RANDOM % 500)) 19999); do port_free "$p" && { PORT=$p; break; }; done
fi
URL=rtmp://127.0.0.1:$PORT/live

# stream NAME PODMAN_ARGS...: stream the samples to $URL/NAME in container $CTR; pass/fail on its exit code.
stream() {
  local name=$1 rc; shift
  P rm -f -t 0 "$CTR" >/dev/null 2>&1
  P run -d --name "$CTR" --pull=never --network=host "${MOUNT[@]}" "$@" "$IMAGE" \
    "${STREAM_ARGS[@]}" -o "$URL/$name" >/dev/null || { fail "$name: container starts"; return 1; }
  if [ "$name" = test ]; then
    # The users of livepush and of its ffmpeg child, seen from the host while it streams.
    local users="" _
    for _ in $(seq 1 100); do
      users=$(P top "$CTR" huser,user,comm 2>/dev/null | tail -n +2)
      grep -q ffmpeg <<<"$users" && break
      sleep 0.2
    done
    if grep -q ffmpeg <<<"$users" && grep -q livepush <<<"$users" \
        && ! awk '$1 == "root" || $1 == "0" || $2 == "root" || $2 == "0"' <<<"$users" | grep -q .; then
      pass "livepush and ffmpeg run as non-root (host uid/user/command: $(tr -s ' \n' ' ' <<<"$users"))"
    else
      echo "$users"; fail "livepush and ffmpeg run as non-root in the container"
    fi
  fi
  rc=$(timeout 300 podman wait "$CTR" 2>&1 | tail -1)
  P logs "$CTR" >"$TMP/$name.log" 2>&1
  P rm -f -t 0 "$CTR" >/dev/null 2>&1
  if [ "$rc" = 0 ]; then pass "$name: stream to $URL/$name exits 0"; else tail -30 "$TMP/$name.log"; fail "$name: stream exits 0 (got $rc)"; fi
}

# probe NAME: check the recording nginx made of $URL/NAME.
probe() {
  local name=$1 rec probe dur
  rec=$(ls -t "$NGINX_DIR/rec/$name"-*.flv 2>/dev/null | head -1)
  if [ -z "$rec" ]; then
    ls -la "$NGINX_DIR/rec" 2>&1 | tail; tail -5 "$NGINX_DIR/logs/error.log" 2>/dev/null
    fail "$name: nginx recorded the stream"; return 1
  fi
  probe=$(ffprobe -v error -show_entries stream=codec_name,width,height:format=duration -of default=nw=1 "$rec" 2>&1)
  dur=$(sed -n 's/^duration=//p' <<<"$probe")
  if grep -qx codec_name=h264 <<<"$probe" && grep -qx codec_name=aac <<<"$probe" \
      && grep -qx width=256 <<<"$probe" && grep -qx height=256 <<<"$probe" \
      && awk -v d="$dur" 'BEGIN { exit !(d + 0 > 1) }'; then
    pass "$name: recording is h264 + aac, 256x256, ${dur}s"
  else
    echo "$probe"; fail "$name: recording is h264 + aac, 256x256, longer than 1 s"
  fi
}

# wait_recorded NAME SECS DEADLINE: wait until nginx's recording of NAME holds more than SECS seconds
# of video, while container $CTR runs; give up after DEADLINE seconds.
wait_recorded() {
  local name=$1 secs=$2 end=$((SECONDS + $3)) rec last
  while [ $SECONDS -lt $end ]; do
    rec=$(ls -t "$NGINX_DIR/rec/$name"-*.flv 2>/dev/null | head -1)
    if [ -n "$rec" ]; then
      last=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts_time -of csv=p=0 "$rec" 2>/dev/null | tail -n 1)
      awk -v t="$last" -v s="$secs" 'BEGIN { exit !(t + 0 > s) }' && return 0
    fi
    [ "$(P inspect --format '{{.State.Running}}' "$CTR" 2>/dev/null)" = true ] || return 1
    sleep 0.2
  done
  return 1
}

mkdir -p "$NGINX_DIR"
if [ ! -f "$ROOT/scripts/nginx-rtmp.sh" ]; then
  fail "scripts/nginx-rtmp.sh is missing"
elif ! bash "$ROOT/scripts/nginx-rtmp.sh" start "$NGINX_DIR" "$PORT" >"$TMP/nginx.log" 2>&1; then
  cat "$TMP/nginx.log"; fail "nginx-rtmp starts on 127.0.0.1:$PORT"
else
  pass "nginx-rtmp starts on 127.0.0.1:$PORT"
  # As README runs it: host network, the samples mounted.
  stream test
  # As the Kubernetes example runs it: read-only root filesystem with a fresh /tmp, no capabilities,
  # no privilege escalation, the URL from the environment.
  P rm -f -t 0 "$CTR" >/dev/null 2>&1
  P run -d --name "$CTR" --pull=never --network=host "${MOUNT[@]}" --read-only --read-only-tmpfs=false \
    --tmpfs /tmp:rw,mode=1777 --cap-drop=ALL --security-opt=no-new-privileges \
    -e "LIVEPUSH_OUTPUT=$URL/hardened" "$IMAGE" "${STREAM_ARGS[@]}" >/dev/null \
    || fail "hardened: container starts"
  rc=$(timeout 300 podman wait "$CTR" 2>&1 | tail -1)
  P logs "$CTR" >"$TMP/hardened.log" 2>&1
  P rm -f -t 0 "$CTR" >/dev/null 2>&1
  if [ "$rc" = 0 ]; then
    pass "hardened: stream with --read-only, a tmpfs /tmp, --cap-drop=ALL and LIVEPUSH_OUTPUT exits 0"
  else
    tail -30 "$TMP/hardened.log"; fail "hardened: stream with --read-only, a tmpfs /tmp, --cap-drop=ALL exits 0 (got $rc)"
  fi
  # As Kubernetes stops a pod: SIGTERM to livepush, PID 1 in the container, while it loops.
  P rm -f -t 0 "$CTR" >/dev/null 2>&1
  if P run -d --name "$CTR" --pull=never --network=host "${MOUNT[@]}" "$IMAGE" \
      "${STREAM_ARGS[@]}" --loop -o "$URL/stop" >/dev/null; then
    # Stop it mid-stream, once the server has recorded more than 2 s of it.
    if ! wait_recorded stop 2 60; then
      fail "stop: the --loop stream was recorded for 2 s within 60 s"
    fi
    t0=$SECONDS
    P stop -t 20 "$CTR" >/dev/null 2>&1
    took=$((SECONDS - t0))
    rc=$(P inspect --format '{{.State.ExitCode}}' "$CTR" 2>&1)
    P logs "$CTR" >"$TMP/stop.log" 2>&1
    P rm -f -t 0 "$CTR" >/dev/null 2>&1
    if [ "$rc" = 0 ] && [ "$took" -lt 20 ]; then
      pass "stop: SIGTERM (podman stop) ends a --loop stream with exit 0 in ${took}s"
    else
      tail -20 "$TMP/stop.log"; fail "stop: SIGTERM ends a --loop stream with exit 0 (got $rc after ${took}s)"
    fi
  else
    fail "stop: container starts"
  fi
  bash "$ROOT/scripts/nginx-rtmp.sh" stop "$NGINX_DIR" >/dev/null 2>&1   # closes the recordings
  probe test
  probe hardened
  probe stop
fi

finish
