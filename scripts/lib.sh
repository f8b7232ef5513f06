# lib.sh: shared helpers for livepush's scripts; source it, do not run it.
#
#   ensure_packages [--why TEXT] PKG...   apt-get install the Debian packages that are missing
#   ensure_go                             put a Go at least as new as go.mod asks for on PATH
#   ensure_modules                        download the Go modules go.mod needs, if missing
#
# Installs and downloads say in one line what they fetch and why, and keep their own output in a log
# that is shown (its tail) only when they fail.
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

# lib_quiet LOG CMD...: run CMD with its output in LOG; on failure show LOG's tail and fail.
lib_quiet() {
	local log=$1 rc=0
	shift
	"$@" >"$log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		echo "${0##*/}: failed (exit $rc): $*; the end of $log:" >&2
		tail -n 25 "$log" | sed 's/^/  | /' >&2
	fi
	return $rc
}

LIB_APT_UPDATED=
ensure_packages() {
	local why="" missing=() p n log
	if [ "${1:-}" = --why ]; then why=" ($2)"; shift 2; fi
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log=$(mktemp "${TMPDIR:-/tmp}/livepush-apt.XXXXXX.log")
	local apt=(as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
	if [ -z "$LIB_APT_UPDATED" ]; then
		lib_quiet "$log" "${apt[@]}" update || lib_die "apt-get update failed; log in $log"
		LIB_APT_UPDATED=1
	fi
	n=$("${apt[@]}" -s install --no-install-recommends "${missing[@]}" 2>/dev/null | grep -c '^Inst ' || true)
	echo "${0##*/}: installing ${missing[*]}$why with apt-get ($n packages; log in $log)" >&2
	lib_quiet "$log" "${apt[@]}" install -y --no-install-recommends "${missing[@]}" ||
		lib_die "apt-get install ${missing[*]} failed; log in $log"
	rm -f "$log"
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
	command -v go >/dev/null 2>&1 ||
		ensure_packages --why "Debian's Go, only to fetch Go $need: go.mod needs it, bookworm has 1.19" \
			golang-go ca-certificates git
	case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
	tc="golang.org/toolchain@v0.0.1-go${need}.linux-${arch}"
	[ "${need%.*}" = "$need" ] && tc="golang.org/toolchain@v0.0.1-go${need}.0.linux-${arch}"
	local cache=${LIVEPUSH_GO_CACHE:-/var/tmp/livepush-go} dir log
	log=$(mktemp "${TMPDIR:-/tmp}/livepush-go.XXXXXX.log")
	echo "${0##*/}: fetching Go $need (go.mod needs it; no Go that new here) through the module proxy," \
		"about 70 MB, into $cache" >&2
	lib_quiet "$log" env GOFLAGS=-modcacherw GOMODCACHE="$cache" GOTOOLCHAIN=local \
		sh -c 'cd / && exec go mod download -json "$1"' sh "$tc" ||
		lib_die "could not fetch Go $need as $tc; log in $log"
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$log")
	rm -f "$log"
	[ -n "$dir" ] && [ -f "$dir/bin/go" ] || lib_die "could not fetch Go $need: no bin/go in the module $tc"
	# The module cache keeps no file modes: the toolchain's programs are made executable here, as the
	# go command does when it switches toolchains itself.
	chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
	export PATH="$dir/bin:$PATH" GOTOOLCHAIN=local
	go_at_least go "$need" || lib_die "Go $need fetched into $dir but not usable"
}

ensure_modules() {
	local root log
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	# With the proxy off this succeeds only when every module is in the cache already.
	(cd "$root" && GOPROXY=off go mod download) >/dev/null 2>&1 && return 0
	log=$(mktemp "${TMPDIR:-/tmp}/livepush-mod.XXXXXX.log")
	echo "${0##*/}: fetching the Go modules livepush needs (go.sum) through the module proxy" >&2
	lib_quiet "$log" sh -c 'cd "$1" && exec go mod download' sh "$root" ||
		lib_die "could not fetch the Go modules; log in $log"
	rm -f "$log"
}

