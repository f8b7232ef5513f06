#!/usr/bin/env bash
# test.sh: run every test of livepush on a fresh Debian machine, installing what they need:
#
#   bash scripts/test.sh
#
# gofmt and go vet, then `go test -race -v ./...` (unit tests, the WAV fuzz corpus, and end-to-end
# tests against real ffmpeg and a real nginx-rtmp on loopback, the control page's in a headless
# Chromium), then the container stage: the container test (scripts/test-container.sh: builds the
# Dockerfile with podman and streams from the container) and README's demo command in a fresh Debian
# container (scripts/test-fresh.sh).
# LIVEPUSH_SKIP_CONTAINER=1 leaves the container stage out; LIVEPUSH_FRESH_TESTS=1 adds this very
# command (without the container stage) in a fresh Debian container. Extra arguments go to `go test`.
#
# Nothing is skipped: a missing tool fails the tests that need it (LIVEPUSH_REQUIRE_TOOLS=1), and a
# test that reports SKIP fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export LIVEPUSH_REQUIRE_TOOLS=1

ensure_go
ensure_modules
# gcc and libc6-dev: -race needs cgo, and cgo a C compiler. chromium: the control page's tests drive
# it headless.
ensure_packages --why "the end-to-end tests run ffmpeg and a headless chromium; go test -race needs a C compiler" \
	ffmpeg gcc libc6-dev chromium
bash scripts/nginx-rtmp.sh install
echo "== $(go version), $(ffmpeg -version | head -n1)" >&2

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted" >&2; exit 1; }
go vet ./...

# skips: pass go test -v's output through; at the end list the tests that reported SKIP, then
# repeat go test's package lines (ok/FAIL) so that they stay the last lines, and fail.
skips() {
	awk '
	{ print; fflush() }
	/^=== / { why = "" }
	/^ +[^ ]+\.go:[0-9]+: / { why = $0; sub(/^ +/, "", why) }
	/^ *--- SKIP: / { n++; name[n] = $3; reason[n] = why }
	/^(ok|FAIL|\?) +[^ ]/ || /^(ok|FAIL|\?)\t/ {
		res[++r] = $0
		for (i = done + 1; i <= n; i++) pkg[i] = $2
		done = n
	}
	END {
		if (n == 0) exit 0
		printf "\ntest.sh: %d test(s) skipped; nothing may be skipped here (install what they need, or fix them):\n", n
		for (i = 1; i <= n; i++) printf "  SKIP %s %s: %s\n", pkg[i], name[i], reason[i]
		for (i = 1; i <= r; i++) print res[i]
		print "FAIL (skipped tests)"
		exit 1
	}'
}
go test -race -count=1 -timeout 30m -v "$@" ./... | skips

if [ "${LIVEPUSH_SKIP_CONTAINER:-}" != 1 ]; then
	bash scripts/test-container.sh
	bash scripts/test-fresh.sh demo
	if [ "${LIVEPUSH_FRESH_TESTS:-}" = 1 ]; then bash scripts/test-fresh.sh tests; fi
fi
