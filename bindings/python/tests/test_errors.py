"""Every error path raises sparsewire.Error with a message, and the interpreter survives."""
import ctypes
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import HERE, ROOT, fc_config


def test_bad_config(sw):
    with pytest.raises(sw.Error, match=r"unknown config key 'optimizer.learning_rate' \(did you mean 'optimizer.lr'\?\)") as e:
        sw.Engine({"optimizer": {"learning_rate": 0.1}})
    assert e.value.status == "SW_ERR_CONFIG"
    with pytest.raises(sw.Error, match="not valid YAML"):
        sw.Engine("epochs: [1, 2")
    with pytest.raises(sw.Error, match="config file /no/such.yaml: no such file"):
        sw.Engine("/no/such.yaml")
    with pytest.raises(sw.Error, match="density must be in"):
        sw.Engine({"policy": "dnw", "density": 0})
    with sw.Engine() as e:
        with pytest.raises(sw.Error, match="unknown config key 'optimizer.lrr'"):
            e.set("optimizer.lrr", 0.1)
        with pytest.raises(sw.Error, match="/no/such/dir"):
            e.load_dataset("fashion-mnist", "/no/such/dir")


def test_unknown_policy(sw):
    with pytest.raises(sw.Error, match=r"unknown policy 'rigll'.*did you mean 'rigl'"):
        sw.Engine({"policy": "rigll"})
    with pytest.raises(sw.Error, match="unknown policy 'nope'"):
        sw.Policy("nope")
    with sw.Engine() as e:
        with pytest.raises(sw.Error, match="no option 'frobnicate'"):
            e.set_policy("dnw", density=0.5, frobnicate=2)
    with pytest.raises(sw.Error, match="no such file"):
        sw.load_plugin("/no/such/plugin.so")


