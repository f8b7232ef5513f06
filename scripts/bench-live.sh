#!/usr/bin/env bash
# bench-live.sh: live mode's latency, CPU and memory, side by side with what the design's floor allows:
#
#   bash scripts/bench-live.sh                 # quick: 5 trials a row, a 2-minute memory run (about 5 minutes)
#   BENCH_LONG=1 bash scripts/bench-live.sh    # 20 trials a row, a 10-minute memory run (about 20 minutes)
#
# Builds livepush and scripts/bench/arrivals, starts a private nginx-rtmp on a free loopback port and
# runs `livepush stream --live` at 256x256 (25 fps, 24 kHz mono, its defaults otherwise) with one
# subscriber: `ffprobe -show_packets` on the rtmp URL, each line stamped in Unix time when it arrives
# (arrivals record -epoch -size). Then:
#
#  1. Latency. A trial posts a 5 s tone (440 Hz, from its first sample) with `POST /v1/speech` while
#     the stream is silent, waits a random 0.3-0.8 s after the tone is heard, and posts
#     `POST /v1/interrupt`. Both requests are sent by `arrivals post`, which stamps the moment their
#     answer has been read. How the tone is found: by the AAC packets' size. ffmpeg's AAC encoder
#     makes packets of 4-21 bytes of frames of digital silence and of 95-800 bytes of frames with
#     the tone in it (a frame: 1024 samples, 42.7 ms at 24 kHz), so a packet over 50 bytes is tone
#     and one of 50 or less silence (the details list each run's largest silent and smallest tone
#     packet). speech = the first tone packet's arrival minus the speech POST's return; cut = the
#     first silent packet after the interrupt's return minus that return. The first tone packet may
#     be the frame before the tone's first sample (AAC's overlapping window puts some of it there):
#     that is when a listener hears it too.
#  2. What holds it back. The pacer's clock is read from `GET /v1/status` (media_seconds, stamped
#     between the request and its answer; 15 samples, the largest wall-minus-media taken, since media
#     steps up when a chunk is written): write(t) = the wall time media time t went into the pipe.
#     With t the media time the clip started (or was cut) at, from livepush's log line: pacer =
#     write(t) - POST return (the wait for the next chunk); chain = arrival of the first tone (or
#     silent) packet - write(t) (pipe, ffmpeg's input queue, AAC framing, x264's delay holding
#     audio back in the muxer's interleaving, FLV/RTMP, nginx, ffprobe). Precision about 5 ms. The steady
#     chain delay over 3 s of idle stream (median of arrival - write(pts), audio and video) is the
#     floor row: what any client of this subscriber sees, whatever livepush does. Then the same
#     trials with livepush's ffmpeg wrapped (--ffmpeg a script that adds options before the output,
#     an experiment only, not livepush's defaults): `-tune zerolatency`, `-x264-params
#     rc-lookahead=0:sync-lookahead=0`, `-threads 1` (x264's frame threads each hold a frame), and
#     `-thread_queue_size 1` on both inputs instead of 16; the saving is the default's median minus
#     the variant's. Context: plain `ffmpeg -re -loop 1 -i idle.png -i tone-at-3s.wav <livepush's
#     output options>` started cold, with a subscriber waiting: first tone packet's arrival minus
#     the process start (3.0 s of it is the silence before the tone).
#  3. CPU while idle: livepush --live with nothing posted vs file mode (`--image --audio
#     silence.wav`, the same picture and silence) at 256x256, to nginx-rtmp; run time of every
#     thread (/proc/PID/task/*/schedstat) of livepush and of its ffmpeg child from 5 s to the end
#     (20 s quick, 60 s long), as % of one core.
#  4. Memory: livepush --live with a 0.5 s clip posted every second for 2 min (10 min long): VmRSS
#     5 s after start, its peak (VmHWM), VmRSS at the end and the growth, of livepush and its ffmpeg.
#
# Prints progress and the load average to stderr and a Markdown table to stdout; writes it with every
# trial to bench-results/live-<date>.md and bench-results/live-latest.md. Exits 0 whatever the figures
# (a benchmark, not a test), 1 when a run crashed (livepush or a request failed).
#
# Environment: BENCH_LONG=1, BENCH_TRIALS (trials a row), BENCH_RSS_SECONDS, BENCH_CPU_SECONDS,
# BENCH_VARIANTS (of "zerolatency lookahead0 threads1 tqs1"), BENCH_KEEP=1 (keep the work directory),
# BENCH_OUT (results directory, bench-results).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export PATH="$PATH:/usr/local/go/bin:/usr/sbin"

