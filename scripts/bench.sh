#!/usr/bin/env bash
# bench.sh: livepush side by side with plain ffmpeg, in one go:
#
#   bash scripts/bench.sh                 # quick: about 8 minutes
#   BENCH_LONG=1 bash scripts/bench.sh    # the full lengths (2-minute pacing stream, ...): about 50 minutes
#
# Installs what is missing (ffmpeg, nginx + libnginx-mod-rtmp, Go), builds livepush and the helper
# scripts/bench/arrivals, generates its inputs (a detailed still at each size, a speech-like 24 kHz mono
# WAV), starts a private nginx-rtmp on loopback and measures:
#
#  1. Unpaced: wall time of `livepush --realtime=false -o file.flv` against plain ffmpeg with the very
#     same options (taken from livepush's --dry-run) reading the same raw bgr24 frames and s16le audio
#     from regular files, at 256x256, 1280x720 and 1920x1080. In rounds: each round runs every tool
#     once, back to back, the first one in turn, and gives one ratio (livepush / ffmpeg); the table
#     shows the median of the rounds' ratios. With BENCH_FLOOR=1 (on in BENCH_LONG) a third tool runs
#     in each round: scripts/bench/fifofeed, a few lines of C that only write the same frame and PCM
#     into two FIFOs for the same ffmpeg command as livepush's, the floor of any FIFO feeder.
#  2. Realtime CPU: livepush streaming to nginx-rtmp at 1280x720 and 1920x1080 (and 256x256 for
#     context); CPU of livepush itself
#     and of its ffmpeg child (all threads' run time from /proc/PID/task/*/schedstat, in ns) sampled
#     just before the end, and livepush's peak RSS (VmHWM). A plain `ffmpeg -re` with the same options
#     reading the same raw frame (looped) runs at the same time, for context. With BENCH_FLOOR=1, at
#     256x256 the design's floor runs alongside too: scripts/bench/fifofeed -r (C, paced) feeding
#     livepush's ffmpeg command, its own CPU against its ffmpeg's.
#  3. Pacing seen from outside: a subscriber per stream (ffprobe -show_packets on the rtmp URL, started
#     before the publisher), each line stamped when it arrives (scripts/bench/arrivals). Over the video
#     packets after the first 2 s (ffprobe's probing hands the first ones over in a burst) and before
#     the last 1 s (the encoder's flush at the end of a finite stream sends its last frames at once):
#     drift (least-squares slope of arrival - pts, ms per media second) and spread (peak to peak of
#     arrival - pts). livepush and `ffmpeg -re -loop 1 -framerate 25 -i img.png -i speech.wav
#     <livepush's output options>` at the same time.
#  4. Scale: K concurrent 256x256 gop-1 realtime streams, each with a subscriber, K increasing until
#     one falls behind while all K are on air (from 2 s after the last one's first packet to 1 s
#     before the first one's end: drift over 2 %, its arrival lag grows by more than 0.3 s, it
#     delivers under 95 % of its packets, or it fails; fewer than 5 s all on air together counts as
#     all behind; when under a quarter of them fall behind, K gets a second try). The tools take
#     turns at each K: livepush, plain ffmpeg -re doing the same encode from the raw frame
#     (-stream_loop -1) and s16le, and (BENCH_LONG) ffmpeg -re as people run it, -loop 1 on the PNG
#     as in 3 (which decodes the PNG for every frame: about a third more CPU at 256x256), and the
#     design's floor: scripts/bench/fifofeed -r (C, paced as livepush paces, one clock_nanosleep and
#     one write a unit) into FIFOs read by livepush's own ffmpeg command. Each tool's
#     K processes are started back to back. A context row judges every stream from 2 s after its own
#     start instead, start-up storm included: the streams that start first compete with the
#     start-up of the later ones (ffmpeg's own start-up, dynamic linking and x264's set-up, is about
#     a quarter of a CPU second; livepush adds its own, about 60 ms, before ffmpeg's begins).
#
# Prints progress and `uptime` load to stderr, the Markdown table of medians to stdout, and writes it
# with the machine and every single run to bench-results/bench-<date>.md and bench-results/latest.md.
# Exits 0 even when a target is missed (a benchmark, not a test), non-zero when a run crashes.
#
# Environment: BENCH_LONG=1 (full lengths, 3+ repeats), BENCH_PORT (first port to try, 19460),
# BENCH_REPEAT (repeats per measured run), BENCH_UNPACED_REPEAT (unpaced rounds; 21 long, 5 quick),
# BENCH_SCALE_KS (e.g. "2 4 8"), BENCH_SCALE_TOOLS (of "lp fl ffraw ffpng lpyt", the long default "lp fl ffraw ffpng";
#   quick: "lp ffraw"; lpyt is livepush with --platform youtube, what a preset changes to how many streams hold),
# BENCH_SCALE_REFINE (halvings of the gap between the last K held and the first failed, 2),
# BENCH_SKIP (e.g. "scale cpu": leave out unpaced, cpu, pacing or scale), BENCH_KEEP=1 (keep the work directory),
# BENCH_CPU_RUNS (the realtime CPU runs, e.g. "256x256 256x256@48000x2"), BENCH_OUT (results directory, bench-results), BENCH_FLOOR=0|1 (the C FIFO feeder in the unpaced
# rounds; on in BENCH_LONG).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/lib.sh
export PATH="$PATH:/usr/local/go/bin:/usr/sbin"

LONG=${BENCH_LONG:-0}
[ "$LONG" = 1 ] || LONG=0
SKIP=" ${BENCH_SKIP:-} "
OUTDIR=${BENCH_OUT:-bench-results}
T_START=$EPOCHREALTIME

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

# ---- settings -----------------------------------------------------------------------------------------
if [ $LONG = 1 ]; then
	REPEAT=${BENCH_REPEAT:-3}
	# Single rounds scatter widely on a virtual machine; 21 rounds keep the median's 95 % interval
	# narrow enough to judge a 5 % target (scripts/bench/README.md, Unpaced).
	UNPACED_REPEAT=${BENCH_UNPACED_REPEAT:-21}
	FLOOR=${BENCH_FLOOR:-1}
	CPU_SECONDS=40
	PACE_SECONDS=120
	SCALE_SECONDS=20
	SCALE_KS=${BENCH_SCALE_KS:-"1 4 8 12 16 18 20 22 24 26 28 30 32 36 40 48"}
	SCALE_TOOLS=${BENCH_SCALE_TOOLS:-"lp fl ffraw ffpng"}
	SCALE_REFINE=${BENCH_SCALE_REFINE:-2}
	# media seconds per unpaced run: size=seconds (each run a few seconds of x264 at full speed)
	UNPACED_SIZES="256x256=120 1280x720=32 1920x1080=16"
else
	REPEAT=${BENCH_REPEAT:-2}
	UNPACED_REPEAT=${BENCH_UNPACED_REPEAT:-5}
	FLOOR=${BENCH_FLOOR:-0}
	CPU_SECONDS=20
	PACE_SECONDS=30
	SCALE_SECONDS=15
	SCALE_KS=${BENCH_SCALE_KS:-"16 24 32 40"}
	SCALE_TOOLS=${BENCH_SCALE_TOOLS:-"lp ffraw"}
	SCALE_REFINE=${BENCH_SCALE_REFINE:-2}
	UNPACED_SIZES="256x256=30 1280x720=10 1920x1080=5"
