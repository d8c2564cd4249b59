"""Checked views of NumPy arrays and CPU torch tensors as C float/int32 pointers (no copies),
class labels checked and converted to int32, and results handed back as NumPy or torch."""
import ctypes

import numpy as np

from ._errors import ArgumentError, DataError, Error, ShapeError  # noqa: F401  (Error: imported from here by others)

_INT32 = np.iinfo(np.int32)


def _is_torch(a):
    """Whether `a` is a torch tensor (checked without importing torch)."""
    return type(a).__module__.startswith("torch") and hasattr(a, "data_ptr")


def pointer(a, name, dtype=np.float32, shape=None, count=None, writable=False):
    """A ctypes pointer into `a` (kept alive by the caller), after checking dtype, layout, shape.
    A wrong type, dtype, device or layout raises ArgumentError; a wrong shape, element count or an
    empty array ShapeError."""
    ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_int32
    if _is_torch(a):
        import torch
        want = torch.float32 if dtype == np.float32 else torch.int32
        if a.dtype != want:
            raise ArgumentError(f"{name} must be a {want} tensor, got {a.dtype}")
        if a.device.type != "cpu":
            raise ArgumentError(f"{name} must be on the CPU, got device {a.device}")
        if not a.is_contiguous():
            raise ArgumentError(f"{name} must be contiguous (call .contiguous())")
        got_shape, n = tuple(a.shape), a.numel()
        address = a.data_ptr()
    elif isinstance(a, np.ndarray):
        if a.dtype != dtype:
            raise ArgumentError(f"{name} must be {np.dtype(dtype).name}, got {a.dtype} "
                                f"(convert with np.ascontiguousarray({name}, dtype=np.{np.dtype(dtype).name}))")
        if not a.flags.c_contiguous:
            raise ArgumentError(f"{name} must be C-contiguous (use np.ascontiguousarray({name}))")
        if writable and not a.flags.writeable:
            raise ArgumentError(f"{name} must be writable")
        got_shape, n = a.shape, a.size
        address = a.ctypes.data
    else:
        raise ArgumentError(f"{name} must be a numpy array or a CPU torch tensor, got {type(a).__name__}")
    if shape is not None and tuple(got_shape) != tuple(shape):
        raise ShapeError(f"{name} has shape {tuple(got_shape)}, expected {tuple(shape)}")
    if count is not None and n != count:
        raise ShapeError(f"{name} has {n} elements, expected {count}")
    if n == 0:
        raise ShapeError(f"{name} is empty")
    return ctypes.cast(ctypes.c_void_p(address), ctypes.POINTER(ctype))


def label_view(y, name, n):
    """`y` (a NumPy array or CPU torch tensor of n integer class labels) as a NumPy array that
    shares its memory: the labels' values, for checking. Float, bool or non-integer labels raise
    ArgumentError naming `name`; a wrong shape ShapeError."""
    if _is_torch(y):
        if y.device.type != "cpu":
            raise ArgumentError(f"{name} must be on the CPU, got device {y.device}")
        if y.dtype.is_floating_point or y.dtype.is_complex or str(y.dtype) == "torch.bool":
            raise ArgumentError(f"{name} must hold integer class labels (int32 or int64), got {y.dtype}")
        arr = y.detach().numpy()
    elif isinstance(y, np.ndarray):
        arr = y
    else:
        raise ArgumentError(f"{name} must be a numpy array or a CPU torch tensor, got {type(y).__name__}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ArgumentError(f"{name} must hold integer class labels (int32 or int64), got {arr.dtype}")
    if arr.shape != (n,):
        raise ShapeError(f"{name} has shape {tuple(arr.shape)}, expected ({n},)")
    if n and (arr.min() < _INT32.min or arr.max() > _INT32.max):
        i = int(np.flatnonzero((arr < _INT32.min) | (arr > _INT32.max))[0])
        raise DataError(f"{name}: label {int(arr[i])} at index {i} does not fit in int32")
    return arr


def int32_labels(y, arr, name, classes):
    """The labels to hand to the library as int32: `y` itself when it already is int32 and
    contiguous (zero-copy), else a converted copy of `arr` (its `label_view`). Raises DataError
    naming `name` for a label outside [0, classes)."""
    if arr.size and (arr.min() < 0 or arr.max() >= classes):
        i = int(np.flatnonzero((arr < 0) | (arr >= classes))[0])
        raise DataError(f"{name}: label {int(arr[i])} at index {i} outside 0..<{classes}")
    if arr.dtype == np.int32 and arr.flags.c_contiguous:
        return y
    return np.ascontiguousarray(arr, dtype=np.int32)


def output(a, as_torch):
    """A result array as NumPy, or as a torch tensor sharing its memory when `as_torch`."""
    if not as_torch:
        return a
    try:
        import torch
    except ImportError:
        raise ArgumentError("as_torch=True needs torch installed") from None
    return torch.from_numpy(a)
