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
# With BENCH_TEE=1 (the default; about 4 minutes), a third table: 1280x720 to 3 outputs, livepush's hub
# and relays against one ffmpeg doing the same encode with the tee muxer and a fifo per output
# (attempt_recovery, recover_any_error, recovery_wait_time=1, drop_pkts_on_overflow, onfail=ignore).
# That ffmpeg is livepush's own one-output encoder command, run by livepush through --ffmpeg pointing
# at a wrapper that replaces its output (from the last -f on) with `-flags +global_header -f tee`:
# same feeder, same pacing, same encode, only the fan-out differs. Two outputs go to nginx A, the
# third to nginx B. Per run: CPU and anonymous memory of the tree from BENCH_WARM for BENCH_TEE_MEAS
# seconds; then nginx B is stopped for 3 s and started again, and "back" is the time from its start
# until a new recording of output 3 holds 64 KiB (media flows); BENCH_TEE_POST seconds later the
# stream ends, and the recordings tell the sessions of each output and the media output 3 lacks (its
# video frames against output 1's, at 25 fps). Then one run of each for two failures, not timed:
# nginx B stalled (its worker SIGSTOPped for 5 s) and output 3 refused (an unknown application).
#
# Environment: BENCH_SIZES ("1280x720 256x256"; empty: no first table), BENCH_ROUNDS (3), BENCH_DUR
# (20 s), BENCH_WARM (5 s), BENCH_PORT (first port to try, 19560), BENCH_PRESET (1), BENCH_TEE (1),
# BENCH_TEE_MEAS (10 s), BENCH_TEE_POST (6 s), BENCH_TEE_QUEUE (the fifo's queue_size, 120 packets:
# about 2.5 s here), BENCH_KEEP=1 (keep the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin"

SIZES=${BENCH_SIZES-"1280x720 256x256"}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_DUR:-20}
WARM=${BENCH_WARM:-5}
PORT=${BENCH_PORT:-19560}
TCK=$(getconf CLK_TCK)

