"""The gemm suite: float32 matrix products, NumPy (which lemmata's convolutions and linear layers
call) against ``torch.mm``, in GFLOP/s (2·M·K·N per product) and as a share of the GEMM peak.

Three products: 4096³, the square GEMM whose best NumPy rate is the roofline peak that the other
suites divide by, and two convolution-shaped ones as lemmata runs them on channels-last data: the
im2col GEMM of conv2d 3×3 64→64 at 32×32, (B·1024, 576)@(576, 64), and the GEMM of a 1×1
192→160 convolution at 16×16, (B·256, 192)@(192, 160), with B the batch (default 128).  Both
sides write into a preallocated output (``out=``), alternate round by round, and run BLAS on
``--threads`` threads.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .timing import alternate, calibrated_repeat, median

#: (label, M, K, N): a function of the batch B
PRODUCTS: tuple[tuple[str, Callable[[int], tuple[int, int, int]]], ...] = (
    ("4096³ (the peak)", lambda b: (4096, 4096, 4096)),
    ("conv 3×3 64→64, 32×32", lambda b: (b * 1024, 576, 64)),
    ("conv 1×1 192→160, 16×16", lambda b: (b * 256, 192, 160)),
)


def run_gemm(batch: int, rounds: int, torch_available: bool, peak: Callable[[], float],
             shapes: tuple[tuple[str, Callable[[int], tuple[int, int, int]]], ...] = PRODUCTS
             ) -> dict[str, Any]:
    """Median GFLOP/s of NumPy and torch.mm on each product (``shapes``: label and (M, K, N) as
    a function of the batch), and % of the run's GEMM peak."""
    rng = np.random.default_rng(0)
    products = []
    for label, dims in shapes:
        m, k, n = dims(batch)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        out = np.empty((m, n), dtype=np.float32)
        contenders: dict[str, Callable[[], None]] = {
            "numpy": lambda a=a, b=b, out=out: np.matmul(a, b, out=out)}
        if torch_available:
            import torch
            ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.empty(m, n)
            contenders["torch"] = lambda ta=ta, tb=tb, tout=tout: torch.mm(ta, tb, out=tout)
        repeat = calibrated_repeat(contenders, target_s=0.2)
        seconds = alternate(contenders, rounds, repeat=repeat)
        gflop = 2 * m * k * n / 1e9
        rates = {name: gflop / median(s) for name, s in seconds.items()}
        product: dict[str, Any] = {
            "label": label, "m": m, "k": k, "n": n, "gflop": gflop, "repeat": repeat,
            "gflops": rates,
            "samples_s": {name: [round(v, 6) for v in s] for name, s in seconds.items()},
        }
        if torch_available:
            product["ratio"] = {"vs_torch": median(seconds["torch"]) / median(seconds["numpy"])}
        products.append(product)
        del contenders
    best = peak()
    for product in products:
        product["percent_of_gemm_peak"] = {name: 100 * r / best
                                           for name, r in product["gflops"].items()}
    return {"workload": "gemm", "title": "float32 GEMM, NumPy against torch.mm", "batch": batch,
            "rounds": rounds, "gemm_peak_gflops": best, "products": products}


def table(result: dict[str, Any]) -> list[str]:
    """The suite's markdown lines."""
    from .runner import fmt
    lines = [f"{result['title']} (batch {result['batch']} in the conv-shaped products); GEMM "
             f"peak {fmt(result['gemm_peak_gflops'], 0)} GFLOP/s (NumPy 4096³, best of 5 run "
             "alone; the rows are medians of rounds alternating with torch):", "",
             "| product | (M×K)@(K×N) | GFLOP | NumPy GFLOP/s | % of peak | torch GFLOP/s "
             "| % of peak | NumPy vs torch |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for p in result["products"]:
        rates, percent = p["gflops"], p["percent_of_gemm_peak"]
        lines.append(
            f"| {p['label']} | ({p['m']}×{p['k']})@({p['k']}×{p['n']}) | {fmt(p['gflop'], 2)} "
            f"| {fmt(rates['numpy'], 0)} | {fmt(percent['numpy'], 0)} % "
            f"| {fmt(rates.get('torch'), 0)} | {fmt(percent.get('torch'), 0)} % "
            f"| {fmt(p.get('ratio', {}).get('vs_torch'), 2)}× |")
    return lines + [""]
