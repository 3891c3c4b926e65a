"""The ``lemmata`` command.

    lemmata claims [--json] [--only ID ...] [--explain ID]   run the claims catalogue
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
