#!/usr/bin/env python3
"""Before/after comparison of two `sparsewire` builds, interleaved row by row.

A VM's speed drifts by tens of percent over the minutes a full `run.py` takes, so two full runs
made one after the other are not comparable. Here every row runs the two binaries alternately
(A B B A ... for `--rounds` rounds, each a fresh process) and reports the median of each, so
drift hits both sides alike.

    python3 benchmarks/ab.py --before /tmp/old/sparsewire --after .build/release/sparsewire
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = [  # (label, bench arguments)
    *[(f"train fc {p}", ["--mode", "train", "--model", "mlp", "--warmup", "30", "--repeats", "200", "--set", f"policy={p}",
                         *(["--set", "density=0.1"] if p != "dense" else [])]) for p in ("dense", "dnw", "rigl", "edge-popup", "supermask")],
    *[(f"train conv4 {p}", ["--mode", "train", "--model", "conv4", "--warmup", "2", "--repeats", "6", "--set", f"policy={p}",
                            *(["--set", "density=0.1"] if p != "dense" else [])]) for p in ("dense", "rigl")],
    *[(f"train randwire {p}", ["--mode", "train", "-c", os.path.join(ROOT, "configs", "bench-randwire-small.yaml"), "--warmup", "2",
                               "--repeats", "8", "--set", f"policy={p}",
                               *(["--set", "density=0.1"] if p != "dense" else [])]) for p in ("dense", "rigl")],
    ("infer fc d=0.1 sparse", ["--mode", "infer", "--model", "mlp", "--density", "0.1", "--kernels", "sparse", "--warmup", "30", "--repeats", "200"]),
    ("infer conv4 d=0.1 sparse", ["--mode", "infer", "--model", "conv4", "--density", "0.1", "--kernels", "sparse", "--warmup", "3", "--repeats", "10"]),
]


def run(binary, args, threads):
    env = dict(os.environ)
    env.setdefault("OPENBLAS_CORETYPE", subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "blas_coretype.py")],
                                                       capture_output=True, text=True).stdout.strip())
    out = subprocess.run([binary, "bench", "--threads", str(threads), *args], capture_output=True, text=True, env=env, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"{binary} {' '.join(args)} failed: {out.stderr}")
    r = json.loads(out.stdout)
    return r.get("ms_per_step_median", r.get("ms_per_batch_median"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=[], help="rows whose label contains one of these words")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args()
    rows = []
    print(f"| row | before ms | after ms | after/before |  (threads {args.threads}, {args.rounds} interleaved rounds, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'auto')})")
    print("|---|---|---|---|")
    for label, bench in ROWS:
        if args.only and not any(w in label for w in args.only):
            continue
        b, a = [], []
        for r in range(args.rounds):
            order = [(args.before, b), (args.after, a)] if r % 2 == 0 else [(args.after, a), (args.before, b)]
            for binary, sink in order:
                sink.append(run(binary, bench, args.threads))
        mb, ma = statistics.median(b), statistics.median(a)
        rows.append({"row": label, "before_ms": b, "after_ms": a, "ratio": ma / mb})
        print(f"| {label} | {mb:.3f} | {ma:.3f} | {ma / mb:.3f} |", flush=True)
    ratios = [r["ratio"] for r in rows]
    print(f"geometric mean after/before: {statistics.geometric_mean(ratios):.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
