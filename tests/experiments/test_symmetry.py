"""Zero-initialised tanh MLP under GD (ryu22.q5a, q5b), built from lemmata.nn and lemmata.optim."""
import json

import numpy as np
import pytest
from png_checks import assert_nontrivial_png

from lemmata.experiments import ExperimentError, SymmetryConfig, symmetry


@pytest.fixture(scope="module")
def result():
    return symmetry(SymmetryConfig(), seeds=2)


def test_only_the_last_bias_moves(result):
    assert result.names[-1] == "b_3"
    assert result.frozen_max() == 0.0                      # exactly, every step, every seed
    assert np.all(result.moved[:, -1, -1] > 0.1)


def test_random_init_breaks_the_symmetry(result):
    assert result.contrast_min() > 1e-3


def test_last_bias_follows_the_closed_form_to_the_label_mean(result):
    assert result.b_L_error() < 1e-12
    np.testing.assert_allclose(result.b_L[:, -1], result.label_mean, rtol=1e-9)


def test_too_large_a_step_diverges_as_the_closed_form_says():
    r = symmetry(SymmetryConfig(lr=0.06, samples=40, steps=12), seeds=1)   # ηN = 2.4
    assert r.frozen_max() == 0.0
    np.testing.assert_allclose(r.b_L, r.b_L_closed, rtol=1e-10)
    assert abs(r.b_L[0, -1]) > 10 * abs(r.label_mean[0])


def test_json_and_figure(result, tmp_path):
    data = json.loads(json.dumps(result.to_dict()))
    assert data["data"]["names"] == ["A_1", "b_1", "A_2", "b_2", "A_3", "b_3"]
    assert_nontrivial_png(result.save_figure(str(tmp_path / "sym.png")))


@pytest.mark.parametrize("overrides", [{"sizes": (4, 3, 2)}, {"sizes": (4, 1)}, {"lr": 0.0}])
def test_bad_config(overrides):
    key = next(iter(overrides))
    with pytest.raises(ExperimentError, match=f"symmetry: {key} must be"):
        SymmetryConfig(**overrides)
