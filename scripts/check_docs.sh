#!/usr/bin/env bash
# The documentation checks of CI: every public declaration of the engine has a doc comment
# (scripts/doc_coverage.py), and the DocC archives of every engine target build without a warning.
set -uo pipefail
cd "$(dirname "$0")/.."
python3 scripts/doc_coverage.py | tail -1
coverage=${PIPESTATUS[0]}
[ "$coverage" = 0 ] || { python3 scripts/doc_coverage.py --list; echo "docs: undocumented public declarations (above)"; exit 1; }
targets=()
for t in Tensor Autograd Networks Data Masking Optim Config Training Interchange Core; do targets+=(--target "SparseWire$t"); done
log=$(mktemp)
if ! swift package --disable-sandbox generate-documentation "${targets[@]}" >"$log" 2>&1; then
  tail -30 "$log"; echo "docs: generate-documentation failed"; exit 1
fi
if grep -q "warning:" "$log"; then
  grep "warning:" "$log" | head -40; echo "docs: DocC warnings (above)"; exit 1
fi
echo "docs: $(grep -c 'Finished building documentation' "$log") DocC archives, no warnings"
