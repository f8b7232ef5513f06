#!/usr/bin/env bash
# test.sh: run every test of livepush on a fresh Debian machine, installing what they need:
#
#   bash scripts/test.sh
#
# gofmt and go vet, then `go test -race ./...` (unit tests, the WAV fuzz corpus, and end-to-end tests
# against real ffmpeg and a real nginx-rtmp on loopback), then the container test
# (scripts/test-container.sh: builds the Dockerfile with podman and streams from the container).
# LIVEPUSH_SKIP_CONTAINER=1 leaves the container test out; extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_go
ensure_packages ffmpeg
bash scripts/nginx-rtmp.sh install
echo "== $(go version), $(ffmpeg -version | head -n1)" >&2

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted" >&2; exit 1; }
go vet ./...
go test -race -count=1 -timeout 30m "$@" ./...

if [ "${LIVEPUSH_SKIP_CONTAINER:-}" != 1 ]; then
	bash scripts/test-container.sh
fi
