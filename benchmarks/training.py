"""Training-step suites: NiN (seed 000), Net (seed 002) and LeNet-5, lemmata against PyTorch.

One step is zero_grad + forward + cross-entropy + backward + SGD (momentum 0.9) on a fixed
random float32 batch, dropout on.  lemmata runs its documented fast path,
``lemmata.parallel.DataParallelStep`` with ``--threads`` shards (default: one per CPU), each
run with one BLAS thread, on threads or, where the workload says so (``backend``), in worker
processes; "lemmata, 1 thread" (``--serial``) is the plain serial
step (BLAS on ``--threads`` threads), for reference.  PyTorch, with
``torch.set_num_threads(--threads)``, runs its default NCHW model and the same model converted
to channels_last, from the same initial weights.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import lemmata
from lemmata import nn, optim
from lemmata.parallel import DataParallelStep

from .timing import (alternate, gemm_peak, median, round_ratio_quartiles,
                     training_gflop_per_image)

WORKLOADS: dict[str, dict[str, Any]] = {
    "nin": dict(title="NiN (seed 000), 3×32×32", model="NiN", shape=(3, 32, 32), repeat=1),
    "net": dict(title="Net (seed 002), 3×32×32", model="Net", shape=(3, 32, 32), repeat=1),
    "lenet5": dict(title="LeNet-5, 1×28×28", model="LeNet5", shape=(1, 28, 28), repeat=10,
                   backend="processes"),
}
#: a workload's ``backend`` is its DataParallelStep backend (default "threads").  LeNet-5's
#: shards are mostly Python, which threads run one at a time (its threaded step was slower than
#: the serial one: 6,300 against 9,500 img/s with processes, alternating in one run); NiN's and
#: Net's are NumPy and BLAS calls, which run concurrently on threads, and Net's threaded step
#: also takes its FC weight gradients as whole-batch products (see lemmata.parallel).

LEARNING_RATE, MOMENTUM = 0.01, 0.9


def _lemmata_contenders(workload: dict, images: np.ndarray, labels: np.ndarray,
                        threads: int) -> tuple[dict[str, Callable[[], None]], Any, list]:
    lemmata.manual_seed(0)
    model = getattr(lemmata.models, workload["model"])()
    x, y = lemmata.tensor(images), lemmata.tensor(labels)
    loss_fn = nn.CrossEntropyLoss()
    parallel_model = getattr(lemmata.models, workload["model"])()
    parallel_model.load_state_dict(model.state_dict())
    step = DataParallelStep(parallel_model, loss_fn,
                            optim.SGD(parallel_model.parameters(), lr=LEARNING_RATE,
                                      momentum=MOMENTUM), threads=threads,
                            backend=workload.get("backend", "threads"))
    serial_optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)

    def serial() -> None:
        serial_optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        serial_optimizer.step()

    return {"lemmata": lambda: step(x, y), "lemmata, 1 thread": serial}, model, [step]


def _torch_contenders(workload: dict, source_model: Any, images: np.ndarray,
                      labels: np.ndarray) -> dict[str, Callable[[], None]]:
    import torch

    from .torch_models import MODELS, copy_weights

    torch.manual_seed(0)
    y = torch.from_numpy(labels)
    contenders = {}
    for name, memory_format in (("torch", torch.contiguous_format),
                                ("torch channels_last", torch.channels_last)):
        model = copy_weights(source_model, MODELS[workload["key"]]()).to(
            memory_format=memory_format)
        x = torch.from_numpy(images).contiguous(memory_format=memory_format)
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step(model=model, x=x, optimizer=optimizer, loss_fn=loss_fn) -> None:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()

        contenders[name] = step
    return contenders


def run_training(key: str, batch: int, rounds: int, torch_available: bool,
                 threads: int = 2, serial: bool = False) -> dict[str, Any]:
    """Median img/s of each contender over ``rounds`` alternating rounds, and the ratios."""
    workload = dict(WORKLOADS[key], key=key)
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch,) + workload["shape"], dtype=np.float32)
    labels = rng.integers(0, 10, batch)
    contenders, source_model, keep_alive = _lemmata_contenders(workload, images, labels, threads)
    reference = {"lemmata, 1 thread": contenders.pop("lemmata, 1 thread")}
    if torch_available:
        contenders.update(_torch_contenders(workload, source_model, images, labels))
    for step in contenders.values():        # warm up: buffers, momentum, first-touch memory
        step()
        step()
    faults: dict[str, float] = {}
    seconds = alternate(contenders, rounds, repeat=workload["repeat"], faults=faults)
    if serial:
        # timed apart: two-thread BLAS keeps spinning after each call, which slowed whatever ran
        # next (PyTorch by a quarter) when this step took part in the alternation
        reference["lemmata, 1 thread"]()
        seconds.update(alternate(reference, max(1, rounds // 3), repeat=workload["repeat"]))
    result: dict[str, Any] = {
        "workload": key, "title": workload["title"], "batch": batch, "rounds": rounds,
        "threads": threads, "backend": workload.get("backend", "threads"),
        "img_per_s": {name: batch / median(s) for name, s in seconds.items()},
        "samples_s": {name: [round(v, 5) for v in s] for name, s in seconds.items()},
        "gflop_per_img": training_gflop_per_image(source_model, workload["shape"]),
        "page_faults_per_step": faults,
    }
    if torch_available:
        result["ratio"] = {
            "vs_torch": median(seconds["torch"]) / median(seconds["lemmata"]),
            "vs_torch_channels_last": (median(seconds["torch channels_last"])
                                       / median(seconds["lemmata"])),
        }
        result["ratio_quartiles"] = {
            "vs_torch": round_ratio_quartiles(seconds, "lemmata", "torch"),
            "vs_torch_channels_last": round_ratio_quartiles(seconds, "lemmata",
                                                            "torch channels_last"),
        }
    for step in keep_alive:
        step.close()
    return result


def add_roofline(result: dict[str, Any], peak_gflops: float | None = None) -> dict[str, Any]:
    """The img/s a step would reach if every FLOP ran at the measured GEMM peak, and lemmata's
    share of it."""
    peak = gemm_peak() if peak_gflops is None else peak_gflops
    ceiling = peak / result["gflop_per_img"]
    result["gemm_peak_gflops"] = peak
    result["roofline_img_per_s"] = ceiling
    result["percent_of_roofline"] = 100 * result["img_per_s"]["lemmata"] / ceiling
    return result


def table(results: list[dict[str, Any]]) -> list[str]:
    """The training suites' markdown: one table, one row per workload, then notes."""
    from .runner import fmt, ratio_cells
    lines = ["| workload | batch | lemmata img/s | torch img/s | torch channels_last img/s "
             "| vs torch | vs channels_last |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        rates, ratio = r["img_per_s"], r.get("ratio", {})
        lines.append(
            f"| {r['title']} | {r['batch']} | {fmt(rates['lemmata'])} "
            f"| {fmt(rates.get('torch'))} | {fmt(rates.get('torch channels_last'))} "
            + ratio_cells(ratio))
    lines.append("")
    for r in results:
        notes = []
        if r.get("backend", "threads") != "threads":
            notes.append(f"lemmata's data-parallel step on {r['backend']}")
        if "lemmata, 1 thread" in r["img_per_s"]:
            notes.append(f"serial step (one thread, multi-threaded BLAS) "
                         f"{fmt(r['img_per_s']['lemmata, 1 thread'])} img/s")
        if "roofline_img_per_s" in r:
            notes.append(f"{fmt(r['gflop_per_img'], 3)} GFLOP/img; GEMM peak "
                         f"{fmt(r['gemm_peak_gflops'], 0)} GFLOP/s → roofline "
                         f"{fmt(r['roofline_img_per_s'])} img/s; lemmata at "
                         f"{fmt(r['percent_of_roofline'], 0)} % of it")
        if r.get("page_faults_per_step"):
            notes.append("minor page faults a step in this process "
                         + ", ".join(f"{name} {fmt(count, 0)}"
                                     for name, count in r["page_faults_per_step"].items()))
        if "ratio_quartiles" in r:
            spread = r["ratio_quartiles"]
            notes.append("per-round ratios (quartiles) vs torch "
                         f"{fmt(spread['vs_torch'][0], 2)}–{fmt(spread['vs_torch'][1], 2)}×, "
                         "vs channels_last "
                         f"{fmt(spread['vs_torch_channels_last'][0], 2)}–"
                         f"{fmt(spread['vs_torch_channels_last'][1], 2)}×")
        if notes:
            lines.append(f"- {r['title']}: " + "; ".join(notes))
    return lines + [""]


def torch_threads() -> int | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.get_num_threads()

