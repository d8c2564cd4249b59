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


# Preemption: a trial checkpoints as it trains; a retried attempt resumes from the last checkpoint.
RESUME_BASE = fc_config(data__train_limit=12800, data__test_limit=2000, epochs=2)  # 100 steps per epoch


def die_in_epoch_two(base, params, threads, checkpoint=None, checkpoint_steps=None):
    """First attempt: the worker process dies at step 70 of epoch 2 (after the checkpoint at 50)."""
    marker = pathlib.Path(f"{checkpoint}.attempts")
    attempts = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(attempts + 1))

    def kill(event):
        if attempts == 0 and event["event"] == "step" and event["epoch"] == 2 and event["step"] == 70:
            os._exit(13)
        return True

    from sparsewire.sweep import run_trial
    row = run_trial(base, params, threads, checkpoint=checkpoint, checkpoint_steps=checkpoint_steps, callback=kill)
    row["attempts"] = attempts + 1
    return row


def _uninterrupted(params):
    from sparsewire.sweep import run_trial
    return run_trial(json.dumps(RESUME_BASE), params)


def _assert_resumed_exactly(row, params):
    assert row["status"] == "ok" and row["attempts"] == 2, row
    # 100 steps of epoch 1, then checkpoints every 25 steps: the last one before the kill at 170 is 150
    assert row["resumed_from"] == {"epochs": 1, "steps": 150}, row
    reference = _uninterrupted(params)
    for key in ("test_accuracy", "test_loss", "train_loss", "train_accuracy", "epochs", "params_kept"):
        assert row[key] == reference[key], (key, row[key], reference[key])


def test_ray_resumes_a_killed_trial_from_its_last_checkpoint(tmp_path):
    ray = pytest.importorskip("ray", reason="ray not installed (pip install ray)")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    from sparsewire.sweep import sweep
    params = {"policy": "rigl", "density": 0.1}
    rows = sweep(RESUME_BASE, {k: [v] for k, v in params.items()}, out=tmp_path, backend="ray", num_cpus=2,
                 checkpoint_steps=25, trial_fn=die_in_epoch_two, log=lambda m: None)
    _assert_resumed_exactly(rows[0], params)
    assert pathlib.Path(rows[0]["checkpoint"]).parent == tmp_path / "checkpoints"


def test_local_pool_resumes_a_killed_trial_and_a_rerun_resumes_finished_trials(tmp_path):
    from sparsewire.sweep import sweep
    params = {"policy": "set", "density": 0.2}
    grid = {k: [v] for k, v in params.items()}
    rows = sweep(RESUME_BASE, grid, out=tmp_path, backend="local", num_cpus=1, checkpoint_steps=25,
                 trial_fn=die_in_epoch_two, log=lambda m: None)
    _assert_resumed_exactly(rows[0], params)
    # The whole sweep again (as after a dead driver): the finished trial trains nothing more.
    again = sweep(RESUME_BASE, grid, out=tmp_path, backend="local", num_cpus=1, checkpoint_steps=25,
                  log=lambda m: None)[0]
    assert again["resumed_from"] == {"epochs": 2, "steps": 200}, again
    assert again["checkpoint"] == rows[0]["checkpoint"]
    for key in ("test_accuracy", "test_loss", "train_loss"):
        assert again[key] == rows[0][key], key  # the history file keeps the last epoch's train metrics
    # Another base config never picks up that checkpoint.
    other = sweep(fc_config(data__train_limit=12800, data__test_limit=2000, epochs=1), grid, out=tmp_path,
                  backend="local", num_cpus=1, log=lambda m: None)[0]
    assert other["resumed_from"] is None and other["checkpoint"] != rows[0]["checkpoint"], other


def test_trial_checkpoint_names_and_bad_checkpoint_steps(sw, tmp_path):
    from sparsewire.sweep import run_trial, sweep, trial_checkpoint
    a = trial_checkpoint(tmp_path, "base", {"density": 0.1, "seed": 0})
    assert a == trial_checkpoint(tmp_path, "base", {"seed": 0, "density": 0.1})  # order of keys does not matter
    assert a != trial_checkpoint(tmp_path, "base", {"density": 0.1, "seed": 1})
    assert a != trial_checkpoint(tmp_path, "other base", {"density": 0.1, "seed": 0})
    with pytest.raises(sw.Error, match="checkpoint_steps must be a positive integer, got 0"):
        sweep(RESUME_BASE, {"density": [0.1]}, checkpoint_steps=0, log=lambda m: None)
    with pytest.raises(sw.Error, match="checkpoint_steps must be a positive integer, got 2.5"):
        run_trial(json.dumps(RESUME_BASE), {}, checkpoint=str(tmp_path / "c.st"), checkpoint_steps=2.5)
    # No out and no checkpoints: nothing is written, the row has no checkpoint.
    row = sweep(fc_config(data__train_limit=1000), {"policy": ["dnw"], "density": [0.5]}, backend="local", num_cpus=1,
                log=lambda m: None)[0]
    assert "checkpoint" not in row and row["status"] == "ok"
