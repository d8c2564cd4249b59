"""Sweeps on local Ray (and the process-pool fallback): results complete and sane, failures
retried once or reported without losing the other trials."""
import json
import os
import pathlib
import sys

import pytest

from conftest import fc_config

BASE = fc_config(data__train_limit=25600, data__test_limit=2000)  # 200 steps per trial


def test_tiny_sweep_on_local_ray(tmp_path):
    pytest.importorskip("ray", reason="ray not installed (pip install ray)")
    from sparsewire.sweep import sweep
    logs = []
    rows = sweep(BASE, {"policy": ["rigl", "dnw"], "density": [0.1, 0.3], "seed": [0]}, out=tmp_path,
                 backend="ray", num_cpus=2, log=logs.append)
    assert any("Ray" in m for m in logs)
    assert [(r["policy"], r["density"]) for r in rows] == [("rigl", 0.1), ("rigl", 0.3), ("dnw", 0.1), ("dnw", 0.3)]
    for r in rows:
        assert r["status"] == "ok", r
        assert 0.6 < r["test_accuracy"] <= 1 and r["epochs"] == 1
        # kept = the weight matrices at the density (rounded per layer) + all 410 biases
        assert abs(r["params_kept"] - (r["density"] * 266200 + 410)) < 3, r
    assert len({r["pid"] for r in rows}) >= 1
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [s["test_accuracy"] for s in saved] == [r["test_accuracy"] for r in rows]
    assert (tmp_path / "results.csv").read_text().startswith("trial,policy,density,seed,status")
    if pytest.importorskip("matplotlib", reason="no matplotlib"):
        assert (tmp_path / "accuracy_vs_density.png").stat().st_size > 1000


# Fault injection: module-level so both backends can pickle them.
def crash_once_then_train(base, params, threads):
    marker = pathlib.Path(params["marker"])
    attempts = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(attempts + 1))
    if params["mode"] == "crash-once" and attempts == 0:
        os._exit(13)  # the worker process dies mid-trial
    if params["mode"] == "always-raise":
        raise RuntimeError(f"trial refuses to run (attempt {attempts + 1})")
    from sparsewire.sweep import run_trial
    row = run_trial(base, {"density": 0.2, "policy": "dnw"}, threads)
    row["attempts"] = attempts + 1
    return row


def fault_sweep(tmp_path, backend):
    """Three one-trial sweeps: a good trial, one whose worker dies on the first attempt, one that
    always raises. Each gets its own attempt counter file."""
    from sparsewire.sweep import sweep
    rows = []
    for mode in ("ok", "crash-once", "always-raise"):
        grid = {"mode": [mode], "marker": [str(tmp_path / f"{mode}.count")]}
        rows += sweep(fc_config(data__train_limit=3000), grid, backend=backend, num_cpus=2,
                      trial_fn=crash_once_then_train, log=lambda m: None)
    return rows


def test_ray_retries_a_dead_worker_and_reports_a_failing_trial(tmp_path):
    ray = pytest.importorskip("ray", reason="ray not installed (pip install ray)")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ok, crash, fail = fault_sweep(tmp_path, "ray")
    assert ok["status"] == "ok" and ok["attempts"] == 1
    assert crash["status"] == "ok" and crash["attempts"] == 2, crash  # retried once after the worker died
    assert fail["status"] == "failed" and "trial refuses to run (attempt 2)" in fail["error"], fail
    assert int((tmp_path / "always-raise.count").read_text()) == 2  # tried, retried once, then reported


def test_local_pool_retries_and_reports(tmp_path):
    ok, crash, fail = fault_sweep(tmp_path, "local")
    assert ok["status"] == "ok"
    assert crash["status"] == "ok" and crash["attempts"] == 2, crash
    assert fail["status"] == "failed" and "trial refuses to run" in fail["error"], fail


def test_without_ray_falls_back_and_says_so(tmp_path, monkeypatch):
    from sparsewire.sweep import sweep
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    logs = []
    rows = sweep(fc_config(data__train_limit=2000), {"policy": ["dnw"], "density": [0.5]}, num_cpus=1, log=logs.append)
    assert any("Ray is not installed" in m and "local process pool" in m for m in logs), logs
    assert rows[0]["status"] == "ok"


def test_bad_grids_are_refused(sw):
    from sparsewire.sweep import expand, sweep
    with pytest.raises(sw.Error, match="non-empty list"):
        expand({"density": 0.1})
    with pytest.raises(sw.Error, match="non-empty mapping"):
        expand({})
    rows = sweep(fc_config(data__train_limit=1000), {"policy": ["no-such-policy"]}, backend="local", num_cpus=1,
                 log=lambda m: None)
    assert rows[0]["status"] == "failed" and "unknown policy 'no-such-policy'" in rows[0]["error"]
