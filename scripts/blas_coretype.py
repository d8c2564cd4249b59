#!/usr/bin/env python3
"""Print the OPENBLAS_CORETYPE this CPU should use (SkylakeX with AVX-512, Haswell with AVX2)."""
flags = set()
try:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
except OSError:
    pass
if {"avx512f", "avx512bw", "avx512vl"} <= flags:
    print("SkylakeX")
elif {"avx2", "fma"} <= flags:
    print("Haswell")
else:
    print("")
