"""How gradients reach weights and scores through ŵ = w ⊙ m, per policy routing (the engine's
rules, Sources/SparseWireMasking/MaskingEngine.swift):

    straight_through, none   dL/dw = dL/dŵ                       (dnw: every weight learns)
    masked_weights           dL/dw = dL/dŵ ⊙ m                   (rigl, set, snfs, static masks)
    scores                   dL/ds = dL/dŵ ⊙ w                   (weights frozen)
    abs_scores               dL/ds = dL/dŵ ⊙ w ⊙ sign(s), sign(0) = +1   (edge-popup)
    sigmoid_scores           dL/ds = dL/dŵ ⊙ w ⊙ σ(s)(1 − σ(s))  (supermask)

The backward pass also hands dL/dŵ to the sparsifier on the steps whose policy asked for the
dense gradient (RigL's update steps), accumulated over several backward passes."""
import torch
from torch import nn

SCORE_ROUTES = ("scores", "abs_scores", "sigmoid_scores")
# How a training forward pass forms ŵ (Sparsifier._product, chosen per step):
ROUTED, PLAIN, IDENTITY = 0, 1, 2  # _Route (capture, scores, straight-through) | w * m | w itself


class _Route(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, s, m, layer):
        ctx.layer = layer
        ctx.save_for_backward(w, s, m)
        return w * m

    @staticmethod
    def backward(ctx, g):
        w, s, m = ctx.saved_tensors
        layer = ctx.layer
        layer.capture(g)
        route = layer.routing
        gw = gs = None
        if route in SCORE_ROUTES:
            if ctx.needs_input_grad[1]:
                v = g * w
                if route == "abs_scores":
                    gs = torch.where(s < 0, -v, v)
                elif route == "sigmoid_scores":
                    sg = torch.sigmoid(s)
                    gs = v * sg * (1 - sg)
                else:
                    gs = v
        elif ctx.needs_input_grad[0]:
            gw = g * m if route == "masked_weights" else g
        return gw, gs, None, None


class MaskedWeight(nn.Module):
    """The parametrization `sparsify` puts on a layer's weight: ŵ = w ⊙ m with the policy's
    training mask in `train()` mode and its evaluation mask in `eval()` mode. Holds the layer's
    scores (an `nn.Parameter`, policies that learn scores) and its index in the sparsifier. The
    per-step choices (which product, whether dL/dŵ is captured) live on the sparsifier, a plain
    object, so a step sets no module attribute."""

    def __init__(self, sparsifier, index, routing, scores=None):
        super().__init__()
        self._sparsifier = (sparsifier,)  # a tuple: not a submodule, no reference cycle in the module tree
        self.index = index
        self.routing = routing
        if scores is not None:
            self.scores = scores

    def capture(self, g):
        """Adds dL/dŵ to the sparsifier's capture of this layer (steps that want it)."""
        sp = self._sparsifier[0]
        if sp._want:
            c = sp._captured[self.index]
            sp._captured[self.index] = g.detach().clone() if c is None else c + g.detach()

    def forward(self, w):
        sp = self._sparsifier[0]
        if self.training:
            if sp._masks_step != sp.step_count:
                sp._start_step()
            mode = sp._product
            if mode == IDENTITY:
                return w  # w ⊙ m = w; the gradient is masked as it is accumulated (Sparsifier._grad_hook)
            m = sp.masks[self.index]
            if mode == PLAIN:
                return w * m  # masked weights, nothing to capture: autograd's own product routes g ⊙ m
        else:
            m = sp._evaluation_mask(self.index)
        s = getattr(self, "scores", None)
        if s is None:
            s = w  # a placeholder tensor; no gradient goes to it
        return _Route.apply(w, s, m, self)
