# lib.sh: shared helpers for livepush's scripts; source it, do not run it.
#
#   ensure_packages [--why TEXT] PKG...   apt-get install the Debian packages that are missing
#   ensure_go                             put a Go at least as new as go.mod asks for on PATH
#   ensure_modules                        download the Go modules go.mod needs, if missing
#   rerun_as_root SCRIPT ARG...           unless root, run SCRIPT again with sudo
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

# rerun_as_root SCRIPT ARG...: unless root already, run SCRIPT again through sudo and never return.
# sudo resets the environment: PATH (a Go found there), the LIVEPUSH_* settings and the variables
# named in $LIB_KEEP_ENV are passed on.
rerun_as_root() {
	[ "$(id -u)" = 0 ] && return 0
	command -v sudo >/dev/null 2>&1 || lib_die "needs root, and there is no sudo to become root"
	# Names only: values on sudo's command line (a stream key, a token) would show in ps.
	local keep=PATH v
	for v in $(compgen -e | grep '^LIVEPUSH_') ${LIB_KEEP_ENV:-}; do
		[ -n "${!v+x}" ] && keep+=",$v"
	done
	echo "${0##*/}: not root; running again with sudo" >&2
	exec sudo --preserve-env="$keep" bash "$@"
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

# ---- podman, for scripts/test-container.sh and scripts/test-fresh.sh (root only) -----------------
#
#   podman_env        configure podman for this machine, its state in $LIVEPUSH_PODMAN_DIR
#   debian_image TMP  make the base image docker.io/library/debian:bookworm-slim if missing
#
# podman runs with runc (crun 1.8 rejects a hybrid cgroup v1/v2 layout), cgroupfs, the host's network
# namespace (no bridge, no firewall changes) and ulimits lowered to what this machine allows. Images
# and build cache are kept in $LIVEPUSH_PODMAN_DIR (default /var/tmp/livepush-podman) so that later
# runs are fast; the run state is in /dev/shm, gone at reboot as it should be.

podman_env() {
	local W=${LIVEPUSH_PODMAN_DIR:-/var/tmp/livepush-podman} R=/dev/shm/livepush-podman-run nofile
	ensure_packages --why "to build and run containers" podman runc mmdebstrap || return 1
	mkdir -p "$W/storage" "$W/networks" "$R/run" "$R/tmp"
	cat >"$W/storage.conf" <<EOC
[storage]
driver = "overlay"
runroot = "$R/run"
graphroot = "$W/storage"
EOC
	nofile=$(ulimit -Hn)
	[ "$nofile" = unlimited ] && nofile=1048576
	cat >"$W/containers.conf" <<EOC
[containers]
netns = "host"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$R/tmp"
[network]
network_config_dir = "$W/networks"
EOC
	export CONTAINERS_STORAGE_CONF="$W/storage.conf" CONTAINERS_CONF="$W/containers.conf"
	local err
	if ! err=$(podman info 2>&1 >/dev/null); then
		# A store left unusable (e.g. a run killed half-way): start it again from nothing.
		echo "$err" >&2
		echo "${0##*/}: podman state unusable; resetting $W/storage" >&2
		rm -rf "$W/storage" "$R" && mkdir -p "$W/storage" "$R/run" "$R/tmp"
		podman info >/dev/null || return 1
	fi
}

debian_image() {
	local tmp=$1 tag=docker.io/library/debian:bookworm-slim src=/etc/apt/sources.list.d/debian.sources
	podman image exists "$tag" && return 0
	echo "${0##*/}: making the base image $tag with mmdebstrap (Debian minbase, a minute or two)" >&2
	[ -f "$src" ] || src=http://deb.debian.org/debian
	# Like the public image: merged /usr (usr-is-merged, not usrmerge and its perl), the slim variant's
	# dpkg excludes (docs, man pages, locales), unsafe-io dpkg, and apt keeping no caches.
	mmdebstrap --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--dpkgopt=force-unsafe-io \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--customize-hook='d=$1/etc/apt/apt.conf.d
      echo "Acquire::Languages \"none\";" > "$d/docker-no-languages"
      echo "Acquire::GzipIndexes \"true\";" > "$d/docker-gzip-indexes"
      echo "Apt::AutoRemove::SuggestsImportant \"false\";" > "$d/docker-autoremove-suggests"
      printf "%s\n" "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" \
        "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" \
        "Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" > "$d/docker-clean"
      rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
		bookworm - "$src" >"$tmp/base.tar" 2>"$tmp/mmdebstrap.log" &&
		podman import --change 'CMD ["bash"]' "$tmp/base.tar" "$tag" >/dev/null ||
		{ tail -n 20 "$tmp/mmdebstrap.log" >&2; rm -f "$tmp/base.tar"; return 1; }
	rm -f "$tmp/base.tar"
}
