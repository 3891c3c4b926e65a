"""Weight decay vs ℓ² under SGD with momentum (ryu24.q7), run through lemmata.optim.SGD."""
import json

import numpy as np
import pytest
from png_checks import assert_nontrivial_png

from lemmata.experiments import ExperimentError, WeightDecayConfig, weight_decay_vs_l2
from lemmata.experiments.weight_decay import heavy_ball_factor


@pytest.fixture(scope="module")
def result():
    return weight_decay_vs_l2(WeightDecayConfig(), seeds=3)


def test_constant_loss_decay_is_geometric_and_l2_is_heavy_ball(result):
    c = result.config
    assert result.facts["zero_decay_error"][0] < 1e-12
    assert result.facts["zero_l2_error"][0] < 1e-12
    # θ²/θ⁰ − (θ¹/θ⁰)² = −αβλ ≠ 0: no γ with θᵏ = γᵏθ⁰
    assert result.facts["second_order_gap"][0] == pytest.approx(
        -c.lr * c.momentum * c.weight_decay, rel=1e-9)


def test_the_two_runs_converge_to_different_closed_form_limits(result):
    f = result.facts
    assert f["end_error_l2"][0] < 1e-5 and f["end_error_decay"][0] < 1e-5
    assert f["end_error_l2_matched"][0] < 1e-5
    assert f["fixed_point_gap"][0] > 0.1
    assert f["end_gap_decay_l2"][0] == pytest.approx(f["fixed_point_gap"][0], rel=1e-4)


def test_same_limit_as_l2_with_one_minus_beta_lambda_but_a_different_path(result):
    assert result.facts["path_gap_decay_matched"][0] > 1e-3
    gap = np.abs(result.paths["decay"][-1] - result.paths["l2_matched"][-1]).max()
    assert gap < 1e-5


def test_without_momentum_the_two_coincide():
    r = weight_decay_vs_l2(WeightDecayConfig(momentum=0.0, steps=50), seeds=1)
    np.testing.assert_allclose(r.paths["decay"], r.paths["l2"], rtol=0, atol=1e-13)
    assert r.facts["second_order_gap"][0] == pytest.approx(0.0, abs=1e-14)


def test_heavy_ball_closed_form_against_the_recursion():
    for lr, beta, lam in [(0.05, 0.9, 0.1), (0.5, 0.3, 1.0), (0.05, 0.81, 0.2)]:  # the last:
        factor = heavy_ball_factor(lr, beta, lam, 40)               # a repeated root
        theta, v, path = 1.0, 0.0, [1.0]
        for _ in range(40):
            v = lam * theta + beta * v
            theta = theta - lr * v
            path.append(theta)
        np.testing.assert_allclose(factor, path, rtol=1e-9, atol=1e-12)


def test_noisy_gradients_run_and_stay_near_the_limits():
    r = weight_decay_vs_l2(WeightDecayConfig(noise=0.05, steps=400), seeds=2)
    assert r.facts["end_error_decay"][0] < 0.2 and r.facts["end_error_l2"][0] < 0.2


def test_json_and_figure(result, tmp_path):
    data = json.loads(json.dumps(result.to_dict()))
    assert len(data["data"]["paths"]["decay"]) == result.config.steps + 1
    assert_nontrivial_png(result.save_figure(str(tmp_path / "wd.png")))


@pytest.mark.parametrize("overrides, key", [({"momentum": 1.0}, "momentum"),
                                            ({"weight_decay": 0.0}, "weight_decay"),
                                            ({"dim": 1}, "dim")])
def test_bad_config(overrides, key):
    with pytest.raises(ExperimentError, match=f"weight_decay_vs_l2: {key} must be"):
        WeightDecayConfig(**overrides)
