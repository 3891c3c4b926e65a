"""The memory suite: peak memory of one NiN training step, lemmata against PyTorch.

Each contender runs in a fresh subprocess: build the model, optimizer and batch, note the
resident set size (RSS), run two training steps (the first creates gradients and momentum
buffers), and report the high-water mark above that baseline.  For lemmata the peak of NumPy's
own allocations during a third step (``tracemalloc``, which NumPy reports to) is given as well.
The subprocesses use ``--threads`` threads: lemmata's DataParallelStep(threads=N) and BLAS limited
to N, PyTorch's ``torch.set_num_threads(N)``.
"""
from __future__ import annotations

import gc
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

CONTENDERS = ("lemmata", "torch", "torch channels_last")


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _step_function(contender: str, batch: int, threads: int):
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    labels = rng.integers(0, 10, batch)
    if contender == "lemmata":
        import lemmata
        from lemmata.parallel import DataParallelStep
        lemmata.manual_seed(0)
        model = lemmata.models.NiN()
        step = DataParallelStep(model, lemmata.nn.CrossEntropyLoss(),
                                lemmata.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                                threads=threads)
        x, y = lemmata.tensor(images), lemmata.tensor(labels)
        return lambda: step(x, y)
    import torch

    from .torch_models import NiN
    torch.set_num_threads(threads)
    memory_format = torch.channels_last if contender.endswith("channels_last") else \
        torch.contiguous_format
    model = NiN().to(memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.from_numpy(images).contiguous(memory_format=memory_format)
    y = torch.from_numpy(labels)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step


def measure_child(contender: str, batch: int, threads: int = 2) -> dict[str, Any]:
    """Run in the subprocess: RSS above baseline over two steps (and NumPy's peak for lemmata)."""
    step = _step_function(contender, batch, threads)
    gc.collect()
    baseline = _status_mb("VmRSS")
    step()
    step()
    result: dict[str, Any] = {"contender": contender, "batch": batch, "baseline_mb": baseline}
    high_water = _status_mb("VmHWM")
    if baseline is not None and high_water is not None:
        result["step_peak_mb"] = high_water - baseline
    if contender == "lemmata":
        gc.collect()
        tracemalloc.start()
        step()
        result["numpy_step_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return result


def run_memory(batch: int, torch_available: bool, threads: int = 2) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    contenders = CONTENDERS if torch_available else CONTENDERS[:1]
    peaks: dict[str, Any] = {}
    for contender in contenders:
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", contender, str(batch), str(threads)],
            cwd=root,
            capture_output=True, text=True, timeout=600)
        if completed.returncode != 0:
            peaks[contender] = {"error": completed.stderr.strip().splitlines()[-1:]}
            continue
        peaks[contender] = json.loads(completed.stdout.strip().splitlines()[-1])
    result: dict[str, Any] = {"workload": "memory", "title": "NiN training step, peak memory",
                              "batch": batch, "threads": threads, "contenders": peaks}
    ours = peaks.get("lemmata", {}).get("step_peak_mb")
    for name in ("torch", "torch channels_last"):
        theirs = peaks.get(name, {}).get("step_peak_mb")
        if ours and theirs:
            result.setdefault("ratio", {})[f"vs_{name.replace(' ', '_')}"] = ours / theirs
    return result


def table(result: dict[str, Any]) -> list[str]:
    """The suite's markdown lines."""
    from .runner import fmt
    lines = [f"{result['title']} (batch {result['batch']}), resident memory above the baseline:",
             "", "| contender | step peak MB | NumPy allocations peak MB |", "|---|---:|---:|"]
    for name, m in result["contenders"].items():
        lines.append(f"| {name} | {fmt(m.get('step_peak_mb'), 0)} "
                     f"| {fmt(m.get('numpy_step_peak_mb'), 0)} |")
    for name, value in result.get("ratio", {}).items():
        lines.append(f"\nlemmata / {name[3:].replace('_', ' ')}: {value:.2f}×")
    return lines + [""]


if __name__ == "__main__":
    from .timing import blas_threads

    _threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    with blas_threads(_threads):
        print(json.dumps(measure_child(sys.argv[1], int(sys.argv[2]), _threads)))
