#!/usr/bin/env bash
# bench-outputs.sh: what several outputs cost. The whole CPU of livepush and every process it starts
# (the sum of utime+stime over the process tree, from /proc/PID/stat, sampled while it streams) for a
# realtime stream of a photo-like image (testdata/sample.png scaled to the size) to 1 output and to 3
# outputs (three publish sessions on a private nginx-rtmp), at 1280x720 (target: 3 outputs <= 1.15x
# one) and at 256x256 (context: the encode is cheap, and what each output costs per packet shows).
#
#   bash scripts/bench-outputs.sh
#
# Rounds alternate the two runs, the first one in turn; the table gives the median CPU % of each and
# the median of the rounds' ratios. Measured from BENCH_WARM seconds after start (start-up left out)
# to BENCH_DUR. nginx is not counted (it is no part of livepush).
#
# With BENCH_PRESET=1 (the default), a second table: one 256x256 output with today's defaults (gop 1,
# 24 kHz mono) against --platform youtube (a keyframe every 2 s, 48 kHz stereo AAC at 128k, 1000k CBR),
# the CPU one stream costs, which bounds how many one machine holds.
#
# Environment: BENCH_SIZES ("1280x720 256x256"), BENCH_ROUNDS (3), BENCH_DUR (20 s), BENCH_WARM (5 s),
# BENCH_PORT (first port to try, 19560), BENCH_PRESET (1), BENCH_KEEP=1 (keep the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin"

SIZES=${BENCH_SIZES:-"1280x720 256x256"}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_DUR:-20}
WARM=${BENCH_WARM:-5}
PORT=${BENCH_PORT:-19560}
TCK=$(getconf CLK_TCK)

say() { printf '[bench-outputs %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

WORK=$(mktemp -d /tmp/bench-outputs.XXXXXX)
NGX="$WORK/nginx"
cleanup() {
	bash scripts/nginx-rtmp.sh stop "$NGX" >/dev/null 2>&1 || true
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

command -v ffmpeg >/dev/null || die "ffmpeg missing (apt-get install ffmpeg)"
go build -o "$WORK/livepush" ./cmd/livepush
for try in 0 1 2 3 4; do
	if bash scripts/nginx-rtmp.sh start "$NGX" $((PORT + try)) >/dev/null 2>&1; then PORT=$((PORT + try)); break; fi
	[ $try = 4 ] && die "nginx-rtmp would not start"
done
say "nginx-rtmp on 127.0.0.1:$PORT; $ROUNDS rounds of ${DUR}s per run, measured from ${WARM}s"

# tree_ticks PID: utime+stime (and the reaped children's) of PID and all its descendants, in ticks.
tree_ticks() {
	local root=$1
	awk -v root="$root" '
		FNR == 1 {
			line = $0
			sub(/^.*\) /, "", line)   # after "pid (comm) "
			n = split(line, f, " ")
			pid = FILENAME; sub("/proc/", "", pid); sub("/stat", "", pid)
			ppid[pid] = f[2]
			t[pid] = f[12] + f[13] + f[14] + f[15]
		}
		END {
			in_tree[root] = 1
			for (changed = 1; changed; ) {
				changed = 0
				for (p in ppid) if (!(p in in_tree) && (ppid[p] in in_tree)) { in_tree[p] = 1; changed = 1 }
			}
			s = 0
			for (p in in_tree) s += t[p]
			print s
		}' /proc/[0-9]*/stat 2>/dev/null
}

# tree_rss_mb PID: the memory of PID and all its descendants now, in MiB: the sum of their anonymous
# pages (heap, stacks, buffers), which no two of them share. The pages of ffmpeg's libraries are left
# out: PSS charges each process a share of them that depends on what else maps them, and USS counts
# them for a lone ffmpeg and not once a second one maps them too.
tree_rss_mb() {
	local p s=0 kb
	for p in "$1" $(tree_pids "$1"); do
		kb=$(awk '/^Anonymous:/{print $2}' /proc/"$p"/smaps_rollup 2>/dev/null) || kb=0
		s=$((s + ${kb:-0}))
	done
	awk -v s="$s" 'BEGIN { printf "%.0f\n", s / 1024 }'
}

# tree_pids PID: the descendants of PID.
tree_pids() {
	awk -v root="$1" 'FNR == 1 { line = $0; sub(/^.*\) /, "", line); split(line, f, " ");
		pid = FILENAME; sub("/proc/", "", pid); sub("/stat", "", pid); ppid[pid] = f[2] }
		END { in_tree[root] = 1
			for (changed = 1; changed; ) { changed = 0
				for (p in ppid) if (!(p in in_tree) && (ppid[p] in in_tree)) { in_tree[p] = 1; changed = 1 } }
			for (p in in_tree) if (p != root) print p }' /proc/[0-9]*/stat 2>/dev/null
}

