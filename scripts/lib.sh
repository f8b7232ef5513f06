# lib.sh: shared helpers for livepush's scripts; source it, do not run it.
#
#   ensure_packages PKG...   apt-get install the Debian packages that are missing
#   ensure_go                put a Go at least as new as go.mod asks for on PATH
#
# Only Debian's packages and the Go module proxy are assumed reachable. Debian bookworm ships
# Go 1.19, older than go.mod needs, so ensure_go fetches the Go toolchain the way the go command
# itself does: as the module golang.org/toolchain, through the module proxy.

lib_die() { echo "${0##*/}: $*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else lib_die "need root (or sudo) to run: $*"
	fi
}

LIB_APT_UPDATED=
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "${0##*/}: installing ${missing[*]} with apt-get" >&2
	if [ -z "$LIB_APT_UPDATED" ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >&2
		LIB_APT_UPDATED=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
		--no-install-recommends "${missing[@]}" >&2
}

# go_at_least GO VERSION: the go program GO is VERSION or newer.
go_at_least() {
	local have
	have=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
	[ -n "$have" ] && [ "$(printf '%s\n%s\n' "$2" "$have" | sort -V | head -n1)" = "$2" ]
}

ensure_go() {
	local root need g tc arch
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	need=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$root/go.mod" | head -n1)
	export PATH="$PATH:/usr/local/go/bin"
	for g in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go; do
		if [ -n "$g" ] && [ -x "$g" ] && go_at_least "$g" "$need"; then
			export PATH="$(dirname "$g"):$PATH"
			return 0
		fi
	done
	# An older Go (Debian's) can still download a newer toolchain as a module.
	command -v go >/dev/null 2>&1 || ensure_packages golang-go ca-certificates git
	case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
	tc="golang.org/toolchain@v0.0.1-go${need}.linux-${arch}"
	[ "${need%.*}" = "$need" ] && tc="golang.org/toolchain@v0.0.1-go${need}.0.linux-${arch}"
	local cache=${LIVEPUSH_GO_CACHE:-/var/tmp/livepush-go}
	echo "${0##*/}: fetching Go ${need} ($tc) through the module proxy into $cache" >&2
	local dir
	dir=$(cd /tmp && GOFLAGS=-modcacherw GOMODCACHE="$cache" GOTOOLCHAIN=local go mod download -json "$tc" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] && [ -x "$dir/bin/go" ] || lib_die "could not fetch Go $need as $tc"
	chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
	export PATH="$dir/bin:$PATH" GOTOOLCHAIN=local
	go_at_least go "$need" || lib_die "Go $need still not usable"
}
