"""The ``lemmata`` command.

    lemmata claims [--json] [--only ID ...] [--explain ID]   run the claims catalogue
    lemmata train [--model M] [--dataset D] [--epochs N] ... [--out DIR] [--resume]   train
    lemmata experiment NAME [--set K=V ...] [--seeds N] [--out DIR]   run an experiment
    lemmata sweep NAME --grid K=V1,V2 [--seeds N] [--ray-address ADDR]   sweep it (on Ray)
    lemmata bench [--suite quick|full|NAME ...] [--threads N] [--json PATH]   speed vs PyTorch
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from rich.console import Console
from rich.table import Table


class _Parser(argparse.ArgumentParser):
    """Usage errors: one line on stderr and exit status 2, no traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"lemmata: error: {message}\n")


def _jsonable(value):
    import numpy as np
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, complex):
        return {"real": value.real, "imag": value.imag}
    return value


def cmd_claims(args: argparse.Namespace) -> int:
    from . import claims
    console = Console()
    if args.explain:
        try:
            c = claims.get(args.explain)
        except KeyError as error:
            print(f"lemmata: error: {error.args[0]}", file=sys.stderr)
            return 2
        result = claims.run(c)
        console.print(f"[bold]{c.id}[/bold] {c.title}")
        if result.evidence is not None:
            console.print(result.evidence.explanation or "(no explanation)")
            console.print({"measured": _jsonable(result.evidence.measured),
                           "expected": _jsonable(result.evidence.expected)})
        console.print(f"holds: {result.holds}" + (f" ({result.error})" if result.error else ""))
        return 0 if result.holds else 1
    selected = claims.registered()
    if args.only:
        try:
            selected = [claims.get(i) for i in args.only]
        except KeyError as error:
            print(f"lemmata: error: {error.args[0]}", file=sys.stderr)
            return 2
    results = [claims.run(c) for c in selected]
    total = len(claims.CLAIM_IDS)
    summary = (f"{len(claims.registered())} of {total} claims registered; "
               f"{sum(r.holds for r in results)} of {len(results)} run hold")
    if args.json:
        print(json.dumps({
            "registered": len(claims.registered()), "total": total,
            "claims": [{"id": r.claim.id, "title": r.claim.title, "holds": r.holds,
                        "seconds": round(r.seconds, 4), "error": r.error,
                        "measured": _jsonable(r.evidence.measured) if r.evidence else None,
                        "expected": _jsonable(r.evidence.expected) if r.evidence else None}
                       for r in results]}, indent=2))
    else:
        table = Table(title="lemmata claims")
        for column in ("id", "claim", "holds", "s"):
            table.add_column(column)
        for r in results:
            mark = "[green]yes[/green]" if r.holds else f"[red]no[/red] {r.error or ''}"
            table.add_row(r.claim.id, r.claim.title, mark, f"{r.seconds:.2f}")
        if results:
            console.print(table)
        console.print(summary)
    return 0 if all(r.holds for r in results) else 1


def cmd_train(args: argparse.Namespace) -> int:
    from .training.command import run
    return run(args)


def cmd_experiment(args: argparse.Namespace) -> int:
    from .experiments.command import experiment_command
    return experiment_command(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from .experiments.command import sweep_command
    return sweep_command(args)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the repository's benchmarks/ suites (the PyTorch side lives there, not here)."""
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "runner.py").is_file():
        print("lemmata: error: bench runs the benchmarks/ folder of a lemmata source checkout, "
              f"and none was found next to the package ({root})", file=sys.stderr)
        return 2
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from benchmarks import runner
    if args.output is None:
        args.output = root / "benchmarks"
    return runner.execute(args)


