"""ONNX export (`sparsewire export`, `sw_engine_export_onnx`, `Engine.export_onnx`): after a short
training, onnx.checker passes, ONNX Runtime's logits on 1,000 Fashion-MNIST test images equal the
engine's within 1e-4 with the same argmax, the file's zeros are the masked weights, and models
with no ONNX form are refused naming the module. onnx and onnxruntime come from scripts/setup.sh."""
import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

from test_cli import BIN, FMNIST, ROOT, run

onnx = pytest.importorskip("onnx", reason="onnx not installed (scripts/setup.sh: pip install onnx onnxruntime)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (scripts/setup.sh: pip install onnx onnxruntime)")
from onnx import numpy_helper  # noqa: E402

sys.path.insert(0, str(ROOT / "bindings" / "python"))
pytestmark = pytest.mark.skipif(not FMNIST.exists(), reason="dataset-fashion-mnist not installed")


def fmnist_test_images(n=1000):
    raw = gzip.open(FMNIST / "t10k-images-idx3-ubyte.gz").read()
    x = np.frombuffer(raw, dtype=np.uint8, offset=16)[:n * 784].astype(np.float32).reshape(n, 1, 28, 28) / 255
    return np.ascontiguousarray((x - x.mean()) / x.std(), dtype=np.float32)


CASES = [  # (config, overrides, policy, density)
    ("configs/fmnist-fc.yaml", {}, "rigl", 0.1),
    ("configs/fmnist-conv4.yaml", {"model.name": "conv2", "model.norm": "affine"}, "edge-popup", 0.3),
    ("configs/fmnist-conv4.yaml", {"model.width": 0.25, "model.norm": "nonaffine"}, "dnw", 0.2),
    ("configs/fmnist-fc.yaml", {"model.norm": "affine"}, "supermask", 0.5),
    ("configs/fmnist-conv4.yaml", {"model.name": "conv6", "model.width": 0.125}, "set", 0.2),
    ("configs/fmnist-conv4.yaml", {"model.name": "conv8", "model.width": 0.125, "model.norm": "affine"}, "targeted-dropout", 0.2),
    ("configs/bench-randwire-small.yaml", {}, "rigl", 0.2),
    ("configs/fmnist-conv4.yaml", {"model.name": "resnet20", "model.width": 0.25, "model.norm": "affine"}, "rigl", 0.3),
    ("configs/fmnist-conv4.yaml", {"model.name": "resnet18", "model.width": 0.125, "model.norm": "nonaffine"}, "edge-popup", 0.5),
    ("configs/fmnist-conv4.yaml", {"model.name": "mobilenetv1", "model.width": 0.25, "model.norm": "affine"}, "dnw", 0.225),
    ("configs/fmnist-conv4.yaml", {"model.name": "wrn", "model.depth": 10, "model.width": 1, "model.norm": "affine"}, "set", 0.2),
    ("configs/fmnist-mobilenetv1.yaml", {"model.name": "mobilenetv1-dnw", "model.width": 0.125}, "dnw", 1.0),
    ("configs/fmnist-dnw-tiny.yaml", {"model.setting": "static"}, "dnw", 0.1),
    ("configs/fmnist-dnw-tiny.yaml", {"model.setting": "discrete"}, "dnw", 0.1),
    ("configs/fmnist-dnw-tiny.yaml", {"model.setting": "continuous", "model.steps": 2}, "random-static", 0.1),
]


@pytest.mark.parametrize("config,overrides,policy,density", CASES)
def test_export_matches_the_engine(tmp_path, config, overrides, policy, density):
    import sparsewire
    ck, out = tmp_path / "model.safetensors", tmp_path / "model.onnx"
    sets = [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]
    if policy == "supermask":
        sets += ["--set", "policy_options.eval=round"]
    run("train", "-c", config, "--policy", policy, "--density", str(density), *sets, "--set", "data.train_limit=512",
        "--set", "data.test_limit=256", "--epochs", "1", "-q", "--save-checkpoint", str(ck), check=True)
    p = run("export", "--checkpoint", str(ck), "-o", str(out), "--report", check=True)
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17
    assert [i.name for i in model.graph.input] == ["input"] and [o.name for o in model.graph.output] == ["logits"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    x = fmnist_test_images()
    got = ort.InferenceSession(str(out)).run(None, {"input": x})[0]
    opts = {k.replace(".", "__"): v for k, v in overrides.items()}
    if policy == "supermask":
        opts["policy_options__eval"] = "round"
    with sparsewire.Engine(str(ROOT / config), policy=policy, density=density, data__train_limit=512, **opts) as e:
        e.load(ck)
        ref = e.predict(x)
        info = e.export_onnx(tmp_path / "api.onnx")
        masks = e.masks()
    worst = float(np.abs(got - ref).max())
    print(f"{policy} {overrides}: worst |ONNX Runtime - engine| = {worst:.3g}")
    assert worst <= 1e-4, worst
    assert np.array_equal(got.argmax(1), ref.argmax(1))
    # The report's zeros are the zeros the file holds; the C ABI path writes the same graph.
    rows = [l.split() for l in p.stdout.splitlines()[1:]]
    named = {r[0]: (int(r[1]), int(r[2])) for r in rows if r[0] != "total"}
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for name, (count, z) in named.items():  # each reported weight is an initializer with those zeros
        assert arrays[name].size == count and int((arrays[name] == 0).sum()) == z, name
    total = next(r for r in rows if r[0] == "total")
    zeros, count = sum(z for _, z in named.values()), sum(c for c, _ in named.values())
    assert (int(total[1]), int(total[2])) == (count, zeros)
    assert info == {"zeros": zeros, "count": count}
    masks_zeros = sum(int((ref_mask == 0).sum()) for ref_mask in masks.values())
    assert zeros >= masks_zeros > 0, (zeros, masks_zeros)


def test_unexportable_policies_are_refused(tmp_path):
    ck2 = tmp_path / "sm.safetensors"
    run("train", "-c", "configs/fmnist-fc.yaml", "--policy", "supermask", "--density", "0.5", "--set", "policy_options.eval_draws=4",
        "--set", "data.train_limit=256", "--set", "data.test_limit=128", "--epochs", "1", "-q", "--save-checkpoint", str(ck2), check=True)
    p = run("export", "--checkpoint", str(ck2), "-o", str(tmp_path / "sm.onnx"))
    assert p.returncode == 2 and "averaging 4 mask draws" in p.stderr, p.stderr
