#!/usr/bin/env python3
"""One PyTorch training-step timing (forward + backward + SGD-momentum update), printed as one
JSON line; benchmarks/run.py (section `sparsify`) runs it in fresh processes.

    python3 benchmarks/torch_sparsify.py --model fc --variant dense
    python3 benchmarks/torch_sparsify.py --model cnn --variant rigl        # through sparsewire.torch
    python3 benchmarks/torch_sparsify.py --model cnn --variant ao-wns      # torch.ao.pruning.WeightNormSparsifier

Variants: `dense` (plain torch), any SparseWire policy name (sparsewire.torch.sparsify at density
0.1; rigl/set/snfs with delta_t 100), `ao-wns` (torch.ao.pruning's WeightNormSparsifier at
sparsity 0.9 on the Linear layers (its update_mask fails on conv weights), its `step()` called after every optimizer step, as its
masks follow the weights like DNW's) and `ao-wns-100` (`step()` every 100 steps, as RigL's
ΔT). Models: `fc` (784-300-100-10) and `cnn` (conv 32, conv 64, two max-pools, fc 128, fc 10) on
random 28×28 inputs, batch 128.
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["fc", "cnn"], default="fc")
    ap.add_argument("--variant", default="dense")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    m = model(args.model)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    total = args.warmup + args.repeats + 1
    after = None
    if args.variant.startswith("ao-wns"):
        from torch.ao.pruning import WeightNormSparsifier
        every = 100 if args.variant == "ao-wns-100" else 1
        wns = WeightNormSparsifier(sparsity_level=0.9, sparse_block_shape=(1, 1), zeros_per_block=1)
        # Linear layers only: its update_mask fails on 4-D conv weights (torch 2.13).
        wns.prepare(m, [{"tensor_fqn": f"{n}.weight"} for n, l in m.named_modules() if isinstance(l, nn.Linear)])
        wns.step()
        counter = [0]

        def after():
            counter[0] += 1
            if counter[0] % every == 0:
                wns.step()
    elif args.variant != "dense":
        import sparsewire.torch
        options = {"delta_t": 100} if args.variant in ("rigl", "set", "snfs") else {}
        sparsewire.torch.sparsify(m, opt, args.variant, density=0.1, total_steps=total, **options)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(args.batch_size, 1, 28, 28, generator=g), torch.randint(0, 10, (args.batch_size,), generator=g)

    def step():
        loss = nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if after:
            after()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"model": args.model, "variant": args.variant, "threads": args.threads, "batch_size": args.batch_size,
                      "ms_per_step_median": times[len(times) // 2], "ms_per_step_min": times[0], "repeats": args.repeats,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