LONG=${BENCH_LONG:-0}
[ "$LONG" = 1 ] || LONG=0
if [ $LONG = 1 ]; then
	TRIALS=${BENCH_TRIALS:-20} RSS_SECONDS=${BENCH_RSS_SECONDS:-600} CPU_SECONDS=${BENCH_CPU_SECONDS:-60}
else
	TRIALS=${BENCH_TRIALS:-5} RSS_SECONDS=${BENCH_RSS_SECONDS:-120} CPU_SECONDS=${BENCH_CPU_SECONDS:-20}
fi
VARIANTS=${BENCH_VARIANTS:-"zerolatency lookahead0 threads1 tqs1"}
OUTDIR=${BENCH_OUT:-bench-results}
SIZE=256x256
RATE=24000
TONE_MIN=50 # bytes: an AAC packet over this is tone, at or under it silence

say() { printf '[bench-live %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

say "checking packages (ffmpeg, nginx-rtmp, procps) and Go"
ensure_packages ffmpeg procps
bash scripts/nginx-rtmp.sh install
ensure_go

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lpbenchlive.XXXXXX")
BIN=$WORK/bin
mkdir -p "$BIN" "$WORK/media" "$WORK/arr" "$WORK/logs"

# ---- cleanup: every process this script started, and the work directory --------------------------
PIDS=()
NGINX_DIR=""
CRASHED=0
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
stop_pid() { # SIGTERM, up to 6 s, SIGKILL; then its children that are left
	local p=$1 i kids
	alive "$p" || return 0
	kids=$(pgrep -P "$p" 2>/dev/null || true)
	kill -TERM "$p" 2>/dev/null || true
	for i in $(seq 1 60); do alive "$p" || break; sleep 0.1; done
	alive "$p" && kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	for i in $kids; do alive "$i" && kill -KILL "$i" 2>/dev/null || true; done
	return 0
}
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	[ -n "$NGINX_DIR" ] && bash scripts/nginx-rtmp.sh stop "$NGINX_DIR" >/dev/null 2>&1 || true
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---- build and inputs -------------------------------------------------------------------------------
say "building livepush and scripts/bench/arrivals"
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$BIN/livepush" ./cmd/livepush
go build -o "$BIN/arrivals" ./scripts/bench/arrivals
LP=$BIN/livepush ARR=$BIN/arrivals M=$WORK/media
ff() { ffmpeg -hide_banner -nostdin -v error -y "$@"; }
ff -f lavfi -i "mandelbrot=s=$SIZE" -frames:v 1 "$M/idle.png"
ff -f lavfi -i "sine=f=440:r=$RATE:d=5" -ac 1 -c:a pcm_s16le "$M/tone5.wav"
ff -f lavfi -i "sine=f=440:r=$RATE:d=0.5" -ac 1 -c:a pcm_s16le "$M/blip.wav"
ff -f lavfi -i "aevalsrc='if(gte(t,3),0.5*sin(2*PI*440*t),0)':s=$RATE:d=6" -c:a pcm_s16le "$M/cold.wav"
ff -f lavfi -i "anullsrc=r=$RATE:cl=mono" -t $((CPU_SECONDS + 10)) -c:a pcm_s16le "$M/silence.wav"

# Wrappers for livepush's --ffmpeg: the same command with options added before the output (its last
# word), or the input queues shrunk. An experiment; livepush's own command is left as it is.
wrapper() { # wrapper NAME: path of the wrapper script for variant NAME
	local f=$BIN/ff-$1 extra="" sedx=""
	case $1 in
	zerolatency) extra="-tune zerolatency" ;;
	lookahead0) extra="-x264-params rc-lookahead=0:sync-lookahead=0" ;;
	threads1) extra="-threads 1" ;;
	tqs1) sedx=1 ;;
	*) die "unknown variant $1" ;;
	esac
	{
		echo '#!/usr/bin/env bash'
		echo 'a=("$@")'
		echo 'out=${a[-1]}; unset "a[-1]"'
		[ -n "$sedx" ] && echo 'for i in "${!a[@]}"; do [ "${a[i]}" = -thread_queue_size ] && a[i+1]=1; done'
		echo "exec $(command -v ffmpeg) \"\${a[@]}\" $extra \"\$out\""
	} >"$f"
	chmod +x "$f"
	echo "$f"
}