fi
CPU_SIZES="256x256 1280x720 1920x1080" # the targets are for 720p and 1080p; 256x256 for context
# Realtime CPU runs: each size with the 24 kHz mono WAV, and 256x256 with the rates recordings and most
# TTS engines deliver (SIZE@RATExCHANNELS), which livepush converts to its 24 kHz mono output.
CPU_RUNS=${BENCH_CPU_RUNS:-"$CPU_SIZES 256x256@44100x2 256x256@48000x2"}
declare -A UNPACED_NAME=([ff]=ffmpeg [lp]=livepush [fl]="C FIFO feeder")
declare -A TOOL_NAME=([lp]=livepush [lpyt]="livepush --platform youtube (a keyframe every 2 s, 48 kHz stereo AAC 128k, constant bitrate)" [fl]="the C FIFO feeder, paced, + livepush's ffmpeg command (the design's floor)" [ffraw]="ffmpeg -re, raw frame (same encode)" [ffpng]="ffmpeg -re -loop 1 png (as people run it)")
FPS=25
RATE=24000

# ---- what is needed -----------------------------------------------------------------------------------
say "checking packages (ffmpeg, nginx-rtmp, procps) and Go"
ensure_packages ffmpeg procps
bash scripts/nginx-rtmp.sh install
# The C FIFO feeder: in the unpaced rounds (FLOOR) and as a scale tool (fl).
CFEED=0
{ [ "$FLOOR" = 1 ] || [[ " $SCALE_TOOLS " == *" fl "* ]]; } && CFEED=1
[ $CFEED = 1 ] && ensure_packages gcc libc6-dev
ensure_go
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || die "ffmpeg/ffprobe missing after install"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lpbench.XXXXXX")
BIN=$WORK/bin
MEDIA=$WORK/media
LOGS=$WORK/logs
mkdir -p "$BIN" "$MEDIA" "$LOGS" "$WORK/out" "$WORK/arr"

# ---- cleanup: nothing may be left behind ---------------------------------------------------------------
PIDS=()      # every background process this script started
NGINX_DIR=""
CRASHED=0    # a run that crashed: exit status 1 at the end
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
stop_pid() { # stop_pid PID: SIGTERM, wait up to 6 s, SIGKILL
	local p=$1 i
	alive "$p" || return 0
	kill -TERM "$p" 2>/dev/null || true
	for i in $(seq 1 60); do alive "$p" || break; sleep 0.1; done
	alive "$p" && kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}
