#!/usr/bin/env python3
"""PyTorch CPU reference for SparseWire's training-step timings.

Builds the same architectures as SparseWire (Conv2/4/6/8 of edge-popup without bias, the
MLP 300-100), times forward+backward+SGD-momentum steps on random 1x28x28 data, and prints one
JSON line per model with the median ms/step after warm-up.

    python3 benchmarks/torch_reference.py --model conv4 --batch-size 128 --threads 2
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def conv_net(depth: int, width: float = 1.0, classes: int = 10) -> nn.Module:
    layers, ch, hw = [], 1, 28
    for block in range(depth // 2):
        out = max(1, round((64 << block) * width))
        for _ in range(2):
            layers += [nn.Conv2d(ch, out, 3, padding=1, bias=False), nn.ReLU()]
            ch = out
        layers.append(nn.MaxPool2d(2))
        hw //= 2
    fc = max(1, round(256 * width))
    layers += [nn.Flatten(), nn.Linear(ch * hw * hw, fc, bias=False), nn.ReLU(),
               nn.Linear(fc, fc, bias=False), nn.ReLU(), nn.Linear(fc, classes, bias=False)]
    return nn.Sequential(*layers)


def mlp(hidden=(300, 100), classes: int = 10) -> nn.Module:
    layers, width = [nn.Flatten()], 28 * 28
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def build(name: str) -> nn.Module:
    if name == "mlp":
        return mlp()
    if name.startswith("conv"):
        return conv_net(int(name[4:]))
    raise SystemExit(f"unknown model {name!r}")


def bench(name: str, batch: int, warmup: int, repeats: int) -> dict:
    torch.manual_seed(1)
    model = build(name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return {"framework": "pytorch", "torch": torch.__version__, "model": name, "batch_size": batch,
            "threads": torch.get_num_threads(), "ms_per_step_median": statistics.median(times),
            "ms_per_step_min": min(times), "repeats": repeats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="mlp, conv2, conv4, conv6, conv8 (repeatable; default conv4)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.model or ["conv4"]:
        print(json.dumps(bench(name, args.batch_size, args.warmup, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
