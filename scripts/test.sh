#!/usr/bin/env bash
# The whole test suite: Swift unit/gradient/data/training tests in release mode, then an
# end-to-end run of the CLI on real Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
# The test process links OpenBLAS directly, so it cannot re-exec itself: set the core type here.
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(python3 scripts/blas_coretype.py)}"
echo "test: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
swift test -c release 2>&1 | tee /tmp/sparsewire-swift-test.log | grep -E "error|failed|Executed .* tests|skipped" || true
grep -q "with 0 failures" /tmp/sparsewire-swift-test.log && ! grep -qE "error:|failed \(" /tmp/sparsewire-swift-test.log \
  || { echo "swift test failed (log: /tmp/sparsewire-swift-test.log)"; tail -40 /tmp/sparsewire-swift-test.log; exit 1; }
python3 -m pytest -q tests_cli
