"""The overhead suite: where the time of a lemmata training step goes, and how much of it is the
engine's own overhead (to stay under 5 % of a NiN step).  No PyTorch involved.

Method.  The plain serial step (optimizer.zero_grad, forward, CrossEntropyLoss, backward,
SGD with momentum 0.9 step) runs with BLAS on one thread (threadpoolctl), on a fixed random batch
(default 64) of NiN, Net and LeNet-5, dropout on.  For the measurement, the ``forward`` of every
subclass of ``lemmata.autograd.Function`` (found by walking ``Function.__subclasses__()``
recursively) is replaced by a wrapper that adds the time spent inside it to its op class; the
originals are restored afterwards.  Those forwards are the op kernels: the NumPy work of the
forward pass, and of the backward pass too, whose rules are written with ops.  Only the
outermost call is timed (a forward that applies another op counts once, for the outer class),
and calls made inside the optimizer are left to the optimizer.  The optimizer (zero_grad and
step) is timed on its own.  Then

    engine overhead = step time − Σ kernel time − optimizer time,

i.e. everything else: Module calls and hooks, argument checks, graph recording (Context, Node),
the backward walk (topological order, gradient accumulation, unbroadcasting), Tensor wrappers,
and any NumPy work done outside an op's forward.  That last part is array work, not
bookkeeping, so the overhead is further split (same wrapping, restored afterwards):

- backward rules: the time inside each class's ``backward``, less the kernels it applies (the
  rule's Python, and NumPy it runs itself: the convolution's rule takes the Fourier spectrum of
  the output gradient once for both gradients);
- NumPy outside ops: the helpers in ``OUTSIDE_OPS`` that lemmata calls in its functional layer
  before applying an op (dropout's mask), when called outside a kernel;
- bookkeeping: the rest, the engine's own cost in the narrow sense.

The wrappers' own cost (a few clock reads per call, microseconds against a step of milliseconds)
lands in the bookkeeping.  Each round times one step (ten for LeNet-5, whose step is short, and
reports the mean); the reported breakdown is the round with the median step time, so its parts
add up exactly.
"""
from __future__ import annotations

import importlib
import statistics
import threading
import time
from collections import defaultdict
from typing import Any, Callable

import numpy as np

import lemmata
from lemmata import nn, optim
from lemmata.autograd import Function

from .timing import blas_threads
from .training import LEARNING_RATE, MOMENTUM, WORKLOADS

MODELS = ("nin", "net", "lenet5")
TOP = 6
#: array work that lemmata does outside any op's forward: (module, function); a name that no
#: longer exists is skipped (and the result's ``outside_ops_found`` says which were timed)
OUTSIDE_OPS = {
    "dropout mask": ("lemmata.nn.functional", "_draw_in_memory_order"),
}
_MISSING = object()


def _subclasses(cls: type) -> list[type]:
    """Every subclass of ``cls``, recursively, each once."""
    found: list[type] = []
    stack = list(cls.__subclasses__())
    while stack:
        sub = stack.pop()
        if sub not in found:
            found.append(sub)
            stack.extend(sub.__subclasses__())
    return found


