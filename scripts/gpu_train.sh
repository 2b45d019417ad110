#!/usr/bin/env bash
# Trains Ferrite CNNs on a GPU machine that has no Rust toolchain and no network.
#
# Expects, beside this script's repository root (or unpacked into /tmp/ferrite-gpu by an earlier
# call on the same machine, when both files together exceed what one call carries):
#   .dev/ferrite.xz    a `ferrite` binary built with `--features vulkan`, stripped, xz-compressed
#   .dev/fer-train-public.tar.xz  FER2013's train split and the PublicTest files of its test
#                      split in the Kaggle layout (JPEG is the most compact form of these faces:
#                      `(find train -name '*.jpg'; find test -name 'PublicTest_*') | tar cf - -T - | xz`)
#   .gl/*.deb          the Vulkan/GL loader packages (libvulkan1, libglvnd0, ...), when the
#                      machine lacks them
# Usage: scripts/gpu_train.sh OUT_DIR SECONDS "ARCH[:EXTRA ARGS]"...
#   e.g. scripts/gpu_train.sh "$OUT" 520 "wide:--init models/ferrite --augment light --lr 4e-4 --epochs 16"
# Each ARCH runs as its own `ferrite train --engine burn --device vulkan` process, all at once,
# each with a time limit of SECONDS (and --epochs 60 unless EXTRA ARGS name it); models,
# histories and logs are packed into OUT_DIR as results.tar.* parts of at most 15 MB.
set -u
out=$1; seconds=$2; shift 2
if ! ldconfig -p | grep -q libvulkan.so.1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
work=/tmp/ferrite-gpu
mkdir -p "$work/data"
# Each file is unpacked when present; either may have come in an earlier call (see above).
[ -f .dev/ferrite.xz ] && xz -dc .dev/ferrite.xz > "$work/ferrite" && chmod +x "$work/ferrite"
[ -f .dev/fer-train-public.tar.xz ] && xz -dc .dev/fer-train-public.tar.xz | tar xf - -C "$work/data"
[ -x "$work/ferrite" ] && [ -d "$work/data/train" ] || { echo "missing binary or data in $work"; exit 1; }
ls -l "$work" "$work/data"
pids=()
for spec in "$@"; do
    arch=${spec%%:*}
    extra=""; [ "$spec" != "$arch" ] && extra=${spec#*:}
    epochs="--epochs 60"; case "$extra" in *--epochs*) epochs="" ;; esac
    name=$(echo "$spec" | tr -c 'A-Za-z0-9_.-' '_' | sed 's/_*$//')
    # shellcheck disable=SC2086
    timeout $((${seconds%.*} + 60)) "$work/ferrite" train --engine burn --device vulkan \
        --data "$work/data" --out "$work/$name" --arch "$arch" \
        --time-limit "$seconds" $epochs $extra > "$work/$name.log" 2>&1 &
    pids+=($!)
    echo "started $name (pid $!)"
done
while sleep 30; do
    running=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
    grep -h "^Epoch" "$work"/*.log | tail -n "${#pids[@]}"
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null
    [ $running = 0 ] && break
done
(cd "$work" && tar cf - --exclude=checkpoint --exclude=data --exclude=ferrite -- *) |
    split -b 15M - "$out/results.tar."
ls -l "$out"
