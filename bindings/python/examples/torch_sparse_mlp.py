#!/usr/bin/env python3
"""Train a PyTorch MLP on Fashion-MNIST whose connectivity is chosen by a SparseWire policy.

PyTorch owns the model, the optimizer and the loop; SparseWire's mask-only mode
(sparsewire.Policy) computes the masks on the same memory (no copies):

    pip install "torch==2.13.0+cpu"          # CPU wheel (see the README)
    python3 bindings/python/examples/torch_sparse_mlp.py --policy rigl --density 0.1
    python3 bindings/python/examples/torch_sparse_mlp.py --policy edge-popup --density 0.5

rigl: weights train where the mask is 1; every delta_t steps RigL drops the smallest weights
and regrows where |dL/dŵ| is largest (it asks for the dense gradient on those steps, and the
optimizer skips them). edge-popup: weights stay at their signed-constant initialisation;
scores learn through the straight-through estimator dL/ds = dL/dŵ ⊙ w ⊙ sign(s).
"""
import argparse
import pathlib
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import sparsewire  # noqa: E402

from fmnist import load  # noqa: E402  (examples/fmnist.py)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default="rigl", choices=["rigl", "set", "dnw", "edge-popup"])
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=60000)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    (x, xt), (y, yt) = load(args.train_limit)
    sizes = [784, 300, 100, 10]
    frozen = args.policy == "edge-popup"
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        w = torch.empty(fan_out, fan_in)
        if frozen:  # signed constant: ±sqrt(2 / fan_in)
            w = torch.sign(torch.randn(fan_out, fan_in)) * (2 / fan_in) ** 0.5
        else:
            torch.nn.init.kaiming_normal_(w)
        weights.append(w.requires_grad_(not frozen))
        biases.append(torch.zeros(fan_out, requires_grad=not frozen))
    batch = 128
    steps_per_epoch = (len(x) + batch - 1) // batch
    total = steps_per_epoch * args.epochs
    options = {"delta_t": 50} if args.policy in ("rigl", "set") else {}
    policy = sparsewire.Policy(args.policy, density=args.density, seed=args.seed,
                               layers=[(f"fc{i + 1}.weight", tuple(w.shape)) for i, w in enumerate(weights)], **options)
    info = policy.info
    masks = [torch.from_numpy(m) for m in policy.masks]  # the policy writes these arrays in place
    scores = [torch.zeros_like(w) for w in weights] if info["uses_scores"] else None
    if scores is not None:
        params = scores
        for s in scores:
            s.requires_grad_(True)
    else:
        params = weights + biases
    lr = args.lr or (0.1 if frozen else 0.05)
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=0 if frozen else 5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    print(f"policy {args.policy} (routing {info['routing']}), density {args.density}, {total} steps", file=sys.stderr)

    def forward(inputs, eff):
        h = inputs
        for i, (w, b) in enumerate(zip(eff, biases)):
            h = torch.nn.functional.linear(h, w, b)
            if i < len(eff) - 1:
                h = torch.relu(h)
        return h

    step, start = 0, time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(x))
        for j in range(steps_per_epoch):
            idx_ = order[j * batch:(j + 1) * batch]
            with torch.no_grad():  # the policy reads (and may rewrite) weights and scores in place
                policy.before_forward(step, total, [w.data for w in weights],
                                      scores=[s.data for s in scores] if scores is not None else None)
            if frozen:  # ŵ is a leaf: its grad is dL/dŵ, passed on to the scores below
                eff = [(w.detach() * m).requires_grad_(True) for w, m in zip(weights, masks)]
            else:
                eff = [w * m for w, m in zip(weights, masks)]
                for e in eff:
                    e.retain_grad()  # dL/dŵ, what RigL ranks regrowth by
            loss = torch.nn.functional.cross_entropy(forward(x[idx_], eff), y[idx_])
            opt.zero_grad()
            loss.backward()
            if scores is not None:  # straight-through to the scores: dL/ds = dL/dŵ ⊙ w (⊙ sign(s))
                for s, w, e in zip(scores, weights, eff):
                    g = e.grad * w
                    s.grad = g * torch.sign(s.detach()) if info["routing"] == "abs_scores" else g
            skip = False
            if policy.needs_gradient(step, total):
                with torch.no_grad():
                    skip = policy.after_backward(step, total, [w.data for w in weights], grads=[e.grad for e in eff])
            if not skip:
                opt.step()
            sched.step()
            step += 1
        with torch.no_grad():
            policy.evaluation_masks([w.data for w in weights], scores=[s.data for s in scores] if scores is not None else None)
            eff = [w * m for w, m in zip(weights, masks)]
            acc = (forward(xt, eff).argmax(1) == yt).float().mean().item()
        kept = [int(m.sum()) for m in masks]
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {acc:.4f}, kept {kept} "
              f"of {[w.numel() for w in weights]}, {time.time() - start:.1f} s", file=sys.stderr)
    print(f'{{"policy": "{args.policy}", "density": {args.density}, "test_accuracy": {acc:.4f}, "kept": {sum(kept)}}}')


if __name__ == "__main__":
    main()
