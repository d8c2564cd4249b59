#!/usr/bin/env python3
"""PyTorch CPU reference for SparseWire's training-step timings.

Builds the same architectures as SparseWire (Conv2/4/6/8 of edge-popup without bias, the
MLP 300-100, RandWire from its printed wiring, the CIFAR-style ResNet-18 and MobileNetV1 with
batch norm as `model.norm: affine` builds them), times forward+backward+SGD-momentum steps on random 1x28x28 data, and prints one
JSON line per model with the median ms/step after warm-up.

    python3 benchmarks/torch_reference.py --model conv4 --batch-size 128 --threads 2
"""
import argparse
import json
import resource
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


class BasicBlock(nn.Module):
    """Post-activation basic block, projection (1×1 conv + BN) where the shape changes (SparseWire's Residual)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet18(width: float = 1.0, classes: int = 10) -> nn.Module:
    """CIFAR-style ResNet-18 (3×3 stem, no max-pool), as Models.resNet(depth: 18)."""
    def scaled(c):
        return max(1, round(c * width))
    ch = scaled(64)
    layers = [nn.Conv2d(1, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU()]
    for s, c in enumerate((64, 128, 256, 512)):
        for b in range(2):
            layers.append(BasicBlock(ch, scaled(c), 2 if s > 0 and b == 0 else 1))
            ch = scaled(c)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, classes))


def mobilenetv1(width: float = 1.0, classes: int = 10) -> nn.Module:
    """MobileNetV1 with the CIFAR-style stride-1 stem, as Models.mobileNetV1."""
    def scaled(c):
        return max(1, round(c * width))
    ch = scaled(32)
    layers = [nn.Conv2d(1, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU()]
    for c, stride in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
                      (512, 1), (1024, 2), (1024, 1)):
        layers += [nn.Conv2d(ch, ch, 3, stride, 1, groups=ch, bias=False), nn.BatchNorm2d(ch), nn.ReLU(),
                   nn.Conv2d(ch, scaled(c), 1, bias=False), nn.BatchNorm2d(scaled(c)), nn.ReLU()]
        ch = scaled(c)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, classes))


class RandWireNode(nn.Module):
    def __init__(self, cin: int, cout: int, preds: list):
        super().__init__()
        self.preds = preds
        self.edge_weights = nn.Parameter(torch.zeros(len(preds))) if len(preds) > 1 else None
        self.dw = nn.Conv2d(cin, cin, 3, stride=1 if preds else 2, padding=1, groups=cin, bias=False)
        self.pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)


class RandWireStage(nn.Module):
    """A RandWire stage from SparseWire's wiring: node v sums σ(w)·out[u] over its predecessors
    u (or takes the stage input when it has none), then ReLU → depthwise 3×3 → 1×1 → BN; the
    stage output is the mean of the nodes without successors."""

    def __init__(self, cin: int, channels: int, preds: list):
        super().__init__()
        self.nodes = nn.ModuleList(RandWireNode(channels if p else cin, channels, p) for p in preds)
        succ = {u for p in preds for u in p}
        self.outputs = [v for v in range(len(preds)) if v not in succ]

    def forward(self, x):
        outs = []
        for node in self.nodes:
            if not node.preds:
                h = x
            elif node.edge_weights is None:
                h = outs[node.preds[0]]
            else:
                s = torch.sigmoid(node.edge_weights)
                h = sum(s[i] * outs[u] for i, u in enumerate(node.preds))
            outs.append(node.bn(node.pw(node.dw(torch.relu(h)))))
        return sum(outs[v] for v in self.outputs) / len(self.outputs)


def randwire(spec: dict, classes: int = 10) -> nn.Module:
    c = spec["channels"]
    layers = [nn.Conv2d(1, c // 2, 3, padding=1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(),
              nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c)]
    ch = c
    for st in spec["stages"]:
        layers.append(RandWireStage(st["in"], st["channels"], st["preds"]))
        ch = st["channels"]
    layers += [nn.ReLU(), nn.Conv2d(ch, spec["head"], 1, bias=False), nn.BatchNorm2d(spec["head"]), nn.ReLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(spec["head"], classes)]
    return nn.Sequential(*layers)


RANDWIRE_SPEC = None


def build(name: str) -> nn.Module:
    if name == "randwire":
        if RANDWIRE_SPEC is None:
            raise SystemExit("randwire needs --randwire-json (the 'randwire' object of `sparsewire bench`'s output)")
        return randwire(RANDWIRE_SPEC)
    if name == "mlp":
        return mlp()
    if name == "resnet18":
        return resnet18()
    if name == "mobilenetv1":
        return mobilenetv1()
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
            "ms_per_step_min": min(times), "repeats": repeats,
            "params": sum(p.numel() for p in model.parameters()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="mlp, conv2, conv4, conv6, conv8, randwire, resnet18, mobilenetv1 (repeatable; default conv4)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--randwire-json", help="file with the wiring that `sparsewire bench` printed (its 'randwire' object)")
    args = ap.parse_args()
    global RANDWIRE_SPEC
    if args.randwire_json:
        with open(args.randwire_json) as f:
            RANDWIRE_SPEC = json.load(f)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    for name in args.model or ["conv4"]:
        print(json.dumps(bench(name, args.batch_size, args.warmup, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
