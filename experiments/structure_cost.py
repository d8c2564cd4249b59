#!/usr/bin/env python3
"""What structure costs a learned wiring: Conv4 on Fashion-MNIST, dnw and rigl, 2:4 vs
unstructured at density 0.5 and block 1x8 vs unstructured at 0.1 (first layer dense in every
run: its fan-in 9 fits no structure). Writes docs/results/structure_cost.md and .png.

    python3 experiments/structure_cost.py --seeds 0 1 --epochs 2 --train-limit 20000
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / ".build" / "release" / "sparsewire"

VARIANTS = [  # (label, density, extra args)
    ("unstructured", 0.5, []),
    ("2:4", 0.5, ["--set", "masking.structure.type=nm", "--set", "masking.structure.n=2", "--set", "masking.structure.m=4"]),
    ("unstructured", 0.1, []),
    ("block 1x8", 0.1, ["--set", "masking.structure.type=block", "--set", "masking.structure.rows=1",
                        "--set", "masking.structure.cols=8"]),
]


def run(policy, density, extra, seed, epochs, limit):
    cmd = [str(BIN), "train", "-c", "configs/fmnist-conv4.yaml", "--policy", policy, "--density", str(density),
           "--seed", str(seed), "--epochs", str(epochs), "--set", f"data.train_limit={limit}",
           "--set", "masking.first_layer_dense=true", "--set", "masking.distribution=uniform", "-q", *extra]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1]), " ".join(cmd[1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train-limit", type=int, default=20000)
    ap.add_argument("--policies", nargs="+", default=["dnw", "rigl"])
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "structure_cost"))
    args = ap.parse_args()
    rows, commands = [], []
    jsonl = pathlib.Path(args.out + ".jsonl")
    jsonl.write_text("")
    for policy in args.policies:
        for label, density, extra in VARIANTS:
            accs = []
            for seed in args.seeds:
                start = time.time()
                r, cmd = run(policy, density, extra, seed, args.epochs, args.train_limit)
                commands.append(cmd)
                accs.append(r["test_accuracy"])
                with jsonl.open("a") as f:
                    f.write(json.dumps({"policy": policy, "structure": label, "density": density, "seed": seed, **r}) + "\n")
                print(f"{policy} {label} {density} seed {seed}: {r['test_accuracy']:.4f} ({time.time() - start:.0f} s)", flush=True)
            rows.append((policy, label, density, accs))
    core = os.environ.get("OPENBLAS_CORETYPE", "(auto)")
    lines = ["# What structure costs: Conv4 on Fashion-MNIST", "",
             f"{args.epochs} epochs on the first {args.train_limit} training images, test set 10,000; first layer dense in every run "
             f"(its fan-in 9 fits no structure), uniform per-layer density; rigl with its defaults (delta_t 100, alpha 0.3). "
             f"OPENBLAS_CORETYPE={core}, 2 cores. Seeds: {', '.join(map(str, args.seeds))}.", "",
             "| policy | density | structure | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean ± std | vs unstructured |",
             "|---|---|---|" + "---|" * len(args.seeds) + "---|---|"]
    means = {}
    for policy, label, density, accs in rows:
        mean = statistics.mean(accs)
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        means[(policy, label, density)] = (mean, sd)
        base = means.get((policy, "unstructured", density))
        delta = "" if label == "unstructured" else f"{100 * (mean - base[0]):+.2f} points (seed spread ±{100 * max(sd, base[1]):.2f})"
        lines.append(f"| {policy} | {density} | {label} | " + " | ".join(f"{a:.4f}" for a in accs) + f" | {mean:.4f} ± {sd:.4f} | {delta} |")
    lines += ["", "A difference smaller than the seed spread is within noise at this scale.", "",
              f"Rerun: `python3 experiments/structure_cost.py --seeds {' '.join(map(str, args.seeds))} --epochs {args.epochs} "
              f"--train-limit {args.train_limit}`", "", "Commands run:", ""] + [f"    sparsewire {c}" for c in commands] + [""]
    pathlib.Path(args.out + ".md").write_text("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
        labels = [f"{p}\n{l} @{d}" for p, l, d, _ in rows]
        ax.bar(range(len(rows)), [100 * means[(p, l, d)][0] for p, l, d, _ in rows],
               yerr=[100 * means[(p, l, d)][1] for p, l, d, _ in rows], capsize=3,
               color=["#4c72b0" if l == "unstructured" else "#dd8452" for _, l, _, _ in rows])
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, fontsize=6)
        lo = min(100 * means[k][0] for k in means) - 3
        ax.set_ylim(lo, 100)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("Conv4, Fashion-MNIST: structured vs unstructured (mean ± std)")
        fig.tight_layout()
        fig.savefig(args.out + ".png")
    except ImportError:
        print("no matplotlib: no plot")
    print(f"wrote {args.out}.md")


if __name__ == "__main__":
    main()
