"""Mask-only use: a SparseWire policy computing masks for your own NumPy or torch training loop."""
import ctypes
import json

import numpy as np

from . import _abi
from ._handle import OwnedHandle
from ._arrays import _is_torch, pointer
from ._lib import Error, check, lib


class Policy(OwnedHandle):
    """A policy on its own, computing masks for your arrays (NumPy, or CPU torch tensors without
    copying) — for a NumPy or PyTorch training loop:

        p = sparsewire.Policy("rigl", density=0.1, delta_t=100)
        p.add_layer("fc1.weight", (300, 784))
        masks = p.before_forward(t, T, [w1])              # list of float32 arrays
        ... forward with w1 * masks[0], backward → g1 = dL/d(w1*m1) ...
        if p.needs_gradient(t, T): skip = p.after_backward(t, T, [w1], grads=[g1])

    Weights (and scores) are read before each call and written back after it (policies may
    re-initialise or zero weights), so pass writable float32 C-contiguous buffers. Given torch
    tensors, the masks returned are torch tensors too (CPU, float32, shared with the policy's
    own buffers unless `masks=` is passed). After a call that regrew weights (rigl, snfs,
    momentum-regrow), `optimizer_resets()` says whose optimizer state to reset.
    `structure={"type": "nm", "n": 2, "m": 4}` (or block / channel / fanin, docs/POLICIES.md)
    makes the masks structured.
    """

    _destroy = "sw_policy_destroy"

    def __init__(self, name, density=None, seed=None, scope=None, distribution=None, layers=(), structure=None, **options):
        cfg = {}
        if density is not None:
            cfg["density"] = float(density)
        if seed is not None:
            cfg["seed"] = int(seed)
        masking = {k: v for k, v in (("scope", scope), ("distribution", distribution), ("structure", structure)) if v is not None}
        if masking:
            cfg["masking"] = masking
        if options:
            cfg["policy_options"] = options
        self._lib = lib()
        self._h = ctypes.c_void_p()
        check(self._lib.sw_policy_create(str(name).encode(), json.dumps(cfg).encode(), ctypes.byref(self._h)))
        self.name = name
        self.layers = []
        self.masks = []
        self._torch_masks = None
        for layer_name, shape in layers:
            self.add_layer(layer_name, shape)


    def add_layer(self, name, shape):
        shape = tuple(int(s) for s in shape)
        dims = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        check(self._lib.sw_policy_add_layer(self._h, str(name).encode(), dims, len(shape)))
        self.layers.append((name, shape))
        self.masks.append(np.ones(shape, dtype=np.float32))

    @property
    def info(self):
        r, f = ctypes.c_uint32(), ctypes.c_uint32()
        check(self._lib.sw_policy_info(self._h, ctypes.byref(r), ctypes.byref(f)))
        return {"routing": _abi.ROUTE_NAMES.get(r.value, r.value), "frozen_weights": bool(f.value & _abi.FROZEN_WEIGHTS),
                "uses_scores": bool(f.value & _abi.USES_SCORES), "inert_dead_weights": bool(f.value & _abi.INERT_DEAD_WEIGHTS)}

    def _default_masks(self, weights):
        if weights and _is_torch(weights[0]):
            if self._torch_masks is None:
                import torch
                self._torch_masks = [torch.from_numpy(m) for m in self.masks]  # same memory as self.masks
            return self._torch_masks
        return self.masks

    def _buffers(self, weights, scores=None, grads=None, masks=None):
        """The layer buffers and an array of pointers to them (for the _v2 calls)."""
        n = len(self.layers)
        if weights is None:
            raise Error("weights: one array per declared layer is required")
        for what, xs in (("weights", weights), ("scores", scores), ("grads", grads), ("masks", masks)):
            if xs is not None and len(xs) != n:
                raise Error(f"{what}: {len(xs)} arrays for {n} declared layers")
        masks = masks if masks is not None else self._default_masks(weights)
        arr = (_abi.LayerBuffers * max(n, 1))()
        ptrs = (ctypes.POINTER(_abi.LayerBuffers) * max(n, 1))()
        for i, (name, shape) in enumerate(self.layers):
            b = arr[i]
            b.struct_size = ctypes.sizeof(_abi.LayerBuffers)
            b.weights = pointer(weights[i], f"weights[{i}] ({name})", shape=shape, writable=True)
            b.mask = pointer(masks[i], f"masks[{i}] ({name})", shape=shape, writable=True)
            if scores is not None and scores[i] is not None:
                b.scores = pointer(scores[i], f"scores[{i}] ({name})", shape=shape, writable=True)
            if grads is not None and grads[i] is not None:
                b.grad = pointer(grads[i], f"grads[{i}] ({name})", shape=shape)
            ptrs[i] = ctypes.pointer(b)
        return (arr, ptrs), masks

    def before_forward(self, step, total_steps, weights, scores=None, masks=None):
        """Masks for the forward pass of `step` (written into `masks` or the policy's own
        buffers, and returned: NumPy arrays, or torch tensors when the weights are tensors)."""
        (arr, ptrs), out = self._buffers(weights, scores, None, masks)
        check(self._lib.sw_policy_before_forward_v2(self._h, int(step), int(total_steps), ptrs, len(self.layers)))
        return out

    def active_hooks(self, step, total_steps):
        """Which calls do work at `step` (a set of "before_forward", "after_backward",
        "after_step", "dense_gradient"); skip the others to save their copies. Always call
        before_forward for the first step after creating or loading the policy."""
        bits = self.active_hook_bits(step, total_steps)
        names = ((_abi.HOOK_UPDATE_MASKS, "before_forward"), (_abi.HOOK_AFTER_BACKWARD, "after_backward"),
                 (_abi.HOOK_AFTER_STEP, "after_step"), (_abi.HOOK_DENSE_GRADIENT, "dense_gradient"))
        return {name for bit, name in names if bits & bit}

    def active_hook_bits(self, step, total_steps):
        """`active_hooks` as the C ABI's SW_HOOK_* bits (sparsewire._abi.HOOK_*)."""
        h = ctypes.c_uint32()
        check(self._lib.sw_policy_active_hooks(self._h, int(step), int(total_steps), ctypes.byref(h)))
        return h.value

    def needs_gradient(self, step, total_steps):
        need = ctypes.c_int32()
        check(self._lib.sw_policy_needs_gradient(self._h, int(step), int(total_steps), ctypes.byref(need)))
        return bool(need.value)

    def after_backward(self, step, total_steps, weights, grads=None, scores=None, masks=None):
        """Topology update after backward (RigL, SNIP...). Returns True if the optimizer must
        skip this step."""
        (arr, ptrs), _ = self._buffers(weights, scores, grads, masks)
        skip = ctypes.c_int32()
        check(self._lib.sw_policy_after_backward_v2(self._h, int(step), int(total_steps), ptrs, len(self.layers),
                                                    ctypes.byref(skip)))
        return bool(skip.value)

    def after_step(self, step, total_steps, weights, scores=None, masks=None):
        (arr, ptrs), _ = self._buffers(weights, scores, None, masks)
        check(self._lib.sw_policy_after_step_v2(self._h, int(step), int(total_steps), ptrs, len(self.layers)))

    def evaluation_masks(self, weights, scores=None, masks=None):
        (arr, ptrs), out = self._buffers(weights, scores, None, masks)
        check(self._lib.sw_policy_evaluation_masks_v2(self._h, ptrs, len(self.layers)))
        return out

    def optimizer_resets(self):
        """Per declared layer, the flat indices (int64, ascending) whose optimizer state the
        policy asked to reset during the last call — regrown weights. Reset them in your
        optimizer, e.g. for torch SGD: `state["momentum_buffer"].view(-1)[idx] = 0`."""
        out = []
        for i in range(len(self.layers)):
            needed = ctypes.c_uint64()
            check(self._lib.sw_policy_optimizer_resets(self._h, i, None, 0, ctypes.byref(needed)))
            buf = np.empty(needed.value, dtype=np.uint64)
            if needed.value:
                check(self._lib.sw_policy_optimizer_resets(self._h, i, buf.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64)),
                                                           needed.value, ctypes.byref(needed)))
            out.append(buf.astype(np.int64))
        return out

    def state_bytes(self):
        """The policy's state (masks, per-layer policy state, its own state bytes, RNG, whether it
        has started; not your weights or scores) as safetensors bytes, for your checkpoint."""
        needed = ctypes.c_uint64()
        check(self._lib.sw_policy_save_state(self._h, None, 0, ctypes.byref(needed)))
        buf = ctypes.create_string_buffer(max(1, needed.value))
        check(self._lib.sw_policy_save_state(self._h, buf, needed.value, ctypes.byref(needed)))
        return buf.raw[:needed.value]

    def load_state_bytes(self, data):
        """Restores `state_bytes()` output into this policy (same name, same layers declared in
        the same order, before its first step call); the next step call continues exactly."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise Error(f"state must be bytes from Policy.state_bytes(), got {type(data).__name__}")
        data = bytes(data)
        buf = ctypes.create_string_buffer(data, len(data))
        check(self._lib.sw_policy_load_state(self._h, buf, len(data)))
