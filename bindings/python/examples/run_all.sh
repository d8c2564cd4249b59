#!/usr/bin/env bash
# Reruns the results table of the binding README (bindings/python/README.md): every policy of
# resnet_fmnist.py, 2 seeds, 10,000 training images, 2 epochs, the full test set. ~15 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=bindings/python/examples/results.jsonl
: > "$out"
for seed in 0 1; do
  for run in "dense 1.0" "rigl 0.1" "edge-popup 0.5" "dnw 0.1" "momentum-regrow 0.1" "python 0.1"; do
    set -- $run
    extra=()
    [ "$1" = momentum-regrow ] && extra=(--plugin .build/release/libsw_momentum_regrow.so)
    python3 bindings/python/examples/resnet_fmnist.py --policy "$1" --density "$2" --seed "$seed" "${extra[@]}" | tail -1 >> "$out"
    tail -1 "$out"
  done
done
