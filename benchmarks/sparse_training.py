"""The `sparsetrain` section of benchmarks/run.py (issue 19): training steps of masked networks on
the sparse kernels (training.kernels auto, the default) against the dense step of the same network.

Rows, all at batch `--batch-size`, 2 threads, fresh processes:
  policies  Conv4 and FC-1024 (784-1024-1024-10) with rigl, set, random-static, lottery-one-shot
            (pruned at step 0), dnw, edge-popup and supermask at densities 0.1 and 0.05, each with
            training.kernels auto and dense, beside the dense policy's step (the reference).
            Supermask learns its density: its rows start the Bernoulli masks at expected density d
            (policy_options.init_logit = ln(d / (1 − d))).
            (training.kernels dense only at 0.1: the masked dense path for comparison).
  curve     random-static at densities 1.0 ... 0.02 with training.kernels sparse (forced) and auto
            (and dense at 1.0 and 0.5): the speed-up curve against the ideal FLOP ratio 1/density
            (PNG beside the tables).
  structure FC-1024 rigl with 2:4 masks (density 0.5) and block 1×8 (0.1) beside unstructured
            masks of the same density, training.kernels sparse and auto (issue 21).
  dnw-static, dnw-discrete  DNW's tiny classifier at the paper's size (800 channel nodes, readout
            100; discrete time T = 3) at 5 % of the edges, dnw and random-static, auto and dense:
            the channel graphs are 1×1 convolutions on 7×7 maps. No curve.
FC rows are the median of 3 interleaved rounds, Conv4 and DNW rows of 2 (their steps take ~0.05-1 s).
"""
import math
import pathlib

POLICIES = ["rigl", "set", "random-static", "lottery-one-shot", "dnw", "edge-popup", "supermask"]
# The policies whose weight gradient goes to the kept weights only (active-entry dW and update).
ACTIVE = {"rigl", "set", "random-static", "lottery-one-shot"}
DENSITIES = [0.1, 0.05]
CURVE = [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02]
_DNW = ["--model", "dnw", "--set", "model.blocks=[32,192,192,192,192]", "--set", "model.readout=100", "--set", "masking.scope=global"]
# name: (bench arguments, warm-up steps, repeats, rounds, policies, densities, curve densities)
MODELS = {
    "fc1024": (["--model", "mlp", "--set", "model.hidden=[1024,1024]"], 20, 100, 3, POLICIES, DENSITIES, CURVE),
    "conv4": (["--model", "conv4"], 1, 6, 2, POLICIES, DENSITIES, CURVE),
    "dnw-static": (_DNW + ["--set", "model.setting=static"], 1, 6, 2, ["dnw", "random-static"], [0.05], []),
    "dnw-discrete": (_DNW + ["--set", "model.setting=discrete", "--set", "model.steps=3"], 1, 4, 2, ["dnw", "random-static"], [0.05], []),
}


# Structured masks in training (issue 21): rigl on FC-1024 with 2:4 (density 0.5) and block 1×8
# (0.1) beside unstructured masks of the same density, forced onto the sparse kernels and on auto.
STRUCTURES = {"2:4": ["--set", "masking.structure.type=nm", "--set", "masking.structure.n=2", "--set", "masking.structure.m=4"],
              "block 1x8": ["--set", "masking.structure.type=block", "--set", "masking.structure.rows=1", "--set", "masking.structure.cols=8"]}
STRUCTURE_ROWS = {"fc1024": [("2:4", 0.5), ("block 1x8", 0.1)]}


def _extra(policy: str, density: float, kernels: str, structure: str = "") -> list:
    out = ["--set", f"policy={policy}", "--set", f"training.kernels={kernels}"] + STRUCTURES.get(structure, [])
    if policy != "dense":
        out += ["--set", f"density={density}"]
    if policy == "lottery-one-shot":
        out += ["--set", "policy_options.prune_epoch=0"]  # train the pruned ticket from the first step
    if policy == "supermask":
        # Supermask learns its density; "at density d" starts its Bernoulli masks at expected
        # density d: logits ln(d / (1 − d)) (its default, 0, draws half the weights).
        out += ["--set", f"policy_options.init_logit={math.log(density / (1 - density)):.6f}"]
    return out


