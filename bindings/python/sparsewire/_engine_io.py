"""Engine helpers for paths and text: config documents, C strings, file errors."""
import json
import os

from ._errors import ArgumentError, FileError, MissingFileError
from ._lib import check


def config_text(config):
    """A dict (→ JSON), a path to a YAML/JSON file, YAML/JSON text, or None (defaults)."""
    if config is None:
        return None
    if isinstance(config, dict):
        return json.dumps(config)
    if isinstance(config, os.PathLike) or (isinstance(config, str) and "\n" not in config and ":" not in config):
        path = os.fspath(config)
        if not os.path.isfile(path):
            raise MissingFileError(f"config file {path}: no such file")
        with open(path, encoding="utf-8") as f:
            return f.read()
    if isinstance(config, str):
        return config
    raise ArgumentError(f"config must be a dict, a YAML/JSON string or a path, got {type(config).__name__}")


def _b(s):
    return None if s is None else str(s).encode("utf-8")


def _check_file(status, needed):
    """check(status), except that a FileError while `needed` (a path the call reads, or the
    directory it writes into) does not exist becomes MissingFileError (a FileNotFoundError)."""
    try:
        check(status)
    except FileError as e:
        if needed is not None and not os.path.exists(needed):
            raise MissingFileError(str(e), e.status) from None
        raise
