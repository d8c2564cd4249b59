"""Mask policies from Python: policies written in Python (MaskPolicy + register_policy), the
registry (policies, load_plugin, unregister_policy), and mask-only use over NumPy arrays / torch
tensors (Policy)."""
import ctypes
import itertools
import json
import re
import sys
import traceback
from collections import namedtuple

import numpy as np

from . import _abi
from ._lib import Error, check, lib, two_call_string
from ._state import pack_state, unpack_state

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
    NumPy views of the engine's memory (no copies), valid during the callback only. Write
    `mask` (and `scores`) in place; `weights` is writable too in prepare, compute_mask, update
    and after_step (the live parameter: e.g. zero regrown weights), read-only in
    evaluation_mask. `reset_optimizer_state(indices)` forgets the optimizer state (momentum,
    Adam moments) of those weights."""

    def __init__(self, layer_pointer, host=None):
        self._pointer = layer_pointer  # the host's sw_layer, for select_topk
        layer = layer_pointer.contents
        self.name = layer.name.decode()
        self.index = layer.index
        self.shape = tuple(layer.shape[i] for i in range(layer.rank))
        self.count = layer.count
        self.keep_count = layer.keep_count
        self.density = layer.density
        writable = bool(layer.writable_weights)
        self.weights = self._view(layer.writable_weights if writable else layer.weights, writable=writable)
        self.mask = self._view(layer.mask)
        self.scores = self._view(layer.scores)
        self.grad = self._view(layer.grad, writable=False)
        self._host = host

    def _view(self, ptr, writable=True):
        if not ptr:
            return None
        a = np.ctypeslib.as_array(ptr, shape=self.shape)
        a.flags.writeable = writable
        return a

    def reset_optimizer_state(self, indices):
        """Forgets the optimizer state of weights `indices` (flat, row-major, or a boolean array
        of the layer's shape) — what regrown weights need. In mask-only use the host's
        optimizer gets them through `Policy.optimizer_resets()`."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != self.shape:
                raise Error(f"{self.name}: a boolean index array must have shape {self.shape}, got {idx.shape}")
            idx = np.flatnonzero(idx)
        idx = np.ascontiguousarray(idx.reshape(-1), dtype=np.uint64)
        if idx.size and int(idx.max()) >= self.count:
            raise Error(f"{self.name}: index {int(idx.max())} out of range for {self.count} weights")
        h = self._host.contents
        if h.reset_optimizer_state(h.context, self.index, idx.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64)), idx.size) != 0:
            raise Error(f"{self.name}: reset_optimizer_state failed")


