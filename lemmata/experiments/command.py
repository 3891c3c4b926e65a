"""The ``lemmata experiment`` and ``lemmata sweep`` subcommands (handlers called by lemmata.cli).

    lemmata experiment NAME [--set key=value ...] [--seeds N] [--out DIR] [--figure PNG]
    lemmata sweep NAME --grid key=v1,v2,... [--grid ...] [--set key=value ...] [--seeds N]
                  [--ray-address ADDR] [--num-cpus N] [--sequential] [--out DIR] [--figure PNG]

Both print a rich summary table and write ``result.json`` and ``figure.png`` in DIR (default
``runs/NAME`` and ``runs/NAME-sweep``).  User errors (unknown experiment or key, a value of the
wrong type, an unreachable Ray address) print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn)
from rich.markup import escape
from rich.table import Table

from . import get
from .base import ExperimentError, jsonable
from .sweep import parse_grid, plan_sweep


def _fail(message: str) -> int:
    print(f"lemmata: error: {message}", file=sys.stderr)
    return 2


def _write(out: str, payload: dict, figure_source) -> tuple[str, str]:
    os.makedirs(out, exist_ok=True)
    json_path, png_path = os.path.join(out, "result.json"), os.path.join(out, "figure.png")
    with open(json_path, "w", encoding="utf-8") as handle:
        json.dump(jsonable(payload), handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    figure_source.save_figure(png_path)
    return json_path, png_path


def _copy_figure(png_path: str, target: str | None) -> None:
    if target:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        shutil.copyfile(png_path, target)


def experiment_command(args: argparse.Namespace) -> int:
    """Run one experiment, print its summary, write result.json and figure.png."""
    console = Console()
    try:
        experiment = get(args.name)
        config = experiment.make_config(args.set or [])
        seeds = experiment.default_seeds if args.seeds is None else args.seeds
        start = time.perf_counter()
        with console.status(f"running {experiment.name} ({seeds} seed"
                            f"{'s' if seeds != 1 else ''})"):
            result = experiment.function(config, seeds)
        seconds = time.perf_counter() - start
    except ExperimentError as error:
        return _fail(str(error))
    table = Table(title=escape(f"{experiment.name}: {experiment.title} "
                               f"[{', '.join(experiment.claims)}]"))
    for column in ("quantity", "measured", "expected", "note"):
        table.add_column(column)
    for row in result.rows():
        table.add_row(*(escape(cell) for cell in (row.quantity, row.measured, row.expected,
                                                  row.note)))
    console.print(table)
    out = args.out or os.path.join("runs", experiment.name)
    try:
        payload = result.to_dict()
        payload["seconds"] = round(seconds, 3)
        json_path, png_path = _write(out, payload, result)
        _copy_figure(png_path, args.figure)
    except OSError as error:
        return _fail(f"cannot write the results to {out!r}: {error.strerror or error}")
    extra = f" and {args.figure}" if args.figure else ""
    console.print(escape(f"{seeds} seed{'s' if seeds != 1 else ''} in {seconds:.2f} s; wrote "
                         f"{json_path}, {png_path}{extra}"), soft_wrap=True)
    return 0


def sweep_command(args: argparse.Namespace) -> int:
    """Run a sweep (Ray when installed, else sequentially), print a table, write the merged
    result.json and figure.png."""
    console = Console()
    try:
        experiment = get(args.name)
        grid = parse_grid(experiment.name, args.grid)
        if args.sequential and args.ray_address:
            raise ExperimentError("sweep: --sequential and --ray-address exclude each other")
        plan = plan_sweep(experiment.name, grid, seeds=args.seeds, base=args.set or [],
                          backend="sequential" if args.sequential else "auto",
                          ray_address=args.ray_address, num_cpus=args.num_cpus)
    except ExperimentError as error:
        return _fail(str(error))
    for note in plan.notes:
        console.print(f"[yellow]{escape(note)}[/yellow]", soft_wrap=True)
    if plan.backend == "ray":
        where = (f"the Ray cluster at {args.ray_address}" if args.ray_address else
                 f"a local Ray instance ({args.num_cpus} CPUs)")
        console.print(escape(f"{len(plan.tasks)} tasks on {where}"), soft_wrap=True)
    else:
        console.print(f"{len(plan.tasks)} tasks, sequentially")
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console)
    task = bar.add_task(escape(experiment.name), total=len(plan.tasks))
    try:
        result = plan.run(lambda done, total: bar.update(task, completed=done), bar.start)
    except ExperimentError as error:
        return _fail(str(error))
    finally:
        bar.stop()
    columns, rows = result.table()
    table = Table(title=f"sweep of {result.experiment} ({result.seeds} seed"
                        f"{'s' if result.seeds != 1 else ''} per point, {result.backend})")
    for column in columns:
        table.add_column(escape(column))
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
    out = args.out or os.path.join("runs", f"{experiment.name}-sweep")
    try:
        json_path, png_path = _write(out, result.to_dict(), result)
        _copy_figure(png_path, args.figure)
    except OSError as error:
        return _fail(f"cannot write the results to {out!r}: {error.strerror or error}")
    extra = f" and {args.figure}" if args.figure else ""
    console.print(escape(f"{len(result.points)} points × {result.seeds} seeds in "
                         f"{result.seconds:.2f} s ({result.backend}); wrote {json_path}, "
                         f"{png_path}{extra}"), soft_wrap=True)
    return 0


__all__ = ["experiment_command", "sweep_command"]
