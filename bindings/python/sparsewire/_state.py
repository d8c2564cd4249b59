"""A Python policy's state_dict as checkpoint bytes: an .npz of arrays (no pickle)."""
import io

import numpy as np

from ._lib import Error


def pack_state(state, policy):
    """{str: array | number | str | bool} → .npz bytes (no pickle)."""
    if not isinstance(state, dict):
        raise Error(f"{policy}.state_dict() must return a dict, got {type(state).__name__}")
    arrays = {}
    for k, v in state.items():
        if not isinstance(k, str) or not k:
            raise Error(f"{policy}.state_dict(): keys must be non-empty strings, got {k!r}")
        a = np.asarray(v)
        if a.dtype == object:
            raise Error(f"{policy}.state_dict()['{k}'] is a {type(v).__name__}; use arrays, numbers, strings or bools")
        arrays[k] = a
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def unpack_state(data, policy):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: (z[k][()] if z[k].ndim == 0 else z[k]) for k in z.files}
    except Exception as e:
        raise Error(f"{policy}: the checkpoint's policy state is not a saved state_dict ({e})") from None