class MaskPolicy:
    """Base class of a mask policy written in Python. Subclass it, set `name`, implement
    `compute_mask`, then `sparsewire.register_policy(MyPolicy)` and train with `policy: name`.

    Class attributes: `name` ([a-z0-9_-]+), `summary`, `routing` ("masked_weights",
    "straight_through", "scores", "abs_scores", "sigmoid_scores", "none"), `frozen_weights`,
    `uses_scores`, `option_help` ({option: help}), `density_contract` ("fixed", the default:
    after every hook each mask is 0/1 with exactly `layer.keep_count` ones, or the engine
    stops with an error naming the layer and the counts; "learned": the policy decides how
    many it keeps), `soft_masks` (masks may hold values other than 0/1), `honours_structure`
    (the policy writes masks only through `select_topk`, so `masking.structure` may be set;
    without it a structured config is refused), `inert_dead_weights` (routing "masked_weights"
    only: no hook reads a weight while it is masked and every weight a hook unmasks gets a
    value the policy writes, e.g. RigL's zero; `sparsewire.torch` then keeps masked weights at
    zero and skips the product w ⊙ m). An instance is made per
    training run with `self.options` (dict) and `self.density`.

    State outside the engine's tensors (counters, moving averages) goes into checkpoints when
    the class implements `state_dict()` → {str: array, number, str or bool} and
    `load_state_dict(d)`; they are stored as an .npz (no pickle).
    """

    name = None
    summary = ""
    routing = "masked_weights"
    frozen_weights = False
    uses_scores = False
    option_help = {}
    density_contract = "fixed"
    soft_masks = False
    honours_structure = False
    inert_dead_weights = False

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

    def after_step(self, layers, step):
        """After the optimizer update of each training step."""

    def evaluation_mask(self, layer):
        """The mask evaluation uses (None: keep the training mask)."""
        return None

    def state_dict(self):
        """State to checkpoint, {name: NumPy array | number | str | bool}; None: no state."""
        return None

    def load_state_dict(self, state):
        """Restores what state_dict returned (after prepare, when a checkpoint is loaded)."""
        raise NotImplementedError(f"{type(self).__name__}.load_state_dict")

    # host services ---------------------------------------------------------------------------
    def topk_mask(self, values, k):
        """0/1 float32 mask with exactly k ones at the k largest values (ties: lower index)."""
        v = np.ascontiguousarray(values, dtype=np.float32)
        out = np.empty_like(v)
        h = self._host.contents
        h.topk_mask(v.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), v.size, int(k),
                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def select_topk(self, layers, criteria):
        """Writes every layer's mask: the top `keep_count` of its criterion (an array of the
        layer's shape), per layer or globally as `masking.scope` says, and keeping
        `masking.structure` (N:M groups, blocks, channels, constant fan-in). A policy that writes
        its masks only this way may set `honours_structure = True`."""
        if len(criteria) != len(layers):
            raise Error(f"select_topk: {len(criteria)} criteria for {len(layers)} layers")
        arrays = [np.ascontiguousarray(c, dtype=np.float32) for c in criteria]
        for layer, a in zip(layers, arrays):
            if a.size != layer.count:
                raise Error(f"select_topk: the criterion of {layer.name} has {a.size} values, the layer {layer.count}")
        n = len(layers)
        table = (ctypes.POINTER(_abi.Layer) * max(n, 1))(*[l._pointer for l in layers])
        crits = (ctypes.POINTER(ctypes.c_float) * max(n, 1))(*[a.ctypes.data_as(ctypes.POINTER(ctypes.c_float)) for a in arrays])
        h = self._host.contents
        if h.select_topk(h.context, table, n, crits) != 0:
            raise Error("select_topk failed")

    def uniform(self):
        """A float in [0, 1) from the engine's seeded stream."""
        h = self._host.contents
        return h.random_uniform(h.context)

    def log(self, message, level=1):
        h = self._host.contents
        h.log(h.context, level, str(message).encode())


# Everything handed to the library lives until the policy is unregistered and its last
# instance is gone (destroy_user_data), by registration key.
_keep = {}
_released = []


def _purge():
    while _released:
        _keep.pop(_released.pop(), None)
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


