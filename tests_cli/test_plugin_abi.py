"""Plugin ABI 1.1 and the C ABI additions from C (tests_c/test_plugin_abi.c): a plugin built
against the frozen 1.0 header still loads and runs, a newer minor is refused, option types,
density contracts, unregister + destroy_user_data, mask-only pointer-array calls with a larger
host struct, optimizer resets, log callback, stop status; and exact resume of a stateful
host-callback policy in a fresh process."""
import re

import pytest

from test_capi import CC, CFLAGS, GMP, LIB, REL, ROOT, env, sh

REGROW = REL / "libsw_momentum_regrow.so"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    for f in (LIB, GMP, REGROW):
        assert f.exists(), f"{f} missing: run scripts/setup.sh first"
    d = tmp_path_factory.mktemp("plugin_abi")
    (d / "libsparsewire.so").symlink_to(LIB)
    sh(CC, *CFLAGS, ROOT / "tests_c" / "test_plugin_abi.c", f"-L{d}", "-lsparsewire", f"-Wl,-rpath,{d}", "-lm",
       "-o", d / "test_plugin_abi")
    # The 1.0 plugin sees ONLY the frozen 1.0 header (tests_c/abi_v1), never Include/.
    v1_flags = [f for f in CFLAGS if not f.startswith("-I")] + [f"-I{ROOT / 'tests_c' / 'abi_v1'}"]
    sh(CC, *v1_flags, "-shared", "-fPIC", ROOT / "tests_c" / "abi_v1" / "v1_plugin.c", "-lm", "-o", d / "v1.so")
    sh(CC, *CFLAGS, "-shared", "-fPIC", ROOT / "tests_c" / "future_minor_plugin.c", "-o", d / "future.so")
    return d


def test_frozen_v1_header_is_the_released_one():
    """The frozen copy is what plugins built against 1.0 saw: same structs up to their 1.0 ends."""
    old = (ROOT / "tests_c" / "abi_v1" / "sparsewire_plugin.h").read_text()
    assert "#define SW_PLUGIN_ABI_VERSION 1u" in old and "abi_minor" not in old and "writable_weights" not in old


def test_plugin_abi_checks(build):
    out = sh(build / "test_plugin_abi", "checks", build / "v1.so", build / "future.so", GMP, REGROW, env=env(),
             timeout=600).stdout
    assert re.search(r"test_plugin_abi: all \d+ checks passed", out), out
    for group in ("versions: a 1.0 plugin loads and trains", "C ABI additions", "a progress callback's stop",
                  "density contract", "sw_unregister_policy", "mask-only _v2 calls", "masking.structure", "momentum-regrow"):
        assert f"ok   {group}" in out, group


def test_stateful_host_callback_policy_resumes_exactly_in_a_fresh_process(build, tmp_path):
    ck = tmp_path / "aging.safetensors"
    straight = sh(build / "test_plugin_abi", "straight", env=env()).stdout
    sh(build / "test_plugin_abi", "save", ck, env=env())
    resumed = sh(build / "test_plugin_abi", "resume", ck, env=env()).stdout
    assert straight.startswith("result loss") and straight == resumed, (straight, resumed)
    raw = ck.read_bytes()
    assert b'"policy_state"' in raw[:int.from_bytes(raw[:8], "little") + 8]


def test_mask_only_state_and_active_hooks_from_c(build):
    """tests_c/test_policy_state.c: sw_policy_save_state / load_state resume a stand-alone rigl
    exactly and refuse mismatches; sw_policy_active_hooks' plan gives the same run as every call."""
    sh(CC, *CFLAGS, ROOT / "tests_c" / "test_policy_state.c", f"-L{build}", "-lsparsewire", f"-Wl,-rpath,{build}", "-lm",
       "-o", build / "test_policy_state")
    out = sh(build / "test_policy_state", env=env(), timeout=300).stdout
    assert re.search(r"test_policy_state: all \d+ checks passed", out), out

