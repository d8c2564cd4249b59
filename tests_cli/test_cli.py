"""End-to-end tests of the `sparsewire` command-line tool (release build)."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / ".build" / "release" / "sparsewire"
FMNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")


def run(*args, env=None, check=False):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=e, cwd=ROOT, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def test_binary_exists():
    assert BIN.exists(), "run scripts/setup.sh first (swift build -c release)"


def test_policies_lists_dense():
    out = run("policies", check=True).stdout
    assert out.splitlines()[0].startswith("dense")


def test_reexec_sets_openblas_coretype():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    p = subprocess.run([str(BIN), "info"], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    if info["openblas_coretype"] is not None:  # a CPU with AVX2: the tool re-executed itself and said so
        assert "re-executing with OPENBLAS_CORETYPE=" in p.stderr
        assert info["blas_core"] == info["openblas_coretype"]


def _recommended_core():
    return subprocess.run([str(BIN), "info", "--blas-coretype"], capture_output=True, text=True, timeout=60).stdout.strip()


def test_blas_selftest_passes_on_the_loaded_core():
    t = json.loads(run("info", "--blas-selftest", check=True).stdout)
    assert t["passed"] is True and t["max_error"] < 1e-4 and t["gflops"] > 0, t


def test_info_names_a_faster_core_than_a_slower_one_the_user_set():
    best = _recommended_core()
    if not best:
        pytest.skip("no AVX2: no OpenBLAS core to recommend")
    p = run("info", env={"OPENBLAS_CORETYPE": "Prescott"}, check=True)
    info = json.loads(p.stdout)
    assert info["openblas_coretype"] == "Prescott" and info["blas_core"] == "Prescott"  # the user's setting is honoured
    assert info["faster_openblas_coretype"] == best
    assert info["faster_core_selftest"]["passed"] is True and info["faster_core_selftest"]["core"] == best
    same = json.loads(run("info", env={"OPENBLAS_CORETYPE": best}, check=True).stdout)
    assert same["faster_openblas_coretype"] is None and "faster_core_selftest" not in same


def test_blas_core_auto_switches_only_after_the_self_test():
    best = _recommended_core()
    if not best:
        pytest.skip("no AVX2: no OpenBLAS core to recommend")
    p = run("info", env={"OPENBLAS_CORETYPE": "Prescott", "SPARSEWIRE_BLAS_CORE": "auto"}, check=True)
    info = json.loads(p.stdout)
    assert info["blas_core"] == best and info["openblas_coretype"] == best, (info, p.stderr)
    assert f"using OpenBLAS core {best} instead of the environment's Prescott (self-test passed" in p.stderr
    kept = json.loads(run("info", env={"OPENBLAS_CORETYPE": "Prescott"}, check=True).stdout)  # without auto: honoured
    assert kept["blas_core"] == "Prescott"
    bad = run("info", env={"SPARSEWIRE_BLAS_CORE": "fastest"})
    assert bad.returncode == 2 and "SPARSEWIRE_BLAS_CORE must be auto or env" in bad.stderr and "fastest" in bad.stderr


@pytest.mark.skipif(not FMNIST.exists(), reason="dataset-fashion-mnist not installed")
def test_train_fc_on_fashion_mnist(tmp_path):
    metrics = tmp_path / "m.jsonl"
    p = run("train", "-c", "configs/fmnist-fc.yaml", "--epochs", "1", "--set", "data.train_limit=15000",
            "--set", "data.test_limit=3000", "--metrics", str(metrics), "--threads", "2", check=True)
    result = json.loads(p.stdout.strip().splitlines()[-1])
    for key in ["test_accuracy", "train_loss", "epochs", "policy", "density", "params_total", "params_kept", "seconds"]:
        assert key in result, key
    assert result["epochs"] == 1 and result["policy"] == "dense" and result["density"] == 1.0
    assert result["params_total"] == result["params_kept"] == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    assert result["test_accuracy"] > 0.80, result
    lines = metrics.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["epoch"] == 1
    assert "epoch 1/1 done" in p.stderr  # plain progress lines when stderr is not a terminal


def test_unknown_key_is_an_error_with_suggestion():
    p = run("train", "--set", "optimizer.learning_rate=0.1")
    assert p.returncode == 2
    assert "optimizer.learning_rate" in p.stderr and "did you mean" in p.stderr


def test_unknown_policy_and_bad_density():
    p = run("train", "--policy", "edge-pop")
    assert p.returncode == 2 and "edge-pop" in p.stderr
    p = run("train", "--density", "1.5")
    assert p.returncode == 2 and "1.5" in p.stderr


def test_missing_config_and_data_paths_are_named(tmp_path):
    p = run("train", "-c", str(tmp_path / "nope.yaml"))
    assert p.returncode == 2 and "nope.yaml" in p.stderr
    p = run("train", "--set", f"data.path={tmp_path}")
    assert p.returncode == 2 and str(tmp_path) in p.stderr and "train-images-idx3-ubyte" in p.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {name: conv4\n")
    p = run("train", "-c", str(bad))
    assert p.returncode == 2 and "bad.yaml" in p.stderr


@pytest.mark.skipif(not FMNIST.exists(), reason="dataset-fashion-mnist not installed")
@pytest.mark.parametrize("policy", ["dnw", "rigl", "edge-popup"])
def test_masked_policy_swaps_by_flag_and_exports_masks(tmp_path, policy):
    import base64
    masks = tmp_path / "masks.json"
    p = run("train", "-c", "configs/fmnist-fc.yaml", "--policy", policy, "--density", "0.1", "--epochs", "1",
            "--set", "data.train_limit=6000", "--set", "data.test_limit=1000", "--save-masks", str(masks), check=True)
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["policy"] == policy and result["density"] == 0.1
    exported = json.loads(masks.read_text())
    assert exported["policy"] == policy
    weights = {"fc1.weight": 784 * 300, "fc2.weight": 300 * 100, "fc3.weight": 100 * 10}
    kept = 0
    for name, size in weights.items():
        entry = exported["layers"][name]
        bits = base64.b64decode(entry["mask"])
        assert len(bits) == size and sum(bits) == entry["kept"]
        kept += entry["kept"]
    if policy != "rigl":  # uniform: round(0.1 n) per layer
        assert kept == sum(round(0.1 * n) for n in weights.values())
    assert abs(kept - 0.1 * sum(weights.values())) <= 3
    assert result["params_kept"] == result["params_total"] - sum(weights.values()) + kept
    # 47 steps: weight-training policies pass 50 %; edge-popup only selects among frozen random
    # weights and needs far more steps, so it is only required to be well above chance (10 %).
    assert result["test_accuracy"] > (0.25 if policy == "edge-popup" else 0.5), result
