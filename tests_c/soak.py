#!/usr/bin/env python3
"""Soak test of the C ABI (issue 18): many training steps through libsparsewire.so (ctypes) on
Fashion-MNIST FC, rotating through a built-in top-k policy (rigl), a plugin policy (gmp, from
libsw_gmp.so) and a host-callback policy (a Python MaskPolicy), with a checkpoint save and a
policy switch every `--period` steps. Resident memory must stay flat after the warm-up and no
file descriptor may leak.

    python3 tests_c/soak.py --steps 50000            # the long run (about 3 minutes here)
    python3 tests_c/soak.py --steps 3000 --json      # CI's short run (tests_cli/test_soak.py)

Prints one line per period and a final JSON line: steps, RSS after warm-up and at the end (MiB),
the growth and the bound, open fds before and after. Exit 1 when a bound is broken.
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import sparsewire as sw  # noqa: E402


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds():
    return len(os.listdir("/proc/self/fd"))


class KeepLargest(sw.MaskPolicy):
    """Host-callback policy: magnitude top-k per layer, recomputed each step."""
    name = "soak-keep-largest"
    summary = "largest |w| per layer (soak test)"

    def compute_mask(self, layer, step):
        k = max(1, int(round(self.density * layer.weights.size)))
        flat = np.abs(layer.weights).ravel()
        keep = np.argpartition(flat, -k)[-k:]
        mask = np.zeros(flat.size, dtype=np.float32)
        mask[keep] = 1
        return mask.reshape(layer.shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50000)
    ap.add_argument("--period", type=int, default=1000, help="steps between a checkpoint save and a policy switch")
    ap.add_argument("--warmup", type=int, default=2, help="periods before the RSS baseline is taken")
    ap.add_argument("--bound-mib", type=float, default=5.0, help="allowed RSS growth after the warm-up")
    ap.add_argument("--json", action="store_true", help="only the final JSON line")
    args = ap.parse_args()

    sw.load_plugin(ROOT / ".build" / "release" / "libsw_gmp.so")
    try:
        sw.register_policy(KeepLargest)
    except sw.Error:
        pass  # registered by an earlier run in this process
    policies = [("rigl", {"delta_t": 50}), ("gmp", {}), ("soak-keep-largest", {})]
    cfg = {"model": {"name": "mlp", "hidden": [300, 100]}, "data": {"dataset": "fashion-mnist", "train_limit": 10000, "test_limit": 1000},
           "policy": "rigl", "density": 0.2, "policy_options": {"delta_t": 50}, "threads": 1, "seed": 0,
           "epochs": max(1, args.steps // 79)}
    fds_before = open_fds()
    baseline = None
    with tempfile.TemporaryDirectory() as tmp, sw.Engine(cfg) as e:
        ck = os.path.join(tmp, "soak.safetensors")
        start = time.time()
        done = 0
        period = 0
        while done < args.steps:
            n = min(args.period, args.steps - done)
            for _ in range(n):
                e.step()
            done += n
            period += 1
            e.save(ck)
            name, options = policies[period % len(policies)]
            e.set_policy(name, density=0.2, **options)
            rss = rss_mib()
            if period == args.warmup:
                baseline = rss
            if not args.json:
                print(f"steps {done:6d}  policy {name:18}  rss {rss:7.1f} MiB  fds {open_fds()}  {time.time() - start:6.1f} s", flush=True)
        end_rss = rss_mib()
    fds_after = open_fds()
    if baseline is None:
        baseline = end_rss
    growth = end_rss - baseline
    result = {"steps": done, "periods": period, "rss_baseline_mib": round(baseline, 1), "rss_end_mib": round(end_rss, 1),
              "rss_growth_mib": round(growth, 2), "bound_mib": args.bound_mib, "fds_before": fds_before, "fds_after": fds_after,
              "seconds": round(time.time() - start, 1), "ok": growth <= args.bound_mib and fds_after <= fds_before}
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
