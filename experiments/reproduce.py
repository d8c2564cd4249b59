#!/usr/bin/env python3
"""Reproduces the papers' trends on Fashion-MNIST on a 2-core machine, through the Python binding.

Each experiment trains a list of configurations (scaled down so all five finish in minutes:
subsets of the data, few epochs, narrower nets where said), prints a markdown table and draws a
PNG plot. Results are appended to docs/results/<experiment>.jsonl (finished runs are skipped on a
rerun, so an interrupted run resumes); the table goes to docs/results/<experiment>.md.

    python3 experiments/reproduce.py                 # all five
    python3 experiments/reproduce.py edge_popup_k rigl_set_static --seeds 0 1

1 edge_popup_k     edge-popup accuracy vs k on Conv4, kaiming-normal vs signed-constant weights,
                   dense-trained Conv4 as a line (Ramanujan et al., Fig. 2)
2 edge_popup_width edge-popup (k = 0.5) vs width multiplier, dense at each width (Fig. 4)
3 dnw_baselines    DNW vs random graph, no update rule, lottery one-shot, targeted dropout and
                   L1 + anneal at one edge count (Wortsman et al., Table 3)
4 rigl_set_static  RigL vs SET vs static random sparsity at densities 0.5 / 0.2 / 0.1 (Evci et al.)
5 randwire_graphs  RandWire with ER vs BA vs WS graphs (Xie et al., Fig. 3)
7 resnet_edge_popup_width  edge-popup on ResNet-20 at widths ×0.5, ×1, ×2 and k = 0.3 / 0.5 / 0.7
                   (signed constant, scale-fan, non-affine BN) against the dense ResNet-20 of the
                   same width (Ramanujan et al., Fig. 4/5: does the gap shrink with width?)
8 sparse_resnet    DNW's sparse ResNet section scaled to ResNet-20: dnw vs rigl vs snfs vs
                   random-static at 10 % and 20 % of the weights, all layers sparse and first layer dense
9 wrn_rigl_set_static  RigL vs SET vs static random sparsity on WRN-22-2 at densities 0.05 / 0.1 / 0.2,
                   ERK (Evci et al.'s CIFAR network), on the sparse training kernels
10 dnw_tiny_paper  DNW's tiny classifier at the paper's size (blocks [32, 192, 192, 192, 192],
                   readout 100, 5 % of the edges): static / discrete / continuous time, dnw vs
                   Random Graph, per-seed differences and learning curves (Wortsman et al., Fig. 3)
6 mobilenet_dnw    DNW's MobileNetV1 table (Wortsman et al., "Contrasting with other methods"):
                   MobileNetV1-DNW graphs at edge budget ×0.225 under dnw, random graph, no update
                   rule, L1 + anneal, targeted dropout, lottery one-shot, the complete graph, and
                   dense MobileNetV1 ×0.25; channels at width 0.25 for this machine
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import sparsewire as sw  # noqa: E402  (sets OPENBLAS_CORETYPE before the library loads)

RESULTS = ROOT / "docs" / "results"

CONV4 = dict(model={"name": "conv4"}, optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0001},
             schedule={"name": "cosine"}, batch_size=128, data={"train_limit": 12000, "test_limit": 2000})
FC = dict(model={"name": "mlp", "hidden": [300, 100]}, optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9,
          "weight_decay": 0.0001}, schedule={"name": "cosine"}, batch_size=128, epochs=3)


# DNW's CIFAR recipe (apps/medium_scale: SGD 0.1, momentum 0.9, weight decay 1e-4, cosine, batch
# 128) on 20k Fashion-MNIST images for 3 epochs; every channel count at width 0.25.
MOBILE = dict(optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0001}, schedule={"name": "cosine"},
              batch_size=128, epochs=3, data={"train_limit": 20000})
MOBILE_WIDTH = 0.25


# ResNet-20 (CIFAR-style) on 9,600 Fashion-MNIST images for 2 epochs (150 steps of 128), the test
# set cut to 2,000: sized so that each experiment's 2 seeds fit in ~45 min of this machine.
RESNET = dict(model={"name": "resnet20", "norm": "affine"}, optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0005},
              schedule={"name": "cosine"}, batch_size=128, epochs=2, data={"train_limit": 9600, "test_limit": 2000})


def resnet_edge_popup(k, width):
    return merge(RESNET, model={"width": width, "norm": "nonaffine"}, policy="edge-popup", density=k,
                 policy_options={"weight_init": "signed_constant", "scale_fan": True})


def sparse_resnet(policy, density, first_dense):
    opts = {"delta_t": 25} if policy in ("rigl", "snfs") else {}
    return merge(RESNET, policy=policy, density=density, masking={"first_layer_dense": first_dense}, policy_options=opts)


# WRN-22-2 (RigL's CIFAR network; CIFAR recipe SGD 0.1, momentum 0.9, weight decay 5e-4, cosine)
# on 12,000 Fashion-MNIST images for 3 epochs (282 steps of 128), 2,000 test images; ERK densities;
# rigl and set update every 25 steps. Sized for ~45 min of this machine with 2 seeds.
WRN = dict(model={"name": "wrn", "depth": 22, "width": 2, "norm": "affine"},
           optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0005}, schedule={"name": "cosine"},
           batch_size=128, epochs=3, data={"train_limit": 12000, "test_limit": 2000}, masking={"distribution": "erk"})


def wrn_sparse(policy, density):
    return merge(WRN, policy=policy, density=density, policy_options={"delta_t": 25} if policy != "random-static" else {})


# DNW's tiny classifier at the paper's size: 800 channel nodes in blocks [32, 192, 192, 192, 192],
# readout 100, 5 % of the possible edges chosen over all graph matrices at once; the optimizer of
# configs/fmnist-dnw-tiny.yaml. Static time on all 60k images for 3 epochs; discrete time (T = 3)
# on 20k images for 2 epochs; continuous time (2 RK4 steps = 8 graph evaluations) on 10k images
# for 2 epochs; 5,000 test images for the time-dependent ones.
DNW_TINY = dict(model={"name": "dnw", "blocks": [32, 192, 192, 192, 192], "readout": 100}, masking={"scope": "global"},
                density=0.05, optimizer={"name": "sgd", "lr": 0.5, "momentum": 0.9, "weight_decay": 0.00005},
                schedule={"name": "cosine"}, batch_size=128)
DNW_TINY_SETTINGS = {
    "static": dict(model={"setting": "static"}, epochs=3),
    "discrete": dict(model={"setting": "discrete", "steps": 3}, epochs=2, data={"train_limit": 20000, "test_limit": 5000}),
    "continuous": dict(model={"setting": "continuous", "steps": 2}, epochs=2, data={"train_limit": 10000, "test_limit": 5000}),
}


def dnw_tiny(setting, policy):
    return merge(merge(DNW_TINY, **DNW_TINY_SETTINGS[setting]), policy=policy)


def mobile_dnw(policy):
    return merge(MOBILE, model={"name": "mobilenetv1-dnw", "width": MOBILE_WIDTH, "norm": "affine", "edge_budget": 0.225}, policy=policy)


def merge(base, **over):
    out = json.loads(json.dumps(base))
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def edge_popup(k, init, width=1.0, epochs=1):
    return merge(CONV4, model={"name": "conv4", "width": width}, epochs=epochs, policy="edge-popup", density=k,
                 policy_options={"weight_init": init, "scale_fan": init == "signed_constant"})


def dense_conv4(width=1.0, epochs=1):
    return merge(CONV4, model={"name": "conv4", "width": width}, epochs=epochs, optimizer={"lr": 0.01})


EXPERIMENTS = {
    "edge_popup_k": {
        "title": "edge-popup on Conv4: accuracy vs k (fraction of weights kept), 12k train images, 1 epoch",
        "x": "k", "series": "init",
        "runs": [({"k": k, "init": init}, edge_popup(k, init)) for init in ("kaiming_normal", "signed_constant")
                 for k in (0.1, 0.3, 0.5, 0.7, 0.9)] + [({"k": 1.0, "init": "dense (learned weights)"}, dense_conv4())],
        "line": "dense (learned weights)",
    },
    "edge_popup_width": {
        "title": "edge-popup (k = 0.5, signed constant) vs width multiplier on Conv4, dense at each width, 12k train images, 1 epoch",
        "x": "width", "series": "method",
        "runs": [({"width": w, "method": "edge-popup k=0.5"}, edge_popup(0.5, "signed_constant", width=w)) for w in (0.25, 0.5, 1.0)]
        + [({"width": w, "method": "dense"}, dense_conv4(width=w)) for w in (0.25, 0.5, 1.0)],
    },
    "dnw_baselines": {
        "title": "Discovering wirings at one edge count (10 % of FC 300-100 weights), 3 epochs",
        "x": "policy", "series": None,
        "runs": [({"policy": p}, merge(FC, policy=p, density=0.1)) for p in
                 ("dnw", "random-static", "dnw-no-update", "lottery-one-shot", "targeted-dropout", "l1-anneal")]
        + [({"policy": "dense"}, merge(FC, policy="dense"))],
    },
    "rigl_set_static": {
        "title": "Dynamic sparse training on FC 300-100, 3 epochs: RigL vs SET vs static random mask",
        "x": "density", "series": "policy",
        "runs": [({"density": d, "policy": p}, merge(FC, policy=p, density=d, policy_options={"delta_t": 50} if p != "random-static" else {}))
                 for p in ("rigl", "set", "random-static") for d in (0.5, 0.2, 0.1)],
    },
    "mobilenet_dnw": {
        "title": "MobileNetV1 with DNW graphs at edge budget ×0.225 (channels ×0.25), 20k train images, 3 epochs",
        "x": "method", "series": None, "fast_eval": True, "notes": """
