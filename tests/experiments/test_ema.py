"""Bias and variance of the EMA m^k (ryu24.q1a–c): Monte Carlo against the closed forms."""
import json

import numpy as np
import pytest
from png_checks import assert_nontrivial_png

from lemmata.experiments import EMAConfig, ExperimentError, ema_bias_variance
from lemmata.experiments.ema import Z, closed_forms


@pytest.fixture(scope="module")
def result():
    return ema_bias_variance(EMAConfig(), seeds=2)


@pytest.mark.parametrize("name", ["mean", "var", "mse", "mean_hat", "var_hat", "mse_hat"])
def test_measured_moments_equal_the_closed_forms_within_monte_carlo_error(result, name):
    z = result.z_scores(name)
    assert z.size >= result.config.steps
    assert np.all(z <= Z), (name, z.max())


@pytest.mark.parametrize("distribution", ["uniform", "exponential", "rademacher"])
def test_closed_forms_hold_for_any_distribution(distribution):
    r = ema_bias_variance(EMAConfig(distribution=distribution, runs=8000, steps=30, beta=0.8),
                          seeds=1)
    for name in ("mean", "var", "mean_hat", "var_hat"):
        assert r.agrees(name), (distribution, name, r.z_scores(name).max())


def test_the_check_has_power_against_a_wrong_formula(result):
    # dropping the (1 − β^{2k}) factor of q1b is wrong for small k: the data must reject it
    c = result.config
    wrong = c.sigma ** 2 * (1 - c.beta) / (1 + c.beta) * np.ones(c.steps + 1)
    z = np.abs(result.measured["var"][1:10] - wrong[1:10]) / result.stderr["var"][1:10]
    assert z.min() > 10


def test_closed_forms_follow_the_recursions():
    beta, mu, sigma, steps = 0.7, -0.4, 1.3, 25
    forms = closed_forms(beta, mu, sigma, steps)
    mean, var = 0.0, 0.0
    for k in range(steps + 1):                   # E and Var of m^{k+1} = βm^k + (1 − β)g^k
        assert forms["mean"][k] == pytest.approx(mean, abs=1e-14)
        assert forms["var"][k] == pytest.approx(var, abs=1e-14)
        if k:
            assert forms["var_hat"][k] == pytest.approx(var / (1 - beta ** k) ** 2, rel=1e-12)
        mean = beta * mean + (1 - beta) * mu
        var = beta ** 2 * var + (1 - beta) ** 2 * sigma ** 2
    assert forms["var"][-1] == pytest.approx(forms["var_limit"], rel=1e-6)   # q1c


def test_limit_is_reached(result):
    c = result.config
    assert abs(result.measured["var"][-1] - c.sigma ** 2 * (1 - c.beta) / (1 + c.beta)) \
        <= Z * result.stderr["var"][-1] + 1e-3


def test_json_and_figure(result, tmp_path):
    data = json.loads(json.dumps(result.to_dict()))
    assert data["data"]["closed"]["mean_hat"][0] is None          # m̂⁰ is undefined
    assert len(data["data"]["measured"]["var"]) == result.config.steps + 1
    assert_nontrivial_png(result.save_figure(str(tmp_path / "ema.png")))


@pytest.mark.parametrize("overrides, key", [({"beta": 1.0}, "beta"), ({"runs": 1}, "runs"),
                                            ({"distribution": "cauchy"}, "distribution")])
def test_bad_config(overrides, key):
    with pytest.raises(ExperimentError, match=f"ema_bias_variance: {key} must be"):
        EMAConfig(**overrides)
