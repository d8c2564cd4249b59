#!/usr/bin/env bash
# The whole test suite: Swift unit/gradient/data/masking/training tests in release mode, then
# end-to-end tests on real Fashion-MNIST (pytest): the CLI, the C ABI (a C program), plugins, the
# C++ wrapper and the Python binding.
set -uo pipefail
cd "$(dirname "$0")/.."
# The XCTest runner links OpenBLAS directly and cannot re-exec itself: set the core type here.
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(python3 scripts/blas_coretype.py)}"
echo "test: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
log=$(mktemp)
swift test -c release --explicit-target-dependency-import-check error 2>&1 | tee "$log" | grep -E "error|failed|Executed .* tests|skipped" | grep -v "^Test Case .* passed"
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
  echo "swift test failed (exit $status); last lines:"; tail -40 "$log"; exit "$status"
fi
# Doc comments on every public declaration; DocC builds every engine target without a warning.
scripts/check_docs.sh
docs_status=$?
# Short fuzzing run (the full one: fuzz/run.sh 100000, docs/FUZZING.md).
fuzz/run.sh 3000 "${FUZZ_SEED:-$(date +%j)}" | grep -v "^  [0-9]*×"
fuzz_status=${PIPESTATUS[0]}
# pytest last, so its summary line closes the output.
python3 -m pytest -q -rs tests_cli bindings/python/tests
pytest_status=$?
[ "$docs_status" = 0 ] && [ "$fuzz_status" = 0 ] && [ "$pytest_status" = 0 ]
