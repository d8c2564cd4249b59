#!/usr/bin/env python3
"""End-to-end sparse training on Fashion-MNIST (issue 19): wall time and test accuracy of

    sparsewire train -c configs/fmnist-conv4.yaml --policy rigl --density 0.1 --epochs 1

with training.kernels auto (the sparse kernels) and dense (the masked dense path), seeds 0 and 1,
and of the dense policy (seed 0). Every run in a fresh process, one after another (2 threads).
Writes benchmarks/results/sparse_training_e2e.json and prints a markdown table.

    python3 benchmarks/sparse_training_e2e.py [--seeds 0 1] [--epochs 1]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(policy: str, kernels: str, seed: int, epochs: int, binary: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        metrics = pathlib.Path(d) / "m.jsonl"
        cmd = [binary, "train", "-c", str(ROOT / "configs" / "fmnist-conv4.yaml"), "--policy", policy, "--epochs", str(epochs),
               "--seed", str(seed), "--metrics", str(metrics), "--set", f"training.kernels={kernels}"]
        if policy != "dense":
            cmd += ["--density", "0.1"]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SPARSEWIRE_QUIET": "1"})
        wall = time.time() - t0
        if p.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
        last = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()][-1]
    row = {"policy": policy, "kernels": kernels, "seed": seed, "epochs": epochs, "wall_s": wall,
           "test_accuracy": last.get("test_accuracy"), "ms_per_step": last.get("ms_per_step"), "command": " ".join(cmd[:1] + cmd[1:])}
    print(f"  {policy:6} kernels {kernels:5} seed {seed}: {wall:6.1f} s, test accuracy {row['test_accuracy']}", file=sys.stderr, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--binary", default=str(ROOT / ".build" / "release" / "sparsewire"))
    args = ap.parse_args()
    rows = []
    for seed in args.seeds:
        for kernels in ["auto", "dense"]:
            rows.append(run("rigl", kernels, seed, args.epochs, args.binary))
    rows.append(run("dense", "dense", args.seeds[0], args.epochs, args.binary))
    out = ROOT / "benchmarks" / "results" / "sparse_training_e2e.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print("| run | seeds | wall s (mean) | test accuracy % (per seed) |\n|---|---|--:|---|")
    for policy, kernels in [("rigl", "auto"), ("rigl", "dense"), ("dense", "dense")]:
        rs = [r for r in rows if r["policy"] == policy and r["kernels"] == kernels]
        seeds = " ".join(str(r["seed"]) for r in rs)
        accs = " / ".join("%.2f" % (100 * r["test_accuracy"]) for r in rs)
        label = f"{policy} 0.1" if policy != "dense" else policy
        print(f"| {label} training.kernels {kernels} | {seeds} | {statistics.mean(r['wall_s'] for r in rs):.1f} | {accs} |")


if __name__ == "__main__":
    main()
