"""Parameter sweeps: an experiment over a grid of config values, sequentially or on Ray.

A sweep is the Cartesian product of the grid's values (keys must be scalar config fields: int,
float, bool or str) times ``seeds`` repetitions.  Each (grid point, repetition i) is one task:
``Experiment.run_trial(config, i)``, seeded from (config.seed, i) alone and run with one BLAS
thread, so a task computes the same numbers wherever and whenever it runs.  The tasks of a grid
point are then merged by the experiment's ``aggregate``: a grid point's result equals
``run(name, point, seeds)`` exactly, and a sweep on Ray equals the same sweep run sequentially.

Ray (the optional ``distributed`` extra, ``pip install 'lemmata[distributed]'``) runs the tasks in
parallel: a local instance with ``num_cpus`` workers by default, or an existing cluster given by
its address ("host:port", "ray://host:port" or "auto"; lemmata must be installed on its nodes).
An address that does not answer fails within seconds; without Ray the grid runs sequentially.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .base import ExperimentError, check_seeds, coerce, config_fields, fmt, jsonable, save_png

__all__ = ["sweep", "plan_sweep", "SweepPlan", "SweepResult", "parse_grid", "ray_available",
           "check_ray_address"]

SCALAR_TYPES = (int, float, bool, str)


def ray_available() -> bool:
    """Whether the optional dependency ray can be imported."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def parse_grid(experiment: str, items: Sequence[str]) -> dict[str, list[str]]:
    """["key=v1,v2", "other=a,b"] -> {"key": ["v1", "v2"], "other": ["a", "b"]}."""
    grid: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ExperimentError(f"{experiment}: --grid expects key=v1,v2,..., got {item!r}")
        key, values = item.split("=", 1)
        key = key.strip()
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not parts:
            raise ExperimentError(f"{experiment}: --grid {key} has no values")
        if key in grid:
            raise ExperimentError(f"{experiment}: --grid {key} given twice")
        grid[key] = parts
    return grid


