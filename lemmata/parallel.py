"""Data parallelism over threads: one training step with the batch split across threads.

Each thread runs the whole forward and backward pass on its shard of the batch and computes the
shard's gradients with :func:`lemmata.autograd.grad` (so no thread writes a shared ``.grad``);
the gradients are summed and the optimizer steps once.  For a loss that is a mean over the batch,

    L = (1/N) Σ_i ℓ_i = Σ_t (n_t/N) L_t,    L_t = (1/n_t) Σ_(i in shard t) ℓ_i,

so ∇L = Σ_t (n_t/N) ∇L_t: the shard gradients are weighted by shard size, and the result is the
full-batch gradient up to float rounding (for a sum loss the weights are 1).

Why threads: NumPy's elementwise work is single-threaded, and a BLAS call split over two cores
leaves them waiting on each other around every GEMM.  Two threads that each run the whole step on
half the batch with single-threaded BLAS keep both cores busy, overlapping one thread's
elementwise passes with the other's matrix products.  NumPy and BLAS release the GIL inside their
loops, so the Python in between is the only serial part.  While shards run, BLAS is limited to
one thread (``threadpoolctl``; the limit is process-wide, so every worker's BLAS calls are
single-threaded) and restored afterwards, subnormal numbers are flushed to zero
(:func:`flush_denormals`), and the GIL changes hands at least every millisecond
(:func:`gil_switch_interval`).  After the shards, the gradient sum and the optimizer's
per-parameter updates are shared among the threads as well.  A large weight used by F.linear
(at least WHOLE_BATCH_ENTRIES entries) is left out of the shards' gradients: they record its
factors (:mod:`lemmata.nn.linear_factors`), and its gradient is one product over the whole
batch, ∇W = Σ_t (n_t/N) G_tᵀ X_t = Gᵀ X with the shards' rows stacked.

Small models are the exception: their shards are mostly Python, which threads run one at a
time, so ``DataParallelStep(..., backend="processes")`` runs the shards after the first in
worker processes instead, each with its own GIL (:mod:`lemmata.parallel_workers`).

Randomness: every shard draws its dropout masks (and any other random numbers) from its own
generator, spawned from the global generator in shard order before the threads start, so a step
is reproducible under ``manual_seed`` whatever the thread scheduling.  The masks are not the
ones a serial step would draw.

Batch-dependent layers: a BatchNorm layer in training mode normalises with the statistics of the
batch it sees (and updates running statistics), so its result would depend on how the batch is
split.  Such models are refused with a ValueError (put the BatchNorm layers in eval mode, use
GroupNorm/LayerNorm, or use threads=1).

    step = DataParallelStep(model, nn.CrossEntropyLoss(), optimizer, threads=2)
    for images, labels in loader:
        loss = step(images, labels)         # zero_grad + forward + backward + optimizer.step
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import platform
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import autograd
from . import random as _random
from .nn.linear_factors import recording_linear_factors
from .nn.module import Module
from .ops import workspace
from .ops.arguments import broadcast_shape
from .ops.threads import gil_switch_interval, run_concurrently, share, single_threaded_blas
from .nn.norm import _BatchNorm
from .optim.optimizer import Optimizer
from .parallel_workers import ShardWorkers
from .tensor import Tensor

__all__ = ["DataParallelStep", "shard_gradients", "single_threaded_blas", "flush_denormals",
           "gil_switch_interval"]


def _load_libm() -> Any:
    """The C math library where ``fenv_t`` has the x86-64 glibc layout, else None."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    except OSError:  # pragma: no cover
        return None


