"""Run the benchmark suites and write ``results.json`` and ``results.md``.

    python -m benchmarks [--suite quick|full|NAME ...] [--threads N] [--rounds N] [--batch B]
                         [--quick] [--serial] [--output DIR] [--json PATH]

(``lemmata bench`` is the same.)  Every suite alternates lemmata and PyTorch within one process
and reports medians over rounds; without PyTorch it reports lemmata alone, with a note.  Both
sides get ``--threads`` threads (default: one per CPU): ``torch.set_num_threads``, lemmata's
``DataParallelStep(threads=N)`` and, for the whole run, BLAS limited to N threads
(threadpoolctl; the overhead suite limits it to one).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

#: the suites in the order they run, with their one-line descriptions
SUITES = {
    "nin": "NiN (seed 000) training step, img/s, and its share of the GEMM roofline",
    "net": "Net (seed 002) training step, img/s",
    "lenet5": "LeNet-5 training step, img/s",
    "gemm": "float32 GEMM GFLOP/s, NumPy against torch.mm: 4096³ (the peak) and two conv GEMMs",
    "conv": "conv2d on five shapes, forward and forward+backward, GFLOP/s and % of GEMM peak",
    "pool": "max/avg pooling, forward and forward+backward, img/s and GB/s",
    "overhead": "where a serial training step's time goes: kernels, optimizer, engine overhead",
    "memory": "peak memory of a NiN training step (subprocesses)",
}
#: named groups of suites; ``quick`` restricts the suites in QUICK_VARIANTS and runs 3 rounds
GROUPS = {
    "quick": ("nin", "net", "lenet5", "conv", "overhead", "memory"),
    "full": tuple(SUITES),
}
GROUP_DESCRIPTIONS = {
    "quick": "nin, net, lenet5, conv 3×3 64→64 forward only, overhead, memory; 3 rounds",
    "full": "every suite (the default)",
}
#: what ``quick`` runs of a suite when the suite is not also named on its own
QUICK_VARIANTS = {"conv": "3×3 64→64 forward only"}
DEFAULT_BATCH = {"nin": 128, "net": 128, "lenet5": 128, "gemm": 128, "conv": 128, "pool": 128,
                 "overhead": 64, "memory": 128}
DEFAULT_ROUNDS, QUICK_ROUNDS = 9, 3
HERE = Path(__file__).resolve().parent


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                            "cpus": os.cpu_count(), "processor": platform.processor() or None}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: lib.get(k) for k in ("internal_api", "version", "num_threads",
                                                 "architecture")}
                        for lib in threadpool_info() if lib.get("user_api") == "blas"]
    except ImportError:
        pass
    if torch_available():
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info


def _load_average() -> float | None:
    """The 1-minute load average: other work on a shared machine skews everything measured."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


class Selection:
    """The suites to run, in canonical order, and which of them run their quick variant."""

    def __init__(self, suites: list[str], quick_variants: set[str], quick_group: bool) -> None:
        self.suites, self.quick_variants, self.quick_group = suites, quick_variants, quick_group


def parse_suites(names: Sequence[str] | None) -> list[str]:
    """The suites to run in their canonical order; a KeyError names an unknown one."""
    return select(names).suites


def select(names: Sequence[str] | None) -> Selection:
    """Resolve suite and group names (default: ``full``); a KeyError names an unknown one.

    A suite that is both in the ``quick`` group and named on its own runs in full."""
    names = list(names) if names else ["full"]
    chosen: set[str] = set()
    for name in names:
        if name in GROUPS:
            chosen.update(GROUPS[name])
        elif name in SUITES:
            chosen.add(name)
        else:
            raise KeyError(name)
    quick_group = "quick" in names
    variants = ({s for s in QUICK_VARIANTS if s in chosen and s not in names}
                if quick_group and "full" not in names else set())
    return Selection([s for s in SUITES if s in chosen], variants, quick_group)


