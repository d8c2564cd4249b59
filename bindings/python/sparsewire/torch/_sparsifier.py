"""The Sparsifier: a SparseWire mask policy driving a PyTorch model and optimizer in place."""
import torch
from torch import nn
from torch.nn.utils import parametrize

from .. import _abi
from .._errors import ArgumentError, DataError, StateError
from ..policy import MaskPolicy, policies, register_policy
from ..standalone import Policy
from ._routing import IDENTITY, PLAIN, ROUTED, SCORE_ROUTES, MaskedWeight
from ._select import DEFAULT_TYPES, check_weight, select_layers

STATE_FORMAT = "sparsewire.torch/1"


def _policy_name(policy):
    if isinstance(policy, str):
        return policy
    if isinstance(policy, type) and issubclass(policy, MaskPolicy):
        if policy.name not in policies():
            register_policy(policy)
        return policy.name
    raise ArgumentError(f"policy must be a policy name (see sparsewire.policies()) or a sparsewire.MaskPolicy subclass, got {policy!r}")


class Sparsifier:
    """A mask policy attached to a model and its optimizer (build it with `sparsify`).

    Per training step t (counted in optimizer steps):
    1. the first forward pass in `train()` mode runs the policy's `before_forward(t)`: masks
       (and, for some policies, weights or scores) are written in place;
    2. backward: gradients reach weights or scores by the policy's routing (`_routing.py`); on
       steps where the policy asks for it (`needs_gradient`, e.g. RigL's update steps) dL/dŵ is
       captured for it;
    3. `optimizer.step()`: before the update the policy's `after_backward` runs (topology
       updates; regrown weights get their optimizer state — SGD momentum, Adam moments — zeroed);
       when it asks to skip the update, every parameter's gradient is hidden from the optimizer
       for that call (no change, no momentum or weight decay; the LR schedule still advances);
       after the update `after_step` runs and t advances.
    With inert dead weights (`dead_weights="auto"` and a policy that declares them), after every
    policy call the masked weights and their optimizer state are set to zero (and their
    gradients, after `after_backward`), the forward pass uses the weight itself (ŵ = w, as
    w ⊙ m = w then), each weight's gradient is multiplied by its mask in place as it is
    accumulated (a post-accumulate-grad hook), so gradient clipping and the optimizer see
    dL/dŵ ⊙ m as before, and after every optimizer step the weights are multiplied by their
    masks again (one `_foreach_mul_`), whatever the optimizer did to masked entries.
    In `eval()` mode the layers use the policy's evaluation masks (recomputed when t changed).

    Attributes: `layers` ([(name, module)]), `masks` (training masks, torch tensors sharing memory
    with the policy), `scores` (per layer an `nn.Parameter` for policies that learn scores, else
    None), `step_count`, `total_steps`, `policy` (the `sparsewire.Policy`), `info`.
    """

    def __init__(self, model, optimizer, policy, density, total_steps, layers=None, dense_first=False, dense_last=False,
                 scope=None, distribution=None, structure=None, seed=None, hooks=True, score_group=None, dead_weights="auto",
                 **options):
        if not isinstance(model, nn.Module):
            raise ArgumentError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ArgumentError(f"optimizer must be a torch.optim.Optimizer over the model's parameters, got {type(optimizer).__name__}")
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
            raise ArgumentError(f"total_steps must be the run's number of optimizer steps (epochs × batches per epoch), an int ≥ 1; got {total_steps!r}")
        if dead_weights not in ("auto", "keep"):
            raise ArgumentError(f"dead_weights must be 'auto' or 'keep', got {dead_weights!r}")
        if getattr(model, "_sparsewire_sparsifier", None) is not None:
            raise StateError("this model is already sparsified; call sparsewire.torch.remove(model) first")
        self.model, self.optimizer, self.total_steps = model, optimizer, total_steps
        self.layers = select_layers(model, layers, dense_first, dense_last)
        for name, m in self.layers:
            if parametrize.is_parametrized(m, "weight"):
                raise StateError(f"{name}.weight already has a parametrization; sparsewire.torch needs a plain weight")
            check_weight(name, m.weight)
        in_optimizer = {id(p) for g in optimizer.param_groups for p in g["params"]}
        self._shapes = [tuple(m.weight.shape) for _, m in self.layers]  # read before the parametrizations exist
        self._config = dict(name=_policy_name(policy), density=density, seed=seed, scope=scope, distribution=distribution,
                            structure=structure)
        self._options = options
        self.policy = self._new_policy()
        self.info = self.policy.info
        self.routing = self.info["routing"]
        # Masked weights held at zero: ŵ = w needs no product (see the class doc).
        # (torch < 2.1 has no post-accumulate-grad hooks: the product path then, as with "keep")
        self.zeroed = (dead_weights == "auto" and self.routing == "masked_weights" and self.info["inert_dead_weights"]
                       and hasattr(torch.Tensor, "register_post_accumulate_grad_hook"))
        self._bind_masks()
        self.eval_masks = [torch.ones_like(m.weight, memory_format=torch.contiguous_format).detach() for _, m in self.layers]
        weights = [m.weight for _, m in self.layers]
        for (name, m), w in zip(self.layers, weights):
            if self.routing not in SCORE_ROUTES and id(w) not in in_optimizer:
                raise ArgumentError(f"{name}.weight is not among the optimizer's parameters; build the optimizer over model.parameters() before sparsify")
        # Policies that learn scores: weights and biases of every Linear/Conv layer stay at their
        # initialisation (as the engine freezes them); the scores join the optimizer.
        self._requires_grad = {}
        if self.info["frozen_weights"]:
            for _, m in model.named_modules():
                if isinstance(m, DEFAULT_TYPES) or any(m is lm for _, lm in self.layers):
                    for p in (getattr(m, "weight", None), getattr(m, "bias", None)):
                        if isinstance(p, nn.Parameter):
                            self._requires_grad.setdefault(p, p.requires_grad)
                            p.requires_grad_(False)
        self.scores = [nn.Parameter(torch.zeros_like(w, memory_format=torch.contiguous_format)) if self.info["uses_scores"] else None
                       for w in weights]
        self._score_group = None
        if self.info["uses_scores"]:
            self._score_group = {"params": list(self.scores), **(score_group or {})}
            optimizer.add_param_group(self._score_group)
            self._score_group = optimizer.param_groups[-1]
        self.step_count = 0
        self._masks_step = self._eval_step = None
        self._want = False
        self._product = ROUTED
        self._captured = [None] * len(self.layers)
        self._params = []
        for i, (name, m) in enumerate(self.layers):
            pm = MaskedWeight(self, i, self.routing, self.scores[i])
            parametrize.register_parametrization(m, "weight", pm, unsafe=True)
            self._params.append(pm)
        self._weights = [m.parametrizations.weight.original for _, m in self.layers]
        self._grad_hooks = [w.register_post_accumulate_grad_hook(self._grad_hook(i)) for i, w in enumerate(self._weights)] \
            if self.zeroed else []
        self._started = False  # before_forward runs at the first step whatever the hooks say
        self._hooks = 0
        self._skipped = None
        self.skipped_steps = 0
        self._handles = []
        if hooks:
            self._handles = [optimizer.register_step_pre_hook(lambda o, a, k: self._before_update()),
                             optimizer.register_step_post_hook(lambda o, a, k: self._after_update())]
        model._sparsewire_sparsifier = self

    # -- the policy ------------------------------------------------------------------------
    def _new_policy(self):
        c = self._config
        return Policy(c["name"], c["density"], seed=c["seed"], scope=c["scope"], distribution=c["distribution"],
                      structure=c["structure"],
                      layers=[(f"{n}.weight", shape) for (n, _), shape in zip(self.layers, self._shapes)], **self._options)

    def _bind_masks(self):
        # torch-allocated (aligned, from torch's allocator); the policy writes them in place
        self.masks = [torch.ones(shape) for shape in self._shapes]

    def _score_list(self):
        return self.scores if self.info["uses_scores"] else None

    # -- called by the parametrizations ------------------------------------------------------
    def _evaluation_mask(self, i):
        if self._eval_step != self.step_count:
            with torch.no_grad():
                self.policy.evaluation_masks(self._weights, scores=self._score_list(), masks=self.eval_masks)
            self._eval_step = self.step_count
        return self.eval_masks[i]

    def _start_step(self):
        t, total = self.step_count, self.total_steps
        if t >= total:
            raise StateError(f"sparsewire.torch: training step {t} is past total_steps={total}; "
                        f"pass the run's real number of optimizer steps to sparsify")
        self._hooks = self.policy.active_hook_bits(t, total)
        if not self._started or self._hooks & _abi.HOOK_UPDATE_MASKS:
            with torch.no_grad():
                self.policy.before_forward(t, total, self._weights, scores=self._score_list(), masks=self.masks)
            self._started = True
            self._reset_optimizer_state()
            self._zero_dead()
        self._want = bool(self._hooks & _abi.HOOK_DENSE_GRADIENT)
        if self._want:
            self._captured = [None] * len(self._params)
        plain = self.routing == "masked_weights" and not self._want
        self._product = (IDENTITY if self.zeroed else PLAIN) if plain else ROUTED
        self._masks_step = t
        self._eval_step = None

    # -- the optimizer step ----------------------------------------------------------------
    def _before_update(self):
        t, total = self.step_count, self.total_steps
        if self._masks_step != t:
            raise StateError(f"sparsewire.torch: optimizer.step() for step {t} came before any forward pass in train() mode "
                        f"(the masks of step {t} are computed at its first training forward)")
        skip = False
        if self._hooks & _abi.HOOK_AFTER_BACKWARD:
            grads = [] if self._want else None
            for (name, _), c in zip(self.layers, self._captured if self._want else []):
                if c is None:
                    raise StateError(f"sparsewire.torch: policy '{self._config['name']}' needs dL/dŵ at step {t}, but none reached "
                                f"{name}.weight; call loss.backward() through the model in train() mode before optimizer.step()")
                grads.append(c.contiguous())
            with torch.no_grad():
                skip = self.policy.after_backward(t, total, self._weights, grads=grads, scores=self._score_list(), masks=self.masks)
            self._captured = [None] * len(self._params)
            self._reset_optimizer_state()
            self._zero_dead(grads=True)  # weights it dropped must not move with this step's gradient
        if skip:
            self.skipped_steps += 1
            self._skipped = [(p, p.grad) for g in self.optimizer.param_groups for p in g["params"]]
            for p, _ in self._skipped:
                p.grad = None

    def _after_update(self):
        if self._skipped is not None:
            for p, g in self._skipped:
                p.grad = g
            self._skipped = None
        if self.zeroed:  # whatever the optimizer did (one that mixes entries, a hand-set grad), ŵ = w holds again
            with torch.no_grad():
                torch._foreach_mul_(self._weights, self.masks)
        if self._hooks & _abi.HOOK_AFTER_STEP:
            with torch.no_grad():
                self.policy.after_step(self.step_count, self.total_steps, self._weights, scores=self._score_list(), masks=self.masks)
            self._reset_optimizer_state()
            self._zero_dead()
        self.step_count += 1

    def _grad_hook(self, i):
        def hook(w):
            if w.grad is not None:
                w.grad.mul_(self.masks[i])
        return hook

    def _zero_dead(self, grads=False):
        """Inert dead weights: masked weights and their per-weight optimizer state (and with
        `grads`, their gradients) become 0."""
        if not self.zeroed:
            return
        with torch.no_grad():
            for w, m in zip(self._weights, self.masks):
                w.mul_(m)
                if grads and w.grad is not None:
                    w.grad.mul_(m)
                for v in self._per_weight_state(w):
                    v.mul_(m)

    def _per_weight_state(self, w):
        """The optimizer's state tensors shaped like `w` (SGD momentum, Adam moments, …)."""
        return [v for v in (self.optimizer.state.get(w) or {}).values() if torch.is_tensor(v) and v.shape == w.shape]

    def _reset_optimizer_state(self):
        """Zeroes the optimizer state (every per-weight tensor: momentum, Adam moments) of the
        weights the policy regrew during its last call."""
        for w, idx in zip(self._weights, self.policy.optimizer_resets()):
            if len(idx) == 0:
                continue
            where = torch.from_numpy(idx)
            for v in self._per_weight_state(w):
                v.view(-1)[where] = 0

    def step(self):
        """One optimizer step with the policy's hooks: `loss.backward(); sparsifier.step()` is
        the same as `loss.backward(); optimizer.step()` (with hooks=False, only this runs them)."""
        if self._handles:
            return self.optimizer.step()
        self._before_update()
        try:
            out = self.optimizer.step()
        finally:
            self._after_update()
        return out

    # -- state and removal -----------------------------------------------------------------
    def state_dict(self):
        """The sparsifier's state between steps (after `optimizer.step()`): the step count and
        the policy's state (masks, its own state, RNG) as bytes. With the model's and the
        optimizer's `state_dict`s it resumes a run exactly. torch.save can store it."""
        return {"format": STATE_FORMAT, "policy": self._config["name"], "step": self.step_count,
                "total_steps": self.total_steps, "skipped_steps": self.skipped_steps,
                "layers": [n for n, _ in self.layers], "policy_state": self.policy.state_bytes()}

    def load_state_dict(self, state):
        """Restores `state_dict()` output into a sparsifier of the same policy, layers and
        total_steps (load the model's and the optimizer's state too)."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise DataError(f"not a sparsewire.torch state (expected a dict with format {STATE_FORMAT!r})")
        for key, mine in (("policy", self._config["name"]), ("total_steps", self.total_steps),
                          ("layers", [n for n, _ in self.layers])):
            if state.get(key) != mine:
                raise StateError(f"the state's {key} is {state.get(key)!r}, this sparsifier's {mine!r}")
        policy = self._new_policy()
        policy.load_state_bytes(state["policy_state"])
        self.policy = policy
        self._bind_masks()
        self._started = False
        self.step_count = int(state["step"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self._masks_step = self._eval_step = None

    def remove(self, layout="plain"):
        """Detaches the policy. `layout="plain"`: each weight becomes ŵ = w ⊙ m (the evaluation
        mask); `"prune"`: torch.nn.utils.prune's layout (`weight_orig`, `weight_mask` buffer, a
        forward pre-hook). Scores leave the model and the optimizer; frozen weights are unfrozen."""
        if layout not in ("plain", "prune"):
            raise ArgumentError(f"layout must be 'plain' or 'prune', got {layout!r}")
        masks = [self._evaluation_mask(i).clone() for i in range(len(self.layers))]
        for h in self._handles + self._grad_hooks:
            h.remove()
        self._handles, self._grad_hooks = [], []
        for (name, m), mask in zip(self.layers, masks):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
            if layout == "plain":
                with torch.no_grad():
                    m.weight.mul_(mask)
            else:
                import torch.nn.utils.prune as prune
                prune.custom_from_mask(m, "weight", mask)
        if self._score_group is not None:
            self.optimizer.param_groups.remove(self._score_group)
            for s in self.scores:
                self.optimizer.state.pop(s, None)
        for p, flag in self._requires_grad.items():
            p.requires_grad_(flag)
        self.model._sparsewire_sparsifier = None
