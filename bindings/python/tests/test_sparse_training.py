"""Sparse training from Python (issue 19): `training.kernels` reaches the engine through the
config, trains the same as the dense path up to float summation order, and bad values are
refused naming the key."""
import math

import pytest

import sparsewire as sw


def _losses(kernels, policy):
    cfg = {"model": {"name": "mlp", "hidden": [128, 64]}, "policy": policy, "density": 0.1, "batch_size": 64, "seed": 3,
           "optimizer": {"lr": 0.05, "momentum": 0.9}, "training": {"kernels": kernels},
           "data": {"dataset": "fashion-mnist", "train_limit": 640, "test_limit": 128}}
    with sw.Engine(cfg) as e:
        return [e.step()["loss"] for _ in range(6)], e.evaluate()["accuracy"]


@pytest.mark.parametrize("policy", ["random-static", "rigl", "dnw"])
def test_sparse_kernels_train_like_the_dense_path(policy):
    dense, acc_dense = _losses("dense", policy)
    sparse, acc_sparse = _losses("sparse", policy)
    for a, b in zip(dense, sparse):
        assert math.isfinite(b) and abs(a - b) <= 2e-4 * (1 + abs(a)), (dense, sparse)
    assert abs(acc_dense - acc_sparse) <= 1 / 128 + 1e-9  # at most one test image apart


def test_bad_training_kernels_value_names_the_key():
    with pytest.raises(sw.ConfigError) as err:
        sw.Engine({"training": {"kernels": "fastest"}})
    assert "training.kernels" in str(err.value) and "fastest" in str(err.value)
