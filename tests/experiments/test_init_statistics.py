"""Initialisation statistics (ryu22.q6, ryu24.q5, hw6.p2): measured moments vs closed forms."""
import json
import math

import numpy as np
import pytest
from png_checks import assert_nontrivial_png

from lemmata.experiments import ExperimentError, InitStatisticsConfig, init_statistics
from lemmata.experiments.init_statistics import (activation_second_moment,
                                                 closed_second_moments, hw6_p2_variance)

# Bonferroni over the 2·depth·(keys) comparisons of a run: |z| ≤ 4.5 has a family-wise false
# alarm probability below 1 % even for ~150 comparisons.
Z_FAMILY = 4.5


@pytest.fixture(scope="module")
def mlp():
    return init_statistics(InitStatisticsConfig(architectures=("mlp",), depth=4, networks=160),
                           seeds=1)


@pytest.fixture(scope="module")
def cnn():
    return init_statistics(InitStatisticsConfig(architectures=("cnn",), depth=3, networks=40,
                                                cnn_batch=6), seeds=1)


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_exact_closed_forms_within_confidence_intervals(which, request):
    result = request.getfixturevalue(which)
    checked = 0
    for stat in ("mean", "square", "cross", "act_square"):
        for key in result.keys():
            if result.exact[stat][key]:                    # all but tanh's second moments
                z = result.z_scores(stat, key)
                assert np.all(z <= Z_FAMILY), (stat, key, z)
                checked += z.size
    assert checked >= 40
    assert result.max_z_exact() <= Z_FAMILY


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_tanh_matches_the_mean_field_recursion(which, request):
    result = request.getfixturevalue(which)
    for stat in ("square", "act_square"):
        for key in result.keys():
            if not result.exact[stat][key]:
                gap = np.abs(result.measured[stat][key] - result.closed[stat][key])
                assert np.all(gap <= Z_FAMILY * result.stderr[stat][key]
                              + 0.03 * result.closed[stat][key]), (stat, key)


def test_relu_halves_the_second_moment(mlp):
    # ryu22.q6a: E[ReLU(z)²] = E[z²]/2, measured on the same networks
    for key in mlp.keys():
        if "/relu/" in key:
            ratio = mlp.measured["act_square"][key] / mlp.measured["square"][key]
            np.testing.assert_allclose(ratio, 0.5, rtol=0.1)


def test_he_keeps_relu_second_moment_constant(mlp):
    key = "mlp/relu/he"
    np.testing.assert_allclose(mlp.closed["square"][key], 2.0)   # q₁ = n₀·(2/n₀) = 2, then kept
    assert np.all(mlp.z_scores("square", key) <= Z_FAMILY)


def test_hw6_p2_formula_is_the_recursion_and_the_measurement(mlp):
    key = "mlp/linear/pytorch"
    np.testing.assert_allclose(mlp.hw6_p2, mlp.closed["square"][key], rtol=1e-13)
    assert abs(mlp.measured["square"][key][-1] - mlp.hw6_p2[-1]) \
        <= Z_FAMILY * mlp.stderr["square"][key][-1]


def test_the_check_rejects_a_wrong_closed_form(mlp):
    # LeCun's E[z²] is not He's: comparing the LeCun ReLU network with He's closed form fails
    key = "mlp/relu/lecun"
    z = np.abs(mlp.measured["square"][key] - mlp.closed["square"]["mlp/relu/he"]) \
        / mlp.stderr["square"][key]
    assert z.max() > 20


def test_closed_form_pieces():
    assert hw6_p2_variance([5]) == pytest.approx(1 / 3 + 1 / 15)
    assert activation_second_moment("relu", 3.0) == 1.5
    # tanh: E tanh(u)² ≤ E u², and ≈ q − 2q² for small q (tanh u ≈ u − u³/3, E u⁴ = 3q²)
    q = 1e-3
    assert activation_second_moment("tanh", q) == pytest.approx(q - 2 * q ** 2, rel=1e-5)
    rng = np.random.default_rng(0)
    mc = np.mean(np.tanh(math.sqrt(0.8) * rng.standard_normal(400000)) ** 2)
    assert activation_second_moment("tanh", 0.8) == pytest.approx(mc, abs=3e-3)
    config = InitStatisticsConfig(depth=2, in_channels=2, channels=5)
    # ryu24.q5: LeCun conv layer on unit-variance inputs, E[Y²] = 9·C_in·σ_w² + σ_b² = 1
    assert closed_second_moments(config, "cnn", "linear", "lecun")[0] == pytest.approx(1.0)


def test_json_and_figure(cnn, tmp_path):
    data = json.loads(json.dumps(cnn.to_dict()))
    assert set(data["data"]["measured"]["square"]) == set(cnn.keys())
    assert set(data["data"]["measured"]) == {"mean", "square", "cross", "act_square"}
    assert_nontrivial_png(cnn.save_figure(str(tmp_path / "init.png")))


@pytest.mark.parametrize("overrides, key", [({"schemes": ("he", "kaiming")}, "schemes"),
                                            ({"networks": 1}, "networks"),
                                            ({"image_size": 5}, "image_size")])
def test_bad_config(overrides, key):
    with pytest.raises(ExperimentError, match=f"init_statistics: {key} must be"):
        InitStatisticsConfig(**overrides)
