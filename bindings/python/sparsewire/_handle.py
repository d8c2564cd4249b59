"""An object that owns one library handle (an engine, a stand-alone policy) and frees it once."""
import ctypes


class OwnedHandle:
    """Owns `self._h` (a ctypes.c_void_p); `close()` frees it with the library function named by
    `_destroy` (e.g. "sw_engine_destroy"), also at the end of a `with` block and on garbage
    collection. Closing twice is fine."""

    _destroy = None

    def close(self):
        if getattr(self, "_h", None) and self._h.value:
            getattr(self._lib, self._destroy)(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
