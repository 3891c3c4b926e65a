"""lemmata.random: the one global generator — manual_seed reproducibility, seed/initial_seed,
state save and restore, and argument checking."""
from __future__ import annotations

import json

import numpy as np
import pytest

import lemmata
from lemmata import random as lrandom


def _draws():
    """A mix of every random factory and in-place initialiser, all from the global generator."""
    return np.concatenate([lemmata.randn(3).numpy(), lemmata.rand(2, 2).numpy().ravel(),
                           lemmata.randint(0, 1000, (3,)).numpy().astype(np.float32),
                           lemmata.randperm(5).numpy().astype(np.float32),
                           lemmata.zeros(2).normal_(1.0, 2.0).numpy(),
                           lemmata.zeros(2).uniform_(-3.0, 3.0).numpy()])


def test_manual_seed_reproduces_a_whole_sequence_of_draws():
    lemmata.manual_seed(2024)
    first = _draws()
    lemmata.manual_seed(2024)
    np.testing.assert_array_equal(_draws(), first)
    lemmata.manual_seed(2025)
    assert not np.array_equal(_draws(), first)


def test_the_generator_object_survives_reseeding():
    g = lrandom.generator()
    assert lemmata.manual_seed(7) is g and lrandom.generator() is g
    a = g.standard_normal(3)
    lemmata.manual_seed(7)
    np.testing.assert_array_equal(g.standard_normal(3), a)


def test_initial_seed_and_seed():
    lemmata.manual_seed(99)
    assert lemmata.initial_seed() == 99
    fresh = lemmata.seed()
    assert isinstance(fresh, int) and lemmata.initial_seed() == fresh
    x = lemmata.randn(4).numpy()
    lemmata.manual_seed(fresh)
    np.testing.assert_array_equal(lemmata.randn(4).numpy(), x)


def test_rng_state_round_trip_is_json_serialisable():
    lemmata.manual_seed(3)
    state = json.loads(json.dumps(lemmata.get_rng_state()))
    expected = lemmata.randn(5).numpy().copy()
    lemmata.randn(100)  # move on
    lemmata.set_rng_state(state)
    np.testing.assert_array_equal(lemmata.randn(5).numpy(), expected)


def test_set_rng_state_rejects_foreign_states():
    with pytest.raises(ValueError, match="set_rng_state: not a PCG64 generator state"):
        lemmata.set_rng_state({"bit_generator": "MT19937", "state": {}})


@pytest.mark.parametrize("bad, error, pattern", [(-1, ValueError, "must be non-negative, got -1"),
                                                 (1.5, TypeError, "must be an int, got float"),
                                                 (True, TypeError, "must be an int, got bool"),
                                                 ("1", TypeError, "must be an int, got str")])
def test_manual_seed_checks_its_argument(bad, error, pattern):
    with pytest.raises(error, match="manual_seed: seed " + pattern):
        lemmata.manual_seed(bad)


def test_numpy_integer_seeds_are_accepted():
    lemmata.manual_seed(np.int64(5))
    a = lemmata.rand(3).numpy()
    lemmata.manual_seed(5)
    np.testing.assert_array_equal(lemmata.rand(3).numpy(), a)


def test_fork_rng_restores_the_global_state_even_after_an_exception():
    lemmata.manual_seed(5)
    expected = lemmata.randn(3).numpy()
    lemmata.manual_seed(5)
    with pytest.raises(RuntimeError, match="inside"):
        with lemmata.random.fork_rng():
            lemmata.manual_seed(123)
            lemmata.randn(10)
            raise RuntimeError("inside")
    np.testing.assert_array_equal(lemmata.randn(3).numpy(), expected)


def test_a_thread_generator_given_a_seed_is_the_pcg64_generator_of_that_seed():
    expected = np.random.Generator(np.random.PCG64(11)).standard_normal(4)
    outside = lrandom.generator()
    with lrandom.thread_generator(np.int64(11)):
        first = lrandom.generator()
        np.testing.assert_array_equal(lemmata.randn(4, dtype=lemmata.float64).numpy(), expected)
        assert lrandom.generator() is first           # made once, then kept for the block
    assert lrandom.generator() is outside
    with lrandom.thread_generator(np.random.Generator(np.random.PCG64(11))):
        np.testing.assert_array_equal(lemmata.randn(4, dtype=lemmata.float64).numpy(), expected)


@pytest.mark.parametrize("bad", [1.5, True, "7", None])
def test_a_thread_generator_is_a_generator_or_an_int_seed(bad):
    with pytest.raises(TypeError, match="thread_generator.*Generator or an int seed"):
        with lrandom.thread_generator(bad):
            pass
