"""How many threads BLAS runs on, as the ops need to know it.

Some ops shape their matrix products by it: with BLAS on several cores every GEMM call makes the
cores wait on each other at its end, so fewer, taller products pay; on one core, products whose
operands stay in cache do (see ``conv_winograd.MIN_ROWS``).  The data-parallel step
(:mod:`lemmata.parallel`) runs each shard with BLAS on one thread, through
:func:`single_threaded_blas`, which also records that it is in force.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator

__all__ = ["single_threaded_blas", "blas_single_threaded"]

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
