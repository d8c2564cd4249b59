#!/usr/bin/env python3
"""A small ResNet on Fashion-MNIST in plain PyTorch; SparseWire chooses its connections.

The dense script plus the lines marked `# sparsewire`: an import, one `sparsify` call, and for
a plugin a `load_plugin` (the Python policy lives in my_policy.py and is passed as a class).

    python3 bindings/python/examples/resnet_fmnist.py --policy dense
    python3 bindings/python/examples/resnet_fmnist.py --policy rigl --density 0.1
    python3 bindings/python/examples/resnet_fmnist.py --policy edge-popup --density 0.5
    python3 bindings/python/examples/resnet_fmnist.py --policy dnw --density 0.1
    python3 bindings/python/examples/resnet_fmnist.py --policy momentum-regrow --density 0.1 --plugin .build/release/libsw_momentum_regrow.so
    python3 bindings/python/examples/resnet_fmnist.py --policy python --density 0.1

Prints one JSON line (policy, density, seed, test accuracy, kept weights, seconds).
"""
import argparse
import json
import pathlib
import sys
import time

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import sparsewire.torch  # noqa: E402  # sparsewire

from fmnist import load  # noqa: E402  (examples/fmnist.py)


class Block(nn.Module):
    """conv3×3 → BN → ReLU → conv3×3 → BN, plus the identity (or a 1×1 projection)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                      if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.short(x))


class ResNet(nn.Module):
    """A CIFAR-style ResNet-8 for 28×28 inputs: 3×3 stem, stages of 16/32/64 channels."""

    def __init__(self, width=16, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.stages = nn.Sequential(Block(width, width, 1), Block(width, 2 * width, 2), Block(2 * width, 4 * width, 2))
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x):
        return self.fc(self.stages(self.stem(x)).mean((2, 3)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default="rigl", help="dense, a SparseWire policy name, or 'python' (my_policy.py)")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--plugin", default=None, help="a plugin library to load first")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train-limit", type=int, default=10000)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    (x, xt), (y, yt) = load(args.train_limit, images=True)
    model = ResNet()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    batch = 128
    steps = (len(x) + batch - 1) // batch
    total = steps * args.epochs
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    if args.plugin:
        sparsewire.load_plugin(args.plugin)  # sparsewire
    if args.policy != "dense":
        from my_policy import MagnitudeRegrow
        policy = MagnitudeRegrow if args.policy == "python" else args.policy
        sparsifier = sparsewire.torch.sparsify(model, opt, policy, density=args.density, total_steps=total, seed=args.seed)  # sparsewire
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x))
        for j in range(steps):
            i = order[j * batch:(j + 1) * batch]
            loss = nn.functional.cross_entropy(model(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, {time.time() - start:.0f} s", file=sys.stderr)
    model.eval()
    with torch.no_grad():
        acc = sum(int((model(xt[k:k + 1000]).argmax(1) == yt[k:k + 1000]).sum()) for k in range(0, len(xt), 1000)) / len(xt)
    print(f"test accuracy {acc:.4f}", file=sys.stderr)
    kept = None
    if args.policy != "dense":
        kept = [int(m.sum()) for m in sparsifier.eval_masks]
    print(json.dumps({"policy": args.policy, "density": args.density if args.policy != "dense" else 1.0, "seed": args.seed,
                      "test_accuracy": round(acc, 4), "kept": sum(kept) if kept else None,
                      "of": sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))),
                      "seconds": round(time.time() - start, 1)}))


if __name__ == "__main__":
    main()
