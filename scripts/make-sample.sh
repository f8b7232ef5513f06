#!/usr/bin/env bash
# make-sample.sh: regenerate the bundled sample, testdata/sample.png and testdata/speech.wav.
#
# sample.png: a 512x512 smiley face (yellow face, dark eyes and mouth, red nose, on a blue gradient),
# drawn with ffmpeg's geq filter, so no font or image editor is needed. The colours are chosen so that a
# red/blue swap is obvious at a glance.
# speech.wav: two sentences spoken by espeak-ng, converted by ffmpeg to 24000 Hz mono 16-bit PCM.
#
# Needs ffmpeg and espeak-ng (installed with apt-get if missing). The files are committed; running this
# again is only needed to change them.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
if [ ${#missing[@]} -gt 0 ]; then
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
mkdir -p testdata

# Shapes, as 0/1 expressions of the pixel position (X, Y).
face='lt(hypot(X-256,Y-256),200)'
ring='between(hypot(X-256,Y-256),200,212)'
eyes='(lt(hypot(X-186,Y-200),30)+lt(hypot(X-326,Y-200),30))'
nose='lt(hypot(X-256,Y-265),22)'
mouth='between(hypot(X-256,Y-270),105,125)*gt(Y,300)'
dark="gt($ring+$eyes+$mouth,0)"
# Colour of each part: dark outline/eyes/mouth (30,30,40), red nose (230,30,30), yellow face
# (255,205,0), background a blue gradient.
r="if($dark,30,if($nose,230,if($face,255,20+40*Y/H)))"
g="if($dark,30,if($nose,30,if($face,205,60+80*Y/H)))"
b="if($dark,40,if($nose,30,if($face,0,150+100*Y/H)))"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=black:s=512x512:d=1,format=rgb24" \
	-vf "geq=r='$r':g='$g':b='$b'" -frames:v 1 -pix_fmt rgb24 testdata/sample.png

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 150 -w "$tmp/speech.wav" \
	"Hello, this is live push, streaming a picture and a voice. If you can hear me, the stream works."
ffmpeg -hide_banner -loglevel error -y -i "$tmp/speech.wav" -ar 24000 -ac 1 -c:a pcm_s16le \
	-map_metadata -1 -fflags +bitexact -flags:a +bitexact testdata/speech.wav

ls -l testdata/sample.png testdata/speech.wav
for f in testdata/speech.wav testdata/sample.png; do
	ffprobe -v error -show_entries stream=codec_name,width,height,sample_rate,channels:format=duration -of compact "$f"
done
