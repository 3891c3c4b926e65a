"""The configuration of a training run, its defaults, and its validation.

A :class:`TrainConfig` holds everything that determines the run's numbers: model, data set,
optimiser and schedule with their hyper-parameters, epochs, batch size and seed.  It is stored in
every checkpoint, and ``--resume`` continues with the stored configuration.  Where a choice of
``None`` means "the default for this optimiser" (``lr``, ``momentum``), :meth:`resolved` fills
it in, so a checkpoint records the values actually used.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

__all__ = ["TrainConfig", "ConfigError", "MODELS", "DATASETS", "OPTIMIZERS", "SCHEDULERS",
           "DEFAULT_LR", "MOMENTUM_OPTIMIZERS"]


class ConfigError(ValueError):
    """A training configuration that cannot run: an unknown name, a bad value, a model that
    does not fit the data, a run directory that does not match the request."""


MODELS = ("mlp", "cnn", "lenet5", "nin", "resnet18")
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "signsgd")
SCHEDULERS = ("none", "step", "cosine", "onecycle")

#: the learning rate used when none is given, per optimiser
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2,
              "signsgd": 1e-3}
#: optimisers with a momentum parameter, and its default here
MOMENTUM_OPTIMIZERS = {"sgd": 0.9, "rmsprop": 0.0, "signsgd": 0.9}


def _choice(value: Any, valid: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value.lower() not in valid:
        raise ConfigError(f"unknown {what} {value!r} (valid: {', '.join(valid)})")
    return value.lower()


def _integer(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{what} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def _real(value: Any, what: str, low: float, high: float | None = None,
          low_open: bool = False, high_open: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    too_low = value <= low if low_open else value < low
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        interval = (("(" if low_open else "[") + f"{low}, " +
                    (f"{high}" + (")" if high_open else "]") if high is not None else "∞)"))
        raise ConfigError(f"{what} must be in {interval}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class TrainConfig:
    """What to train and how.  The defaults reach about 97 % test accuracy on digits in a few
    seconds: an MLP 64–256–128–10, SGD with momentum 0.9 and learning rate 0.05 on a cosine
    schedule, 10 epochs of batches of 64."""

    model: str = "mlp"
    dataset: str = "digits"
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("model", _choice(self.model, MODELS, "model"))
        set_("dataset", _choice(self.dataset, DATASETS, "dataset"))
        set_("optimizer", _choice(self.optimizer, OPTIMIZERS, "optimizer"))
        set_("scheduler", _choice(self.scheduler, SCHEDULERS, "scheduler"))
        set_("epochs", _integer(self.epochs, "epochs", 1))
        set_("batch_size", _integer(self.batch_size, "batch size", 1))
        set_("seed", _integer(self.seed, "seed", 0))
        if self.lr is not None:
            set_("lr", _real(self.lr, "learning rate", 0.0, low_open=True))
        if self.momentum is not None:
            if self.optimizer not in MOMENTUM_OPTIMIZERS:
                raise ConfigError(f"momentum does not apply to {self.optimizer} (optimisers with "
                                  f"momentum: {', '.join(MOMENTUM_OPTIMIZERS)})")
            set_("momentum", _real(self.momentum, "momentum", 0.0, 1.0))
        set_("weight_decay", _real(self.weight_decay, "weight decay", 0.0))

    def resolved(self) -> "TrainConfig":
        """The same configuration with the optimiser's default lr and momentum filled in."""
        lr = DEFAULT_LR[self.optimizer] if self.lr is None else self.lr
        momentum = self.momentum
        if momentum is None and self.optimizer in MOMENTUM_OPTIMIZERS:
            momentum = MOMENTUM_OPTIMIZERS[self.optimizer]
        return dataclasses.replace(self, lr=lr, momentum=momentum)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Any) -> "TrainConfig":
        """Rebuild from :meth:`to_dict` output (as stored in checkpoints)."""
        if not isinstance(values, dict):
            raise ConfigError(f"a training configuration is a dict, got {type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"unknown configuration keys {unknown} (valid: "
                              f"{', '.join(sorted(names))})")
        return cls(**values)
