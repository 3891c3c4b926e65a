"""Monte Carlo evidence: sample means with standard errors, compared with closed forms.

A Monte Carlo estimate m of a quantity with closed form c holds when |m − c| ≤ z·SE, with SE the
estimate's standard error and z = 4 (a false alarm has probability ≈ 6e-5 per comparison).
Claims draw from their own seeded ``numpy.random.Generator``, so evidence is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z = 4.0


@dataclass
class Estimate:
    """A sample mean and its standard error."""

    mean: float
    stderr: float

    def agrees(self, closed_form: float, z: float = Z) -> bool:
        return abs(self.mean - closed_form) <= z * self.stderr + 1e-12 * abs(closed_form)

    def as_dict(self) -> dict:
        return {"mean": self.mean, "stderr": self.stderr}


def estimate(samples: np.ndarray, axis: int = 0) -> Estimate | list:
    """Mean and standard error over ``axis`` (a list of Estimates if more dims remain)."""
    samples = np.asarray(samples, dtype=np.float64)
    mean = samples.mean(axis=axis)
    stderr = samples.std(axis=axis, ddof=1) / np.sqrt(samples.shape[axis])
    if np.ndim(mean) == 0:
        return Estimate(float(mean), float(stderr))
    return [Estimate(float(m), float(s)) for m, s in zip(np.ravel(mean), np.ravel(stderr))]


def generator(seed: int) -> np.random.Generator:
    """The claim's own generator (claims never touch the global one)."""
    return np.random.default_rng(seed)


def randomise(module, rng: np.random.Generator, scale: float = 1.0,
              positive: bool = False) -> None:
    """Overwrite every parameter of ``module`` with draws from ``rng`` (N(0, scale²), or their
    absolute values), leaving the global generator untouched."""
    import lemmata
    with lemmata.no_grad():
        for p in module.parameters():
            values = scale * rng.standard_normal(tuple(p.shape))
            p.copy_(np.abs(values) if positive else values)
