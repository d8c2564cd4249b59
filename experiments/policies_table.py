#!/usr/bin/env python3
"""Runs the MaskPolicy comparisons on Fashion-MNIST and prints a markdown table.

Each row is one `sparsewire train` command run for every seed; the table reports the mean and
the per-seed test accuracies, the kept parameter count and the wall time. Results are appended
as JSON lines to --out so an interrupted sweep can be resumed (finished runs are skipped).

    python3 experiments/policies_table.py --epochs 1 --seeds 0 1 --out runs/policies.jsonl
    python3 experiments/policies_table.py --only supermask-fc --seeds 0 1
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / ".build" / "release" / "sparsewire"

# name -> (config, extra CLI args)
RUNS = {
    "dense-conv4": ("configs/fmnist-conv4.yaml", []),
    "edge-popup-conv4-k0.5": ("configs/fmnist-conv4-edge-popup.yaml", ["--density", "0.5"]),
    "dnw-conv4-k0.1": ("configs/fmnist-conv4.yaml", ["--policy", "dnw", "--density", "0.1"]),
    "random-static-conv4-k0.1": ("configs/fmnist-conv4.yaml", ["--policy", "random-static", "--density", "0.1"]),
    "rigl-erk-conv4-k0.1": ("configs/fmnist-conv4.yaml", ["--policy", "rigl", "--density", "0.1",
                                                          "--set", "masking.distribution=erk"]),
    "supermask-fc": ("configs/fmnist-fc-supermask.yaml", []),
    "dense-fc": ("configs/fmnist-fc.yaml", []),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, help="override the configs' epochs (conv runs)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--only", nargs="+", choices=sorted(RUNS), help="run only these rows")
    ap.add_argument("--out", default="runs/policies.jsonl")
    args = ap.parse_args()
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done[(r["row"], r["seed"], r["epochs"])] = r
    for row in args.only or list(RUNS):
        config, extra = RUNS[row]
        for seed in args.seeds:
            cmd = [str(BIN), "train", "-c", config, "--seed", str(seed), "-q", *extra]
            if args.epochs and "conv4" in row:
                cmd += ["--epochs", str(args.epochs)]
            epochs = args.epochs if args.epochs and "conv4" in row else None
            key_epochs = epochs
            if any(k[0] == row and k[1] == seed and (key_epochs is None or k[2] == key_epochs) for k in done):
                continue
            print("running:", " ".join(cmd[1:]), file=sys.stderr, flush=True)
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if p.returncode != 0:
                sys.exit(f"{row} seed {seed} failed:\n{p.stderr}")
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r.update(row=row, command="sparsewire " + " ".join(cmd[1:]))
            done[(row, seed, r["epochs"])] = r
            with out.open("a") as f:
                f.write(json.dumps(r) + "\n")
    print("| run | epochs | seeds | test accuracy (mean) | per seed | kept / total | wall s (mean) |")
    print("|---|---|---|---|---|---|---|")
    rows = {}
    for (row, seed, epochs), r in sorted(done.items()):
        rows.setdefault((row, epochs), []).append(r)
    for (row, epochs), rs in rows.items():
        accs = [r["test_accuracy"] * 100 for r in rs]
        print(f"| {row} | {epochs} | {len(rs)} | {statistics.mean(accs):.2f} | "
              f"{', '.join(f'{a:.2f}' for a in accs)} | {rs[0]['params_kept']} / {rs[0]['params_total']} | "
              f"{statistics.mean(r['seconds'] for r in rs):.0f} |")


if __name__ == "__main__":
    main()