def test_wrong_dtype_shape_and_layout(sw):
    with sw.Engine(fc_config(data__train_limit=1000)) as e:
        x = np.zeros((2, 1, 28, 28), dtype=np.float64)
        with pytest.raises(sw.Error, match="x must be float32, got float64"):
            e.predict(x)
        with pytest.raises(sw.Error, match="C-contiguous"):
            e.predict(np.zeros((1, 28, 28, 2), dtype=np.float32).transpose(3, 0, 1, 2))
        with pytest.raises(sw.Error, match=r"x_count is 1568; n × C×H×W = 1 × 1×28×28 = 784"):
            e.predict(np.zeros((1, 2, 28, 28), dtype=np.float32))
        with pytest.raises(sw.Error, match=r"x must be \[N, C, H, W\]"):
            e.predict(np.zeros(784, dtype=np.float32))
        with pytest.raises(sw.Error, match=r"values has shape \(3,\), expected \(300, 784\)"):
            e.set_tensor("fc1.weight", np.zeros(3, dtype=np.float32))
        with pytest.raises(sw.Error, match="no parameter named 'fc7.weight'"):
            e.get("fc7.weight")
        with pytest.raises(sw.Error, match="has no mask"):
            e.mask("fc1.weight")  # the dense policy masks nothing
        with pytest.raises(sw.Error, match="tensor kind must be one of"):
            e.get("fc1.weight", "weights")
        with pytest.raises(sw.Error, match="numpy array or a CPU torch tensor"):
            e.predict([[0.0] * 784])
    with sw.Engine({"model": {"name": "mlp", "hidden": [4]}}) as e:
        x = np.zeros((8, 16), dtype=np.float32)
        y = np.arange(8, dtype=np.int64) % 2
        with pytest.raises(sw.Error, match="y_train must hold integer class labels"):
            e.set_data(x, y.astype(np.float32), x, y.astype(np.int32))
        with pytest.raises(sw.Error, match=r"label 7 at index 7 outside 0..<2"):
            yy = (np.arange(8) % 2).astype(np.int32)
            bad = yy.copy()
            bad[7] = 7
            e.set_data(x, bad, x, yy, classes=2)
    p = sw.Policy("dnw", density=0.5, layers=[("w", (4, 4))])
    with pytest.raises(sw.Error, match=r"weights: 2 arrays for 1 declared layers"):
        p.before_forward(0, 1, [np.zeros((4, 4), np.float32)] * 2)
    with pytest.raises(sw.Error, match=r"weights\[0\] \(w\) has shape \(4, 5\), expected \(4, 4\)"):
        p.before_forward(0, 1, [np.zeros((4, 5), np.float32)])
    ro = np.zeros((4, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(sw.Error, match="must be writable"):
        p.before_forward(0, 1, [ro])


def test_engine_survives_a_closed_handle(sw):
    e = sw.Engine()
    e.close()
    e.close()
    with pytest.raises(sw.Error, match="the engine is closed"):
        e.evaluate()


def run_python(code, **env):
    full = dict(os.environ, **env)
    full["PYTHONPATH"] = str(HERE.parent)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=full, timeout=120)


def test_missing_library_raises_and_interpreter_survives():
    p = run_python("""
        import sparsewire
        try:
            sparsewire.version()
        except sparsewire.Error as e:
            print("caught:", e)
        print("alive")
    """, SPARSEWIRE_LIB="/no/such/libsparsewire.so")
    assert p.returncode == 0, p.stderr
    assert "caught: cannot find libsparsewire.so; tried: /no/such/libsparsewire.so (SPARSEWIRE_LIB)" in p.stdout
    assert "alive" in p.stdout


def test_abi_mismatch_is_refused(tmp_path):
    """A library that answers sw_abi_version() = 2 is refused with a clear message."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    sys.path.insert(0, str(HERE.parent))
    from sparsewire import _abi
    stubs = "\n".join(f"void {name}(void) {{}}" for name, _, _ in _abi.FUNCTIONS if name != "sw_abi_version")
    src = tmp_path / "fake.c"
    src.write_text(stubs + "\nunsigned sw_abi_version(void) { return 2; }\n")
    lib = tmp_path / "libfake.so"
    subprocess.run([cc, "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    p = run_python("""
        import sparsewire
        try:
            sparsewire.version()
        except sparsewire.Error as e:
            print("caught:", e)
        print("alive")
    """, SPARSEWIRE_LIB=str(lib))
    assert p.returncode == 0, p.stderr
    assert "speaks C ABI version 2, this binding was written for version 1" in p.stdout, p.stdout
    assert "alive" in p.stdout


def test_openblas_coretype_is_set_before_loading():
    p = run_python("""
        import os, sparsewire
        sparsewire.version()
        print(os.environ.get("OPENBLAS_CORETYPE"), sparsewire.blas_core())
    """, OPENBLAS_CORETYPE="", SPARSEWIRE_QUIET="")
    assert p.returncode == 0, p.stderr
    core, used = p.stdout.split()
    if core != "None":  # an AVX2/AVX-512 CPU: the binding picked the core and said so
        assert used == core and f"set OPENBLAS_CORETYPE={core}" in p.stderr


def test_whole_mappings_are_keys_like_any_other(sw):
    """`policy_options={...}`, `optimizer={...}`, `model={...}`: as keyword, through `set`, and
    through the raw C call, a mapping sets the keys it names (it used to be refused with a
    suggestion of the key itself)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 1, 4, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=64).astype(np.int32)
    with pytest.raises(sw.Error, match="policy 'rigl' has no option 'zzz'") as e:
        sw.Engine(policy="rigl", density=0.2, policy_options={"zzz": 1})
    assert "did you mean 'policy_options'" not in str(e.value)
    with sw.Engine({"model": {"name": "conv2"}}, model={"name": "mlp", "hidden": [8]}, policy="rigl", density=0.5,
                   policy_options={"delta_t": 2}, optimizer={"lr": 0.05}) as eng:
        eng.set("policy_options", {"alpha": 0.5})
        assert eng._lib.sw_engine_set(eng.handle, b"masking", b"{scope: global}") == 0
        eng.set_data(x, y, x[:16], y[:16])
        eng.step()
        assert [d["name"] for d in eng.density()] == ["fc1.weight", "fc2.weight"]  # the mlp of the keyword mapping
    with sw.Engine(optimizer={"lr": 0.0}) as eng:
        eng.set_data(x, y, x[:16], y[:16])
        with pytest.raises(sw.Error, match=r"optimizer.lr must be > 0, got 0"):
            eng.step()
