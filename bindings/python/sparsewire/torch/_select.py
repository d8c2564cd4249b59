"""Which layers a sparsifier masks, and the checks their weights must pass (CPU, float32,
contiguous, dense layout: the policy reads and writes the tensors' own memory)."""
import torch
from torch import nn

from .._errors import ArgumentError, NotFoundError

DEFAULT_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _has_weight(module):
    w = getattr(module, "weight", None)
    return isinstance(w, nn.Parameter) and w.dim() >= 2


def select_layers(model, layers=None, dense_first=False, dense_last=False):
    """[(name, module)] in registration order. `layers`: None (every Linear / Conv layer), a list
    of module names, or a predicate `fn(name, module) -> bool` over modules with a weight of rank
    ≥ 2. `dense_first` / `dense_last` leave the first / last selected layer dense."""
    named = [(n, m) for n, m in model.named_modules() if n]
    if layers is None:
        chosen = [(n, m) for n, m in named if isinstance(m, DEFAULT_TYPES)]
    elif callable(layers):
        chosen = [(n, m) for n, m in named if _has_weight(m) and layers(n, m)]
    else:
        if isinstance(layers, str):
            raise ArgumentError(f"layers must be a list of module names or a predicate, got the string {layers!r} (write [{layers!r}])")
        by_name = dict(named)
        wanted = list(layers)
        for n in wanted:
            if n not in by_name:
                known = ", ".join(k for k, m in named if _has_weight(m))
                raise NotFoundError(f"layers: no module named {n!r} in the model; modules with a weight: {known}")
            if not _has_weight(by_name[n]):
                raise ArgumentError(f"layers: module {n!r} ({type(by_name[n]).__name__}) has no weight parameter of rank ≥ 2 to mask")
        if len(set(wanted)) != len(wanted):
            raise ArgumentError(f"layers: a module is named twice in {wanted}")
        order = {n: i for i, (n, _) in enumerate(named)}
        chosen = sorted(((n, by_name[n]) for n in wanted), key=lambda nm: order[nm[0]])
    if dense_first:
        chosen = chosen[1:]
    if dense_last:
        chosen = chosen[:-1]
    if not chosen:
        raise ArgumentError("no layer to sparsify: the model has no matching Linear/Conv layer (check layers=, dense_first, dense_last)")
    return chosen


def check_weight(name, w):
    """Refuses weights the policy cannot work on in place, naming the layer and the fix."""
    if w.device.type != "cpu":
        raise ArgumentError(f"{name}.weight is on {w.device}: SparseWire's policies run on the CPU and work on the "
                    f"tensors' own memory; train on the CPU (model.cpu()) to use sparsewire.torch")
    if w.layout != torch.strided:
        raise ArgumentError(f"{name}.weight has layout {w.layout}; sparsewire.torch needs dense (strided) weights")
    if w.dtype != torch.float32:
        raise ArgumentError(f"{name}.weight is {w.dtype}; sparsewire.torch needs float32 weights (model.float())")
    if not w.is_contiguous():
        raise ArgumentError(f"{name}.weight is not contiguous (e.g. channels_last); use model.to(memory_format=torch.contiguous_format)")
