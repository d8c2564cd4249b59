"""The Python binding trains real networks on Fashion-MNIST through libsparsewire.so."""
import numpy as np
import pytest

from conftest import REL, fc_config

EXACT = {"dnw", "dnw-no-update", "edge-popup", "rigl", "set", "snfs", "random-static", "targeted-dropout", "l1-anneal"}


def test_fc_one_epoch_over_80_percent(sw):
    with sw.Engine(fc_config()) as e:
        events = []
        results = e.fit(1, progress=False, callback=events.append)
        assert len(results) == 1 and results[0]["test_accuracy"] >= 0.80, results
        assert e.evaluate()["accuracy"] == pytest.approx(results[0]["test_accuracy"])
        steps = [ev for ev in events if ev["event"] == "step"]
        assert len(steps) == 469 and steps[-1]["step"] == 469
        assert e.progress() == {"epochs": 1, "steps": 469}
        names = e.parameter_names()
        assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
        params = e.parameters()
        assert params["fc1.weight"].shape == (300, 784) and params["fc3.bias"].dtype == np.float32


@pytest.mark.parametrize("policy", ["dense", "dnw", "edge-popup", "supermask", "rigl", "set", "snfs", "random-static",
                                    "dnw-no-update", "targeted-dropout", "lottery-one-shot", "l1-anneal"])
def test_every_builtin_policy_by_name(sw, policy):
    assert policy in sw.policies()
    frozen = policy in ("edge-popup", "supermask")
    cfg = fc_config(policy=policy, density=1.0 if policy == "dense" else 0.1, data__train_limit=4000,
                    data__test_limit=2000, model__init="signed_constant" if frozen else "kaiming_normal",
                    optimizer__lr=50 if policy == "supermask" else 0.05)
    with sw.Engine(cfg) as e:
        r = e.fit(progress=False)[0]
        assert np.isfinite(r["train_loss"]) and r["test_accuracy"] > 0.1, r
        assert e.policy == policy
        layers = e.density()
        if policy == "dense":
            assert layers == [] and e.parameter_counts()["kept"] == 266610
            return
        assert [d["name"] for d in layers] == ["fc1.weight", "fc2.weight", "fc3.weight"]
        for d in layers:
            m = e.mask(d["name"])
            assert int((m != 0).sum()) == d["kept"]
            if policy in EXACT:
                assert d["kept"] == max(1, round(d["target_density"] * d["count"])), (policy, d)


def test_step_predict_and_tensors(sw):
    with sw.Engine(fc_config(policy="dnw", density=0.2, data__train_limit=2000)) as e:
        r = e.step()
        assert r["loss"] > 0 and 0 <= r["correct"] <= 128
        x = np.zeros((5, 1, 28, 28), dtype=np.float32)
        logits = e.predict(x)
        assert logits.shape == (5, 10) and np.all(logits == logits[0])
        w = e.get("fc2.weight")
        w2 = w.copy()
        w2[0, 0] = 3.0
        e.set_tensor("fc2.weight", w2)
        assert e.get("fc2.weight")[0, 0] == 3.0
        assert e.get("fc2.weight", "grad").shape == (100, 300)


def test_raw_numpy_data(sw):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 256).astype(np.int32)
    x = (y[:, None] * 2.0 - 1.0 + 0.3 * rng.standard_normal((256, 16))).astype(np.float32)
    with sw.Engine({"model": {"name": "mlp", "hidden": [16]}, "batch_size": 32, "optimizer": {"lr": 0.1}, "epochs": 3}) as e:
        e.set_data(x[:192], y[:192], x[192:], y[192:])
        e.fit(progress=False)
        assert e.evaluate()["accuracy"] > 0.95
        assert e.progress()["epochs"] == 3


def test_checkpoint_and_policy_switch(sw, tmp_path):
    with sw.Engine(fc_config(policy="rigl", density=0.2, data__train_limit=3000)) as e:
        e.fit(progress=False)
        before = e.evaluate()
        path = tmp_path / "rigl.safetensors"
        e.save(path)
        e.set_tensor("fc1.weight", np.zeros((300, 784), dtype=np.float32))
        assert e.evaluate() != before
        e.load(path)
        assert e.evaluate() == before
        e.set_policy("dnw", density=0.05)
        e.step()
        assert e.policy == "dnw"
        assert [d["kept"] for d in e.density()] == [11760, 1500, 50]
    # The checkpoint is a standard safetensors file.
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    import json
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"]["format"] == "sparsewire-checkpoint"
    assert header["mask/fc1.weight"]["shape"] == [300, 784] and header["param/fc1.weight"]["dtype"] == "F32"


def test_plugin_from_plugins_dir_trains(sw):
    gmp = REL / "libsw_gmp.so"
    assert gmp.exists(), "run scripts/setup.sh"
    added = sw.load_plugin(gmp)
    assert added in (0, 1) and "gmp" in sw.policies()
    assert sw.load_plugin(gmp) == 0
    with sw.Engine(fc_config(policy="gmp", density=0.1, data__train_limit=12000, policy_options={"frequency": 20})) as e:
        r = e.fit(progress=False)[0]
        assert r["test_accuracy"] > 0.6
        assert [d["kept"] for d in e.density()] == [23520, 3000, 100]
