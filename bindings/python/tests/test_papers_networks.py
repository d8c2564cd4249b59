"""The papers' networks (ResNets, Wide ResNet, MobileNetV1, MobileNetV1 with DNW graphs) from
Python: a couple of steps each, evaluation, prediction, and the learned masks read back."""
import math

import numpy as np
import pytest

import sparsewire as sw

MODELS = [
    ({"name": "resnet20", "width": 0.25, "norm": "affine"}, "rigl", 0.2),
    ({"name": "resnet18", "width": 0.125, "norm": "nonaffine"}, "edge-popup", 0.5),
    ({"name": "wrn", "depth": 10, "width": 1, "norm": "affine"}, "set", 0.3),
    ({"name": "mobilenetv1", "width": 0.25, "norm": "affine"}, "dense", 1.0),
    ({"name": "mobilenetv1-dnw", "width": 0.25, "norm": "affine"}, "dnw", 1.0),
]


@pytest.mark.parametrize("model,policy,density", MODELS, ids=[m[0]["name"] for m in MODELS])
def test_network_trains_evaluates_and_predicts(model, policy, density):
    cfg = {"model": model, "policy": policy, "batch_size": 64, "seed": 1, "optimizer": {"lr": 0.05},
           "data": {"dataset": "fashion-mnist", "train_limit": 256, "test_limit": 128}}
    if policy not in ("dense", "dnw"):
        cfg["density"] = density
    with sw.Engine(cfg) as e:
        losses = [e.step()["loss"] for _ in range(2)]
        assert all(math.isfinite(l) and l > 0 for l in losses)
        ev = e.evaluate()
        assert 0 <= ev["accuracy"] <= 1
        logits = np.asarray(e.predict(np.zeros((3, 1, 28, 28), dtype=np.float32)))
        assert logits.shape == (3, 10) and np.isfinite(logits).all()
        counts = e.parameter_counts()
        if policy == "dense":
            assert counts["kept"] == counts["total"]
        else:
            assert 0 < counts["kept"] < counts["total"]
