#!/usr/bin/env bash
# `ferrite video` on a clip against `ferrite predict` on the same frames extracted as images,
# and the memory of a clip ten times longer: the figures of README's video section.
#
#   bench/video.sh [SECONDS] [-- VIDEO_ARGS...]
#
# Makes a 640x360, 30 frames/s clip of SECONDS (10) with three FER2013 faces swinging across a
# textured background (examples/face_video), and one 10x as long; extracts the short clip's
# frames as PNG with FFmpeg; then times, with /usr/bin/time (wall seconds, peak RSS):
# `ferrite video` on every frame of both clips, and `ferrite predict` on the extracted frames.
# VIDEO_ARGS go to both commands (e.g. `-- --model fast`). FERRITE_BIN=PATH measures another
# build. Needs FER2013_DIR (the Kaggle layout), ffmpeg and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
LENGTH="${1:-10}"
shift $(($# > 0 ? 1 : 0))
[ "${1:-}" = "--" ] && shift
ARGS=("$@")
: "${FER2013_DIR:?set FER2013_DIR to FER2013 in the Kaggle layout}"
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: apt-get install ffmpeg"; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing: apt-get install time"; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if [ -z "${FERRITE_BIN:-}" ]; then cargo build --release -q -p ferrite-cli; fi
BIN="${FERRITE_BIN:-target/release/ferrite}"
cargo build --release -q -p ferrite-video --example face_video
MAKE=target/release/examples/face_video
"$MAKE" "$FER2013_DIR" "$WORK/clip.mp4" "$LENGTH" 640x360 30 3
"$MAKE" "$FER2013_DIR" "$WORK/long.mp4" "$((LENGTH * 10))" 640x360 30 3
mkdir "$WORK/frames"
ffmpeg -v error -i "$WORK/clip.mp4" -fps_mode passthrough "$WORK/frames/%06d.png"
FRAMES=$(find "$WORK/frames" -name '*.png' | wc -l)
echo "$(nproc) cores; $FRAMES frames in the short clip; options: ${ARGS[*]:-none}"

measure() { # NAME FRAMES COMMAND...
  local name="$1" frames="$2"
  shift 2
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out.csv" 2>/dev/null
  read -r seconds kb <"$WORK/time"
  awk -v n="$name" -v s="$seconds" -v kb="$kb" -v f="$frames" -v rows="$(($(wc -l <"$WORK/out.csv") - 1))" \
    'BEGIN { printf "%-34s %8.1f s %8.1f frames/s %7.0f MB peak RSS %7d rows\n", n, s, f / s, kb / 1024, rows }'
}

measure "ferrite video (every frame)" "$FRAMES" "$BIN" video "$WORK/clip.mp4" --format csv "${ARGS[@]}"
measure "ferrite predict (extracted PNGs)" "$FRAMES" "$BIN" predict "$WORK/frames" --format csv "${ARGS[@]}"
measure "ferrite video, 10x longer clip" "$((FRAMES * 10))" "$BIN" video "$WORK/long.mp4" --format csv "${ARGS[@]}"
