"""sparsewire.Engine: the training engine of libsparsewire.so."""
import ctypes
import json
import os

import numpy as np

from . import _abi
from ._handle import OwnedHandle
from ._arrays import _is_torch, int32_labels, label_view, output, pointer
from ._errors import InvalidArgumentError, MissingFileError, ShapeError, StateError
from ._lib import check, lib, two_call_string
from ._progress import Progress


from ._engine_io import _b, _check_file, config_text  # noqa: F401  (config_text: also sparsewire.engine.config_text)


class Engine(OwnedHandle):
    """Trains a network with a mask policy.

        with sparsewire.Engine({"model": {"name": "mlp"}, "policy": "rigl", "density": 0.1}) as e:
            e.fit(1)
            print(e.evaluate(), e.density())

    Data: `set_data` (NumPy arrays or CPU torch tensors), `load_dataset(name, path)`, or the
    config's `data.*` keys, which the calls that compute — `fit`, `step`, `evaluate`, `predict`,
    `build`, `load`, `load_state_dict` — load when no data was given. The getters (`get`, `shape`,
    `parameters`, `parameter_names`, `mask(s)`, `scores`, `density`, `parameter_counts`,
    `input_shape`, `set_tensor`, `save`, `state_dict`) never load a dataset: before there is data
    they raise StateError.

    Arrays: inputs may be NumPy arrays or CPU torch tensors (float32, contiguous; zero-copy).
    `predict` answers in the kind it was given (torch in → torch out); the tensor getters return
    NumPy unless called with `as_torch=True` (then torch tensors sharing the NumPy memory).

    Errors are `sparsewire.Error` subclasses that are also the fitting builtin (ConfigError is a
    ValueError, NotFoundError a KeyError, StateError a RuntimeError, ...). One engine is used from
    one thread at a time.
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
        """The C handle (sw_engine *); StateError once the engine is closed."""
        if not self._h.value:
            raise StateError("the engine is closed")
        return self._h

    def set(self, key, value):
        """Overrides one config key before training, e.g. set("optimizer.lr", 0.05)."""
        text = json.dumps(value) if not isinstance(value, str) else value
        check(self._lib.sw_engine_set(self.handle, _b(key), _b(text)))

    # -- data --------------------------------------------------------------------------------
    def load_dataset(self, name=None, path=None):
        """Loads fashion-mnist / mnist (IDX) or cifar10 from files (default: the config's data.*).
        A `path` that does not exist raises MissingFileError (a FileNotFoundError); other
        unreadable files FileError (an OSError)."""
        status = self._lib.sw_engine_load_dataset(self.handle, _b(name), _b(path))
        _check_file(status, None if path is None else os.fspath(path))
        self._has_data = True

    def set_data(self, x_train, y_train, x_test, y_test, classes=None):
        """Train/test data from NumPy arrays or CPU torch tensors, copied by the library during the
        call. x: float32 [N, C, H, W] or [N, features], C-contiguous (other float dtypes raise
        ArgumentError with the conversion to make: no silent copy at another precision).
        y: integer class labels [N] — int32 is passed as is (zero-copy); int64 and other integer
        types are range-checked and converted to int32. Labels must lie in [0, classes)
        (classes default: the largest label + 1); float labels raise ArgumentError and labels out
        of range DataError, naming y_train or y_test."""
        for nm, x in (("x_train", x_train), ("x_test", x_test)):
            pointer(x, nm)
            if len(x.shape) not in (2, 4):
                raise ShapeError(f"{nm} must be [N, C, H, W] or [N, features], got shape {tuple(x.shape)}")
        shape = tuple(x_train.shape[1:]) if len(x_train.shape) == 4 else (1, 1, x_train.shape[1])
        test_shape = tuple(x_test.shape[1:]) if len(x_test.shape) == 4 else (1, 1, x_test.shape[1])
        if shape != test_shape:
            raise ShapeError(f"x_train and x_test differ in shape: {shape} vs {test_shape}")
        n, m = int(x_train.shape[0]), int(x_test.shape[0])
        a_train, a_test = label_view(y_train, "y_train", n), label_view(y_test, "y_test", m)
        if classes is None:
            classes = int(max(a_train.max(), a_test.max())) + 1
        classes = max(int(classes), 2)
        if classes > np.iinfo(np.int32).max:
            raise InvalidArgumentError(f"classes must be below 2^31, got {classes}")
        y_train = int32_labels(y_train, a_train, "y_train", classes)
        y_test = int32_labels(y_test, a_test, "y_test", classes)
        px = pointer(x_train, "x_train")
        py = pointer(y_train, "y_train", dtype=np.int32, shape=(n,))
        tx = pointer(x_test, "x_test")
        ty = pointer(y_test, "y_test", dtype=np.int32, shape=(m,))
        check(self._lib.sw_engine_set_data(self.handle, px, py, n, tx, ty, m, *shape, classes))
        self._has_data = True

    def _data_present(self):
        """Whether the engine holds data (set or loaded by any route), asked of the library."""
        if self._has_data:
            return True
        status = self._lib.sw_engine_input_shape(self.handle, None, None, None, None)
        if status != _abi.OK:
            self._lib.sw_clear_last_error()  # a probe, not a failure
            return False
        self._has_data = True
        return True

    def _ensure_data(self):
        """For the calls that compute: loads the config's dataset when no data was given."""
        if not self._data_present():
            self.load_dataset()

    def _need_network(self, what):
        """For the getters: never loads data. The library builds the network on demand once it
        has data; without data, StateError saying what to do."""
        if not self._data_present():
            raise StateError(f"{what}: the engine has no network yet (getters do not load the config's dataset); "
                             "give data with set_data(...) or load_dataset() and call build(), or train with "
                             "fit()/step() first")

    # -- training ----------------------------------------------------------------------------
    def step(self):
        """One optimisation step on the next batch: {"loss", "correct"}."""
        self._ensure_data()  # the config's dataset when no data was given
        loss, correct = ctypes.c_double(), ctypes.c_int64()
        check(self._lib.sw_engine_train_step(self.handle, ctypes.byref(loss), ctypes.byref(correct)))
        return {"loss": loss.value, "correct": correct.value}

    def fit(self, epochs=None, progress=True, callback=None):
        """Trains `epochs` more epochs (None: until the config's `epochs` are done).
        `callback(event)` gets a dict per step and per epoch end; returning False stops after
        that step (then `stopped_by_callback` is True until the next fit). Shows a progress bar
        (tqdm if installed) unless progress=False. Returns the
        epoch results; they are also appended to `history`, which keeps the epochs that finished
        even when the call then raises (a stop request raises `Stopped`, an error). Loads the
        config's dataset first when no data was given."""
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
                raise InvalidArgumentError(f"epochs must be ≥ 1 (None trains what the config has left), got {epochs}")
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
        """Whether the network exists (built explicitly or by a call that needed it)."""
        b = ctypes.c_int32()
        check(self._lib.sw_engine_is_built(self.handle, ctypes.byref(b)))
        return bool(b.value)

    def input_shape(self):
        """{"channels", "height", "width", "classes"} of the data given or loaded; StateError before
        there is any (it does not load the config's dataset)."""
        self._need_network("input_shape")
        c, h, w, k = (ctypes.c_uint32() for _ in range(4))
        check(self._lib.sw_engine_input_shape(self.handle, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w), ctypes.byref(k)))
        return {"channels": c.value, "height": h.value, "width": w.value, "classes": k.value}

    def request_stop(self):
        """Asks a `fit()` or `step()` running on another thread to stop after the step in progress
        (preemption): it raises `sparsewire.Stopped` (an Error with status "SW_STOPPED"), the
        epoch stays open,
        and `save(path)` then writes a checkpoint that `load(path)` resumes bit-identically.
        Any thread."""
        check(self._lib.sw_engine_request_stop(self.handle))

    def progress(self):
        """{"epochs", "steps"} done so far."""
        e, s = ctypes.c_int64(), ctypes.c_int64()
        check(self._lib.sw_engine_progress(self.handle, ctypes.byref(e), ctypes.byref(s)))
        return {"epochs": e.value, "steps": s.value}

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self):
        """Test-set loss and accuracy in evaluation mode (loads the config's dataset when no data
        was given)."""
        self._ensure_data()
        loss, acc = ctypes.c_double(), ctypes.c_double()
        check(self._lib.sw_engine_evaluate(self.handle, ctypes.byref(loss), ctypes.byref(acc)))
        return {"loss": loss.value, "accuracy": acc.value}

    def predict(self, x, as_torch=None):
        """Logits [N, classes] for float32 inputs [N, C, H, W] (or [N, features]), a NumPy array or
        a CPU torch tensor. The result is a torch tensor when `x` is one (as_torch None), or as
        `as_torch` says. Loads the config's dataset when no data was given (the network's shape
        comes from the data)."""
        px = pointer(x, "x")
        if len(x.shape) not in (2, 4):
            raise ShapeError(f"x must be [N, C, H, W] or [N, features], got shape {tuple(x.shape)}")
        self._ensure_data()
        n = int(x.shape[0])
        classes = self._classes()
        out = np.empty((n, classes), dtype=np.float32)
        check(self._lib.sw_engine_predict(self.handle, px, n, int(np.prod(x.shape)), pointer(out, "logits"), out.size))
        return output(out, _is_torch(x) if as_torch is None else as_torch)

    def _classes(self):
        shape = self.shape(self.parameter_names()[-1])
        return int(shape[0])

    # -- tensors -----------------------------------------------------------------------------
    def parameter_names(self):
        """The network's parameter names in order (StateError before there is data)."""
        self._need_network("parameter_names")
        text = two_call_string(self._lib.sw_engine_parameter_names, self.handle)
        return text.split("\n") if text else []

    def shape(self, name, kind="value"):
        """The shape of tensor `name` of `kind` ("value", "mask", "scores", "grad") as a tuple;
        NotFoundError (a KeyError) for an unknown name."""
        k = self._kind(kind)
        self._need_network("shape")
        rank = ctypes.c_uint32()
        dims = (ctypes.c_int64 * 8)()
        check(self._lib.sw_engine_tensor_shape(self.handle, _b(name), k, dims, 8, ctypes.byref(rank)))
        return tuple(dims[i] for i in range(rank.value))

    @staticmethod
    def _kind(kind):
        if kind not in _abi.TENSOR_KINDS:
            raise InvalidArgumentError(f"tensor kind must be one of {', '.join(_abi.TENSOR_KINDS)}, got {kind!r}")
        return _abi.TENSOR_KINDS[kind]

    def get(self, name, kind="value", as_torch=False):
        """A copy of a tensor ("value", "mask", "scores", "grad") as a float32 NumPy array, or a
        torch tensor with as_torch=True. StateError before there is data (no dataset is loaded)."""
        self._need_network("get")
        shape = self.shape(name, kind)
        out = np.empty(shape, dtype=np.float32)
        needed = ctypes.c_uint64()
        check(self._lib.sw_engine_get_tensor(self.handle, _b(name), self._kind(kind), pointer(out, "out"),
                                             out.size, ctypes.byref(needed)))
        return output(out, as_torch)

    def set_tensor(self, name, values, kind="value"):
        """Overwrites a tensor (copied) from a float32 NumPy array or CPU torch tensor of its shape."""
        self._need_network("set_tensor")
        shape = self.shape(name, kind)
        p = pointer(values, "values", shape=shape)
        check(self._lib.sw_engine_set_tensor(self.handle, _b(name), self._kind(kind), p, int(np.prod(shape))))

    def parameters(self, as_torch=False):
        """{name: float32 array} of every parameter (copies; torch tensors with as_torch=True)."""
        self._need_network("parameters")
        return {n: self.get(n, as_torch=as_torch) for n in self.parameter_names()}

    def density(self):
        """Per masked layer: {"name", "count", "kept", "target_density"}."""
        self._need_network("density")
        n = ctypes.c_uint32()
        check(self._lib.sw_engine_layer_count(self.handle, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            d = _abi.sized(_abi.LayerDensity)
            check(self._lib.sw_engine_layer_density(self.handle, i, ctypes.byref(d)))
            out.append({"name": d.name.decode(), "count": d.count, "kept": d.kept, "target_density": d.target_density})
        return out

    def mask(self, name, as_torch=False):
        """The current mask of a masked layer (NumPy, or torch with as_torch=True)."""
        return self.get(name, "mask", as_torch=as_torch)

    def masks(self, as_torch=False):
        """{layer name: mask} for every masked layer."""
        return {d["name"]: self.mask(d["name"], as_torch=as_torch) for d in self.density()}

    def scores(self, name, as_torch=False):
        """The learned scores of a masked layer (policies with scores only)."""
        return self.get(name, "scores", as_torch=as_torch)

    def parameter_counts(self):
        """{"total", "kept"}: parameters in all, and those not masked out."""
        total, kept = ctypes.c_uint64(), ctypes.c_uint64()
        self._need_network("parameter_counts")
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

    def export_onnx(self, path):
        """Writes the network as ONNX (opset 17, evaluation mode, masks baked in: pruned weights
        are exact zeros; docs/ONNX.md). Returns {"zeros": ..., "count": ...} over the exported
        weights. UnsupportedError for a module with no ONNX form or a policy that averages mask
        draws in evaluation."""
        import ctypes
        path = os.fspath(path)
        self._need_network("export_onnx")
        zeros, count = ctypes.c_uint64(), ctypes.c_uint64()
        _check_file(self._lib.sw_engine_export_onnx(self.handle, _b(path), ctypes.byref(zeros), ctypes.byref(count)),
                    os.path.dirname(os.path.abspath(path)))
        return {"zeros": zeros.value, "count": count.value}

    def save(self, path):
        """A safetensors checkpoint (parameters, masks, scores, optimizer state, counters, config).
        StateError before there is data (nothing to save); MissingFileError when the directory
        does not exist."""
        path = os.fspath(path)
        self._need_network("save")
        _check_file(self._lib.sw_engine_save(self.handle, _b(path)), os.path.dirname(os.path.abspath(path)))

    def load(self, path):
        """Loads a checkpoint written by `save` into this engine (same model config; it resumes
        exactly). Loads the config's dataset first when no data was given; MissingFileError for a
        path that does not exist."""
        path = os.fspath(path)
        if not os.path.exists(path) and not self._data_present():  # fail before loading a dataset for nothing
            raise MissingFileError(f"checkpoint {path}: no such file")
        self._ensure_data()
        _check_file(self._lib.sw_engine_load(self.handle, _b(path)), path)

    def state_dict(self, as_torch=False):
        """The engine's whole training state as a dict that `load_state_dict` restores exactly
        (see sparsewire.engine_state for its layout): the checkpoint's tensors as NumPy arrays
        (torch tensors with as_torch=True, which torch.load's default weights_only=True accepts)
        plus plain metadata. StateError before there is data."""
        from .engine_state import state_dict
        self._need_network("state_dict")
        return state_dict(self, as_torch)

    def load_state_dict(self, state):
        """Restores a `state_dict()` (from this engine or another with the same model config):
        training then continues bit-identically. Loads the config's dataset first when no data
        was given."""
        from .engine_state import load_state_dict
        load_state_dict(self, state)
