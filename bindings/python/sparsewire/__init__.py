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
from .policy import LayerView, MaskPolicy, Policy, Step, load_plugin, policies, register_policy

__version__ = "0.1.0"

__all__ = ["Engine", "Error", "LayerView", "MaskPolicy", "Policy", "Step", "abi_version", "blas_core",
           "library_path", "load_plugin", "policies", "register_policy", "version"]


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
