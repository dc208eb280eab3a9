#!/usr/bin/env bash
# Training steps/s of `expc run`, plain Candle and PyTorch on the same machine and thread
# count, in one run: for each model and thread count, 3 rounds alternating the three; prints
# the medians and the ratios to PyTorch. Usage: bench/train/run.sh [PYTHON] (a Python with
# torch; default python3); MODELS="cnn cnn_bn" runs only those.
# expc times its training loop only (after data generation and initialization); its 220-step
# run includes the first 20 steps. Plain Candle (benches/candle_train.rs) and PyTorch
# (torch_train.py) time STEPS steps after 20 warm-up steps on pre-generated batches.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-python3}
cargo build --release -q --bin expc
cargo bench -q -p exp-bench --bench candle_train --no-run 2> /dev/null
out=$(mktemp -d)
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for threads in 1 2; do
  for model in ${MODELS:-mlp tiny cnn cnn_bn}; do
    steps=200; [[ $model == cnn* ]] && steps=150
    e=(); c=(); t=()
    for round in 1 2 3; do
      RAYON_NUM_THREADS=$threads ./target/release/expc run bench/train/models.exp "$model" --quiet \
        --set "train=$((steps + 20))steps" --out "$out/$model-$threads-$round" > /dev/null
      e+=("$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['steps_per_second'])" "$out/$model-$threads-$round/summary.json")")
      c+=("$(RAYON_NUM_THREADS=$threads cargo bench -q -p exp-bench --bench candle_train -- "$model" "$threads" "$steps" 2> /dev/null | awk '{print $3}')")
      t+=("$(OMP_NUM_THREADS=$threads "$PY" bench/train/torch_train.py "$model" "$threads" "$steps" | awk '{print $3}')")
    done
    em=$(printf '%s\n' "${e[@]}" | median); cm=$(printf '%s\n' "${c[@]}" | median); tm=$(printf '%s\n' "${t[@]}" | median)
    printf '%-5s threads=%s  expc %7.1f  candle %7.1f  torch %7.1f steps/s  expc/torch %.2f  candle/torch %.2f\n' \
      "$model" "$threads" "$em" "$cm" "$tm" "$(python3 -c "print($em/$tm)")" "$(python3 -c "print($cm/$tm)")"
  done
done
rm -rf "$out"
