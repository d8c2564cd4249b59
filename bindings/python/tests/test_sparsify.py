"""sparsewire.torch: a SparseWire policy inside a plain PyTorch loop (skipped without torch)."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (pip install 'torch==2.13.0+cpu' from /opt/wheels)")
from torch import nn  # noqa: E402

from conftest import REL  # noqa: E402


def cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 10))


def batches(n=40, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 1, 14, 14, generator=g), torch.randint(0, 10, (16,), generator=g)) for _ in range(n)]


def train(model, opt, data, sched=None, step=None):
    """Plain torch steps (`step` instead of opt.step when given); the losses."""
    losses = []
    for x, y in data:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        (step or opt.step)()
        if sched:
            sched.step()
        losses.append(loss.item())
    return losses


def setup(policy, density, total=40, optim="sgd", seed=0, **options):
    import sparsewire.torch as swt
    m = cnn(seed)
    opt = (torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3) if optim == "sgd"
           else torch.optim.Adam(m.parameters(), lr=1e-3))
    return m, opt, swt.sparsify(m, opt, policy, density=density, total_steps=total, seed=3, **options)


@pytest.mark.parametrize("policy,options", [("rigl", {"delta_t": 5}), ("set", {"delta_t": 5}), ("snfs", {"delta_t": 5}),
                                            ("dnw", {}), ("edge-popup", {}), ("random-static", {})])
def test_kept_counts_are_exact_at_every_step(sw, policy, options):
    m, opt, sp = setup(policy, 0.2, **options)
    ref = sw.Policy(policy, density=0.2, seed=3, layers=[(f"{n}.weight", tuple(l.weight.shape)) for n, l in sp.layers], **options)
    want = None
    for t, (x, y) in enumerate(batches(20)):
        loss = nn.functional.cross_entropy(m(x), y)
        kept = [int(k.sum()) for k in sp.masks]
        if want is None:  # the policy's own counts (ERK for the RigL family), held at every step
            weights = [l.weight.detach().clone() for _, l in sp.layers]
            want = [int(k.sum()) for k in ref.before_forward(0, 40, weights, scores=[torch.randn_like(w) for w in weights]
                                                             if ref.info["uses_scores"] else None)]
        assert kept == want, (t, kept, want)
        assert all(set(torch.unique(k).tolist()) <= {0.0, 1.0} for k in sp.masks)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert sp.step_count == 20


def test_dnw_and_edge_popup_masks_are_the_top_k_the_engine_picks(sw):
    m, opt, sp = setup("dnw", 0.1)
    x, y = batches(1)[0]
    nn.functional.cross_entropy(m(x), y).backward()
    opt.step()
    m(x)  # step 1's masks, from the updated weights
    for (name, layer), mask in zip(sp.layers, sp.masks):
        w = layer.parametrizations.weight.original.detach().reshape(-1)
        k = int(round(0.1 * w.numel()))
        want = torch.zeros_like(w)
        want[torch.topk(w.abs(), k).indices] = 1
        assert torch.equal(mask.reshape(-1), want), name
    # The same weights through the engine's mask-only policy give the same masks.
    ref = sw.Policy("dnw", density=0.1, layers=[(f"{n}.weight", tuple(l.weight.shape)) for n, l in sp.layers])
    got = ref.before_forward(0, 40, [l.parametrizations.weight.original.detach().clone() for _, l in sp.layers])
    assert all(torch.equal(a, b) for a, b in zip(got, sp.masks))

    m, opt, sp = setup("edge-popup", 0.3)
    train(m, opt, batches(3))
    m(x)
    for (name, _), s, mask in zip(sp.layers, sp.scores, sp.masks):
        k = int(round(0.3 * s.numel()))
        want = torch.zeros(s.numel())
        want[torch.topk(s.detach().abs().reshape(-1), k).indices] = 1
        assert torch.equal(mask.reshape(-1), want), name


def test_gradients_follow_the_policy_routing():
    x, y = batches(1)[0]
    for policy in ["rigl", "dnw", "edge-popup", "supermask"]:
        m, opt, sp = setup(policy, 0.3, delta_t=100) if policy == "rigl" else setup(policy, 0.3)
        # The reference: the same forward with ŵ as leaves, dL/dŵ taken directly.
        out = m(x)
        effs = [l.weight.detach().clone().requires_grad_(True) for _, l in sp.layers]
        h = x
        h = nn.functional.max_pool2d(torch.relu(nn.functional.conv2d(h, effs[0], m[0].bias, padding=1)), 2).flatten(1)
        h = torch.relu(nn.functional.linear(h, effs[1], m[4].bias))
        ref = nn.functional.cross_entropy(nn.functional.linear(h, effs[2], m[6].bias), y)
        ref.backward()
        nn.functional.cross_entropy(out, y).backward()
        for (name, layer), e, mask, s in zip(sp.layers, effs, sp.masks, sp.scores):
            w = layer.parametrizations.weight.original
            g = e.grad
            if policy == "rigl":
                torch.testing.assert_close(w.grad, g * mask)
            elif policy == "dnw":
                torch.testing.assert_close(w.grad, g)
            elif policy == "edge-popup":
                assert w.grad is None and not w.requires_grad and not layer.bias.requires_grad
                v = g * w.detach()
                torch.testing.assert_close(s.grad, torch.where(s.detach() < 0, -v, v))
            else:
                sg = torch.sigmoid(s.detach())
                torch.testing.assert_close(s.grad, g * w.detach() * sg * (1 - sg))


@pytest.mark.parametrize("optim", ["sgd", "adam"])
def test_regrown_weights_restart_with_zero_optimizer_state_and_update_steps_are_skipped(optim):
    m, opt, sp = setup("rigl", 0.2, optim=optim, delta_t=5)
    data = batches(12)
    train(m, opt, data[:5])  # steps 0-4; step 5 is an update step
    x, y = data[5]
    before_masks = [k.clone() for k in sp.masks]
    loss = nn.functional.cross_entropy(m(x), y)
    opt.zero_grad()
    loss.backward()
    before = [w.detach().clone() for w in sp._weights]
    opt.step()
    assert sp.skipped_steps == 1
    grown = 0
    for w, b, old, new in zip(sp._weights, before, before_masks, sp.masks):
        # RigL may drop a weight and regrow it in the same place (it restarts at 0, as in the paper's code).
        regrown = (new == 1) & ((old == 0) | ((w.detach() == 0) & (b != 0)))
        grown += int(regrown.sum())
        kept = (new == 1) & ~regrown
        assert torch.equal(w.detach()[kept], b[kept]), "the skipped update changed kept weights"
        assert torch.all(w.detach()[regrown] == 0), "regrown weights start at 0"
        for v in opt.state[w].values():
            if torch.is_tensor(v) and v.shape == w.shape:
                assert torch.all(v[regrown] == 0), "optimizer state of regrown weights is reset"
    assert grown > 0
    train(m, opt, data[6:8])
    assert sp.skipped_steps == 1


def test_evaluation_masks_in_eval_mode():
    m, opt, sp = setup("supermask", 0.5, eval="round")
    x, _ = batches(1)[0]
    train(m, opt, batches(3))
    m.train()
    a, b = m(x), m(x)  # same step: the same sampled masks
    assert torch.equal(a, b)
    m.eval()
    with torch.no_grad():
        e1 = m(x)
        evals = [k.clone() for k in sp.eval_masks]
        for (_, layer), s, k in zip(sp.layers, sp.scores, evals):
            assert torch.equal(k, (s.detach() > 0).float()), "supermask evaluates with σ(s) > 0.5"
            torch.testing.assert_close(layer.weight, layer.parametrizations.weight.original * k)
        assert torch.equal(e1, m(x))
    assert not torch.equal(evals[1], sp.masks[1]), "training masks are samples, evaluation masks are not"


@pytest.mark.parametrize("policy,options", [("rigl", {"delta_t": 4}), ("supermask", {}), ("snfs", {"delta_t": 4}), ("dnw", {})])
def test_state_dict_resume_is_exact(policy, options):
    import sparsewire.torch as swt
    data = batches(16)
    m, opt, sp = setup(policy, 0.2, total=16, **options)
    full = train(m, opt, data)
    m2, opt2, sp2 = setup(policy, 0.2, total=16, **options)
    first = train(m2, opt2, data[:7])
    buf = io.BytesIO()
    torch.save({"model": m2.state_dict(), "opt": opt2.state_dict(), "sw": sp2.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    m3, opt3, sp3 = setup(policy, 0.2, total=16, seed=5, **options)  # other initial weights: all must come from the state
    m3.load_state_dict(saved["model"])
    opt3.load_state_dict(saved["opt"])
    sp3.load_state_dict(saved["sw"])
    rest = train(m3, opt3, data[7:])
    assert first + rest == full
    for a, b in zip(m.state_dict().values(), m3.state_dict().values()):
        assert torch.equal(a, b)
    assert all(torch.equal(a, b) for a, b in zip(sp.masks, sp3.masks))
    with pytest.raises(swt_error(), match="total_steps"):
        setup(policy, 0.2, total=17, **options)[2].load_state_dict(saved["sw"])


def swt_error():
    import sparsewire
    return sparsewire.Error


def test_python_and_plugin_policies(sw):
    class KeepFirst(sw.MaskPolicy):
        """Keeps the first k weights of each layer (a fixed mask)."""
        name = "py-keep-first-torch"
        routing = "masked_weights"

        def compute_mask(self, layer, step):
            mask = np.zeros(layer.weights.size, dtype=np.float32)
            mask[:layer.keep_count] = 1
            return mask.reshape(layer.weights.shape)

    m, opt, sp = setup(KeepFirst, 0.25)
    train(m, opt, batches(3))
    for k in sp.masks:
        flat = k.reshape(-1)
        n = int(flat.sum())
        assert n == round(0.25 * flat.numel()) and torch.all(flat[:n] == 1)
    sw.load_plugin(REL / "libsw_momentum_regrow.so")
    m, opt, sp = setup("momentum-regrow", 0.2, delta_t=3)
    losses = train(m, opt, batches(10))
    assert sp.info["routing"] == "masked_weights" and np.isfinite(losses).all()
    assert [int(k.sum()) for k in sp.masks] == [int(k.sum()) for k in sp.masks]


def test_remove_bakes_masks_plain_or_in_prune_layout():
    import sparsewire.torch as swt
    x, _ = batches(1)[0]
    for layout in ["plain", "prune"]:
        m, opt, sp = setup("edge-popup", 0.3)
        train(m, opt, batches(2))
        m.eval()
        with torch.no_grad():
            want = m(x)
        masks = [k.clone() for k in sp.eval_masks]
        swt.remove(m, layout=layout)
        assert not any(hasattr(l, "parametrizations") and "weight" in l.parametrizations for _, l in sp.layers)
        assert len(opt.param_groups) == 1 and all(l.weight.requires_grad or layout == "prune" for _, l in sp.layers)
        with torch.no_grad():
            torch.testing.assert_close(m(x), want)
        for (_, l), k in zip(sp.layers, masks):
            if layout == "prune":
                assert torch.equal(l.weight_mask, k) and torch.equal(l.weight, l.weight_orig * k)
            else:
                assert torch.equal(l.weight == 0, k == 0) or bool(((l.weight == 0) >= (k == 0)).all())
        with pytest.raises(swt_error(), match="no sparsifier"):
            swt.remove(m)


def test_bad_inputs_are_clear_errors(sw):
    import sparsewire.torch as swt
    m = cnn()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(sw.Error, match="total_steps"):
        swt.sparsify(m, opt, "rigl", 0.1)
    with pytest.raises(KeyError, match="no module named 'fc9'"):
        swt.sparsify(m, opt, "rigl", 0.1, 10, layers=["fc9"])
    with pytest.raises(sw.ArgumentError, match="float64"):
        swt.sparsify(cnn().double(), opt, "rigl", 0.1, 10)
    wide = nn.Sequential(nn.Conv2d(3, 4, 3)).to(memory_format=torch.channels_last)
    with pytest.raises(sw.Error, match="not contiguous"):
        swt.sparsify(wide, torch.optim.SGD(wide.parameters(), lr=0.1), "dnw", 0.1, 10)
    with pytest.raises(sw.Error, match="not among the optimizer's parameters"):
        swt.sparsify(cnn(), opt, "dnw", 0.1, 10)
    meta = cnn().to("meta")
    with pytest.raises(TypeError, match="is on meta"):
        swt.sparsify(meta, torch.optim.SGD(meta.parameters(), lr=0.1), "dnw", 0.1, 10)
    with pytest.raises(sw.ConfigError, match="no-such-policy"):
        swt.sparsify(cnn(), torch.optim.SGD(cnn().parameters(), lr=0.1), "no-such-policy", 0.1, 10)
    sp = swt.sparsify(m, opt, "dnw", 0.1, 2, layers=lambda name, mod: isinstance(mod, nn.Linear), dense_last=True)
    assert [n for n, _ in sp.layers] == ["4"]
    with pytest.raises(RuntimeError, match="already sparsified"):
        swt.sparsify(m, opt, "dnw", 0.1, 2)
    x, y = batches(1)[0]
    with pytest.raises(sw.Error, match="before any forward pass"):
        opt.step()
    train(m, opt, batches(2))
    with pytest.raises(sw.Error, match="past total_steps=2"):
        m(x)


def test_explicit_step_without_hooks_matches_the_hooked_loop():
    import sparsewire.torch as swt
    data = batches(12)
    m, opt, sp = setup("rigl", 0.2, delta_t=4)
    hooked = train(m, opt, data)
    m2 = cnn()
    opt2 = torch.optim.SGD(m2.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    sp2 = swt.sparsify(m2, opt2, "rigl", density=0.2, total_steps=40, seed=3, hooks=False, delta_t=4)
    explicit = train(m2, opt2, data, step=sp2.step)
    assert hooked == explicit and sp2.skipped_steps == sp.skipped_steps > 0


def test_active_hooks_say_which_calls_do_work(sw):
    layers = [("w", (8, 8))]
    rigl = sw.Policy("rigl", density=0.25, delta_t=5, layers=layers)
    assert rigl.active_hooks(3, 100) == set()
    assert rigl.active_hooks(5, 100) == {"after_backward", "dense_gradient"}
    assert sw.Policy("dnw", density=0.25, layers=layers).active_hooks(3, 100) == {"before_forward"}
    assert sw.Policy("random-static", density=0.25, layers=layers).active_hooks(3, 100) == set()
    assert sw.Policy("l1-anneal", density=0.25, layers=layers).active_hooks(3, 100) >= {"before_forward", "after_backward", "after_step"}

    calls = []

    class Counting(sw.MaskPolicy):
        """Keeps everything; records after_step calls (a policy that does not narrow its hooks gets every call)."""
        name = "py-counting-torch"
        routing = "masked_weights"

        def compute_mask(self, layer, step):
            return np.ones(layer.shape, dtype=np.float32)

        def after_step(self, layers, step):
            calls.append(step.step)

    assert sw.Policy("py-counting-torch" if "py-counting-torch" in sw.policies() else sw.register_policy(Counting).name,
                     density=1.0, layers=layers).active_hooks(3, 100) >= {"before_forward", "after_step"}
    m, opt, sp = setup(Counting, 1.0)
    train(m, opt, batches(4))
    assert calls == [0, 1, 2, 3]


@pytest.mark.parametrize("marker", ["sparsewire.torch.sparsify(model, opt", 'sw.Policy("rigl", density=0.1, delta_t=5',
                                    'sw.Engine("configs/fmnist-fc.yaml"'])
def test_the_readme_examples_run(marker, monkeypatch):
    """The python blocks of bindings/python/README.md for sparsewire.torch, mask-only and the engine, as printed."""
    import pathlib
    from conftest import HERE, ROOT
    readme = (HERE.parent / "README.md").read_text()
    block = next(b for b in readme.split("```python")[1:] if marker in b).split("```")[0]
    if "fmnist" in marker and not pathlib.Path("/usr/share/datasets/fashion-mnist").exists():
        pytest.skip("dataset-fashion-mnist not installed")
    monkeypatch.chdir(ROOT)
    exec(compile(block, "README.md", "exec"), {})
