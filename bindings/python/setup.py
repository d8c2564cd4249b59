"""Builds the `sparsewire` wheel: the Python package plus, in sparsewire/lib/, the release build's
libsparsewire.so, the `sparsewire` CLI, the shipped plugins and the Swift runtime libraries they
load, every one with RUNPATH $ORIGIN (nothing is looked up in the toolchain any more). OpenBLAS
stays a system library (Debian/Ubuntu: libopenblas0). The version is the library's own
(Sources/SparseWireTensor/Version.swift).

    swift build -c release && pip wheel --no-deps -w dist bindings/python

An editable install (`pip install -e bindings/python`, scripts/setup.sh) bundles nothing: the
package then loads the checkout's .build/release."""
import os
import pathlib
import re
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.dist import Distribution

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RELEASE = pathlib.Path(os.environ.get("SPARSEWIRE_BUILD_DIR", ROOT / ".build" / "release"))


def version():
    text = (ROOT / "Sources" / "SparseWireTensor" / "Version.swift").read_text()
    return re.search(r'static let string = "([^"]+)"', text).group(1)


def toolchain_deps(files):
    """The libraries `files` load from the Swift toolchain (the directory of libswiftCore.so)."""
    deps = {}
    for f in files:
        out = subprocess.run(["ldd", str(f)], capture_output=True, text=True, check=True).stdout
        for name, path in re.findall(r"^\s*(\S+) => (/\S+)", out, re.M):
            deps[name] = pathlib.Path(path)
    core = deps.get("libswiftCore.so")
    if core is None:
        return []
    return [p for p in deps.values() if p.parent == core.parent]


def bundle(dest):
    main = [RELEASE / "libsparsewire.so", RELEASE / "sparsewire"]
    for f in main:
        if not f.is_file():
            raise SystemExit(f"{f} is missing: build the release first (swift build -c release)")
    plugins = sorted(RELEASE.glob("libsw_*.so"))
    if shutil.which("patchelf") is None:
        raise SystemExit("patchelf is missing (apt-get install patchelf): the bundled libraries need RUNPATH $ORIGIN")
    dest.mkdir(parents=True, exist_ok=True)
    files = main + plugins
    for f in files + toolchain_deps(files):
        target = dest / f.name
        shutil.copy2(f, target)
        target.chmod(0o755)
        subprocess.run(["patchelf", "--set-rpath", "$ORIGIN", str(target)], check=True)


class build_py(_build_py):
    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            bundle(pathlib.Path(self.build_lib) / "sparsewire" / "lib")


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True  # a platform wheel: it holds x86-64 Linux binaries


cmdclass = {"build_py": build_py}
try:
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # older setuptools
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel


class bdist_wheel(_bdist_wheel):
    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat  # ctypes, no Python C extension: any Python 3


cmdclass["bdist_wheel"] = bdist_wheel
setup(version=version(), cmdclass=cmdclass, distclass=BinaryDistribution)
