#!/usr/bin/env bash
# Load on `POST /api/predict` over loopback: wrk at N connections for S seconds, once with
# FER2013 face crops (48x48 JPEG) and once with a 640x480 photo of 3 faces; prints requests/s,
# latency percentiles and errors from wrk, and the server's resident memory (RSS) each second.
#
#   bench/load.sh [SECONDS] [CONNECTIONS] [-- SERVE_ARGS...]
#
# FERRITE_BIN=PATH measures another build (an older one, side by side). Needs: wrk (Debian's
# package), FER2013_DIR (the Kaggle layout: faces come from PublicTest),
# and a release build (`cargo build --release`; the photo is made by
# `cargo run --release -p ferrite-infer --example scene_photo`). wrk shares the machine's cores
# with the server: on 2 cores the figures include the load generator's own CPU time.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-30}"
CONNECTIONS="${2:-32}"
shift $(($# > 2 ? 2 : $#))
[ "${1:-}" = "--" ] && shift
SERVE_ARGS=("$@")
: "${FER2013_DIR:?set FER2013_DIR to FER2013 in the Kaggle layout}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }

WORK="$(mktemp -d)"
trap '[ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
if [ -z "${FERRITE_BIN:-}" ]; then cargo build --release -q -p ferrite-cli; fi
BIN="${FERRITE_BIN:-target/release/ferrite}"
cargo run --release -q -p ferrite-infer --example scene_photo -- "$FER2013_DIR" "$WORK/photo.jpg"
FACE="$(find "$FER2013_DIR/test/happy" -name 'PublicTest_*' -print -quit)"

. bench/serve.sh
start_server "$BIN" "${SERVE_ARGS[@]}"
echo "server $URL (pid $SERVER), $(nproc) cores, ${CONNECTIONS} connections, ${SECONDS_EACH} s each"

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }

load() { # NAME FILE CONTENT_TYPE
  echo "== $1: RSS before $(rss_mb) MB"
  (for s in $(seq "$SECONDS_EACH"); do sleep 1; echo "$s $(rss_mb)"; done) >"$WORK/rss-$1.txt" &
  local sampler=$!
  wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --timeout 10s --latency \
    -s bench/post_file.lua "$URL/api/predict" -- "$2" "$3"
  wait "$sampler" || true
  echo "RSS (MB) each second: $(awk '{printf "%s ", $2}' "$WORK/rss-$1.txt")"
  echo "RSS peak $(sort -n -k2 "$WORK/rss-$1.txt" | tail -1 | cut -d' ' -f2) MB, after $(rss_mb) MB"
}

load face-crops "$FACE" image/jpeg
load photo-640x480 "$WORK/photo.jpg" image/jpeg
