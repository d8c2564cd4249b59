"""Preemption through the C ABI: `Engine.request_stop()` from another thread stops `fit()` after
a whole step with SW_STOPPED; the checkpoint saved then resumes bit-identically in a new engine."""
import threading

import numpy as np
import pytest


def _data(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(512, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4, :4].sum(axis=(1, 2)) > 0).astype(np.int32)
    return x, y


def test_python_request_stop_from_another_thread_then_resume(sw, tmp_path):
    cfg = {"model": {"name": "mlp", "hidden": [32]}, "policy": "rigl", "density": 0.3, "epochs": 150, "batch_size": 8,
           "threads": 1, "policy_options": {"delta_t": 5}}
    x, y = _data(0)
    path = tmp_path / "stopped.st"
    with sw.Engine(cfg) as e:
        e.set_data(x, y, x[:64], y[:64])
        e.step()   # builds the network; request_stop needs it
        stopper = threading.Timer(0.05, e.request_stop)
        stopper.start()
        with pytest.raises(sw.Error) as info:
            e.fit(progress=False)
        assert info.value.status == "SW_STOPPED", info.value
        stopper.join()
        e.save(str(path))
    # The uninterrupted reference makes the same first step() (request_stop needs a built network).
    with sw.Engine(cfg) as e:
        e.set_data(x, y, x[:64], y[:64])
        e.step()
        e.fit(progress=False)
        reference = {n: e.get(n) for n in e.parameter_names()}
        reference_eval = e.evaluate()
    with sw.Engine(cfg) as e:
        e.set_data(x, y, x[:64], y[:64])
        e.load(str(path))
        e.fit(progress=False)
        for n in reference:
            assert np.array_equal(e.get(n), reference[n]), n
        assert e.evaluate() == reference_eval