def run(suites: Sequence[str], rounds: int, batch: int | None, quick: bool,
        report: Callable[[str], None] = print, serial: bool = False, *,
        threads: int | None = None, quick_variants: set[str] = frozenset()) -> dict[str, Any]:
    """Run ``suites`` and return the results document (not yet written).

    ``threads`` (default: one per CPU) goes to both sides; ``quick_variants`` names the suites
    that run their reduced ``quick`` form."""
    from .timing import blas_threads

    threads = threads or os.cpu_count() or 1
    have_torch = torch_available()
    previous_torch_threads = None
    if have_torch:
        import torch
        previous_torch_threads = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        with blas_threads(threads):
            return _run(list(suites), rounds, batch, quick, report, serial, threads,
                        set(quick_variants), have_torch)
    finally:
        if previous_torch_threads is not None:
            torch.set_num_threads(previous_torch_threads)


def _run(suites: list[str], rounds: int, batch: int | None, quick: bool,
         report: Callable[[str], None], serial: bool, threads: int, quick_variants: set[str],
         have_torch: bool) -> dict[str, Any]:
    from .timing import Peak

    peak = Peak(threads)
    results: dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(), "torch_available": have_torch, "quick": quick,
        "threads": threads, "rounds": rounds, "load_average_at_start": _load_average(),
        "suites": {},
    }
    for name in suites:
        size = batch or DEFAULT_BATCH[name]
        variant = QUICK_VARIANTS[name] if name in quick_variants else None
        report(f"[{name}] {variant or SUITES[name]} (batch {size}"
               + (")" if name == "memory" else f", {rounds} rounds)"))
        start = time.perf_counter()
        result = run_suite(name, size, rounds, have_torch, peak, threads, serial,
                           variant is not None)
        result["threads"] = threads
        if variant is not None:
            result["variant"] = variant
        result["seconds"] = round(time.perf_counter() - start, 1)
        result["load_average"] = _load_average()
        results["suites"][name] = result
        report(f"[{name}] done in {result['seconds']} s")
    if peak.gflops is not None:
        results["gemm_peak_gflops"] = peak.gflops
    return results


def run_suite(name: str, batch: int, rounds: int, have_torch: bool, peak: Callable[[], float],
              threads: int, serial: bool = False, quick_variant: bool = False) -> dict[str, Any]:
    """One suite's result document."""
    if name in ("nin", "net", "lenet5"):
        from .training import add_roofline, run_training
        result = run_training(name, batch, rounds, have_torch, threads=threads, serial=serial)
        return add_roofline(result, peak()) if name == "nin" else result
    if name == "gemm":
        from .gemm import run_gemm
        return run_gemm(batch, rounds, have_torch, peak)
    if name == "conv":
        from .conv import FIRST, run_conv
        return run_conv(batch, rounds, have_torch, peak, (FIRST,) if quick_variant else None)
    if name == "pool":
        from .pool import run_pool
        return run_pool(batch, rounds, have_torch)
    if name == "overhead":
        from .overhead import run_overhead
        return run_overhead(batch, rounds)
    if name == "memory":
        from .memory import run_memory
        return run_memory(batch, have_torch, threads)
    raise KeyError(name)


def fmt(value: float | None, digits: int = 1) -> str:
    """A number for the tables: thousands separators, ``digits`` decimals, "–" when missing."""
    return "–" if value is None else f"{value:,.{digits}f}"


def ratio_cells(ratio: dict[str, float]) -> str:
    """The last two cells of a table row: lemmata against torch and against channels_last."""
    return (f"| {fmt(ratio.get('vs_torch'), 2)}× "
            f"| {fmt(ratio.get('vs_torch_channels_last'), 2)}× |")


