"""CI's short soak (tests_c/soak.py; the long run is 50,000 steps): training steps through the C
ABI rotating a built-in, a plugin and a host-callback policy, with a checkpoint save and a policy
switch every period; resident memory flat after the warm-up (growth ≤ 5 MiB) and no fd leaked."""
import json
import os
import subprocess
import sys

import pytest

from test_cli import FMNIST, ROOT


@pytest.mark.skipif(not FMNIST.exists(), reason="dataset-fashion-mnist not installed")
def test_short_soak_keeps_memory_and_descriptors_flat():
    p = subprocess.run([sys.executable, str(ROOT / "tests_c" / "soak.py"), "--steps", "3000", "--period", "300", "--warmup", "3", "--json"],
                       capture_output=True, text=True, timeout=900, env=dict(os.environ))
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["steps"] == 3000 and r["periods"] == 10
    assert r["rss_growth_mib"] <= r["bound_mib"] == 5.0, r
    assert r["fds_after"] <= r["fds_before"], r
