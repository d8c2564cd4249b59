"""The wheel: `pip wheel bindings/python` holds the library, the CLI, the plugins and the Swift
runtime; installed into a fresh venv and run outside the checkout with the toolchain out of
sight, it trains from Python and from the `sparsewire` console script and loads the plugins."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from test_cli import FMNIST, ROOT

pytestmark = pytest.mark.skipif(shutil.which("patchelf") is None, reason="patchelf not installed (scripts/setup.sh installs it)")

SCRIPT = """
import json, subprocess, sys
import sparsewire
from sparsewire._cli import plugin_path
assert "site-packages" in sparsewire.__file__, sparsewire.__file__
lib = sparsewire.library_path()
ldd = subprocess.run(["ldd", lib], capture_output=True, text=True).stdout
cfg = {"model": {"name": "mlp", "hidden": [300, 100]}, "data": {"dataset": "fashion-mnist", "train_limit": 4000,
       "test_limit": 1000}, "epochs": 1, "seed": 0}
out = {"lib": lib, "ldd": ldd, "version": sparsewire.version(), "dist_version": sparsewire.__version__, "results": {}}
for policy in ["rigl", "momentum-regrow", "gmp"]:
    if policy != "rigl":
        sparsewire.load_plugin(plugin_path(policy.replace("-", "_")))
    with sparsewire.Engine(cfg, policy=policy, density=0.2) as e:
        e.fit(1, progress=False)
        out["results"][policy] = e.evaluate()["accuracy"]
print(json.dumps(out))
"""


@pytest.mark.skipif(not FMNIST.exists(), reason="dataset-fashion-mnist not installed")
def test_the_wheel_installs_and_runs_without_the_toolchain(tmp_path):
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(ROOT / "bindings" / "python")], check=True, cwd=tmp_path)
    wheels = list(dist.glob("sparsewire-*-py3-none-linux_x86_64.whl"))
    assert len(wheels) == 1, list(dist.iterdir())
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py, cli = venv / "bin" / "python", venv / "bin" / "sparsewire"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheels[0])], check=True)
    # Outside the checkout, no toolchain on PATH or in LD_LIBRARY_PATH, no checkout on PYTHONPATH.
    env = {"HOME": str(work), "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "SPARSEWIRE_QUIET": "1"}
    if os.environ.get("OPENBLAS_CORETYPE"):
        env["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    p = subprocess.run([str(py), "-c", SCRIPT], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert str(venv) in r["lib"]
    assert "/opt/swift" not in r["ldd"] and "not found" not in r["ldd"], r["ldd"]
    assert all(acc > 0.6 for acc in r["results"].values()), r["results"]
    v = subprocess.run([str(cli), "--version"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert v.returncode == 0, v.stderr
    assert r["version"] == r["dist_version"] == v.stdout.strip() == wheels[0].name.split("-")[1]
    t = subprocess.run([str(cli), "train", "--set", "model.name=mlp", "--policy", "rigl", "--density", "0.1",
                        "--set", "data.train_limit=4000", "--set", "data.test_limit=1000", "--epochs", "1", "-q"],
                       cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert t.returncode == 0, t.stderr[-3000:]
    assert json.loads(t.stdout.strip().splitlines()[-1])["test_accuracy"] > 0.6