_libm = _load_libm()
_MXCSR_OFFSET, _FLUSH_TO_ZERO, _DENORMALS_ARE_ZERO = 28, 0x8000, 0x0040


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Within the block, this thread's float arithmetic treats subnormal numbers (|x| below
    1.2e-38 in float32, 2.2e-308 in float64) as zero, inputs and results (x86 FTZ and DAZ).

    Arithmetic on subnormals takes a slow microcode path: NiN at PyTorch's default
    initialisation has vanishing activations, and their tiny gradients made the frequency-domain
    products of a 3×3 layer 5× slower and a whole training step 12 % slower.  PyTorch's CPU
    kernels are unaffected by them (its step time does not change with
    ``torch.set_flush_denormal``).  The mode is per thread and restored on exit; a no-op except
    on x86-64 Linux.
    """
    if _libm is None:
        yield
        return
    saved = (ctypes.c_uint8 * 32)()
    if _libm.fegetenv(saved) != 0:  # pragma: no cover
        yield
        return
    flushing = (ctypes.c_uint8 * 32)(*saved)
    mxcsr = int.from_bytes(bytes(flushing[_MXCSR_OFFSET:_MXCSR_OFFSET + 4]), "little")
    mxcsr |= _FLUSH_TO_ZERO | _DENORMALS_ARE_ZERO
    flushing[_MXCSR_OFFSET:_MXCSR_OFFSET + 4] = list(mxcsr.to_bytes(4, "little"))
    _libm.fesetenv(flushing)
    try:
        yield
    finally:
        _libm.fesetenv(saved)


def _batch_dependent_layers(model: Module) -> list[str]:
    """Names of the submodules whose training-mode output depends on the rest of the batch."""
    return [name or type(model).__name__ for name, m in model.named_modules()
            if isinstance(m, _BatchNorm) and m.training]


@functools.lru_cache(maxsize=64)
def _shard_bounds(n: int, shards: int) -> tuple[tuple[int, int], ...]:
    """[start, stop) of ``shards`` near-equal contiguous shards of range(n) (the first ones one
    longer when n is not divisible).  Cached: a loader's batches come in one or two sizes, and
    the NumPy calls took 8 µs (more in the step, with cold caches) before the workers could
    start."""
    edges = np.linspace(0, n, shards + 1).round().astype(int)
    return tuple((int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a)


def _rows(batch: Any, start: int, stop: int) -> Any:
    """Samples start:stop of a batch.  A Tensor's rows are taken as a plain view, not through
    the graph: only the parameters' gradients are wanted, so a shard's inputs are leaves."""
    return Tensor(batch._data[start:stop]) if isinstance(batch, Tensor) else batch[start:stop]


#: a 2-D parameter of at least this many entries, used as an F.linear weight, gets its gradient
#: from the whole batch in one product after the shards (:func:`_whole_batch_products`), not
#: from one product per shard and a sum.  Each shard's product writes a weight-sized matrix, and
#: two at once compete for memory: Net's (seed 002) two 4096-wide layers took 59 ms of a shard's
#: time alone, 140 ms beside the other shard.
WHOLE_BATCH_ENTRIES = 1 << 20


def _shard_loss_and_gradients(model: Callable, loss_fn: Callable, inputs: Tensor,
                              targets: Any, params: Sequence[Tensor], seed: int,
                              flush: bool, factored: Sequence[Tensor] = ()) -> tuple:
    with autograd.enable_grad(), _random.thread_generator(seed), \
            flush_denormals() if flush else contextlib.nullcontext(), \
            recording_linear_factors(factored) as factors:
        loss = loss_fn(model(inputs), targets)
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            raise ValueError(f"DataParallelStep: the loss must be a scalar Tensor, got "
                             f"{type(loss).__name__} of shape {getattr(loss, 'shape', None)}")
        grads = autograd.grad(loss, list(params), allow_unused=True)
    return loss.detach(), grads, factors


def _whole_batch_products(results: list, weights: list[float], params: Sequence[Tensor],
                          grads: list, pool: ThreadPoolExecutor, threads: int) -> None:
    """Add to ``grads`` each factored weight's Gᵀ X over all shards (see
    :mod:`lemmata.nn.linear_factors`; G's rows scaled by the shard weights), its rows shared
    among ``threads`` threads (this one and ``pool``'s)."""
    for i, p in enumerate(params):
        pairs = [(g if w == 1.0 else g * w, x) for (_, _, factors), w in zip(results, weights)
                 if id(p) in factors for g, x in factors[id(p)].pairs()]
        if not pairs:
            continue
        g_rows = np.concatenate([g for g, _ in pairs])
        x_rows = np.concatenate([x for _, x in pairs])
        out = workspace.empty(p.shape, p._data.dtype)      # as autograd gives it: W's dtype

        def product(rows: range) -> None:
            np.matmul(g_rows[:, rows.start:rows.stop].T, x_rows, out=out[rows.start:rows.stop])

        run_concurrently([functools.partial(product, rows) for rows in share(len(out), threads)],
                         pool)
        if grads[i] is not None:                    # the weight's other uses
            out += grads[i]._data
        grads[i] = Tensor(out)


def shard_gradients(model: Module, loss_fn: Callable, inputs: Any, targets: Any,
                    threads: int = 2, reduction: str = "mean",
                    pool: ThreadPoolExecutor | None = None,
                    flush: bool = True, workers: ShardWorkers | None = None) -> tuple[Tensor, list]:
    """The loss of the whole batch and its gradients with respect to the model's trainable
    parameters, computed on ``threads`` shards of the batch in parallel.

    ``reduction`` says how ``loss_fn`` combines samples: "mean" (shard gradients weighted by
    n_t/N) or "sum" (weights 1).  ``flush`` runs the shards under :func:`flush_denormals`.
    With ``workers`` (:class:`~lemmata.parallel_workers.ShardWorkers` for this model and loss),
    every shard but the first runs in a worker process instead of a thread.
    Returns ``(loss, grads)``, with ``grads[i]`` for the i-th parameter of
    ``model.parameters()`` that requires grad (None if unused).  ``.grad`` is not touched.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"shard_gradients: reduction must be 'mean' or 'sum', got {reduction!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"shard_gradients: threads must be a positive int, got {threads!r}")
    inputs = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
    if inputs.ndim == 0 or inputs.shape[0] == 0:
        raise ValueError(f"shard_gradients: inputs must have a non-empty batch dim, got shape "
                         f"{tuple(inputs.shape)}")
    n = inputs.shape[0]
    if len(targets) != n:
        raise ValueError(f"shard_gradients: {len(targets)} targets for a batch of {n} inputs")
    if workers is not None and (workers.model is not model or workers.loss_fn is not loss_fn):
        raise ValueError("shard_gradients: the worker processes hold another model or loss "
                         "function (the ones given when they were started); make a new "
                         "DataParallelStep for these")
    params = [p for p in model.parameters() if p.requires_grad]
    bounds = _shard_bounds(n, threads)
    if len(bounds) > 1:
        dependent = _batch_dependent_layers(model)
        if dependent:
            raise ValueError(
                f"shard_gradients: {', '.join(dependent)} normalise(s) with batch statistics in "
                f"training mode, so the result would depend on how the batch is split into "
                f"{len(bounds)} shards; put them in eval mode, use GroupNorm/LayerNorm, or use "
                f"threads=1")
    # one generator per shard, spawned in shard order from the global one
    seeds = _random.generator().integers(0, 2 ** 63, size=len(bounds))
    shards = [((a, b), _rows(inputs, a, b), _rows(targets, a, b), int(seed))
              for (a, b), seed in zip(bounds, seeds)]
    weights = [(b - a) / n if reduction == "mean" else 1.0 for a, b in bounds]
    if workers is not None and len(shards) > 1:
        return _gradients_in_processes(workers, model, loss_fn, params, shards, weights, flush)
    # a worker process would have to send the factors back: its shards keep plain gradients
    factored = ([p for p in params if p.ndim == 2 and p.numel() >= WHOLE_BATCH_ENTRIES]
                if len(bounds) > 1 else [])
    jobs = [(model, loss_fn, x, y, params, seed, flush, factored)
            for _, x, y, seed in shards]
    if len(jobs) == 1:
        return _weighted_sum([_shard_loss_and_gradients(*jobs[0])], weights, len(params))
    own_pool = pool is None
    pool = ThreadPoolExecutor(len(jobs) - 1) if own_pool else pool
    try:
        with gil_switch_interval():
            with single_threaded_blas():
                # the first shard runs on this thread
                results = run_concurrently(
                    [functools.partial(_shard_loss_and_gradients, *job) for job in jobs], pool)
                loss, grads = _weighted_sum(results, weights, len(params), pool, len(jobs))
                _whole_batch_products(results, weights, params, grads, pool, len(jobs))
            return loss, grads
    finally:
        if own_pool:
            pool.shutdown()


def _gradients_in_processes(workers: ShardWorkers, model: Module, loss_fn: Callable,
                            params: list[Tensor], shards: list, weights: list[float],
                            flush: bool) -> tuple[Tensor, list]:
    """shard_gradients with ``shards`` ((start, stop), inputs, targets, seed) after the first
    in ``workers``' processes, and the first shard computed here meanwhile (with one BLAS
    thread, to leave the other cores to the workers).  The shards go out first: whatever this
    process does before, the workers wait for."""
    workers.send(shards[1:], flush)
    _, inputs, targets, seed = shards[0]
    try:
        with single_threaded_blas():
            first = _shard_loss_and_gradients(model, loss_fn, inputs, targets, params, seed,
                                              flush)
    except BaseException:
        workers.discard()
        raise
    loss, grads = _weighted_sum([first] + workers.receive(), weights, len(params))
    # a worker's gradient taken as it is lies in the shared block, which the next step overwrites
    return loss, [g if g is None or not workers.owns(g._data) else Tensor(g._data.copy())
                  for g in grads]


def _balanced(sizes: Sequence[int], bins: int) -> list[list[int]]:
    """Indices of ``sizes`` split into at most ``bins`` lists of near-equal total size (largest
    first, each to the lightest list so far)."""
    loads, members = [0] * bins, [[] for _ in range(bins)]
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        lightest = loads.index(min(loads))
        loads[lightest] += sizes[i]
        members[lightest].append(i)
    return [m for m in members if m]


def _sum_into(out: np.ndarray, parts: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """out ← Σ_t w_t·g_t (w_t = 1 is no multiply), a cache-sized block at a time
    (:func:`~lemmata.ops.workspace.in_blocks`), with no full-size temporaries (for Net's
    16.8 M-entry weight, whole-array passes cost 50 ms a step)."""
    sources = [np.ascontiguousarray(g) for g in parts]
    spare = np.empty(min(workspace.BLOCK_ELEMENTS, out.size), dtype=out.dtype)
    for block, *pieces in workspace.in_blocks(out, *sources):
        for t, (piece, weight) in enumerate(zip(pieces, weights)):
            if t == 0:
                np.multiply(piece, weight, out=block) if weight != 1.0 else np.copyto(block, piece)
            elif weight != 1.0:
                block += np.multiply(piece, weight, out=spare[:block.size].reshape(block.shape))
            else:
                block += piece
    return out


def _weighted_sum(results: list, weights: list[float], count: int,
                  pool: ThreadPoolExecutor | None = None, threads: int = 1) -> tuple[Tensor, list]:
    """The shard losses and gradients summed with ``weights``; the gradients are summed on
    ``threads`` threads (``pool`` and this one), each taking a share of the parameters."""
    loss = None
    for (shard_loss, *_), weight in zip(results, weights):
        part = shard_loss._data * weight if weight != 1.0 else shard_loss._data
        loss = part if loss is None else loss + part
    present = [[(shard[i]._data, w) for (_, shard, *_), w in zip(results, weights)
                if shard[i] is not None] for i in range(count)]
    grads: list = [None] * count

    def add_up(indices: list[int]) -> None:
        for i in indices:
            if not present[i]:                      # unused by every shard: stays None
                continue
            arrays, ws = [a for a, _ in present[i]], [w for _, w in present[i]]
            if ws == [1.0]:                         # one shard's gradient, as it is
                grads[i] = Tensor(arrays[0])
                continue
            # recycled memory: a fresh 67 MB array is paid again in page faults (Net's sum took
            # 25–160 ms a step with np.empty, 19–31 ms with recycled buffers)
            out = workspace.empty(broadcast_shape(*(a.shape for a in arrays)),
                                  dtype=np.result_type(*arrays))   # a Python float keeps float32
            grads[i] = Tensor(_sum_into(out, arrays, ws))

    sizes = [max((a.size for a, _ in arrays), default=0) for arrays in present]
    run_concurrently([functools.partial(add_up, part) for part in _balanced(sizes, threads)],
                     pool)
    return Tensor(np.asarray(loss)), grads


def _step_optimizer(optimizer: Any, pool: ThreadPoolExecutor | None, threads: int) -> None:
    """optimizer.step(), its per-parameter updates shared among ``threads`` threads (each
    parameter's update is independent of the others).  An optimizer that replaces step() with
    its own runs it as it is."""
    if pool is None or threads == 1 or type(optimizer).step is not Optimizer.step:
        optimizer.step()
        return
    pending = optimizer._pending()

    def update(indices: list[int]) -> None:
        for i in indices:
            optimizer._step_parameter(*pending[i])

    with gil_switch_interval():
        run_concurrently([functools.partial(update, part) for part in
                          _balanced([p.numel() for p, _ in pending], threads)], pool)


class DataParallelStep:
    """A training step data-parallel over ``threads`` threads:

        loss = step(inputs, targets)

    is ``optimizer.zero_grad(); loss_fn(model(inputs), targets).backward(); optimizer.step()``
    with the batch split into ``threads`` shards run concurrently (see the module docstring):
    each parameter's ``.grad`` is set to the full-batch gradient, the optimizer steps once, and
    the full-batch loss is returned (detached).

    ``reduction`` ("mean" or "sum") is how the loss combines samples; by default the loss
    module's own ``reduction`` attribute, else "mean".  The loss must be a plain mean or sum of
    per-sample terms (not, e.g., a class-weighted mean, whose denominator depends on the shard).
    Models with BatchNorm layers in training mode are refused (ValueError).  ``flush``
    (default True) computes the shards with subnormal numbers flushed to zero
    (:func:`flush_denormals`), as PyTorch's CPU kernels effectively do.

    ``backend``: "threads" (the default) runs the shards on threads of this process;
    "processes" runs every shard but the first in a worker process of its own
    (:mod:`lemmata.parallel_workers`), which pays for small models, whose shards are mostly
    Python and so take turns on the GIL (LeNet-5).  The two give the same result, to the last
    bit unless a large linear weight takes the threads' whole-batch gradient (which processes
    leave out).  The workers keep the model and loss function given here (a picklable pair);
    each step hands them the model's current parameters, buffers, training modes and
    requires_grad flags.  ``threads`` is the number of shards either way.
    """

    BACKENDS = ("threads", "processes")

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Any, threads: int = 2,
                 reduction: str | None = None, flush: bool = True,
                 backend: str = "threads") -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"DataParallelStep: threads must be a positive int, got {threads!r}")
        if backend not in self.BACKENDS:
            raise ValueError(f"DataParallelStep: backend must be one of {self.BACKENDS}, got "
                             f"{backend!r}")
        on_device = next((p.device for p in model.parameters()
                          if not isinstance(p._data, np.ndarray)), None)
        if on_device is not None:
            raise RuntimeError(f"DataParallelStep: splits a batch over CPU threads or processes, "
                               f"but the model's parameters are on {on_device} (a GPU takes "
                               f"the whole batch in one ordinary step)")
        self.model, self.loss_fn, self.optimizer, self.threads = model, loss_fn, optimizer, threads
        self.flush, self.backend = flush, backend
        self.reduction = reduction if reduction is not None else getattr(loss_fn, "reduction",
                                                                         "mean")
        self._pool = self._workers = None
        if threads > 1 and backend == "threads":
            self._pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="lemmata-parallel")
        elif threads > 1:
            self._workers = ShardWorkers(model, loss_fn, threads - 1)

    def gradients(self, inputs: Any, targets: Any) -> tuple[Tensor, list]:
        """(loss, gradients) of the whole batch, without touching ``.grad`` or stepping."""
        return shard_gradients(self.model, self.loss_fn, inputs, targets, self.threads,
                               self.reduction, self._pool, self.flush, self._workers)

    def __call__(self, inputs: Any, targets: Any) -> Tensor:
        loss, grads = self.gradients(inputs, targets)
        params = [p for p in self.model.parameters() if p.requires_grad]
        for p, g in zip(params, grads):
            p.grad = g
        _step_optimizer(self.optimizer, self._pool, self.threads)
        return loss

    def close(self) -> None:
        """Stop the worker threads or processes (also done when the step is garbage
        collected)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._workers is not None:      # kept: a closed one refuses further steps
            self._workers.close()

    def __enter__(self) -> "DataParallelStep":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return (f"DataParallelStep(model={type(self.model).__name__}, threads={self.threads}, "
                f"reduction={self.reduction!r}, backend={self.backend!r})")
