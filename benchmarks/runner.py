"""Run the benchmark suites and write ``results.json`` and ``results.md``.

    python -m benchmarks [--suite nin net ...] [--rounds N] [--batch B] [--quick]

(``lemmata bench`` is the same.)  Every suite alternates lemmata and PyTorch within one process
and reports medians over rounds; without PyTorch it reports lemmata alone, with a note.
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

SUITES = {
    "nin": "NiN (seed 000) training step, img/s, and its share of the GEMM roofline",
    "net": "Net (seed 002) training step, img/s",
    "lenet5": "LeNet-5 training step, img/s",
    "conv": "conv2d 3×3 64→64 forward, GFLOP/s as a share of the measured GEMM peak",
    "memory": "peak memory of a NiN training step (subprocesses)",
}
DEFAULT_BATCH = {"nin": 128, "net": 128, "lenet5": 128, "conv": 128, "memory": 128}
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


def run(suites: Sequence[str], rounds: int, batch: int | None, quick: bool,
        report: Callable[[str], None] = print, serial: bool = False) -> dict[str, Any]:
    """Run ``suites`` and return the results document (not yet written)."""
    from .conv import run_conv
    from .memory import run_memory
    from .training import add_roofline, run_training

    have_torch = torch_available()
    results: dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(), "torch_available": have_torch, "quick": quick,
        "load_average_at_start": _load_average(), "suites": {},
    }
    for name in suites:
        size = batch or DEFAULT_BATCH[name]
        report(f"[{name}] {SUITES[name]} (batch {size}"
               + (")" if name == "memory" else f", {rounds} rounds)"))
        start = time.perf_counter()
        if name in ("nin", "net", "lenet5"):
            result = run_training(name, size, rounds, have_torch, serial=serial)
            if name == "nin":
                add_roofline(result)
        elif name == "conv":
            result = run_conv(size, rounds, have_torch)
        else:
            result = run_memory(size, have_torch)
        result["seconds"] = round(time.perf_counter() - start, 1)
        result["load_average"] = _load_average()
        results["suites"][name] = result
        report(f"[{name}] done in {result['seconds']} s")
    return results


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown(results: dict[str, Any]) -> str:
    """The results as markdown tables."""
    suites = results["suites"]
    lines = []
    training = [suites[k] for k in ("nin", "net", "lenet5") if k in suites]
    if training:
        lines += ["| workload | batch | lemmata img/s | torch img/s | torch channels_last img/s "
                  "| vs torch | vs channels_last |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in training:
            rates, ratio = r["img_per_s"], r.get("ratio", {})
            lines.append(
                f"| {r['title']} | {r['batch']} | {_fmt(rates['lemmata'])} "
                f"| {_fmt(rates.get('torch'))} | {_fmt(rates.get('torch channels_last'))} "
                f"| {_fmt(ratio.get('vs_torch'), 2)}× "
                f"| {_fmt(ratio.get('vs_torch_channels_last'), 2)}× |")
        lines.append("")
        for r in training:
            notes = []
            if "lemmata, 1 thread" in r["img_per_s"]:
                notes.append(f"serial step (one thread, multi-threaded BLAS) "
                             f"{_fmt(r['img_per_s']['lemmata, 1 thread'])} img/s")
            if "roofline_img_per_s" in r:
                notes.append(f"{_fmt(r['gflop_per_img'], 3)} GFLOP/img; GEMM peak "
                             f"{_fmt(r['gemm_peak_gflops'], 0)} GFLOP/s → roofline "
                             f"{_fmt(r['roofline_img_per_s'])} img/s; lemmata at "
                             f"{_fmt(r['percent_of_roofline'], 0)} % of it")
            if notes:
                lines.append(f"- {r['title']}: " + "; ".join(notes))
        lines.append("")
    if "conv" in suites:
        r = suites["conv"]
        lines += [f"{r['title']}, batch {r['batch']} ({_fmt(r['gflop'], 2)} GFLOP); "
                  f"measured GEMM peak {_fmt(r['gemm_peak_gflops'], 0)} GFLOP/s:", "",
                  "| contender | GFLOP/s | % of GEMM peak |", "|---|---:|---:|"]
        for name, rate in r["gflops"].items():
            lines.append(f"| {name} | {_fmt(rate, 0)} | {_fmt(r['percent_of_gemm_peak'][name], 0)}"
                         f" % |")
        lines.append("")
    if "memory" in suites:
        r = suites["memory"]
        lines += [f"{r['title']} (batch {r['batch']}), resident memory above the baseline:", "",
                  "| contender | step peak MB | NumPy allocations peak MB |", "|---|---:|---:|"]
        for name, m in r["contenders"].items():
            lines.append(f"| {name} | {_fmt(m.get('step_peak_mb'), 0)} "
                         f"| {_fmt(m.get('numpy_step_peak_mb'), 0)} |")
        for name, value in r.get("ratio", {}).items():
            lines.append(f"\nlemmata / {name[3:].replace('_', ' ')}: {value:.2f}×")
        lines.append("")
    m = results["machine"]
    loads = [results.get("load_average_at_start")] + [r.get("load_average")
                                                       for r in suites.values()]
    loads = [f"{v:.1f}" for v in loads if v is not None]
    lines.append(f"Measured {results['date']} on {m.get('cpus')} CPUs, NumPy {m.get('numpy')}"
                 + (f", torch {m['torch']} ({m['torch_threads']} threads)" if "torch" in m else "")
                 + "; medians over alternating rounds in one process"
                 + (f"; 1-minute load average {' → '.join(loads)}" if loads else "") + ".")
    if not results["torch_available"]:
        lines.append("\nPyTorch is not installed: lemmata alone was timed, no ratios.")
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], directory: Path = HERE) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "results.json", directory / "results.md"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(results))
    return json_path, md_path


def parse_suites(names: Sequence[str] | None) -> list[str]:
    """The suites to run in their canonical order; a KeyError names an unknown one."""
    if not names:
        return list(SUITES)
    for name in names:
        if name not in SUITES:
            raise KeyError(name)
    return [name for name in SUITES if name in names]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", nargs="+", metavar="NAME",
                        help=f"suites to run (default all): {', '.join(SUITES)}")
    parser.add_argument("--rounds", type=int, help="alternating rounds per suite "
                                                   "(default 9, --quick 3)")
    parser.add_argument("--batch", type=int, help="batch size (default 128)")
    parser.add_argument("--quick", action="store_true", help="3 rounds per suite")
    parser.add_argument("--serial", action="store_true",
                        help="also time lemmata's plain serial step (one thread, multi-threaded "
                             "BLAS) as a reference")
    parser.add_argument("--output", type=Path, default=HERE,
                        help="directory for results.json and results.md (default benchmarks/)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return execute(args)


def execute(args: argparse.Namespace, report: Callable[[str], None] = print) -> int:
    """Run what ``args`` asks for; 2 (and the list of suites) for an unknown suite."""
    try:
        suites = parse_suites(args.suite)
    except KeyError as error:
        print(f"unknown suite {error.args[0]!r}; the suites are:", file=sys.stderr)
        for name, description in SUITES.items():
            print(f"  {name:8s} {description}", file=sys.stderr)
        return 2
    if args.rounds is not None and args.rounds < 1 or args.batch is not None and args.batch < 2:
        print("--rounds must be ≥ 1 and --batch ≥ 2", file=sys.stderr)
        return 2
    rounds = args.rounds or (3 if args.quick else 9)
    results = run(suites, rounds, args.batch, args.quick, report, getattr(args, "serial", False))
    json_path, md_path = write(results, Path(args.output))
    report(markdown(results))
    report(f"wrote {json_path} and {md_path}")
    return 0
