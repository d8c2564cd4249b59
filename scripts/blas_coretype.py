#!/usr/bin/env python3
"""Print the OPENBLAS_CORETYPE this CPU should use (SkylakeX with AVX-512, Haswell with AVX2),
or an empty line. It asks the engine's own CPU detector (`sparsewire info --blas-coretype`, the
one the kernels dispatch on) instead of parsing /proc/cpuinfo; build the CLI first
(scripts/setup.sh)."""
import os
import pathlib
import subprocess
import sys

cli = pathlib.Path(__file__).resolve().parent.parent / ".build" / "release" / "sparsewire"
if not cli.is_file():
    print(f"blas_coretype: {cli} is not built (run scripts/setup.sh); leaving OpenBLAS's detection alone", file=sys.stderr)
    print("")
    sys.exit(0)
out = subprocess.run([str(cli), "info", "--blas-coretype"], capture_output=True, text=True,
                     env=dict(os.environ, SPARSEWIRE_NO_REEXEC="1"))
if out.returncode != 0:
    sys.stderr.write(out.stderr)
    sys.exit(out.returncode)
print(out.stdout.strip())