def _grid_points(experiment, grid: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Validate the grid against the config type; the list of points (dicts key -> value)."""
    if not grid:
        raise ExperimentError(f"{experiment.name}: a sweep needs at least one grid key")
    fields = config_fields(experiment.config)
    typed: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if key not in fields:
            raise ExperimentError(f"{experiment.name}: unknown config key {key!r}; valid keys: "
                                  f"{', '.join(fields)}")
        annotation = fields[key]
        if annotation not in SCALAR_TYPES:
            raise ExperimentError(f"{experiment.name}: cannot sweep {key!r} (a list-valued key); "
                                  f"sweep scalar keys and set lists with --set")
        if isinstance(values, np.ndarray):
            values = values.tolist()
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ExperimentError(f"{experiment.name}: grid values of {key!r} must be a "
                                  f"non-empty list, got {values!r}")
        typed[key] = [coerce(experiment.name, key, v, annotation) for v in values]
    keys = list(typed)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(typed[k] for k in keys))]


def point_label(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in point.items())


# ----------------------------------------------------------------------------------------------
# tasks
# ----------------------------------------------------------------------------------------------
def run_task(name: str, config: Any, index: int) -> dict:
    """One task: repetition ``index`` of ``config`` (one BLAS thread, seeded from
    (config.seed, index): see ``Experiment.run_trial``)."""
    from . import get
    return get(name).run_trial(config, index)


def _split_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a Ray address, or None for "auto"/"local"."""
    text = address.strip()
    if text in ("auto", "local"):
        return None
    scheme_port = 6379
    if text.startswith("ray://"):
        text, scheme_port = text[len("ray://"):], 10001
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        raise ExperimentError(f"sweep: cannot parse Ray address {address!r}; expected host:port, "
                              f"ray://host:port or auto")
    try:
        return host.strip("[]"), int(port) if port else scheme_port
    except ValueError:
        raise ExperimentError(f"sweep: cannot parse Ray address {address!r}: port {port!r} is not "
                              f"a number") from None


def check_ray_address(address: str, timeout: float = 3.0) -> None:
    """Fail fast (ExperimentError) if nothing listens at a Ray cluster address."""
    target = _split_address(address)
    if target is None:
        return
    host, port = target
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        raise ExperimentError(f"sweep: cannot reach a Ray cluster at {address!r} "
                              f"({error.strerror or error}); start one with `ray start --head` or "
                              f"leave out --ray-address for a local instance") from None


CONNECT_BUDGET_S = 5


@contextlib.contextmanager
def _connect_budget(seconds: int):
    """Bound how long ray.init retries a cluster that accepts TCP but does not answer as Ray
    (Ray's own knob, RAY_gcs_server_port_wait_time_s, unless the user has set it)."""
    key = "RAY_gcs_server_port_wait_time_s"
    if key in os.environ:
        yield
        return
    os.environ[key] = str(seconds)
    try:
        yield
    finally:
        os.environ.pop(key, None)


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 for a block: Ray's C++ core logs connection retries and start-up
    notices there directly; lemmata reports the outcome itself in one line."""
    import sys
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):   # no real fd 2 (embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _run_sequential(name: str, tasks: list[tuple[int, Any, int]],
                    progress: Callable[[int, int], None] | None) -> dict:
    out = {}
    for done, (p, config, i) in enumerate(tasks, start=1):
        out[(p, i)] = run_task(name, config, i)
        if progress:
            progress(done, len(tasks))
    return out


def _run_ray(name: str, tasks: list[tuple[int, Any, int]], address: str | None, num_cpus: int,
             progress: Callable[[int, int], None] | None,
             on_start: Callable[[], None] | None = None) -> dict:
    import logging

    import ray
    started = False
    if not ray.is_initialized():
        try:
            if address:
                check_ray_address(address)
                with _connect_budget(CONNECT_BUDGET_S), _quiet_stderr():
                    ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            else:
                with _quiet_stderr():
                    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                             logging_level=logging.ERROR)
        except ExperimentError:
            raise
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as error:
            what = (f"cannot join the Ray cluster at {address!r}" if address else
                    "cannot start a local Ray instance")
            text = str(error).strip()
            first = text.splitlines()[0] if text else type(error).__name__
            raise ExperimentError(f"sweep: {what}: {first}") from None
        started = True
    try:
        if on_start:
            on_start()
        remote = ray.remote(num_cpus=1)(run_task)
        refs = {remote.remote(name, config, i): (p, i) for p, config, i in tasks}
        pending, out = list(refs), {}
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                out[refs[ref]] = ray.get(ref)
            if progress:
                progress(len(out), len(tasks))
        return out
    finally:
        if started:
            with _quiet_stderr():
                ray.shutdown()


# ----------------------------------------------------------------------------------------------
# the sweep and its result
# ----------------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    """One experiment over a grid: the points, one merged Result per point, how it ran."""

    experiment: str
    grid: dict
    seeds: int
    points: list
    results: list
    backend: str
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    def numbers(self) -> dict[str, Any]:
        """Everything computed (no timing, no backend): equal for equal sweeps."""
        return jsonable({"experiment": self.experiment, "grid": self.grid, "seeds": self.seeds,
                         "points": [{"point": p, "result": r.to_dict()}
                                    for p, r in zip(self.points, self.results)]})

    def to_dict(self) -> dict[str, Any]:
        out = self.numbers()
        out.update({"backend": self.backend, "seconds": round(self.seconds, 3)})
        return out

    def headline(self) -> list[str]:
        return list(self.results[0].scalars())

    def figure(self) -> Any:
        """Left: each point's main curve overlaid; right: the first headline scalars per point,
        one small panel each."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        figure = Figure(figsize=(12, 4.8), layout="constrained")
        FigureCanvasAgg(figure)
        left, right = figure.subfigures(1, 2, width_ratios=[1.4, 1])
        ax_curve = left.subplots()
        curve = None
        for j, (point, result) in enumerate(zip(self.points, self.results)):
            curve = result.curve()
            if curve is None:
                continue
            colour = f"C{j % 10}"
            ax_curve.plot(curve.x, curve.y, color=colour, lw=1.6, label=point_label(point))
            if curve.band is not None:
                lo = curve.y - curve.band
                if curve.yscale == "log":
                    positive = curve.y[curve.y > 0]
                    lo = np.maximum(lo, positive.min() / 10 if positive.size else 1e-12)
                ax_curve.fill_between(curve.x, lo, curve.y + curve.band, color=colour, alpha=0.15)
        if curve is not None:
            for x in curve.marks.values():
                ax_curve.axvline(x, color="black", ls="--", lw=1)
            ax_curve.set(xlabel=curve.xlabel, ylabel=curve.ylabel, xscale=curve.xscale,
                         yscale=curve.yscale, title="main curve per grid point")
            ax_curve.legend(fontsize=8)
            ax_curve.grid(alpha=0.3, which="both")
        names = self.headline()[:3]
        axes = np.atleast_1d(right.subplots(max(1, len(names)), 1, sharex=True))
        x = np.arange(len(self.points))
        for j, (ax, name) in enumerate(zip(axes, names)):
            values = [r.scalars()[name] for r in self.results]
            ax.plot(x, values, "o-", color=f"C{j}")
            ax.set_title(name, fontsize=9)
            ax.grid(alpha=0.3)
        axes[-1].set_xticks(x, [point_label(p) for p in self.points], rotation=30, ha="right",
                            fontsize=8)
        figure.suptitle(f"sweep of {self.experiment} over {', '.join(self.grid)} "
                        f"({self.seeds} seed{'s' if self.seeds > 1 else ''} per point, "
                        f"{self.backend})", fontsize=11)
        return figure

    def save_figure(self, path: str, dpi: int = 120) -> str:
        save_png(self.figure(), path, dpi)
        return path

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Column names and rows (grid values, then the first headline scalars)."""
        names = self.headline()[:4]
        columns = list(self.grid) + names
        rows = [[str(p[k]) for k in self.grid] + [fmt(r.scalars()[n]) for n in names]
                for p, r in zip(self.points, self.results)]
        return columns, rows


@dataclass
class SweepPlan:
    """A validated sweep, not yet run: every grid point's config is built (so a bad key or value
    fails before any task starts) and the backend is chosen."""

    experiment: Any
    points: list
    configs: list
    seeds: int
    backend: str
    ray_address: str | None
    num_cpus: int
    notes: list

    @property
    def tasks(self) -> list[tuple[int, Any, int]]:
        return [(p, config, i) for p, config in enumerate(self.configs) for i in range(self.seeds)]

    def run(self, progress: Callable[[int, int], None] | None = None,
            on_start: Callable[[], None] | None = None) -> SweepResult:
        """Run the tasks; ``on_start()`` is called once the backend is ready (Ray started or
        joined), ``progress(done, total)`` as tasks finish."""
        name = self.experiment.name
        start = time.perf_counter()
        if self.backend == "ray":
            records = _run_ray(name, self.tasks, self.ray_address, self.num_cpus, progress,
                               on_start)
        else:
            if on_start:
                on_start()
            records = _run_sequential(name, self.tasks, progress)
        results = [self.experiment.aggregate(config, [records[(p, i)] for i in range(self.seeds)])
                   for p, config in enumerate(self.configs)]
        grid = {k: list(dict.fromkeys(point[k] for point in self.points)) for k in self.points[0]}
        return SweepResult(experiment=name, grid=grid, seeds=self.seeds, points=self.points,
                           results=results, backend=self.backend,
                           seconds=time.perf_counter() - start, notes=list(self.notes))


def plan_sweep(name: str, grid: dict[str, Sequence[Any]], seeds: int | None = None,
               base: dict[str, Any] | Sequence[str] | None = None, backend: str = "auto",
               ray_address: str | None = None, num_cpus: int = 2) -> SweepPlan:
    """Validate a sweep (see :func:`sweep`) without running it."""
    from . import get
    experiment = get(name)
    seeds = experiment.default_seeds if seeds is None else seeds
    check_seeds(name, seeds)
    if backend not in ("auto", "ray", "sequential"):
        raise ExperimentError(f"sweep: backend must be auto, ray or sequential, got {backend!r}")
    if isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1:
        raise ExperimentError(f"sweep: num_cpus must be a positive int, got {num_cpus!r}")
    base_config = experiment.make_config(base)
    points = _grid_points(experiment, grid)
    configs = [experiment.make_config(point, base=base_config) for point in points]
    notes = []
    if backend == "sequential" and ray_address:
        raise ExperimentError("sweep: a Ray address was given but the backend is sequential")
    if backend == "auto":
        backend = "ray" if ray_available() else "sequential"
        if backend == "sequential":
            if ray_address:
                raise ExperimentError("sweep: --ray-address needs ray, which is not installed "
                                      "(pip install 'lemmata[distributed]')")
            notes.append("ray is not installed (pip install 'lemmata[distributed]'): running the "
                         "grid sequentially")
    elif backend == "ray" and not ray_available():
        raise ExperimentError("sweep: backend 'ray' needs ray, which is not installed "
                              "(pip install 'lemmata[distributed]')")
    if ray_address:
        _split_address(ray_address)          # a malformed address fails here
    return SweepPlan(experiment, points, configs, seeds, backend, ray_address, num_cpus, notes)


def sweep(name: str, grid: dict[str, Sequence[Any]], seeds: int | None = None,
          base: dict[str, Any] | Sequence[str] | None = None, backend: str = "auto",
          ray_address: str | None = None, num_cpus: int = 2,
          progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run experiment ``name`` over the Cartesian product of ``grid`` (key -> list of values).

    ``base``: config overrides shared by all points.  ``backend``: "ray", "sequential", or "auto"
    (Ray when installed).  ``ray_address``: an existing cluster (default: a local instance with
    ``num_cpus`` workers).  ``progress(done, total)`` is called as tasks finish.
    """
    return plan_sweep(name, grid, seeds, base, backend, ray_address, num_cpus).run(progress)
