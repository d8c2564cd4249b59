"""Policies written in Python, and mask-only use of any policy over NumPy buffers."""
import numpy as np
import pytest

from conftest import fc_config


def test_python_policy_trains_with_exact_kept_count(sw):
    class Magnitude(sw.MaskPolicy):
        name = "py-magnitude"
        summary = "top-k |w| per layer, written in Python"
        option_help = {"power": "rank |w|^power (default 1)"}
        calls = {"prepare": 0, "mask": 0, "update": 0}

        def prepare(self, layers):
            Magnitude.calls["prepare"] += 1
            assert all(float(layer.mask.min()) == 1.0 for layer in layers)

        def compute_mask(self, layer, step):
            Magnitude.calls["mask"] += 1
            assert step.training and layer.weights.shape == layer.shape
            return self.topk_mask(np.abs(layer.weights) ** self.options.get("power", 1), layer.keep_count)

        def update(self, layers, step):
            Magnitude.calls["update"] += 1
            return False

    sw.register_policy(Magnitude)
    assert "py-magnitude" in sw.policies()
    with pytest.raises(sw.Error, match="already registered"):
        sw.register_policy(Magnitude)
    cfg = fc_config(policy="py-magnitude", density=0.1, data__train_limit=6000, policy_options={"power": 2})
    with sw.Engine(cfg) as e:
        r = e.fit(progress=False)[0]
        assert r["test_accuracy"] > 0.6, r
        for d in e.density():
            assert d["kept"] == round(0.1 * d["count"])
            m = e.mask(d["name"])
            w = e.get(d["name"])
            # the kept weights are the largest in magnitude (mask of the last step's weights)
            assert int(m.sum()) == d["kept"]
    assert Magnitude.calls["prepare"] == 1 and Magnitude.calls["mask"] == 3 * 47 and Magnitude.calls["update"] == 47
    with pytest.raises(sw.Error, match="no option 'bogus'"):
        sw.Engine(fc_config(policy="py-magnitude", policy_options={"bogus": 1}))


def test_python_policy_errors_surface_as_sw_error(sw):
    class Broken(sw.MaskPolicy):
        name = "py-broken"
        density_contract = "learned"  # all ones: not a top-k policy

        def compute_mask(self, layer, step):
            if step.step == 2:
                raise ValueError("no mask for step 2")
            return np.ones(layer.shape, dtype=np.float32)

    class WrongShape(sw.MaskPolicy):
        name = "py-wrong-shape"

        def compute_mask(self, layer, step):
            return np.ones(3)

    sw.register_policy(Broken)
    sw.register_policy(WrongShape)
    with sw.Engine(fc_config(policy="py-broken", density=0.5, data__train_limit=2000)) as e:
        e.step()
        e.step()
        with pytest.raises(sw.Error, match=r"py-broken.*update_masks failed: ValueError: no mask for step 2") as ex:
            e.step()
        assert ex.value.status == "SW_ERR_PLUGIN"
    with sw.Engine(fc_config(policy="py-wrong-shape", density=0.5, data__train_limit=2000)) as e:
        with pytest.raises(sw.Error, match=r"has shape \(3,\), expected \(300, 784\)"):
            e.step()
    with pytest.raises(sw.Error, match="must implement compute_mask"):
        sw.register_policy(type("NoMask", (sw.MaskPolicy,), {"name": "py-nomask"}))
    with pytest.raises(sw.Error, match="name must be"):
        sw.register_policy(type("BadName", (sw.MaskPolicy,), {"name": "Bad Name", "compute_mask": lambda s, l, t: None}))


def test_mask_only_dnw_agrees_with_the_engine(sw):
    with sw.Engine(fc_config(policy="dnw", density=0.1, data__train_limit=3000)) as e:
        e.fit(progress=False)
        names = [d["name"] for d in e.density()]
        weights = [e.get(n) for n in names]
        engine_masks = [e.mask(n) for n in names]
    p = sw.Policy("dnw", density=0.1, layers=[(n, w.shape) for n, w in zip(names, weights)])
    assert p.info == {"routing": "straight_through", "frozen_weights": False, "uses_scores": False,
                      "inert_dead_weights": False}
    masks = p.before_forward(0, 100, weights)
    for n, a, b in zip(names, masks, engine_masks):
        assert np.array_equal(a, b), n