cleanup() {
	local rc=$? p kids
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do
		if alive "$p"; then
			kids=$(pgrep -P "$p" 2>/dev/null || true)
			stop_pid "$p"
			for k in $kids; do alive "$k" && kill -KILL "$k" 2>/dev/null || true; done
		fi
	done
	[ -n "$NGINX_DIR" ] && bash scripts/nginx-rtmp.sh stop "$NGINX_DIR" >/dev/null 2>&1 || true
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---- build ---------------------------------------------------------------------------------------------
say "building livepush and scripts/bench/arrivals into $BIN"
# livepush as the README and the Dockerfile build it: static and stripped.
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$BIN/livepush" ./cmd/livepush
go build -o "$BIN/arrivals" ./scripts/bench/arrivals
LP=$BIN/livepush
ARR=$BIN/arrivals
if [ $CFEED = 1 ]; then
	gcc -O2 -pthread -o "$BIN/fifofeed" scripts/bench/fifofeed/fifofeed.c
fi

# ---- helpers -------------------------------------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
sorted() { printf '%s\n' "$@" | grep -E '^-?[0-9.]+(e[-+]?[0-9]+)?$' | sort -g; } # the numbers among the arguments
median_ci() { # "LO-HI, C %" of the arguments: a distribution-free confidence interval for their median, NA if none
	# Order statistics: the median lies between the l-th smallest and the l-th largest of n with
	# probability 1 - 2 P(Bin(n, 1/2) < l); l is the largest whose chance of missing is at most 5 %
	# (1 when even the whole range falls short of 95 %, as with 5 values: then C says how sure).
	sorted "$@" | awk '{a[NR]=$1} END{
		if(NR==0){print "NA"; exit}
		n=NR; l=1; p=0.5^n; cdf=p  # cdf: P(Bin(n, 1/2) <= l-1)
		for(k=1; k<n; k++){p=p*(n-k+1)/k; if(2*(cdf+p)>0.05) break; cdf+=p; l=k+1}
		printf "%.3f-%.3f, %.0f %%\n", a[l], a[n+1-l], 100*(1-2*cdf)}'
}
median() { # median of the arguments (NA if none)
	sorted "$@" | awk '{a[NR]=$1} END{if(NR==0)print "NA"; else if(NR%2)print a[(NR+1)/2]; else printf "%.6g\n",(a[NR/2]+a[NR/2+1])/2}'
}
calc() { awk "BEGIN{v=$1; printf \"${2:-%.3f}\", v}" 2>/dev/null || echo NA; }
isnum() { [[ "$1" =~ ^-?[0-9.]+(e[-+]?[0-9]+)?$ ]]; }
ratio() { if isnum "$1" && isnum "$2" && [ "$(calc "$2 != 0" %d)" = 1 ]; then calc "$1/$2" "${3:-%.3f}"; else echo NA; fi; }
sleep_until() { # sleep_until EPOCH
	local d
	d=$(calc "$1 - $(now)" %.3f)
	[ "$(calc "$d > 0" %d)" = 1 ] && sleep "$d" || true
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
children_cpu() { # children_cpu VAR: user + system seconds of this shell's reaped children into VAR
	# (`times` in this shell, not in a $(...) subshell, whose children are its own)
	times >"$WORK/times"
	printf -v "$1" '%s' "$(awk 'NR==2{ for (i=1; i<=2; i++) { split($i, t, "m"); s += t[1]*60 + t[2] } printf "%.3f", s }' "$WORK/times")"
}

# cpu_s PID: CPU seconds of the whole process. schedstat gives every live thread's run time in ns;
# /proc/PID/stat's utime+stime (clock ticks) also counts threads that have exited: take the larger
# of the two, the ticks less one tick of rounding.
HZ=$(getconf CLK_TCK)
cpu_s() {
	local p=$1 ns=0 v f st
	for f in /proc/"$p"/task/*/schedstat; do
		read -r v _ <"$f" 2>/dev/null && ns=$((ns + v)) || true
	done
	st=$(cat /proc/"$p"/stat 2>/dev/null) || { echo NA; return; }
	st=${st##*) }
	set -- $st
	awk -v ns="$ns" -v t="$((${12} + ${13}))" -v hz="$HZ" 'BEGIN{a=ns/1e9; b=(t-1)/hz; printf "%.4f", (a>b?a:b)}'
}
hwm_mb() { awk '/^VmHWM:/{printf "%.1f", $2/1024}' /proc/"$1"/status 2>/dev/null || echo NA; }

# Runs: every number lands in RUNS (one line per run) and in the details of the report.
declare -A VAL
DETAILS=$WORK/details.txt
: >"$DETAILS"
note() { echo "$*" >>"$DETAILS"; say "$*"; }
add() { VAL[$1]="${VAL[$1]:-} $2"; } # add KEY VALUE: one run's value

free_port() {
	local p=${BENCH_PORT:-19460} i
	for i in $(seq 0 50); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + i))") 2>/dev/null; then echo $((p + i)); return; fi
	done
	die "no free port from $p"
}

# ---- inputs --------------------------------------------------------------------------------------------
# A detailed still (a Mandelbrot set: smooth areas and fine edges, dearer to encode than a cartoon).
image() { # image WxH: path of the PNG at exactly that size
	local f=$MEDIA/img-$1.png
	[ -f "$f" ] || ffmpeg -v error -y -f lavfi -i "mandelbrot=s=$1:start_scale=2.2:end_scale=2.2,format=rgb24" \
		-frames:v 1 "$f"
	echo "$f"
}
# Speech-like audio: a voiced tone with a wandering pitch and its harmonics, syllable-rate envelope.
wav() { # wav SECONDS: 24 kHz mono s16 WAV of that length
	local f=$MEDIA/speech-$1s.wav
	[ -f "$f" ] || ffmpeg -v error -y -f lavfi -i "aevalsrc=exprs='0.25*(0.55+0.45*sin(2*PI*3.7*t))*(sin(2*PI*(140+25*sin(2*PI*2.3*t))*t)+0.5*sin(4*PI*(140+25*sin(2*PI*2.3*t))*t)+0.3*sin(6*PI*(140+25*sin(2*PI*2.3*t))*t))':s=$RATE:d=$1" \
		-ac 1 -c:a pcm_s16le "$f"
	echo "$f"
}
wav_at() { # wav_at SECONDS RATE CHANNELS: the same speech-like audio at another rate, in every channel
	local f=$MEDIA/speech-$1s-$2x$3.wav
	[ -f "$f" ] || ffmpeg -v error -y -i "$(wav "$1")" -ar "$2" -ac "$3" -c:a pcm_s16le "$f"
	echo "$f"
}
pcm() { # pcm SECONDS: the same audio as raw s16le
	local f=$MEDIA/speech-$1s.s16le
	[ -f "$f" ] || ffmpeg -v error -y -i "$(wav "$1")" -f s16le -ac 1 -ar $RATE "$f"
	echo "$f"
}
frame() { # frame WxH: one raw bgr24 frame of the still
	local f=$MEDIA/frame-$1.bgr24
	[ -f "$f" ] || ffmpeg -v error -y -i "$(image "$1")" -f rawvideo -pix_fmt bgr24 "$f"
	echo "$f"
}
frames() { # frames WxH N: N raw bgr24 frames in one regular file (not one frame looped:
	# ffmpeg's -stream_loop over a short file costs it measurably more, in seconds and in system time)
	local one f=$MEDIA/frames-$1-$2.bgr24 i blocks
	one=$(frame "$1")
	if [ ! -f "$f" ]; then
		for i in $(seq 1 25); do cat "$one"; done >"$f.25"
		blocks=$((($2 + 24) / 25))
		# (yes and cat end on SIGPIPE, by design: check the size instead of the pipeline's status)
		{ yes "$f.25" | head -n "$blocks" | xargs cat | head -c $(($(stat -c %s "$one") * $2)) >"$f"; } || true
		rm -f "$f.25"
		sync "$f" # written back now, not during the timed runs
		[ "$(stat -c %s "$f")" = $(($(stat -c %s "$one") * $2)) ] || die "could not write $f"
	fi
	echo "$f"
}
dry_run() { # dry_run OUTPUT ARGS...: livepush's ffmpeg command for these arguments
	"$LP" stream --show-secrets --dry-run -o "$@"
}

# ---- machine -------------------------------------------------------------------------------------------
CPU_MODEL=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(uname -m)
MACHINE="nproc $(nproc), ${CPU_MODEL}, kernel $(uname -r), $(ffmpeg -version | head -n1 | cut -d' ' -f1-3), $(go version | cut -d' ' -f3-4)"
if COMMIT=$(git rev-parse --short HEAD 2>/dev/null); then
	git diff --quiet HEAD -- cmd orchestrator frames go.mod go.sum 2>/dev/null || COMMIT="$COMMIT+uncommitted changes"
else
	COMMIT="(not a git checkout)"
fi
LOAD_START=$(load)
say "machine: $MACHINE"
say "livepush at $COMMIT; mode: $([ $LONG = 1 ] && echo long || echo quick); load average at start: $LOAD_START"
uptime >&2

# ---- nginx-rtmp ----------------------------------------------------------------------------------------
PORT=$(free_port)
NGINX_DIR=$WORK/nginx
bash scripts/nginx-rtmp.sh start "$NGINX_DIR" "$PORT" >&2
URL=rtmp://127.0.0.1:$PORT/live

# The recorder of packet arrivals: start_rec NAME URL=FILE...; stop_rec.
REC_PID=""
start_rec() {
	local log=$LOGS/rec-$1.log
	shift
	"$ARR" record "$@" 2>"$log" &
	REC_PID=$!
	PIDS+=("$REC_PID")
	sleep 1 # let the subscribers connect before anyone publishes
}
stop_rec() {
	sleep 1 # the last packets
	stop_pid "$REC_PID"
	REC_PID=""
}
# field KEY LINE: the value of KEY=... in an analyze line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# =======================================================================================================
# 1. Unpaced
# =======================================================================================================
packets() { ffprobe -v error -count_packets -show_entries stream=codec_type,nb_read_packets -of csv=p=0 "$1" | tr '\n' ' '; }

unpaced() {
	local spec size secs n img w dry raw audio rep t0 t1 rc base lpargs outlp outff outfl one tool i order ffp summary written
	local tools=(ff lp) fifo=() fl=()
	if [ "$FLOOR" = 1 ]; then
		tools+=(fl)
		fifo=("$WORK/fifo/video" "$WORK/fifo/audio")
		mkdir -p "$WORK/fifo" && mkfifo "${fifo[@]}"
	fi
	for spec in $UNPACED_SIZES; do
		size=${spec%=*}
		secs=${spec#*=}
		n=$((secs * FPS))
		say "unpaced $size: $secs s of media ($n frames), $UNPACED_REPEAT runs each; writing the raw frames"
		img=$(image "$size")
		w=$(wav "$secs")
		audio=$(pcm "$secs")
		raw=$(frames "$size" $n)
		outlp=$WORK/out/unpaced-lp.flv
		outff=$WORK/out/unpaced-ff.flv
		outfl=$WORK/out/unpaced-fl.flv
		one=$(frame "$size")
		lpargs=(stream --image "$img" --audio "$w" --size "$size" --realtime=false -y)
		dry=$("$LP" "${lpargs[@]}" --dry-run -o "$outff")
		mapfile -d '' base < <("$ARR" argv -mode unpaced -video "$raw" -audio "$audio" -frames $n -out "$outff" <<<"$dry")
		echo "unpaced $size ffmpeg: ${base[*]}" >>"$DETAILS"
		[ ${#base[@]} -gt 0 ] || die "could not derive the plain ffmpeg command from: $dry"
		if [ "$spec" = "${UNPACED_SIZES%% *}" ]; then
			# One untimed run of each first: shared libraries and binaries into the page cache.
			"${base[@]}" >/dev/null 2>"$LOGS/unpaced-ff-warm.log" || { note "CRASH: plain ffmpeg unpaced $size"; CRASHED=1; }
			"$LP" "${lpargs[@]}" -o "$outlp" 2>"$LOGS/unpaced-lp-warm.log" || { note "CRASH: livepush unpaced $size"; tail -n5 "$LOGS/unpaced-lp-warm.log" >>"$DETAILS"; CRASHED=1; }
		fi
		if [ "$FLOOR" = 1 ]; then
			mapfile -d '' fl < <("$ARR" argv -mode unpaced -video "${fifo[0]}" -audio "${fifo[1]}" -frames $n -out "$outfl" <<<"$dry")
			[ ${#fl[@]} -gt 0 ] || die "could not derive the FIFO ffmpeg command from: $dry"
		fi
		# Rounds: each runs every tool once, back to back, the first one in turn. A virtual machine's
		# speed drifts by several per cent over tens of seconds; within a round the tools see about the
		# same machine, so the table reports the median of the rounds' ratios (the ratio of the
		# medians goes to the details file).
		for rep in $(seq 1 "$UNPACED_REPEAT"); do
			order=()
			declare -A took=()
			for i in "${!tools[@]}"; do order+=("${tools[$(((i + rep - 1) % ${#tools[@]}))]}"); done
			for tool in "${order[@]}"; do
				t0=$(now); rc=0
				case $tool in
				ff) "${base[@]}" >/dev/null 2>"$LOGS/unpaced-ff-$size-$rep.log" || rc=$? ;;
				lp) "$LP" "${lpargs[@]}" -o "$outlp" 2>"$LOGS/unpaced-lp-$size-$rep.log" || rc=$? ;;
				fl)
					"${fl[@]}" >/dev/null 2>"$LOGS/unpaced-fl-ffmpeg-$size-$rep.log" &
					ffp=$!
					PIDS+=("$ffp")
					# (timeout: fifofeed's open would wait forever for an ffmpeg that died first)
					timeout 300 "$BIN/fifofeed" "${fifo[@]}" "$one" "$audio" $n 2>"$LOGS/unpaced-fl-$size-$rep.log" || rc=$?
					wait $ffp || rc=$?
					;;
				esac
				t1=$(now)
				if [ $rc = 0 ]; then
					took[$tool]=$(elapsed "$t0" "$t1")
					add "unpaced_${tool}_$size" "${took[$tool]}"
				else
					note "CRASH: ${UNPACED_NAME[$tool]} unpaced $size exit $rc"; CRASHED=1
					tail -n5 "$LOGS/unpaced-$tool-$size-$rep.log" >>"$DETAILS"
				fi
			done
			summary="ffmpeg ${took[ff]:-crashed} s"
			for tool in "${tools[@]:1}"; do
				[ -n "${took[ff]:-}" ] && [ -n "${took[$tool]:-}" ] && add "unpaced_${tool}ratio_$size" "$(ratio "${took[$tool]}" "${took[ff]}" %.4f)"
				summary+=", ${UNPACED_NAME[$tool]} ${took[$tool]:-crashed} s, ratio $(ratio "${took[$tool]:-}" "${took[ff]:-}")"
			done
			note "unpaced $size round $rep (${order[*]}): $summary, load $(load)"
		done
		# Same work on both sides: count what each wrote.
		written="livepush [$(packets "$outlp")] ffmpeg [$(packets "$outff")]"
		[ "$FLOOR" = 1 ] && written+=" C FIFO feeder [$(packets "$outfl")]"
		note "unpaced $size packets written: $written"
		rm -f "$raw" "$outlp" "$outff" "$outfl"
	done
}

# =======================================================================================================
# 2. Realtime CPU and memory
# =======================================================================================================
stop_floor() { # stop_floor FEEDER FFMPEG DIR: stops the floor's two processes (if started) and removes its FIFOs
	[ -n "$1" ] || return 0
	stop_pid "$2"
	stop_pid "$1"
	rm -rf "$3"
}
realtime_cpu() {
	local size rep img w audio one dry base lp ff child t0 a_lp a_ch b_lp b_ch ff_a ff_b hwm chwm rc name restarts
	local fl flc fl_cmd fl_dir a_fl a_flc b_fl b_flc run in tag
	for run in $CPU_RUNS; do
		size=${run%@*}
		img=$(image "$size")
		w=$(wav $((CPU_SECONDS + 10)))
		in=${run#"$size"} # @RATExCHANNELS, or empty
		if [ -n "$in" ]; then in=${in#@}; w=$(wav_at $((CPU_SECONDS + 10)) "${in%x*}" "${in#*x}"); fi
		tag=${run//@/-}
		audio=$(pcm $((CPU_SECONDS + 10)))
		one=$(frame "$size")
		for rep in $(seq 1 "$REPEAT"); do
			say "realtime CPU $tag run $rep/$REPEAT: livepush and plain ffmpeg -re, ${CPU_SECONDS} s"
			name=cpu-$tag-$rep
			dry=$("$LP" stream --image "$img" --audio "$w" --size "$size" --dry-run -o "$URL/$name-ff")
			mapfile -d '' base < <("$ARR" argv -mode re-raw -video "$one" -audio "$audio" -loop-video \
				-t $((CPU_SECONDS + 5)) -out "$URL/$name-ff" <<<"$dry")
			[ ${#base[@]} -gt 0 ] || die "could not derive the plain ffmpeg -re command from: $dry"
			[ "$rep" = 1 ] && echo "realtime $tag ffmpeg -re: ${base[*]}" >>"$DETAILS"
			fl=""; flc=""; fl_dir=""
			t0=$(now)
			"$LP" stream --image "$img" --audio "$w" --size "$size" --loop -o "$URL/$name-lp" 2>"$LOGS/$name-lp.log" &
			lp=$!
			PIDS+=("$lp")
			"${base[@]}" >/dev/null 2>"$LOGS/$name-ff.log" &
			ff=$!
			PIDS+=("$ff")
			# The floor at 256x256 (with FLOOR): the paced C feeder and livepush's ffmpeg command,
			# alongside (a third 720p or 1080p stream would overload two cores). ffmpeg's progress
			# reaches the feeder through a third FIFO, so that both are this shell's children.
			if [ "$FLOOR" = 1 ] && [ "$run" = 256x256 ]; then
				fl_dir=$WORK/fifo/cpu-$rep
				mkdir -p "$fl_dir"
				mkfifo "$fl_dir/v" "$fl_dir/a" "$fl_dir/progress"
				mapfile -d '' fl_cmd < <("$ARR" argv -mode unpaced -video "$fl_dir/v" -audio "$fl_dir/a" -out "$URL/$name-fl" <<<"$dry")
				[ ${#fl_cmd[@]} -gt 0 ] || die "could not derive the FIFO ffmpeg command from: $dry"
				"$BIN/fifofeed" -r $FPS -a $((RATE * 2)) "$fl_dir/v" "$fl_dir/a" "$one" "$audio" \
					$(((CPU_SECONDS + 5) * FPS)) <"$fl_dir/progress" 2>"$LOGS/$name-fl.log" &
				fl=$!
				PIDS+=("$fl")
				"${fl_cmd[@]}" >"$fl_dir/progress" 2>"$LOGS/$name-fl-ffmpeg.log" &
				flc=$!
				PIDS+=("$flc")
			fi
			child=""
			for _ in $(seq 1 100); do
				child=$(pgrep -P "$lp" -x ffmpeg | head -n1 || true)
				[ -n "$child" ] && break
				sleep 0.1
			done
			if [ -z "$child" ]; then
				note "CRASH: livepush $tag started no ffmpeg"; CRASHED=1
				stop_pid "$lp"; stop_pid "$ff"; stop_floor "$fl" "$flc" "$fl_dir"
				continue
			fi
			sleep_until "$(calc "$t0 + 5")"
			a_lp=$(cpu_s "$lp"); a_ch=$(cpu_s "$child"); ff_a=$(cpu_s "$ff")
			[ -n "$fl" ] && { a_fl=$(cpu_s "$fl"); a_flc=$(cpu_s "$flc"); }
			sleep_until "$(calc "$t0 + $CPU_SECONDS - 0.2")"
			child=$(pgrep -P "$lp" -x ffmpeg | head -n1 || true)
			b_lp=$(cpu_s "$lp"); b_ch=$(cpu_s "$child"); ff_b=$(cpu_s "$ff")
			if [ -n "$fl" ]; then
				b_fl=$(cpu_s "$fl"); b_flc=$(cpu_s "$flc")
				if alive "$fl" && alive "$flc"; then
					add "cpu_pct_fl_$tag" "$(calc "100*$b_fl/$b_flc" %.3f)"
					add "cpu_pct_steady_fl_$tag" "$(calc "100*($b_fl-$a_fl)/($b_flc-$a_flc)" %.3f)"
					note "realtime $tag run $rep: the C feeder ${b_fl} s CPU, its ffmpeg ${b_flc} s ($(calc "100*$b_fl/$b_flc" %.2f) %; from 5 s on: $(calc "100*($b_fl-$a_fl)/($b_flc-$a_flc)" %.2f) %)"
				else
					note "CRASH: realtime $tag run $rep: the C feeder or its ffmpeg died early"
					tail -n5 "$LOGS/$name-fl.log" "$LOGS/$name-fl-ffmpeg.log" >>"$DETAILS"
					CRASHED=1
				fi
				stop_floor "$fl" "$flc" "$fl_dir"
			fi
			hwm=$(hwm_mb "$lp"); chwm=$(hwm_mb "$child")
			restarts=$(grep -c 'ffmpeg started' "$LOGS/$name-lp.log" || true)
			rc=0; alive "$lp" || rc=dead
			alive "$ff" || rc=dead
			stop_pid "$lp"
			stop_pid "$ff"
			if [ "$rc" != 0 ] || [ "${restarts:-0}" -gt 1 ]; then
				note "CRASH: realtime $tag run $rep: a process died early or livepush restarted ffmpeg ($restarts starts)"
				tail -n5 "$LOGS/$name-lp.log" "$LOGS/$name-ff.log" >>"$DETAILS"
				CRASHED=1
				continue
			fi
			add "cpu_lp_$tag" "$b_lp"
			add "cpu_child_$tag" "$b_ch"
			add "cpu_pct_$tag" "$(calc "100*$b_lp/$b_ch" %.3f)"
			add "cpu_pct_steady_$tag" "$(calc "100*($b_lp-$a_lp)/($b_ch-$a_ch)" %.3f)"
			add "hwm_lp_$tag" "$hwm"
			add "hwm_child_$tag" "$chwm"
			add "core_lp_$tag" "$(calc "100*($b_lp+$b_ch)/$(elapsed "$t0" "$(now)")" %.1f)"
			add "cpu_ffre_$tag" "$ff_b"
			add "core_ffre_$tag" "$(calc "100*$ff_b/$(elapsed "$t0" "$(now)")" %.1f)"
			add "cpu_total_lp_$tag" "$(calc "$b_lp+$b_ch" %.3f)"
			note "realtime $tag run $rep: livepush ${b_lp} s CPU, its ffmpeg ${b_ch} s ($(calc "100*$b_lp/$b_ch" %.2f) %; from 5 s on: $(calc "100*($b_lp-$a_lp)/($b_ch-$a_ch)" %.2f) %), livepush VmHWM ${hwm} MB, its ffmpeg ${chwm} MB; plain ffmpeg -re ${ff_b} s; load $(load)"
		done
	done
}

# =======================================================================================================
# 3. Pacing seen from outside
# =======================================================================================================
pacing() {
	local rep img w dry base name lp ff rc_lp rc_ff a_lp a_ff t0 t_lp t_ff
	img=$(image 256x256)
	w=$(wav "$PACE_SECONDS")
	for rep in $(seq 1 "$REPEAT"); do
		say "pacing run $rep/$REPEAT: livepush and ffmpeg -re at once, ${PACE_SECONDS} s each, subscribers stamping arrivals"
		name=pace-$rep
		dry=$("$LP" stream --image "$img" --audio "$w" --dry-run -o "$URL/$name-ff")
		mapfile -d '' base < <("$ARR" argv -mode re-png -png "$img" -wav "$w" -fps $FPS -t "$PACE_SECONDS" -out "$URL/$name-ff" <<<"$dry")
		[ ${#base[@]} -gt 0 ] || die "could not derive the plain ffmpeg -re command from: $dry"
		[ "$rep" = 1 ] && echo "pacing ffmpeg -re: ${base[*]}" >>"$DETAILS"
		start_rec "$name" "$URL/$name-lp=$WORK/arr/$name-lp.csv" "$URL/$name-ff=$WORK/arr/$name-ff.csv"
		t0=$(now)
		"$LP" stream --image "$img" --audio "$w" -o "$URL/$name-lp" 2>"$LOGS/$name-lp.log" &
		lp=$!
		PIDS+=("$lp")
		"${base[@]}" >/dev/null 2>"$LOGS/$name-ff.log" &
		ff=$!
		PIDS+=("$ff")
		rc_lp=0; wait "$lp" || rc_lp=$?
		t_lp=$(elapsed "$t0" "$(now)")
		rc_ff=0; wait "$ff" || rc_ff=$?
		t_ff=$(elapsed "$t0" "$(now)")
		stop_rec
		a_lp=$("$ARR" analyze -skip 2 -tail 1 "$WORK/arr/$name-lp.csv")
		a_ff=$("$ARR" analyze -skip 2 -tail 1 "$WORK/arr/$name-ff.csv")
		echo "  $a_lp" >>"$DETAILS"
		echo "  $a_ff" >>"$DETAILS"
		if [ $rc_lp != 0 ] || [ "$(field ok "$a_lp")" != 1 ]; then
			note "CRASH: pacing run $rep: livepush exit $rc_lp"; tail -n5 "$LOGS/$name-lp.log" >>"$DETAILS"; CRASHED=1
		else
			add pace_drift_lp "$(field drift_ms_per_s "$a_lp")"
			add pace_spread_lp "$(field spread_s "$a_lp")"
			add pace_resid_lp "$(field resid_spread_s "$a_lp")"
		fi
		if [ $rc_ff != 0 ] || [ "$(field ok "$a_ff")" != 1 ]; then
			note "CRASH: pacing run $rep: ffmpeg -re exit $rc_ff"; tail -n5 "$LOGS/$name-ff.log" >>"$DETAILS"; CRASHED=1
		else
			add pace_drift_ff "$(field drift_ms_per_s "$a_ff")"
			add pace_spread_ff "$(field spread_s "$a_ff")"
			add pace_resid_ff "$(field resid_spread_s "$a_ff")"
		fi
		note "pacing run $rep: livepush drift $(field drift_ms_per_s "$a_lp") ms/s spread $(field spread_s "$a_lp") s (wall ${t_lp} s); ffmpeg -re drift $(field drift_ms_per_s "$a_ff") ms/s spread $(field spread_s "$a_ff") s (wall ${t_ff} s); load $(load)"
	done
}

# =======================================================================================================
# 4. Scale
# =======================================================================================================
# judge TOOL K MIN LABEL ANALYZE-ARGS...: analyzes scale_run's K recordings (its dead streams count as
# behind). Sets JUDGE_BAD to the number behind (under MIN video packets, drift over 20 ms/s or lag
# growth over 0.3 s), JUDGE_DRIFT and JUDGE_GROWTH to the worst, and JUDGE_FIRST_START,
# JUDGE_LAST_START and JUDGE_FIRST_END to arrival times on the recording's clock.
judge() {
	local tool=$1 k=$2 min=$3 label=$4 i a n d g s e
	shift 4
	JUDGE_BAD=0 JUDGE_DRIFT=0 JUDGE_GROWTH=0 JUDGE_FIRST_START="" JUDGE_LAST_START="" JUDGE_FIRST_END=""
	for i in $(seq 1 "$k"); do
		[ -z "${dead[$i]:-}" ] || { JUDGE_BAD=$((JUDGE_BAD + 1)); continue; }
		a=$("$ARR" analyze "$@" "$WORK/arr/scale-$tool-$k-$i.csv")
		n=$(field n "$a"); d=$(field drift_ms_per_s "$a"); g=$(field lag_growth_s "$a")
		s=$(field start_s "$a"); e=$(field end_s "$a")
		if isnum "$s" && isnum "$e"; then
			JUDGE_FIRST_START=$(calc "${JUDGE_FIRST_START:-$s} < $s ? ${JUDGE_FIRST_START:-$s} : $s" %.3f)
			JUDGE_LAST_START=$(calc "${JUDGE_LAST_START:-$s} > $s ? ${JUDGE_LAST_START:-$s} : $s" %.3f)
			JUDGE_FIRST_END=$(calc "${JUDGE_FIRST_END:-$e} < $e ? ${JUDGE_FIRST_END:-$e} : $e" %.3f)
		fi
		if [ "$(field ok "$a")" != 1 ] || [ "$n" -lt "$min" ] || [ "$(calc "$d > 20 || $g > 0.3" %d)" = 1 ]; then
			JUDGE_BAD=$((JUDGE_BAD + 1))
			echo "  scale $tool K=$k stream $i behind$label: $a" >>"$DETAILS"
		fi
		if isnum "$d"; then
			JUDGE_DRIFT=$(calc "($d > $JUDGE_DRIFT) ? $d : $JUDGE_DRIFT" %.2f)
			JUDGE_GROWTH=$(calc "($g > $JUDGE_GROWTH) ? $g : $JUDGE_GROWTH" %.3f)
		fi
	done
}

# scale_run TOOL K: K streams at once. Sets SCALE_BAD to the number that fell behind (or failed)
# while all K were on air together (what "holds K streams" means; fewer than 5 s together counts as
# all K behind), and SCALE_BAD_RUN to the number behind at any time after their own first 2 s,
# start-up included: when K streams start at once, the later starts compete with the running ones.
scale_run() {
	local tool=$1 k=$2 i img w dry base name pids=() recs=() rc bad=0 exp t0 dead=() cmd fr pc
	img=$(image 256x256)
	w=$(wav "$SCALE_SECONDS")
	exp=$(calc "0.95*($SCALE_SECONDS-3)*$FPS" %d) # 2 s skipped at the start, 1 s at the end
	for i in $(seq 1 "$k"); do recs+=("$URL/scale-$tool-$k-$i=$WORK/arr/scale-$tool-$k-$i.csv"); done
	start_rec "scale-$tool-$k" "${recs[@]}"
	# The plain ffmpeg command is derived once, before any stream starts: deriving it per stream
	# (a helper process each time) would spread ffmpeg's starts out on a loaded machine, so that
	# its streams barely overlap. Only the output URL differs from one stream to the next.
	local out=@OUTPUT@ j
	[ "$tool" = lp ] || [ "$tool" = lpyt ] || dry=$("$LP" stream --image "$img" --audio "$w" --dry-run -o "$URL/x")
	case $tool in
	ffraw)
		mapfile -d '' base < <("$ARR" argv -mode re-raw -video "$(frame 256x256)" -audio "$(pcm "$SCALE_SECONDS")" \
			-loop-video -t "$SCALE_SECONDS" -out "$out" <<<"$dry")
		;;
	ffpng)
		mapfile -d '' base < <("$ARR" argv -mode re-png -png "$img" -wav "$w" -fps $FPS -t "$SCALE_SECONDS" -out "$out" <<<"$dry")
		;;
	fl)
		# livepush's own ffmpeg command on two FIFOs that the C feeder writes, paced as livepush
		# paces (its clock starts at ffmpeg's first progress report, which -progress pipe:1 sends
		# to the feeder's stdin). The FIFOs' paths are the same for every stream but for a number.
		mapfile -d '' base < <("$ARR" argv -mode unpaced -video "$WORK/fifo/v-@N@" -audio "$WORK/fifo/a-@N@" -out "$out" <<<"$dry")
		mkdir -p "$WORK/fifo"
		fr=$(frame 256x256)
		pc=$(pcm "$SCALE_SECONDS")
		;;
	esac
	[ "$tool" = lp ] || [ "$tool" = lpyt ] || { [ ${#base[@]} -gt 0 ] && [ "${base[-1]}" = "$out" ]; } || die "could not derive the plain ffmpeg -re command from: $dry"
	t0=$(now)
	for i in $(seq 1 "$k"); do
		name=scale-$tool-$k-$i
		if [ "$tool" = lp ]; then
			"$LP" stream --image "$img" --audio "$w" --gop 1 -o "$URL/$name" 2>"$LOGS/$name.log" &
		elif [ "$tool" = lpyt ]; then
			"$LP" stream --image "$img" --audio "$w" --platform youtube -o "$URL/$name" 2>"$LOGS/$name.log" &
		elif [ "$tool" = fl ]; then
			j=$((${#base[@]} - 1))
			cmd=("${base[@]:0:j}")
			mkfifo "$WORK/fifo/v-$i" "$WORK/fifo/a-$i"
			("${cmd[@]//@N@/$i}" "$URL/$name" 2>"$LOGS/$name.log" |
				"$BIN/fifofeed" -r $FPS -a $((RATE * 2)) "$WORK/fifo/v-$i" "$WORK/fifo/a-$i" \
					"$fr" "$pc" $((SCALE_SECONDS * FPS)) 2>"$LOGS/$name-feed.log") &
		else
			j=$((${#base[@]} - 1))
			"${base[@]:0:j}" "$URL/$name" >/dev/null 2>"$LOGS/$name.log" &
		fi
		pids+=($!)
		PIDS+=($!)
	done
	# CPU of the streams (livepush with its ffmpeg, or ffmpeg): the shell's children's times, which
	# grow by each process reaped here and nothing else while they run.
	local cpu0 cpu1
	children_cpu cpu0
	for i in $(seq 1 "$k"); do
		rc=0; wait "${pids[$((i - 1))]}" || rc=$?
		if [ $rc != 0 ]; then
			note "CRASH: scale $tool K=$k stream $i: exit $rc"
			CRASHED=1
			tail -n3 "$LOGS/scale-$tool-$k-$i.log" >>"$DETAILS"
			dead[$i]=1
			continue
		fi
	done
	children_cpu cpu1
	local wall
	wall=$(elapsed "$t0" "$(now)")
	stop_rec
	judge "$tool" "$k" "$exp" "" -skip 2 -tail 1
	bad=$((bad + JUDGE_BAD))
	local worst_drift=$JUDGE_DRIFT worst_growth=$JUDGE_GROWTH first_start=$JUDGE_FIRST_START last_start=$JUDGE_LAST_START first_end=$JUDGE_FIRST_END
	# Were the K streams on air together? A tool whose processes start slowly under load spreads its
	# streams out in time and so meets less contention: the window all K share tells. Judged again
	# over that window alone (2 s after the last start to 1 s before the first end), K streams held.
	local together="?" from to span held=$k hdrift=0 hgrowth=0
	if isnum "$last_start" && isnum "$first_end"; then
		together="$(calc "$first_end - $last_start" %.1f) s (measured packets began over $(calc "$last_start - $first_start" %.1f) s)"
		from=$(calc "$last_start + 2" %.3f); to=$(calc "$first_end - 1" %.3f); span=$(calc "$to - $from" %.3f)
		if [ "$(calc "$span >= 5" %d)" = 1 ]; then
			judge "$tool" "$k" "$(calc "0.95*$span*$FPS" %d)" " while all on air" -skip 2 -from "$from" -to "$to"
			held=$JUDGE_BAD hdrift=$JUDGE_DRIFT hgrowth=$JUDGE_GROWTH
		fi
	fi
	rm -f "$WORK"/arr/scale-"$tool"-"$k"-*.csv "$WORK"/fifo/[va]-*
	note "scale $tool K=$k: $held of $k behind while all on air (worst drift $hdrift ms/s, worst lag growth $hgrowth s), $bad behind counting start-up (worst drift $worst_drift ms/s, worst lag growth $worst_growth s); all done after $wall s; all $k on air together for $together; CPU per stream $(calc "($cpu1-$cpu0)/$k" %.2f) s ($(calc "100*($cpu1-$cpu0)/($k*$SCALE_SECONDS)" %.1f) % of a core per stream second); load $(load)"
	SCALE_BAD=$held
	SCALE_BAD_RUN=$bad
}

# The tools take turns at each K, so that they meet the same outside load, and which goes first
# rotates from one K to the next: a virtual machine's speed drifts within minutes, and a fixed order
# would always give the same tool the same place in the drift and behind the heaviest run of the K
# before. A K where fewer than a quarter of the streams fell behind is tried once more before it
# counts (one stream briefly starved by someone else's job should not decide); a tool stops at its
# first K that fails.
turns() { # turns N: SCALE_TOOLS rotated left by N
	local t=($SCALE_TOOLS) i
	for i in "${!t[@]}"; do echo "${t[$(((i + $1) % ${#t[@]}))]}"; done
}
scale_run_held() { # scale_run_held TOOL K: the highest K tried that held counting start-up too
	if [ "$SCALE_BAD_RUN" = 0 ] && [ "$2" -gt "${VAL[scale_run_$1]}" ]; then VAL[scale_run_$1]=$2; fi
}
scale() {
	local tool k any
	declare -A holding
	for tool in $SCALE_TOOLS; do holding[$tool]=1; VAL[scale_$tool]=0; VAL[scale_fail_$tool]=""; VAL[scale_run_$tool]=0; done
	local turn=0
	for k in $SCALE_KS; do
		any=0
		turn=$((turn + 1))
		for tool in $(turns $turn); do
			[ "${holding[$tool]}" = 1 ] || continue
			any=1
			say "scale ${TOOL_NAME[$tool]}: $k streams for ${SCALE_SECONDS} s"
			scale_run "$tool" "$k"
			if [ "$SCALE_BAD" != 0 ] && [ $((SCALE_BAD * 4)) -lt "$k" ]; then
				say "scale ${TOOL_NAME[$tool]}: $k streams again (a few behind may be a fluke: a K counts as failed when it fails twice)"
				scale_run "$tool" "$k"
			fi
			scale_run_held "$tool" "$k"
			if [ "$SCALE_BAD" = 0 ]; then
				VAL[scale_$tool]=$k
			else
				holding[$tool]=0
				VAL[scale_fail_$tool]=$k
			fi
		done
		[ $any = 1 ] || break
	done
	# The grid is coarse: narrow each tool's gap between the last K it held and the first it failed
	# by halving it, SCALE_REFINE times, the tools taking turns again.
	local step pass fail mid
	SCALE_EXTRA=""
	for step in $(seq 1 "$SCALE_REFINE"); do
		turn=$((turn + 1))
		for tool in $(turns $turn); do
			pass=${VAL[scale_$tool]}
			fail=${VAL[scale_fail_$tool]}
			isnum "$fail" && [ $((fail - pass)) -gt 1 ] || continue
			mid=$(((pass + fail) / 2))
			SCALE_EXTRA="$SCALE_EXTRA $tool:$mid"
			say "scale ${TOOL_NAME[$tool]}: narrowing (held $pass, failed $fail): $mid streams for ${SCALE_SECONDS} s"
			scale_run "$tool" "$mid"
			if [ "$SCALE_BAD" != 0 ] && [ $((SCALE_BAD * 4)) -lt "$mid" ]; then
				say "scale ${TOOL_NAME[$tool]}: $mid streams again"
				scale_run "$tool" "$mid"
			fi
			scale_run_held "$tool" "$mid"
			if [ "$SCALE_BAD" = 0 ]; then VAL[scale_$tool]=$mid; else VAL[scale_fail_$tool]=$mid; fi
		done
	done
	for tool in $SCALE_TOOLS; do
		[ -n "${VAL[scale_fail_$tool]}" ] || VAL[scale_fail_$tool]="none up to ${SCALE_KS##* }"
	done
}

# =======================================================================================================
skipped unpaced || unpaced
skipped cpu || realtime_cpu
skipped pacing || pacing
skipped scale || scale

# ---- the table -----------------------------------------------------------------------------------------
LOAD_END=$(load)
DURATION=$(elapsed "$T_START" "$(now)")
pf() { # pf VALUE OP LIMIT: pass or FAIL
	isnum "$1" || { echo "n/a"; return; }
	[ "$(calc "$1 $2 $3" %d)" = 1 ] && echo pass || echo "**FAIL**"
}
m() { median ${VAL[$1]:-}; }
fmt() { isnum "$1" && calc "$1" "$2" || echo "${1:-NA}"; }
unpaced_row() { # unpaced_row TOOL SIZE LABEL: a table row for TOOL against plain ffmpeg (livepush's has the target)
	local l f r ratios=${VAL[unpaced_${1}ratio_$2]:-}
	l=$(m "unpaced_$1_$2"); f=$(m "unpaced_ff_$2"); r=$(fmt "$(m "unpaced_${1}ratio_$2")" %.3f)
	note "unpaced $2: ${UNPACED_NAME[$1]}, ratio of the medians $(ratio "$l" "$f"), rounds' ratios:$ratios"
	local target="(context)" result="" limit=1.05 ci hi
	ci=$(median_ci $ratios)
	hi=${ci#*-} && hi=${hi%%,*}
	if [ "$1" = lp ]; then
		target="<= $limit"
		result=$(pf "$r" '<=' $limit)
		# Say so when the rounds cannot tell the median from the target.
		[ "$result" = pass ] && [ "$(pf "$hi" '>' $limit)" = pass ] && result="pass (interval reaches past $limit)"
	fi
	echo "| $3 | $(fmt "$l" %.2f) s | $(fmt "$f" %.2f) s | $r ($ci) | $target | $result |"
}

TABLE=$WORK/table.md
{
	echo "| measurement | livepush | plain ffmpeg | ratio | target | result |"
	echo "| --- | --- | --- | --- | --- | --- |"
	if ! skipped unpaced; then
		for spec in $UNPACED_SIZES; do
			s=${spec%=*}
			unpaced_row lp "$s" "unpaced wall time, $s, ${spec#*=} s of media, median of $UNPACED_REPEAT rounds; ratio: median of the rounds' (confidence interval of that median)"
			[ "$FLOOR" = 1 ] && unpaced_row fl "$s" "↳ scripts/bench/fifofeed (C, only writes the FIFOs) + the same ffmpeg command: the floor of a FIFO feeder"
		done
	fi
	if ! skipped cpu; then
		for s in $CPU_SIZES; do
			[[ " $CPU_RUNS " == *" $s "* ]] || continue # (BENCH_CPU_RUNS left it out)
			p=$(m "cpu_pct_$s")
			if [ "$s" = 256x256 ]; then tgt="(context)"; res=""; else tgt="<= 3 %"; res=$(pf "$p" '<=' 3); fi
			echo "| realtime CPU, $s, ${CPU_SECONDS} s: livepush / its ffmpeg child | $(fmt "$(m "cpu_lp_$s")" %.3f) s | $(fmt "$(m "cpu_child_$s")" %.2f) s (child) | $(fmt "$p" %.2f) % | $tgt | $res |"
			p=$(m "cpu_pct_steady_$s")
			[ "$s" = 256x256 ] || res=$(pf "$p" '<=' 3)
			echo "| ↳ same, from 5 s on (steady state, no start-up) | | | $(fmt "$p" %.2f) % | $tgt | $res |"
			if [ "$s" = 256x256 ] && [ "$FLOOR" = 1 ]; then
				echo "| ↳ the floor: scripts/bench/fifofeed -r (C, paced) / the same ffmpeg command, whole run (from 5 s on) | | | $(fmt "$(m "cpu_pct_fl_$s")" %.2f) % ($(fmt "$(m "cpu_pct_steady_fl_$s")" %.2f) %) | (context) | |"
			fi
			l=$(m "cpu_total_lp_$s"); f=$(m "cpu_ffre_$s"); r=$(ratio "$l" "$f")
			echo "| realtime CPU, $s: livepush + child vs plain \`ffmpeg -re\` (context) | $(fmt "$(m "core_lp_$s")" %.1f) % of a core | $(fmt "$(m "core_ffre_$s")" %.1f) % of a core | $r | (context) | |"
		done
		for run in $CPU_RUNS; do
			[[ "$run" == *@* ]] || continue
			s=${run//@/-}; in=${run#*@}
			echo "| realtime CPU, ${run%@*}, $(calc "${in%x*}/1000" %.4g) kHz ${in#*x}-channel WAV, ${CPU_SECONDS} s: livepush / its ffmpeg child | $(fmt "$(m "cpu_lp_$s")" %.3f) s | $(fmt "$(m "cpu_child_$s")" %.2f) s (child) | $(fmt "$(m "cpu_pct_$s")" %.2f) % | (context) | |"
			echo "| ↳ same, from 5 s on (steady state, no start-up) | | | $(fmt "$(m "cpu_pct_steady_$s")" %.2f) % | (context) | |"
		done
		for s in $CPU_SIZES; do
			[[ " $CPU_RUNS " == *" $s "* ]] || continue
			l=$(m "hwm_lp_$s")
			if [ "$s" = 1280x720 ]; then tgt="<= 50 MB"; res=$(pf "$l" '<=' 50); else tgt="(context)"; res=""; fi
			echo "| peak RSS (VmHWM), $s | $(fmt "$l" %.1f) MB | $(fmt "$(m "hwm_child_$s")" %.1f) MB (its ffmpeg child) | | $tgt | $res |"
		done
	fi
	if ! skipped pacing; then
		l=$(m pace_drift_lp); f=$(m pace_drift_ff)
		la=NA; isnum "$l" && la=$(calc "($l<0)?-($l):($l)" %.4f)
		echo "| pacing drift, 256x256, ${PACE_SECONDS} s, after 2 s (slope of arrival - pts) | $(fmt "$l" %.3f) ms/s | $(fmt "$f" %.3f) ms/s | $(ratio "$l" "$f" %.2f) | < 1 ms/s | $(pf "$la" '<' 1) |"
		l=$(m pace_spread_lp); f=$(m pace_spread_ff); r=$(ratio "$l" "$f" %.2f)
		echo "| pacing spread (peak to peak of arrival - pts) | $(fmt "$l" %.3f) s | $(fmt "$f" %.3f) s | $r | < 0.1 s | $(pf "$l" '<' 0.1) |"
		l=$(m pace_resid_lp); f=$(m pace_resid_ff)
		echo "| ↳ around the fitted line (context) | $(fmt "$l" %.3f) s | $(fmt "$f" %.3f) s | $(ratio "$l" "$f" %.2f) | (context) | |"
	fi
	if ! skipped scale; then
		l=${VAL[scale_lp]:-NA}
		[ "$SCALE_TOOLS" = lp ] &&
			echo "| scale: concurrent 256x256 gop-1 realtime streams, none behind while all on air (${SCALE_SECONDS} s each; K tried: $SCALE_KS, then${SCALE_EXTRA:- nothing more}; first failing: ${VAL[scale_fail_lp]:-?}) | $l | not run | | >= ffmpeg's | n/a |"
		for t in $SCALE_TOOLS; do
			[ "$t" = lp ] && continue
			f=${VAL[scale_$t]:-NA}; r=$(ratio "$l" "$f" %.2f)
			who=ffmpeg; [ "$t" = fl ] && who="the floor"; [ "$t" = lpyt ] && who="the preset"
			echo "| scale: concurrent 256x256 gop-1 realtime streams, none behind while all on air, vs ${TOOL_NAME[$t]} (${SCALE_SECONDS} s each; K tried: $SCALE_KS, then narrowing${SCALE_EXTRA:- nothing}; first failing: livepush ${VAL[scale_fail_lp]:-?}, $who ${VAL[scale_fail_$t]:-?}) | $l | $f | $r | >= $who's | $(pf "$r" '>=' 1) |"
		done
		for t in $SCALE_TOOLS; do
			[ "$t" = lp ] && continue
			case $t in fl) who="the floor" ;; ffraw) who="ffmpeg -re raw" ;; lpyt) who="livepush --platform youtube" ;; *) who="ffmpeg -re png" ;; esac
			echo "| ↳ vs $who, counting start-up too: none behind from 2 s after its own start, while the others start (highest K tried) | ${VAL[scale_run_lp]:-NA} | ${VAL[scale_run_$t]:-NA} | $(ratio "${VAL[scale_run_lp]:-NA}" "${VAL[scale_run_$t]:-NA}" %.2f) | (context) | |"
		done
	fi
} >"$TABLE"

STAMP=$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$OUTDIR"
REPORT=$OUTDIR/bench-$STAMP.md
{
	echo "# livepush benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
	echo
	echo "Machine: $MACHINE. livepush $COMMIT. Mode: $([ $LONG = 1 ] && echo "long (BENCH_LONG=1)" || echo quick)."
	echo "Load average (1, 5, 15 min) at start $LOAD_START, at end $LOAD_END. Took ${DURATION} s."
	echo
	cat "$TABLE"
	echo
	echo "Medians; ratio = livepush / plain ffmpeg. Unpaced: wall time of the whole run, ffmpeg reading the"
	echo "frames and PCM from regular files with livepush's own options. Realtime CPU: every thread's run"
	echo "time (schedstat), sampled just before the end. Pacing: subscriber-side packet arrival stamps."
	echo
	echo "<details><summary>Every run</summary>"
	echo
	echo '```'
	cat "$DETAILS"
	echo '```'
	echo
	echo "</details>"
} >"$REPORT"
cp "$REPORT" "$OUTDIR/latest.md"
say "wrote $REPORT and $OUTDIR/latest.md; load average at end: $LOAD_END; took ${DURATION} s"
uptime >&2
cat "$TABLE"
if [ $CRASHED != 0 ]; then
	say "a run crashed (see $REPORT)"
	exit 1
fi
exit 0
