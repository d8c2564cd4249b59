"""The binding shaped for Python and PyTorch users: exceptions that are also the fitting builtin,
torch tensors in and out, integer labels of any width, getters that never load a dataset, and a
state_dict that resumes training bit-identically (also through torch.save)."""
import io
import pickle

import numpy as np
import pytest

from conftest import fc_config

CFG = {"model": {"name": "mlp", "hidden": [16]}, "policy": "rigl", "density": 0.5, "batch_size": 32, "epochs": 4,
       "threads": 1, "seed": 3, "policy_options": {"delta_t": 3}}


def _data(seed=0, n=256):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1, 4, 4)).astype(np.float32)
    y = ((x[:, 0, 0, 0] > 0).astype(np.int32) + (x[:, 0, 1, 1] > 0.5)).astype(np.int32)  # classes 0..2
    return x, y


def _engine(sw, y_dtype=None, torch_x=False, **kw):
    x, y = _data()
    e = sw.Engine({**CFG, **kw})
    if torch_x:
        import torch
        x = torch.from_numpy(x)
    labels = y if y_dtype is None else y_dtype(y)
    e.set_data(x, labels, x[:64], labels[:64])
    return e


def _continue(e):
    """Three steps and two epochs more: the losses, then the parameters."""
    losses = [e.step()["loss"] for _ in range(3)] + [r["train_loss"] for r in e.fit(2, progress=False)]
    return losses, e.parameters()


# -- exceptions -------------------------------------------------------------------------------

def test_each_failure_raises_its_subclass_which_is_also_the_builtin(sw, tmp_path):
    with pytest.raises(sw.ConfigError) as info:
        sw.Engine({"optimizer": {"learning_rate": 0.1}})
    assert isinstance(info.value, ValueError) and isinstance(info.value, sw.Error) and info.value.status == "SW_ERR_CONFIG"
    with pytest.raises(FileNotFoundError, match="config file /no/such.yaml: no such file") as info:
        sw.Engine("/no/such.yaml")
    assert isinstance(info.value, sw.MissingFileError) and isinstance(info.value, sw.Error)
    with _engine(sw) as e:
        with pytest.raises(FileNotFoundError, match="/no/such/checkpoint.st") as info:
            e.load("/no/such/checkpoint.st")
        assert isinstance(info.value, sw.FileError) and info.value.status == "SW_ERR_IO"
        with pytest.raises(FileNotFoundError, match="/no/such/dir"):
            e.save("/no/such/dir/c.st")
        with pytest.raises(KeyError) as info:
            e.get("fc7.weight")
        assert isinstance(info.value, sw.NotFoundError) and info.value.status == "SW_ERR_NOT_FOUND"
        assert str(info.value).startswith("sw_engine_tensor_shape: no parameter named 'fc7.weight'")  # unquoted
        with pytest.raises(sw.ShapeError, match="x_count is 32") as info:
            e.predict(np.zeros((1, 2, 4, 4), np.float32))
        assert isinstance(info.value, ValueError)
        with pytest.raises(TypeError, match="x must be float32, got float64") as info:
            e.predict(np.zeros((1, 1, 4, 4)))
        assert isinstance(info.value, sw.ArgumentError) and isinstance(info.value, ValueError) and info.value.status is None
        with pytest.raises(sw.InvalidArgumentError, match="tensor kind must be one of"):
            e.get("fc1.weight", "weights")
        with pytest.raises(sw.InvalidArgumentError, match="epochs must be"):
            e.fit(0, progress=False)
        e.step()  # builds the network: the config is frozen now
        with pytest.raises(ValueError, match="read only") as info:
            e.set_tensor("fc1.weight", np.zeros((16, 16), np.float32), "grad")
        assert isinstance(info.value, sw.InvalidArgumentError) and info.value.status == "SW_ERR_INVALID_ARGUMENT"
        with pytest.raises(RuntimeError, match="the network is already built") as info:
            e.set("optimizer.lr", 0.1)
        assert isinstance(info.value, sw.StateError) and info.value.status == "SW_ERR_STATE"
    with pytest.raises(sw.StateError, match="the engine is closed"):
        e.evaluate()
    with _engine(sw, optimizer={"lr": 1e30}) as e:
        with pytest.raises(ArithmeticError, match="loss is") as info:
            for _ in range(20):
                e.step()
        assert isinstance(info.value, sw.NumericError)
    with sw.Engine({"data": {"path": str(tmp_path / "nowhere")}}) as e:
        with pytest.raises(OSError, match="nowhere") as info:
            e.load_dataset()
        assert isinstance(info.value, sw.FileError) and info.value.status == "SW_ERR_IO"


