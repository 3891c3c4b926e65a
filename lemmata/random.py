"""The one global random number generator.

Every random factory (``randn``, ``rand``, ``randint``, ``randperm``), initialiser, dropout mask
and shuffling data loader draws from the single ``numpy.random.Generator`` returned by
:func:`generator`; ``manual_seed(n)`` makes the whole program reproducible.  The generator object is
reseeded in place, so references to it stay valid.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["manual_seed", "seed", "initial_seed", "generator", "get_rng_state", "set_rng_state"]

_generator = np.random.Generator(np.random.PCG64())
_initial_seed: int | None = None


def generator() -> np.random.Generator:
    """The global generator (PCG64)."""
    return _generator


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator with an integer seed; returns it."""
    global _initial_seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
    _generator.bit_generator.state = np.random.PCG64(int(seed)).state
    _initial_seed = int(seed)
    return _generator


def seed() -> int:
    """Reseed from fresh entropy and return the seed used."""
    fresh = int(np.random.SeedSequence().generate_state(1)[0])
    manual_seed(fresh)
    return fresh


def initial_seed() -> int | None:
    """The last seed given to :func:`manual_seed` (None if never seeded)."""
    return _initial_seed


def get_rng_state() -> dict[str, Any]:
    """The generator's full state (a JSON-serialisable dict), for checkpoints."""
    return _generator.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    try:
        _generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f"set_rng_state: not a PCG64 generator state ({error})") from error
