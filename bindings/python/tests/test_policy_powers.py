"""What a Python MaskPolicy can do since plugin ABI 1.1: write weights, reset optimizer state,
keep state in checkpoints (bit-identical resume in a fresh process), after_step, the density
contract; the mask-only Policy with torch tensors and optimizer resets; the log callback,
unregister_policy, and the engine's explicit build / input shape / callback stop."""
import json
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import HERE, fc_config


def _data(seed=0, n=512):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4, :4].sum(axis=(1, 2)) > 0).astype(np.int32)
    return x, y


def _engine(sw, policy, density=0.25, **extra):
    cfg = {"model": {"name": "mlp", "hidden": [32]}, "policy": policy, "density": density, "epochs": 2, "batch_size": 16,
           "threads": 1, "seed": 3, "optimizer": {"lr": 0.05, "momentum": 0.9}, **extra}
    e = sw.Engine(cfg)
    x, y = _data()
    e.set_data(x, y, x[:64], y[:64])
    return e


def _safetensors(path):
    raw = pathlib.Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        a, b = entry["data_offsets"]
        dtype = {"F32": np.float32, "BOOL": np.uint8, "U8": np.uint8}[entry["dtype"]]
        out[name] = np.frombuffer(body[a:b], dtype=dtype).reshape(entry["shape"])
    return out


def test_python_policy_writes_weights_and_resets_momentum(sw, tmp_path):
    seen = {}

    class SwapAtFive(sw.MaskPolicy):
        """Top-k |w|, but at step 5 swaps the 10 smallest kept weights of fc1 for 10 out ones:
        grown weights start at 0 with their momentum reset, and the step's update is skipped."""
        name = "py-swap-at-five"
        routing = "straight_through"  # every weight learns, so out-of-mask ones have momentum to reset
        after_steps = 0

        def compute_mask(self, layer, step):
            if step.step <= 5:
                return self.topk_mask(np.abs(layer.weights), layer.keep_count)
            return None  # keep the mask as it is

        def update(self, layers, step):
            if step.step != 5:
                return False
            fc1 = layers[0]
            flat_mask, flat_w = fc1.mask.reshape(-1), fc1.weights.reshape(-1)
            kept = np.flatnonzero(flat_mask)
            out = np.flatnonzero(flat_mask == 0)
            drop = kept[np.argsort(np.abs(flat_w[kept]))[:10]]
            grow = out[:10]
            flat_mask[drop] = 0
            flat_mask[grow] = 1
            flat_w[grow] = 0                      # the weights view is writable
            fc1.reset_optimizer_state(grow)
            seen["grown"] = grow.copy()
            return True

        def after_step(self, layers, step):
            SwapAtFive.after_steps += 1

    sw.register_policy(SwapAtFive)
    with _engine(sw, "py-swap-at-five") as e:
        for _ in range(5):
            e.step()
        e.save(tmp_path / "before.st")
        e.step()  # step 5: the swap, no optimizer update
        e.save(tmp_path / "after.st")
        assert SwapAtFive.after_steps == 6
    before, after = _safetensors(tmp_path / "before.st"), _safetensors(tmp_path / "after.st")
    grown = seen["grown"]
    assert after["mask/fc1.weight"].reshape(-1)[grown].all()
    assert (after["param/fc1.weight"].reshape(-1)[grown] == 0).all()
    assert (after["optim/momentum/fc1.weight"].reshape(-1)[grown] == 0).all()
    assert (before["optim/momentum/fc1.weight"].reshape(-1)[grown] != 0).any(), "nothing to reset: a vacuous test"
    # the skipped update: every other weight is as before the step
    others = np.setdiff1d(np.arange(after["param/fc1.weight"].size), grown)
    assert np.array_equal(after["param/fc1.weight"].reshape(-1)[others], before["param/fc1.weight"].reshape(-1)[others])


def test_python_policy_breaking_the_fixed_density_contract_is_named(sw):
    class AllOnes(sw.MaskPolicy):
        name = "py-all-ones"

        def compute_mask(self, layer, step):
            return np.ones(layer.shape, dtype=np.float32)

    sw.register_policy(AllOnes)
    with _engine(sw, "py-all-ones", density=0.1) as e:
        with pytest.raises(sw.Error, match=r"after update_masks layer 'fc1.weight' keeps 2048 of 2048 weights; "
                                           r"its keep_count is 205") as info:
            e.step()
        assert info.value.status == "SW_ERR_PLUGIN"

    class Soft(sw.MaskPolicy):
        name = "py-soft"
        density_contract = "learned"
        soft_masks = True

        def compute_mask(self, layer, step):
            return np.full(layer.shape, 0.5, dtype=np.float32)

    sw.register_policy(Soft)
    with _engine(sw, "py-soft") as e:
        e.step()  # soft masks declared: accepted
    with pytest.raises(sw.Error, match="soft_masks needs density_contract = 'learned'"):
        sw.register_policy(type("Bad", (sw.MaskPolicy,), {"name": "py-bad", "soft_masks": True,
                                                          "compute_mask": lambda s, l, t: None}))
    with pytest.raises(sw.Error, match="implements state_dict but not load_state_dict"):
        sw.register_policy(type("Half", (sw.MaskPolicy,), {"name": "py-half", "state_dict": lambda s: {},
                                                           "compute_mask": lambda s, l, t: None}))


