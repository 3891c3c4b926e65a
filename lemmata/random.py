"""The one global random number generator.

Every random factory (``randn``, ``rand``, ``randint``, ``randperm``), initialiser, dropout mask
and shuffling data loader draws from the single ``numpy.random.Generator`` returned by
:func:`generator`; ``manual_seed(n)`` makes the whole program reproducible.  The generator object is
reseeded in place, so references to it stay valid.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

import numpy as np

__all__ = ["manual_seed", "seed", "initial_seed", "generator", "get_rng_state", "set_rng_state",
           "fork_rng", "thread_generator"]

_generator = np.random.Generator(np.random.PCG64())
_initial_seed: int | None = None


_thread = threading.local()


def generator() -> np.random.Generator:
    """The global generator (PCG64), or the one this thread installed with
    :func:`thread_generator`."""
    own = getattr(_thread, "generator", None)
    if own is None:
        return _generator
    if not isinstance(own, np.random.Generator):    # a seed: its generator is made at first use
        own = _thread.generator = np.random.Generator(np.random.PCG64(own))
    return own


@contextlib.contextmanager
def thread_generator(rng: np.random.Generator | int) -> Iterator[None]:
    """Within the block, this thread's draws (dropout masks, random factories) come from ``rng``,
    a generator or the seed of a PCG64 one.  A seed's generator is made at the first draw, so a
    block that draws nothing does not pay for seeding (80 µs in a data-parallel worker process,
    before its shard could start).

    Data-parallel worker threads (:mod:`lemmata.parallel`) each get their own generator, spawned
    from the global one in a fixed order, so their draws do not depend on thread scheduling.
    """
    if not isinstance(rng, (np.random.Generator, int, np.integer)) or isinstance(rng, bool):
        raise TypeError(f"thread_generator: expected a numpy Generator or an int seed, got "
                        f"{type(rng).__name__}")
    previous = getattr(_thread, "generator", None)
    _thread.generator = rng
    try:
        yield
    finally:
        _thread.generator = previous


@contextlib.contextmanager
def fork_rng() -> Iterator[None]:
    """Run a block with the global generator's state saved, and restored afterwards even on
    exceptions (as ``torch.random.fork_rng``): code inside may reseed it freely."""
    saved = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(saved)


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
