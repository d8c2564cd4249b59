"""Mask policies from Python: policies written in Python (MaskPolicy + register_policy), the
registry (policies, load_plugin), and mask-only use over NumPy arrays / torch tensors (Policy)."""
import ctypes
import itertools
import json
import re
import sys
import traceback
from collections import namedtuple

import numpy as np

from . import _abi
from ._arrays import pointer
from ._lib import Error, check, lib, two_call_string

Step = namedtuple("Step", "step epoch steps_per_epoch total_steps training")


def policies():
    """Names of every registered policy: built-ins, plugins, Python policies."""
    return two_call_string(lib().sw_policy_names).split("\n")


def load_plugin(path):
    """Loads a plugin library; returns the number of policies it added (0 if already loaded)."""
    import os
    added = ctypes.c_uint32()
    check(lib().sw_load_plugin(os.fspath(path).encode(), ctypes.byref(added)))
    return added.value


class LayerView:
    """One masked layer as a Python policy sees it. `weights`, `scores`, `grad` and `mask` are
    NumPy views of the engine's memory (no copies), valid during the callback only; write
    `mask` (and `scores` in prepare) in place."""

    def __init__(self, layer):
        self.name = layer.name.decode()
        self.index = layer.index
        self.shape = tuple(layer.shape[i] for i in range(layer.rank))
        self.count = layer.count
        self.keep_count = layer.keep_count
        self.density = layer.density
        self.weights = self._view(layer.weights, writable=False)
        self.mask = self._view(layer.mask)
        self.scores = self._view(layer.scores)
        self.grad = self._view(layer.grad, writable=False)

    def _view(self, ptr, writable=True):
        if not ptr:
            return None
        a = np.ctypeslib.as_array(ptr, shape=self.shape)
        a.flags.writeable = writable
        return a


class MaskPolicy:
    """Base class of a mask policy written in Python. Subclass it, set `name`, implement
    `compute_mask`, then `sparsewire.register_policy(MyPolicy)` and train with `policy: name`.

    Class attributes: `name` ([a-z0-9_-]+), `summary`, `routing` ("masked_weights",
    "straight_through", "scores", "abs_scores", "sigmoid_scores", "none"), `frozen_weights`,
    `uses_scores`, `option_help` ({option: help}). An instance is made per training run with
    `self.options` (dict) and `self.density`.
    """

    name = None
    summary = ""
    routing = "masked_weights"
    frozen_weights = False
    uses_scores = False
    option_help = {}

    def __init__(self, options, density):
        self.options = options
        self.density = density
        self._host = None

    # hooks ---------------------------------------------------------------------------------
    def prepare(self, layers):
        """Once before training (masks are all ones; scores zero if uses_scores)."""

    def compute_mask(self, layer, step):
        """Before each training step: return a 0/1 array of layer.shape, or write layer.mask and
        return None."""
        raise NotImplementedError(f"{type(self).__name__}.compute_mask")

    def needs_gradient(self, step):
        """True to receive layer.grad in update() of this step."""
        return False

    def update(self, layers, step):
        """After backward (grads present if needs_gradient said so). Return True to skip this
        step's optimizer update."""
        return False

    def evaluation_mask(self, layer):
        """The mask evaluation uses (None: keep the training mask)."""
        return None

    # host services ---------------------------------------------------------------------------
    def topk_mask(self, values, k):
        """0/1 float32 mask with exactly k ones at the k largest values (ties: lower index)."""
        v = np.ascontiguousarray(values, dtype=np.float32)
        out = np.empty_like(v)
        h = self._host.contents
        h.topk_mask(v.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), v.size, int(k),
                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def uniform(self):
        """A float in [0, 1) from the engine's seeded stream."""
        h = self._host.contents
        return h.random_uniform(h.context)

    def log(self, message, level=1):
        h = self._host.contents
        h.log(h.context, level, str(message).encode())


# Everything handed to the library must live as long as the process.
_keep = []
_instances = {}
_ids = itertools.count(1)
_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")


def _fail(host, exc):
    msg = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, Error):
        tb = traceback.extract_tb(exc.__traceback__)
        if tb:
            msg += f" (at {tb[-1].filename}:{tb[-1].lineno})"
    try:
        h = host.contents
        h.set_error(h.context, msg.encode("utf-8", "replace"))
    except Exception:
        print(f"sparsewire: policy callback failed: {msg}", file=sys.stderr)
    return _abi.PLUGIN_FAILED


