#!/usr/bin/env bash
# Runs issue 11's side-by-side timing on a lent GPU machine (or, with FEDBIT_GPU_DRY=1, here on
# SwiftShader), from what scripts/gpu/bundle.sh packed into .gpu/ and .gl/:
#   1. bench:train on webgpu (Dawn on the machine's Vulkan driver): tiny and default, batch 8 and
#      64, ms/dispatches/uploads per step, GPU kernel time by timestamp queries
#   2. the same on wasm (one CPU thread)
#   3. python/time_step.py: the same U-Net's step in PyTorch eager on CUDA
#   4. webgpu tiny batch 8 again with one command-buffer submit per 1,000 dispatches (tfjs: 15)
#   5. a CPU profile (node --cpu-prof) of the webgpu tiny batch-8 step: where the host's time goes
# Writes to $OUT (the device tool's folder): run.log, webgpu.json, wasm.json, pytorch.json,
# webgpu-submit.json, env.txt, prof/*.cpuprofile. With the device tool (names .gpu and .gl in carry):
#   bash scripts/gpu/run.sh                     (about 4 minutes on an H200)
# Environment: STEPS (default 20), SIZES (tiny,default), BATCHES (8,64), SKIP (names of parts
# to skip: webgpu wasm pytorch submit prof), TF_FLAGS (passed as --tf-flag to the webgpu runs).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/fedbit-gpu-out}
mkdir -p "$OUT/prof"
STEPS=${STEPS:-20}
SIZES=${SIZES:-tiny,default}
BATCHES=${BATCHES:-8,64}
SKIP=${SKIP:-}
skip() { [[ " $SKIP " == *" $1 "* ]]; }
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/run.log" >&2; }

if [ "${FEDBIT_GPU_DRY:-}" = 1 ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium
else
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f $icd ] && export VK_DRIVER_FILES=$icd
  export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib:${LD_LIBRARY_PATH:-}
fi
bin=$(mktemp -d)
xz -dc .gpu/node.xz >"$bin/node" && chmod +x "$bin/node"
dawn=.gpu/node_modules/webgpu/dist/linux-x64
if [ ! -s $dawn/dawn.node ]; then
  xz -dc $dawn/dawn.node.xz >$dawn/dawn.node
  trap 'rm -f $dawn/dawn.node' EXIT # so that the next device call does not carry it uncompressed
fi
{
  date -u
  nproc
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
  "$bin/node" -v
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())' 2>&1 || true
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2
tfflags=()
[ -n "${TF_FLAGS:-}" ] && tfflags=(--tf-flag "$TF_FLAGS")
bench() { "$bin/node" .gpu/bench-train.mjs "$@"; }

if ! skip webgpu; then
  log "webgpu: sizes $SIZES, batch $BATCHES, $STEPS steps"
  bench --backend webgpu --sizes "$SIZES" --batch "$BATCHES" --warmup 3 --steps "$STEPS" --kernel-time "${tfflags[@]}" --json >"$OUT/webgpu.json" 2>>"$OUT/run.log"
  log "webgpu exit $?"
fi
if ! skip wasm; then
  log "wasm"
  bench --backend wasm --sizes "$SIZES" --batch "$BATCHES" --warmup 1 --steps 5 --json >"$OUT/wasm.json" 2>>"$OUT/run.log"
  log "wasm exit $?"
fi
if ! skip pytorch; then
  log "pytorch"
  [ -s "$OUT/webgpu.json" ] && PYTHONUNBUFFERED=1 python3 python/time_step.py "$OUT/webgpu.json" --steps 50 --warmup 10 --json >"$OUT/pytorch.json" 2>>"$OUT/run.log"
  log "pytorch exit $?"
fi
if ! skip submit; then
  # tfjs-backend-webgpu submits its command buffer every 15 dispatches by default
  log "webgpu tiny batch 8, one submit per 1,000 dispatches"
  bench --backend webgpu --sizes tiny --batch 8 --warmup 3 --steps "$STEPS" --tf-flag WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=1000 --json >"$OUT/webgpu-submit.json" 2>>"$OUT/run.log"
  log "submit exit $?"
fi
if ! skip prof; then
  log "cpu profile: webgpu tiny batch 8"
  "$bin/node" --cpu-prof --cpu-prof-dir="$OUT/prof" .gpu/bench-train.mjs --backend webgpu --sizes tiny --batch 8 --warmup 3 --steps "$STEPS" "${tfflags[@]}" >>"$OUT/run.log" 2>&1
  log "profile exit $?"
fi
log done
