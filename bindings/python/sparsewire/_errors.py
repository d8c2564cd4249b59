"""The exceptions of the binding: `Error` and one subclass per kind of failure.

Every exception the binding raises is a `sparsewire.Error` (`.status` is the SW_* status name of
the C call that failed, or None when the binding caught the problem before calling). Each
subclass is also a subclass of the builtin exception a Python user would expect, so both
`except sparsewire.ConfigError` and `except ValueError` work:

    Error                      base; .status
    ├── ConfigError            SW_ERR_CONFIG            + ValueError
    ├── ShapeError             SW_ERR_SHAPE             + ValueError
    ├── InvalidArgumentError   SW_ERR_INVALID_ARGUMENT  + ValueError
    ├── ArgumentError          (binding side)           + TypeError, ValueError
    ├── DataError              SW_ERR_DATA              + ValueError
    ├── NotFoundError          SW_ERR_NOT_FOUND         + KeyError (printed unquoted)
    ├── FileError              SW_ERR_IO                + OSError
    │   └── MissingFileError   (binding side)           + FileNotFoundError
    ├── NumericError           SW_ERR_NUMERIC           + ArithmeticError
    ├── StateError             SW_ERR_STATE             + RuntimeError
    ├── UnsupportedError       SW_ERR_UNSUPPORTED       + NotImplementedError (a RuntimeError)
    ├── PluginError            SW_ERR_PLUGIN            + RuntimeError
    ├── InternalError          SW_ERR_INTERNAL          + RuntimeError
    └── Stopped                SW_STOPPED (a stop request, not a failure; see Engine.request_stop)
"""
import errno as _errno

from . import _abi


class Error(Exception):
    """Any failure reported by the library, or a bad argument caught before the call.
    `status` is the SW_* status name ("SW_ERR_CONFIG", ...), or None for binding-side errors.
    The subclasses below say which kind; catching `Error` catches them all."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status

    def __reduce__(self):  # keep `status` through pickling (errors cross process boundaries in sweeps)
        return (type(self), (self.args[0] if self.args else "", self.status))


class ConfigError(Error, ValueError):
    """SW_ERR_CONFIG: a bad config key or value, an unknown policy or policy option."""


class ShapeError(Error, ValueError):
    """SW_ERR_SHAPE: a size or shape does not match; also raised by the binding for an array of
    the wrong shape or an empty one."""


class InvalidArgumentError(Error, ValueError):
    """SW_ERR_INVALID_ARGUMENT: a value the call cannot take (a bad enum, a NULL pointer, not
    UTF-8); also raised by the binding for a bad value such as an unknown tensor kind or
    `epochs < 1`."""


class ArgumentError(Error, TypeError, ValueError):
    """Binding side (status None): an argument of the wrong type, dtype, device or memory layout
    — a list where an array is needed, float64 where float32 is, a CUDA tensor, a strided view, a
    read-only array, float class labels. Both a TypeError (the wrong kind of object) and a
    ValueError (an array whose dtype or layout is wrong), so either `except` catches it."""


class DataError(Error, ValueError):
    """SW_ERR_DATA: bad dataset content, e.g. a class label outside [0, classes) (the binding
    checks labels itself and names the argument: y_train or y_test)."""


class NotFoundError(Error, KeyError):
    """SW_ERR_NOT_FOUND: no tensor or layer of that name. A KeyError, printed without the quotes
    KeyError adds."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class FileError(Error, OSError):
    """SW_ERR_IO: a file cannot be read or written (a dataset, a checkpoint)."""


class MissingFileError(FileError, FileNotFoundError):
    """Binding side: a file the call needs does not exist (a config file, a checkpoint to load, a
    dataset directory given as `path`, the directory a checkpoint is saved into). A
    FileNotFoundError (errno ENOENT) as well as a FileError. Files the library itself fails to
    find (e.g. the config's data.path) raise FileError."""

    def __init__(self, message, status=None):
        super().__init__(message, status)
        self.errno = _errno.ENOENT


class NumericError(Error, ArithmeticError):
    """SW_ERR_NUMERIC: the loss became NaN or infinite."""


class StateError(Error, RuntimeError):
    """SW_ERR_STATE: the call is not valid now — a config key set after the network was built,
    data given twice, a call on a closed engine, a getter before there is a network, a call made
    while another runs on the same engine."""


class UnsupportedError(Error, NotImplementedError):
    """SW_ERR_UNSUPPORTED: the library does not support this (a NotImplementedError, hence also a
    RuntimeError)."""


class PluginError(Error, RuntimeError):
    """SW_ERR_PLUGIN: a plugin cannot be loaded, or a plugin or Python policy callback failed."""


class InternalError(Error, RuntimeError):
    """SW_ERR_INTERNAL: a bug in the library; please report it with the message."""


class Stopped(Error):
    """SW_STOPPED: training stopped on request (`Engine.request_stop()`) after a whole step, with
    the epoch left open — not a failure: save a checkpoint to resume exactly, or train on. It is
    an `Error` with status "SW_STOPPED" (as before this subclass existed), deliberately not a
    subclass of any builtin error."""


ERRORS = {
    "SW_ERR_INVALID_ARGUMENT": InvalidArgumentError, "SW_ERR_CONFIG": ConfigError, "SW_ERR_SHAPE": ShapeError,
    "SW_ERR_DATA": DataError, "SW_ERR_IO": FileError, "SW_ERR_NUMERIC": NumericError, "SW_ERR_STATE": StateError,
    "SW_ERR_UNSUPPORTED": UnsupportedError, "SW_ERR_NOT_FOUND": NotFoundError, "SW_ERR_PLUGIN": PluginError,
    "SW_ERR_INTERNAL": InternalError, "SW_STOPPED": Stopped,
}
assert set(ERRORS) <= set(_abi.STATUS_NAMES.values())

PUBLIC = ["Error", "ArgumentError", "ConfigError", "DataError", "FileError", "InternalError", "InvalidArgumentError",
          "MissingFileError", "NotFoundError", "NumericError", "PluginError", "ShapeError", "StateError", "Stopped",
          "UnsupportedError"]


def error_for(status_name, message):
    """The exception for a failed call: the subclass of `Error` its SW_* status names (the base
    `Error` for a status without one, e.g. SW_ERR_BUFFER_TOO_SMALL)."""
    return ERRORS.get(status_name, Error)(message, status_name)


for _cls in [globals()[_n] for _n in PUBLIC]:
    _cls.__module__ = "sparsewire"  # tracebacks say sparsewire.ConfigError; pickling finds them there