def section(args, env, run_json, median_run, log, binary) -> list:
    """`args.sparse_quick`: one round of few steps over rigl and dnw at 0.1 and the curve's ends
    (a smoke test of the section, e.g. in CI; not a measurement)."""
    rows = []
    models = [m for m in MODELS if m in args.sparse_models]
    quick = getattr(args, "sparse_quick", False)
    for model in models:
        margs, warm, reps, rounds, policies, densities, curve = MODELS[model]
        if quick:
            warm, reps, rounds = 1, 3, 1
            policies, densities = [p for p in policies if p in ("rigl", "dnw")], densities[:1]
            curve = [d for d in curve if d in (1.0, 0.5, 0.1)]
        common = ["--batch-size", str(args.batch_size), "--threads", "2", "--warmup", str(warm), "--repeats", str(reps)]
        variants = [("dense", 1.0, "dense", "reference", "")]
        for d in densities:
            for p in policies:
                variants += [(p, d, "auto", "policies", "")] + ([(p, d, "dense", "policies", "")] if d == densities[0] else [])
        for d in curve:
            variants += [("random-static", d, k, "curve", "") for k in ("sparse", "auto", "dense") if k != "dense" or d >= 0.5]
        if not quick:
            for st, d in STRUCTURE_ROWS.get(model, []):
                variants += [("rigl", d, k, "structure", x) for x in (st, "unstructured") for k in ("sparse", "auto")]
        runs = {i: [] for i in range(len(variants))}
        for rnd in range(rounds):
            for i, (p, d, k, _, st) in enumerate(variants):
                runs[i].append(run_json([str(binary), "bench", "--mode", "train", *margs, *common, *_extra(p, d, k, st)], env))
            log(f"  sparsetrain {model} round {rnd + 1}/{rounds} done")
        picked = {i: median_run(v) for i, v in runs.items()}
        dense = picked[0]["ms_per_step_median"]
        for i, (p, d, k, part, st) in enumerate(variants):
            r = picked[i]
            rows.append({"model": model, "part": part, "policy": p, "density": d, "kernels": k, "structure": st or None, "threads": 2,
                         "batch_size": args.batch_size, "ms": r["ms_per_step_median"], "speedup_vs_dense": dense / r["ms_per_step_median"],
                         "peak_rss_mb": r["peak_rss_mb"], "dense_rss_mb": picked[0]["peak_rss_mb"],
                         "round_ms": r["round_ms"], "blas_core": r.get("blas_core"),
                         "sparse_layer_share": r.get("sparse_layer_share", 0.0)})
            log(f"  sparsetrain {model:6} {p:16} density {d:4} kernels {k:6}: {r['ms_per_step_median']:9.2f} ms "
                f"({dense / r['ms_per_step_median']:.2f}x the dense step)")
    return rows


def targets(rows: list) -> list:
    out = []

    def row(model, policy, density, kernels="auto", part="policies"):
        return next((r for r in rows if r["model"] == model and r["policy"] == policy and r["density"] == density
                     and r["kernels"] == kernels and r["part"] == part), None)
    for model, limits in [("conv4", {0.1: 2.5, 0.05: 4.0}), ("fc1024", {0.1: 3.0, 0.05: 5.0})]:
        for density, limit in limits.items():
            for policy in sorted(ACTIVE) if model == "conv4" else ["rigl", "random-static"]:
                r = row(model, policy, density)
                if r:
                    out.append({"target": f"sparse training step >= {limit}x faster than the dense step, {model}, {policy}, density {density}",
                                "measured": r["speedup_vs_dense"], "limit": limit, "met": r["speedup_vs_dense"] >= limit,
                                "higher_is_better": True})
    for model in ("dnw-static", "dnw-discrete"):
        for policy in ("random-static", "dnw"):
            r = row(model, policy, 0.05)
            if r:
                out.append({"target": f"DNW graph layers train sparse: step faster than the dense step, {model} (paper size), {policy}, density 0.05",
                            "measured": r["speedup_vs_dense"], "limit": 1.0, "met": r["speedup_vs_dense"] > 1.0, "higher_is_better": True})
    for policy in ["dnw", "edge-popup", "supermask"]:
        r = row("conv4", policy, 0.1)
        if r:
            out.append({"target": f"sparse forward + input gradient >= 1.3x faster than the dense step, conv4, {policy}, density 0.1",
                        "measured": r["speedup_vs_dense"], "limit": 1.3, "met": r["speedup_vs_dense"] >= 1.3, "higher_is_better": True})
    for model in dict.fromkeys(r["model"] for r in rows):
        for density in [1.0, 0.5]:
            r, d = row(model, "random-static", density, "auto", "curve"), row(model, "random-static", density, "dense", "curve")
            if r and d:
                ratio = r["ms"] / d["ms"]
                out.append({"target": f"automatic choice within 3% of the dense path at density {density}, {model} "
                                      f"(random-static, auto / training.kernels dense)",
                            "measured": ratio, "limit": 1.03, "met": ratio <= 1.03})
        # Against the same policy on the dense path (scores, RigL's state etc. cost the same on both).
        # Only rows where auto trained some layer on the sparse kernels: where it chose the dense
        # path throughout (dnw, edge-popup, supermask on FC) both rows run the same code, and their
        # peak RSS differs by allocator noise (tens of KiB) either way.
        pairs = [(r, row(model, r["policy"], r["density"], "dense")) for r in rows
                 if r["model"] == model and r["part"] == "policies" and r["kernels"] == "auto" and r["sparse_layer_share"] > 0]
        ratios = [(a["peak_rss_mb"] / d["peak_rss_mb"], a) for a, d in pairs if d]
        if ratios:
            ratio, worst = max(ratios, key=lambda t: t[0])
            out.append({"target": f"peak RSS of sparse training <= the dense path's, {model} (same policy and density, rows that "
                                  f"trained sparse; worst: {worst['policy']} {worst['density']}, RSS ratio)",
                        "measured": ratio, "limit": 1.0, "met": ratio <= 1.0})
    return out


