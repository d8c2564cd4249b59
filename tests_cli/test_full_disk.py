"""A checkpoint or mask export that hits a full disk (ENOSPC) or a failing one (EIO) leaves the
previous file intact, leaves no temporary file behind, and fails with an error naming the path:
by fault injection at several points of the write, and on a real tmpfs that fills up."""
import os
import subprocess

import pytest

from test_cli import FMNIST, run

SMALL = ["train", "--set", "model.hidden=[8]", "--set", "data.train_limit=256", "--set", "data.test_limit=64", "--epochs", "1", "-q"]
BIG = ["train", "--set", "model.hidden=[300, 100]", "--set", "data.train_limit=256", "--set", "data.test_limit=64", "--epochs", "1", "-q"]

pytestmark = pytest.mark.skipif(not FMNIST.exists(), reason="dataset-fashion-mnist not installed")


def leftovers(directory):
    return [n for n in os.listdir(directory) if ".tmp-" in n]


@pytest.mark.parametrize("flag,fault", [
    ("--save-checkpoint", {"SPARSEWIRE_FAULT_ENOSPC_AFTER_BYTES": "0"}),         # the first write
    ("--save-checkpoint", {"SPARSEWIRE_FAULT_ENOSPC_AFTER_BYTES": "4096"}),      # inside the header/first chunk
    ("--save-checkpoint", {"SPARSEWIRE_FAULT_ENOSPC_AFTER_BYTES": "1500000"}),   # a later 1 MiB chunk
    ("--save-checkpoint", {"SPARSEWIRE_FAULT_FSYNC_EIO": "1"}),                  # the data never reaches the disk
    ("--save-masks", {"SPARSEWIRE_FAULT_ENOSPC_AFTER_BYTES": "100"}),
])
def test_a_failing_write_leaves_the_old_file_and_names_the_path(tmp_path, flag, fault):
    target = tmp_path / ("out.safetensors" if flag == "--save-checkpoint" else "masks.json")
    policy = ["--policy", "dnw", "--density", "0.5"]
    run(*BIG, *policy, flag, str(target), check=True)
    before = target.read_bytes()
    p = run(*BIG, *policy, "--seed", "7", flag, str(target), env=fault)
    assert p.returncode == 2, (p.returncode, p.stderr)
    reason = "Input/output error" if "SPARSEWIRE_FAULT_FSYNC_EIO" in fault else "No space left on device"
    assert f"cannot write {target}" in p.stderr and reason in p.stderr, p.stderr
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_a_real_full_file_system(tmp_path):
    mnt = tmp_path / "small-fs"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        ck = mnt / "ck.safetensors"
        run(*SMALL, "--save-checkpoint", str(ck), check=True)        # ~60 KB: fits
        before = ck.read_bytes()
        p = run(*BIG, "--save-checkpoint", str(ck))                   # ~2 MB: does not
        assert p.returncode == 2, p.stderr
        assert f"cannot write {ck}" in p.stderr and "No space left on device" in p.stderr, p.stderr
        assert ck.read_bytes() == before
        assert leftovers(mnt) == []
        run(*SMALL, "--resume", str(ck), check=True)                  # still a valid checkpoint of its run
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
