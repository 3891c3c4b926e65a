"""The machinery every experiment shares: configs, seeding, results, figures.

An experiment is three functions of a frozen config dataclass:

* ``trial(config, rng) -> record``: one independent repetition, drawing every random number from
  the ``numpy.random.Generator`` it is given (never from the global one), returning a dict of
  NumPy arrays and floats;
* ``aggregate(config, records) -> Result``: the repetitions merged (means, standard deviations,
  Monte Carlo standard errors) into a :class:`Result`;
* ``Result.plot(figure)``: the figure.

Seeding.  Repetition i of a config with ``seed = s`` draws from

    Generator(PCG64(SeedSequence([s, i])))

so a repetition's numbers depend only on (s, i): the same on any machine, in any process, in any
order — which is what lets a sweep run its tasks on Ray and still give the numbers of a sequential
run.  Every repetition runs with one BLAS thread (threadpoolctl), so matrix products and SVDs take
the same arithmetic path everywhere: a sweep's grid point reproduces ``run`` of that config bit
for bit.  Different grid points of a sweep share s unless ``seed`` itself is swept, so they see the
same draws (common random numbers): differences between grid points are the effect of the swept
key, not of the sampling noise.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

__all__ = ["ExperimentError", "Experiment", "Result", "Row", "trial_generator",
           "global_rng_preserved", "parse_value", "coerce", "config_from_overrides", "jsonable",
           "mean_and_std", "pooled_estimate"]


class ExperimentError(ValueError):
    """A bad experiment name, config key, config value or sweep setting (a user error)."""


# ----------------------------------------------------------------------------------------------
# seeding
# ----------------------------------------------------------------------------------------------
def trial_generator(seed: int, index: int) -> np.random.Generator:
    """The generator of repetition ``index`` of a config whose seed is ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(index)])))


@contextlib.contextmanager
def global_rng_preserved(rng: np.random.Generator | None = None) -> Iterator[None]:
    """Run a block with lemmata's global generator saved and restored around it.

    With ``rng``, the global generator is first reseeded from a draw of ``rng``, so code that
    necessarily uses it (a module's default ``reset_parameters``) is reproducible from ``rng``
    alone; afterwards the caller's global state is back as it was.
    """
    from .. import random as lrandom
    with lrandom.fork_rng():
        if rng is not None:
            lrandom.manual_seed(int(rng.integers(0, 2 ** 62)))
        yield


# ----------------------------------------------------------------------------------------------
# configs: typed values from strings
# ----------------------------------------------------------------------------------------------
def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is tuple:
        args = typing.get_args(annotation)
        return f"comma-separated list of {_type_name(args[0])}"
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(names) + " or none"
    return getattr(annotation, "__name__", str(annotation))


def _parse_scalar(text: str, kind: type) -> Any:
    text = text.strip()
    if kind is bool:
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError(text)
    if kind is int:
        value = float(text) if any(c in text for c in ".eE") else int(text)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(text)
            value = int(value)
        return value
    if kind is float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value
    if kind is str:
        if not text:
            raise ValueError(text)
        return text
    raise TypeError(f"unsupported config type {kind!r}")


