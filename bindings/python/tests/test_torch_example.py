"""The PyTorch example runs to completion (skipped when torch is not installed)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import HERE

EXAMPLE = HERE.parent / "examples" / "torch_sparse_mlp.py"


@pytest.mark.parametrize("policy,density,floor", [("rigl", 0.1, 0.7), ("edge-popup", 0.5, 0.7)])
def test_torch_example(policy, density, floor):
    pytest.importorskip("torch", reason="torch not installed (pip install 'torch==2.13.0+cpu' from /opt/wheels)")
    p = subprocess.run([sys.executable, str(EXAMPLE), "--policy", policy, "--density", str(density), "--train-limit", "12000"],
                       capture_output=True, text=True, timeout=600, env=dict(os.environ, SPARSEWIRE_QUIET="1"))
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["policy"] == policy and r["test_accuracy"] > floor, r
