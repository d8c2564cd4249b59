#!/usr/bin/env bash
# One-shot set-up for a fresh Debian machine: system packages (OpenBLAS, libffi, zlib, the
# Fashion-MNIST dataset), Python test dependencies, and the release build (CLI, C library,
# plugins).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libopenblas-dev libffi-dev zlib1g-dev dataset-fashion-mnist graphviz patchelf >/dev/null
python3 -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# PyTorch's CPU build for the tests that compare against it (a plain `pip install torch` pulls a
# CUDA build); the wheel ships in /opt/wheels on these machines.
if [ -d /opt/wheels ] && ls /opt/wheels/torch-2.13.0+cpu-*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check --find-links /opt/wheels "torch==2.13.0+cpu"
else
  echo "setup: /opt/wheels has no torch 2.13.0+cpu wheel; the PyTorch comparison tests will be skipped"
fi
swift build -c release --explicit-target-dependency-import-check error
swift build -c release --build-tests --explicit-target-dependency-import-check error
# SwiftPM cannot name a library product like the `sparsewire` executable: the C library is built
# as libSparseWire.so (soname libsparsewire.so); give it the name C hosts link with.
ln -sf libSparseWire.so .build/release/libsparsewire.so
# The Python binding (ctypes + numpy), editable: it finds .build/release/libsparsewire.so.
python3 -m pip install -q --disable-pip-version-check -e bindings/python
echo "setup: done (release build in .build/release: sparsewire, libsparsewire.so, libsw_gmp.so, libsw_snip.so, libsw_momentum_regrow.so)"
