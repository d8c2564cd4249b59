"""Wiring from the command line: RandWire and DNW training, graph export, damage ablation."""
import json
import pathlib
import re
import shutil

import pytest

from test_cli import run

TINY_RW = ["--set", "model.name=randwire", "--set", "model.channels=8", "--set", "model.stages=2", "--set", "model.head=16",
           "--set", "graph.n=8", "--set", "graph.k=4", "--set", "data.train_limit=512", "--set", "data.test_limit=300",
           "--epochs", "1", "--lr", "0.1", "-q"]


@pytest.fixture(scope="module")
def randwire_checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("rw")
    ck = d / "rw.safetensors"
    p = run("train", *TINY_RW, "--save-checkpoint", str(ck), check=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["model"] == "randwire" and r["epochs"] == 1
    return ck


def test_graph_export_from_config_and_checkpoint(tmp_path, randwire_checkpoint):
    out = tmp_path / "g.dot"
    run("graph", "--set", "model.name=randwire", "--set", "graph.model=ba", "--set", "graph.n=10", "--set", "graph.m=2",
        "--set", "model.stages=1", "-o", str(out), check=True)
    text = out.read_text()
    assert text.startswith("digraph wiring")
    # BA(10, 2): exactly 2·(10−2) = 16 edges inside the stage
    inner = re.findall(r"s1_(\d+) -> s1_(\d+);", text)
    assert len(inner) == 16 and all(int(a) < int(b) for a, b in inner)
    assert "s1_in -> s1_0;" in text and "-> s1_out;" in text
    out2 = tmp_path / "ck.dot"
    run("graph", "--checkpoint", str(randwire_checkpoint), "-o", str(out2), check=True)
    assert "stage2" in out2.read_text()
    if shutil.which("dot"):
        svg = tmp_path / "g.svg"
        run("graph", "--checkpoint", str(randwire_checkpoint), "-o", str(svg), check=True)
        assert svg.read_text().lstrip().startswith("<?xml")
    p = run("graph", "--set", "model.name=mlp", "-o", str(tmp_path / "x.dot"))
    assert p.returncode == 2 and "no wiring graph" in p.stderr
    p = run("graph", "--set", "model.name=randwire", "--set", "graph.model=ws", "--set", "graph.k=3", "-o", str(tmp_path / "y.dot"))
    assert p.returncode == 2 and "even k" in p.stderr


def test_damage_ablation_table(tmp_path, randwire_checkpoint):
    out = tmp_path / "damage.json"
    p = run("damage", "--checkpoint", str(randwire_checkpoint), "--remove", "node", "--test-limit", "200", "-o", str(out),
            check=True)
    table = json.loads(out.read_text())
    rows = table["rows"]
    assert len(rows) == 16  # 8 nodes × 2 stages
    assert {(r["stage"], r["node"]) for r in rows} == {(s, n) for s in (1, 2) for n in range(8)}
    for r in rows:
        assert abs(r["drop"] - (table["baseline"] - r["accuracy"])) < 1e-9
    assert "intact network: test accuracy" in p.stdout
    edges = tmp_path / "edges.csv"
    run("damage", "--checkpoint", str(randwire_checkpoint), "--remove", "edge", "--test-limit", "100", "-o", str(edges), check=True)
    lines = edges.read_text().splitlines()
    assert lines[0] == "stage,from,to,in_degree,out_degree,accuracy,drop" and len(lines) == 1 + 2 * 16  # WS(8, 4): 16 edges per stage
    p = run("damage", "--checkpoint", str(randwire_checkpoint), "--remove", "nodes")
    assert p.returncode == 2 and "--remove must be node or edge" in p.stderr


@pytest.mark.parametrize("setting", ["static", "discrete", "continuous"])
def test_dnw_settings_train_with_exact_edge_counts(setting, tmp_path):
    masks = tmp_path / "m.json"
    p = run("train", "--set", "model.name=dnw", "--set", f"model.setting={setting}", "--set", "model.blocks=[4,8,8]",
            "--set", "model.readout=8", "--set", "model.steps=2", "--policy", "dnw", "--density", "0.25",
            "--set", "data.train_limit=256", "--set", "data.test_limit=100", "--epochs", "1", "--lr", "0.5", "-q",
            "--save-masks", str(masks), check=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    m = json.loads(masks.read_text())["layers"]
    if setting == "static":
        assert set(m) == {"graph.block1", "graph.block2"}
        assert m["graph.block1"]["kept"] == round(0.25 * 8 * 4) and m["graph.block2"]["kept"] == round(0.25 * 8 * 12)
    else:
        assert set(m) == {"graph.adjacency"} and m["graph.adjacency"]["kept"] == round(0.25 * 20 * 20)
    assert r["model"] == f"dnw-{setting}" and 0 <= r["test_accuracy"] <= 1


def test_mobilenet_dnw_graph_export_writes_one_file_per_stage(tmp_path):
    ck = tmp_path / "mdnw.safetensors"
    run("train", "-c", "configs/fmnist-mobilenetv1.yaml", "--set", "model.name=mobilenetv1-dnw", "--set", "model.width=0.125",
        "--policy", "dnw", "--set", "data.train_limit=256", "--set", "data.test_limit=128", "--epochs", "1", "-q",
        "--save-checkpoint", str(ck), check=True)
    p = run("graph", "--checkpoint", str(ck), "-o", str(tmp_path / "w.dot"), check=True)
    files = sorted(tmp_path.glob("w-stage*.dot"))
    assert [f.name for f in files] == [f"w-stage{i}.dot" for i in range(1, 6)], p.stderr
    # stage 1 at width 1/8: 4 inputs → one group of 8, round(0.225² · 4 · 8) = 2 kept edges
    text = files[0].read_text()
    assert text.startswith("digraph stage1") and "2 edges" in text
    assert len(re.findall(r"n(\d+) -> n(\d+) ", text)) == 2
    for f in files:  # every edge runs from a source to a later group: the DAG the stage computes
        assert all(int(a) < int(b) for a, b in re.findall(r"n(\d+) -> n(\d+) ", f.read_text())), f.name
    # DNW's fast evaluation: unread channels go, the logits stay (float rounding only).
    p = run("fast-eval", "--checkpoint", str(ck), check=True)
    lines = p.stdout.splitlines()
    assert lines[0].startswith("stage") and len([l for l in lines if re.match(r"^\d ", l)]) == 5
    params = re.search(r"parameters (\d+) → (\d+)", p.stdout)
    assert params and int(params.group(2)) < int(params.group(1)), p.stdout
    nonzero = re.search(r"non-zero parameters (\d+) → (\d+)", p.stdout)
    assert nonzero and int(nonzero.group(2)) <= int(nonzero.group(1)) < int(params.group(1)), p.stdout
    diff = float(re.search(r"largest \|logit difference\| on 64 random inputs: (\S+)", p.stdout).group(1))
    assert diff < 1e-4, p.stdout
    p = run("fast-eval", "--checkpoint", str(ck), "--probe", "0")
    assert p.returncode == 2 and "--probe must be ≥ 1" in p.stderr
