"""sparsewire.Engine: the training engine of libsparsewire.so."""
import ctypes
import json
import os

import numpy as np

from . import _abi
from ._handle import OwnedHandle
from ._arrays import pointer
from ._lib import Error, check, lib, two_call_string
from ._progress import Progress


def config_text(config):
    """A dict (→ JSON), a path to a YAML/JSON file, YAML/JSON text, or None (defaults)."""
    if config is None:
        return None
    if isinstance(config, dict):
        return json.dumps(config)
    if isinstance(config, os.PathLike) or (isinstance(config, str) and "\n" not in config and ":" not in config):
        path = os.fspath(config)
        if not os.path.isfile(path):
            raise Error(f"config file {path}: no such file")
        with open(path, encoding="utf-8") as f:
            return f.read()
    if isinstance(config, str):
        return config
    raise Error(f"config must be a dict, a YAML/JSON string or a path, got {type(config).__name__}")


def _b(s):
    return None if s is None else str(s).encode("utf-8")


class Engine(OwnedHandle):
    """Trains a network with a mask policy.

        with sparsewire.Engine({"model": {"name": "mlp"}, "policy": "rigl", "density": 0.1}) as e:
            e.fit(1)
            print(e.evaluate(), e.density())

    Data: the config's `data.*` keys (loaded on first use), `load_dataset(name, path)`, or NumPy
    arrays through `set_data`. One engine is used from one thread at a time.
    """

    _destroy = "sw_engine_destroy"

    def __init__(self, config=None, **overrides):
        self._lib = lib()
        self._h = ctypes.c_void_p()
        dotted = {key.replace("__", "."): value for key, value in overrides.items()}
        if config is None or isinstance(config, dict):
            # One document, decoded once by the engine: the overrides as dotted keys (a dotted key
            # sorts after its section, so it wins over the same key inside a mapping).
            config, dotted = {**(config or {}), **dotted}, {}
        check(self._lib.sw_engine_create(_b(config_text(config)), ctypes.byref(self._h)))
        self._has_data = False
        self.history = []
        self.stopped_by_callback = False
        for key, value in dotted.items():
            self.set(key, value)

    # -- life cycle --------------------------------------------------------------------------

    @property
    def handle(self):
        if not self._h.value:
            raise Error("the engine is closed")
        return self._h

    def set(self, key, value):
        """Overrides one config key before training, e.g. set("optimizer.lr", 0.05)."""
        text = json.dumps(value) if not isinstance(value, str) else value
        check(self._lib.sw_engine_set(self.handle, _b(key), _b(text)))

    # -- data --------------------------------------------------------------------------------
    def load_dataset(self, name=None, path=None):
        """Loads fashion-mnist / mnist (IDX) or cifar10 from files (default: the config's data.*)."""
        check(self._lib.sw_engine_load_dataset(self.handle, _b(name), _b(path)))
        self._has_data = True

    def set_data(self, x_train, y_train, x_test, y_test, classes=None):
        """Train/test data from arrays: x float32 [N, C, H, W] (or [N, features]), y int32 [N].
        The library copies them during the call."""
        for nm, x in (("x_train", x_train), ("x_test", x_test)):
            pointer(x, nm)
            if len(x.shape) not in (2, 4):
                raise Error(f"{nm} must be [N, C, H, W] or [N, features], got shape {getattr(x, 'shape', None)}")
        shape = tuple(x_train.shape[1:]) if len(x_train.shape) == 4 else (1, 1, x_train.shape[1])
        test_shape = tuple(x_test.shape[1:]) if len(x_test.shape) == 4 else (1, 1, x_test.shape[1])
        if shape != test_shape:
            raise Error(f"x_train and x_test differ in shape: {shape} vs {test_shape}")
        n, m = x_train.shape[0], x_test.shape[0]
        px = pointer(x_train, "x_train")
        py = pointer(y_train, "y_train", dtype=np.int32, shape=(n,))
        tx = pointer(x_test, "x_test")
        ty = pointer(y_test, "y_test", dtype=np.int32, shape=(m,))
        if classes is None:
            classes = int(max(np.max(np.asarray(y_train)), np.max(np.asarray(y_test)))) + 1
        check(self._lib.sw_engine_set_data(self.handle, px, py, n, tx, ty, m, *shape, max(int(classes), 2)))
        self._has_data = True

    def _ensure_data(self):
        if not self._has_data:
            self.load_dataset()

    # -- training ----------------------------------------------------------------------------
    def step(self):
        """One optimisation step on the next batch: {"loss", "correct"}."""
        self._ensure_data()
        loss, correct = ctypes.c_double(), ctypes.c_int64()
        check(self._lib.sw_engine_train_step(self.handle, ctypes.byref(loss), ctypes.byref(correct)))
        return {"loss": loss.value, "correct": correct.value}

    def fit(self, epochs=None, progress=True, callback=None):
        """Trains `epochs` more epochs (None: until the config's `epochs` are done).
        `callback(event)` gets a dict per step and per epoch end; returning False stops after
        that step (then `stopped_by_callback` is True until the next fit). Shows a progress bar
        (tqdm if installed) unless progress=False. Returns the
        epoch results; they are also appended to `history`, which keeps the epochs that finished
        even when the call then raises (a stop request, an error)."""
        self._ensure_data()
        start = self.progress()["epochs"]
        show = Progress(progress, start + epochs if epochs else None)
        errors, results = [], []

        def on_progress(p_ptr, _user):
            try:
                p = p_ptr.contents
                if p.epoch_end:
                    show.epoch_end(p)
                    event = {"event": "epoch_end", "epoch": p.epoch, "train_loss": p.loss, "train_accuracy": p.accuracy,
                             "test_loss": p.test_loss, "test_accuracy": p.test_accuracy}
                    results.append({k: v for k, v in event.items() if k != "event"})
                else:
                    show.step(p)
                    event = {"event": "step", "epoch": p.epoch, "step": p.step, "steps": p.steps_in_epoch,
                             "loss": p.loss, "accuracy": p.accuracy, "lr": p.lr}
                if callback is not None and callback(event) is False:
                    return 1
                return 0
            except BaseException as e:  # never let an exception unwind through C
                errors.append(e)
                return 1

        fn = _abi.PROGRESS_FN(on_progress)
        stopped = ctypes.c_int32()
        if epochs is None:
            status = self._lib.sw_engine_train_to_end(self.handle, fn, None, ctypes.byref(stopped))
        else:
            if int(epochs) < 1:
                raise Error(f"epochs must be ≥ 1 (None trains what the config has left), got {epochs}")
            status = self._lib.sw_engine_train_epochs(self.handle, int(epochs), fn, None, ctypes.byref(stopped))
        self.stopped_by_callback = bool(stopped.value) and not errors
        self.history += results  # epochs that finished count even when a later one stopped or failed
        if errors:
            raise errors[0]
        check(status)
        return results

    def build(self):
        """Builds the network, policy and optimizer now (loading the config's dataset if no
        data was given): config errors surface here, and the config is frozen afterwards.
        Training, evaluation and tensor access build implicitly."""
        self._ensure_data()
        check(self._lib.sw_engine_build(self.handle))

    @property
    def built(self):
        b = ctypes.c_int32()
        check(self._lib.sw_engine_is_built(self.handle, ctypes.byref(b)))
        return bool(b.value)

    def input_shape(self):
        """{"channels", "height", "width", "classes"} of the loaded data."""
        self._ensure_data()
        c, h, w, k = (ctypes.c_uint32() for _ in range(4))
        check(self._lib.sw_engine_input_shape(self.handle, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w), ctypes.byref(k)))
        return {"channels": c.value, "height": h.value, "width": w.value, "classes": k.value}

    def request_stop(self):
        """Asks a `fit()` or `step()` running on another thread to stop after the step in progress
        (preemption): it raises `sparsewire.Error` with status "SW_STOPPED", the epoch stays open,
        and `save(path)` then writes a checkpoint that `load(path)` resumes bit-identically.
        Any thread."""
        check(self._lib.sw_engine_request_stop(self.handle))

    def progress(self):
        e, s = ctypes.c_int64(), ctypes.c_int64()
        check(self._lib.sw_engine_progress(self.handle, ctypes.byref(e), ctypes.byref(s)))
        return {"epochs": e.value, "steps": s.value}

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self):
        """Test-set loss and accuracy in evaluation mode."""
        self._ensure_data()
        loss, acc = ctypes.c_double(), ctypes.c_double()
        check(self._lib.sw_engine_evaluate(self.handle, ctypes.byref(loss), ctypes.byref(acc)))
        return {"loss": loss.value, "accuracy": acc.value}

    def predict(self, x):
        """Logits [N, classes] for float32 inputs [N, C, H, W] (or [N, features])."""
        self._ensure_data()
        px = pointer(x, "x")
        if len(x.shape) not in (2, 4):
            raise Error(f"x must be [N, C, H, W] or [N, features], got shape {tuple(x.shape)}")
        n = int(x.shape[0])
        classes = self._classes()
        out = np.empty((n, classes), dtype=np.float32)
        check(self._lib.sw_engine_predict(self.handle, px, n, int(np.prod(x.shape)), pointer(out, "logits"), out.size))
        return out

    def _classes(self):
        shape = self.shape(self.parameter_names()[-1])
        return int(shape[0])

    # -- tensors -----------------------------------------------------------------------------
    def parameter_names(self):
        self._ensure_data()
        text = two_call_string(self._lib.sw_engine_parameter_names, self.handle)
        return text.split("\n") if text else []

    def shape(self, name, kind="value"):
        k = self._kind(kind)
        rank = ctypes.c_uint32()
        dims = (ctypes.c_int64 * 8)()
        check(self._lib.sw_engine_tensor_shape(self.handle, _b(name), k, dims, 8, ctypes.byref(rank)))
        return tuple(dims[i] for i in range(rank.value))

    @staticmethod
    def _kind(kind):
        if kind not in _abi.TENSOR_KINDS:
            raise Error(f"tensor kind must be one of {', '.join(_abi.TENSOR_KINDS)}, got {kind!r}")
        return _abi.TENSOR_KINDS[kind]

    def get(self, name, kind="value"):
        """A copy of a tensor ("value", "mask", "scores", "grad") as a float32 array."""
        self._ensure_data()
        shape = self.shape(name, kind)
        out = np.empty(shape, dtype=np.float32)
        needed = ctypes.c_uint64()
        check(self._lib.sw_engine_get_tensor(self.handle, _b(name), self._kind(kind), pointer(out, "out"),
                                             out.size, ctypes.byref(needed)))
        return out

    def set_tensor(self, name, values, kind="value"):
        """Overwrites a tensor (copied) from a float32 array of its shape."""
        self._ensure_data()
        shape = self.shape(name, kind)
        p = pointer(values, "values", shape=shape)
        check(self._lib.sw_engine_set_tensor(self.handle, _b(name), self._kind(kind), p, int(np.prod(shape))))

    def parameters(self):
        """{name: float32 array} of every parameter (copies)."""
        return {n: self.get(n) for n in self.parameter_names()}

    def density(self):
        """Per masked layer: {"name", "count", "kept", "target_density"}."""
        self._ensure_data()
        n = ctypes.c_uint32()
        check(self._lib.sw_engine_layer_count(self.handle, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            d = _abi.sized(_abi.LayerDensity)
            check(self._lib.sw_engine_layer_density(self.handle, i, ctypes.byref(d)))
            out.append({"name": d.name.decode(), "count": d.count, "kept": d.kept, "target_density": d.target_density})
        return out

    def mask(self, name):
        """The current mask of a masked layer."""
        return self.get(name, "mask")

    def masks(self):
        """{layer name: mask} for every masked layer."""
        return {d["name"]: self.mask(d["name"]) for d in self.density()}

    def scores(self, name):
        return self.get(name, "scores")

    def parameter_counts(self):
        total, kept = ctypes.c_uint64(), ctypes.c_uint64()
        self._ensure_data()
        check(self._lib.sw_engine_parameter_counts(self.handle, ctypes.byref(total), ctypes.byref(kept)))
        return {"total": total.value, "kept": kept.value}

    # -- policies and checkpoints ------------------------------------------------------------
    @property
    def policy(self):
        """The current policy's name."""
        return two_call_string(self._lib.sw_engine_policy_name, self.handle)

    def set_policy(self, name, density=None, **options):
        """Switches the policy (between epochs: masks rebuilt on the current weights, optimizer
        reset). density None keeps the current one."""
        opts = json.dumps(options) if options else None
        d = None if density is None else ctypes.byref(ctypes.c_double(float(density)))
        check(self._lib.sw_engine_set_policy_v2(self.handle, _b(name), _b(opts), d))

    def save(self, path):
        """A safetensors checkpoint (parameters, masks, scores, optimizer state, counters, config)."""
        self._ensure_data()
        check(self._lib.sw_engine_save(self.handle, _b(os.fspath(path))))

    def load(self, path):
        self._ensure_data()
        check(self._lib.sw_engine_load(self.handle, _b(os.fspath(path))))
