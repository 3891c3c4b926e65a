"""The conv suite: conv2d on representative shapes, forward and forward+backward, in GFLOP/s, as
a share of the measured GEMM peak and against PyTorch.

A convolution done as im2col + GEMM can at best run at the speed of its GEMM, so its GFLOP/s as a
share of the measured NumPy float32 GEMM peak (same process, same threads) says how much the
copying around the GEMM costs.  Rates count direct-convolution FLOPs, 2 per multiply-accumulate
(MAC) of the textbook loop: forward 2·MACs; forward+backward 6·MACs (the input and the weight
gradient cost one forward each), or 4·MACs where the input needs no gradient (a network's first
layer, whose input is the images).  A route that does fewer FLOPs (Fourier, Winograd) may
therefore exceed 100 %.

Forward+backward is one forward with grad recording and the input and weight gradients of the
loss Σ y·probe (probe: a fixed random tensor of the output's shape), taken as
``lemmata.autograd.grad(y, [x, w], grad_outputs=probe)``, the gradient of that loss without
timing its elementwise product and sum, and the same with ``torch.autograd.grad``.

lemmata's input (and probe) is an NCHW view of channels-last memory, as inside a network (every
conv output is one); PyTorch's is NCHW ("torch") or channels_last ("torch channels_last"), with
the weight in the same memory format.  All shapes run at 32×32 and at the batch given (default
128; no shape needs a smaller one: the most expensive, 3×3 64→64, is about 29 GFLOP forward and
backward at 128).  The first case, 3×3 64→64 forward, keeps the suite's historical result keys at
the top level of the result (``gflops``, ``percent_of_gemm_peak``, ``ratio`` ...).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import lemmata

from .timing import alternate, calibrated_repeat, median, torch_layouts, torch_ratios

SIZE = 32


@dataclass(frozen=True)
class ConvShape:
    label: str
    c_in: int
    c_out: int
    kernel: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    input_grad: bool = True        # False: a first layer, whose input needs no gradient

    def output_size(self) -> int:
        return (SIZE + 2 * self.padding - self.kernel) // self.stride + 1

    def macs(self, batch: int) -> int:
        return (batch * self.output_size() ** 2 * self.c_out * (self.c_in // self.groups)
                * self.kernel ** 2)

    def keywords(self) -> dict[str, int]:
        return dict(stride=self.stride, padding=self.padding, groups=self.groups)


SHAPES = (
    ConvShape("3×3 64→64", 64, 64, 3, padding=1),
    ConvShape("5×5 3→192 (NiN's first)", 3, 192, 5, padding=2, input_grad=False),
    ConvShape("1×1 192→160", 192, 160, 1),
    ConvShape("3×3 stride 2 64→128", 64, 128, 3, stride=2, padding=1),
    ConvShape("3×3 64→64 groups 8", 64, 64, 3, padding=1, groups=8),
)
PASSES = ("forward", "forward+backward")
#: ``lemmata bench --suite quick`` runs this case only
FIRST = (SHAPES[0], "forward")


def flop_rule(shape: ConvShape, pass_: str) -> str:
    if pass_ == "forward":
        return "2·MACs"
    return "6·MACs" if shape.input_grad else "4·MACs (no input gradient)"


def gflop(shape: ConvShape, pass_: str, batch: int) -> float:
    factor = 2 if pass_ == "forward" else 6 if shape.input_grad else 4
    return factor * shape.macs(batch) / 1e9


def _contenders(shape: ConvShape, pass_: str, batch: int,
                torch_available: bool) -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, SIZE, SIZE, shape.c_in), dtype=np.float32)
    weight = rng.standard_normal((shape.c_out, shape.c_in // shape.groups, shape.kernel,
                                  shape.kernel), dtype=np.float32) / np.sqrt(
        shape.c_in // shape.groups * shape.kernel ** 2, dtype=np.float32)
    out = shape.output_size()
    probe = rng.standard_normal((batch, out, out, shape.c_out), dtype=np.float32)
    backward = pass_ != "forward"
    x = lemmata.tensor(np.moveaxis(images, -1, 1),       # NCHW view of channels-last memory
                       requires_grad=backward and shape.input_grad)
    w = lemmata.tensor(weight, requires_grad=backward)
    g = lemmata.tensor(np.moveaxis(probe, -1, 1))
    keywords = shape.keywords()

    if backward:
        wanted = [x, w] if shape.input_grad else [w]

        def ours() -> Any:
            y = lemmata.conv2d(x, w, **keywords)
            return lemmata.autograd.grad(y, wanted, grad_outputs=g)
    else:
        def ours() -> Any:
            with lemmata.no_grad():
                return lemmata.conv2d(x, w, **keywords)

    contenders: dict[str, Callable[[], Any]] = {"lemmata": ours}
    if torch_available:
        import torch
        import torch.nn.functional as F
        for name, memory_format, tx, tg in torch_layouts(images, probe):
            tw = torch.from_numpy(weight).contiguous(memory_format=memory_format)
            if backward:
                tx.requires_grad_(shape.input_grad)
                tw.requires_grad_(True)
                twanted = [tx, tw] if shape.input_grad else [tw]

                def theirs(tx=tx, tw=tw, tg=tg, twanted=twanted) -> Any:
                    y = F.conv2d(tx, tw, **keywords)
                    return torch.autograd.grad(y, twanted, grad_outputs=tg)
            else:
                def theirs(tx=tx, tw=tw) -> Any:
                    with torch.no_grad():
                        return F.conv2d(tx, tw, **keywords)

            contenders[name] = theirs
    return contenders


def run_case(shape: ConvShape, pass_: str, batch: int, rounds: int,
             torch_available: bool) -> dict[str, Any]:
    """One shape and pass: median seconds of each contender over alternating rounds."""
    contenders = _contenders(shape, pass_, batch, torch_available)
    repeat = calibrated_repeat(contenders)
    seconds = alternate(contenders, rounds, repeat=repeat)
    work = gflop(shape, pass_, batch)
    rates = {name: work / median(s) for name, s in seconds.items()}
    case: dict[str, Any] = {
        "shape": shape.label, "pass": pass_, "batch": batch, "kernel": shape.kernel,
        "c_in": shape.c_in, "c_out": shape.c_out, **shape.keywords(), "size": SIZE,
        "input_grad": shape.input_grad if pass_ != "forward" else False,
        "flops": flop_rule(shape, pass_), "gflop": work, "repeat": repeat, "gflops": rates,
        "img_per_s": {name: batch / median(s) for name, s in seconds.items()},
        "samples_s": {name: [round(v, 6) for v in s] for name, s in seconds.items()},
    }
    if torch_available:
        case["ratio"] = torch_ratios(seconds)
    return case


def run_conv(batch: int, rounds: int, torch_available: bool, peak: Callable[[], float],
             cases: tuple[tuple[ConvShape, str], ...] | None = None) -> dict[str, Any]:
    """Every shape × pass (or only ``cases``), then the GEMM peak that the shares divide by."""
    if cases is None:
        cases = tuple((shape, pass_) for shape in SHAPES for pass_ in PASSES)
    results = [run_case(shape, pass_, batch, rounds, torch_available) for shape, pass_ in cases]
    best = peak()
    for case in results:
        case["percent_of_gemm_peak"] = {name: 100 * r / best for name, r in case["gflops"].items()}
    first = results[0]
    result = {
        "workload": "conv", "title": f"conv2d {first['shape']}, {SIZE}×{SIZE}, {first['pass']}",
        "batch": batch, "rounds": rounds, "gflop": first["gflop"], "gemm_peak_gflops": best,
        "gflops": first["gflops"], "percent_of_gemm_peak": first["percent_of_gemm_peak"],
        "img_per_s": first["img_per_s"], "samples_s": first["samples_s"],
        "cases": results,
    }
    if "ratio" in first:
        result["ratio"] = first["ratio"]
    return result


def table(result: dict[str, Any]) -> list[str]:
    """The suite's markdown: the historical table of the first case, then one row per case."""
    from .runner import fmt, ratio_cells
    r = result
    lines = [f"{r['title']}, batch {r['batch']} ({fmt(r['gflop'], 2)} GFLOP); "
             f"measured GEMM peak {fmt(r['gemm_peak_gflops'], 0)} GFLOP/s:", "",
             "| contender | GFLOP/s | % of GEMM peak |", "|---|---:|---:|"]
    for name, rate in r["gflops"].items():
        lines.append(f"| {name} | {fmt(rate, 0)} | {fmt(r['percent_of_gemm_peak'][name], 0)} % |")
    lines.append("")
    if len(r["cases"]) > 1:
        lines += [f"conv2d at {SIZE}×{SIZE}, batch {r['batch']}: GFLOP/s of direct-convolution "
                  "FLOPs (forward 2·MACs; forward+backward 6·MACs, 4·MACs without the input "
                  "gradient) and lemmata's share of the measured GEMM peak; ratios > 1: lemmata "
                  "faster:", "",
                  "| shape | pass | FLOPs | GFLOP | lemmata GFLOP/s | % of peak | torch GFLOP/s "
                  "| torch channels_last GFLOP/s | vs torch | vs channels_last |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for c in r["cases"]:
            rates, ratio = c["gflops"], c.get("ratio", {})
            lines.append(
                f"| {c['shape']} | {c['pass']} | {c['flops']} | {fmt(c['gflop'], 2)} "
                f"| {fmt(rates['lemmata'], 1)} | {fmt(c['percent_of_gemm_peak']['lemmata'], 0)} % "
                f"| {fmt(rates.get('torch'), 1)} | {fmt(rates.get('torch channels_last'), 1)} "
                + ratio_cells(ratio))
        lines.append("")
    return lines