def markdown(rows: list, table, plot_name: str) -> list:
    lines = table("Sparse training: step time against the dense step (2 threads)",
                  ["model", "policy", "density", "training.kernels", "on sparse kernels", "ms/step", "× faster than dense",
                   "ideal (1/density)", "RSS MiB"],
                  "|---|---|--:|---|--:|--:|--:|--:|--:|",
                  [[r["model"], r["policy"], r["density"], r["kernels"], f"{100 * r['sparse_layer_share']:.0f} %", f"{r['ms']:.2f}",
                    f"{r['speedup_vs_dense']:.2f}", f"{1 / r['density']:.0f}", f"{r['peak_rss_mb']:.0f}"]
                   for r in rows if r["part"] in ("reference", "policies")],
                  intro="`auto` runs masked linear and stride-1 conv layers on the sparse kernels at density ≤ training.sparse_below; "
                        "rigl, set, random-static and lottery-one-shot (pruned at step 0) also compute the weight gradient and the "
                        "optimizer update at the kept weights only; dnw, edge-popup and supermask need the dense weight gradient "
                        "every step. `dense`: the same policy with training.kernels dense (the masked dense path). "
                        "On sparse kernels: the share of masked layers' training forward passes (warm-up included) that "
                        "`auto` ran sparse (sparsewire bench's sparse_layer_share). "
                        "dnw-static / dnw-discrete: DNW's tiny classifier at the paper's size (800 channel nodes, 5 % of the "
                        "edges chosen globally; discrete time T = 3), its reference row the complete graph (policy dense).")
    lines += table("Sparse training: speed-up against density (random-static)",
                   ["model", "density", "sparse (forced)", "auto", "dense path", "ideal"], "|---|--:|--:|--:|--:|--:|",
                   [[m, d] + [next((f"{r['speedup_vs_dense']:.2f}" for r in rows if r['model'] == m and r['part'] == 'curve'
                                    and r['density'] == d and r['kernels'] == k), "—")
                              for k in ("sparse", "auto", "dense")] + [f"{1 / d:.0f}"]
                    for m in dict.fromkeys(r["model"] for r in rows) for d in sorted({r["density"] for r in rows if r["part"] == "curve"}, reverse=True)
                    if any(r["model"] == m and r["part"] == "curve" and r["density"] == d for r in rows)],
                   intro=f"× faster than the dense policy's step; plot: `{plot_name}`.")
    structured = [r for r in rows if r["part"] == "structure"]
    if structured:
        lines += table("Sparse training with structured masks (rigl, issue 21)",
                       ["model", "mask", "density", "training.kernels", "ms/step", "× faster than dense", "RSS MiB"],
                       "|---|---|--:|---|--:|--:|--:|",
                       [[r["model"], r["structure"], r["density"], r["kernels"], f"{r['ms']:.2f}", f"{r['speedup_vs_dense']:.2f}",
                         f"{r['peak_rss_mb']:.0f}"] for r in structured],
                       intro="The lane packing of a structured mask has no padded slots (its tiles are whole chunk spans: "
                             "2:4 → 16 columns, 1×8 → 8); dW at the kept entries and the update are the same kernels as "
                             "unstructured. `sparse` forces the sparse kernels, `auto` decides by density (0.3).")
    return lines


def plot(rows: list, path: pathlib.Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = list(dict.fromkeys(r["model"] for r in rows if r["part"] == "curve"))
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False)
    for ax, m in zip(axes[0], models):
        for k, style in [("sparse", "o-"), ("auto", "s--")]:
            pts = sorted((r["density"], r["speedup_vs_dense"]) for r in rows if r["model"] == m and r["part"] == "curve" and r["kernels"] == k)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=f"training.kernels {k}")
        ds = sorted({r["density"] for r in rows if r["part"] == "curve"})
        ax.plot(ds, [1 / d for d in ds], "k-", alpha=0.3, label="ideal (1/density)")
        ax.set_xscale("log"); ax.set_yscale("log")
        ax.set_xlabel("density (fraction of weights kept)"); ax.set_ylabel("× faster than the dense step")
        ax.set_title(f"{m}, random-static, batch 128, 2 threads")
        ax.grid(True, which="both", alpha=0.3); ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
