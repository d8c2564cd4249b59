"""Engine.state_dict() / Engine.load_state_dict(): the engine's checkpoint as a plain dict.

The dict is the safetensors checkpoint `Engine.save` writes, taken apart — so restoring it is
exactly `Engine.load` of that checkpoint, and training resumes bit-identically:

    {
      "format": "sparsewire-state-dict", "format_version": 1,
      "tensors":  {"param/fc1.weight": array, "mask/fc1.weight": array,
                   "optim/momentum/fc1.weight": array, ...},    # every tensor of the checkpoint,
                                                                 # under its checkpoint name
      "metadata": {"config": "...", "global_step": "8", "rng": "...", ...},   # str -> str, as saved
      "global_step": 8, "epochs_done": 1, "policy": "rigl",     # conveniences read from metadata;
    }                                                            # ignored by load_state_dict

Tensors are NumPy arrays in their checkpoint dtype (float32; masks bool; …), or torch tensors
with `as_torch=True`. Everything else is str / int, so `torch.save(engine.state_dict(as_torch=True))`
loads back with torch.load's default `weights_only=True` (a NumPy state dict needs
`weights_only=False`, or pickle). `load_state_dict` takes either kind, writes the checkpoint to a
temporary directory and loads it: the same checks (names, shapes, model config) as `Engine.load`.
"""
import json
import os
import tempfile

import numpy as np

from ._arrays import _is_torch, output
from ._errors import ArgumentError, DataError, UnsupportedError

FORMAT = "sparsewire-state-dict"
FORMAT_VERSION = 1

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_NAMES = {(np.dtype(code).kind, np.dtype(code).itemsize): name for name, code in _DTYPES.items()}


def parse_safetensors(raw):
    """safetensors bytes → ({name: writable NumPy array}, {metadata str: str}), in file order."""
    if len(raw) < 8:
        raise DataError("not a safetensors checkpoint: shorter than its 8-byte header length")
    n = int.from_bytes(raw[:8], "little")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        raise DataError(f"not a safetensors checkpoint: bad header ({e})") from None
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, info in header.items():
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise UnsupportedError(f"checkpoint tensor {name} has dtype {info['dtype']}, which state_dict cannot hold")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(bytearray(data[start:end]), dtype=dtype).reshape(info["shape"])
    return tensors, dict(metadata)


def build_safetensors(tensors, metadata):
    """({name: array}, {str: str}) → safetensors bytes (header padded to 8 bytes, data in order)."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, a in tensors.items():
        st = _NAMES.get((a.dtype.kind, a.dtype.itemsize))
        if st is None:
            raise ArgumentError(f"state_dict tensor {name} has dtype {a.dtype}, which a checkpoint cannot hold")
        b = np.ascontiguousarray(a, dtype=np.dtype(_DTYPES[st])).tobytes()
        header[name] = {"dtype": st, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(chunks)


def state_dict(engine, as_torch=False):
    """The dict described in this module's docstring, made through `engine.save` to a temporary
    file (see Engine.state_dict)."""
    with tempfile.TemporaryDirectory(prefix="sparsewire-state-") as tmp:
        path = os.path.join(tmp, "state.safetensors")
        engine.save(path)
        with open(path, "rb") as f:
            raw = f.read()
    tensors, metadata = parse_safetensors(raw)
    out = {"format": FORMAT, "format_version": FORMAT_VERSION,
           "tensors": {k: output(v, as_torch) for k, v in tensors.items()}, "metadata": metadata}
    for key, convert in (("global_step", int), ("epochs_done", int), ("policy", str)):
        if key in metadata:
            out[key] = convert(metadata[key])
    return out


def _numpy(value, name):
    if _is_torch(value):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise ArgumentError(f"state_dict['tensors'][{name!r}] must be a numpy array or a torch tensor, "
                        f"got {type(value).__name__}")


def load_state_dict(engine, state):
    """Restores `state` (from `state_dict`) into `engine` through `engine.load` of the rebuilt
    checkpoint (see Engine.load_state_dict)."""
    if not isinstance(state, dict):
        raise ArgumentError(f"state must be a dict from Engine.state_dict(), got {type(state).__name__}")
    if state.get("format") != FORMAT:
        raise ArgumentError(f"state is not a SparseWire state dict (format {state.get('format')!r}, "
                            f"expected {FORMAT!r})")
    if state.get("format_version") != FORMAT_VERSION:
        raise ArgumentError(f"state dict format_version {state.get('format_version')!r}; this binding reads "
                            f"{FORMAT_VERSION}")
    tensors, metadata = state.get("tensors"), state.get("metadata")
    if not isinstance(tensors, dict) or not isinstance(metadata, dict):
        raise ArgumentError("state must have a 'tensors' dict and a 'metadata' dict")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ArgumentError("state['metadata'] must map strings to strings, as state_dict() made it")
    raw = build_safetensors({k: _numpy(v, k) for k, v in tensors.items()}, metadata)
    with tempfile.TemporaryDirectory(prefix="sparsewire-state-") as tmp:
        path = os.path.join(tmp, "state.safetensors")
        with open(path, "wb") as f:
            f.write(raw)
        engine.load(path)
