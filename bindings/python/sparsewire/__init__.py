"""SparseWire from Python: learn which connections exist in a network while it trains.

    import sparsewire
    with sparsewire.Engine("configs/fmnist-fc.yaml", policy="rigl", density=0.1) as e:
        e.fit(1)
        print(e.evaluate(), e.density())

The binding is ctypes over libsparsewire.so (Include/sparsewire.h); NumPy is its only
dependency (CPU torch tensors are accepted wherever arrays are, see Engine).

Errors: every failure raises sparsewire.Error (`.status`: the SW_* name, None when the binding
caught it) with the library's message, as one of these subclasses — each also the builtin
exception named after it:
    ConfigError (ValueError)          a bad config key or value, unknown policy or option
    ShapeError (ValueError)           a size or shape that does not match
    InvalidArgumentError (ValueError) a value the call cannot take (bad enum, epochs < 1)
    ArgumentError (TypeError, ValueError)  wrong type, dtype, device or layout (binding side)
    DataError (ValueError)            bad data, e.g. a label outside [0, classes)
    NotFoundError (KeyError)          no tensor or layer of that name
    FileError (OSError)               a file cannot be read or written
    MissingFileError (FileNotFoundError, and a FileError)  a file the call needs does not exist
    NumericError (ArithmeticError)    the loss became NaN/inf
    StateError (RuntimeError)         not valid now (closed engine, no data yet, already built)
    UnsupportedError (NotImplementedError)  not supported
    PluginError (RuntimeError)        a plugin or Python policy failed
    InternalError (RuntimeError)      a library bug
    Stopped                           training stopped on request (Engine.request_stop)
"""
from ._errors import (ArgumentError, ConfigError, DataError, Error, FileError, InternalError, InvalidArgumentError,
                      MissingFileError, NotFoundError, NumericError, PluginError, ShapeError, StateError, Stopped,
                      UnsupportedError)
from ._lib import lib as _library
from .engine import Engine
from .policy import LayerView, MaskPolicy, Policy, Step, load_plugin, policies, register_policy, unregister_policy

try:  # the package's version is the library's (setup.py reads Sources/SparseWireTensor/Version.swift)
    from importlib.metadata import version as _dist_version
    __version__ = _dist_version("sparsewire")
except Exception:  # not installed (sys.path use in a checkout): ask the library when asked
    __version__ = None

__all__ = ["Engine", "Error", "LayerView", "MaskPolicy", "Policy", "Step", "abi_version", "blas_core",
           "library_path", "load_plugin", "policies", "register_policy", "set_log_callback", "unregister_policy", "version",
           "ArgumentError", "ConfigError", "DataError", "FileError", "InternalError", "InvalidArgumentError",
           "MissingFileError", "NotFoundError", "NumericError", "PluginError", "ShapeError", "StateError", "Stopped",
           "UnsupportedError"]


def version():
    """The library's version string."""
    return _library().sw_version_string().decode()


def abi_version():
    """The C ABI version the loaded library implements."""
    return _library().sw_abi_version()


def blas_core():
    """The OpenBLAS core type in use (e.g. "SkylakeX")."""
    return _library().sw_blas_core().decode()


def library_path():
    """The path of the loaded libsparsewire.so."""
    return str(_library().path)


_log_callback = None  # the ctypes thunk must outlive its installation


def set_log_callback(fn, level="warning"):
    """Sends engine and plugin log lines at or above `level` ("debug", "info", "warning") to
    `fn(level_name, source, message)` instead of stderr; fn None restores stderr. Process-wide.
    `fn` runs on the training thread and must not call into the engine that is training."""
    import ctypes
    from . import _abi
    global _log_callback
    levels = {"debug": _abi.LOG_DEBUG, "info": _abi.LOG_INFO, "warning": _abi.LOG_WARNING}
    if level not in levels:
        raise InvalidArgumentError(f"level must be one of {', '.join(levels)}, got {level!r}")
    names = {v: k for k, v in levels.items()}
    if fn is None:
        thunk = ctypes.cast(None, _abi.LOG_FN)
    else:
        def on_line(lvl, source, message, _user):
            try:
                fn(names.get(lvl, str(lvl)), source.decode("utf-8", "replace"), message.decode("utf-8", "replace"))
            except BaseException as e:  # never unwind through C
                import sys
                print(f"sparsewire: log callback failed: {e!r}", file=sys.stderr)
        thunk = _abi.LOG_FN(on_line)
    from ._lib import check
    check(_library().sw_set_log_callback(thunk, None, levels[level]))
    _log_callback = thunk if fn is not None else None