Scale: channels ×0.25 (the reference runs ×1), 20,000 training images, 3 epochs, the full test
set; the reference trains 160 epochs on CIFAR-10. Every graph method keeps the same 26,726
parameters (graph edges at ×0.225 plus norms, depthwise filters, stem and fc); the dense
MobileNetV1 ×0.25 of this width (×0.0625 overall) has 17,090. Fast evaluation (`sparsewire
fast-eval`) removes the channels nothing reads: the parameter column counts the compact
network's tensors with their zeros, the MACs count non-zero edges (as the reference's profiling).

Reading it: the paper's headline does not show at this scale. DNW (81.91 ± 1.17 %) trails the
Random Graph (85.97 ± 0.14 %), the No Update Rule (85.64 ± 0.58 %) and the one-shot Lottery
Ticket (84.75 ± 0.43 %) by 3–4 points, far outside the seed spread; it is level with the dense
MobileNetV1 ×0.25 (80.97 ± 1.07 %), which the paper has it beat by 10 points. What DNW does
show: its learned graphs leave more channels unused, so fast evaluation cuts them to 0.31 M MACs
per example against 0.37–0.39 M for the other methods (one seed). Targeted dropout at ρ = 0.5
never trains (15 %: 95 % of the edges are dropped only half the time in training and always in
evaluation); at the reference's ρ = 0.95 it reaches 80.83 ± 0.35 %. L1 + anneal (77.75 %) is
designed from the paper's description, not from code (the reference has none). Three epochs
give DNW's every-step top-k little time to settle; a longer schedule is the next thing to try.
""",
        "runs": [({"method": m}, mobile_dnw(p)) for m, p in
                 (("DNW ×0.225", "dnw"), ("Random Graph ×0.225", "random-static"), ("No Update Rule", "dnw-no-update"),
                  ("L1 + Anneal", "l1-anneal"), ("Targeted Dropout (ρ = 0.5)", "targeted-dropout"),
                  ("Lottery Ticket (one shot)", "lottery-one-shot"), ("complete graph", "dense"))]
        + [({"method": "Targeted Dropout (ρ = 0.95, the reference's)"}, merge(mobile_dnw("targeted-dropout"), policy_options={"rho": 0.95}))]
        + [({"method": "MobileNetV1 ×0.25 (dense)"},
            merge(MOBILE, model={"name": "mobilenetv1", "width": MOBILE_WIDTH * 0.25, "norm": "affine"}, policy="dense"))],
    },
    "resnet_edge_popup_width": {
        "title": "edge-popup on ResNet-20 vs width (signed constant, scale-fan), dense ResNet-20 of each width, 9.6k train images, 2 epochs",
        "x": "width", "series": "method", "notes": """