STATEFUL = textwrap.dedent('''
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[3])
    import sparsewire as sw

    class Aging(sw.MaskPolicy):
        """top-k of |w| - 0.001 * (steps a weight has been out): the mask depends on the state."""
        name = "py-aging"

        def prepare(self, layers):
            self.age = {l.name: np.zeros(l.shape, dtype=np.float32) for l in layers}
            self.calls = 0

        def compute_mask(self, layer, step):
            if not step.training:
                return None
            m = self.topk_mask(np.abs(layer.weights) - 0.001 * self.age[layer.name], layer.keep_count)
            self.age[layer.name] = np.where(m > 0, 0, self.age[layer.name] + 1).astype(np.float32)
            self.calls += 1
            return m

        def state_dict(self):
            return {**{"age/" + k: v for k, v in self.age.items()}, "calls": self.calls, "note": "aging v1"}

        def load_state_dict(self, state):
            assert state["note"] == "aging v1"
            self.age = {k[4:]: v.copy() for k, v in state.items() if k.startswith("age/")}
            self.calls = int(state["calls"])

    sw.register_policy(Aging)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4, :4].sum(axis=(1, 2)) > 0).astype(np.int32)
    cfg = {"model": {"name": "mlp", "hidden": [32]}, "policy": "py-aging", "density": 0.3, "epochs": 2,
           "batch_size": 16, "threads": 1, "seed": 3, "optimizer": {"lr": 0.05, "momentum": 0.9}}
    mode, path = sys.argv[1], sys.argv[2]
    with sw.Engine(cfg) as e:
        e.set_data(x, y, x[:64], y[:64])
        if mode == "save":
            e.fit(1, progress=False)
            e.save(path)
        else:
            if mode == "resume":
                e.load(path)
            e.fit(progress=False)
            ev = e.evaluate()
            print(json.dumps({"loss": ev["loss"], "masks": {n: e.mask(n).tolist() for n in e.parameter_names() if "weight" in n}}))
''')