# ---- helpers ----------------------------------------------------------------------------------------
free_port() {
	local p i
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }
	done
	die "no free port"
}
median() { printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g | awk '{v[NR]=$1} END{if(NR==0){print "NA"}else if(NR%2){print v[(NR+1)/2]}else{print (v[NR/2]+v[NR/2+1])/2}}'; }
worst() { printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g | tail -n1 | grep . || echo NA; }
ms() { [ "$1" = NA ] && { echo NA; return; }; awk -v x="$1" 'BEGIN{printf "%.0f ms", x*1000}'; }
sub() { { [ "$1" = NA ] || [ "$2" = NA ]; } && { echo NA; return; }; awk -v a="$1" -v b="$2" 'BEGIN{printf "%.6f", a-b}'; }
get() { # get URL: the arrivals post line of a GET
	"$ARR" post -method GET "$1" 2>/dev/null || true
}
json_num() { sed -n "s/.*\"$1\":\([-0-9.e]*\).*/\1/p"; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END{printf "%d", s}'; }
child_of() { pgrep -P "$1" ffmpeg 2>/dev/null | head -n1 || true; }
kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/"$1"/status 2>/dev/null || echo NA; }
mb() { [ "$1" = NA ] || [ -z "$1" ] && { echo NA; return; }; awk -v x="$1" 'BEGIN{printf "%.1f MB", x/1024}'; }
DETAILS=$WORK/details.txt
: >"$DETAILS"
note() { echo "$*" >>"$DETAILS"; }

NGINX_DIR=$WORK/nginx
RTMP_PORT=$(free_port)
bash scripts/nginx-rtmp.sh start "$NGINX_DIR" "$RTMP_PORT" >&2
URL=rtmp://127.0.0.1:$RTMP_PORT/live
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "load average at start: $LOAD_START"

LP_PID="" SUB_PID="" CTL=""
start_live() { # start_live NAME [FFMPEG]: livepush --live and its subscriber; sets LP_PID SUB_PID CTL
	local name=$1 ffm=${2:-ffmpeg} port i
	port=$(free_port)
	CTL=http://127.0.0.1:$port
	"$LP" stream --live --image "$M/idle.png" --size $SIZE --ffmpeg "$ffm" -o "$URL/$name" \
		--control 127.0.0.1:$port >"$WORK/logs/$name.log" 2>&1 &
	LP_PID=$!
	PIDS+=("$LP_PID")
	for i in $(seq 1 150); do
		get "$CTL/readyz" | grep -q ' 200 ' && break
		alive "$LP_PID" || break
		sleep 0.1
	done
	get "$CTL/readyz" | grep -q ' 200 ' || { CRASHED=1; say "livepush ($name) did not publish; see its log:"; tail -n 5 "$WORK/logs/$name.log" >&2; return 1; }
	"$ARR" record -epoch -size "$URL/$name=$WORK/arr/$name.csv" 2>>"$WORK/logs/arrivals.log" &
	SUB_PID=$!
	PIDS+=("$SUB_PID")
	# ffprobe's probing hands the first packets over in a burst; measure after it.
	for i in $(seq 1 100); do [ "$(cat "$WORK/arr/$name.csv" 2>/dev/null | wc -l)" -gt 100 ] && break; sleep 0.1; done
	sleep 2
}
stop_live() {
	stop_pid "$SUB_PID"
	alive "$LP_PID" || { CRASHED=1; say "livepush exited before it was stopped"; }
	stop_pid "$LP_PID"
}