_BENCH_SUITES = """\
groups:
  quick     nin, net, lenet5, conv 3×3 64→64 forward only, overhead, memory; 3 rounds
  full      every suite (the default)
suites:
  nin       NiN (seed 000) training step, img/s, and its share of the GEMM roofline
  net       Net (seed 002) training step, img/s
  lenet5    LeNet-5 training step, img/s
  gemm      float32 GEMM GFLOP/s, NumPy against torch.mm: 4096³ (the peak) and two conv GEMMs
  conv      conv2d on five shapes, forward and forward+backward, GFLOP/s and % of GEMM peak
  pool      max/avg pooling, forward and forward+backward, img/s and GB/s
  overhead  where a serial training step's time goes: kernels, optimizer, engine overhead
  memory    peak memory of a NiN training step (subprocesses)

An unknown name, --threads below 1, --rounds below 1 or --batch below 2 exit with status 2."""


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = _Parser(prog="lemmata", description="Deep learning from first principles, and the "
                                                 "mathematics behind it, executable.")
    parser.add_argument("--version", action="version", version=f"lemmata {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = commands.add_parser("claims", help="run the claims catalogue and print the evidence")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--only", nargs="+", metavar="ID", help="run only these claim ids")
    p.add_argument("--explain", metavar="ID", help="run one claim and explain its evidence")
    p.set_defaults(run=cmd_claims)
    p = commands.add_parser("train", help="train a model on digits, MNIST, Fashion-MNIST or "
                                          "CIFAR-10, with checkpoints and exact --resume")
    from .training.command import add_arguments as add_train_arguments
    add_train_arguments(p)
    p.set_defaults(run=cmd_train)
    p = commands.add_parser("experiment", help="run an experiment (double_descent, "
                            "ema_bias_variance, init_statistics, weight_decay_vs_l2, symmetry): "
                            "summary table, result.json and figure.png")
    p.add_argument("name", metavar="NAME", help="the experiment")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value (repeatable; lists are comma-separated)")
    p.add_argument("--seeds", type=int, metavar="N", help="independent repetitions "
                   "(default: the experiment's own)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/NAME)")
    p.add_argument("--figure", metavar="PNG", help="also copy the figure to this path")
    p.set_defaults(run=cmd_experiment)
    p = commands.add_parser("sweep", help="run an experiment over a grid of config values, in "
                            "parallel on Ray when it is installed")
    p.add_argument("name", metavar="NAME", help="the experiment")
    p.add_argument("--grid", action="append", required=True, metavar="KEY=V1,V2,...",
                   help="values of one config key (repeatable: the Cartesian product is swept)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value for every grid point (repeatable)")
    p.add_argument("--seeds", type=int, metavar="N", help="repetitions per grid point")
    p.add_argument("--ray-address", metavar="ADDR", help="an existing Ray cluster (host:port, "
                   "ray://host:port or auto); default: a local instance")
    p.add_argument("--num-cpus", type=int, default=2, metavar="N",
                   help="workers of the local Ray instance (default 2)")
    p.add_argument("--sequential", action="store_true", help="run the grid without Ray")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/NAME-sweep)")
    p.add_argument("--figure", metavar="PNG", help="also copy the figure to this path")
    p.set_defaults(run=cmd_sweep)
    p = commands.add_parser(
        "bench", help="time lemmata against PyTorch (NCHW and channels_last): training steps, "
        "GEMM, convolutions, pooling, engine overhead, peak memory; writes "
        "benchmarks/results.json and results.md",
        description="Time lemmata against PyTorch's CPU build in one process (alternating\n"
        "rounds, medians) and write results.json and results.md (one markdown table per\n"
        "suite). Without PyTorch the suites time lemmata alone.",
        epilog=_BENCH_SUITES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", nargs="+", metavar="NAME",
                   help="groups or suites to run, several allowed (default: full): quick full | "
                        "nin net lenet5 gemm conv pool overhead memory")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads for both sides (default: one per CPU): torch.set_num_threads(N), "
                        "lemmata's DataParallelStep(threads=N), BLAS limited to N")
    p.add_argument("--rounds", type=int, metavar="N",
                   help="alternating rounds per suite (default 9; --quick or --suite quick: 3)")
    p.add_argument("--batch", type=int, metavar="B",
                   help="batch size (default 128; the overhead suite 64)")
    p.add_argument("--quick", action="store_true", help="3 rounds per suite")
    p.add_argument("--serial", action="store_true", help="also time lemmata's serial step "
                   "(one thread, BLAS on --threads threads) as a reference")
    p.add_argument("--output", metavar="DIR", help="where results.json and results.md go "
                   "(default benchmarks/)")
    p.add_argument("--json", metavar="PATH", help="also write the results JSON to PATH "
                   "(folders created)")
    p.set_defaults(run=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
