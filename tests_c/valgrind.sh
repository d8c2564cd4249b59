#!/usr/bin/env bash
# Runs the C ABI test under valgrind memcheck (not part of scripts/test.sh: about 10 minutes).
# Valgrind 3.19 cannot read the DWARF 5 debug info of Swift 6.3 binaries and cannot execute
# AVX-512, so it runs on copies stripped of debug info, with OpenBLAS's Haswell (AVX2) kernels,
# a 256-example train set and a subset of the policies. Exit 0 = no memcheck error and all checks.
set -euo pipefail
cd "$(dirname "$0")/.."
REL=.build/release
work=$(mktemp -d)
for f in libSparseWire.so libsw_gmp.so libsw_snip.so; do objcopy --strip-debug "$REL/$f" "$work/$f"; done
ln -s libSparseWire.so "$work/libsparsewire.so"
cp "$work/libsw_gmp.so" "$work/gmp_copy.so"
cc -std=c11 -O1 -g -gdwarf-4 -IInclude tests_c/test_capi.c -L"$work" -lsparsewire -Wl,-rpath,"$work" -lm -o "$work/test_capi"
cc -std=c11 -shared -fPIC -IInclude tests_c/bad_abi_plugin.c -o "$work/bad_abi.so"
cc -std=c11 -shared -fPIC tests_c/no_entry_plugin.c -o "$work/no_entry.so"
cc -std=c11 -O1 -g -gdwarf-4 -IInclude tests_c/test_reentrancy.c -L"$work" -lsparsewire -Wl,-rpath,"$work" -lm -o "$work/test_reentrancy"
cd "$work"
OPENBLAS_CORETYPE=Haswell SW_TEST_TRAIN_LIMIT=256 SW_TEST_POLICIES=${SW_TEST_POLICIES:-dense,dnw,edge-popup,supermask,rigl,gmp,snip} \
  valgrind --error-exitcode=3 --leak-check=no ./test_capi ./libsw_gmp.so ./libsw_snip.so -- ./bad_abi.so ./no_entry.so ./gmp_copy.so
# Callbacks that call back into (and destroy) their own handle: deferred frees, no use after free.
OPENBLAS_CORETYPE=Haswell valgrind --error-exitcode=3 --leak-check=no ./test_reentrancy