# write_offset: the largest (wall - media_seconds) over 15 status samples: write(t) = t + offset.
write_offset() {
	local i l best=""
	for i in $(seq 1 15); do
		l=$(get "$CTL/v1/status")
		[ -n "$l" ] || continue
		best=$(awk -v s="$(cut -d' ' -f1 <<<"$l")" -v r="$(cut -d' ' -f2 <<<"$l")" -v m="$(json_num media_seconds <<<"$l")" -v b="$best" \
			'BEGIN{o=(s+r)/2-m; if(b==""||o>b) b=o; printf "%.6f", b}')
		sleep 0.0$((RANDOM % 5 + 2))
	done
	echo "$best"
}

# first_packet FILE AFTER tone|silence: "arrival pts" of the first audio packet that arrived after AFTER
# and is tone (size > TONE_MIN) or silence; waits for it up to 5 s.
first_packet() {
	local f=$1 after=$2 kind=$3 i r
	for i in $(seq 1 100); do
		r=$(awk -F, -v a="$after" -v k="$kind" -v t=$TONE_MIN '$2=="audio" && $1>a && ((k=="tone" && $4>t) || (k=="silence" && $4<=t)) {print $1, $3; exit}' "$f")
		[ -n "$r" ] && { echo "$r"; return; }
		sleep 0.05
	done
	echo "NA NA"
}

# clip_media LOG started|cut N: the media time (s) at which the N-th clip started or was cut, from
# livepush's log line ("speech started ... at=1m2.24s"); waits for the line up to 2 s.
clip_media() {
	local i r
	for i in $(seq 1 40); do
		r=$(grep "msg=\"speech $2\"" "$1" | sed -n "$3p" | sed -n 's/.* at=\([0-9hms.]*\).*/\1/p')
		[ -n "$r" ] && break
		sleep 0.05
	done
	[ -n "$r" ] || { echo NA; return; }
	awk -v d="$r" 'BEGIN{t=0; while (match(d, /^[0-9.]+(h|ms|m|s)/)) { u=substr(d, RSTART, RLENGTH); n=u+0; sub(/^[0-9.]+/, "", u); t+=n*(u=="h"?3600:u=="m"?60:u=="ms"?0.001:1); d=substr(d, RLENGTH+1) } printf "%.3f", t}'
}

declare -A VAL
add() { VAL[$1]="${VAL[$1]:-} $2"; }

# latency_run NAME [FFMPEG]: TRIALS speech + interrupt trials; fills VAL[NAME_speech|cut|pacer|chain|steady_a|steady_v]
latency_run() {
	local name=$1 ffm=${2:-ffmpeg} f off i l ret arr pts w m
	say "latency: $name, $TRIALS trials"
	start_live "$name" "$ffm" || return 0
	f=$WORK/arr/$name.csv
	off=$(write_offset)
	# steady chain delay over 3 s of idle stream
	l=$(date +%s.%N)
	sleep 3
	VAL[${name}_steady_a]=$(awk -F, -v a="$l" -v o="$off" '$2=="audio" && $1>a {print $1-($3+o)}' "$f" | sort -g | awk '{v[NR]=$1} END{print (NR? v[int((NR+1)/2)] : "NA")}')
	VAL[${name}_steady_v]=$(awk -F, -v a="$l" -v o="$off" '$2=="video" && $1>a {print $1-($3+o)}' "$f" | sort -g | awk '{v[NR]=$1} END{print (NR? v[int((NR+1)/2)] : "NA")}')
	for i in $(seq 1 "$TRIALS"); do
		sleep 0.$((RANDOM % 9 + 1))
		l=$("$ARR" post "$CTL/v1/speech" "$M/tone5.wav") || { CRASHED=1; say "speech POST failed"; break; }
		ret=$(cut -d' ' -f2 <<<"$l")
		read -r arr pts < <(first_packet "$f" "$ret" tone)
		if [ "$arr" = NA ]; then note "$name trial $i: no tone heard"; continue; fi
		m=$(clip_media "$WORK/logs/$name.log" started "$i")
		w=$(sub "$m" "-$off")
		add "${name}_speech" "$(sub "$arr" "$ret")"
		add "${name}_pacer" "$(sub "$w" "$ret")"
		add "${name}_chain" "$(sub "$arr" "$w")"
		note "$name trial $i: speech POST returned $ret, clip on air from media $m (written $w), first tone packet pts $pts arrived $arr: $(sub "$arr" "$ret") s (pacer $(sub "$w" "$ret"), chain $(sub "$arr" "$w"))"
		sleep 0.$((RANDOM % 6 + 3))
		l=$("$ARR" post "$CTL/v1/interrupt") || { CRASHED=1; say "interrupt POST failed"; break; }
		ret=$(cut -d' ' -f2 <<<"$l")
		read -r arr pts < <(first_packet "$f" "$ret" silence)
		[ "$arr" = NA ] && { note "$name trial $i: no cut seen"; continue; }
		m=$(clip_media "$WORK/logs/$name.log" cut "$i")
		w=$(sub "$m" "-$off")
		add "${name}_cut" "$(sub "$arr" "$ret")"
		add "${name}_cutpacer" "$(sub "$w" "$ret")"
		add "${name}_cutchain" "$(sub "$arr" "$w")"
		note "$name trial $i: interrupt returned $ret, cut from media $m (written $w), first silent packet pts $pts arrived $arr: $(sub "$arr" "$ret") s (pacer $(sub "$w" "$ret"), chain $(sub "$arr" "$w"))"
		sleep 0.3
	done
	# the two sizes must not overlap for the size test to mean anything
	awk -F, -v t=$TONE_MIN '$2=="audio"{ if($4>t){ if(!mt||$4<mt) mt=$4 } else { if($4>ms) ms=$4 } } END{printf "audio packet sizes: silence up to %d bytes, tone from %d bytes\n", ms, mt}' "$f" | sed "s/^/$name: /" >>"$DETAILS"
	stop_live
}

