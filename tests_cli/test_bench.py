"""The benchmark tools: `sparsewire bench` modes and benchmarks/run.py (tiny runs: they check the
output and the errors, not speed; speed lives in docs/BENCHMARKS.md)."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / ".build" / "release" / "sparsewire"


def bench(*args):
    p = subprocess.run([str(BIN), "bench", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    return p, (json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else None)


def test_train_mode_reports_policy_step_time_and_memory():
    p, r = bench("--model", "mlp", "--set", "policy=dnw", "--set", "density=0.1", "--warmup", "1", "--repeats", "3", "--threads", "1")
    assert p.returncode == 0, p.stderr
    assert r["policy"] == "dnw" and r["threads"] == 1 and r["params"] == 266610
    assert 0 < r["ms_per_step_min"] <= r["ms_per_step_median"]
    assert r["peak_rss_mb"] > 1


def test_infer_mode_sparse_and_dense_kernels():
    for kernels in ["sparse", "dense", "auto"]:
        p, r = bench("--mode", "infer", "--model", "mlp", "--density", "0.1", "--kernels", kernels, "--warmup", "1", "--repeats", "3")
        assert p.returncode == 0, p.stderr
        assert r["kernels"] == kernels and r["density"] == 0.1 and r["ms_per_batch_median"] > 0
        assert r["samples_per_s"] > 0


def test_gemm_mode_lists_every_layer_with_its_path():
    p, r = bench("--mode", "gemm", "--model", "conv2", "--batch-size", "8", "--warmup", "1", "--repeats", "3")
    assert p.returncode == 0, p.stderr
    layers = {row["layer"]: row for row in r["layers"]}
    assert layers["conv1.weight"]["path"] == "im2col+gemm"  # 3 (or 1) input channels: below Winograd's 16
    assert layers["conv2.weight"]["path"] == "winograd"
    assert all(row["path"] == "gemm" for name, row in layers.items() if name.startswith("fc"))
    for row in r["layers"]:
        assert row["ours_gflops"] > 0 and row["sgemm_gflops"] > 0 and row["m"] * row["n"] * row["k"] > 0


def test_gemm_mode_im2col_switch():
    env = dict(os.environ, SPARSEWIRE_CONV="im2col")
    p = subprocess.run([str(BIN), "bench", "--mode", "gemm", "--model", "conv2", "--batch-size", "4", "--warmup", "1", "--repeats", "2"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert all(row["path"] != "winograd" for row in r["layers"])


def test_bad_arguments_name_the_value():
    p, _ = bench("--mode", "fast")
    assert p.returncode != 0 and "fast" in p.stderr
    p, _ = bench("--mode", "infer", "--kernels", "blocked", "--model", "mlp", "--density", "0.1")
    assert p.returncode != 0 and "blocked" in p.stderr


def test_suite_gemm_section_writes_json_markdown_and_targets(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--sections", "gemm", "--models", "fc",
                        "--threads", "1", "--no-torch", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    res = json.loads((tmp_path / "latest.json").read_text())
    assert [r["layer"] for r in res["gemm"]] == ["fc1.weight", "fc2.weight", "fc3.weight"]
    if "avx2" in pathlib.Path("/proc/cpuinfo").read_text():
        assert res["machine"]["openblas_coretype"]  # set by the suite when the caller did not
    md = (tmp_path / "latest.md").read_text()
    assert "GEMM-bound layers" in md and "| fc | fc1.weight | gemm | 1 |" in md


def test_suite_structure_section_measures_every_variant_and_checks_its_targets(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--sections", "structure", "--structure-models", "fc1024",
                        "--batch-size", "64", "--no-torch", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = json.loads((tmp_path / "latest.json").read_text())["structure"]
    assert [(r["variant"], r["density"]) for r in rows] == [
        ("dense path", 0.5), ("2:4 lanes", 0.5), ("unstructured csr", 0.5), ("unstructured lanes", 0.5),
        ("block 1x8 lanes", 0.1), ("unstructured csr", 0.1), ("unstructured lanes", 0.1)]
    assert all(len(r["round_ms"]) == 3 and r["ms"] > 0 for r in rows)
    assert rows[0]["speedup_vs_dense"] == 1.0
    targets = json.loads((tmp_path / "latest.json").read_text())["targets"]
    assert sum("fc1024" in t["target"] for t in targets) == 2
    assert "Structured masks: inference on the lane kernels" in (tmp_path / "latest.md").read_text()


def test_suite_sparsetrain_section_rows_targets_and_plot(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--sections", "sparsetrain", "--sparse-models", "fc1024",
                        "--sparse-quick", "--no-torch", "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    res = json.loads((tmp_path / "latest.json").read_text())
    rows = res["sparsetrain"]
    got = {(r["policy"], r["density"], r["kernels"], r["part"]) for r in rows}
    for want in [("dense", 1.0, "dense", "reference"), ("rigl", 0.1, "auto", "policies"), ("rigl", 0.1, "dense", "policies"),
                 ("random-static", 0.1, "sparse", "curve"), ("random-static", 1.0, "dense", "curve")]:
        assert want in got, want
    for r in rows:
        assert r["ms"] > 0 and r["speedup_vs_dense"] > 0 and r["peak_rss_mb"] > 0
    share = {(r["policy"], r["density"], r["kernels"], r["part"]): r["sparse_layer_share"] for r in rows}
    # auto trains rigl's linear layers sparse between its update steps, dnw's dense (masks churn).
    assert share[("rigl", 0.1, "auto", "policies")] > 0.5 and share[("rigl", 0.1, "dense", "policies")] == 0
    assert share[("dnw", 0.1, "auto", "policies")] == 0 and share[("random-static", 0.1, "sparse", "curve")] == 1
    names = [t["target"] for t in res["targets"]]
    assert any("fc1024, rigl, density 0.1" in n for n in names) and any("within 3%" in n for n in names)
    assert (tmp_path / "sparse_training_speedup.png").stat().st_size > 10000
    assert "Sparse training: speed-up against density" in (tmp_path / "latest.md").read_text()


def test_suite_rejects_unknown_section_and_model(tmp_path):
    for args, word in [(["--sections", "speed"], "speed"), (["--models", "resnet"], "resnet"), (["--structure-models", "vgg"], "vgg")]:
        p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), *args, "--no-torch", "--out", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and word in p.stderr


def test_gemm_mode_pointwise_convs_are_plain_gemm():
    # RandWire's nodes use 1x1 convolutions (no im2col) and a 3x3 stem.
    p, r = bench("--mode", "gemm", "-c", "configs/bench-randwire-small.yaml", "--batch-size", "4", "--warmup", "1", "--repeats", "2")
    assert p.returncode == 0, p.stderr
    convs = [row for row in r["layers"] if not row["layer"].startswith(("fc", "head", "classifier"))]
    assert any(row["path"] == "gemm" for row in convs)
    assert all(row["path"] == "gemm" for row in convs if row["k"] % 9 != 0)
