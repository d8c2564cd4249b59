"""Exact resume across processes, and NaN handling, from the command line."""
import json

import pytest

from test_cli import run


def tensor_bytes(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


@pytest.mark.parametrize("policy,extra", [
    ("rigl", ["--density", "0.2", "--set", "policy_options.delta_t=10"]),   # topology updates + momentum reset
    ("supermask", ["--lr", "50", "--set", "model.init=signed_constant"]),    # sampled masks: the policy's RNG
    ("targeted-dropout", ["--density", "0.3"]),
])
def test_resume_in_a_fresh_process_is_bit_identical(tmp_path, policy, extra):
    base = ["train", "-c", "configs/fmnist-fc.yaml", "--policy", policy, "--set", "data.train_limit=2000",
            "--set", "data.test_limit=500", "--threads", "1", "--epochs", "3", "-q", *extra]
    full, half, resumed = tmp_path / "full.st", tmp_path / "half.st", tmp_path / "resumed.st"
    a = json.loads(run(*base, "--save-checkpoint", str(full), check=True).stdout)
    run(*base, "--stop-after", "1", "--save-checkpoint", str(half), check=True)
    b = json.loads(run(*base, "--resume", str(half), "--save-checkpoint", str(resumed), check=True).stdout)
    assert (a["test_accuracy"], a["test_loss"], a["train_loss"]) == (b["test_accuracy"], b["test_loss"], b["train_loss"])
    ha, da = tensor_bytes(full)
    hb, db = tensor_bytes(resumed)
    assert da == db, "weights, masks, scores and optimizer state differ after resume"
    assert ha["__metadata__"]["rng"] == hb["__metadata__"]["rng"]
    assert ha["__metadata__"]["global_step"] == hb["__metadata__"]["global_step"] == str(3 * 16)


def test_nan_stops_with_step_and_parameter_or_skips(tmp_path):
    p = run("train", "-c", "configs/fmnist-fc.yaml", "--lr", "1e25", "--set", "optimizer.momentum=0",
            "--set", "data.train_limit=1000", "--epochs", "1", "-q")
    assert p.returncode == 2 and "numeric error" in p.stderr and "at step" in p.stderr, p.stderr
    assert "on_nan: skip" in p.stderr
    p = run("train", "-c", "configs/fmnist-fc.yaml", "--set", "on_nan=maybe")
    assert p.returncode == 2 and "on_nan" in p.stderr and "error, skip" in p.stderr, p.stderr
