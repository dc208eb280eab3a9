#!/usr/bin/env bash
# The MLP training benchmark on a GPU, in one run on the GPU machine: `expc run --device cuda`
# (the binary bench/gpu/build_cuda.sh builds elsewhere, carried gzipped) against PyTorch CUDA,
# 3 rounds alternating the two, medians and their ratio. Before timing, a correctness check:
# the quickstart trained on the GPU must reach its test accuracy.
#
# Usage, from the repository root of a copy on the GPU machine (which has PyTorch with its
# CUDA 13 libraries and the driver, but no Rust toolchain):
#   bench/gpu/run_mlp.sh EXPC_BINARY_OR_GZ [PYTHON]
# A dry run of the same steps on a CPU-only machine:
#   DEVICE=cpu bench/gpu/run_mlp.sh target/release/expc /tmp/torchenv/bin/python
# Environment: DEVICE (cuda or cpu, default cuda), STEPS (timed steps per run, default 500).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$1
PY=${2:-python3}
DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-500}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [[ $bin == *.gz ]]; then
  gunzip -c "$bin" > "$out/expc"
  chmod +x "$out/expc"
  bin=$out/expc
fi

if [ "$DEVICE" = cuda ]; then
  # cuBLAS and cudart from PyTorch's CUDA 13 wheels (nvidia/cu13/lib), cuRAND from there or,
  # when PyTorch lacks it, from the libcurand.so.10.xz that build_cuda.sh puts beside the
  # binary; libcuda.so.1 from the installed driver. Never a toolkit's stubs directory.
  libs=$("$PY" -c 'import os, nvidia
print(":".join(d for d in (os.path.join(p, "cu13", "lib") for p in nvidia.__path__) if os.path.isdir(d)))')
  curand=$(dirname "$1")/libcurand.so.10.xz
  if ! ls ${libs//:/ } 2> /dev/null | grep -q '^libcurand.so.10$' && [ -f "$curand" ]; then
    mkdir -p "$out/lib"
    xz -dc "$curand" > "$out/lib/libcurand.so.10"
    libs="$libs:$out/lib"
  fi
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if ldd "$bin" | grep 'not found'; then
    echo "run_mlp.sh: the libraries above are missing (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)" >&2
    exit 127
  fi
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
fi
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'

value() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))$2)" "$3"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 1. Correctness: the quickstart CNN (convolutions, pools, dropout, AdamW) on the device.
"$bin" run examples/quickstart/main.exp --device "$DEVICE" --quiet --out "$out/quickstart" > /dev/null
acc=$(value x "['probes']['test_acc']" "$out/quickstart/summary.json")
echo "quickstart on $DEVICE: test_acc $acc"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.94 else 1)" "$acc" || {
  echo "run_mlp.sh: the quickstart reached only $acc on $DEVICE (0.956 on the CPU)" >&2
  exit 1
}

# 2. Speed. A first short run pays the driver's compilation of the PTX kernels (cached after).
"$bin" run bench/train/models.exp mlp --device "$DEVICE" --quiet --set train=40steps --out "$out/warm" > /dev/null
threads=$(nproc)
e=()
t=()
for round in 1 2 3; do
  "$bin" run bench/train/models.exp mlp --device "$DEVICE" --quiet \
    --set "train=$((STEPS + 20))steps" --out "$out/mlp-$round" > /dev/null
  e+=("$(value x "['steps_per_second']" "$out/mlp-$round/summary.json")")
  t+=("$("$PY" bench/train/torch_train.py mlp "$threads" "$STEPS" "$DEVICE" | awk '{print $3}')")
done
em=$(printf '%s\n' "${e[@]}" | median)
tm=$(printf '%s\n' "${t[@]}" | median)
echo "expc runs: ${e[*]}"
echo "torch runs: ${t[*]}"
printf 'mlp on %s: expc %.1f steps/s, torch %.1f steps/s, expc/torch %.2f\n' \
  "$DEVICE" "$em" "$tm" "$(python3 -c "print($em / $tm)")"
