#!/usr/bin/env python3
"""ms per training step, SparseWire vs PyTorch CPU, measured in one run on the same machine.

    python3 benchmarks/compare_step.py                      # conv4 and mlp, batch 128, 2 threads
    python3 benchmarks/compare_step.py --model conv4 --repeats 10 --json out.json

Both sides: same architecture (no bias in the conv nets, as in edge-popup), Float32, SGD with
momentum, random 1x28x28 inputs, median of --repeats timed steps after --warmup untimed ones.
OPENBLAS_CORETYPE is set for both processes (SparseWire would re-exec itself otherwise; PyTorch
has its own BLAS and is unaffected). Needs `pip install "torch==2.13.0+cpu"`.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


def coretype() -> str:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "blas_coretype.py")],
                          capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("OPENBLAS_CORETYPE", coretype())
    binary = ROOT / ".build" / "release" / "sparsewire"
    if not binary.exists():
        sys.exit("build first: swift build -c release")
    common = ["--batch-size", str(args.batch_size), "--threads", str(args.threads),
              "--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    rows = []
    for model in args.model or ["conv4", "mlp"]:
        sw = json.loads(subprocess.run([str(binary), "bench", "--model", model, *common], env=env,
                                       capture_output=True, text=True, check=True).stdout)
        pt = json.loads(subprocess.run([sys.executable, str(ROOT / "benchmarks" / "torch_reference.py"),
                                        "--model", model, *common], env=env, capture_output=True, text=True,
                                       check=True).stdout.splitlines()[-1])
        rows.append({"model": model, "batch_size": args.batch_size, "threads": args.threads,
                     "sparsewire_ms": sw["ms_per_step_median"], "pytorch_ms": pt["ms_per_step_median"],
                     "ratio": sw["ms_per_step_median"] / pt["ms_per_step_median"], "blas_core": sw["blas_core"],
                     "torch": pt["torch"]})
    print(f"{'model':8} {'batch':>5} {'thr':>3} {'SparseWire ms':>14} {'PyTorch ms':>11} {'SW/PT':>6}")
    for r in rows:
        print(f"{r['model']:8} {r['batch_size']:>5} {r['threads']:>3} {r['sparsewire_ms']:>14.1f} "
              f"{r['pytorch_ms']:>11.1f} {r['ratio']:>6.2f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
