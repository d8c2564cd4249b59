"""One CPU-feature detector: the CLI, the C ABI, the Python package and scripts/blas_coretype.py
all give the answer of the engine's own detector (the one the kernels dispatch on), and it
agrees with the kernel's own view of /proc/cpuinfo."""
import ctypes
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / ".build" / "release" / "sparsewire"
LIB = ROOT / ".build" / "release" / "libsparsewire.so"
BITS = {"avx2": 1, "fma": 2, "avx512f": 4, "avx512bw": 8, "avx512vl": 16}


def proc_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def expected_core(features):
    if {"avx512f", "avx512bw", "avx512vl"} <= set(features):
        return "SkylakeX"
    if {"avx2", "fma"} <= set(features):
        return "Haswell"
    return None


def cli(*args):
    env = dict(os.environ, SPARSEWIRE_NO_REEXEC="1")
    p = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_info_reports_the_detected_features_and_their_core_type():
    info = json.loads(cli("info"))
    features = info["cpu_features"]
    # The kernel reports what cpuid says; every feature the detector names is in /proc/cpuinfo.
    assert set(features) <= proc_flags()
    assert set(features) == {f for f in BITS if f in proc_flags()}
    assert info["recommended_openblas_coretype"] == expected_core(features)


def test_every_caller_gets_the_one_detectors_answer():
    info = json.loads(cli("info"))
    want = info["recommended_openblas_coretype"] or ""
    assert cli("info", "--blas-coretype").strip() == want
    script = subprocess.run([sys.executable, str(ROOT / "scripts" / "blas_coretype.py")], capture_output=True, text=True, check=True)
    assert script.stdout.strip() == want
    sys.path.insert(0, str(ROOT / "bindings" / "python"))
    from sparsewire import _lib
    assert (_lib._coretype(LIB) or "") == want
    lib = ctypes.CDLL(str(LIB))
    lib.sw_cpu_features.restype = ctypes.c_uint32
    lib.sw_recommended_blas_core.restype = ctypes.c_char_p
    assert lib.sw_recommended_blas_core().decode() == want
    bits = lib.sw_cpu_features()
    assert {f for f, b in BITS.items() if bits & b} == set(info["cpu_features"])
