"""Preemption: SIGTERM (or SIGINT) during `sparsewire train` finishes the step, writes a
resumable checkpoint and exits 75; `--resume` then ends bit-identical to an uninterrupted run.
(The C ABI / Python path: bindings/python/tests/test_request_stop.py.)"""
import json
import os
import random
import signal
import subprocess
import time

import pytest

from test_cli import BIN, FMNIST, ROOT, run
from test_reliability import tensor_bytes

BASE = ["train", "-c", "configs/fmnist-fc.yaml", "--policy", "rigl", "--density", "0.2", "--set", "policy_options.delta_t=50",
        "--set", "data.train_limit=20000", "--set", "data.test_limit=1000", "--threads", "1", "--epochs", "3", "-q"]


def started(p):
    """Reads stderr (unbuffered, so `communicate` loses nothing) up to the run's "training …" line,
    printed after any OpenBLAS re-exec and after the signal handlers are in place; returns it."""
    seen = b""
    while True:
        byte = os.read(p.stderr.fileno(), 1)
        if not byte:
            return seen.decode()
        seen += byte
        if byte == b"\n" and seen.rsplit(b"\n", 2)[-2].startswith(b"training "):
            return seen.decode()


@pytest.mark.skipif(not FMNIST.exists(), reason="dataset-fashion-mnist not installed")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_at_a_random_step_then_resume_is_bit_identical(tmp_path, sig):
    full, stop, resumed = tmp_path / "full.st", tmp_path / "stop.st", tmp_path / "resumed.st"
    a = json.loads(run(*BASE, "--save-checkpoint", str(full), check=True).stdout)
    rng = random.Random(int(sig))
    for attempt in range(6):
        env = dict(os.environ)
        p = subprocess.Popen([str(BIN), *BASE[:-1], "--checkpoint-on-stop", str(stop)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = started(p)   # the handlers are in place once the run has printed its first line
        time.sleep(rng.uniform(0.0, 1.2) / (attempt + 1))
        p.send_signal(sig)
        out, err = p.communicate(timeout=300)
        err = first + err
        if p.returncode == 75:
            break
        assert p.returncode == 0, err   # finished before the signal: try again, earlier
    else:
        pytest.fail("the run always finished before the signal")
    assert "checkpoint written to" in err and f"--resume {stop}" in err, err
    b = json.loads(run(*BASE, "--resume", str(stop), "--save-checkpoint", str(resumed), check=True).stdout)
    assert (a["test_accuracy"], a["test_loss"], a["train_loss"]) == (b["test_accuracy"], b["test_loss"], b["train_loss"])
    ha, da = tensor_bytes(full)
    hb, db = tensor_bytes(resumed)
    assert {k: v for k, v in ha.items() if k != "__metadata__"} == {k: v for k, v in hb.items() if k != "__metadata__"}
    assert da == db, "weights, masks, optimizer state differ"


def test_a_signal_without_a_checkpoint_path_still_stops_cleanly(tmp_path):
    p = subprocess.Popen([str(BIN), *BASE[:-1], "--epochs", "50"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 75, err
    assert "progress is not saved" in err, err
