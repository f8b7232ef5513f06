#!/usr/bin/env bash
# test-fresh.sh: run the README's commands as a newcomer does, in a fresh Debian bookworm container
# (nothing installed: no Go, ffmpeg, nginx, gcc or git) on a clean clone of this repo's HEAD.
#
#   bash scripts/test-fresh.sh          `bash scripts/demo.sh`: exits 0, the server recorded video
#                                       frames and audio, and the demo's own messages are not drowned
#   bash scripts/test-fresh.sh sudo     the demo as a user with sudo (README: "as root or with sudo")
#   bash scripts/test-fresh.sh tests    `LIVEPUSH_SKIP_CONTAINER=1 bash scripts/test.sh` (with CI=true)
#
# Environment: LIVEPUSH_FRESH_REF (a commit to clone instead of HEAD), LIVEPUSH_PODMAN_DIR.
# Needs root (re-runs itself with sudo). The base image is lib.sh's debian_image (mmdebstrap), kept
# with podman's state in $LIVEPUSH_PODMAN_DIR; every run starts from it anew and writes nothing back.
# The container shares the host's network, so the demo's nginx listens on a free port of this
# machine's loopback. This machine's own CA certificates (/usr/local/share/ca-certificates) are
# copied to the same place in the container, so HTTPS verifies as it does here once ca-certificates
# is installed. Nested podman does not work in the container: test.sh's container stage cannot run there.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/lib.sh"
rerun_as_root "$0" "$@"
exec </dev/null

WHAT=${1:-demo}
MAX_LINES=60 # what the demo may print on a fresh machine; apt's and Go's output go to logs
case "$WHAT" in
demo | sudo | tests) ;;
*) lib_die "usage: $0 [demo | sudo | tests]" ;;
esac

TMP=$(mktemp -d /var/tmp/livepush-fresh.XXXXXX)
CTR=livepush-fresh-$$
cleanup() {
	podman rm -f -t 0 "$CTR" >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

podman_env || lib_die "podman set-up failed"
debian_image "$TMP" || lib_die "could not make the Debian base image"

# HEAD's commit, checked out by name: a detached HEAD (as CI checks out) clones as well.
ref=$(git -C "$ROOT" rev-parse --verify "${LIVEPUSH_FRESH_REF:-HEAD}^{commit}")
git clone -q "$ROOT" "$TMP/repo"
git -C "$TMP/repo" checkout -q "$ref"
rev=$(git -C "$TMP/repo" rev-parse --short HEAD)

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=
for p in $(shuf -i 20000-29999 -n 50); do port_free "$p" && { PORT=$p; break; }; done
[ -n "$PORT" ] || lib_die "no free port found"

PREP=""
case "$WHAT" in
demo) CMD="PORT=$PORT bash scripts/demo.sh" ;;
sudo)
	CMD="PORT=$PORT bash scripts/demo.sh"
	# A newcomer's machine where the user has sudo; the demo runs as that user.
	PREP="apt-get -qq update && apt-get -qq install -y sudo >/dev/null && useradd -m newcomer &&
		echo 'newcomer ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/newcomer && cd / &&
		mv /root/livepush /home/newcomer/ && chown -R newcomer: /home/newcomer/livepush &&
		cd /home/newcomer/livepush && exec runuser -u newcomer -- "
	;;
tests) CMD="CI=true LIVEPUSH_SKIP_CONTAINER=1 bash scripts/test.sh" ;;
esac
mounts=(-v "$TMP/repo:/mnt/repo:ro")
[ -d /usr/local/share/ca-certificates ] && mounts+=(-v /usr/local/share/ca-certificates:/mnt/ca:ro)

echo "== fresh Debian bookworm, clean clone of $rev: $CMD"
t0=$SECONDS
rc=0
podman run --rm --name "$CTR" --pull=never --network=host "${mounts[@]}" \
	docker.io/library/debian:bookworm-slim \
	bash -c '! [ -d /mnt/ca ] || { mkdir -p /usr/local/share/ca-certificates && cp -a /mnt/ca/. /usr/local/share/ca-certificates/; }
		cp -a /mnt/repo /root/livepush && cd /root/livepush && '"$PREP env $CMD" 2>&1 | tee "$TMP/out.log" || rc=$?
took=$((SECONDS - t0))

failed=0
check() { # check OK WHAT
	if [ "$1" = 0 ]; then echo "PASS: $2"; else echo "FAIL: $2"; failed=$((failed + 1)); fi
}
check "$rc" "$CMD exits 0 (got $rc, ${took}s)"
if [ "$WHAT" != tests ]; then
	# The demo's summary of what nginx recorded: "  video frames=N keyframes=K, audio up to T s".
	sum=$(grep -E '^  video frames=' "$TMP/out.log" | tail -n 1 || true)
	frames=$(sed -n 's/.*video frames=\([0-9]*\).*/\1/p' <<<"$sum")
	audio=$(sed -n 's/.*audio up to \([0-9.]*\) s.*/\1/p' <<<"$sum")
	ok=1; [ "${frames:-0}" -gt 0 ] && ok=0
	check $ok "the recording has video frames (${frames:-none})"
	ok=1; awk -v a="${audio:-0}" 'BEGIN { exit !(a + 0 > 1) }' && ok=0
	check $ok "the recording has audio, more than 1 s (up to ${audio:-none} s)"
	lines=$(wc -l <"$TMP/out.log")
	ok=1; [ "$lines" -le $MAX_LINES ] && ok=0
	check $ok "the demo printed $lines lines (at most $MAX_LINES: installs are quiet)"
fi
echo "== fresh $WHAT: ${took}s in the container, ${SECONDS}s in all"
[ $failed = 0 ]
