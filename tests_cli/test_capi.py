"""The C ABI and the plugin ABI, from C: tests_c/test_capi.c compiled with `cc` against
Include/ only, plus the documented minimal plugin, plugins through the CLI, and the exports of
libsparsewire.so."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
REL = ROOT / ".build" / "release"
LIB = REL / "libSparseWire.so"
GMP = REL / "libsw_gmp.so"
SNIP = REL / "libsw_snip.so"
BIN = REL / "sparsewire"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g", f"-I{ROOT / 'Include'}"]


def sh(*cmd, env=None, timeout=900):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, timeout=timeout)
    assert p.returncode == 0, f"{cmd[0]} exit {p.returncode}\nstdout:\n{p.stdout[-4000:]}\nstderr:\n{p.stderr[-4000:]}"
    return p


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    for f in (LIB, GMP, SNIP, BIN):
        assert f.exists(), f"{f} missing: run scripts/setup.sh first"
    assert CC, "no C compiler (cc) found"
    d = tmp_path_factory.mktemp("capi")
    (d / "libsparsewire.so").symlink_to(LIB)
    sh(CC, *CFLAGS, ROOT / "tests_c" / "test_capi.c", f"-L{d}", "-lsparsewire", f"-Wl,-rpath,{d}", "-lm", "-o", d / "test_capi")
    sh(CC, *CFLAGS, "-shared", "-fPIC", ROOT / "tests_c" / "bad_abi_plugin.c", "-o", d / "bad_abi.so")
    sh(CC, *CFLAGS, "-shared", "-fPIC", ROOT / "tests_c" / "no_entry_plugin.c", "-o", d / "no_entry.so")
    shutil.copy(GMP, d / "gmp_copy.so")
    doc = (ROOT / "docs" / "PLUGINS.md").read_text()
    example = re.search(r"```c\n(/\* keep_largest\.c.*?)```", doc, re.S)
    assert example, "docs/PLUGINS.md lost its minimal example"
    (d / "keep_largest.c").write_text(example.group(1))
    sh(CC, *CFLAGS, "-shared", "-fPIC", d / "keep_largest.c", "-lm", "-o", d / "libkeep_largest.so")
    return d


def env():
    e = dict(os.environ)
    if "OPENBLAS_CORETYPE" not in e:
        e["OPENBLAS_CORETYPE"] = subprocess.run(["python3", str(ROOT / "scripts" / "blas_coretype.py")],
                                                capture_output=True, text=True).stdout.strip() or "Haswell"
    return e


def test_c_program_trains_every_policy_and_walks_every_error_path(build):
    p = sh(build / "test_capi", GMP, SNIP, "--", build / "bad_abi.so", build / "no_entry.so", build / "gmp_copy.so",
           env=env())
    out = p.stdout
    assert re.search(r"all \d+ checks passed", out), out[-2000:]
    trained = re.search(r"ok   (\d+) policies trained one epoch each", out)
    assert trained and int(trained.group(1)) >= 14, out
    for policy in ("dense", "dnw", "edge-popup", "supermask", "rigl", "gmp", "snip"):
        assert re.search(rf"ok   {re.escape(policy)} +1 epoch: test accuracy 0\.\d+", out), policy
    for status in ("SW_ERR_INVALID_ARGUMENT", "SW_ERR_CONFIG", "SW_ERR_SHAPE", "SW_ERR_BUFFER_TOO_SMALL",
                   "SW_ERR_IO", "SW_ERR_PLUGIN", "SW_ERR_NOT_FOUND", "SW_ERR_STATE", "SW_ERR_DATA"):
        assert f"error path {status}" in out, status


def test_callbacks_calling_back_into_their_own_handle(build):
    """tests_c/test_reentrancy.c: every C policy hook, a progress callback and a mask-only
    policy's callback call back into the running handle (refused with SW_ERR_STATE), read it,
    use another engine and the registry, and destroy it (deferred)."""
    sh(CC, *CFLAGS, ROOT / "tests_c" / "test_reentrancy.c", f"-L{build}", "-lsparsewire", f"-Wl,-rpath,{build}",
       "-lm", "-o", build / "test_reentrancy")
    out = sh(build / "test_reentrancy", env=env(), timeout=300).stdout
    assert re.search(r"test_reentrancy: \d+ checks passed", out), out
    for group in ("C policy callbacks (create, prepare, update, after_backward, after_step, evaluation)",
                  "progress callbacks", "mask-only policy callbacks"):
        assert f"ok   {group}" in out, group


def test_library_exports_exactly_the_header_functions():
    header = (ROOT / "Include" / "sparsewire.h").read_text()
    declared = set(re.findall(r"^[a-z_][\w \*]*?\b(sw_\w+)\(", header, re.M))
    nm = sh("nm", "-D", "--defined-only", "--extern-only", LIB).stdout
    exported = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    assert exported == declared, f"extra: {sorted(exported - declared)}, missing: {sorted(declared - exported)}"
    assert len(declared) >= 35


def test_plugins_export_only_the_entry_point():
    for lib in (GMP, SNIP):
        nm = sh("nm", "-D", "--defined-only", "--extern-only", lib).stdout
        symbols = {line.split()[-1] for line in nm.splitlines() if line.strip()}
        assert "sw_plugin_entry" in symbols
        assert not {s for s in symbols if s.startswith("sw_") and s != "sw_plugin_entry"}, symbols


def cli(*args):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, env=env(), cwd=ROOT, timeout=600)


def test_cli_lists_and_trains_plugin_policies(build):
    p = cli("policies", "-v", "--plugin", GMP, "--plugin", SNIP, "--plugin", build / "libkeep_largest.so")
    assert p.returncode == 0, p.stderr
    names = [line.split()[0] for line in p.stdout.splitlines() if line and not line.startswith(" ")]
    assert {"gmp", "snip", "keep-largest"} <= set(names)
    assert "frequency: steps between pruning events" in p.stdout
    for lib, policy in ((GMP, "gmp"), (SNIP, "snip"), (build / "libkeep_largest.so", "keep-largest")):
        p = cli("train", "-c", "configs/fmnist-fc.yaml", "--plugin", lib, "--policy", policy, "--density", "0.1",
                "--epochs", "1", "--set", "data.train_limit=12000", "-q")
        assert p.returncode == 0, p.stderr
        import json
        r = json.loads(p.stdout.strip().splitlines()[-1])
        # 10 % of the three weight matrices plus every bias: 23520 + 3000 + 100 + 410
        assert r["policy"] == policy and r["params_kept"] == 27030, r
        assert r["test_accuracy"] > 0.5, r


def test_cli_refuses_bad_plugins(build):
    p = cli("policies", "--plugin", build / "bad_abi.so")
    assert p.returncode == 2 and "built for plugin ABI 2.0" in p.stderr, p.stderr
    p = cli("policies", "--plugin", build / "no_entry.so")
    assert p.returncode == 2 and "does not export 'sw_plugin_entry'" in p.stderr, p.stderr
    p = cli("policies", "--plugin", GMP, "--plugin", build / "gmp_copy.so")
    assert p.returncode == 2 and "'gmp' is already registered" in p.stderr, p.stderr
    p = cli("train", "--plugin", GMP, "--policy", "gmp", "--set", "policy_options.end=3", "--epochs", "1",
            "--set", "data.train_limit=500")
    assert p.returncode == 2 and "option 'end' must be in [0, 1], got 3" in p.stderr, p.stderr
