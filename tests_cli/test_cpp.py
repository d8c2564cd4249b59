"""The header-only C++17 wrapper (bindings/cpp/sparsewire.hpp): its test and its example,
compiled with g++ and run."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
REL = ROOT / ".build" / "release"
CXX = shutil.which("g++") or shutil.which("c++")
FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-O1", f"-I{ROOT / 'Include'}", f"-I{ROOT / 'bindings' / 'cpp'}"]


@pytest.fixture(scope="module")
def libdir(tmp_path_factory):
    if not CXX:
        pytest.skip("no C++ compiler (g++)")
    assert (REL / "libSparseWire.so").exists(), "run scripts/setup.sh first"
    d = tmp_path_factory.mktemp("cpp")
    (d / "libsparsewire.so").symlink_to(REL / "libSparseWire.so")
    return d


def build(libdir, source, out):
    p = subprocess.run([CXX, *FLAGS, str(source), f"-L{libdir}", "-lsparsewire", f"-Wl,-rpath,{libdir}", "-o", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def env():
    e = dict(os.environ)
    if not e.get("OPENBLAS_CORETYPE"):
        core = subprocess.run(["python3", str(ROOT / "scripts" / "blas_coretype.py")], capture_output=True, text=True).stdout.strip()
        if core:
            e["OPENBLAS_CORETYPE"] = core
    return e


def test_cpp_wrapper_test_passes(libdir):
    build(libdir, ROOT / "bindings" / "cpp" / "tests" / "test_sparsewire.cpp", libdir / "test_cpp")
    p = subprocess.run([str(libdir / "test_cpp"), str(REL / "libsw_gmp.so")], capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "all 37 checks passed" in p.stdout, p.stdout


def test_cpp_example_trains(libdir):
    build(libdir, ROOT / "bindings" / "cpp" / "examples" / "train_fc.cpp", libdir / "train_fc")
    p = subprocess.run([str(libdir / "train_fc"), "rigl", "0.1", "1"], capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["policy"] == "rigl" and r["test_accuracy"] > 0.75, r