def _layers(arr, n):
    return [LayerView(arr[i].contents) for i in range(n)]


def _step(info):
    s = info.contents
    return Step(s.step, s.epoch, s.steps_per_epoch, s.total_steps, bool(s.training))


def register_policy(cls):
    """Registers a MaskPolicy subclass by its `name` (process-wide; names are unique).
    Returns the class, so it works as a decorator."""
    if not (isinstance(cls, type) and issubclass(cls, MaskPolicy)):
        raise Error(f"register_policy needs a MaskPolicy subclass, got {cls!r}")
    if not isinstance(cls.name, str) or not _NAME.match(cls.name):
        raise Error(f"{cls.__name__}.name must be 1-64 characters of [a-z0-9_-], got {cls.name!r}")
    if cls.routing not in _abi.ROUTES:
        raise Error(f"{cls.__name__}.routing must be one of {', '.join(_abi.ROUTES)}, got {cls.routing!r}")
    if cls.compute_mask is MaskPolicy.compute_mask:
        raise Error(f"{cls.__name__} must implement compute_mask")

    def create(_user, host, options_json, density, state):
        try:
            options = json.loads(options_json.decode()) if options_json else {}
            obj = cls(options, density)
            obj._host = host
            key = next(_ids)
            _instances[key] = obj
            state[0] = key
            return _abi.PLUGIN_OK
        except BaseException as e:
            return _fail(host, e)

    def destroy(state):
        _instances.pop(state, None)

    def prepare(state, layers, n):
        obj = _instances[state]
        try:
            obj.prepare(_layers(layers, n))
            return _abi.PLUGIN_OK
        except BaseException as e:
            return _fail(obj._host, e)

    def needs_gradient(state, info):
        obj = _instances[state]
        try:
            return 1 if obj.needs_gradient(_step(info)) else 0
        except BaseException as e:
            _fail(obj._host, e)
            return 0

    def write(layer, m, what):
        if m is None:
            return
        m = np.asarray(m, dtype=np.float32)
        if m.shape != layer.shape and m.size != layer.count:
            raise Error(f"{what} for {layer.name} has shape {m.shape}, expected {layer.shape}")
        layer.mask[...] = m.reshape(layer.shape)

    def update_masks(state, layers, n, info):
        obj = _instances[state]
        try:
            step = _step(info)
            for layer in _layers(layers, n):
                write(layer, obj.compute_mask(layer, step), "compute_mask")
            return _abi.PLUGIN_OK
        except BaseException as e:
            return _fail(obj._host, e)

    def after_backward(state, layers, n, info, skip):
        obj = _instances[state]
        try:
            skip[0] = 1 if obj.update(_layers(layers, n), _step(info)) else 0
            return _abi.PLUGIN_OK
        except BaseException as e:
            return _fail(obj._host, e)

    def evaluation_masks(state, layers, n):
        obj = _instances[state]
        try:
            for layer in _layers(layers, n):
                write(layer, obj.evaluation_mask(layer), "evaluation_mask")
            return _abi.PLUGIN_OK
        except BaseException as e:
            return _fail(obj._host, e)

    options = (_abi.Option * max(1, len(cls.option_help)))()
    strings = []
    for i, (k, v) in enumerate(cls.option_help.items()):
        strings += [k.encode(), str(v).encode()]
        options[i].name, options[i].help = strings[-2], strings[-1]
    d = _abi.sized(_abi.PolicyDef)
    name, summary = cls.name.encode(), (cls.summary or f"Python policy {cls.__name__}").encode()
    d.name, d.summary = name, summary
    d.routing = _abi.ROUTES[cls.routing]
    d.flags = (_abi.FROZEN_WEIGHTS if cls.frozen_weights else 0) | (_abi.USES_SCORES if cls.uses_scores else 0)
    d.options, d.option_count = options, len(cls.option_help)
    callbacks = [_abi.CREATE(create), _abi.DESTROY(destroy), _abi.PREPARE(prepare), _abi.NEEDS_GRADIENT(needs_gradient),
                 _abi.UPDATE_MASKS(update_masks), _abi.AFTER_BACKWARD(after_backward), _abi.EVALUATION_MASKS(evaluation_masks)]
    (d.create, d.destroy, d.prepare, d.needs_gradient, d.update_masks, d.after_backward, d.evaluation_masks) = callbacks
    check(lib().sw_register_policy(ctypes.byref(d)))
    _keep.append((d, options, strings, name, summary, callbacks))
    return cls


