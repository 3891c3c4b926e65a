"""Threads and cores for the big ops: how many threads BLAS runs on, and an op's independent
batch chunks run on all cores.

Some ops shape their matrix products by BLAS's thread count: with BLAS on several cores every
GEMM call makes the cores wait on each other at its end, so fewer, taller products pay; on one
core, products whose operands stay in cache do (see ``conv_winograd.MIN_ROWS``).  The
data-parallel step (:mod:`lemmata.parallel`) runs each shard with BLAS on one thread, through
:func:`single_threaded_blas`, which also records that it is in force.

Outside such a step an op has the machine to itself, but NumPy's elementwise passes run on one
core and only the GEMMs between them on all, and some GEMM shapes split badly over cores.  An op
whose batch chunks are independent (each writes its own rows of the output, or its own partial
sum) can run them on all cores at once, each thread with single-threaded BLAS
(:func:`run_on_cores`): the same split as the data-parallel step, inside one op.  It pays where
the GEMMs split badly, or where BLAS on several cores needs operands too large for the cache
and the passes around the GEMMs are a large share of the work; passes that stream through
memory anyway run little faster on two cores at once, since they share the memory bandwidth
(the rules and measurements are in ``conv_winograd``).
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence, TypeVar

__all__ = ["single_threaded_blas", "blas_single_threaded", "gil_switch_interval", "op_threads",
           "share", "run_concurrently", "run_on_cores"]

T = TypeVar("T")

_controller: Any = None
_lock = threading.Lock()
_limits_in_force = 0


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within the block, BLAS (OpenBLAS, MKL …) runs on one thread in the calling thread.

    Besides avoiding oversubscription, this stops idle BLAS threads from spin-waiting after each
    GEMM and stealing the core from NumPy work (measured once: 2.94 s → 1.95 s per step).
    Without ``threadpoolctl`` it changes nothing in BLAS, but the ops still take
    :func:`blas_single_threaded` to be true.
    """
    global _controller, _limits_in_force
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _controller = False
        else:
            _controller = ThreadpoolController()   # scans the loaded libraries once
    limit = (_controller.limit(limits=1, user_api="blas") if _controller is not False
             else contextlib.nullcontext())
    with limit:
        with _lock:
            _limits_in_force += 1
        try:
            yield
        finally:
            with _lock:
                _limits_in_force -= 1


def blas_single_threaded() -> bool:
    """True inside :func:`single_threaded_blas` (in any thread: the limit is process-wide) or
    on a machine with one CPU."""
    return _limits_in_force > 0 or (os.cpu_count() or 1) == 1


#: CPython's GIL hand-over interval while several threads run NumPy.  Each thread alternates
#: NumPy calls (which release the GIL) with short stretches of Python; a thread coming back from
#: NumPy while another holds the GIL waits for it, and CPython forces a hand-over only after
#: the switch interval, 5 ms by default.  Measured on the Net (seed 002) data-parallel step, 12
#: alternating rounds: median 1,698 ms at 5 ms, 1,399 ms at 1 ms (and a tighter spread); NiN
#: and LeNet-5 unchanged.
SWITCH_INTERVAL = 0.001


@contextlib.contextmanager
def gil_switch_interval(seconds: float = SWITCH_INTERVAL) -> Iterator[None]:
    """Within the block, CPython hands the GIL between threads at least every ``seconds``
    (``sys.setswitchinterval``; process-wide, restored on exit, never raised)."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(min(saved, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(saved)


def op_threads() -> int:
    """How many threads an op may split its batch chunks over: every CPU, or 1 where BLAS is
    single-threaded already (inside a data-parallel shard, whose sibling shards use the other
    cores, or on a one-CPU machine)."""
    return 1 if blas_single_threaded() else (os.cpu_count() or 1)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers(count: int) -> ThreadPoolExecutor:
    """The ops' shared worker threads (created once, grown when more are asked for)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < count:
            _pool = ThreadPoolExecutor(count, thread_name_prefix="lemmata-op")
        return _pool


def share(count: int, parts: int) -> list[range]:
    """range(count) cut into at most ``parts`` contiguous, near-equal, non-empty ranges (none
    for count 0)."""
    parts = min(max(parts, 1), count)
    if parts == 0:
        return []
    edges = [count * i // parts for i in range(parts + 1)]
    return [range(a, b) for a, b in zip(edges[:-1], edges[1:])]


def run_concurrently(jobs: Sequence[Callable[[], T]], pool: ThreadPoolExecutor | None) -> list[T]:
    """Every job's result, in order: the first job runs on this thread while the others run on
    ``pool`` (all here, one after the other, without a pool).  Every job has finished before
    an error from any of them is raised, so none is left writing into the caller's arrays."""
    if pool is None or len(jobs) == 1:
        return [job() for job in jobs]
    futures = [pool.submit(job) for job in jobs[1:]]
    try:
        first = jobs[0]()
    finally:
        outcomes = [future.exception() for future in futures]
    for error in outcomes:
        if error is not None:
            raise error
    return [first] + [future.result() for future in futures]


def run_on_cores(jobs: Sequence[Callable[[], T]]) -> list[T]:
    """:func:`run_concurrently` on the ops' worker threads, all with single-threaded BLAS and
    the GIL handed over every SWITCH_INTERVAL.  The jobs must not share scratch (each thread has
    its own) nor write the same memory.  A single job just runs here."""
    if len(jobs) == 1:
        return [jobs[0]()]
    with single_threaded_blas(), gil_switch_interval():
        return run_concurrently(jobs, _workers(len(jobs) - 1))