# ---- 1 and 2: latency, default and the experiments -------------------------------------------------
latency_run default
for v in $VARIANTS; do latency_run "$v" "$(wrapper "$v")"; done

# context: plain ffmpeg -re started cold
say "context: plain ffmpeg -re started cold, $TRIALS runs"
dry=$("$LP" stream --image "$M/idle.png" --audio "$M/cold.wav" --size $SIZE -o "$URL/dry" --dry-run 2>&1)
for i in $(seq 1 "$TRIALS"); do
	f=$WORK/arr/cold$i.csv
	"$ARR" record -epoch -size "$URL/cold$i=$f" 2>>"$WORK/logs/arrivals.log" &
	SUB_PID=$!
	PIDS+=("$SUB_PID")
	sleep 1 # the subscriber waits at nginx for the publisher
	mapfile -d '' cmd < <("$ARR" argv -mode re-png -png "$M/idle.png" -wav "$M/cold.wav" -fps 25 -t 5 -out "$URL/cold$i" <<<"$dry")
	t0=$(date +%s.%N)
	"${cmd[@]}" >/dev/null 2>>"$WORK/logs/cold.log" || { CRASHED=1; say "plain ffmpeg failed"; }
	read -r arr pts < <(first_packet "$f" "$t0" tone)
	stop_pid "$SUB_PID"
	[ "$arr" = NA ] && { note "cold $i: no tone heard"; continue; }
	add cold "$(sub "$arr" "$t0")"
	note "cold $i: ffmpeg started $t0, first tone packet pts $pts arrived $arr: $(sub "$arr" "$t0") s"
done

