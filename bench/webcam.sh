#!/usr/bin/env bash
# The Live webcam page's frame rate end to end in headless Chromium (fake camera, the page's own
# loop: grab, JPEG, POST /api/live, tracking, boxes drawn), for the figures of README.
#
#   bench/webcam.sh [SECONDS] [-- SERVE_ARGS...]      e.g. bench/webcam.sh 20 -- --model fast
#   PRIVATE=1 bench/webcam.sh [SECONDS]                the page's private mode: frames read in
#                                                      the browser (WebAssembly), none sent
#
# The camera plays the clip of bench/video.sh (640x360, 30 frames/s, three FER2013 faces; the
# page sends frames at most 480 px wide) as a Y4M. FERRITE_BIN=PATH measures another build.
# Needs FER2013_DIR, ffmpeg, Debian's Chromium and the e2e packages (`cd e2e && npm ci`).
set -euo pipefail
cd "$(dirname "$0")/.."
LENGTH="${1:-20}"
shift $(($# > 0 ? 1 : 0))
[ "${1:-}" = "--" ] && shift
SERVE_ARGS=("$@")
: "${FER2013_DIR:?set FER2013_DIR to FER2013 in the Kaggle layout}"
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: apt-get install ffmpeg"; exit 1; }
[ -d e2e/node_modules ] || { echo "run: cd e2e && npm ci"; exit 1; }

WORK="$(mktemp -d)"
trap '[ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
if [ -z "${FERRITE_BIN:-}" ]; then cargo build --release -q -p ferrite-cli; fi
BIN="${FERRITE_BIN:-target/release/ferrite}"
cargo build --release -q -p ferrite-video --example face_video
target/release/examples/face_video "$FER2013_DIR" "$WORK/clip.mp4" 10 640x360 30 3
ffmpeg -v error -i "$WORK/clip.mp4" -pix_fmt yuv420p -f yuv4mpegpipe "$WORK/camera.y4m"

. bench/serve.sh
start_server "$BIN" "${SERVE_ARGS[@]}"
echo "$(nproc) cores; server ${SERVE_ARGS[*]:-(default model)}"
node e2e/webcam_rate.mjs "$URL" "$WORK/camera.y4m" "$LENGTH" ${PRIVATE:+private}
