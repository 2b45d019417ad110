#!/usr/bin/env bash
# The private mode's WebAssembly module against the native build on the same work, one thread
# each (a page's module runs on one): a 640x480 photo of three FER2013 faces, and a webcam
# frame (the photo at 480x360) whose faces the tracker follows. For the figures of README.
#
#   bench/private_mode.sh [ROUNDS]
#
# Needs FER2013_DIR, ffmpeg and Node.js. The module runs in Node's V8, Chromium's engine;
# bench/webcam.sh with PRIVATE=1 measures the whole Live page in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-20}"
: "${FER2013_DIR:?set FER2013_DIR to FER2013 in the Kaggle layout}"
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: apt-get install ffmpeg"; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cargo build --release -q -p ferrite-cli
cargo run --release -q -p ferrite-infer --example scene_photo -- "$FER2013_DIR" "$WORK/photo.jpg"
ffmpeg -v error -i "$WORK/photo.jpg" -vf scale=480:360 -f rawvideo -pix_fmt rgba "$WORK/frame.rgba"
target/release/ferrite export --format web --out "$WORK/site" >/dev/null
echo "== WebAssembly (Node $(node --version), 1 thread)"
node bench/private_mode.mjs "$WORK/site" "$WORK/photo.jpg" "$WORK/frame.rgba" "$ROUNDS"
echo "== native (1 thread): ferrite bench --pipeline --model fast"
RAYON_NUM_THREADS=1 target/release/ferrite bench --pipeline --model fast --photo "$WORK/photo.jpg" |
  grep -E 'detect|batch 1|photo'
