#!/usr/bin/env bash
# Build `expc` with the `cuda` feature on a machine with no GPU and no system CUDA toolkit,
# using only the CUDA 13.0 toolkit wheels from PyPI. The binary is meant to be carried to a
# GPU machine (H100/H200 by default) and started there with bench/gpu/run_mlp.sh.
#
# Usage:  bench/gpu/build_cuda.sh
# Environment (all optional):
#   CUDA_WORK          where the wheel venv and the toolkit shim go   (default: /tmp/expc-cuda)
#   CUDA_COMPUTE_CAP   target compute capability (default 90 = sm_90a, Hopper only)
#   CARGO_TARGET_DIR   honoured; default /tmp/expc-cuda/target, so CPU builds are not disturbed
# A cold build takes about 25 minutes on 2 cores (nvcc compiling candle's kernels); later
# builds that change only this workspace take about a minute.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="${CUDA_WORK:-/tmp/expc-cuda}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$WORK/target}"
VENV="$WORK/venv"
ROOT="$WORK/cuda-root"
mkdir -p "$WORK"

# 1. CUDA 13.0 from wheels. 13.0 exactly: cudarc 0.19 knows CUDA <= 13.4, nvcc 13.0 emits PTX
#    ISA 9.0 that every CUDA 13 driver accepts, and these are the libraries PyTorch's cu130
#    wheels ship, so the binary binds against what the GPU machine already has.
WHEELS=(
  nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88
  nvidia-curand==10.4.0.35 nvidia-cublas==13.0.0.19
)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import nvidia' 2>/dev/null; then
  nice -n 19 "$VENV/bin/pip" install --quiet --no-deps "${WHEELS[@]}"
fi
NV="$("$VENV/bin/python" -c 'import os,nvidia; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')"
[ -x "$NV/bin/nvcc" ] || { echo "no nvcc under $NV" >&2; exit 1; }

# 2. A toolkit-shaped directory: the wheels have only versioned sonames and no driver library,
#    while cudarc links -lcuda -lnvrtc -lcurand -lcublas -lcublasLt from $CUDA_HOME/lib.
rm -rf "$ROOT"
mkdir -p "$ROOT/lib/stubs" "$WORK/fake-driver"
for d in bin include nvvm; do ln -s "$NV/$d" "$ROOT/$d"; done
ln -s lib "$ROOT/lib64"
for f in "$NV"/lib/*.so.*; do ln -s "$f" "$ROOT/lib/$(basename "$f")"; done
for l in cudart cublas cublasLt nvrtc curand; do
  ln -s "$(cd "$ROOT/lib" && ls "lib$l.so."* | head -1)" "$ROOT/lib/lib$l.so"
done
# Link-time stand-in for libcuda.so.1: every cu* entry point of this toolkit's cuda.h. It is
# never carried; the GPU machine's driver provides the real one.
for defs in "" "-D__CUDA_API_VERSION_INTERNAL" "-DCUDA_API_PER_THREAD_DEFAULT_STREAM"; do
  echo '#include <cuda.h>' | gcc -E -P $defs -I"$NV/include" -x c -
done | grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' | tr -d ' (' | sort -u |
  awk '{print "int " $1 "(void) { return 999; }"}' > "$ROOT/lib/stubs/libcuda_stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$ROOT/lib/stubs/libcuda.so" "$ROOT/lib/stubs/libcuda_stub.c"
cp "$ROOT/lib/stubs/libcuda.so" "$WORK/fake-driver/libcuda.so.1"

# 3. Build.
export PATH="$ROOT/bin:$PATH" NVCC="$ROOT/bin/nvcc" CUDA_HOME="$ROOT"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}" CUDARC_CUDA_VERSION=13000
unset CUDA_PATH CUDA_ROOT CUDA_TOOLKIT_ROOT_DIR || true
START=$(date +%s)
(cd "$REPO" && nice -n 19 cargo build --release -p exp-driver --bin expc --features cuda)
echo "cargo build took $(($(date +%s) - START)) s"

# 4. Load test: every library and symbol must bind against the 13.0 wheel libraries (the
#    binary is linked BIND_NOW); the stub driver stands in for libcuda.so.1 here only.
BIN="$CARGO_TARGET_DIR/release/expc"
readelf -d "$BIN" | awk '/NEEDED/{print "needs " $NF}'
if LD_LIBRARY_PATH="$NV/lib:$WORK/fake-driver" ldd -r "$BIN" 2>&1 | grep -E 'not found|undefined symbol'; then
  echo "load test failed" >&2; exit 1
fi
echo "load test ok: $BIN ($(du -m "$BIN" | cut -f1) MiB)"
# 5. What to carry to the GPU machine, in $WORK/carry (together under the device tool's 64 MiB):
#    - the binary, gzipped (most of it is candle's embedded GPU code, which compresses well);
#    - cuRAND, xz-compressed: candle creates a cuRAND generator with every CUDA device, and
#      PyTorch's CUDA 13 wheels from 2.15 on no longer install it (2.15.0+cu132 here: cuBLAS,
#      cudart, nvrtc, no cuRAND). bench/gpu/run_mlp.sh uses it only when PyTorch lacks it.
mkdir -p "$WORK/carry"
gzip -9 -c "$BIN" > "$WORK/carry/expc-cuda.gz"
[ -s "$WORK/carry/libcurand.so.10.xz" ] || xz -9 -T2 -c "$NV/lib/libcurand.so.10" > "$WORK/carry/libcurand.so.10.xz"
du -m "$WORK/carry"/*
echo "carry: copy $WORK/carry into an ignored path of the repository (e.g. target/gpu) and name it"
echo "in the device call's carry list; there, run bench/gpu/run_mlp.sh target/gpu/expc-cuda.gz"
