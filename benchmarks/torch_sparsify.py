#!/usr/bin/env python3
"""PyTorch training-step timings (forward + backward + SGD-momentum update) of several variants of
one model, interleaved in ONE process: each variant has its own copy of the model and optimizer,
and every round times one step of each, in alternating order, so the VM's drift (±30 % between
processes here) moves all variants alike. Prints one JSON line; benchmarks/run.py (section
`sparsify`) runs it a few times in fresh processes.

    python3 benchmarks/torch_sparsify.py --model fc --variants dense,rigl,ao-wns

Variants: `dense` (plain torch, the reference of the ratios), any SparseWire policy name
(sparsewire.torch.sparsify at density 0.1; rigl/set/snfs with delta_t 100; `rigl-keep` is rigl
with dead_weights="keep", the ŵ = w ⊙ m product every step), `ao-wns` (torch.ao.pruning's
WeightNormSparsifier at sparsity 0.9 on the Linear layers (its update_mask fails on conv
weights), its `step()` called after every optimizer step, as its masks follow the weights like
DNW's) and `ao-wns-100` (`step()` every 100 steps, as RigL's ΔT). Models: `fc` (784-300-100-10)
and `cnn` (conv 32, conv 64, two max-pools, fc 128, fc 10) on random 28×28 inputs, batch 128.
Per variant: the median and the fastest timed step, and `ratio_vs_dense` = median / dense median
of the same process.
"""
import argparse
import json
import pathlib
import sys
import time

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "bindings" / "python"))


def model(name):
    torch.manual_seed(0)
    if name == "fc":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def make_step(name, variant, total, x, y):
    """One training step of a fresh model under `variant`, as a closure."""
    m = model(name)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    after = None
    if variant.startswith("ao-wns"):
        from torch.ao.pruning import WeightNormSparsifier
        every = 100 if variant == "ao-wns-100" else 1
        wns = WeightNormSparsifier(sparsity_level=0.9, sparse_block_shape=(1, 1), zeros_per_block=1)
        # Linear layers only: its update_mask fails on 4-D conv weights (torch 2.13).
        wns.prepare(m, [{"tensor_fqn": f"{n}.weight"} for n, l in m.named_modules() if isinstance(l, nn.Linear)])
        wns.step()
        counter = [0]

        def after():
            counter[0] += 1
            if counter[0] % every == 0:
                wns.step()
    elif variant != "dense":
        import sparsewire.torch
        policy, extra = (variant[:-5], {"dead_weights": "keep"}) if variant.endswith("-keep") else (variant, {})
        options = {"delta_t": 100} if policy in ("rigl", "set", "snfs") else {}
        sparsewire.torch.sparsify(m, opt, policy, density=0.1, total_steps=total, **options, **extra)

    def step():
        loss = nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if after:
            after()
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["fc", "cnn"], default="fc")
    ap.add_argument("--variants", default="dense,rigl", help="comma-separated; the first must be dense")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    variants = args.variants.split(",")
    if variants[0] != "dense":
        raise SystemExit("--variants: the first variant must be dense (the ratios' reference)")
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(args.batch_size, 1, 28, 28, generator=g), torch.randint(0, 10, (args.batch_size,), generator=g)
    total = args.warmup + args.repeats + 1
    steps = {v: make_step(args.model, v, total, x, y) for v in variants}
    for _ in range(args.warmup):
        for s in steps.values():
            s()
    times = {v: [] for v in variants}
    for i in range(args.repeats):
        for v in (variants if i % 2 == 0 else variants[::-1]):
            t0 = time.perf_counter()
            steps[v]()
            times[v].append((time.perf_counter() - t0) * 1e3)
    med = {v: sorted(t)[len(t) // 2] for v, t in times.items()}
    rows = [{"variant": v, "ms_per_step_median": med[v], "ms_per_step_min": min(times[v]), "ratio_vs_dense": med[v] / med["dense"]}
            for v in variants]
    print(json.dumps({"model": args.model, "threads": args.threads, "batch_size": args.batch_size, "repeats": args.repeats,
                      "torch": torch.__version__, "variants": rows}))


if __name__ == "__main__":
    main()