class KernelClock:
    """While installed (``with KernelClock() as clock``), where the time goes:

    - ``seconds[cls]`` / ``calls[cls]``: time in each op class's ``forward`` (outermost calls);
    - ``rule_seconds``: time in ``backward`` rules, less the kernels and helpers they call;
    - ``helper_seconds[label]``: time in the ``OUTSIDE_OPS`` helpers called outside a kernel.

    ``paused`` (settable) stops all accounting, e.g. during the optimizer step."""

    def __init__(self, helpers: dict[str, tuple[str, str]] = OUTSIDE_OPS) -> None:
        self.seconds: dict[type, float] = defaultdict(float)
        self.calls: dict[type, int] = defaultdict(int)
        self.rule_seconds = 0.0
        self.helper_seconds: dict[str, float] = defaultdict(float)
        self.kernel_total = 0.0         # all kernel seconds so far
        self.helper_total = 0.0         # all helper seconds so far
        self.paused = False
        self.helpers = helpers
        self.helpers_found: list[str] = []
        self._local = threading.local()
        self._saved: list[tuple[Any, str, Any]] = []

    def _timed(self, fn: Callable, account: Callable[[float, float, float], None],
               flag: str) -> Callable:
        """``fn`` wrapped: unless paused or already inside a call of the same kind, run it
        between two clock reads and ``account(elapsed, Δkernels, Δhelpers)``."""
        local, clock = self._local, time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.paused or getattr(local, flag, False) or (
                    flag == "in_helper" and getattr(local, "in_kernel", False)):
                return fn(*args, **kwargs)
            setattr(local, flag, True)
            kernels, helpers, start = self.kernel_total, self.helper_total, clock()
            try:
                return fn(*args, **kwargs)
            finally:
                account(clock() - start, self.kernel_total - kernels,
                        self.helper_total - helpers)
                setattr(local, flag, False)

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed

    def _kernel(self, cls: type) -> Callable[[float, float, float], None]:
        def account(elapsed: float, kernels: float, helpers: float) -> None:
            self.seconds[cls] += elapsed
            self.calls[cls] += 1
            self.kernel_total += elapsed
        return account

    def _rule(self, elapsed: float, kernels: float, helpers: float) -> None:
        self.rule_seconds += elapsed - kernels - helpers

    def _helper(self, label: str) -> Callable[[float, float, float], None]:
        def account(elapsed: float, kernels: float, helpers: float) -> None:
            self.helper_seconds[label] += elapsed - kernels
            self.helper_total += elapsed - kernels
        return account

    def _replace(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, value)

    def __enter__(self) -> "KernelClock":
        classes = _subclasses(Function)
        # resolved before any is replaced, so that an inherited method is the original, not
        # the parent's wrapper
        originals = {(cls, name): getattr(cls, name)
                     for cls in classes for name in ("forward", "backward")}
        for (cls, name), method in originals.items():
            account = self._kernel(cls) if name == "forward" else self._rule
            flag = "in_kernel" if name == "forward" else "in_rule"
            self._replace(cls, name, staticmethod(self._timed(method, account, flag)))
        for label, (module_name, name) in self.helpers.items():
            module = importlib.import_module(module_name)
            if callable(getattr(module, name, None)):
                self._replace(module, name,
                              self._timed(getattr(module, name), self._helper(label),
                                          "in_helper"))
                self.helpers_found.append(label)
        return self

    def __exit__(self, *exc: Any) -> None:
        for owner, name, original in reversed(self._saved):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._saved = []

    def snapshot(self) -> dict[str, Any]:
        return {"seconds": dict(self.seconds), "calls": dict(self.calls),
                "rules": self.rule_seconds, "helpers": dict(self.helper_seconds)}


def _names(classes: set[type]) -> dict[type, str]:
    """Class names, module-qualified where two classes share one."""
    counts: dict[str, int] = defaultdict(int)
    for cls in classes:
        counts[cls.__name__] += 1
    return {cls: cls.__name__ if counts[cls.__name__] == 1 else f"{cls.__module__}.{cls.__name__}"
            for cls in classes}


def _difference(after: dict, before: dict, repeat: int) -> dict:
    return {key: (value - before.get(key, 0)) / repeat for key, value in after.items()}


def run_model(key: str, batch: int, rounds: int) -> dict[str, Any]:
    """The median round's breakdown of one model's serial training step."""
    workload = WORKLOADS[key]
    repeat = workload["repeat"]
    rng = np.random.default_rng(0)
    x = lemmata.tensor(rng.standard_normal((batch,) + workload["shape"], dtype=np.float32))
    y = lemmata.tensor(rng.integers(0, 10, batch))
    lemmata.manual_seed(0)
    model = getattr(lemmata.models, workload["model"])()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)

    def step(clock: KernelClock) -> dict[str, float]:
        """One step; returns its seconds: the whole step, the optimizer (zero_grad and step),
        the forward pass with the loss, the backward pass, and the kernels within each pass."""
        clock.paused = True
        start = time.perf_counter()
        optimizer.zero_grad()
        clock.paused = False
        t_forward, k_start = time.perf_counter(), clock.kernel_total
        loss = loss_fn(model(x), y)
        t_backward, k_forward = time.perf_counter(), clock.kernel_total
        loss.backward()
        t_optimizer, k_backward = time.perf_counter(), clock.kernel_total
        clock.paused = True
        optimizer.step()
        end = time.perf_counter()
        clock.paused = False
        return {"step": end - start, "optimizer": (t_forward - start) + (end - t_optimizer),
                "forward": t_backward - t_forward, "forward_kernel": k_forward - k_start,
                "backward": t_optimizer - t_backward, "backward_kernel": k_backward - k_forward}

    samples = []
    with blas_threads(1):
        step(KernelClock())  # warm-up, clock not installed: imports every op module, buffers
        with KernelClock() as clock:
            step(clock)
            for _ in range(rounds):
                before = clock.snapshot()
                phases: dict[str, float] = defaultdict(float)
                for _ in range(repeat):
                    for phase, seconds in step(clock).items():
                        phases[phase] += seconds / repeat
                after = clock.snapshot()
                samples.append({
                    "phases": phases,
                    "kernels": _difference(after["seconds"], before["seconds"], repeat),
                    "calls": _difference(after["calls"], before["calls"], repeat),
                    "rules": (after["rules"] - before["rules"]) / repeat,
                    "helpers": _difference(after["helpers"], before["helpers"], repeat)})
    step_times = [s["phases"]["step"] for s in samples]
    sample = samples[step_times.index(statistics.median_low(step_times))]
    phases, calls = sample["phases"], sample["calls"]
    kernels = {cls: t for cls, t in sample["kernels"].items() if calls.get(cls, 0) > 0}
    step_s, optimizer_s, kernel_s = phases["step"], phases["optimizer"], sum(kernels.values())
    overhead_s = step_s - kernel_s - optimizer_s
    rules_s, helpers = sample["rules"], sample["helpers"]
    bookkeeping_s = overhead_s - rules_s - sum(helpers.values())
    names = _names(set(kernels))
    ranked = sorted(kernels.items(), key=lambda item: item[1], reverse=True)
    ms = 1e3
    return {
        "model": key, "title": workload["title"], "batch": batch, "rounds": rounds,
        "steps_per_round": repeat,
        "step_ms": step_s * ms, "kernel_ms": kernel_s * ms, "optimizer_ms": optimizer_s * ms,
        "overhead_ms": overhead_s * ms, "overhead_percent": 100 * overhead_s / step_s,
        "kernel_percent": 100 * kernel_s / step_s, "optimizer_percent": 100 * optimizer_s / step_s,
        "overhead_parts_ms": {"backward rules": rules_s * ms,
                              **{f"NumPy outside ops: {label}": t * ms
                                 for label, t in helpers.items()},
                              "bookkeeping": bookkeeping_s * ms},
        "bookkeeping_percent": 100 * bookkeeping_s / step_s,
        "outside_ops_found": clock.helpers_found,
        "phases_ms": {phase: phases[phase] * ms for phase in
                      ("forward", "forward_kernel", "backward", "backward_kernel")},
        "ops_per_step": sum(calls.values()),
        "op_classes": len(kernels),
        "top_ops": [{"op": names[cls], "ms": t * ms, "calls": calls[cls],
                     "percent_of_kernel": 100 * t / kernel_s if kernel_s else 0.0,
                     "percent_of_step": 100 * t / step_s}
                    for cls, t in ranked[:TOP]],
        "kernel_ms_by_op": {names[cls]: t * ms for cls, t in ranked},
        "step_ms_samples": [round(t * ms, 3) for t in step_times],
    }


