"""Checked views of NumPy arrays and CPU torch tensors as C float/int32 pointers (no copies)."""
import ctypes

import numpy as np

from ._lib import Error


def _is_torch(a):
    return type(a).__module__.startswith("torch") and hasattr(a, "data_ptr")


def pointer(a, name, dtype=np.float32, shape=None, count=None, writable=False):
    """A ctypes pointer into `a` (kept alive by the caller), after checking dtype, layout, shape."""
    ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_int32
    if _is_torch(a):
        import torch
        want = torch.float32 if dtype == np.float32 else torch.int32
        if a.dtype != want:
            raise Error(f"{name} must be a {want} tensor, got {a.dtype}")
        if a.device.type != "cpu":
            raise Error(f"{name} must be on the CPU, got device {a.device}")
        if not a.is_contiguous():
            raise Error(f"{name} must be contiguous (call .contiguous())")
        got_shape, n = tuple(a.shape), a.numel()
        address = a.data_ptr()
    elif isinstance(a, np.ndarray):
        if a.dtype != dtype:
            raise Error(f"{name} must be {np.dtype(dtype).name}, got {a.dtype} "
                        f"(convert with np.ascontiguousarray({name}, dtype=np.{np.dtype(dtype).name}))")
        if not a.flags.c_contiguous:
            raise Error(f"{name} must be C-contiguous (use np.ascontiguousarray({name}))")
        if writable and not a.flags.writeable:
            raise Error(f"{name} must be writable")
        got_shape, n = a.shape, a.size
        address = a.ctypes.data
    else:
        raise Error(f"{name} must be a numpy array or a CPU torch tensor, got {type(a).__name__}")
    if shape is not None and tuple(got_shape) != tuple(shape):
        raise Error(f"{name} has shape {tuple(got_shape)}, expected {tuple(shape)}")
    if count is not None and n != count:
        raise Error(f"{name} has {n} elements, expected {count}")
    if n == 0:
        raise Error(f"{name} is empty")
    return ctypes.cast(ctypes.c_void_p(address), ctypes.POINTER(ctype))
