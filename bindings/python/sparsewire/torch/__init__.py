"""`sparsewire.torch`: any PyTorch model, any SparseWire policy, in three lines.

    import sparsewire.torch
    sparsifier = sparsewire.torch.sparsify(model, optimizer, policy="rigl", density=0.1, total_steps=epochs * len(loader))
    ...  # the training loop stays as it is: loss.backward(); optimizer.step()
    sparsewire.torch.remove(model)   # bake the masks in (or layout="prune" for torch.nn.utils.prune's layout)

Needs torch (CPU tensors); torch is not a dependency of the `sparsewire` package itself.
See `Sparsifier` for what happens at each step.
"""
try:
    import torch as _torch  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError('sparsewire.torch needs PyTorch: pip install "torch==2.13.0+cpu" (CPU wheel)') from e

from ._sparsifier import Sparsifier
from ._routing import MaskedWeight

__all__ = ["MaskedWeight", "Sparsifier", "remove", "sparsify"]


def sparsify(model, optimizer, policy="rigl", density=0.1, total_steps=None, *, layers=None, dense_first=False,
             dense_last=False, scope=None, distribution=None, structure=None, seed=None, hooks=True, score_group=None,
             dead_weights="auto", **options):
    """Masks the model's Linear and Conv layers with a SparseWire policy and hooks it into the
    optimizer; returns the `Sparsifier`.

    policy: a name (built-in, a loaded plugin's, a registered Python policy's) or a
        `sparsewire.MaskPolicy` subclass (registered on first use).
    density: the kept fraction; total_steps: the run's number of optimizer steps (schedules).
    layers: None (every Linear / Conv layer), module names, or `fn(name, module) -> bool`;
        dense_first / dense_last leave the first / last chosen layer dense.
    scope ("layer" or "global"), distribution ("uniform", "erk"; rigl defaults to ERK),
        structure ({"type": "nm", "n": 2, "m": 4}, ...), seed and **options (policy options
        such as delta_t) as in the engine's config (docs/POLICIES.md).
    hooks: False leaves the optimizer alone; call `sparsifier.step()` instead of optimizer.step().
    score_group: optimizer settings for the scores' parameter group (policies that learn scores),
        e.g. {"weight_decay": 0}; default: the optimizer's defaults.
    dead_weights: "auto" (default) keeps masked weights and their optimizer state at zero when
        the policy declares them inert (rigl, set, snfs, random-static, lottery-one-shot, Python
        policies with `inert_dead_weights = True`): the layer then trains its plain weight with
        a masked gradient (masked in place as it is accumulated) and no product w ⊙ m, the same
        arithmetic for every kept weight; "keep" always computes ŵ = w ⊙ m and leaves masked
        weights as the optimizer left them.
    Errors (all `sparsewire.Error`): ArgumentError (a TypeError/ValueError) for a weight on
    another device than the CPU, not float32 or not contiguous; NotFoundError (a KeyError) for
    an unknown layer name; ConfigError for an unknown policy or option; StateError for a model
    already sparsified.
    """
    return Sparsifier(model, optimizer, policy, density, total_steps, layers=layers, dense_first=dense_first,
                      dense_last=dense_last, scope=scope, distribution=distribution, structure=structure, seed=seed,
                      hooks=hooks, score_group=score_group, dead_weights=dead_weights, **options)


def remove(model, layout="plain"):
    """Detaches the model's sparsifier and bakes its masks in: `layout="plain"` writes ŵ = w ⊙ m
    into each weight; `"prune"` leaves torch.nn.utils.prune's layout (`weight_orig`,
    `weight_mask`). Errors: the model is not sparsified."""
    sp = getattr(model, "_sparsewire_sparsifier", None)
    if sp is None:
        from .._errors import StateError
        raise StateError("this model has no sparsifier (sparsewire.torch.sparsify was not called, or remove already was)")
    sp.remove(layout)
