"""Hostile configs and sizes never kill the host process: the CLI exits with an error naming the
limit or the key, and the Python interpreter gets an exception it can catch (issue 18)."""
import ctypes
import subprocess
import sys
import textwrap

from test_cli import ROOT, run

BOMB = "a: &a [" + ", ".join(['"lol"'] * 10) + "]\n" + "".join(
    f"{n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def test_alias_bomb_is_refused_by_the_cli(tmp_path):
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text(BOMB)
    assert len(BOMB) < 1000
    p = run("train", "-c", str(cfg), "-q")
    assert p.returncode != 0 and p.returncode < 128, (p.returncode, p.stderr)   # an error exit, not a signal
    assert "aliases" in p.stderr and "100000" in p.stderr, p.stderr
    p = run("train", "--set", "policy_options=" + BOMB.replace("\n", " ").replace(": &", ": &"), "-q")
    assert p.returncode != 0 and p.returncode < 128, p.stderr


def test_absurd_sizes_are_refused_by_the_cli_before_allocating():
    for args, needle in [(["--set", "model.hidden=[100000000, 10]"], "model.hidden [100000000, 10]"),
                         (["--set", "model.name=conv4", "--set", "model.width=5000"], "model.width 5000"),
                         (["--set", "model.name=randwire", "--set", "graph.n=100000000"], "graph.n 100000000")]:
        p = run("train", *args, "--set", "data.train_limit=256", "--set", "data.test_limit=64", "-q")
        assert p.returncode != 0 and p.returncode < 128, (args, p.returncode, p.stderr)
        assert needle in p.stderr and "runtime.max_memory" in p.stderr, p.stderr


def test_the_python_interpreter_survives_and_can_catch(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / 'bindings' / 'python')!r})
        import ctypes, numpy as np, sparsewire as sw
        caught = []
        for make in (lambda: sw.Engine({BOMB!r}),
                     lambda: sw.Engine(model={{"hidden": [100000000, 10]}}).step(),
                     lambda: sw.Policy("dnw", density=0.5).add_layer("huge", (100000, 100000, 100))):
            try:
                make()
            except sw.Error as e:
                caught.append(str(e))
        # set_data with absurd counts: refused before the library reads the (small) buffers.
        e = sw.Engine()
        x = np.zeros(16, np.float32); y = np.zeros(4, np.int32)
        fp = x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)); ip = y.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
        rc = e._lib.sw_engine_set_data(e.handle, fp, ip, 10**9, fp, ip, 10**6, 1, 4, 4, 10)
        caught.append(e._lib.sw_last_error().decode() if rc else "accepted")
        print("\\n".join(caught))
        print("alive")
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[-1] == "alive"
    assert "aliases" in lines[0]
    assert "model.hidden [100000000, 10]" in lines[1]
    assert "layer 'huge' of shape [100000, 100000, 100]" in lines[2]
    assert "set_data's 1000000000 + 1000000 examples" in lines[3] and "runtime.max_memory" in lines[3]


def test_absurd_but_valid_looking_values_are_not_silent():
    p = run("train", "--set", "model.width=100000", "-q")
    assert p.returncode != 0 and "model.width (100000.0) does not apply to model 'mlp'" in p.stderr, p.stderr
    p = run("train", "--set", "batch_size=100000000", "--set", "data.train_limit=256", "--set", "data.test_limit=64",
            "--set", "model.hidden=[16]", "--epochs", "1")
    assert p.returncode == 0, p.stderr
    assert "batch 256 (batch_size 100000000 is more than the training set: one step per epoch)" in p.stderr, p.stderr
