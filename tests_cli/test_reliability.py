"""Exact resume across processes, and NaN handling, from the command line."""
import json

import numpy as np

import pytest

from test_cli import run


def tensor_bytes(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


@pytest.mark.parametrize("policy,extra", [
    ("rigl", ["--density", "0.2", "--set", "policy_options.delta_t=10"]),   # topology updates + momentum reset
    ("supermask", ["--lr", "50", "--set", "model.init=signed_constant"]),    # sampled masks: the policy's RNG
    ("targeted-dropout", ["--density", "0.3"]),
    # plugin ABI 1.1: policy state of its own saved through save_state / load_state
    ("momentum-regrow", ["--plugin", ".build/release/libsw_momentum_regrow.so", "--density", "0.2",
                         "--set", "policy_options.delta_t=10"]),
    ("snip", ["--plugin", ".build/release/libsw_snip.so", "--density", "0.2"]),
    ("lottery-one-shot", ["--density", "0.2", "--set", "policy_options.prune_epoch=1"]),
])
def test_resume_in_a_fresh_process_is_bit_identical(tmp_path, policy, extra):
    base = ["train", "-c", "configs/fmnist-fc.yaml", "--policy", policy, "--set", "data.train_limit=2000",
            "--set", "data.test_limit=500", "--threads", "1", "--epochs", "3", "-q", *extra]
    full, half, resumed = tmp_path / "full.st", tmp_path / "half.st", tmp_path / "resumed.st"
    a = json.loads(run(*base, "--save-checkpoint", str(full), check=True).stdout)
    run(*base, "--stop-after", "1", "--save-checkpoint", str(half), check=True)
    b = json.loads(run(*base, "--resume", str(half), "--save-checkpoint", str(resumed), check=True).stdout)
    assert (a["test_accuracy"], a["test_loss"], a["train_loss"]) == (b["test_accuracy"], b["test_loss"], b["train_loss"])
    ha, da = tensor_bytes(full)
    hb, db = tensor_bytes(resumed)
    assert da == db, "weights, masks, scores and optimizer state differ after resume"
    assert ha["__metadata__"]["rng"] == hb["__metadata__"]["rng"]
    assert ha["__metadata__"]["global_step"] == hb["__metadata__"]["global_step"] == str(3 * 16)


def test_nan_stops_with_step_and_parameter_or_skips(tmp_path):
    p = run("train", "-c", "configs/fmnist-fc.yaml", "--lr", "1e25", "--set", "optimizer.momentum=0",
            "--set", "data.train_limit=1000", "--epochs", "1", "-q")
    assert p.returncode == 2 and "numeric error" in p.stderr and "at step" in p.stderr, p.stderr
    assert "on_nan: skip" in p.stderr
    p = run("train", "-c", "configs/fmnist-fc.yaml", "--set", "on_nan=maybe")
    assert p.returncode == 2 and "on_nan" in p.stderr and "error, skip" in p.stderr, p.stderr


FC_SMALL = ["-c", "configs/fmnist-fc.yaml", "--set", "data.train_limit=1000", "--set", "data.test_limit=200",
            "--epochs", "1", "--threads", "1", "-q"]


def test_checkpoint_is_read_by_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy", reason="pip install safetensors (scripts/setup.sh does)")
    ck = tmp_path / "ck.safetensors"
    out = json.loads(run("train", *FC_SMALL, "--policy", "rigl", "--density", "0.1", "--save-checkpoint", str(ck), check=True).stdout)
    tensors = st.load_file(str(ck))
    from safetensors import safe_open
    with safe_open(str(ck), framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "sparsewire-checkpoint" and meta["policy"] == "rigl"
    assert int(meta["global_step"]) == 8 and len(meta["rng"].split(",")) == 4
    assert json.loads(meta["config"])["policy"] == "rigl"
    masks = {k: v for k, v in tensors.items() if k.startswith("mask/")}
    assert masks and all(v.dtype == bool for v in masks.values())
    assert sum(int(v.sum()) for v in masks.values()) == out["params_kept"] - sum(
        tensors[k].size for k in tensors if k.startswith("param/") and "mask/" + k[6:] not in tensors)
    assert any(k.startswith("optim/") for k in tensors)
    for k, m in masks.items():
        assert tensors["param/" + k[5:]].shape == m.shape


def test_masks_export_as_torch_prune_pairs(tmp_path):
    st = pytest.importorskip("safetensors.numpy", reason="pip install safetensors (scripts/setup.sh does)")
    path = tmp_path / "masks.safetensors"
    out = json.loads(run("train", *FC_SMALL, "--policy", "dnw", "--density", "0.1", "--save-masks", str(path), check=True).stdout)
    t = st.load_file(str(path))
    origs = sorted(k[:-5] for k in t if k.endswith("_orig"))
    assert origs and origs == sorted(k[:-5] for k in t if k.endswith("_mask"))
    kept = 0
    for name in origs:
        w, m = t[name + "_orig"], t[name + "_mask"]
        assert w.shape == m.shape and m.dtype.name == "float32" and set(np.unique(m)) <= {0.0, 1.0}
        kept += int(m.sum())
        # dnw keeps the largest |w| of each layer (masking.scope: layer)
        assert np.abs(w[m == 0]).max() <= np.abs(w[m == 1]).min()
        assert abs(m.sum() - 0.1 * m.size) <= 1, name
    total = sum(t[n + "_mask"].size for n in origs)
    assert out["params_total"] - out["params_kept"] == total - kept


def test_structured_mask_exports_stay_plain_masks_and_name_the_structure(tmp_path):
    st = pytest.importorskip("safetensors", reason="pip install safetensors (scripts/setup.sh does)")
    structured = ["--policy", "dnw", "--density", "0.5", "--set", "masking.structure.type=nm"]
    js, sf = tmp_path / "masks.json", tmp_path / "masks.safetensors"
    run("train", *FC_SMALL, *structured, "--save-masks", str(js), check=True)
    run("train", *FC_SMALL, *structured, "--save-masks", str(sf), check=True)
    assert json.loads(js.read_text())["structure"] == "2:4"
    with st.safe_open(str(sf), "np") as f:
        assert f.metadata()["structure"] == "2:4"
        m = f.get_tensor("fc1.weight_mask")
    assert set(np.unique(m)) == {0.0, 1.0} and (m.reshape(-1, 4).sum(axis=1) == 2).all()


def test_a_kill_mid_write_leaves_the_old_checkpoint_intact(tmp_path):
    ck = tmp_path / "ck.safetensors"
    run("train", *FC_SMALL, "--save-checkpoint", str(ck), check=True)
    before = ck.read_bytes()
    p = run("train", *FC_SMALL, "--seed", "7", "--save-checkpoint", str(ck),
            env={"SPARSEWIRE_FAULT_KILL_AFTER_BYTES": "100000"})
    assert p.returncode == -9, (p.returncode, p.stderr)   # killed while writing the temporary file
    assert ck.read_bytes() == before
    partial = [f for f in tmp_path.iterdir() if ".tmp-" in f.name]
    assert len(partial) == 1 and partial[0].stat().st_size == 100000
    # the old checkpoint still loads and resumes
    run("train", *FC_SMALL, "--epochs", "2", "--resume", str(ck), check=True)


def test_truncated_and_corrupt_checkpoints_are_refused(tmp_path):
    ck = tmp_path / "ck.safetensors"
    run("train", *FC_SMALL, "--save-checkpoint", str(ck), check=True)
    raw = ck.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[: len(raw) - 10])
    p = run("train", *FC_SMALL, "--epochs", "2", "--resume", str(cut))
    assert p.returncode == 2 and "cut.safetensors" in p.stderr and "data section" in p.stderr, p.stderr
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(raw[:8] + b"[" + raw[9:])
    p = run("train", *FC_SMALL, "--epochs", "2", "--resume", str(bad))
    assert p.returncode == 2 and "not a JSON object" in p.stderr, p.stderr