def test_every_status_has_its_class_and_errors_pickle_with_their_status(sw):
    from sparsewire._errors import error_for
    builtin = {"SW_ERR_INVALID_ARGUMENT": ValueError, "SW_ERR_CONFIG": ValueError, "SW_ERR_SHAPE": ValueError,
               "SW_ERR_DATA": ValueError, "SW_ERR_IO": OSError, "SW_ERR_NUMERIC": ArithmeticError,
               "SW_ERR_STATE": RuntimeError, "SW_ERR_UNSUPPORTED": NotImplementedError, "SW_ERR_NOT_FOUND": KeyError,
               "SW_ERR_PLUGIN": RuntimeError, "SW_ERR_INTERNAL": RuntimeError}
    for status, base in builtin.items():
        err = error_for(status, "the message")
        assert isinstance(err, sw.Error) and isinstance(err, base) and type(err) is not sw.Error, status
        assert str(err) == "the message" and err.status == status
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and back.status == status and str(back) == "the message"
    stopped = error_for("SW_STOPPED", "stopped")
    assert type(stopped) is sw.Stopped and stopped.status == "SW_STOPPED" and not isinstance(stopped, RuntimeError)
    assert type(error_for("SW_ERR_BUFFER_TOO_SMALL", "m")) is sw.Error
    for name in ("ArgumentError", "ConfigError", "DataError", "FileError", "InternalError", "InvalidArgumentError",
                 "MissingFileError", "NotFoundError", "NumericError", "PluginError", "ShapeError", "StateError",
                 "Stopped", "UnsupportedError"):
        assert name in sw.__all__ and name in sw.__doc__ and getattr(sw, name).__doc__, name


# -- torch in, torch out --------------------------------------------------------------------

def test_predict_answers_in_the_kind_it_was_given(sw):
    torch = pytest.importorskip("torch")
    x, _ = _data(1, 10)
    with _engine(sw, torch_x=True) as e:
        e.fit(1, progress=False)
        logits = e.predict(x)
        assert isinstance(logits, np.ndarray) and logits.shape == (10, 3)
        t = e.predict(torch.from_numpy(x))
        assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and np.array_equal(t.numpy(), logits)
        assert isinstance(e.predict(torch.from_numpy(x), as_torch=False), np.ndarray)
        assert isinstance(e.predict(x, as_torch=True), torch.Tensor)
        w = e.get("fc1.weight")
        tw = e.get("fc1.weight", as_torch=True)
        assert isinstance(tw, torch.Tensor) and np.array_equal(tw.numpy(), w)
        assert all(isinstance(v, torch.Tensor) for v in e.parameters(as_torch=True).values())
        masks = e.masks(as_torch=True)
        assert list(masks) == ["fc1.weight", "fc2.weight"] and np.array_equal(masks["fc1.weight"].numpy(), e.mask("fc1.weight"))
        e.set_tensor("fc1.weight", torch.full((16, 16), 0.5))
        assert np.all(e.get("fc1.weight") == 0.5)
        with pytest.raises(sw.ArgumentError, match=r"x must be a torch.float32 tensor, got torch.float64"):
            e.predict(torch.zeros(2, 1, 4, 4, dtype=torch.float64))


# -- labels -----------------------------------------------------------------------------------

def test_int64_labels_train_exactly_like_int32(sw):
    with _engine(sw) as e:
        reference = _continue(e)[0]
    with _engine(sw, y_dtype=lambda y: y.astype(np.int64)) as e:
        assert _continue(e)[0] == reference
    with _engine(sw, y_dtype=lambda y: y.astype(np.uint8)) as e:
        assert _continue(e)[0] == reference
    torch = pytest.importorskip("torch")
    with _engine(sw, y_dtype=lambda y: torch.from_numpy(y.astype(np.int64)), torch_x=True) as e:
        assert _continue(e)[0] == reference


def test_bad_labels_are_refused_naming_the_argument(sw):
    x, y = _data()
    with sw.Engine(CFG) as e:
        bad = y.astype(np.int64)
        bad[5] = 3
        with pytest.raises(sw.DataError, match=r"y_test: label 3 at index 5 outside 0..<3") as info:
            e.set_data(x, y, x[:64], bad[:64], classes=3)
        assert isinstance(info.value, ValueError)
        bad[5] = -1
        with pytest.raises(sw.DataError, match=r"y_train: label -1 at index 5 outside 0..<3"):
            e.set_data(x, bad, x[:64], y[:64])
        bad[5] = 2 ** 40
        with pytest.raises(sw.DataError, match=r"y_train: label 1099511627776 at index 5 does not fit in int32"):
            e.set_data(x, bad, x[:64], y[:64])
        with pytest.raises(TypeError, match=r"y_train must hold integer class labels \(int32 or int64\), got float32"):
            e.set_data(x, y.astype(np.float32), x[:64], y[:64])
        with pytest.raises(sw.ShapeError, match=r"y_test has shape \(64, 1\), expected \(64,\)"):
            e.set_data(x, y, x[:64], y[:64, None])
        with pytest.raises(sw.ArgumentError, match=r"x_train must be float32, got float64"):
            e.set_data(x.astype(np.float64), y, x[:64], y[:64])
        torch = pytest.importorskip("torch")
        with pytest.raises(sw.ArgumentError, match=r"y_test must hold integer class labels .* got torch.float32"):
            e.set_data(x, y, x[:64], torch.from_numpy(y[:64]).float())
        assert not e.built
        e.set_data(x, y, x[:64], y[:64])  # nothing above was taken
        assert e.input_shape() == {"channels": 1, "height": 4, "width": 4, "classes": 3}


