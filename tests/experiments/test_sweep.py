"""Sweeps: grid handling, per-task seeding, and Ray giving the sequential numbers."""
import json
import socket
import sys
import time

import numpy as np
import pytest
from png_checks import assert_nontrivial_png

from lemmata import experiments
from lemmata.experiments import ExperimentError, sweep
from lemmata.experiments.sweep import check_ray_address, parse_grid, plan_sweep

SMALL_EMA = {"runs": 400, "steps": 12}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_parse_grid():
    assert parse_grid("x", ["beta=0.5,0.9", "distribution=normal"]) == {
        "beta": ["0.5", "0.9"], "distribution": ["normal"]}
    for bad in (["beta"], ["beta="], ["beta=1", "beta=2"]):
        with pytest.raises(ExperimentError):
            parse_grid("x", bad)


def test_grid_is_the_cartesian_product_and_points_equal_single_runs():
    result = sweep("ema_bias_variance", {"beta": [0.5, 0.9], "mu": ["0", "2"]}, seeds=2,
                   base=SMALL_EMA, backend="sequential")
    assert [p for p in result.points] == [{"beta": 0.5, "mu": 0.0}, {"beta": 0.5, "mu": 2.0},
                                          {"beta": 0.9, "mu": 0.0}, {"beta": 0.9, "mu": 2.0}]
    assert result.grid == {"beta": [0.5, 0.9], "mu": [0.0, 2.0]}
    single = experiments.run("ema_bias_variance", {**SMALL_EMA, "beta": 0.9, "mu": 2.0}, seeds=2)
    assert result.results[3].to_dict() == single.to_dict()     # bit for bit


def test_sweep_validates_before_running():
    calls = []
    with pytest.raises(ExperimentError, match="unknown config key 'bta'; valid keys: beta"):
        sweep("ema_bias_variance", {"bta": [1]}, backend="sequential",
              progress=lambda d, t: calls.append(d))
    with pytest.raises(ExperimentError, match="key 'beta' expects float, got 'x'"):
        sweep("ema_bias_variance", {"beta": ["0.5", "x"]}, backend="sequential")
    with pytest.raises(ExperimentError, match="beta must be in"):
        sweep("ema_bias_variance", {"beta": [0.5, 2.0]}, backend="sequential")
    with pytest.raises(ExperimentError, match="cannot sweep 'lambdas'"):
        sweep("double_descent", {"lambdas": ["0.1"]}, backend="sequential")
    with pytest.raises(ExperimentError, match="unknown experiment 'nope'; valid experiments: "
                                              "double_descent, ema_bias_variance"):
        sweep("nope", {"beta": [1]})
    assert calls == []


def test_without_ray_the_grid_runs_sequentially_and_says_so(monkeypatch):
    sweep_module = sys.modules["lemmata.experiments.sweep"]  # package attribute: the function
    monkeypatch.setattr(sweep_module, "ray_available", lambda: False)
    plan = plan_sweep("ema_bias_variance", {"beta": [0.5]}, seeds=1, base=SMALL_EMA)
    assert plan.backend == "sequential"
    assert any("ray is not installed" in note for note in plan.notes)
    with pytest.raises(ExperimentError, match="needs ray"):
        plan_sweep("ema_bias_variance", {"beta": [0.5]}, ray_address="127.0.0.1:6379")


def test_sweep_result_json_table_and_figure(tmp_path):
    result = sweep("double_descent", {"sigma": [0.25, 1.0]}, seeds=2, backend="sequential",
                   base={"widths": (10, 100, 300, 600), "tune_points": 7})
    data = json.loads(json.dumps(result.to_dict()))
    assert data["backend"] == "sequential" and len(data["points"]) == 2
    columns, rows = result.table()
    assert columns[0] == "sigma" and [r[0] for r in rows] == ["0.25", "1.0"]
    # more label noise, higher error at the threshold
    peaks = [r.scalars()["peak test error (λ = 0.01)"] for r in result.results]
    assert peaks[1] > peaks[0]
    assert_nontrivial_png(result.save_figure(str(tmp_path / "sweep.png")))


def test_unreachable_address_fails_fast():
    start = time.perf_counter()
    with pytest.raises(ExperimentError, match="cannot reach a Ray cluster"):
        check_ray_address(f"127.0.0.1:{_closed_port()}")
    with pytest.raises(ExperimentError, match="cannot parse Ray address"):
        check_ray_address("127.0.0.1:port")
    assert time.perf_counter() - start < 10


def test_ray_sweep_equals_the_sequential_sweep():
    pytest.importorskip("ray")
    grid = {"beta": [0.5, 0.9], "distribution": ["normal", "exponential"]}
    sequential = sweep("ema_bias_variance", grid, seeds=2, base=SMALL_EMA, backend="sequential")
    seen = []
    on_ray = sweep("ema_bias_variance", grid, seeds=2, base=SMALL_EMA, backend="ray",
                   num_cpus=2, progress=lambda done, total: seen.append((done, total)))
    assert on_ray.backend == "ray"
    assert seen[-1] == (8, 8) and len(seen) == 8
    assert json.dumps(on_ray.numbers(), sort_keys=True) == \
        json.dumps(sequential.numbers(), sort_keys=True)
    a, b = on_ray.results[1], sequential.results[1]
    np.testing.assert_array_equal(a.measured["var"], b.measured["var"])


def test_ray_with_unreachable_address_fails_within_seconds():
    pytest.importorskip("ray")
    start = time.perf_counter()
    with pytest.raises(ExperimentError, match="cannot reach a Ray cluster"):
        sweep("ema_bias_variance", {"beta": [0.5]}, seeds=1, base=SMALL_EMA, backend="ray",
              ray_address=f"127.0.0.1:{_closed_port()}")
    assert time.perf_counter() - start < 10


def test_sweep_joins_a_running_ray_instance_and_matches_sequential_double_descent():
    ray = pytest.importorskip("ray")
    grid = {"sigma": [0.25, 1.0]}
    base = {"widths": (10, 100, 300, 600), "tune_points": 7}
    sequential = sweep("double_descent", grid, seeds=2, base=base, backend="sequential")
    assert not ray.is_initialized()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = sweep("double_descent", grid, seeds=2, base=base, backend="ray")
        assert ray.is_initialized()                  # an instance it did not start stays up
    finally:
        ray.shutdown()
    assert json.dumps(on_ray.numbers(), sort_keys=True) == \
        json.dumps(sequential.numbers(), sort_keys=True)
