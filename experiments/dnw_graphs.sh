#!/usr/bin/env bash
# DNW channel graphs on Fashion-MNIST: dnw vs random-static (same edge count) in the static and
# discrete-time settings, 2 seeds, and continuous time (RK4). One process per run, 1 thread, two
# runs at a time (2 cores).
#   experiments/dnw_graphs.sh [epochs]  → runs/dnw-*.json, rows in docs/results/dnw_graphs.jsonl,
#                                         table in docs/results/dnw_graphs.md
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/sparsewire}
EPOCHS=${1:-3}
mkdir -p runs docs/results
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(python3 scripts/blas_coretype.py)}"
run() {  # tag setting policy seed extra...
  local tag=$1 setting=$2 policy=$3 seed=$4; shift 4
  [ -s "runs/$tag.json" ] || "$BIN" train -c configs/fmnist-dnw-tiny.yaml --set model.setting="$setting" --policy "$policy" \
      --seed "$seed" --epochs "$EPOCHS" --threads 1 -q "$@" > "runs/$tag.json"
}
for seed in 0 1; do
  for setting in static discrete; do
    run "dnw-$setting-dnw-seed$seed" $setting dnw $seed &
    run "dnw-$setting-random-static-seed$seed" $setting random-static $seed &
    wait
  done
done
# continuous time: 2 RK4 steps (8 graph evaluations per forward) on a 20k-example subset
run dnw-continuous-dnw-seed0 continuous dnw 0 --set model.steps=2 --set data.train_limit=20000 &
run dnw-continuous-random-static-seed0 continuous random-static 0 --set model.steps=2 --set data.train_limit=20000 &
wait
python3 - <<'PY'
import json, pathlib
rows = []
for f in sorted(pathlib.Path("runs").glob("dnw-*-seed*.json")):
    r = json.loads(f.read_text()); _, setting, rest = f.stem.split("-", 2)
    r.update(setting=setting, run=f.stem); rows.append(r)
pathlib.Path("docs/results/dnw_graphs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
out = ["| setting | policy | seed | test accuracy | params kept / total | ms/step (1 thread, 2 runs at once) |", "|---|---|---|---|---|---|"]
for r in sorted(rows, key=lambda r: (["static", "discrete", "continuous"].index(r["setting"]), r["seed"], r["policy"])):
    out.append(f"| {r['setting']} | {r['policy']} | {r['seed']} | {100 * r['test_accuracy']:.2f} % | {r['params_kept']:,} / {r['params_total']:,} | {r['ms_per_step']:.0f} |")
pathlib.Path("docs/results/dnw_graphs.md").write_text("\n".join(out) + "\n")
print("\n".join(out))
PY
