"""Experiments: the course's numerical phenomena, each a function of a config dataclass returning
a result (numbers, JSON via ``to_dict()``, a figure via ``save_figure``), and parameter sweeps
over them, sequential or on Ray.

    >>> from lemmata import experiments
    >>> result = experiments.run("ema_bias_variance", {"beta": 0.8}, seeds=2)
    >>> result.save_figure("ema.png")
    >>> sweep = experiments.sweep("double_descent", {"sigma": [0.25, 0.5, 1.0]}, seeds=4)

=====================  ================================================  ==================
name                   what it shows                                     seed claims
=====================  ================================================  ==================
double_descent         random-feature ridge: the peak at p = N_train     hw6.p5
                       with λ = 0.01 and its disappearance when λ is
                       tuned on validation data
ema_bias_variance      E[m^k], Var(m^k) of the EMA vs closed forms       ryu24.q1a–c
init_statistics        per-layer activation moments under He, LeCun,    ryu22.q6a–e,
                       Xavier, PyTorch init (MLP, CNN)                   ryu24.q5, hw6.p2
weight_decay_vs_l2     SGD-momentum trajectories: coupled ℓ² vs          ryu24.q7
                       decoupled decay
symmetry               zero-initialised tanh MLP: what moves under GD,   ryu22.q5a, q5b
                       where b_L goes
=====================  ================================================  ==================
"""
from __future__ import annotations

from typing import Any, Sequence

from . import double_descent as _dd
from . import ema as _ema
from . import init_statistics as _init
from . import symmetry as _sym
from . import weight_decay as _wd
from .base import Experiment, ExperimentError, Result, trial_generator
from .double_descent import DoubleDescentConfig, DoubleDescentResult, double_descent
from .ema import EMAConfig, EMAResult, ema_bias_variance
from .init_statistics import InitStatisticsConfig, InitStatisticsResult, init_statistics
from .sweep import SweepResult, sweep
from .symmetry import SymmetryConfig, SymmetryResult, symmetry
from .weight_decay import WeightDecayConfig, WeightDecayResult, weight_decay_vs_l2

__all__ = ["REGISTRY", "Experiment", "ExperimentError", "Result", "get", "names", "run",
           "sweep", "SweepResult", "trial_generator",
           "DoubleDescentConfig", "DoubleDescentResult", "double_descent",
           "EMAConfig", "EMAResult", "ema_bias_variance",
           "InitStatisticsConfig", "InitStatisticsResult", "init_statistics",
           "WeightDecayConfig", "WeightDecayResult", "weight_decay_vs_l2",
           "SymmetryConfig", "SymmetryResult", "symmetry"]

REGISTRY: dict[str, Experiment] = {
    e.name: e for e in (
        Experiment(_dd.NAME, _dd.DoubleDescentConfig, _dd.trial, _dd.aggregate, 8,
                   "double descent with random ReLU features, fixed vs tuned λ", ("hw6.p5",)),
        Experiment(_ema.NAME, _ema.EMAConfig, _ema.trial, _ema.aggregate, 1,
                   "bias and variance of the exponential moving average m^k",
                   ("ryu24.q1a", "ryu24.q1b", "ryu24.q1c")),
        Experiment(_init.NAME, _init.InitStatisticsConfig, _init.trial, _init.aggregate, 1,
                   "activation statistics at initialisation vs closed forms",
                   ("ryu22.q6a", "ryu22.q6b", "ryu22.q6c", "ryu22.q6d", "ryu22.q6e",
                    "ryu24.q5", "hw6.p2")),
        Experiment(_wd.NAME, _wd.WeightDecayConfig, _wd.trial, _wd.aggregate, 1,
                   "coupled ℓ² vs decoupled weight decay under SGD with momentum",
                   ("ryu24.q7",)),
        Experiment(_sym.NAME, _sym.SymmetryConfig, _sym.trial, _sym.aggregate, 1,
                   "zero-initialised tanh MLP under GD: what moves, where b_L goes",
                   ("ryu22.q5a", "ryu22.q5b")),
    )
}


def names() -> list[str]:
    """The registered experiment names."""
    return list(REGISTRY)


def get(name: str) -> Experiment:
    """The experiment called ``name``; an unknown name raises ExperimentError listing the valid
    ones."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ExperimentError(f"unknown experiment {name!r}; valid experiments: "
                              f"{', '.join(REGISTRY)}") from None


def run(name: str, overrides: dict[str, Any] | Sequence[str] | None = None,
        seeds: int | None = None) -> Result:
    """Run experiment ``name`` with config ``overrides`` (dict or "key=value" strings) over
    ``seeds`` repetitions (default: the experiment's own)."""
    experiment = get(name)
    return experiment.function(experiment.make_config(overrides), seeds)