# run SIZE N: CPU % (of one core) of a stream to N outputs, from WARM to DUR seconds, and the tree's
# resident memory (MiB) at the end.
run() {
	local size=$1 n=$2 args=() i
	shift 2
	for i in $(seq 1 "$n"); do args+=(-o "rtmp://127.0.0.1:$PORT/live/b$n-$i-$RANDOM"); done
	"$WORK/livepush" stream --image testdata/sample.png --audio testdata/speech.wav --loop --size "$size" \
		--log-level warn --progress=false "${args[@]}" "$@" 2>"$WORK/log-$size-$n" &
	local pid=$!
	sleep "$WARM"
	local a t0 b t1
	a=$(tree_ticks $pid)
	t0=$EPOCHREALTIME
	sleep $((DUR - WARM))
	b=$(tree_ticks $pid)
	t1=$EPOCHREALTIME
	local rss
	rss=$(tree_rss_mb $pid)
	kill -INT $pid
	wait $pid || true
	awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v tck="$TCK" -v rss="$rss" 'BEGIN { printf "%.1f %s\n", 100 * (b - a) / tck / (t1 - t0), rss }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| size | 1 output CPU % | 3 outputs CPU % | ratio (median of rounds) | target | anonymous memory, 1 / 3 outputs (MiB) |"
echo "| --- | --- | --- | --- | --- | --- |"
for size in $SIZES; do
	one=() three=() ratios=() mem1=() mem3=()
	for r in $(seq 1 "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then
			read -r x xm < <(run "$size" 1); read -r y ym < <(run "$size" 3)
		else
			read -r y ym < <(run "$size" 3); read -r x xm < <(run "$size" 1)
		fi
		mem1+=("$xm"); mem3+=("$ym")
		say "$size round $r: 1 output $x % ${xm} MiB anon, 3 outputs $y % ${ym} MiB anon (load $(cut -d' ' -f1-3 /proc/loadavg))"
		one+=("$x"); three+=("$y")
		ratios+=("$(awk -v x="$x" -v y="$y" 'BEGIN { printf "%.3f", y / x }')")
	done
	m1=$(printf '%s\n' "${one[@]}" | median)
	m3=$(printf '%s\n' "${three[@]}" | median)
	mr=$(printf '%s\n' "${ratios[@]}" | median)
	tgt="(context)"
	[ "$size" = 1280x720 ] && tgt="<= 1.15"
	echo "| $size | $m1 | $m3 | $mr | $tgt | $(printf '%s\n' "${mem1[@]}" | median) / $(printf '%s\n' "${mem3[@]}" | median) |"
done

[ "${BENCH_PRESET:-1}" = 1 ] || exit 0
echo
echo "| one 256x256 output | CPU % | ratio to the defaults (median of rounds) |"
echo "| --- | --- | --- |"
def=() yt=() ratios=()
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		read -r x _ < <(run 256x256 1); read -r y _ < <(run 256x256 1 --platform youtube)
	else
		read -r y _ < <(run 256x256 1 --platform youtube); read -r x _ < <(run 256x256 1)
	fi
	say "preset round $r: defaults $x %, --platform youtube $y %"
	def+=("$x"); yt+=("$y")
	ratios+=("$(awk -v x="$x" -v y="$y" 'BEGIN { printf "%.3f", y / x }')")
done
echo "| defaults (gop 1, 24 kHz mono) | $(printf '%s\n' "${def[@]}" | median) | 1 |"
echo "| --platform youtube | $(printf '%s\n' "${yt[@]}" | median) | $(printf '%s\n' "${ratios[@]}" | median) |"
