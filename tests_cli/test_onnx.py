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
]


@pytest.mark.parametrize("config,overrides,policy,density", CASES)
def test_export_matches_the_engine(tmp_path, config, overrides, policy, density):
    import sparsewire
    ck, out = tmp_path / "model.safetensors", tmp_path / "model.onnx"
    sets = [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]
    if policy == "supermask":
        sets += ["--set", "policy_options.eval=round"]
    run("train", "-c", config, "--policy", policy, "--density", str(density), *sets, "--set", "data.train_limit=1000",
        "--set", "data.test_limit=500", "--epochs", "1", "-q", "--save-checkpoint", str(ck), check=True)
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
    with sparsewire.Engine(str(ROOT / config), policy=policy, density=density, data__train_limit=1000, **opts) as e:
        e.load(ck)
        ref = e.predict(x)
        info = e.export_onnx(tmp_path / "api.onnx")
    worst = float(np.abs(got - ref).max())
    print(f"{policy} {overrides}: worst |ONNX Runtime - engine| = {worst:.3g}")
    assert worst <= 1e-4, worst
    assert np.array_equal(got.argmax(1), ref.argmax(1))
    # The report's zeros are the zeros the file holds; the C ABI path writes the same graph.
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer if t.name.endswith(".weight") and t.dims and len(t.dims) >= 2}
    zeros = sum(int((w == 0).sum()) for w in weights.values())
    total = [l for l in p.stdout.splitlines() if l.startswith("total")][0].split()
    assert int(total[2]) == zeros and int(total[1]) == sum(w.size for w in weights.values())
    assert info == {"zeros": zeros, "count": sum(w.size for w in weights.values())}
    assert zeros >= (1 - density) * info["count"] * 0.9


def test_unexportable_models_and_policies_are_refused(tmp_path):
    ck = tmp_path / "rw.safetensors"
    run("train", "-c", "configs/bench-randwire-small.yaml", "--set", "data.train_limit=256", "--set", "data.test_limit=128",
        "--epochs", "1", "-q", "--save-checkpoint", str(ck), check=True)
    p = run("export", "--checkpoint", str(ck), "-o", str(tmp_path / "rw.onnx"))
    assert p.returncode == 2 and "has no ONNX form yet" in p.stderr and "RandWire" in p.stderr, p.stderr
    ck2 = tmp_path / "sm.safetensors"
    run("train", "-c", "configs/fmnist-fc.yaml", "--policy", "supermask", "--density", "0.5", "--set", "policy_options.eval_draws=4",
        "--set", "data.train_limit=256", "--set", "data.test_limit=128", "--epochs", "1", "-q", "--save-checkpoint", str(ck2), check=True)
    p = run("export", "--checkpoint", str(ck2), "-o", str(tmp_path / "sm.onnx"))
    assert p.returncode == 2 and "averaging 4 mask draws" in p.stderr, p.stderr
