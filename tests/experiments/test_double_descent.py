"""Double descent with random ReLU features (hw6.p5): the homework's qualitative facts, computed."""
import json

import numpy as np
import pytest
from png_checks import assert_nontrivial_png

import lemmata
from lemmata.experiments import DoubleDescentConfig, ExperimentError, double_descent
from lemmata.experiments.double_descent import _ridge_errors, width_grid


@pytest.fixture(scope="module")
def result():
    return double_descent(DoubleDescentConfig(), seeds=6)


def test_small_lambda_peaks_at_the_interpolation_threshold(result):
    n = result.config.n_train
    assert result.lambdas[0] == 0.01
    curve = result.test_fixed_mean[0]
    p_peak = int(result.widths[int(np.argmax(curve))])      # the global maximum over all widths
    assert abs(p_peak - n) <= 0.15 * n, p_peak
    peak = curve.max()
    at_100 = curve[int(np.argmin(np.abs(result.widths - 100)))]
    assert result.widths[-1] == 1500
    assert peak > 2.0 * curve[-1] and peak > 2.0 * at_100, (peak, curve[-1], at_100)


def test_tuned_lambda_has_no_peak(result):
    n = result.config.n_train
    tuned = result.test_tuned_mean
    upto = result.widths <= n
    at_threshold = tuned[result.widths == n][0]
    assert at_threshold <= 1.10 * tuned[upto].min()
    assert result.tuned_threshold_excess() <= 0.10
    # tuning never does worse than the fixed curves' own λ on average at the threshold, and the
    # chosen λ lie in the grid [1e-2, 1e2]
    assert at_threshold < result.test_fixed_mean[0][result.widths == n][0] / 5
    assert result.lambda_tuned_median.min() >= 1e-2 - 1e-15
    assert result.lambda_tuned_median.max() <= 1e2 + 1e-12


def test_larger_fixed_lambda_damps_the_peak(result):
    bumps = [result.bump(curve) for curve in result.test_fixed_mean]
    assert bumps[0] > 3 and bumps[0] > bumps[1] > bumps[2]


def test_one_svd_gives_the_ridge_solution_for_every_lambda():
    rng = np.random.default_rng(3)
    lambdas = np.array([1e-2, 0.3, 10.0])
    for p in (20, 50, 90):                                     # p < N, p = N, p > N
        F = rng.standard_normal((50, p))
        Y = rng.standard_normal(50)
        Z = rng.standard_normal((7, p))
        target = rng.standard_normal(7)
        (errors,) = _ridge_errors(lemmata.tensor(F), lemmata.tensor(Y),
                                  [(lemmata.tensor(Z), lemmata.tensor(target))], lambdas)
        for lam, error in zip(lambdas, errors):
            theta = np.linalg.solve(F.T @ F + lam * np.eye(p), F.T @ Y)
            np.testing.assert_allclose(error, np.mean((Z @ theta - target) ** 2), rtol=1e-8)


def test_width_grid_covers_one_to_p_max_densely_near_the_threshold():
    grid = width_grid(300, 1500)
    assert grid[0] == 1 and grid[-1] == 1500 and 300 in grid
    assert np.all(np.diff(grid) > 0)
    near = grid[(grid >= 240) & (grid <= 360)]
    assert near.size >= 20 and np.diff(near).max() <= 5


def test_result_is_json_and_draws_a_figure(result, tmp_path):
    data = json.loads(json.dumps(result.to_dict()))
    assert data["experiment"] == "double_descent" and data["seeds"] == 6
    assert len(data["data"]["test_tuned_mean"]) == len(result.widths)
    assert data["config"]["lambdas"] == [0.01, 0.1, 1.0, 10.0]
    assert_nontrivial_png(result.save_figure(str(tmp_path / "dd.png")))


def test_same_seed_same_numbers_and_global_rng_untouched():
    config = DoubleDescentConfig(widths=(10, 300, 600), tune_points=5)
    lemmata.manual_seed(123)
    before = lemmata.random.get_rng_state()
    a = double_descent(config, seeds=2)
    assert lemmata.random.get_rng_state() == before
    lemmata.manual_seed(999)                                   # global state does not matter
    b = double_descent(config, seeds=2)
    np.testing.assert_array_equal(a.test_fixed_mean, b.test_fixed_mean)
    np.testing.assert_array_equal(a.test_tuned_mean, b.test_tuned_mean)
    c = double_descent(DoubleDescentConfig(widths=(10, 300, 600), tune_points=5, seed=1), seeds=2)
    assert not np.array_equal(a.test_fixed_mean, c.test_fixed_mean)


@pytest.mark.parametrize("overrides, key", [({"d": 0}, "d"), ({"sigma": -1.0}, "sigma"),
                                            ({"lambdas": ()}, "lambdas"),
                                            ({"tune_min": 10.0, "tune_max": 1.0}, "tune_min"),
                                            ({"widths": (0, 5)}, "widths")])
def test_bad_config_names_the_key_and_value(overrides, key):
    with pytest.raises(ExperimentError, match=f"double_descent: {key} must be"):
        DoubleDescentConfig(**overrides)