say() { printf '[bench-outputs %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

WORK=$(mktemp -d /tmp/bench-outputs.XXXXXX)
NGX="$WORK/nginx"
NGX2="$WORK/nginx2"
STOPPED=""
cleanup() {
	[ -z "$STOPPED" ] || kill -CONT "$STOPPED" 2>/dev/null || true
	bash scripts/nginx-rtmp.sh stop "$NGX" >/dev/null 2>&1 || true
	bash scripts/nginx-rtmp.sh stop "$NGX2" >/dev/null 2>&1 || true
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

[ -z "$SIZES" ] || echo "| size | 1 output CPU % | 3 outputs CPU % | ratio (median of rounds) | target | anonymous memory, 1 / 3 outputs (MiB) |"
[ -z "$SIZES" ] || echo "| --- | --- | --- | --- | --- | --- |"
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

preset_table() {
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
}
if [ "${BENCH_PRESET:-1}" = 1 ]; then preset_table; fi
[ "${BENCH_TEE:-1}" = 1 ] || exit 0

MEAS=${BENCH_TEE_MEAS:-10}
POST=${BENCH_TEE_POST:-6}
FIFO="f=fifo:fifo_format=flv:format_opts=flvflags\=no_duration_filesize:queue_size=${BENCH_TEE_QUEUE:-120}"
FIFO+=":drop_pkts_on_overflow=1:attempt_recovery=1:recover_any_error=1:recovery_wait_time=1:onfail=ignore"
for try in 5 6 7 8 9; do
	if bash scripts/nginx-rtmp.sh start "$NGX2" $((PORT + try)) >/dev/null 2>&1; then PORT2=$((PORT + try)); break; fi
	[ $try = 9 ] && die "the second nginx-rtmp would not start"
done
say "tee+fifo against the hub: nginx A on $PORT, nginx B on $PORT2 (load $(cut -d' ' -f1-3 /proc/loadavg))"

# tee_wrapper FILE URL...: an ffmpeg for livepush's --ffmpeg that runs the command it is given with
# its output, from the last -f on (the format, its flags, the key's -fpre file, the URL), replaced by
# a tee of one fifo per URL. Other commands (none today) run unchanged.
tee_wrapper() {
	local file=$1 spec="" u
	shift
	for u in "$@"; do spec+="${spec:+|}[$FIFO]$u"; done
	cat >"$file" <<'EOF'
#!/usr/bin/env bash
a=("$@") last=-1
for i in "${!a[@]}"; do if [ "${a[i]}" = -f ]; then last=$i; fi; done
if [ "$last" -lt 0 ] || [ "${a[last + 1]:-}" != flv ]; then exec ffmpeg "$@"; fi
EOF
	# shellcheck disable=SC2016 # the wrapper expands them
	printf 'exec ffmpeg "${a[@]:0:last}" -flags +global_header -f tee %q\n' "$spec" >>"$file"
	chmod +x "$file"
}

# start3 TOOL KEY URL3: a 1280x720 stream to rtmp://A/live/KEY-1, KEY-2 and URL3 by TOOL (lp: livepush's
# hub and relays; tee: one ffmpeg's tee), in the background; its pid in LPID.
start3() {
	local tool=$1 key=$2 u1="rtmp://127.0.0.1:$PORT/live/$2-1" u2="rtmp://127.0.0.1:$PORT/live/$2-2" u3=$3 out=()
	if [ "$tool" = tee ]; then
		tee_wrapper "$WORK/ff-$key" "$u1" "$u2" "$u3"
		out=(--ffmpeg "$WORK/ff-$key" -o "$u1")
	else
		out=(-o "$u1" -o "$u2" -o "$u3")
	fi
	"$WORK/livepush" stream --image testdata/sample.png --audio testdata/speech.wav --loop --size 1280x720 \
		--log-level warn --progress=false "${out[@]}" 2>"$WORK/log-$key" &
	LPID=$!
}

# stop3: ends the stream and waits for nginx to have finished the recordings of KEY.
stop3() {
	local key=$1 i f all
	kill -INT "$LPID"
	wait "$LPID" || say "$key: livepush exited with $?"
	for i in $(seq 1 100); do
		all=1
		for f in "$NGX"/rec/"$key"-*.flv "$NGX2"/rec/"$key"-*.flv; do [ ! -f "$f" ] || [ -f "$f.done" ] || all=0; done
		[ $all = 1 ] && return 0
		sleep 0.05
	done
}

# sessions DIR NAME: how many recordings (publish sessions) of NAME DIR holds, and their video frames.
sessions() {
	local f n=0 frames=0 v
	for f in "$1"/rec/"$2"-[0-9]*.flv; do
		[ -f "$f" ] || continue
		v=$(ffprobe -v error -select_streams v -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$f" 2>/dev/null) || v=0
		n=$((n + 1)) frames=$((frames + ${v:-0}))
	done
	echo "$n $frames"
}

# recover TOOL: one timed run (see the header). Prints: CPU % / anonymous MiB / back (s) / sessions of
# outputs 1, 2, 3 / seconds of media output 3 lacks against output 1.
recover() {
	local tool=$1 key="$1$RANDOM" a b t0 t1 mem first f up back=none i
	start3 "$tool" "$key" "rtmp://127.0.0.1:$PORT2/live/$key-3"
	sleep "$WARM"
	a=$(tree_ticks "$LPID"); t0=$EPOCHREALTIME
	sleep "$MEAS"
	b=$(tree_ticks "$LPID"); t1=$EPOCHREALTIME
	mem=$(tree_rss_mb "$LPID")
	first=""
	for f in "$NGX2"/rec/"$key"-3-*.flv; do [ -f "$f" ] && first=$f; done
	bash scripts/nginx-rtmp.sh stop "$NGX2" >/dev/null 2>&1
	sleep 3
	bash scripts/nginx-rtmp.sh start "$NGX2" "$PORT2" >/dev/null 2>&1 || die "nginx B would not start again"
	up=$EPOCHREALTIME
	for i in $(seq 1 400); do
		for f in "$NGX2"/rec/"$key"-3-*.flv; do
			if [ -f "$f" ] && [ "$f" != "$first" ] && [ "$(stat -c %s "$f")" -ge 65536 ]; then back=$EPOCHREALTIME; break 2; fi
		done
		sleep 0.05
	done
	sleep "$POST"
	stop3 "$key"
	local s1 f1 s2 s3 f3
	read -r s1 f1 < <(sessions "$NGX" "$key-1")
	read -r s2 _ < <(sessions "$NGX" "$key-2")
	read -r s3 f3 < <(sessions "$NGX2" "$key-3")
	awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v tck="$TCK" -v mem="$mem" -v up="$up" -v back="$back" \
		-v s="$s1 $s2 $s3" -v f1="$f1" -v f3="$f3" 'BEGIN {
			printf "%.1f %s %s %s %.2f\n", 100 * (b - a) / tck / (t1 - t0), mem,
				back == "none" ? "none" : sprintf("%.2f", back - up), s, (f1 - f3) / 25 }'
}

cpu=() mem=() back=() lost=() sess=()
declare -A res=()
for r in $(seq 1 "$ROUNDS"); do
	order=(lp tee)
	[ $((r % 2)) = 1 ] || order=(tee lp)
	for tool in "${order[@]}"; do
		read -r c m bk s1 s2 s3 l < <(recover "$tool")
		say "tee round $r $tool: $c % CPU, $m MiB anon, back $bk s after nginx B's return, sessions $s1/$s2/$s3, output 3 lacks $l s (load $(cut -d' ' -f1-3 /proc/loadavg))"
		res[$tool-cpu]+="$c " res[$tool-mem]+="$m " res[$tool-back]+="$bk " res[$tool-lost]+="$l " res[$tool-sess]+="$s1/$s2/$s3 "
	done
done
med() { tr ' ' '\n' <<<"$1" | grep -v -e none -e '^$' | median; }
echo
echo "| 1280x720, 3 outputs | CPU % of a core | anonymous memory (MiB) | back after the server's return (s) | sessions of outputs 1/2/3, each round | media output 3 lacks (s) |"
echo "| --- | --- | --- | --- | --- | --- |"
for tool in lp tee; do
	name="livepush: hub + one copying ffmpeg an output"
	[ $tool = tee ] && name="one ffmpeg: tee of fifos"
	echo "| $name | $(med "${res[$tool-cpu]}") | $(med "${res[$tool-mem]}") | $(med "${res[$tool-back]}") (${res[$tool-back]% }) | ${res[$tool-sess]% } | $(med "${res[$tool-lost]}") |"
done

# Two failures, one run each: nginx B stalled (its worker stopped) for 5 s, and output 3 refused.
echo
echo "| 1280x720, 3 outputs | failure of output 3 | sessions of outputs 1/2/3 | media output 3 lacks (s) | output 3's connection attempts |"
echo "| --- | --- | --- | --- | --- |"
for tool in lp tee; do
	name="livepush"
	[ $tool = tee ] && name="tee + fifo"
	key="stall$tool$RANDOM"
	start3 "$tool" "$key" "rtmp://127.0.0.1:$PORT2/live/$key-3"
	sleep "$WARM"
	STOPPED=$(cat /proc/"$(cat "$NGX2/nginx.pid")"/task/*/children | head -n1)
	kill -STOP "$STOPPED"
	sleep 5
	kill -CONT "$STOPPED"
	STOPPED=""
	sleep "$POST"
	stop3 "$key"
	read -r s1 f1 < <(sessions "$NGX" "$key-1")
	read -r s2 _ < <(sessions "$NGX" "$key-2")
	read -r s3 f3 < <(sessions "$NGX2" "$key-3")
	echo "| $name | server stalled 5 s | $s1/$s2/$s3 | $(awk -v a="$f1" -v b="$f3" 'BEGIN { printf "%.2f", (a - b) / 25 }') | |"

	key="refused$tool$RANDOM"
	before=$(grep -c 'application not found' "$NGX/logs/error.log" || true)
	start3 "$tool" "$key" "rtmp://127.0.0.1:$PORT/nope/$key-3"
	sleep 15
	stop3 "$key"
	read -r s1 _ < <(sessions "$NGX" "$key-1")
	read -r s2 _ < <(sessions "$NGX" "$key-2")
	after=$(grep -c 'application not found' "$NGX/logs/error.log" || true)
	echo "| $name | refused (unknown application), 15 s | $s1/$s2/- | all | $((after - before)) in 15 s |"
done
