#!/usr/bin/env python3
"""SparseWire's benchmark suite: one command, one machine, threads 1 and 2, one batch size.

    python3 benchmarks/run.py                      # everything, ~8 min on 2 cores
    python3 benchmarks/run.py --update-docs        # ... and put the tables into docs/BENCHMARKS.md
    python3 benchmarks/run.py --sections infer --threads 2

Sections (each row is the median of >= 5 timed runs after warm-up, every run in a fresh process;
FC and RandWire rows: the median of 3 interleaved rounds):
  train  ms per training step (forward + backward + SGD-momentum update) of FC 300-100-10, Conv4
         and a small RandWire, dense and with every built-in policy (density 0.1), in SparseWire,
         and dense in PyTorch CPU on the same architecture, dtype, batch and thread count.
  gemm   GFLOP/s of each conv/linear layer's forward product against one OpenBLAS sgemm call of
         the same M x N x K (the attainable rate); Conv4's 3x3 layers both as Winograd (default)
         and as im2col + GEMM (SPARSEWIRE_CONV=im2col).
  infer  forward-pass latency and throughput at densities 1.0 0.5 0.2 0.1 0.05 with the sparse
         kernels, the dense path and the automatic choice, at batch 128 and batch 1.
  structure  inference of FC-1024 (784-1024-1024-10) and Conv4 with structured masks on the lane
         kernels (2:4 at density 0.5, block 1x8 at 0.1) against unstructured masks of the same
         density on the CSR and lane kernels and against the dense path (2 threads, 3 interleaved rounds).
  sparsetrain  training steps on the sparse kernels (training.kernels auto) against the dense step,
         per policy at densities 0.1 and 0.05, and a speed-up curve over density for Conv4 and FC-1024
         (benchmarks/sparse_training.py; plot docs/results/sparse_training_speedup.png).
  sparsify  PyTorch training steps (FC and a small CNN) through sparsewire.torch at density 0.1
         against plain torch and torch.ao.pruning's WeightNormSparsifier (benchmarks/torch_sparsify.py).
Every row records the peak RSS of its process. Results: benchmarks/results/latest.json and
latest.md (tables plus the target check); --update-docs also rewrites the marked block of
docs/BENCHMARKS.md.

OPENBLAS_CORETYPE: OpenBLAS 0.3.21 mis-detects this project's CPUs and runs ~5x slow unless the
variable is set before the library loads. When it is unset this script sets it (from
scripts/blas_coretype.py) for every process it starts and says so. PyTorch ships its own BLAS.
Needs `pip install "torch==2.13.0+cpu"` (from /opt/wheels) and a release build.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import sparse_training  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARY = ROOT / ".build" / "release" / "sparsewire"
POLICIES = ["dense", "dnw", "edge-popup", "supermask", "rigl", "set", "snfs", "random-static", "dnw-no-update",
            "targeted-dropout", "lottery-one-shot", "l1-anneal"]
DENSITIES = [1.0, 0.5, 0.2, 0.1, 0.05]
# (name, bench arguments, warm-up, repeats, rounds): small models get more runs (their steps are
# ~1 ms); FC and RandWire rows (training, and FC's inference) are measured in 3 interleaved rounds
# of fresh processes (the median of the rounds' medians), so that one noisy moment on the VM
# cannot skew a single row.
MODELS = {
    "fc": (["--model", "mlp"], 30, 200, 3),
    "conv4": (["--model", "conv4"], 1, 5, 1),
    "randwire": (["-c", str(ROOT / "configs" / "bench-randwire-small.yaml")], 2, 8, 3),
    # The papers' larger networks (opt in with --models): one round, few steps; CIFAR-style, BN.
    "resnet18": (["--model", "resnet18", "--set", "model.norm=affine"], 1, 3, 1),
    "mobilenetv1": (["--model", "mobilenetv1", "--set", "model.norm=affine"], 1, 5, 1),
}
TORCH_NAME = {"fc": "mlp", "conv4": "conv4", "randwire": "randwire", "resnet18": "resnet18", "mobilenetv1": "mobilenetv1"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def environment() -> dict:
    env = dict(os.environ)
    if "OPENBLAS_CORETYPE" not in env:
        core = subprocess.run([sys.executable, str(ROOT / "scripts" / "blas_coretype.py")],
                              capture_output=True, text=True).stdout.strip()
        if core:
            env["OPENBLAS_CORETYPE"] = core
            log(f"benchmarks: OPENBLAS_CORETYPE was unset; using OPENBLAS_CORETYPE={core} for every process "
                "(OpenBLAS 0.3.21 mis-detects this CPU and would run several times slower)")
    env.pop("SPARSEWIRE_POOL_MB", None)
    return env


def run_json(cmd: list, env: dict) -> dict:
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"benchmark command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def machine(env: dict) -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // (1024 * 1024)
    except OSError:
        pass
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "kernel": platform.release(), "python": platform.python_version(),
            "torch": torch_version, "swift": swift, "openblas_coretype": env.get("OPENBLAS_CORETYPE"), "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def median_run(runs: list, key: str = "ms_per_step_median") -> dict:
    """The round with the median time under `key` (upper median), plus every round's time."""
    ordered = sorted(runs, key=lambda r: r[key])
    return {**ordered[len(ordered) // 2], "round_ms": [r[key] for r in runs]}


def train_section(args, env) -> list:
    rows = []
    for model, (margs, warm, reps, rounds) in MODELS.items():
        if model not in args.models:
            continue
        for threads in args.threads:
            common = ["--batch-size", str(args.batch_size), "--threads", str(threads), "--warmup", str(warm), "--repeats", str(reps)]
            runs = {p: [] for p in args.policies}
            pt_runs = []
            for rnd in range(rounds):
                for policy in args.policies:
                    extra = ["--set", f"policy={policy}"] + (["--set", "density=0.1"] if policy != "dense" else [])
                    r = run_json([str(BINARY), "bench", "--mode", "train", *margs, *common, *extra], env)
                    runs[policy].append(r)
                    log(f"  train {model:8} {policy:16} threads {threads} round {rnd + 1}/{rounds}: {r['ms_per_step_median']:8.2f} ms/step")
                if not args.no_torch:
                    cmd = [sys.executable, str(ROOT / "benchmarks" / "torch_reference.py"), "--model", TORCH_NAME[model], *common]
                    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                        if "randwire" in runs["dense"][0]:
                            json.dump(runs["dense"][0]["randwire"], f)
                            cmd += ["--randwire-json", f.name]
                    try:
                        pt_runs.append(run_json(cmd, env))
                    finally:
                        os.unlink(f.name)
                    log(f"  train {model:8} {'pytorch dense':16} threads {threads} round {rnd + 1}/{rounds}: "
                        f"{pt_runs[-1]['ms_per_step_median']:8.2f} ms/step")
            sw_rows = [median_run(runs[p]) for p in args.policies]
            pt = median_run(pt_runs) if pt_runs else None
            dense = sw_rows[0]["ms_per_step_median"]
            for r in sw_rows:
                ms = r["ms_per_step_median"]
                rows.append({"model": model, "policy": r["policy"], "threads": threads, "batch_size": args.batch_size,
                             "sparsewire_ms": ms, "pytorch_dense_ms": pt["ms_per_step_median"] if pt else None,
                             "ratio_vs_pytorch": ms / pt["ms_per_step_median"] if pt else None,
                             "ratio_vs_dense": ms / dense, "sparsewire_rss_mb": r["peak_rss_mb"],
                             "pytorch_rss_mb": pt["peak_rss_mb"] if pt else None, "params": r["params"],
                             "pytorch_params": pt["params"] if pt else None, "repeats": reps, "warmup": warm, "rounds": rounds,
                             "sparsewire_round_ms": r["round_ms"], "pytorch_round_ms": pt["round_ms"] if pt else None})
    return rows


def gemm_section(args, env) -> list:
    rows = []
    for model in [m for m in ["fc", "conv4"] if m in args.models]:
        margs = MODELS[model][0]
        # Conv4's 3x3 layers run as Winograd by default (fewer FLOPs than the GEMM of the same
        # shape); a second pass with SPARSEWIRE_CONV=im2col measures their im2col + GEMM path.
        variants = [("default", env)] + ([("im2col", {**env, "SPARSEWIRE_CONV": "im2col"})] if model == "conv4" else [])
        for threads in args.threads:
            for variant, venv in variants:
                r = run_json([str(BINARY), "bench", "--mode", "gemm", *margs, "--batch-size", str(args.batch_size),
                              "--threads", str(threads), "--warmup", "5", "--repeats", "31"], venv)
                for layer in r["layers"]:
                    if variant == "im2col" and layer["path"] != "im2col+gemm":
                        continue
                    if variant == "default" and model == "conv4" and layer["path"] == "im2col+gemm":
                        continue  # measured in the im2col pass (same path)
                    rows.append({"model": model, "threads": threads, **layer, "peak_rss_mb": r["peak_rss_mb"]})
                    log(f"  gemm  {model:6} {layer['layer']:12} {layer['path']:11} threads {threads}: {layer['ours_gflops']:6.1f} "
                        f"vs sgemm {layer['sgemm_gflops']:6.1f} GFLOP/s ({layer['ratio']:.2f})")
    return rows


def infer_section(args, env) -> list:
    rows = []
    for model in [m for m in ["fc", "conv4"] if m in args.models]:
        margs, rounds = MODELS[model][0], MODELS[model][3]
        for threads in args.threads:
            for batch, (warm, reps) in [(args.batch_size, (3, 9) if model == "conv4" else (30, 200)), (1, (20, 200))]:
                for density in DENSITIES:
                    runs = {k: [] for k in ["dense", "sparse", "auto"]}
                    for _ in range(rounds):  # interleaved rounds; each row reports its median round
                        for kernels in runs:
                            runs[kernels].append(run_json([str(BINARY), "bench", "--mode", "infer", *margs, "--batch-size", str(batch),
                                                           "--threads", str(threads), "--warmup", str(warm), "--repeats", str(reps),
                                                           "--density", str(density), "--kernels", kernels], env))
                    picked = {k: median_run(v, "ms_per_batch_median") for k, v in runs.items()}
                    base = picked["dense"]["ms_per_batch_median"]
                    for kernels, r in picked.items():
                        rows.append({"model": model, "threads": threads, "batch_size": batch, "density": density,
                                     "kernels": kernels, "ms": r["ms_per_batch_median"], "samples_per_s": r["samples_per_s"],
                                     "speedup_vs_dense": base / r["ms_per_batch_median"], "peak_rss_mb": r["peak_rss_mb"],
                                     "repeats": reps, "rounds": rounds, "round_ms": r["round_ms"]})
                    log(f"  infer {model:6} batch {batch:3} threads {threads} density {density:4}: dense {base:8.3f} ms, "
                        f"sparse {rows[-2]['ms']:8.3f} ms, auto {rows[-1]['ms']:8.3f} ms")
    return rows


STRUCTURE_MODELS = {
    "fc1024": (["--model", "mlp", "--set", "model.hidden=[1024,1024]"], (30, 200)),
    "conv4": (["--model", "conv4", "--set", "masking.first_layer_dense=true"], (3, 9)),  # conv1's fan-in 9: no 2:4
}
NM24 = ["--set", "masking.structure.type=nm", "--set", "masking.structure.n=2", "--set", "masking.structure.m=4"]
BLOCK18 = ["--set", "masking.structure.type=block", "--set", "masking.structure.rows=1", "--set", "masking.structure.cols=8"]
# (variant, density, extra bench arguments, extra environment)
STRUCTURE_VARIANTS = [
    ("dense path", 0.5, ["--kernels", "dense"], {}),
    ("dense path, im2col", 0.5, ["--kernels", "dense"], {"SPARSEWIRE_CONV": "im2col"}),
    ("2:4 lanes", 0.5, ["--kernels", "sparse", *NM24], {}),
    ("unstructured csr", 0.5, ["--kernels", "sparse"], {"SPARSEWIRE_SPARSE_KERNEL": "csr"}),
    ("unstructured lanes", 0.5, ["--kernels", "sparse"], {"SPARSEWIRE_SPARSE_KERNEL": "lanes"}),
    ("block 1x8 lanes", 0.1, ["--kernels", "sparse", *BLOCK18], {}),
    ("unstructured csr", 0.1, ["--kernels", "sparse"], {"SPARSEWIRE_SPARSE_KERNEL": "csr"}),
    ("unstructured lanes", 0.1, ["--kernels", "sparse"], {"SPARSEWIRE_SPARSE_KERNEL": "lanes"}),
]


def structure_section(args, env) -> list:
    """Structured masks on the lane kernels against unstructured ones and the dense path: every
    variant once per round, 3 interleaved rounds of fresh processes, each row its median round."""
    rows = []
    for model in [m for m in STRUCTURE_MODELS if m in args.structure_models]:
        margs, (warm, reps) = STRUCTURE_MODELS[model]
        variants = [v for v in STRUCTURE_VARIANTS if model == "conv4" or "im2col" not in v[0]]
        runs = {i: [] for i in range(len(variants))}
        for _ in range(3):
            for i, (name, density, extra, venv) in enumerate(variants):
                runs[i].append(run_json([str(BINARY), "bench", "--mode", "infer", *margs, "--batch-size", str(args.batch_size),
                                         "--threads", "2", "--warmup", str(warm), "--repeats", str(reps),
                                         "--density", str(density), *extra], {**env, **venv}))
        picked = {i: median_run(v, "ms_per_batch_median") for i, v in runs.items()}
        base = picked[0]["ms_per_batch_median"]
        for i, (name, density, _, _) in enumerate(variants):
            r = picked[i]
            rows.append({"model": model, "variant": name, "density": density, "batch_size": args.batch_size, "threads": 2,
                         "ms": r["ms_per_batch_median"], "speedup_vs_dense": base / r["ms_per_batch_median"],
                         "round_ms": [x["ms_per_batch_median"] for x in runs[i]], "peak_rss_mb": r["peak_rss_mb"]})
            log(f"  structure {model:7} {name:20} density {density}: {r['ms_per_batch_median']:8.3f} ms ({base / r['ms_per_batch_median']:.2f}x dense)")
    return rows


SPARSIFY_VARIANTS = ["dense", "rigl", "rigl-keep", "set", "random-static", "dnw", "edge-popup", "ao-wns", "ao-wns-100"]
SPARSIFY_PROCESSES = 5


def sparsify_section(args, env) -> list:
    """PyTorch training steps through sparsewire.torch (density 0.1) against plain torch and
    torch.ao.pruning's WeightNormSparsifier on the same model (benchmarks/torch_sparsify.py):
    each variant in its own process beside a dense copy of the model, the two interleaved step
    by step (2 threads), 5 such processes per variant; per variant the median over processes of
    (its median step / the dense median step of the same process), and the fastest step seen."""
    rows = []
    script = ROOT / "benchmarks" / "torch_sparsify.py"
    for model in ["fc", "cnn"]:
        warm, reps = (30, 600) if model == "fc" else (5, 40)
        runs = {v: [] for v in SPARSIFY_VARIANTS[1:]}
        for _ in range(SPARSIFY_PROCESSES):
            for v in runs:
                runs[v].append(run_json([sys.executable, str(script), "--model", model, "--variants", f"dense,{v}", "--threads", "2",
                                         "--batch-size", str(args.batch_size), "--warmup", str(warm), "--repeats", str(reps)], env))
        dense_runs = [run["variants"][0] for rs in runs.values() for run in rs]
        dense_ms = sorted(r["ms_per_step_median"] for r in dense_runs)
        best_dense = min(r["ms_per_step_min"] for r in dense_runs)
        rows.append({"model": model, "variant": "dense", "threads": 2, "batch_size": args.batch_size, "ms": dense_ms[len(dense_ms) // 2],
                     "ratio_vs_dense": 1.0, "process_ratios": [], "best_ms": best_dense, "best_ratio_vs_dense": 1.0})
        for v, rs in runs.items():
            per = [run["variants"][1] for run in rs]
            ratios = sorted(r["ratio_vs_dense"] for r in per)
            ms = sorted(r["ms_per_step_median"] for r in per)
            best = min(r["ms_per_step_min"] for r in per)
            rows.append({"model": model, "variant": v, "threads": 2, "batch_size": args.batch_size, "ms": ms[len(ms) // 2],
                         "ratio_vs_dense": ratios[len(ratios) // 2], "process_ratios": [r["ratio_vs_dense"] for r in per],
                         "best_ms": best, "best_ratio_vs_dense": best / best_dense})
            log(f"  sparsify {model:4} {v:11}: {ms[len(ms) // 2]:8.3f} ms ({ratios[len(ratios) // 2]:.2f}x dense; per process "
                + " ".join(f"{x:.2f}" for x in rows[-1]["process_ratios"]) + f"), best {best:8.3f} ms ({best / best_dense:.2f}x)")
    return rows


def targets(res: dict) -> list:
    out = []
    train = res.get("train", [])
    for model in ["conv4", "fc"]:
        row = next((r for r in train if r["model"] == model and r["policy"] == "dense" and r["threads"] == 2
                    and r["ratio_vs_pytorch"] is not None), None)
        if row:
            out.append({"target": f"dense step <= 0.8x PyTorch, {model}, batch {row['batch_size']}, 2 threads",
                        "measured": row["ratio_vs_pytorch"], "limit": 0.8, "met": row["ratio_vs_pytorch"] <= 0.8})
    for model in MODELS:
        rows = [r for r in train if r["model"] == model and r["threads"] == 2 and r["policy"] != "dense"]
        if rows:
            worst = max(rows, key=lambda r: r["ratio_vs_dense"])
            out.append({"target": f"masked step <= 1.15x dense, {model}, every policy, 2 threads (worst: {worst['policy']})",
                        "measured": worst["ratio_vs_dense"], "limit": 1.15, "met": worst["ratio_vs_dense"] <= 1.15})
    infer = res.get("infer", [])
    for model in ["fc", "conv4"]:
        row = next((r for r in infer if r["model"] == model and r["threads"] == 2 and r["density"] == 0.1
                    and r["kernels"] == "auto" and r["batch_size"] > 1), None)
        if row:
            out.append({"target": f"inference at density 0.1 >= 3x faster than the dense path, {model}, batch {row['batch_size']}, 2 threads",
                        "measured": row["speedup_vs_dense"], "limit": 3.0, "met": row["speedup_vs_dense"] >= 3.0, "higher_is_better": True})
    gemm = res.get("gemm", [])
    for model in ["fc", "conv4"]:
        rows = [r for r in gemm if r["model"] == model and r["threads"] == 2 and r["gemm_bound"] and r["path"] != "winograd"]
        if rows:
            worst = min(rows, key=lambda r: r["ratio"])
            out.append({"target": f"GEMM-bound layers (M, N, K >= 64, computed by GEMM) >= 70% of sgemm, {model}, 2 threads (worst: {worst['layer']})",
                        "measured": worst["ratio"], "limit": 0.7, "met": worst["ratio"] >= 0.7, "higher_is_better": True})
    for model in STRUCTURE_MODELS:
        for variant, density, limit in [("2:4 lanes", 0.5, 1.6), ("block 1x8 lanes", 0.1, 5.0)]:
            row = next((r for r in res.get("structure", []) if r["model"] == model and r["variant"] == variant), None)
            if row:
                out.append({"target": f"{variant} inference (density {density}) >= {limit}x faster than the dense path, {model}, "
                                      f"batch {row['batch_size']}, 2 threads",
                            "measured": row["speedup_vs_dense"], "limit": limit, "met": row["speedup_vs_dense"] >= limit,
                            "higher_is_better": True})
    out += sparse_training.targets(res.get("sparsetrain", []))
    for model in ["fc", "cnn"]:
        row = next((r for r in res.get("sparsify", []) if r["model"] == model and r["variant"] == "rigl"), None)
        if row:
            # The side-by-side ratio (each process interleaves rigl with a dense copy); the fastest
            # steps come from different moments of different processes, so they stay in the table only.
            out.append({"target": f"sparsewire.torch rigl step <= 1.15x torch's dense step (median of the processes' median-step ratios), "
                                  f"{model}, batch {row['batch_size']}, 2 threads",
                        "measured": row["ratio_vs_dense"], "limit": 1.15, "met": row["ratio_vs_dense"] <= 1.15})
    return out


def fmt(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


def table(title: str, header: list, align: str, rows: list, intro: str = "") -> list:
    """A markdown section: ### title, an optional paragraph, the table, a blank line."""
    lines = [f"### {title}", ""] + ([intro, ""] if intro else [])
    lines += ["| " + " | ".join(header) + " |", align]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [f"Measured {m['date']} at commit `{m['commit']}` on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), "
             f"OPENBLAS_CORETYPE={m['openblas_coretype']}, PyTorch {m['torch']}, {m['swift']}. "
             f"Command: `{res['command']}` ({res['seconds']:.0f} s). Batch {res['batch_size']}; medians of the timed runs after warm-up.", ""]
    if res.get("targets"):
        lines += table("Targets", ["target", "measured", "limit", "met"], "|---|---:|---:|:-:|",
                       [[t["target"], f"{t['measured']:.2f}", f"{t['limit']:.2f}", "yes" if t["met"] else "**no**"] for t in res["targets"]])
    if res.get("train"):
        lines += table("Training step (ms, forward + backward + update)",
                       ["model", "policy", "threads", "SparseWire ms", "PyTorch dense ms", "SW/PT", "SW/SW-dense", "SW RSS MiB", "PT RSS MiB"],
                       "|---|---|--:|--:|--:|--:|--:|--:|--:|",
                       [[r["model"], r["policy"], r["threads"], fmt(r["sparsewire_ms"]), fmt(r["pytorch_dense_ms"]), fmt(r["ratio_vs_pytorch"]),
                         fmt(r["ratio_vs_dense"]), fmt(r["sparsewire_rss_mb"], 0), fmt(r["pytorch_rss_mb"], 0)] for r in res["train"]])
    if res.get("gemm"):
        lines += table("GEMM-bound layers (forward product) vs OpenBLAS sgemm on the same M×N×K",
                       ["model", "layer", "path", "threads", "M×N×K", "GEMM-bound", "ours GFLOP/s", "sgemm GFLOP/s", "ours/sgemm"],
                       "|---|---|---|--:|---|:-:|--:|--:|--:|",
                       [[r["model"], r["layer"], r["path"], r["threads"], f"{r['m']}×{r['n']}×{r['k']}", "yes" if r["gemm_bound"] else "no",
                         f"{r['ours_gflops']:.1f}", f"{r['sgemm_gflops']:.1f}", f"{r['ratio']:.2f}"] for r in res["gemm"]],
                       intro="Winograd rows: the direct product's FLOPs (2·M·N·K) over Winograd's time, an effective rate; the same "
                             "layers' im2col + GEMM path is measured too (SPARSEWIRE_CONV=im2col) and is what the target checks.")
    if res.get("infer"):
        lines += table("Inference (forward pass, evaluation mode)",
                       ["model", "batch", "threads", "density", "kernels", "ms/batch", "samples/s", "speed-up vs dense path", "RSS MiB"],
                       "|---|--:|--:|--:|---|--:|--:|--:|--:|",
                       [[r["model"], r["batch_size"], r["threads"], r["density"], r["kernels"], f"{r['ms']:.3f}", f"{r['samples_per_s']:.0f}",
                         f"{r['speedup_vs_dense']:.2f}", f"{r['peak_rss_mb']:.0f}"] for r in res["infer"]])
    if res.get("structure"):
        lines += table("Structured masks: inference on the lane kernels (2 threads)",
                       ["model", "variant", "density", "ms/batch", "speed-up vs dense path", "rounds (ms)", "RSS MiB"],
                       "|---|---|--:|--:|--:|---|--:|",
                       [[r["model"], r["variant"], r["density"], f"{r['ms']:.3f}", f"{r['speedup_vs_dense']:.2f}",
                         " ".join(f"{x:.2f}" for x in r["round_ms"]), f"{r['peak_rss_mb']:.0f}"] for r in res["structure"]],
                       intro="DNW's magnitude masks of the random initial weights (uniform per layer; with `masking.structure` for "
                             "the structured rows), `--kernels sparse`; the kernel family by `SPARSEWIRE_SPARSE_KERNEL` for the "
                             "unstructured rows. Conv4's dense path runs its 3×3 layers as Winograd (2.25× fewer multiplications "
                             "than the direct product the sparse kernels compute); `dense path, im2col` is the same through im2col + GEMM.")
    if res.get("sparsetrain"):
        lines += sparse_training.markdown(res["sparsetrain"], table, "docs/results/sparse_training_speedup.png")
    if res.get("sparsify"):
        lines += table("PyTorch training step through sparsewire.torch (density 0.1) vs plain torch and torch.ao.pruning",
                       ["model", "variant", "threads", "ms/step (median)", "× torch dense (median of processes)", "per process",
                        "fastest step ms", "× torch dense"], "|---|---|--:|--:|--:|---|--:|--:|",
                       [[r["model"], r["variant"], r["threads"], f"{r['ms']:.3f}", f"{r['ratio_vs_dense']:.2f}",
                         " ".join(f"{x:.2f}" for x in r["process_ratios"]), f"{r['best_ms']:.3f}", f"{r['best_ratio_vs_dense']:.2f}"]
                        for r in res["sparsify"]],
                       intro="Each variant runs in its own process beside a dense copy of the model, the two interleaved step "
                             "by step, so each ratio to dense is measured side by side (5 processes per variant; dense's row: the "
                             "median of all those processes' dense medians). `rigl-keep`: rigl with `dead_weights=\"keep\"` (ŵ = w ⊙ m "
                             "every step, what inert dead weights save). `ao-wns`: WeightNormSparsifier (sparsity 0.9) with `step()` after every optimizer step; `ao-wns-100`: every "
                             "100 steps. On `cnn` it masks the Linear layers only: its `update_mask` fails on 4-D conv weights "
                             "(RuntimeError: shape '[1, 1, 18432]' is invalid, torch 2.13).")
    return "\n".join(lines)


def main() -> None:
    global BINARY
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default="train,gemm,infer,structure,sparsetrain,sparsify",
                    help="comma-separated: train, gemm, infer, structure, sparsetrain, sparsify")
    ap.add_argument("--sparse-models", default="fc1024,conv4,dnw-static,dnw-discrete",
                    help="sparsetrain section: comma-separated subset of fc1024, conv4, dnw-static, dnw-discrete")
    ap.add_argument("--sparse-quick", action="store_true", help="sparsetrain section: a few steps of rigl and dnw only (a smoke test)")
    ap.add_argument("--structure-models", default="fc1024,conv4", help="structure section: comma-separated subset of fc1024, conv4")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--models", default="fc,conv4,randwire",
                    help="comma-separated subset of fc, conv4, randwire, resnet18, mobilenetv1 (the last two are not in the default)")
    ap.add_argument("--policies", default=",".join(POLICIES), help="train section: comma-separated policies (dense first; default all)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="directory for latest.json / latest.md")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference (no ratio column)")
    ap.add_argument("--binary", default=str(BINARY),
                    help="the sparsewire CLI to measure (e.g. a copy built at an older commit, for a before/after run)")
    ap.add_argument("--update-docs", action="store_true", help="rewrite the results block of docs/BENCHMARKS.md")
    args = ap.parse_args()
    BINARY = pathlib.Path(args.binary)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    for s in sections:
        if s not in ("train", "gemm", "infer", "structure", "sparsetrain", "sparsify"):
            raise SystemExit(f"unknown section {s!r}; choose from train, gemm, infer, structure, sparsetrain, sparsify")
    if not BINARY.exists():
        raise SystemExit(f"{BINARY} is missing: build first with `swift build -c release`")
    if not args.no_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise SystemExit('PyTorch is missing: pip install "torch==2.13.0+cpu" (from /opt/wheels), or pass --no-torch')
    args.policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    if not args.policies or args.policies[0] != "dense":
        raise SystemExit("--policies: dense must come first (the ratios' reference)")
    args.structure_models = [m.strip() for m in args.structure_models.split(",") if m.strip()]
    for m in args.structure_models:
        if m not in STRUCTURE_MODELS:
            raise SystemExit(f"unknown --structure-models entry {m!r}; choose from {', '.join(STRUCTURE_MODELS)}")
    args.sparse_models = [m.strip() for m in args.sparse_models.split(",") if m.strip()]
    for m in args.sparse_models:
        if m not in sparse_training.MODELS:
            raise SystemExit(f"unknown --sparse-models entry {m!r}; choose from {', '.join(sparse_training.MODELS)}")
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in args.models:
        if m not in MODELS:
            raise SystemExit(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    env = environment()
    t0 = time.time()
    res = {"machine": machine(env), "batch_size": args.batch_size, "threads": args.threads,
           "command": "python3 benchmarks/run.py " + " ".join(sys.argv[1:])}
    for s in sections:
        log(f"benchmarks: section {s}")
        if s == "sparsetrain":
            res[s] = sparse_training.section(args, env, run_json, median_run, log, BINARY)
            sparse_training.plot(res[s], pathlib.Path(args.out) / "sparse_training_speedup.png")
            continue
        res[s] = {"train": train_section, "gemm": gemm_section, "infer": infer_section, "structure": structure_section,
                  "sparsify": sparsify_section}[s](args, env)
    res["targets"] = targets(res)
    res["seconds"] = time.time() - t0
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(res, indent=1) + "\n")
    md = markdown(res)
    (out / "latest.md").write_text(md + "\n")
    print(md)
    if args.update_docs:
        doc = ROOT / "docs" / "BENCHMARKS.md"
        text = doc.read_text()
        begin, end = "<!-- results:begin -->", "<!-- results:end -->"
        if begin not in text or end not in text:
            raise SystemExit(f"{doc} lacks the {begin} / {end} markers")
        head, rest = text.split(begin, 1)
        doc.write_text(head + begin + "\n" + md + "\n" + end + rest.split(end, 1)[1])
        png = out / "sparse_training_speedup.png"
        if "sparsetrain" in sections and png.exists():
            (ROOT / "docs" / "results" / png.name).write_bytes(png.read_bytes())
        log(f"benchmarks: updated {doc}")
    log(f"benchmarks: done in {res['seconds']:.0f} s; {out / 'latest.json'}")


if __name__ == "__main__":
    main()