class Policy:
    """A policy on its own, computing masks for your arrays (NumPy, or CPU torch tensors without
    copying) — for a NumPy or PyTorch training loop:

        p = sparsewire.Policy("rigl", density=0.1, delta_t=100)
        p.add_layer("fc1.weight", (300, 784))
        masks = p.before_forward(t, T, [w1])              # list of float32 arrays
        ... forward with w1 * masks[0], backward → g1 = dL/d(w1*m1) ...
        if p.needs_gradient(t, T): skip = p.after_backward(t, T, [w1], grads=[g1])

    Weights (and scores) are read before each call and written back after it (policies may
    re-initialise or zero weights), so pass writable float32 C-contiguous buffers.
    """

    def __init__(self, name, density=None, seed=None, scope=None, distribution=None, layers=(), **options):
        cfg = {}
        if density is not None:
            cfg["density"] = float(density)
        if seed is not None:
            cfg["seed"] = int(seed)
        masking = {k: v for k, v in (("scope", scope), ("distribution", distribution)) if v is not None}
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
        for layer_name, shape in layers:
            self.add_layer(layer_name, shape)

    def close(self):
        if getattr(self, "_h", None) and self._h.value:
            self._lib.sw_policy_destroy(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

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
                "uses_scores": bool(f.value & _abi.USES_SCORES)}

    def _buffers(self, weights, scores=None, grads=None, masks=None):
        n = len(self.layers)
        for what, xs in (("weights", weights), ("scores", scores), ("grads", grads), ("masks", masks)):
            if xs is not None and len(xs) != n:
                raise Error(f"{what}: {len(xs)} arrays for {n} declared layers")
        masks = masks if masks is not None else self.masks
        arr = (_abi.LayerBuffers * max(n, 1))()
        for i, (name, shape) in enumerate(self.layers):
            b = arr[i]
            b.struct_size = ctypes.sizeof(_abi.LayerBuffers)
            b.weights = pointer(weights[i], f"weights[{i}] ({name})", shape=shape, writable=True)
            b.mask = pointer(masks[i], f"masks[{i}] ({name})", shape=shape, writable=True)
            if scores is not None and scores[i] is not None:
                b.scores = pointer(scores[i], f"scores[{i}] ({name})", shape=shape, writable=True)
            if grads is not None and grads[i] is not None:
                b.grad = pointer(grads[i], f"grads[{i}] ({name})", shape=shape)
        return arr, masks

    def before_forward(self, step, total_steps, weights, scores=None, masks=None):
        """Masks for the forward pass of `step` (written into `masks` or self.masks, returned)."""
        arr, out = self._buffers(weights, scores, None, masks)
        check(self._lib.sw_policy_before_forward(self._h, int(step), int(total_steps), arr, len(self.layers)))
        return out

    def needs_gradient(self, step, total_steps):
        need = ctypes.c_int32()
        check(self._lib.sw_policy_needs_gradient(self._h, int(step), int(total_steps), ctypes.byref(need)))
        return bool(need.value)

    def after_backward(self, step, total_steps, weights, grads=None, scores=None, masks=None):
        """Topology update after backward (RigL, SNIP...). Returns True if the optimizer must
        skip this step."""
        arr, _ = self._buffers(weights, scores, grads, masks)
        skip = ctypes.c_int32()
        check(self._lib.sw_policy_after_backward(self._h, int(step), int(total_steps), arr, len(self.layers),
                                                 ctypes.byref(skip)))
        return bool(skip.value)

    def after_step(self, step, total_steps, weights, scores=None, masks=None):
        arr, _ = self._buffers(weights, scores, None, masks)
        check(self._lib.sw_policy_after_step(self._h, int(step), int(total_steps), arr, len(self.layers)))

    def evaluation_masks(self, weights, scores=None, masks=None):
        arr, out = self._buffers(weights, scores, None, masks)
        check(self._lib.sw_policy_evaluation_masks(self._h, arr, len(self.layers)))
        return out
