"""SparseWire from Python: learn which connections exist in a network while it trains.

    import sparsewire
    with sparsewire.Engine("configs/fmnist-fc.yaml", policy="rigl", density=0.1) as e:
        e.fit(1)
        print(e.evaluate(), e.density())

The binding is ctypes over libsparsewire.so (Include/sparsewire.h); NumPy is its only
dependency. Every failure raises sparsewire.Error with the library's message.
"""
from ._lib import Error, lib as _library
from .engine import Engine
from .policy import LayerView, MaskPolicy, Policy, Step, load_plugin, policies, register_policy, unregister_policy

__version__ = "0.1.0"

__all__ = ["Engine", "Error", "LayerView", "MaskPolicy", "Policy", "Step", "abi_version", "blas_core",
           "library_path", "load_plugin", "policies", "register_policy", "set_log_callback", "unregister_policy", "version"]


def version():
    """The library's version string."""
    return _library().sw_version_string().decode()


def abi_version():
    return _library().sw_abi_version()


def blas_core():
    """The OpenBLAS core type in use (e.g. "SkylakeX")."""
    return _library().sw_blas_core().decode()


def library_path():
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
        raise Error(f"level must be one of {', '.join(levels)}, got {level!r}")
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
