#!/usr/bin/env bash
# Random-input fuzzing of SparseWire's parsers and of the C ABI (docs/FUZZING.md).
#   fuzz/run.sh [N] [SEED]     N inputs per target (default 100000); CI runs a short version.
# Swift targets (config, idx, cifar, safetensors) run in a DEBUG build, so integer overflow and
# out-of-bounds indexing trap (the release build checks them too since the engine left -Ounchecked).
# The C ABI fuzzer links the release libsparsewire.so, as hosts do. Exit non-zero on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
SEED=${2:-1}
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(python3 scripts/blas_coretype.py)}"
swift build --product sparsewire-fuzz 2>&1 | grep -E "error|warning: unre" || true
BIN=$(swift build --show-bin-path)/sparsewire-fuzz
for target in config idx cifar safetensors plugin; do
  "$BIN" "$target" --count "$N" --seed "$SEED"
done
REL=.build/release
[ -e "$REL/libsparsewire.so" ] || { echo "fuzz: build the release library first (scripts/setup.sh)"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -std=c11 -O1 -g -Wall -Wextra -Werror -IInclude fuzz/capi_fuzz.c -L"$REL" -lsparsewire -Wl,-rpath,"$PWD/$REL" -lm -o "$work/capi_fuzz"
"$work/capi_fuzz" "$N" "$SEED" "$work/fuzz.safetensors"
echo "fuzz: all targets ran $N inputs each with no crash"