def run_overhead(batch: int, rounds: int) -> dict[str, Any]:
    """The breakdown for NiN, Net and LeNet-5."""
    return {"workload": "overhead", "title": "engine overhead of the serial training step",
            "batch": batch, "rounds": rounds, "blas_threads": 1, "bound_percent": 5.0,
            "models": {key: run_model(key, batch, rounds) for key in MODELS}}


def table(result: dict[str, Any]) -> list[str]:
    """The suite's markdown lines."""
    from .runner import fmt
    lines = [f"Where a serial training step's time goes (batch {result['batch']}, BLAS on one "
             f"thread, the median of {result['rounds']} rounds): op kernels (the ops' forwards, "
             "in the forward and the backward pass), the optimizer, and the engine overhead "
             "(the rest), split into backward rules, NumPy outside ops and bookkeeping:", "",
             "| model | step ms | kernels ms | optimizer ms | overhead ms | overhead % "
             "| backward rules ms | NumPy outside ops ms | bookkeeping ms | bookkeeping % "
             "| ops/step |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    models = result["models"]
    for r in models.values():
        parts = r["overhead_parts_ms"]
        outside = sum(v for k, v in parts.items() if k.startswith("NumPy outside ops"))
        lines.append(f"| {r['title']} | {fmt(r['step_ms'])} | {fmt(r['kernel_ms'])} "
                     f"| {fmt(r['optimizer_ms'], 2)} | {fmt(r['overhead_ms'], 2)} "
                     f"| {fmt(r['overhead_percent'], 1)} % | {fmt(parts['backward rules'], 2)} "
                     f"| {fmt(outside, 2)} | {fmt(parts['bookkeeping'], 2)} "
                     f"| {fmt(r['bookkeeping_percent'], 1)} % | {fmt(r['ops_per_step'], 0)} |")
    lines.append("")
    for r in models.values():
        p = r["phases_ms"]
        top = ", ".join(f"{o['op']} {fmt(o['ms'])} ms ({fmt(o['percent_of_kernel'], 0)} %)"
                        for o in r["top_ops"])
        lines.append(f"- {r['title']}: forward and loss {fmt(p['forward'])} ms (kernels "
                     f"{fmt(p['forward_kernel'])}), backward {fmt(p['backward'])} ms (kernels "
                     f"{fmt(p['backward_kernel'])}); top op classes by kernel time (% of "
                     f"kernel time): {top}")
    if "nin" in models:
        nin, bound = models["nin"], result["bound_percent"]
        lines.append(f"- NiN engine overhead {fmt(nin['overhead_percent'], 1)} % of the step "
                     f"({'within' if nin['overhead_percent'] < bound else 'OVER'} the "
                     f"{fmt(bound, 0)} % bound); bookkeeping alone "
                     f"{fmt(nin['bookkeeping_percent'], 1)} %")
    return lines + [""]
