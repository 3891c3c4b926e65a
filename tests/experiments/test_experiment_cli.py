"""`lemmata experiment` and `lemmata sweep`: outputs, and one-line errors with exit status 2."""
import json
import socket
import subprocess
import sys
import time

import pytest
from png_checks import assert_nontrivial_png

from lemmata.cli import main

QUICK = {
    "double_descent": ["widths=5,50,280,300,320,900", "tune_points=9"],
    "ema_bias_variance": ["runs=600", "steps=15"],
    "init_statistics": ["depth=2", "networks=4", "architectures=mlp,cnn"],
    "weight_decay_vs_l2": ["steps=60"],
    "symmetry": ["steps=20"],
}


def _sets(name):
    out = []
    for item in QUICK[name]:
        out += ["--set", item]
    return out


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lemmata: error: ") and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("name", list(QUICK))
def test_experiment_writes_json_and_a_figure(name, tmp_path, capsys):
    out = tmp_path / name
    assert main(["experiment", name, *_sets(name), "--seeds", "2", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert name in stdout and "wrote" in stdout
    data = json.loads((out / "result.json").read_text())
    assert data["experiment"] == name and data["seeds"] == 2 and data["seconds"] >= 0
    assert data["scalars"] and data["data"]
    assert_nontrivial_png(out / "figure.png")


def test_experiment_figure_copy(tmp_path):
    target = tmp_path / "docs" / "figures" / "ema.png"
    assert main(["experiment", "ema_bias_variance", *_sets("ema_bias_variance"), "--out",
                 str(tmp_path / "run"), "--figure", str(target)]) == 0
    assert target.read_bytes() == (tmp_path / "run" / "figure.png").read_bytes()


@pytest.mark.parametrize("argv, expected", [
    (["experiment", "nope"], "unknown experiment 'nope'; valid experiments: double_descent, "
                             "ema_bias_variance, init_statistics, weight_decay_vs_l2, symmetry"),
    (["experiment", "ema_bias_variance", "--set", "bta=0.3"],
     "unknown config key 'bta'; valid keys: beta, mu, sigma, steps, runs, distribution, seed"),
    (["experiment", "ema_bias_variance", "--set", "beta=abc"],
     "key 'beta' expects float, got 'abc'"),
    (["experiment", "ema_bias_variance", "--set", "steps=2.5"], "key 'steps' expects int"),
    (["experiment", "init_statistics", "--set", "depth=x"], "key 'depth' expects int"),
    (["experiment", "init_statistics", "--set", "schemes=he,foo"],
     "schemes must be a non-empty list of he, lecun, xavier, pytorch"),
    (["experiment", "double_descent", "--set", "lambdas=0.1,x"],
     "key 'lambdas' expects comma-separated list of float"),
    (["experiment", "ema_bias_variance", "--set", "beta=1.5"], "beta must be in (0, 1), got 1.5"),
    (["experiment", "ema_bias_variance", "--set", "beta"], "expected key=value, got 'beta'"),
    (["experiment", "ema_bias_variance", "--seeds", "0"], "seeds must be a positive int, got 0"),
    (["sweep", "nope", "--grid", "beta=1"], "unknown experiment 'nope'"),
    (["sweep", "ema_bias_variance", "--grid", "bta=0.5,0.9"], "unknown config key 'bta'"),
    (["sweep", "ema_bias_variance", "--grid", "beta=0.5,x"], "key 'beta' expects float, got 'x'"),
    (["sweep", "ema_bias_variance", "--grid", "beta"], "--grid expects key=v1,v2"),
    (["sweep", "init_statistics", "--grid", "schemes=he"], "cannot sweep 'schemes'"),
    (["sweep", "ema_bias_variance", "--grid", "beta=0.5", "--sequential", "--ray-address",
      "localhost:6379"], "exclude each other"),
])
def test_bad_input_exits_2_with_one_line(argv, expected, capsys):
    assert main(argv) == 2
    assert expected in _error_line(capsys)


def test_usage_errors_exit_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "ema_bias_variance"])
    assert exit_info.value.code == 2
    assert "--grid" in _error_line(capsys)


def test_unreachable_ray_address_fails_within_seconds(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    code = main(["sweep", "ema_bias_variance", "--grid", "beta=0.5,0.9", "--set", "runs=100",
                 "--ray-address", f"127.0.0.1:{port}"])
    assert code == 2 and time.perf_counter() - start < 10
    line = _error_line(capsys)
    assert f"127.0.0.1:{port}" in line or "needs ray" in line


def test_sweep_sequential_writes_one_merged_json_and_figure(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "ema_bias_variance", "--grid", "beta=0.5,0.9", "--grid",
                 "distribution=normal,uniform", *_sets("ema_bias_variance"), "--seeds", "2",
                 "--sequential", "--out", str(out)]) == 0
    stdout = " ".join(capsys.readouterr().out.split())
    assert "sequential" in stdout and "4 points × 2 seeds" in stdout
    data = json.loads((out / "result.json").read_text())
    assert data["backend"] == "sequential" and len(data["points"]) == 4
    assert data["points"][3]["point"] == {"beta": 0.9, "distribution": "uniform"}
    assert_nontrivial_png(out / "figure.png")


def test_sweep_without_ray_says_it_runs_sequentially(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.modules["lemmata.experiments.sweep"], "ray_available", lambda: False)
    assert main(["sweep", "symmetry", "--grid", "lr=0.005,0.01", *_sets("symmetry"), "--out",
                 str(tmp_path / "s")]) == 0
    stdout = " ".join(capsys.readouterr().out.split())
    assert "ray is not installed" in stdout and "running the grid sequentially" in stdout


def test_console_script_error_has_no_traceback():
    done = subprocess.run([sys.executable, "-m", "lemmata", "experiment", "nope"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "valid experiments" in done.stderr
