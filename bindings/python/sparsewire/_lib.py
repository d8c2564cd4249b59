"""Finding, loading and checking libsparsewire.so.

Search order: $SPARSEWIRE_LIB (a file), the wheel's bundle (sparsewire/lib/, with the CLI, the
plugins and the Swift runtime), the package directory, the repository's .build/release (for
`pip install -e bindings/python` in a checkout). OPENBLAS_CORETYPE is set before the
library (and with it OpenBLAS) loads, because OpenBLAS 0.3.21 mis-detects some CPUs and runs
about 5x slower without it.
"""
import ctypes
import os
import pathlib
import sys

from . import _abi
from ._errors import Error, error_for  # noqa: F401  (Error: also sparsewire._lib.Error, as before)


_NAMES = ("libsparsewire.so", "libSparseWire.so")


def _candidates():
    env = os.environ.get("SPARSEWIRE_LIB")
    if env:
        return [("SPARSEWIRE_LIB", pathlib.Path(env))]
    here = pathlib.Path(__file__).resolve().parent
    out = [("wheel bundle", here / "lib" / n) for n in _NAMES]
    out += [("package directory", here / n) for n in _NAMES]
    repo = here.parent.parent.parent / ".build" / "release"
    out += [("repository build", repo / n) for n in _NAMES]
    return out


def _coretype(library):
    """The OPENBLAS_CORETYPE the library's own CPU detector recommends, or None.

    OpenBLAS reads the variable when it loads, so the question goes to the `sparsewire` CLI built
    beside the library (`sparsewire info --blas-coretype`), not to the library itself; None when
    the CLI is absent or fails (OpenBLAS then detects the CPU itself)."""
    import subprocess
    cli = pathlib.Path(library).resolve().parent / "sparsewire"
    if not cli.is_file():
        return None
    env = dict(os.environ, SPARSEWIRE_NO_REEXEC="1")
    try:
        out = subprocess.run([str(cli), "info", "--blas-coretype"], capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    core = out.stdout.strip()
    return core if out.returncode == 0 and core else None


def _set_coretype(library):
    if os.environ.get("OPENBLAS_CORETYPE"):
        return
    core = _coretype(library)
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core
        if not os.environ.get("SPARSEWIRE_QUIET"):
            print(f"sparsewire: set OPENBLAS_CORETYPE={core} before loading OpenBLAS (0.3.21 mis-detects this CPU; "
                  "set it yourself or SPARSEWIRE_QUIET=1 to silence this)", file=sys.stderr)


def load(expected_abi=_abi.ABI_VERSION):
    """Loads the library, declares every function, and checks the ABI version."""
    tried = []
    path = None
    for where, p in _candidates():
        tried.append(f"{p} ({where})")
        if p.is_file():
            path = p
            break
    if path is None:
        raise Error("cannot find libsparsewire.so; tried: " + "; ".join(tried)
                    + ". Build it with scripts/setup.sh (or swift build -c release) or set SPARSEWIRE_LIB")
    _set_coretype(path)
    try:
        lib = ctypes.CDLL(str(path), mode=os.RTLD_NOW | os.RTLD_LOCAL)
    except OSError as e:
        raise Error(f"cannot load {path}: {e}") from None
    for name, restype, argtypes in _abi.FUNCTIONS:
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise Error(f"{path} lacks {name}: it is older than this binding") from None
        fn.restype = restype
        fn.argtypes = argtypes
    abi = lib.sw_abi_version()
    if abi != expected_abi:
        raise Error(f"{path} speaks C ABI version {abi}, this binding was written for version {expected_abi}; "
                    "rebuild the library or install the matching binding")
    lib.path = path
    return lib


_lib = None


def lib():
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is None:
        _lib = load()
    return _lib


def check(status, what=None):
    """Raises the `Error` subclass for `status` (ConfigError for SW_ERR_CONFIG, ...; see
    sparsewire._errors) with the library's message, unless status is SW_OK."""
    if status != _abi.OK:
        msg = (lib().sw_last_error() or b"").decode("utf-8", "replace")
        name = _abi.STATUS_NAMES.get(status, str(status))
        raise error_for(name, msg or f"{what or 'call'} failed with {name}")


def two_call_string(fn, *args):
    """The two-call pattern for a string result."""
    needed = ctypes.c_uint64(0)
    check(fn(*args, None, 0, ctypes.byref(needed)))
    buf = ctypes.create_string_buffer(needed.value)
    check(fn(*args, buf, needed.value, ctypes.byref(needed)))
    return buf.value.decode("utf-8")
