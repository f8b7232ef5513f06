#!/usr/bin/env bash
# nginx-rtmp.sh: run a private nginx-rtmp server (Debian nginx + libnginx-mod-rtmp) on a loopback port.
#
# The single place that knows how to run nginx-rtmp, used by scripts/demo.sh and by the end-to-end tests.
#
#   scripts/nginx-rtmp.sh install          install nginx and libnginx-mod-rtmp with apt-get if missing
#   scripts/nginx-rtmp.sh start DIR PORT   write DIR/nginx.conf, start nginx, wait until 127.0.0.1:PORT accepts
#   scripts/nginx-rtmp.sh stop DIR         stop the nginx started in DIR and wait for it to exit
#   scripts/nginx-rtmp.sh status DIR       exit 0 if the nginx started in DIR is running
#
# Everything lives in DIR: nginx.conf, nginx.pid, logs/ (error.log, access.log), rec/ (recordings).
# Publishing to rtmp://127.0.0.1:PORT/live/NAME records every publish to its own file
# DIR/rec/NAME-<unix time>.flv (record_unique); when nginx has finished a recording (the publisher
# disconnected) it touches DIR/rec/NAME-<unix time>.flv.done. No system directory is written to.
set -euo pipefail

die() { echo "nginx-rtmp.sh: $*" >&2; exit 1; }

. "$(dirname "$0")/lib.sh"

find_module() {
	local p
	for p in /usr/lib/nginx/modules/ngx_rtmp_module.so /usr/lib64/nginx/modules/ngx_rtmp_module.so \
		/usr/share/nginx/modules/ngx_rtmp_module.so; do
		if [ -f "$p" ]; then echo "$p"; return 0; fi
	done
	p=$(find /usr/lib /usr/lib64 /usr/share/nginx /usr/local -name ngx_rtmp_module.so 2>/dev/null | head -n1 || true)
	[ -n "$p" ] && echo "$p"
}

find_nginx() {
	command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}

install_if_missing() {
	if [ -n "$(find_nginx)" ] && [ -n "$(find_module)" ]; then return 0; fi
	# The Debian package may start a system nginx on port 80; it is not ours and not needed, leave it.
	ensure_packages --why "nginx-rtmp: a local RTMP server to stream to" nginx libnginx-mod-rtmp
	[ -n "$(find_nginx)" ] || die "nginx is still missing after apt-get install"
	[ -n "$(find_module)" ] || die "ngx_rtmp_module.so is still missing after apt-get install libnginx-mod-rtmp"
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
	local dir=$1 port=$2
	case "$port" in '' | *[!0-9]*) die "bad port: $port" ;; esac
	install_if_missing
	local nginx module
	nginx=$(find_nginx)
	module=$(find_module)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	mkdir -p "$dir/rec" "$dir/logs" "$dir/tmp"
	if [ -f "$dir/nginx.pid" ] && alive "$(cat "$dir/nginx.pid")"; then
		die "an nginx is already running from $dir (pid $(cat "$dir/nginx.pid"))"
	fi
	rm -f "$dir/nginx.pid"
	local user_line=""
	if [ "$(id -u)" = 0 ]; then user_line="user root;"; fi
	cat >"$dir/nginx.conf" <<EOF
# written by scripts/nginx-rtmp.sh
load_module $module;
$user_line
daemon on;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log info;

events {
    worker_connections 256;
}

rtmp {
    # Not the compiled-in /var/log/nginx/access.log, which only root may open.
    access_log $dir/logs/access.log;
    server {
        listen 127.0.0.1:$port;
        chunk_size 4096;
        application live {
            live on;
            record all;
            record_unique on;
            record_path $dir/rec;
            exec_record_done /usr/bin/touch \$path.done;
        }
    }
}
EOF
	"$nginx" -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" ||
		die "nginx rejected $dir/nginx.conf"
	"$nginx" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" ||
		die "nginx failed to start; see $dir/logs/error.log"
	local i
	for i in $(seq 1 200); do
		if [ -f "$dir/nginx.pid" ] && port_open "$port"; then
			echo "nginx-rtmp listening on rtmp://127.0.0.1:$port/live (pid $(cat "$dir/nginx.pid"), recordings in $dir/rec)" >&2
			return 0
		fi
		if [ -f "$dir/nginx.pid" ] && ! alive "$(cat "$dir/nginx.pid")"; then break; fi
		sleep 0.05
	done
	tail -n 20 "$dir/logs/error.log" >&2 || true
	die "nginx did not accept connections on 127.0.0.1:$port"
}

cmd_stop() {
	local dir=$1
	[ -f "$dir/nginx.pid" ] || { echo "nginx-rtmp.sh: no nginx.pid in $dir, nothing to stop" >&2; return 0; }
	local pid kids i
	pid=$(cat "$dir/nginx.pid")
	if ! alive "$pid"; then rm -f "$dir/nginx.pid"; return 0; fi
	kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 200); do
		local left=0 k
		for k in $pid $kids; do if alive "$k"; then left=1; fi; done
		if [ $left = 0 ]; then rm -f "$dir/nginx.pid"; return 0; fi
		sleep 0.05
	done
	kill -KILL "$pid" $kids 2>/dev/null || true
	sleep 0.2
	rm -f "$dir/nginx.pid"
	echo "nginx-rtmp.sh: nginx (pid $pid) had to be killed" >&2
}

cmd_status() {
	local dir=$1
	[ -f "$dir/nginx.pid" ] && alive "$(cat "$dir/nginx.pid")"
}

case "${1:-}" in
install) install_if_missing ;;
start) [ $# -eq 3 ] || die "usage: $0 start DIR PORT"; cmd_start "$2" "$3" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; cmd_stop "$2" ;;
status) [ $# -eq 2 ] || die "usage: $0 status DIR"; cmd_status "$2" ;;
*) die "usage: $0 install | start DIR PORT | stop DIR | status DIR" ;;
esac