def parse_value(experiment: str, key: str, text: str, annotation: Any) -> Any:
    """Parse ``text`` as a value of the config field ``key`` with type ``annotation``.

    Supported: int, float, bool, str, tuple[T, ...] (comma-separated), and ``T | None`` ("none").
    """
    origin = typing.get_origin(annotation)
    try:
        if origin in (typing.Union, types.UnionType):
            if text.strip().lower() == "none":
                return None
            (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
            return parse_value(experiment, key, text, inner)
        if origin is tuple:
            kind = typing.get_args(annotation)[0]
            parts = [p for p in text.split(",") if p.strip()]
            return tuple(_parse_scalar(p, kind) for p in parts)
        return _parse_scalar(text, annotation)
    except ExperimentError:
        raise
    except (ValueError, OverflowError):
        raise ExperimentError(f"{experiment}: key '{key}' expects {_type_name(annotation)}, got "
                              f"{text!r}") from None


def coerce(experiment: str, key: str, value: Any, annotation: Any) -> Any:
    """Accept a Python value for a config field (ints for floats, lists for tuples)."""
    if isinstance(value, str):
        return parse_value(experiment, key, value, annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return coerce(experiment, key, value, inner)
    bad = ExperimentError(f"{experiment}: key '{key}' expects {_type_name(annotation)}, got "
                          f"{value!r} ({type(value).__name__})")
    if origin is tuple:
        if not isinstance(value, (list, tuple, np.ndarray)):
            raise bad
        kind = typing.get_args(annotation)[0]
        return tuple(coerce(experiment, key, v, kind) for v in value)
    if annotation is float and isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if annotation is bool and isinstance(value, (bool, np.bool_)):
        return bool(value)
    if annotation is str and isinstance(value, str):
        return value
    raise bad


def config_fields(config_type: type) -> dict[str, Any]:
    """Field name -> resolved type annotation of a config dataclass."""
    hints = typing.get_type_hints(config_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_type)}


def config_from_overrides(experiment: str, config_type: type,
                          overrides: dict[str, Any] | Sequence[str] | None = None,
                          base: Any = None) -> Any:
    """A config of ``config_type`` with ``overrides`` applied.

    ``overrides`` is a dict key -> value (strings are parsed) or a list of "key=value" strings;
    an unknown key or a value of the wrong type raises :class:`ExperimentError` naming the key,
    the valid keys or the expected type.
    """
    fields = config_fields(config_type)
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        parsed: dict[str, Any] = {}
        for item in overrides:
            if "=" not in item:
                raise ExperimentError(f"{experiment}: expected key=value, got {item!r}")
            key, value = item.split("=", 1)
            parsed[key.strip()] = value
        overrides = parsed
    values = {}
    for key, value in overrides.items():
        if key not in fields:
            raise ExperimentError(f"{experiment}: unknown config key {key!r}; valid keys: "
                                  f"{', '.join(fields)}")
        values[key] = coerce(experiment, key, value, fields[key])
    start = base if base is not None else config_type()
    return dataclasses.replace(start, **values)


def require(experiment: str, key: str, value: Any, ok: bool, requirement: str) -> None:
    """Raise ExperimentError "experiment: key must be <requirement>, got value" unless ok."""
    if not ok:
        raise ExperimentError(f"{experiment}: {key} must be {requirement}, got {value!r}")


# ----------------------------------------------------------------------------------------------
# statistics
# ----------------------------------------------------------------------------------------------
def mean_and_std(records: Sequence[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (ddof = 1; 0 for one record) over records of ``key``."""
    stack = np.stack([np.asarray(r[key], dtype=np.float64) for r in records])
    std = stack.std(axis=0, ddof=1) if len(records) > 1 else np.zeros_like(stack[0])
    return stack.mean(axis=0), std


def pooled_estimate(records: Sequence[dict], mean_key: str,
                    stderr_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Combine S independent estimates with standard errors: mean of the means, and
    SE = √(Σ SEᵢ²)/S."""
    means = np.stack([np.asarray(r[mean_key], dtype=np.float64) for r in records])
    errs = np.stack([np.asarray(r[stderr_key], dtype=np.float64) for r in records])
    return means.mean(axis=0), np.sqrt((errs ** 2).sum(axis=0)) / len(records)


def jsonable(value: Any) -> Any:
    """Arrays, NumPy scalars, tuples and dataclasses as plain JSON values (NaN/inf as None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ----------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of an experiment's summary table."""

    quantity: str
    measured: str
    expected: str = ""
    note: str = ""


def fmt(x: float, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, scientific when tiny or huge."""
    x = float(x)
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.{digits}g}"
    return f"{x:.{digits - 1}e}"


@dataclass
class Result:
    """What an experiment returns: its config, the number of repetitions, and data.

    Subclasses add their arrays as fields and implement :meth:`rows`, :meth:`scalars`,
    :meth:`curve` and :meth:`plot`.
    """

    experiment: str
    config: Any
    seeds: int

    def data(self) -> dict[str, Any]:
        """The numbers (every field but experiment, config and seeds)."""
        skip = {"experiment", "config", "seeds"}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in skip}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: experiment, config, seeds, data, and the headline scalars."""
        return jsonable({"experiment": self.experiment, "config": self.config,
                         "seeds": self.seeds, "scalars": self.scalars(), "data": self.data()})

    def rows(self) -> list[Row]:
        """The summary table."""
        return [Row(k, fmt(v)) for k, v in self.scalars().items()]

    def scalars(self) -> dict[str, float]:
        """Headline numbers (what a sweep compares across grid points)."""
        return {}

    def curve(self) -> "Curve | None":
        """The main curve (what a sweep overlays across grid points)."""
        return None

    def plot(self, figure: Any) -> None:
        """Draw the experiment's figure on a matplotlib Figure."""
        raise ExperimentError(f"{self.experiment}: this result has no figure")

    def figure(self) -> Any:
        """A new matplotlib Figure (Agg canvas, no pyplot state) with the plot drawn."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        figure = Figure(figsize=(11, 4.2), layout="constrained")
        FigureCanvasAgg(figure)
        self.plot(figure)
        return figure

    def save_figure(self, path: str, dpi: int = 120) -> str:
        """Write the figure as a PNG; returns the path."""
        save_png(self.figure(), path, dpi)
        return path


@dataclass
class Curve:
    """A curve y(x), optionally with a ± band, for overlays in sweep figures."""

    x: np.ndarray
    y: np.ndarray
    band: np.ndarray | None = None
    xlabel: str = ""
    ylabel: str = ""
    xscale: str = "linear"
    yscale: str = "linear"
    marks: dict[str, float] = field(default_factory=dict)  # label -> x of a vertical line


def save_png(figure: Any, path: str, dpi: int = 120) -> None:
    """Save a Figure as PNG, creating the folder."""
    import os
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue())


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its trial, how repetitions merge, and its config type."""

    name: str
    config: type
    trial: Callable[[Any, np.random.Generator], dict]
    aggregate: Callable[[Any, list[dict]], Result]
    default_seeds: int
    title: str
    claims: tuple[str, ...]

    def make_config(self, overrides: dict[str, Any] | Sequence[str] | None = None,
                    base: Any = None) -> Any:
        return config_from_overrides(self.name, self.config, overrides, base)

    def run_trial(self, config: Any, index: int) -> dict:
        """Repetition ``index``, seeded from (config.seed, index), with one BLAS thread (the same
        arithmetic in every process, and no oversubscription when trials run side by side); the
        global generator is left as it was."""
        from threadpoolctl import threadpool_limits
        rng = trial_generator(config.seed, index)
        with threadpool_limits(limits=1), global_rng_preserved():
            return self.trial(config, rng)

    def function(self, config: Any = None, seeds: int | None = None) -> Result:
        """Run ``seeds`` repetitions (default: the experiment's) and merge them."""
        if config is None:
            config = self.config()
        if not isinstance(config, self.config):
            raise ExperimentError(f"{self.name}: config must be a {self.config.__name__}, got "
                                  f"{type(config).__name__}")
        seeds = self.default_seeds if seeds is None else seeds
        check_seeds(self.name, seeds)
        records = [self.run_trial(config, i) for i in range(seeds)]
        return self.aggregate(config, records)


def check_seeds(experiment: str, seeds: Any) -> None:
    require(experiment, "seeds", seeds, isinstance(seeds, (int, np.integer))
            and not isinstance(seeds, bool) and seeds >= 1, "a positive int")
