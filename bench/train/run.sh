#!/usr/bin/env bash
# Training steps/s of `expc run` and of PyTorch on the same machine and thread count, in one
# run: for each model and thread count, 3 rounds alternating the two; prints the medians and
# their ratio. Usage: bench/train/run.sh [PYTHON] (a Python with torch; default python3).
# expc times its training loop only (after data generation and initialization), 200 steps
# after 20 warm-up steps are not separated: the 220-step run's rate is reported by the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-python3}
cargo build --release -q --bin expc
out=$(mktemp -d)
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for threads in 1 2; do
  for model in mlp tiny cnn; do
    steps=200; [ "$model" = cnn ] && steps=40
    e=(); t=()
    for round in 1 2 3; do
      RAYON_NUM_THREADS=$threads ./target/release/expc run bench/train/models.exp "$model" --quiet \
        --set "train=$((steps + 20))steps" --out "$out/$model-$threads-$round" > /dev/null
      e+=("$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['steps_per_second'])" "$out/$model-$threads-$round/summary.json")")
      t+=("$(OMP_NUM_THREADS=$threads "$PY" bench/train/torch_train.py "$model" "$threads" "$steps" | awk '{print $3}')")
    done
    em=$(printf '%s\n' "${e[@]}" | median); tm=$(printf '%s\n' "${t[@]}" | median)
    printf '%-5s threads=%s  expc %8.1f steps/s  torch %8.1f steps/s  ratio %.2f\n' "$model" "$threads" "$em" "$tm" "$(python3 -c "print($em/$tm)")"
  done
done
rm -rf "$out"
