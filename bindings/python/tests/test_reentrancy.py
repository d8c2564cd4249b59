"""Calling the engine from inside its own callbacks, or from a second thread while it trains:
mutating calls are refused with SW_ERR_STATE naming the running call (never a deadlock or a
crash, and the running call finishes normally); read-only calls work."""
import threading

import numpy as np
import pytest


def _engine(sw, **kw):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 1, 4, 4)).astype(np.float32)
    y = (x[:, 0, 0, 0] > 0).astype(np.int32)
    e = sw.Engine({"model": {"name": "mlp", "hidden": [16]}, "epochs": 2, "batch_size": 32, "threads": 1, **kw})
    e.set_data(x, y, x[:64], y[:64])
    return e


def test_progress_callback_calling_back_into_its_engine(sw):
    with _engine(sw, policy="rigl", density=0.5) as e:
        refused, read = [], []

        def callback(event):
            if event["event"] != "step" or event["epoch"] != 1 or event["step"] != 3:
                return True
            for call in (lambda: e.step(), lambda: e.fit(1, progress=False), lambda: e.evaluate(),
                         lambda: e.set("optimizer.lr", 0.5), lambda: e.set_policy("dnw", density=0.5),
                         lambda: e.save("/nonexistent/never.st")):
                try:
                    call()
                    refused.append(None)
                except sw.Error as err:
                    refused.append((err.status, str(err)))
            read.append((e.progress()["steps"], e.get(e.parameter_names()[0]).shape, len(e.density())))
            return True

        results = e.fit(progress=False, callback=callback)
        assert len(results) == 2 and e.progress()["steps"] == 16   # the running fit finished normally
        assert all(r is not None and r[0] == "SW_ERR_STATE" and "sw_engine_train_to_end is running" in r[1] for r in refused), refused
        assert read == [(3, (16, 16), 2)]


def test_a_python_policy_calling_back_into_the_engine_that_runs_it(sw):
    holder, seen = {}, []

    class Meddler(sw.MaskPolicy):
        name = "meddler-reentrancy-test"

        def compute_mask(self, layer, step):
            if step.step == 2:
                try:
                    holder["engine"].step()
                    seen.append("accepted")
                except sw.Error as err:
                    seen.append(err.status)
            return np.ones(layer.shape, dtype=np.float32)

    sw.register_policy(Meddler)
    with _engine(sw, policy="meddler-reentrancy-test", density=1.0) as e:
        holder["engine"] = e
        e.fit(progress=False)
    assert seen and set(seen) == {"SW_ERR_STATE"}, seen


def test_a_second_thread_is_refused_while_one_trains(sw):
    with _engine(sw, epochs=400) as e:
        started, outcome = threading.Event(), []

        def callback(event):
            started.set()
            return True

        def other():
            started.wait(30)
            try:
                e.step()
                outcome.append("accepted")
            except sw.Error as err:
                outcome.append(err.status)
            e.request_stop()      # allowed meanwhile: ends the long run

        t = threading.Thread(target=other)
        t.start()
        with pytest.raises(sw.Error) as info:
            e.fit(progress=False, callback=callback)
        t.join()
        assert info.value.status == "SW_STOPPED"
        assert outcome == ["SW_ERR_STATE"]
