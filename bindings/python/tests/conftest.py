import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(HERE.parent))  # the package from this checkout, installed or not
os.environ.setdefault("SPARSEWIRE_QUIET", "1")

REL = ROOT / ".build" / "release"


@pytest.fixture(scope="session")
def sw():
    import sparsewire
    return sparsewire


def fc_config(**kw):
    cfg = {"model": {"name": "mlp", "hidden": [300, 100]}, "data": {"dataset": "fashion-mnist"},
           "optimizer": {"lr": 0.05}, "epochs": 1, "batch_size": 128, "seed": 0}
    for k, v in kw.items():
        node = cfg
        parts = k.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return cfg
