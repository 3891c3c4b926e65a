"""The conv suite: conv2d 3×3, 64→64 channels, padding 1, forward only, against the GEMM peak.

A convolution done as im2col + GEMM can at best run at the speed of its GEMM, so its GFLOP/s as a
share of the measured NumPy float32 GEMM peak (same process, same threads) says how much the
copying around the GEMM costs.  lemmata's input is an NCHW view of channels-last memory, as
inside a network (every conv output is one); PyTorch's is NCHW or channels_last.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import lemmata

from .timing import alternate, gemm_peak, median

CHANNELS, SIZE, KERNEL = 64, 32, 3


def run_conv(batch: int, rounds: int, torch_available: bool) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, SIZE, SIZE, CHANNELS), dtype=np.float32)
    weight = rng.standard_normal((CHANNELS, CHANNELS, KERNEL, KERNEL), dtype=np.float32)
    x = lemmata.tensor(np.moveaxis(images, -1, 1))        # NCHW view of channels-last memory
    w = lemmata.tensor(weight)

    def ours() -> None:
        with lemmata.no_grad():
            lemmata.conv2d(x, w, padding=1)

    contenders = {"lemmata": ours}
    if torch_available:
        import torch
        import torch.nn.functional as F
        for name, memory_format in (("torch", torch.contiguous_format),
                                    ("torch channels_last", torch.channels_last)):
            tx = torch.from_numpy(np.ascontiguousarray(np.moveaxis(images, -1, 1))).contiguous(
                memory_format=memory_format)
            tw = torch.from_numpy(weight).contiguous(memory_format=memory_format)

            def theirs(tx=tx, tw=tw) -> None:
                with torch.no_grad():
                    F.conv2d(tx, tw, padding=1)

            contenders[name] = theirs
    for fn in contenders.values():
        fn()
    repeat = max(1, 256 // batch)
    seconds = alternate(contenders, rounds, repeat=repeat)
    peak = gemm_peak()
    gflop = 2 * batch * SIZE * SIZE * CHANNELS * CHANNELS * KERNEL * KERNEL / 1e9
    rates = {name: gflop / median(s) for name, s in seconds.items()}
    result = {
        "workload": "conv", "title": "conv2d 3×3 64→64, 32×32, forward", "batch": batch,
        "rounds": rounds, "gflop": gflop, "gemm_peak_gflops": peak,
        "gflops": rates,
        "percent_of_gemm_peak": {name: 100 * r / peak for name, r in rates.items()},
        "img_per_s": {name: batch / median(s) for name, s in seconds.items()},
        "samples_s": {name: [round(v, 6) for v in s] for name, s in seconds.items()},
    }
    if torch_available:
        result["ratio"] = {"vs_torch": median(seconds["torch"]) / median(seconds["lemmata"]),
                           "vs_torch_channels_last": median(seconds["torch channels_last"])
                           / median(seconds["lemmata"])}
    return result