def markdown(results: dict[str, Any]) -> str:
    """The results as markdown: one table per suite, then the machine line."""
    from . import conv, gemm, memory, overhead, pool, training

    suites = results["suites"]
    lines: list[str] = []
    runs = [suites[k] for k in ("nin", "net", "lenet5") if k in suites]
    if runs:
        lines += training.table(runs)
    for name, module in (("gemm", gemm), ("conv", conv), ("pool", pool), ("overhead", overhead),
                         ("memory", memory)):
        if name in suites:
            lines += module.table(suites[name])
    m = results["machine"]
    loads = [results.get("load_average_at_start")] + [r.get("load_average")
                                                       for r in suites.values()]
    loads = [f"{v:.1f}" for v in loads if v is not None]
    threads = results.get("threads")
    lines.append(f"Measured {results['date']} on {m.get('cpus')} CPUs, NumPy {m.get('numpy')}"
                 + (f", torch {m['torch']} ({m['torch_threads']} threads)" if "torch" in m else "")
                 + (f"; --threads {threads} (lemmata's parallel step, BLAS"
                    + (", torch" if "torch" in m else "") + ")" if threads else "")
                 + "; medians over alternating rounds in one process"
                 + (f"; 1-minute load average {' → '.join(loads)}" if loads else "") + ".")
    if not results["torch_available"]:
        lines.append("\nPyTorch is not installed: lemmata alone was timed, no ratios.")
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], directory: Path = HERE,
          json_copy: Path | None = None) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` to ``directory``, and the JSON also to
    ``json_copy`` when given (its folders created)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "results.json", directory / "results.md"
    text = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    json_path.write_text(text)
    md_path.write_text(markdown(results))
    if json_copy is not None:
        json_copy.parent.mkdir(parents=True, exist_ok=True)
        json_copy.write_text(text)
    return json_path, md_path


def usage_of_suites() -> str:
    """The groups and suites with their descriptions, one per line (for errors and --help)."""
    lines = ["groups:"] + [f"  {name:9s} {GROUP_DESCRIPTIONS[name]}" for name in GROUPS]
    lines += ["suites:"] + [f"  {name:9s} {text}" for name, text in SUITES.items()]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", nargs="+", metavar="NAME",
                        help="groups or suites to run (default full): "
                             f"{', '.join(GROUPS)}; {', '.join(SUITES)}")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="threads for both sides: torch.set_num_threads, lemmata's parallel "
                             "step, BLAS (default: one per CPU)")
    parser.add_argument("--rounds", type=int, help="alternating rounds per suite "
                                                   "(default 9; --quick or the quick group 3)")
    parser.add_argument("--batch", type=int, help="batch size (default 128, overhead 64)")
    parser.add_argument("--quick", action="store_true", help="3 rounds per suite")
    parser.add_argument("--serial", action="store_true",
                        help="also time lemmata's plain serial step (one thread, BLAS on "
                             "--threads threads) as a reference")
    parser.add_argument("--output", type=Path, default=HERE,
                        help="directory for results.json and results.md (default benchmarks/)")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the results JSON to PATH")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0], epilog=usage_of_suites(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return execute(args)


def execute(args: argparse.Namespace, report: Callable[[str], None] = print) -> int:
    """Run what ``args`` asks for; 2 (and a message on stderr) for a usage error."""
    try:
        selection = select(args.suite)
    except KeyError as error:
        print(f"unknown suite {error.args[0]!r}; the groups and suites are:\n{usage_of_suites()}",
              file=sys.stderr)
        return 2
    threads = getattr(args, "threads", None)
    for flag, value, least in (("--rounds", args.rounds, 1), ("--batch", args.batch, 2),
                               ("--threads", threads, 1)):
        if value is not None and value < least:
            print(f"{flag} must be ≥ {least}, got {value}", file=sys.stderr)
            return 2
    quick = args.quick or selection.quick_group
    rounds = args.rounds or (QUICK_ROUNDS if quick else DEFAULT_ROUNDS)
    results = run(selection.suites, rounds, args.batch, quick, report,
                  getattr(args, "serial", False), threads=threads,
                  quick_variants=selection.quick_variants)
    json_copy = getattr(args, "json", None)
    json_path, md_path = write(results, Path(args.output),
                               Path(json_copy) if json_copy is not None else None)
    report(markdown(results))
    report(f"wrote {json_path} and {md_path}" + (f" (and {json_copy})" if json_copy else ""))
    return 0
