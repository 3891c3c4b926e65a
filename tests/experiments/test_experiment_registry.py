"""The registry, typed config overrides, and per-trial seeding shared by every experiment."""
import dataclasses
import json

import numpy as np
import pytest

import lemmata
from lemmata import experiments
from lemmata.experiments import ExperimentError
from lemmata.experiments.base import parse_value, trial_generator

QUICK = {
    "double_descent": {"widths": (5, 300, 900), "tune_points": 5},
    "ema_bias_variance": {"runs": 300, "steps": 8},
    "init_statistics": {"depth": 2, "networks": 3, "architectures": ("mlp", "cnn")},
    "weight_decay_vs_l2": {"steps": 30},
    "symmetry": {"steps": 10},
}


def test_registry_lists_the_five_experiments_with_their_claims():
    assert experiments.names() == list(QUICK)
    from lemmata import claims
    claim_ids = set(claims.CLAIM_IDS)
    for name in experiments.names():
        e = experiments.get(name)
        assert e.name == name and e.claims and set(e.claims) <= claim_ids
        assert dataclasses.is_dataclass(e.config) and "seed" in e.make_config().__dict__
        module = e.trial.__module__
        doc = __import__(module, fromlist=["x"]).__doc__
        assert e.claims[0] in doc and all(claim.split(".")[0] in doc for claim in e.claims)


@pytest.mark.parametrize("name", list(QUICK))
def test_trials_depend_only_on_seed_and_index_not_on_the_global_generator(name):
    e = experiments.get(name)
    config = e.make_config(QUICK[name])
    lemmata.manual_seed(1)
    state = lemmata.random.get_rng_state()
    first = e.run_trial(config, 1)
    assert lemmata.random.get_rng_state() == state           # left untouched
    lemmata.manual_seed(2)
    again = e.run_trial(config, 1)
    other = e.run_trial(config, 0)
    as_json = lambda record: json.dumps(experiments.base.jsonable(record), sort_keys=True)  # noqa
    assert as_json(first) == as_json(again)
    assert as_json(first) != as_json(other)


def test_trial_generators_are_independent_streams():
    a = trial_generator(0, 0).standard_normal(4)
    assert np.array_equal(a, trial_generator(0, 0).standard_normal(4))
    assert not np.array_equal(a, trial_generator(0, 1).standard_normal(4))
    assert not np.array_equal(a, trial_generator(1, 0).standard_normal(4))


def test_overrides_are_typed():
    e = experiments.get("init_statistics")
    config = e.make_config(["depth=3", "schemes=he, lecun", "networks=1e1"])
    assert config.depth == 3 and config.schemes == ("he", "lecun") and config.networks == 10
    config = e.make_config({"depth": np.int64(4), "schemes": ["xavier"]})
    assert config.depth == 4 and config.schemes == ("xavier",)
    with pytest.raises(ExperimentError, match="key 'depth' expects int, got 2.5"):
        e.make_config({"depth": 2.5})
    with pytest.raises(ExperimentError, match="key 'depth' expects int, got True"):
        e.make_config({"depth": True})
    assert parse_value("x", "flag", "yes", bool) is True
    assert parse_value("x", "maybe", "none", int | None) is None
    assert parse_value("x", "maybe", "7", int | None) == 7
    with pytest.raises(ExperimentError, match="key 'flag' expects bool"):
        parse_value("x", "flag", "perhaps", bool)
    with pytest.raises(ExperimentError, match="key 'rate' expects float, got 'nan'"):
        parse_value("x", "rate", "nan", float)


def test_run_with_overrides_and_unknown_name():
    result = experiments.run("symmetry", {"steps": 5}, seeds=1)
    assert result.seeds == 1 and result.config.steps == 5
    with pytest.raises(ExperimentError, match="valid experiments: double_descent"):
        experiments.get("double-descent")
    with pytest.raises(ExperimentError, match="config must be a SymmetryConfig"):
        experiments.get("symmetry").function(experiments.EMAConfig())