# ---- 3: CPU while idle ---------------------------------------------------------------------------------
cpu_run() { # cpu_run live|file
	local mode=$1 pid kid a0 b0 t0 a1 b1 t1
	say "CPU: $mode mode, $CPU_SECONDS s"
	if [ "$mode" = live ]; then
		"$LP" stream --live --image "$M/idle.png" --size $SIZE -o "$URL/cpu$mode" --control off >"$WORK/logs/cpu$mode.log" 2>&1 &
	else
		"$LP" stream --image "$M/idle.png" --audio "$M/silence.wav" --size $SIZE -o "$URL/cpu$mode" >"$WORK/logs/cpu$mode.log" 2>&1 &
	fi
	pid=$!
	PIDS+=("$pid")
	sleep 5
	kid=$(child_of "$pid")
	a0=$(cpu_ns "$pid") b0=$(cpu_ns "${kid:-0}") t0=$(date +%s%N)
	sleep "$((CPU_SECONDS - 5))"
	a1=$(cpu_ns "$pid") b1=$(cpu_ns "${kid:-0}") t1=$(date +%s%N)
	alive "$pid" || { CRASHED=1; say "livepush ($mode) exited early"; }
	stop_pid "$pid"
	VAL[cpu_${mode}_lp]=$(awk -v a="$a0" -v b="$a1" -v s="$t0" -v e="$t1" 'BEGIN{printf "%.2f", 100*(b-a)/(e-s)}')
	VAL[cpu_${mode}_ff]=$(awk -v a="$b0" -v b="$b1" -v s="$t0" -v e="$t1" 'BEGIN{printf "%.2f", 100*(b-a)/(e-s)}')
	note "cpu $mode: livepush $a0 -> $a1 ns, ffmpeg $b0 -> $b1 ns over $(((t1 - t0) / 1000000)) ms"
}
cpu_run live
cpu_run file

# ---- 4: memory over a live run with a clip every second ----------------------------------------------
say "memory: live mode, a 0.5 s clip posted every second for $RSS_SECONDS s"
start_live rss || true
if alive "$LP_PID"; then
	sleep 3 # 5 s after the start, counting start_live's wait
	kid=$(child_of "$LP_PID")
	rss0=$(kb "$LP_PID" VmRSS) frss0=$(kb "$kid" VmRSS)
	end=$((SECONDS + RSS_SECONDS)) mid=$((SECONDS + RSS_SECONDS / 2)) rssmid=""
	posted=0 refused=0
	while [ $SECONDS -lt $end ]; do
		[ -z "$rssmid" ] && [ $SECONDS -ge $mid ] && rssmid=$(kb "$LP_PID" VmRSS)
		l=$("$ARR" post "$CTL/v1/speech" "$M/blip.wav" 2>/dev/null || echo "0 0 0 -")
		if [[ "$l" == *" 202 "* ]]; then posted=$((posted + 1)); else refused=$((refused + 1)); fi
		sleep 0.99
	done
	VAL[rss_lp]="$(mb "$rss0") $(mb "$(kb "$LP_PID" VmHWM)") $(mb "$(kb "$LP_PID" VmRSS)") $(awk -v a="$rss0" -v b="$(kb "$LP_PID" VmRSS)" 'BEGIN{printf "%+.1f MB", (b-a)/1024}')"
	VAL[rss_ff]="$(mb "$frss0") $(mb "$(kb "$kid" VmHWM)") $(mb "$(kb "$kid" VmRSS)") $(awk -v a="$frss0" -v b="$(kb "$kid" VmRSS)" 'BEGIN{printf "%+.1f MB", (b-a)/1024}')"
	VAL[rss_half]=$(awk -v a="$rssmid" -v b="$(kb "$LP_PID" VmRSS)" 'BEGIN{printf "%+.1f MB", (b-a)/1024}')
	note "memory: $posted clips accepted, $refused refused or failed; livepush ${VAL[rss_lp]}; ffmpeg ${VAL[rss_ff]}"
	[ "$refused" = 0 ] || CRASHED=1
	stop_live
fi