def test_mask_only_edge_popup_agrees_with_the_engine(sw):
    cfg = fc_config(policy="edge-popup", density=0.3, data__train_limit=3000, model__init="signed_constant", optimizer__lr=0.1)
    with sw.Engine(cfg) as e:
        e.fit(progress=False)
        names = [d["name"] for d in e.density()]
        weights = [e.get(n) for n in names]
        scores = [e.scores(n) for n in names]
        engine_masks = [e.mask(n) for n in names]
    p = sw.Policy("edge-popup", density=0.3, layers=[(n, w.shape) for n, w in zip(names, weights)])
    assert p.info["uses_scores"] and p.info["frozen_weights"] and p.info["routing"] == "abs_scores"
    # the first call initialises scores (and weights); then the host's own values are used
    init_scores = [np.zeros_like(s) for s in scores]
    p.before_forward(0, 10, [w.copy() for w in weights], scores=init_scores)
    assert all(np.count_nonzero(s) > 0 for s in init_scores)
    masks = p.before_forward(1, 10, weights, scores=scores)
    for n, a, b in zip(names, masks, engine_masks):
        assert np.array_equal(a, b), n


def test_mask_only_rigl_regrows_by_gradient(sw):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((20, 30)).astype(np.float32)
    p = sw.Policy("rigl", density=0.2, seed=1, delta_t=1, alpha=0.5, layers=[("w", w.shape)])
    m0 = p.before_forward(0, 10, [w])[0].copy()
    assert int(m0.sum()) == 120
    grad = np.zeros_like(w)
    grad[m0 == 0] = rng.standard_normal(int((m0 == 0).sum())).astype(np.float32) * 100
    assert p.needs_gradient(1, 10)
    p.before_forward(1, 10, [w])
    skip = p.after_backward(1, 10, [w], grads=[grad])
    m1 = p.masks[0]
    assert skip and int(m1.sum()) == 120 and not np.array_equal(m0, m1)
    grown = (m1 == 1) & (m0 == 0)
    # regrown connections start at zero weight (RigL) and were chosen by |grad|
    assert np.all(w[grown] == 0) and np.abs(grad[grown]).min() >= np.sort(np.abs(grad[(m0 == 0) & (m1 == 0)]))[-1]


def test_mask_only_torch_tensors_without_copy(sw):
    torch = pytest.importorskip("torch", reason="torch not installed (pip install 'torch==2.13.0+cpu')")
    w = torch.randn(8, 16)
    m = torch.zeros(8, 16)
    p = sw.Policy("dnw", density=0.25, layers=[("w", (8, 16))])
    out = p.before_forward(0, 1, [w], masks=[m])
    assert out[0] is m and int(m.sum()) == 32
    assert torch.equal(m.bool(), w.abs() > w.abs().flatten().kthvalue(96).values)  # top 32 of 128
    with pytest.raises(sw.Error, match="must be contiguous"):
        p.before_forward(0, 1, [w.t().contiguous().t()], masks=[m])
    with pytest.raises(sw.Error, match="torch.float32"):
        p.before_forward(0, 1, [w.double()], masks=[m])


def test_mask_only_policy_with_an_nm_structure_and_the_export_metadata(sw, tmp_path):
    p = sw.Policy("dnw", density=0.5, structure={"type": "nm", "n": 2, "m": 4}, layers=[("w", (8, 16))])
    w = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
    m = p.before_forward(0, 10, [w])[0]
    groups = m.reshape(-1, 4)
    assert (groups.sum(axis=1) == 2).all()
    # each group keeps its two largest |w|
    order = np.argsort(-np.abs(w.reshape(-1, 4)), axis=1, kind="stable")[:, :2]
    assert all(set(np.flatnonzero(g)) == set(o) for g, o in zip(groups, order))
    with pytest.raises(sw.Error, match="set density: 0.5"):
        sw.Policy("dnw", density=0.3, structure={"type": "nm", "n": 2, "m": 4})
    cfg = fc_config(policy="dnw", density=0.5, data__train_limit=1000, masking={"structure": {"type": "nm"}},
                    model={"name": "mlp", "hidden": [300, 100]})
    with sw.Engine(cfg) as e:
        e.fit(progress=False)
        for d in e.density():
            assert d["kept"] == d["count"] // 2
            assert (e.mask(d["name"]).reshape(-1, 4).sum(axis=1) == 2).all()
