"""Timing helpers shared by the suites: alternating contenders, medians, BLAS thread limits, the
GEMM peak and FLOP counts."""
from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any, Callable, Iterator

import numpy as np

#: pause before each timed sample so that the other framework's idle threads stop spinning:
#: after a product on two threads, OpenBLAS's worker spun for 105 ms (CPU time measured over a
#: 200 ms sleep), so the 50 ms pause used before let it take a core from whatever ran next
PAUSE_SECONDS = 0.15


def alternate(contenders: dict[str, Callable[[], None]], rounds: int, repeat: int = 1,
              faults: dict[str, float] | None = None) -> dict[str, list[float]]:
    """Seconds per call of each contender: one sample (``repeat`` calls) per round, the order
    rotating from round to round so that no contender always follows the same neighbour.
    ``faults``, when given a dict and the platform counts them, gets each contender's minor page
    faults per call in this process over the timed calls (see :func:`minor_page_faults`)."""
    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    faulted = {name: 0 for name in names}
    counting = minor_page_faults() is not None
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(PAUSE_SECONDS)
            before = minor_page_faults() if counting else 0
            start = time.perf_counter()
            for _ in range(repeat):
                contenders[name]()
            seconds[name].append((time.perf_counter() - start) / repeat)
            if counting:
                faulted[name] += minor_page_faults() - before
    if faults is not None and counting and rounds:
        faults.update({name: count / (rounds * repeat) for name, count in faulted.items()})
    return seconds


def minor_page_faults() -> int | None:
    """This process's minor page faults so far (``getrusage``), None where the platform has no
    such count.  A step that faults is a step whose memory the allocator keeps handing back to
    the system and taking again: PyTorch's LeNet-5 step in a fresh process faulted 2,300–3,200
    times a step and took 12–15 ms, none and 8–10 ms once larger models had run in the process
    (glibc then keeps the freed memory), so the count says which of the two was timed."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def calibrated_repeat(contenders: dict[str, Callable[[], None]], target_s: float = 0.1,
                      most: int = 64) -> int:
    """Warm every contender up (two calls: buffers, first-touch memory) and return how many calls
    make one sample of the fastest last about ``target_s`` (1 to ``most``)."""
    fastest = float("inf")
    for fn in contenders.values():
        fn()
        start = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - start)
    return max(1, min(most, int(target_s / max(fastest, 1e-9) + 0.5)))


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def ratio_of_medians(seconds: dict[str, list[float]], ours: str, theirs: str) -> float:
    """How many times faster ``ours`` is than ``theirs`` (ratio of median times)."""
    return median(seconds[theirs]) / median(seconds[ours])


def round_ratio_quartiles(seconds: dict[str, list[float]], ours: str,
                          theirs: str) -> tuple[float, float]:
    """The lower and upper quartiles of the per-round ratios (``theirs`` / ``ours`` time, above 1
    when ``ours`` is faster).  Rounds alternate, so a round's two samples ran close together in
    time: the spread says how far the machine's drift moves a ratio that the medians report as
    one number."""
    ratios = sorted(t / o for o, t in zip(seconds[ours], seconds[theirs]))
    if len(ratios) < 2:
        return ratios[0], ratios[0]
    low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
    return low, high


def torch_layouts(images: np.ndarray, probe: np.ndarray) -> Iterator[tuple[str, Any, Any, Any]]:
    """For each PyTorch contender ("torch", "torch channels_last"): its name, its memory format,
    and the channels-last ``images`` and ``probe`` as NCHW tensors in that format."""
    import torch
    nchw = np.ascontiguousarray(np.moveaxis(images, -1, 1))
    probe_nchw = np.ascontiguousarray(np.moveaxis(probe, -1, 1))
    for name, memory_format in (("torch", torch.contiguous_format),
                                ("torch channels_last", torch.channels_last)):
        yield (name, memory_format, torch.from_numpy(nchw).contiguous(memory_format=memory_format),
               torch.from_numpy(probe_nchw).contiguous(memory_format=memory_format))


def torch_ratios(seconds: dict[str, list[float]], ours: str = "lemmata") -> dict[str, float]:
    """``vs_torch`` and ``vs_torch_channels_last``: how many times faster ``ours`` is than each
    PyTorch contender that was timed (ratio of medians; above 1 means lemmata is faster)."""
    return {f"vs_{name.replace(' ', '_')}": ratio_of_medians(seconds, ours, name)
            for name in ("torch", "torch channels_last") if name in seconds}


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Within the block, BLAS (NumPy's OpenBLAS or MKL) uses at most ``threads`` threads
    (threadpoolctl's ``threadpool_limits``); ``None``, or no threadpoolctl, leaves it alone.
    One thread goes through lemmata's own ``single_threaded_blas``, so that the ops know it
    (they shape their products for one core and split no work over the cores)."""
    if threads is None:
        yield
        return
    if threads == 1:
        from lemmata.ops.threads import single_threaded_blas
        with single_threaded_blas():
            yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a lemmata dependency
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def gemm_peak(size: int = 4096, repeats: int = 5, threads: int | None = None) -> float:
    """The best NumPy float32 GEMM rate (GFLOP/s) of ``repeats`` size³ products, with BLAS on
    ``threads`` threads (default: as it is): the ceiling that the rooflines use."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), dtype=np.float32)
    with blas_threads(threads):
        np.matmul(a, b, out=out)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


class Peak:
    """The GEMM peak of one benchmark run, measured once when first asked for (``peak()``), so
    that every suite's "% of peak" and roofline divide by the same number."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self.gflops: float | None = None

    def __call__(self) -> float:
        if self.gflops is None:
            self.gflops = gemm_peak(threads=self.threads)
        return self.gflops


def training_gflop_per_image(model, input_shape: tuple[int, ...]) -> float:
    """GFLOP of one training step per image, counting the convolutions and linear maps: forward
    2·MACs, backward 2·MACs for the weight gradient and 2·MACs for the input gradient (except at
    the first layer, whose input needs none)."""
    import lemmata
    from lemmata import nn

    macs: list[int] = []

    def count(module, inputs, output):
        if isinstance(module, nn.Linear):
            macs.append(output.numel() * module.in_features)
        else:
            per_output = int(np.prod(module.weight.shape[1:]))
            macs.append(output.numel() * per_output)

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))]
    try:
        with lemmata.no_grad():
            model(lemmata.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return (6 * sum(macs) - 2 * macs[0]) / 1e9
