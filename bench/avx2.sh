#!/usr/bin/env bash
# Ferrite's engine and PyTorch both held to AVX2 on a processor that has AVX-512, alternating
# with both at full width: training steps, batched inference and batch-1 latency of `wide` and
# the reference CNN (`ferrite bench`, `bench/pytorch_reference.py`). For README's AVX2 table
# when no AVX2-only machine is at hand; it shows the instruction sets' share, not another
# processor's caches and clocks.
#
#   bench/avx2.sh [ROUNDS]
#
# Builds an AVX2-only `ferrite` from HEAD in a temporary git worktree: gemm's and pulp's
# `x86-v4` features off (gemm's AVX2 + FMA micro-kernels) and the Winograd transforms at 8
# channels, with its own target folder (AVX2_TARGET, default /tmp/ferrite-avx2-target; the
# first build takes about 10 minutes on 2 cores). PyTorch is held to AVX2 by
# ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA and MKL_ENABLE_INSTRUCTIONS. Needs PYTHON (default
# python3) with torch. Pause other work on the machine first: figures compare only inside one
# window.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-2}"
PYTHON="${PYTHON:-python3}"
TARGET="${AVX2_TARGET:-/tmp/ferrite-avx2-target}"
TREE="$(mktemp -d)"
trap 'git worktree remove --force "$TREE" 2>/dev/null || rm -rf "$TREE"' EXIT
git worktree add -f -q --detach "$TREE" HEAD

# Each edit must apply: fail rather than measure a build that still has AVX-512.
edit() { # FILE FROM TO
  grep -qF "$2" "$TREE/$1" || { echo "bench/avx2.sh: '$2' not found in $1" >&2; exit 1; }
  sed -i "s|$(printf '%s' "$2" | sed 's/[][\.*^$|]/\\&/g')|$3|" "$TREE/$1"
}
edit crates/ferrite-engine/Cargo.toml 'features = ["rayon", "x86-v4"]' 'features = ["rayon"]'
edit crates/ferrite-engine/Cargo.toml '"x86-v3", "x86-v4"]' '"x86-v3"]'
edit crates/ferrite-engine/src/layers/winograd/lanes.rs \
  'return matches!(pulp::Arch::new(), pulp::Arch::V4(_));' 'return false;'

(cd "$TREE" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p ferrite-cli)
cargo build --release -q -p ferrite-cli
AVX2=(env ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2)
for round in $(seq "$ROUNDS"); do
  echo "### round $round"
  echo "== Ferrite, AVX2"
  "$TARGET/release/ferrite" bench --arch wide,reference --engine ferrite --seconds 4 | grep ferrite
  for arch in wide reference; do
    echo "== PyTorch, AVX2, $arch"
    "${AVX2[@]}" "$PYTHON" bench/pytorch_reference.py --arch "$arch" --seconds 4 | tail -1
  done
  echo "== Ferrite, full width"
  target/release/ferrite bench --arch wide,reference --engine ferrite --seconds 4 | grep ferrite
  for arch in wide reference; do
    echo "== PyTorch, full width, $arch"
    "$PYTHON" bench/pytorch_reference.py --arch "$arch" --seconds 4 | tail -1
  done
done
