#!/usr/bin/env python3
"""The momentum-regrow C plugin against the built-in snfs, same options, on Fashion-MNIST at
density 0.1 (FC and Conv4), several seeds; writes docs/results/momentum_regrow.md.

    python3 experiments/momentum_regrow.py --seeds 0 1
    python3 experiments/momentum_regrow.py --seeds 0 1 --conv-train-limit 20000 --conv-epochs 3

Each run is one `sparsewire train` (the plugin loaded with --plugin); the table lists the
per-seed test accuracy and loss, their mean, and whether the two policies' runs are identical.
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
PLUGIN = ROOT / ".build" / "release" / "libsw_momentum_regrow.so"
OPTIONS = ["--set", "policy_options.delta_t=100", "--set", "policy_options.alpha=0.3",
           "--set", "policy_options.end_fraction=0.75", "--set", "policy_options.ema_decay=0.9"]


def run(config, policy, seed, extra):
    cmd = [str(BIN), "train", "-c", config, "--plugin", str(PLUGIN), "--policy", policy, "--density", "0.1",
           "--seed", str(seed), "-q", *OPTIONS, *extra]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1]), " ".join(cmd[1:]).replace(str(ROOT) + "/", "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--fc-epochs", type=int, default=5)
    ap.add_argument("--conv-epochs", type=int, default=3)
    ap.add_argument("--conv-train-limit", type=int, default=20000)
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "momentum_regrow.md"))
    args = ap.parse_args()
    env_core = os.environ.get("OPENBLAS_CORETYPE", "(auto)")
    setups = [("FC 784-300-100-10", "configs/fmnist-fc.yaml", ["--epochs", str(args.fc_epochs)]),
              ("Conv4", "configs/fmnist-conv4.yaml", ["--epochs", str(args.conv_epochs),
                                                      "--set", f"data.train_limit={args.conv_train_limit}"])]
    rows, commands = [], []
    for label, config, extra in setups:
        results = {}
        for policy in ("snfs", "momentum-regrow"):
            for seed in args.seeds:
                start = time.time()
                r, cmd = run(config, policy, seed, extra)
                results[(policy, seed)] = r
                commands.append(cmd)
                print(f"{label} {policy} seed {seed}: {r['test_accuracy']:.4f} ({time.time() - start:.0f} s)", flush=True)
        for policy in ("snfs", "momentum-regrow"):
            accs = [results[(policy, s)]["test_accuracy"] for s in args.seeds]
            losses = [results[(policy, s)]["test_loss"] for s in args.seeds]
            spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
            rows.append((label, policy, accs, losses, statistics.mean(accs), spread,
                         results[(policy, args.seeds[0])]["ms_per_step"]))
        same = all(results[("snfs", s)]["test_loss"] == results[("momentum-regrow", s)]["test_loss"] for s in args.seeds)
        rows.append((label, "identical runs", same))
    lines = ["# momentum-regrow (C plugin, ABI 1.1) vs built-in snfs", "",
             "Fashion-MNIST, density 0.1, options delta_t 100, alpha 0.3, end_fraction 0.75, ema_decay 0.9;",
             f"FC: {args.fc_epochs} epochs on the full training set; Conv4: {args.conv_epochs} epochs on the first "
             f"{args.conv_train_limit} training images; test set 10,000. OPENBLAS_CORETYPE={env_core}, 2 cores.", "",
             "| network | policy | " + " | ".join(f"seed {s} accuracy" for s in args.seeds) + " | mean ± std | test loss (seeds) | ms/step |",
             "|---|---|" + "---|" * len(args.seeds) + "---|---|---|"]
    for row in rows:
        if row[1] == "identical runs":
            continue
        label, policy, accs, losses, mean, spread, ms = row
        lines.append(f"| {label} | {policy} | " + " | ".join(f"{a:.4f}" for a in accs)
                     + f" | {mean:.4f} ± {spread:.4f} | " + ", ".join(f"{x:.6f}" for x in losses) + f" | {ms:.1f} |")
    lines.append("")
    for row in rows:
        if row[1] == "identical runs":
            lines.append(f"- {row[0]}: the two policies' runs are {'bit-identical (equal test loss to the last digit, every seed)' if row[2] else 'NOT identical'}.")
    lines += ["", "Rerun: `python3 experiments/momentum_regrow.py --seeds " + " ".join(map(str, args.seeds))
              + f" --fc-epochs {args.fc_epochs} --conv-epochs {args.conv_epochs} --conv-train-limit {args.conv_train_limit}`",
              "", "Commands run:", ""] + [f"    sparsewire {c}" for c in commands] + [""]
    pathlib.Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