# ---- the table -----------------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT+changes"
TABLE=$WORK/table.md
row() { echo "| $* |"; }
lat() { # lat KEY: "median / worst"
	local v=${VAL[$1]:-}
	echo "$(ms "$(median $v)") / $(ms "$(worst $v)")"
}
save() { # save VARIANT KEY: default's median minus the variant's
	local d v
	d=$(median ${VAL[default_$2]:-}) v=$(median ${VAL[$1_$2]:-})
	[ "$d" = NA ] || [ "$v" = NA ] && { echo NA; return; }
	awk -v a="$d" -v b="$v" 'BEGIN{printf "%+.0f ms", (a-b)*1000}'
}
declare -A VNAME=([zerolatency]="-tune zerolatency" [lookahead0]="-x264-params rc-lookahead=0:sync-lookahead=0" [threads1]="-threads 1" [tqs1]="-thread_queue_size 1 on both inputs")
{
	row "measurement (live mode, $SIZE, 25 fps, 24 kHz mono; $TRIALS trials) | median / worst | floor, context"
	row "--- | --- | ---"
	row "\`POST /v1/speech\` returned → the clip's first audio packet at a subscriber | $(lat default_speech) | chain floor: $(ms "${VAL[default_steady_a]:-NA}") (below)"
	row "↳ of it: the pacer's wait, return → the clip's first sample written (write(start) - return) | $(lat default_pacer) | up to 40 ms (one frame's chunk)"
	row "↳ of it: the first sample written → its packet at the subscriber (arrival - write(start)) | $(lat default_chain) | $(ms "${VAL[default_steady_a]:-NA}") + up to one AAC frame"
	row "\`POST /v1/interrupt\` returned → the first silent audio packet | $(lat default_cut) | chain floor + one AAC frame (43 ms)"
	row "↳ of it: the pacer's wait (write(cut) - return) / pipe → subscriber | $(lat default_cutpacer) ; $(lat default_cutchain) | up to 40 ms; (context)"
	row "floor: steady stream, a packet's write into the pipe → its arrival at the subscriber (median over 3 s), audio / video | $(ms "${VAL[default_steady_a]:-NA}") / $(ms "${VAL[default_steady_v]:-NA}") | (context)"
	row "context: plain \`ffmpeg -re\` started cold, tone at 3.0 s of media → heard (process start to first tone packet) | $(lat cold) | 3.0 s + start-up + chain"
	for v in $VARIANTS; do
		row "experiment, livepush's ffmpeg + \`${VNAME[$v]}\`: speech / cut; steady audio chain | $(lat "${v}_speech") ; cut $(lat "${v}_cut") | saves $(save "$v" speech) (speech), $(save "$v" cut) (cut); steady chain audio $(ms "${VAL[${v}_steady_a]:-NA}"), video $(ms "${VAL[${v}_steady_v]:-NA}")"
	done
	row "CPU while idle, $SIZE: live mode (nothing posted), livepush / its ffmpeg, % of a core, from 5 s to ${CPU_SECONDS} s | ${VAL[cpu_live_lp]:-NA} % / ${VAL[cpu_live_ff]:-NA} % | file mode (same picture, silence): ${VAL[cpu_file_lp]:-NA} % / ${VAL[cpu_file_ff]:-NA} %"
	read -r a1 a2 b1 b2 c1 c2 d1 d2 <<<"${VAL[rss_lp]:-NA NA NA NA NA NA NA NA}"
	row "memory, live, a 0.5 s clip every second for ${RSS_SECONDS} s: livepush VmRSS at 5 s, peak (VmHWM), at the end, growth | $a1 $a2, $b1 $b2, $c1 $c2, $d1 $d2 | (context)"
	read -r a1 a2 b1 b2 c1 c2 d1 d2 <<<"${VAL[rss_ff]:-NA NA NA NA NA NA NA NA}"
	row "↳ livepush's growth over the second half of the run (VmRSS at the end minus at the middle) | ${VAL[rss_half]:-NA} | (context)"
	row "↳ its ffmpeg child, the same | $a1 $a2, $b1 $b2, $c1 $c2, $d1 $d2 | (context)"
} >"$TABLE"

STAMP=$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$OUTDIR"
REPORT=$OUTDIR/live-$STAMP.md
{
	echo "# livepush live-mode benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
	echo
	echo "$(nproc) cores, $(uname -r), $(ffmpeg -version | head -n1 | cut -d' ' -f1-3), livepush $COMMIT."
	echo "Mode: $([ $LONG = 1 ] && echo "long (BENCH_LONG=1)" || echo quick). Load average (1, 5, 15 min) at start $LOAD_START, at end $LOAD_END."
	echo
	cat "$TABLE"
	echo
	echo '```'
	cat "$DETAILS"
	echo '```'
} >"$REPORT"
cp "$REPORT" "$OUTDIR/live-latest.md"
say "wrote $REPORT; load average at start $LOAD_START, at end $LOAD_END"
echo "load average at start $LOAD_START, at end $LOAD_END; livepush $COMMIT"
echo
cat "$TABLE"
[ $CRASHED = 0 ] || { say "a run crashed (see $REPORT)"; exit 1; }
exit 0