Scale: ResNet-20 (CIFAR-style, 3 stages of 3 basic blocks) at channel widths ×0.5, ×1, ×2 on
9,600 training images for 2 epochs (150 steps of 128), 2,000 test images; edge-popup with
signed-constant weights, scale-fan and non-affine batch norm (the paper's ResNet settings),
scores by SGD 0.1 + cosine; the dense nets use affine BN and the same schedule. The paper trains
CIFAR-10 for 100+ epochs.

Reading it: edge-popup's accuracy rises with width at every k (k = 0.3: 73.90 → 78.28 → 81.25 %)
faster than the dense net's (79.30 → 82.48 → 83.33 %), so at k = 0.3 the gap narrows from 5.4
to 4.2 to 2.1 points, the paper's trend; at k = 0.7 it narrows only from ×1 to ×2 (6.1 → 4.2) and
at k = 0.5 not at all (3.2, 4.7, 3.3). The seeds differ by 0.1–1.4 points except the ×1 dense
net (84.45 vs 80.50), so only the ×0.5 → ×2 change at k = 0.3 is clearly beyond noise. Unlike
the paper (best k ≈ 0.5 on ResNets), k = 0.3 is best at ×1 and ×2 here.
""",
        "runs": [({"width": w, "method": f"edge-popup k={k}"}, resnet_edge_popup(k, w)) for w in (0.5, 1.0, 2.0) for k in (0.3, 0.5, 0.7)]
        + [({"width": w, "method": "dense (learned weights)"}, merge(RESNET, model={"width": w})) for w in (0.5, 1.0, 2.0)],
    },
    "sparse_resnet": {
        "title": "Sparse ResNet-20 (DNW's sparse ResNet section, scaled): 9.6k train images, 2 epochs",
        "x": "setting", "series": "policy", "notes": """
Scale: ResNet-20 ×1 (the DNW paper sparsifies ResNet-50 on ImageNet) on 9,600 training images
for 2 epochs (150 steps of 128), 2,000 test images; SGD 0.1, momentum 0.9, weight decay 5e-4,
cosine; uniform density per layer; rigl and snfs update their masks every 25 steps; BN and biases
never masked. "First layer dense" keeps the 3×3 stem dense (the other layers hold the budget).

Reading it: the paper's ranking (DNW ahead of the sparse-training baselines) does not show at
this scale — the order is the reverse: a static random mask is best (10 %: 82.60 ± 1.63 %,
84.45 ± 0.42 with the stem dense), then snfs ≈ rigl (80.2–82.6 %), then dnw (77.1–80.1 %), at
both densities and with or without the dense stem; the static mask even matches the dense net
(82.53 ± 1.52 %). Two epochs reward a mask that never moves (it trains like a small dense
network from step 1), while dnw's every-step top-k and rigl/snfs's regrowth spend the short
schedule re-learning moved weights; the paper's 100-epoch runs let them settle. The dnw − static
differences (3.7–5.9 points) are beyond the seed spreads (std 0–2.7); rigl vs snfs are within them.
Keeping the stem dense helps every method by 1–2 points at 10 %.
""",
        "runs": [({"setting": f"{int(100 * d)} %{', first layer dense' if fd else ''}", "policy": p}, sparse_resnet(p, d, fd))
                 for fd in (False, True) for d in (0.1, 0.2) for p in ("dnw", "rigl", "snfs", "random-static")]
        + [({"setting": "100 %", "policy": "dense"}, RESNET)],
    },
    "wrn_rigl_set_static": {
        "title": "RigL vs SET vs static random mask on WRN-22-2 (ERK), 12k train images, 3 epochs",
        "x": "density", "series": "policy", "notes": """
Scale: WRN-22-2 (1.08 M weights, RigL's CIFAR network) on 12,000 Fashion-MNIST images for 3
epochs (282 steps of 128), 2,000 test images; SGD 0.1, momentum 0.9, weight decay 5e-4, cosine;
ERK per-layer densities; rigl and set update every 25 steps until 75 % of training (8 updates),
drop fraction α = 0.3, cosine-decayed (the policies' defaults); BN and biases never masked. The masked layers train on the sparse kernels (issue
19; `training.kernels: auto`). Runs took 110–330 s each (some shared the machine). Evci et al.
train CIFAR-10 for 250 epochs.

Reading it: the three methods do not separate at this budget. At every density the means lie
within 0.5 points of each other and within the seed spreads (std up to 1.1 points at 0.05):
0.05: static 86.53, rigl 86.40, set 86.05 %; 0.1: set 87.48, static 87.35, rigl 87.17 %; 0.2:
set 87.87, rigl 87.85, static 87.78 %. Accuracy does rise with density for all three (≈ +1.4
points from 0.05 to 0.2). The paper's ordering (RigL > SET > static, widest at low density)
needs many more mask updates than 8; the FC 300-100 experiment above (`rigl_set_static`)
shows the gap opening at 0.1 after 3 full epochs.
""",
        "runs": [({"density": d, "policy": p}, wrn_sparse(p, d)) for p in ("rigl", "set", "random-static") for d in (0.05, 0.1, 0.2)],
    },
    "dnw_tiny_paper": {
        "title": "DNW's tiny classifier at the paper's size (800 nodes, 5 % of the edges): dnw vs Random Graph",
        "x": "setting", "series": "policy", "paired": ("policy", "dnw", "random-static"), "curves": True, "notes": """
Scale: the paper's graph (800 channel nodes in blocks [32, 192, 192, 192, 192], readout 100, 5 %
of the possible edges chosen over all graph matrices at once; dnw and random-static keep exactly
the same 22,994 / 42,706 parameters) on Fashion-MNIST. Static: all 60k images, 3 epochs, 10k test
images; discrete time (T = 3): 20k images, 2 epochs; continuous time (2 RK4 steps, 8 graph
evaluations per forward): 10k images, 2 epochs; 5k test images for both. SGD lr 0.5, momentum
0.9, cosine. The paper trains CIFAR-10 for many more epochs. The graph layers train on the sparse
kernels (issue 19): a paper-size step is 1.45–2.92× faster than the dense step (docs/BENCHMARKS.md,
"Sparse training"), which is what makes this size fit the machine.

Reading it: the paper's 4–5 point gap does not show at this scale. Static: dnw +0.39 ± 0.59
points (2 of 3 seeds ahead): within the seed spread, as at the scaled-down size (+0.19 ± 0.33
over 5 seeds). Discrete time: dnw is behind in every seed, −0.43 ± 0.08 points; continuous time
−1.33 ± 0.60. The learning curves (`dnw_tiny_paper_curves.png`) show where: after the first epoch
dnw trails the fixed random graph by 1–4 points in discrete and continuous time (its every-step
top-k moves edges while the weights are still far from trained) and closes most of that gap in
the second; in the static setting both curves overlap. Two epochs on 10–20k images are far from
the paper's schedule, so this says only that learning the wiring does not help early in
training here.
""",
        "runs": [({"setting": st, "policy": p}, dnw_tiny(st, p)) for st in DNW_TINY_SETTINGS for p in ("dnw", "random-static")],
    },
    "randwire_graphs": {
        "title": "RandWire (C = 16, 2 stages of 32 nodes) with ER(0.2), BA(5), WS(4, 0.75) graphs, 20k train images, 1 epoch",
        "x": "graph", "series": None,
        "runs": [({"graph": name}, {"model": {"name": "randwire", "channels": 16, "stages": 2, "head": 128, "edge_drop": 0.1},
                                    "graph": {"model": g, "n": 32, "k": 4, "p": p, "m": 5, "seed": 1},
                                    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.00005},
                                    "schedule": {"name": "cosine"}, "loss": {"label_smoothing": 0.1}, "epochs": 1, "batch_size": 128,
                                    "data": {"train_limit": 20000, "test_limit": 2000}})
                 for name, g, p in (("ER(0.2)", "er", 0.2), ("BA(5)", "ba", 0.75), ("WS(4, 0.75)", "ws", 0.75))],
    },
}


def fast_eval(checkpoint):
    """`sparsewire fast-eval` of a MobileNetV1-DNW checkpoint: parameters and MACs per example
    after removing the channels nothing reads, and the logits check."""
    import re
    import subprocess
    cli = ROOT / ".build" / "release" / "sparsewire"
    out = subprocess.run([str(cli), "fast-eval", "--checkpoint", str(checkpoint)], capture_output=True, text=True, check=True).stdout
    params = re.search(r"^parameters (\d+) → (\d+)", out, re.M)
    nonzero = re.search(r"non-zero parameters (\d+) → (\d+)", out)
    macs = re.search(r"MACs per example (\S+) → (\S+) ", out)
    diff = re.search(r"logit difference\| on \d+ random inputs: (\S+)", out)
    return {"fast_eval_params": int(params.group(2)), "fast_eval_nonzero_params": int(nonzero.group(2)), "fast_eval_macs": float(macs.group(2)), "macs_before": float(macs.group(1)),
            "fast_eval_max_logit_diff": float(diff.group(1))}


def run_one(cfg, seed, threads, with_fast_eval=False):
    import tempfile
    cfg = merge(cfg, seed=seed, threads=threads)
    t0 = time.time()
    extra = {}
    with sw.Engine(cfg) as e:
        history = e.fit(progress=False)
        last = history[-1]
        counts = e.parameter_counts()
        if with_fast_eval and cfg["model"]["name"] == "mobilenetv1-dnw":
            with tempfile.TemporaryDirectory() as d:
                e.save(os.path.join(d, "run.safetensors"))
                extra = fast_eval(os.path.join(d, "run.safetensors"))
    return {"test_accuracy": last["test_accuracy"], "train_loss": last["train_loss"], "params_kept": counts["kept"],
            "params_total": counts["total"], "seconds": round(time.time() - t0, 1), "curve": [h["test_accuracy"] for h in history], **extra}


def table(name, exp, rows):
    keys = [k for k in rows[0]["label"]]
    fe = any("fast_eval_params" in r for r in rows)
    lines = [f"### {exp['title']}", "", "| " + " | ".join(keys) + " | test accuracy (mean ± std) | per seed | kept / total params |"
             + (" parameter elements after fast eval (dense storage) | MACs/example before → after fast eval |" if fe else ""),
             "|" + "---|" * (len(keys) + 3 + (2 if fe else 0))]
    for label, group in grouped(rows):
        accs = [r["test_accuracy"] for r in group]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        line = ("| " + " | ".join(str(label[k]) for k in keys) + f" | {100 * statistics.mean(accs):.2f} ± {100 * sd:.2f} % | "
                + ", ".join(f"{100 * a:.2f}" for a in accs) + f" | {group[0]['params_kept']:,} / {group[0]['params_total']:,} |")
        if fe:
            f = [r for r in group if "fast_eval_params" in r]
            line += (f" {statistics.mean(r['fast_eval_params'] for r in f):,.0f} (seeds {', '.join(str(r['seed']) for r in f)}) | "
                     f"{statistics.mean(r['macs_before'] for r in f) / 1e6:.2f} M → {statistics.mean(r['fast_eval_macs'] for r in f) / 1e6:.2f} M |"
                     if f else " — | — |")
        lines.append(line)
    if exp.get("paired"):
        lines += ["", paired_differences(exp["paired"], keys, rows)]
    return "\n".join(lines)


def paired_differences(paired, keys, rows):
    """A table of per-seed differences a − b (in points) of test accuracy between the runs whose
    label `key` is a and b and whose other labels agree: each difference, and their mean ± std."""
    key, a, b = paired
    rest = [k for k in keys if k != key]
    acc = {(tuple(r["label"][k] for k in rest), r["label"][key], r["seed"]): r["test_accuracy"] for r in rows}
    lines = [f"| {' | '.join(rest)} | {a} − {b} per seed (points) | mean ± std |", "|" + "---|" * (len(rest) + 2)]
    for other in dict.fromkeys(k[0] for k in acc):
        d = [100 * (acc[(other, a, s)] - acc[(other, b, s)]) for s in sorted({k[2] for k in acc})
             if (other, a, s) in acc and (other, b, s) in acc]
        if d:
            sd = statistics.stdev(d) if len(d) > 1 else 0.0
            lines.append(f"| {' | '.join(map(str, other))} | {', '.join(f'{x:+.2f}' for x in d)} | {statistics.mean(d):+.2f} ± {sd:.2f} |")
    return "\n".join(lines)


def plot_curves(exp, rows, path):
    """Test accuracy after each epoch, one line per run (colour per series, panel per x value)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x, series = exp["x"], exp["series"]
    panels = list(dict.fromkeys(r["label"][x] for r in rows))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2), squeeze=False)
    colours = {}
    for ax, panel in zip(axes[0], panels):
        for r in rows:
            if r["label"][x] != panel or not r.get("curve"):
                continue
            s = r["label"][series]
            c = colours.setdefault(s, f"C{len(colours)}")
            ax.plot(range(1, len(r["curve"]) + 1), [100 * a for a in r["curve"]], "o-", color=c, alpha=0.7,
                    label=s if r["seed"] == min(q["seed"] for q in rows) else None)
        ax.set_title(str(panel), fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("test accuracy (%)")
    fig.suptitle(exp["title"], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def grouped(rows):
    out = {}
    for r in rows:
        out.setdefault(json.dumps(r["label"], sort_keys=True), []).append(r)
    return [(json.loads(k), v) for k, v in out.items()]


def plot(name, exp, rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    groups = grouped(rows)
    x, series = exp["x"], exp["series"]
    if series is None:  # bar chart over categories
        labels = [str(l[x]) for l, _ in groups]
        means = [100 * statistics.mean(r["test_accuracy"] for r in g) for _, g in groups]
        errs = [100 * statistics.pstdev([r["test_accuracy"] for r in g]) for _, g in groups]
        ax.bar(labels, means, yerr=errs, color="#4c72b0")
        ax.set_ylim(min(means) - 5, min(100, max(means) + 2))
        ax.tick_params(axis="x", rotation=20)
    else:
        for s in sorted({l[series] for l, _ in groups}):
            pts = sorted((l[x], 100 * statistics.mean(r["test_accuracy"] for r in g)) for l, g in groups if l[series] == s)
            if exp.get("line") == s:
                ax.axhline(pts[0][1], color="k", ls="--", label=s)
            else:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=s)
        ax.set_xlabel(x)
        ax.legend()
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(exp["title"], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiments", nargs="*", choices=[[], *EXPERIMENTS], default=[])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.experiments or list(EXPERIMENTS):
        exp = EXPERIMENTS[name]
        out = RESULTS / f"{name}.jsonl"
        done = [json.loads(l) for l in out.read_text().splitlines()] if out.exists() else []
        have = {(json.dumps(r["label"], sort_keys=True), r["seed"]) for r in done}
        for label, cfg in exp["runs"]:
            for seed in args.seeds:
                if (json.dumps(label, sort_keys=True), seed) in have:
                    continue
                print(f"{name}: {label} seed {seed} ...", file=sys.stderr, flush=True)
                r = {"label": label, "seed": seed, "config": cfg, **run_one(cfg, seed, args.threads, exp.get("fast_eval", False))}
                print(f"  {100 * r['test_accuracy']:.2f} % in {r['seconds']} s", file=sys.stderr, flush=True)
                with out.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                done.append(r)
        rows = [r for r in done if r["seed"] in args.seeds]
        md = table(name, exp, rows)
        cmd = "python3 experiments/reproduce.py " + name + " --seeds " + " ".join(map(str, args.seeds))
        notes = ("\n\n" + exp["notes"].strip()) if exp.get("notes") else ""
        (RESULTS / f"{name}.md").write_text(md + notes + f"\n\nMade by `{cmd}`; raw runs in `{name}.jsonl`, plot `{name}.png`"
                                         + (f", learning curves `{name}_curves.png`" if exp.get("curves") else "") + ".\n")
        plot(name, exp, rows, RESULTS / f"{name}.png")
        if exp.get("curves"):
            plot_curves(exp, rows, RESULTS / f"{name}_curves.png")
        print(md + "\n")


if __name__ == "__main__":
    main()
