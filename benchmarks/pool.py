"""The pool suite: max and average pooling, forward and forward+backward, against PyTorch.

Three cases: max_pool2d 3×3 stride 2 ceil_mode on 96×32×32 (NiN's), max_pool2d 2×2 on 64×32×32
(VGG-style Net's) and avg_pool2d 2×2 on 64×32×32, at the batch given (default 128).  Pooling is
bound by memory traffic, so besides img/s the suite gives a nominal bandwidth: the bytes of the
input and output read or written once each (forward: x and y; forward+backward additionally the
output gradient read and the input gradient written, i.e. twice the forward's), divided by the
time.  Real traffic is higher (argmax masks, padding, temporaries); the number compares the two
frameworks on the same yardstick.

Forward+backward takes the input gradient of Σ y·probe (probe: a fixed random tensor of y's
shape) as ``lemmata.autograd.grad(y, x, grad_outputs=probe)``, and the same with
``torch.autograd.grad``.  lemmata's input is an NCHW view of channels-last memory, as inside a
network; PyTorch's is NCHW ("torch") or channels_last ("torch channels_last").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import lemmata
import lemmata.nn.functional as LF

from .timing import alternate, calibrated_repeat, median, torch_layouts, torch_ratios

SIZE = 32


@dataclass(frozen=True)
class PoolCase:
    label: str
    op: str                        # "max_pool2d" or "avg_pool2d", in both frameworks' functional
    channels: int
    keywords: dict[str, Any] = field(default_factory=dict)


CASES = (
    PoolCase("max_pool2d 3×3 stride 2 ceil_mode (NiN's)", "max_pool2d", 96,
             dict(kernel_size=3, stride=2, ceil_mode=True)),
    PoolCase("max_pool2d 2×2", "max_pool2d", 64, dict(kernel_size=2, stride=2)),
    PoolCase("avg_pool2d 2×2", "avg_pool2d", 64, dict(kernel_size=2, stride=2)),
)
PASSES = ("forward", "forward+backward")


def _contenders(case: PoolCase, pass_: str, batch: int,
                torch_available: bool) -> tuple[dict[str, Callable[[], Any]], tuple[int, ...]]:
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, SIZE, SIZE, case.channels), dtype=np.float32)
    backward = pass_ != "forward"
    pool = getattr(LF, case.op)
    x = lemmata.tensor(np.moveaxis(images, -1, 1), requires_grad=backward)
    with lemmata.no_grad():
        out_shape = tuple(pool(x, **case.keywords).shape)
    probe = rng.standard_normal((out_shape[0],) + out_shape[2:] + (out_shape[1],),
                                dtype=np.float32)
    g = lemmata.tensor(np.moveaxis(probe, -1, 1))

    if backward:
        def ours() -> Any:
            return lemmata.autograd.grad(pool(x, **case.keywords), x, grad_outputs=g)
    else:
        def ours() -> Any:
            with lemmata.no_grad():
                return pool(x, **case.keywords)

    contenders: dict[str, Callable[[], Any]] = {"lemmata": ours}
    if torch_available:
        import torch
        import torch.nn.functional as F
        their_pool = getattr(F, case.op)
        for name, _, tx, tg in torch_layouts(images, probe):
            if backward:
                tx.requires_grad_(True)

                def theirs(tx=tx, tg=tg) -> Any:
                    return torch.autograd.grad(their_pool(tx, **case.keywords), tx,
                                               grad_outputs=tg)
            else:
                def theirs(tx=tx) -> Any:
                    with torch.no_grad():
                        return their_pool(tx, **case.keywords)

            contenders[name] = theirs
    return contenders, out_shape


def run_case(case: PoolCase, pass_: str, batch: int, rounds: int,
             torch_available: bool) -> dict[str, Any]:
    contenders, out_shape = _contenders(case, pass_, batch, torch_available)
    repeat = calibrated_repeat(contenders)
    seconds = alternate(contenders, rounds, repeat=repeat)
    in_shape = (batch, case.channels, SIZE, SIZE)
    nbytes = 4 * (int(np.prod(in_shape)) + int(np.prod(out_shape)))
    nbytes *= 1 if pass_ == "forward" else 2
    result: dict[str, Any] = {
        "case": case.label, "op": case.op, "pass": pass_, "batch": batch,
        "input": list(in_shape), "output": list(out_shape), "keywords": case.keywords,
        "nominal_bytes": nbytes, "repeat": repeat,
        "img_per_s": {name: batch / median(s) for name, s in seconds.items()},
        "gb_per_s": {name: nbytes / median(s) / 1e9 for name, s in seconds.items()},
        "samples_s": {name: [round(v, 6) for v in s] for name, s in seconds.items()},
    }
    if torch_available:
        result["ratio"] = torch_ratios(seconds)
    return result


def run_pool(batch: int, rounds: int, torch_available: bool) -> dict[str, Any]:
    """Every case × pass."""
    return {"workload": "pool", "title": "pooling, forward and forward+backward", "batch": batch,
            "rounds": rounds,
            "cases": [run_case(case, pass_, batch, rounds, torch_available)
                      for case in CASES for pass_ in PASSES]}


def table(result: dict[str, Any]) -> list[str]:
    """The suite's markdown lines."""
    from .runner import fmt, ratio_cells
    lines = [f"Pooling at {SIZE}×{SIZE}, batch {result['batch']}; GB/s: input and output bytes "
             "(doubled for forward+backward) over the time; ratios > 1: lemmata faster:", "",
             "| op | input | pass | lemmata img/s | lemmata GB/s | torch img/s "
             "| torch channels_last img/s | vs torch | vs channels_last |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for c in result["cases"]:
        rates, ratio = c["img_per_s"], c.get("ratio", {})
        lines.append(
            f"| {c['case']} | {'×'.join(map(str, c['input'][1:]))} | {c['pass']} "
            f"| {fmt(rates['lemmata'])} | {fmt(c['gb_per_s']['lemmata'], 2)} "
            f"| {fmt(rates.get('torch'))} | {fmt(rates.get('torch channels_last'))} "
            + ratio_cells(ratio))
    return lines + [""]
