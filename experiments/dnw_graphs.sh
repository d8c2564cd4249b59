#!/usr/bin/env bash
# DNW channel graphs on Fashion-MNIST: dnw vs random-static (same edge count) in the static and
# discrete-time settings, and continuous time (RK4), 2 seeds each. One process per run, 1 thread.
#   experiments/dnw_graphs.sh [epochs]     → runs/dnw-*.json, summary in docs/results/dnw_graphs.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/sparsewire}
EPOCHS=${1:-1}
mkdir -p runs docs/results
out=docs/results/dnw_graphs.jsonl
for seed in 0 1; do
  for setting in static discrete; do
    for policy in dnw random-static; do
      tag="dnw-$setting-$policy-seed$seed"
      [ -s "runs/$tag.json" ] || "$BIN" train -c configs/fmnist-dnw-tiny.yaml --set model.setting=$setting --policy $policy \
          --seed $seed --epochs "$EPOCHS" --threads 1 -q --save-checkpoint "runs/$tag.safetensors" > "runs/$tag.json"
      python3 -c "import json,sys; r=json.load(open('runs/$tag.json')); r.update(setting='$setting', run='$tag'); print(json.dumps(r))" >> "$out"
    done
  done
  # continuous time: 2 RK4 steps on a 20k-example subset (each step costs 8 graph evaluations)
  tag="dnw-continuous-dnw-seed$seed"
  [ -s "runs/$tag.json" ] || "$BIN" train -c configs/fmnist-dnw-tiny.yaml --set model.setting=continuous --set model.steps=2 \
      --set data.train_limit=20000 --seed $seed --epochs "$EPOCHS" --threads 1 -q --save-checkpoint "runs/$tag.safetensors" > "runs/$tag.json"
  python3 -c "import json,sys; r=json.load(open('runs/$tag.json')); r.update(setting='continuous', run='$tag'); print(json.dumps(r))" >> "$out"
done
