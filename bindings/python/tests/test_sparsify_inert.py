"""sparsewire.torch with inert dead weights (dead_weights="auto"): the same arithmetic as the
product ŵ = w ⊙ m ("keep") for every kept weight, step by step (skipped without torch)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (pip install 'torch==2.13.0+cpu' from /opt/wheels)")
from torch import nn  # noqa: E402

from test_sparsify import batches, cnn, setup, train  # noqa: E402


@pytest.mark.parametrize("policy,optim", [("rigl", "sgd"), ("rigl", "adam"), ("set", "sgd"), ("random-static", "adam"),
                                          ("lottery-one-shot", "sgd")])
def test_inert_dead_weights_are_held_at_zero_with_the_same_arithmetic(policy, optim):
    """dead_weights="auto" (ŵ = w, gradient masked as accumulated, masked weights and their
    optimizer state zeroed after each policy call) trains exactly like "keep" (ŵ = w ⊙ m), also
    with gradient clipping between backward and step, which must see dL/dŵ ⊙ m."""
    options = {"delta_t": 4} if policy in ("rigl", "set") else {"prune_epoch": 0} if policy == "lottery-one-shot" else {}
    data = batches(24)
    runs = {}
    for mode in ("auto", "keep"):
        m, opt, sp = setup(policy, 0.2, total=24, optim=optim, dead_weights=mode, **options)
        assert sp.zeroed == (mode == "auto"), "these policies declare inert dead weights"
        losses = []
        for x, y in data:
            loss = nn.functional.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
            losses.append((loss.item(), norm.item()))
            if mode == "auto":
                for w, k in zip(sp._weights, sp.masks):
                    assert torch.all(w.detach()[k == 0] == 0), "masked weights stay at zero"
                    for v in opt.state[w].values():
                        if torch.is_tensor(v) and v.shape == w.shape:
                            assert torch.all(v[k == 0] == 0), "so does their optimizer state"
        runs[mode] = (losses, [k.clone() for k in sp.masks], [(w.detach() * k) for w, k in zip(sp._weights, sp.masks)])
    (la, ma, wa), (lk, mk, wk) = runs["auto"], runs["keep"]
    assert la == lk, "losses and gradient norms are identical step by step"
    assert all(torch.equal(a, b) for a, b in zip(ma, mk))
    assert all(torch.equal(a, b) for a, b in zip(wa, wk))
    keep_w = [w.detach() for w in sp._weights]  # the last run is "keep": masked weights hold stale values there
    assert any(torch.any(w[k == 0] != 0) for w, k in zip(keep_w, sp.masks)), "the two modes store different dead weights"


def test_inert_mode_matches_keep_with_accumulation_and_a_rewiring_that_does_not_skip(sw):
    """Two backward passes per step (accumulated gradients), and a Python policy declaring inert
    dead weights that rewires in `update` every third step WITHOUT skipping the update: the
    dropped weights' gradients of that step must not move them ("auto" masks them again)."""
    import sparsewire.torch as swt

    class SwapOne(sw.MaskPolicy):
        name, routing, inert_dead_weights = "test-swap-one", "masked_weights", True

        def compute_mask(self, layer, step):
            if layer.mask.sum() == layer.count:  # first call: the top-k by |w|
                return self.topk_mask(np.abs(layer.weights), layer.keep_count)
            return None

        def update(self, layers, step):
            if step.step % 3 == 2:
                for l in layers:  # drop the smallest kept |w|, grow the first dead weight at 0
                    kept = np.flatnonzero(l.mask.reshape(-1))
                    drop = kept[np.argmin(np.abs(l.weights.reshape(-1)[kept]))]
                    grow = np.flatnonzero(l.mask.reshape(-1) == 0)[0]
                    l.mask.reshape(-1)[drop], l.mask.reshape(-1)[grow] = 0, 1
                    l.weights.reshape(-1)[grow] = 0
                    l.reset_optimizer_state([grow])
            return False

    data = batches(14)
    runs = {}
    for mode in ("auto", "keep"):
        m = cnn(0)
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        sp = swt.sparsify(m, opt, SwapOne, density=0.3, total_steps=7, dead_weights=mode)
        assert sp.zeroed == (mode == "auto")
        losses = []
        for t in range(7):
            opt.zero_grad()
            for x, y in data[2 * t:2 * t + 2]:  # two micro-batches, one optimizer step
                loss = nn.functional.cross_entropy(m(x), y)
                loss.backward()
                losses.append(loss.item())
            opt.step()
        runs[mode] = (losses, [(w.detach() * k) for w, k in zip(sp._weights, sp.masks)])
    assert runs["auto"][0] == runs["keep"][0]
    assert all(torch.equal(a, b) for a, b in zip(runs["auto"][1], runs["keep"][1]))


def test_inert_mode_matches_keep_under_an_optimizer_that_mixes_entries():
    """An optimizer whose update of one entry depends on the others (here: grad + its mean, a
    stand-in for Shampoo/Muon-like preconditioners) moves masked weights off zero; rigl makes no
    policy call between its updates, so "auto" must restore ŵ = w after every optimizer step."""
    import sparsewire.torch as swt

    class MixingSGD(torch.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self, closure=None):
            for g in self.param_groups:
                for p in g["params"]:
                    if p.grad is not None:
                        p.add_(p.grad + p.grad.mean(), alpha=-g["lr"])

    data = batches(12)
    runs = {}
    for mode in ("auto", "keep"):
        m = cnn(0)
        opt = MixingSGD(m.parameters(), lr=0.05)
        swt.sparsify(m, opt, "rigl", density=0.2, total_steps=12, seed=3, delta_t=5, dead_weights=mode)
        runs[mode] = train(m, opt, data)
    assert runs["auto"] == runs["keep"]


def test_dead_weights_keep_is_the_only_mode_for_policies_that_read_masked_weights(sw):
    for policy in ("dnw-no-update", "targeted-dropout", "dnw"):
        _, _, sp = setup(policy, 0.2)
        assert not sp.zeroed, policy
    with pytest.raises(sw.Error, match="dead_weights"):
        setup("rigl", 0.2, dead_weights="zero")
    flags = {p: sw.Policy(p, density=0.2, layers=[("w", (4, 4))]).info["inert_dead_weights"]
             for p in ("rigl", "set", "snfs", "random-static", "lottery-one-shot", "dnw", "dnw-no-update", "l1-anneal")}
    assert flags == {"rigl": True, "set": True, "snfs": True, "random-static": True, "lottery-one-shot": True,
                     "dnw": False, "dnw-no-update": False, "l1-anneal": False}

    class Wrong(sw.MaskPolicy):  # the flag needs masked-weights routing: refused when registered
        name, routing, inert_dead_weights = "inert-straight-through", "straight_through", True

        def compute_mask(self, layer, step):
            return layer.top_k(layer.weights)
    with pytest.raises(sw.Error, match="SW_POLICY_INERT_DEAD_WEIGHTS"):
        sw.register_policy(Wrong)

    class Soft(Wrong):  # soft masks cannot be held at zero outside the mask: refused too
        name, routing, soft_masks, density_contract = "inert-soft", "masked_weights", True, "learned"
    with pytest.raises(sw.Error, match="SW_POLICY_SOFT_MASKS"):
        sw.register_policy(Soft)