def _layers(arr, n, host=None):
    return [LayerView(arr[i], host) for i in range(n)]


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
    if cls.density_contract not in ("fixed", "learned"):
        raise Error(f"{cls.__name__}.density_contract must be 'fixed' or 'learned', got {cls.density_contract!r}")
    if cls.soft_masks and cls.density_contract == "fixed":
        raise Error(f"{cls.__name__}: soft_masks needs density_contract = 'learned' (a fixed contract counts 0/1 masks)")
    stateful = cls.state_dict is not MaskPolicy.state_dict
    if stateful and cls.load_state_dict is MaskPolicy.load_state_dict:
        raise Error(f"{cls.__name__} implements state_dict but not load_state_dict (checkpoints need both)")

    def create(_user, host, options_json, density, state):
        try:
            options = json.loads(options_json.decode()) if options_json else {}
            obj = cls(options, density)
            obj._host = host
            obj._saved = None
            key = next(_ids)
            _instances[key] = obj
            state[0] = key
            return _abi.PLUGIN_OK
        except BaseException as e:
            return _fail(host, e)

    def destroy(state):
        _instances.pop(state, None)

    def hook(state, body):
        """Runs body(policy) for a callback: SW_PLUGIN_OK, or the error handed to the host."""
        obj = _instances[state]
        try:
            body(obj)
            return _abi.PLUGIN_OK
        except BaseException as e:
            return _fail(obj._host, e)

    def prepare(state, layers, n):
        return hook(state, lambda obj: obj.prepare(_layers(layers, n, obj._host)))

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
        def body(obj):
            step = _step(info)
            for layer in _layers(layers, n, obj._host):
                write(layer, obj.compute_mask(layer, step), "compute_mask")
        return hook(state, body)

    def after_backward(state, layers, n, info, skip):
        def body(obj):
            skip[0] = 1 if obj.update(_layers(layers, n, obj._host), _step(info)) else 0
        return hook(state, body)

    def after_step(state, layers, n, info):
        return hook(state, lambda obj: obj.after_step(_layers(layers, n, obj._host), _step(info)))

    def save_state(state, buf, capacity, needed):
        obj = _instances[state]
        try:
            if obj._saved is None:  # the two calls of one save see the same bytes
                st = obj.state_dict()
                obj._saved = pack_state(st if st is not None else {}, cls.__name__)
            data = obj._saved
            needed[0] = len(data)
            if buf and capacity >= len(data):
                ctypes.memmove(buf, data, len(data))
                obj._saved = None
            return _abi.PLUGIN_OK
        except BaseException as e:
            obj._saved = None
            return _fail(obj._host, e)

    def load_state(state, data, size):
        return hook(state, lambda obj: obj.load_state_dict(unpack_state(ctypes.string_at(data, size), cls.__name__)))

    def evaluation_masks(state, layers, n):
        def body(obj):
            for layer in _layers(layers, n, obj._host):
                write(layer, obj.evaluation_mask(layer), "evaluation_mask")
        return hook(state, body)

    options = (_abi.Option * max(1, len(cls.option_help)))()
    strings = []
    for i, (k, v) in enumerate(cls.option_help.items()):
        strings += [k.encode(), str(v).encode()]
        options[i].name, options[i].help = strings[-2], strings[-1]
    d = _abi.sized(_abi.PolicyDef)
    name, summary = cls.name.encode(), (cls.summary or f"Python policy {cls.__name__}").encode()
    d.name, d.summary = name, summary
    d.routing = _abi.ROUTES[cls.routing]
    d.flags = ((_abi.FROZEN_WEIGHTS if cls.frozen_weights else 0) | (_abi.USES_SCORES if cls.uses_scores else 0)
               | (_abi.FIXED_DENSITY if cls.density_contract == "fixed" else _abi.LEARNED_DENSITY)
               | (_abi.SOFT_MASKS if cls.soft_masks else 0)
               | (_abi.HONOURS_STRUCTURE if cls.honours_structure else 0)
               | (_abi.INERT_DEAD_WEIGHTS if cls.inert_dead_weights else 0))
    d.options, d.option_count = options, len(cls.option_help)
    key = next(_ids)

    def destroy_user_data(_user):
        # Unregistered and no instance left: the callbacks may go — but not while this one
        # runs, so they are dropped at the next (un)registration.
        _released.append(key)

    callbacks = [_abi.CREATE(create), _abi.DESTROY(destroy), _abi.PREPARE(prepare), _abi.NEEDS_GRADIENT(needs_gradient),
                 _abi.UPDATE_MASKS(update_masks), _abi.AFTER_BACKWARD(after_backward), _abi.AFTER_STEP(after_step),
                 _abi.EVALUATION_MASKS(evaluation_masks), _abi.DESTROY_USER_DATA(destroy_user_data)]
    (d.create, d.destroy, d.prepare, d.needs_gradient, d.update_masks, d.after_backward, d.after_step,
     d.evaluation_masks, d.destroy_user_data) = callbacks
    if stateful:
        callbacks += [_abi.SAVE_STATE(save_state), _abi.LOAD_STATE(load_state)]
        d.save_state, d.load_state = callbacks[-2:]
    _purge()
    _keep[key] = (d, options, strings, name, summary, callbacks)
    try:
        check(lib().sw_register_policy(ctypes.byref(d)))
    except Error:
        _keep.pop(key, None)
        raise
    return cls


def unregister_policy(name):
    """Removes a policy registered with register_policy (or sw_register_policy): engines and
    Policy objects already using it keep it until they are closed."""
    _purge()
    check(lib().sw_unregister_policy(str(name).encode()))


from .standalone import Policy  # noqa: E402,F401  (mask-only use; re-exported)