# -- getters ----------------------------------------------------------------------------------

def test_getters_never_load_a_dataset(sw, tmp_path):
    missing = str(tmp_path / "no-dataset-here")
    with sw.Engine(fc_config(data__path=missing)) as e:
        getters = {"parameter_names": e.parameter_names, "shape": lambda: e.shape("fc1.weight"),
                   "get": lambda: e.get("fc1.weight"), "parameters": e.parameters, "density": e.density,
                   "masks": e.masks, "mask": lambda: e.mask("fc1.weight"), "scores": lambda: e.scores("fc1.weight"),
                   "parameter_counts": e.parameter_counts, "input_shape": e.input_shape,
                   "set_tensor": lambda: e.set_tensor("fc1.weight", np.zeros((300, 784), np.float32)),
                   "save": lambda: e.save(tmp_path / "c.st"), "state_dict": e.state_dict}
        for name, getter in getters.items():
            with pytest.raises(sw.StateError, match=r"no network yet .*set_data.*build\(\)") as info:
                getter()
            said = {"mask": "get", "scores": "get", "masks": "density"}.get(name, name)
            assert isinstance(info.value, RuntimeError) and str(info.value).startswith(said + ":"), name
        assert not e.built and not (tmp_path / "c.st").exists()
        with pytest.raises(sw.FileError, match="no-dataset-here"):  # training does load the configured dataset
            e.step()
    with sw.Engine(CFG) as e:  # given data, the getters build the network from it
        x, y = _data()
        e.set_data(x, y, x[:64], y[:64])
        assert e.parameter_names() == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] and e.built


# -- state_dict -------------------------------------------------------------------------------

def test_state_dict_round_trip_resumes_bit_identically(sw):
    with _engine(sw) as e1, _engine(sw) as e2:
        e1.fit(1, progress=False)
        state = e1.state_dict()
        assert state["format"] == "sparsewire-state-dict" and state["global_step"] == 8 and state["epochs_done"] == 1
        assert state["policy"] == "rigl" and isinstance(state["metadata"]["config"], str)
        assert np.array_equal(state["tensors"]["param/fc1.weight"], e1.get("fc1.weight"))
        assert state["tensors"]["mask/fc1.weight"].dtype == np.bool_
        e2.load_state_dict(state)
        assert e2.progress() == e1.progress()
        losses1, params1 = _continue(e1)
        losses2, params2 = _continue(e2)
        assert losses1 == losses2
        assert all(np.array_equal(params1[k], params2[k]) for k in params1)
        # The dict's tensors are what gets loaded.
        state["tensors"]["param/fc2.bias"][:] = 7.0
        e2.load_state_dict(state)
        assert np.all(e2.get("fc2.bias") == 7.0)
        with pytest.raises(sw.ArgumentError, match="not a SparseWire state dict"):
            e2.load_state_dict({"fc1.weight": np.zeros(3)})


def test_resume_between_single_steps_continues_the_step_pass(sw, tmp_path):
    """step() draws from a shuffled pass of its own; a checkpoint taken mid-pass resumes it."""
    with _engine(sw) as e1, _engine(sw) as e2, _engine(sw) as e3:
        for _ in range(3):
            e1.step()
        e1.save(tmp_path / "mid.st")
        state = e1.state_dict()
        e2.load(tmp_path / "mid.st")
        e3.load_state_dict(state)
        losses = [[e.step()["loss"] for _ in range(12)] for e in (e1, e2, e3)]  # past the pass's end (8 steps)
        assert losses[0] == losses[1] == losses[2]


def test_state_dict_through_torch_save_and_load(sw):
    torch = pytest.importorskip("torch")
    with _engine(sw) as e1:
        e1.fit(1, progress=False)
        buf = io.BytesIO()
        torch.save(e1.state_dict(as_torch=True), buf)
        buf.seek(0)
        state = torch.load(buf)  # torch's default weights_only=True: tensors, str, int only
        assert isinstance(state["tensors"]["param/fc1.weight"], torch.Tensor)
        buf = io.BytesIO()
        torch.save(e1.state_dict(), buf)  # NumPy arrays pickle: weights_only=False to read them back
        buf.seek(0)
        numpy_state = torch.load(buf, weights_only=False)
        with _engine(sw) as e2, _engine(sw) as e3:
            e2.load_state_dict(state)
            e3.load_state_dict(numpy_state)
            reference = _continue(e1)[0]
            assert _continue(e2)[0] == reference and _continue(e3)[0] == reference