def test_python_policy_state_resumes_bit_identically_in_a_fresh_process(tmp_path):
    script = tmp_path / "stateful.py"
    script.write_text(STATEFUL)
    pkg = str(HERE.parent)

    def run(mode):
        p = subprocess.run([sys.executable, str(script), mode, str(tmp_path / "ck.st"), pkg], capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        return p.stdout
    straight = run("straight")
    run("save")
    assert b'"policy_state"' in (tmp_path / "ck.st").read_bytes()[:4096]
    resumed = run("resume")
    assert json.loads(straight) == json.loads(resumed)


def test_mask_only_policy_with_torch_tensors_and_optimizer_resets(sw):
    torch = pytest.importorskip("torch")
    p = sw.Policy("rigl", density=0.25, seed=3, delta_t=2, alpha=0.5)
    p.add_layer("w", (16, 32))
    w = torch.randn(16, 32)
    g = torch.randn(16, 32)
    resets = 0
    for t in range(6):
        before = p.before_forward(t, 20, [w])[0].clone()
        masks = p.before_forward(t, 20, [w])
        assert isinstance(masks[0], torch.Tensor) and masks[0].dtype == torch.float32
        skip = p.after_backward(t, 20, [w], grads=[g])
        idx = p.optimizer_resets()[0]
        if skip:
            assert len(idx) > 0 and (p.masks[0].reshape(-1)[idx] == 1).all() and (w.reshape(-1)[idx] == 0).all()
            resets += len(idx)
        else:
            assert len(idx) == 0
        w -= 0.01 * g * masks[0]
        del before
    assert resets > 0
    with pytest.raises(sw.Error, match="weights: one array per declared layer"):
        p.before_forward(0, 20, None)


def test_log_callback_unregister_build_input_shape_and_callback_stop(sw, tmp_path):
    from conftest import REL
    lines = []
    sw.load_plugin(REL / "libsw_gmp.so")
    sw.set_log_callback(lambda level, source, message: lines.append((level, source, message)), level="info")
    try:
        with _engine(sw, "gmp") as e:
            assert not e.built
            assert e.input_shape() == {"channels": 1, "height": 8, "width": 8, "classes": 2}
            e.build()
            assert e.built and e.policy == "gmp"
    finally:
        sw.set_log_callback(None)
    assert any(source == "gmp" and level == "info" and "gmp: 2 layers" in message for level, source, message in lines), lines
    with pytest.raises(sw.Error, match="level must be one of"):
        sw.set_log_callback(print, level="loud")

    class Temporary(sw.MaskPolicy):
        name = "py-temporary"

        def compute_mask(self, layer, step):
            return self.topk_mask(np.abs(layer.weights), layer.keep_count)

    sw.register_policy(Temporary)
    with _engine(sw, "py-temporary") as e:
        e.step()
        sw.unregister_policy("py-temporary")
        e.step()  # the running engine keeps its instance
        with pytest.raises(sw.Error, match="unknown policy 'py-temporary'"):
            sw.Engine({"policy": "py-temporary", "density": 0.5})
    sw.register_policy(Temporary)  # the name is free again
    sw.unregister_policy("py-temporary")
    with pytest.raises(sw.Error, match="built in"):
        sw.unregister_policy("rigl")

    with _engine(sw, "rigl") as e:
        e.fit(2, progress=False, callback=lambda ev: not (ev["event"] == "step" and ev["step"] == 3))
        assert e.stopped_by_callback and e.progress() == {"epochs": 1, "steps": 3}
        e.fit(1, progress=False)
        assert not e.stopped_by_callback
        with pytest.raises(sw.Error, match="epochs must be ≥ 1"):
            e.fit(0)
        e.set_policy("dnw")  # density kept
        assert e.policy == "dnw" and abs(e.parameter_counts()["kept"] - (0.25 * (64 * 32 + 32 * 2) + 34)) < 3


def test_the_readme_regrowth_example_runs_and_resumes(sw, tmp_path):
    """The `py-regrow` policy of bindings/python/README.md, as printed there."""
    readme = (HERE.parent / "README.md").read_text()
    block = next(b for b in readme.split("```python")[1:] if "class RegrowAtZero" in b).split("```")[0]
    scope = {"np": np, "sw": sw}
    exec(block, scope)
    cls = scope["RegrowAtZero"]
    cls.every = 5
    try:
        with _engine(sw, "py-regrow") as e:
            e.fit(1, progress=False)
            assert all(d["kept"] == round(0.25 * d["count"]) for d in e.density())
            e.save(tmp_path / "regrow.st")
            e.fit(1, progress=False)
            a = e.evaluate()
        with _engine(sw, "py-regrow") as e:
            e.load(tmp_path / "regrow.st")
            e.fit(1, progress=False)
            assert e.evaluate() == a
    finally:
        sw.unregister_policy("py-regrow")


def test_c_plugin_weight_writes_and_momentum_resets_are_visible_in_the_engine(sw, tmp_path):
    """momentum-regrow (C, ABI 1.1) at its rewiring step: every weight that came in is 0 and
    has no momentum, and the optimizer skipped the step."""
    from conftest import REL
    sw.load_plugin(REL / "libsw_momentum_regrow.so")
    with _engine(sw, "momentum-regrow", policy_options={"delta_t": 5, "alpha": 0.5}) as e:
        for _ in range(5):
            e.step()
        e.save(tmp_path / "before.st")
        e.step()  # step 5: rewiring
        e.save(tmp_path / "after.st")
    before, after = _safetensors(tmp_path / "before.st"), _safetensors(tmp_path / "after.st")
    grown_any = False
    for layer in ("fc1.weight", "fc2.weight"):
        m0, m1 = before[f"mask/{layer}"].reshape(-1), after[f"mask/{layer}"].reshape(-1)
        grown = np.flatnonzero((m0 == 0) & (m1 == 1))
        assert m0.sum() == m1.sum(), "fixed density: as many grown as dropped"
        grown_any |= len(grown) > 0
        assert (after[f"param/{layer}"].reshape(-1)[grown] == 0).all()
        assert (after[f"optim/momentum/{layer}"].reshape(-1)[grown] == 0).all()
        stayed = np.flatnonzero((m0 == 1) & (m1 == 1))
        # no optimizer update on the rewiring step: a weight that stayed is unchanged, unless it
        # was dropped and regrown in the same rewiring (then it restarts at 0 without momentum)
        w0, w1 = before[f"param/{layer}"].reshape(-1)[stayed], after[f"param/{layer}"].reshape(-1)[stayed]
        mom1 = after[f"optim/momentum/{layer}"].reshape(-1)[stayed]
        assert ((w1 == w0) | ((w1 == 0) & (mom1 == 0))).all()
        assert (w1 == w0).mean() > 0.5
    assert grown_any


def test_python_policy_selecting_through_the_host_keeps_the_structure(sw):
    class Structured(sw.MaskPolicy):
        name = "py-structured"
        honours_structure = True

        def compute_mask(self, layer, step):
            return None

        def prepare(self, layers):
            self.select_topk(layers, [np.abs(l.weights) for l in layers])

        def update(self, layers, step):
            self.select_topk(layers, [np.abs(l.weights) for l in layers])
            return False

    class Plain(sw.MaskPolicy):
        name = "py-plain"

        def compute_mask(self, layer, step):
            return self.topk_mask(np.abs(layer.weights), layer.keep_count)

    sw.register_policy(Structured)
    sw.register_policy(Plain)
    with _engine(sw, "py-structured", density=0.5, masking={"structure": {"type": "nm", "n": 2, "m": 4}}) as e:
        e.fit(1, progress=False)
        for d in e.density():
            assert (e.mask(d["name"]).reshape(-1, 4).sum(axis=1) == 2).all(), d["name"]
    with pytest.raises(sw.Error, match="policy 'py-plain' cannot honour masking.structure 2:4"):
        _engine(sw, "py-plain", density=0.5, masking={"structure": {"type": "nm"}})
