"""Memory for the big ops: recycled output arrays, scratch buffers and batch chunks.

Measured facts that shape how the convolution, pooling and activation ops touch memory:

* A fresh large array costs about as much again as one pass over it: the C allocator hands
  large freed blocks back to the kernel, which zeroes each new page on first touch, and two
  threads faulting pages at once contend for the process's memory map.  A training step
  allocates the same activations and gradients step after step, so the ops take their large
  outputs from a per-thread pool of recycled buffers (:func:`empty`): the two-thread NiN step
  went from 124 to 184 img/s.  A buffer is free again when no array uses it any more (its
  reference count says so), so recycling never changes what a program computes.  (Telling
  glibc to keep freed memory, ``mallopt``, works as well but is process-wide: it made PyTorch
  in the same process 30–50 % faster too.)
* Intermediate matrices that never leave an op (im2col columns, col2im accumulators) live in
  per-thread scratch buffers reused from call to call (:func:`scratch`).
* Memory bandwidth (12–15 GB/s per core) bounds everything that is not a matrix product.  Working
  through the batch in chunks whose intermediates stay in cache, instead of materialising e.g.
  the whole (N·P, K·C) column matrix (315 MB for NiN's 5×5 layer at batch 128), makes those
  passes cheap and bounds scratch memory by the chunk, not the batch (:func:`batch_chunks`).

Everything here is thread-local, so data-parallel worker threads (:mod:`lemmata.parallel`) never
share a buffer.  All of it is for host memory: asked for an array ``like`` a device array (a CuPy
array on a GPU), these functions make a fresh one on that device, whose library keeps its own pool
of device memory.
"""
from __future__ import annotations

import math
import sys
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterator, Sequence

import numpy as np

__all__ = ["CHUNK_BYTES", "POOL_MIN_BYTES", "POOL_MAX_BYTES", "scratch", "scratch_like", "empty",
           "empty_like", "batch_chunks", "release_scratch", "rows_per_run", "channels_last",
           "channels_first", "in_blocks", "in_layout_of", "zeros_like"]

#: the size an op aims for when it splits the batch: the intermediates of one chunk.  At 8 MB
#: (when outputs were pooled from 8 MB on) some chunk-sized arrays reached POOL_MIN_BYTES and
#: stayed pooled: the NiN step's peak memory
#: (two threads, batch 128) was 895 MB, at 6 / 4 / 2 MB 864 / 860 / 856 MB; the serial NiN and
#: Net steps and the conv suite's im2col shapes ran as fast at 4 MB as at 8 (±2 %).
CHUNK_BYTES = 4 << 20
#: outputs at least this large are recycled.  Below 8 MB, malloc's reuse depends on the
#: process's history: in a fresh process LeNet-5's serial step (batch 128) faulted 1,775 pages a
#: step and took 28.5 ms, against 2 faults and 19–23 ms with 256 KB; the NiN step's peak rose
#: 697 → 720 MB (and 1 MB pooled as much)
POOL_MIN_BYTES = 256 << 10
#: idle recycled buffers beyond this many bytes per thread are released, least recently used
#: sizes first
POOL_MAX_BYTES = 2 << 30

_local = threading.local()


def _size(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _on_device(like: Any) -> bool:
    """Whether ``like`` is a device array (anything but a NumPy array or None)."""
    return like is not None and not isinstance(like, np.ndarray)


def scratch(role: str, shape: Sequence[int], dtype: Any, like: Any = None) -> np.ndarray:
    """A reusable uninitialised array of ``shape`` for this thread.

    One buffer per (role, dtype), grown when a call needs more.  The caller owns it until its
    next call with the same role, so a scratch array must never escape the op that asked for it.
    The convolution routes share their roles ("conv-columns" for the im2col columns or the
    Winograd input tiles, "conv-products" for the matrix products that follow), since no call
    needs two routes' buffers at once: that held 21 MB less per thread on the NiN step.
    """
    if _on_device(like):
        return np.empty(shape, dtype, like=like)
    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in shape)
    size = _size(shape)
    buffers = _local.__dict__.setdefault("buffers", {})
    buffer = buffers.get((role, dtype))
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, dtype=dtype)
        buffers[(role, dtype)] = buffer
    return buffer[:size].reshape(shape)


def _references(buffer: np.ndarray) -> int:
    return sys.getrefcount(buffer)


def _idle_references() -> int:
    """What :func:`_references` reports for a pooled buffer that no array views: the bucket
    list, the loop variable, the parameter and getrefcount's argument (measured, not assumed)."""
    bucket = [np.empty(1, dtype=np.uint8)]
    for buffer in bucket:
        return _references(buffer)
    raise AssertionError  # pragma: no cover


_IDLE = _idle_references()


def _memory_order(array: np.ndarray) -> list[int]:
    """The axes of ``array`` from the slowest-varying in memory to the fastest."""
    return sorted(range(array.ndim), key=lambda axis: -abs(array.strides[axis]))


def in_layout_of(array: np.ndarray, make: Callable[[tuple[int, ...]], np.ndarray]) -> np.ndarray:
    """``make(shape)``, a C-ordered array of ``array``'s shape with its axes in ``array``'s
    memory order, seen with the original axis order: an array shaped and laid out like
    ``array`` (an NCHW view of channels-last memory gets one too).  The inverse permutation is
    made in plain Python: np.argsort of a list costs more than the transpose itself."""
    order = _memory_order(array)
    memory = make(tuple(array.shape[axis] for axis in order))
    inverse = [0] * len(order)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return memory.transpose(inverse)


def scratch_like(role: str, array: np.ndarray, dtype: Any) -> np.ndarray:
    """:func:`scratch` with ``array``'s shape and memory order."""
    return in_layout_of(array, lambda shape: scratch(role, shape, dtype, like=array))


#: the most elements :func:`zeros_like` serves (a 4 MB float32 array, read-only, made once per
#: dtype; calloc maps it to the zero page, so reading it costs no memory traffic)
ZEROS_ELEMENTS = 1 << 20
_zeros: dict[np.dtype, np.ndarray] = {}


def zeros_like(array: np.ndarray) -> np.ndarray | None:
    """A read-only zero array with ``array``'s shape, dtype and memory order, or None when it has
    more than ZEROS_ELEMENTS elements.  For ufuncs that take a zero operand: NumPy runs a
    broadcast scalar operand in a plain loop, a same-layout array one in SIMD (see ReLU).  None
    for a device array too: a GPU runs the scalar as fast."""
    if array.size > ZEROS_ELEMENTS or _on_device(array):
        return None
    flat = _zeros.get(array.dtype)
    if flat is None:
        flat = np.zeros(ZEROS_ELEMENTS, dtype=array.dtype)
        flat.flags.writeable = False
        flat = _zeros.setdefault(array.dtype, flat)
    if array.flags.c_contiguous:
        return flat[:array.size].reshape(array.shape)
    return in_layout_of(array, flat[:array.size].reshape)


def _idle(buffer: np.ndarray) -> bool:
    """True when no array views ``buffer`` (every view holds a reference to it)."""
    return _references(buffer) <= _IDLE + 1


def empty(shape: Sequence[int], dtype: Any, like: Any = None) -> np.ndarray:
    """An uninitialised C-ordered array, recycled from this thread's pool when it is large.

    The array is a view of a pooled byte buffer: the smallest idle one that holds it, unless
    that wastes more than three quarters of it.  A buffer is handed out again only once every
    view of it (and every view of a view) is gone.  A new buffer takes the largest size already
    pooled below twice the request, not the request's own: a training step's arrays come in a
    few sizes that differ by less than that (NiN's 192-, 160- and 96-channel maps), and with a
    size per array the pool ended a step holding, idle, the smaller sizes that a larger request
    could not use.  The NiN step (batch 128, two threads) peaked at 840 MB with a size per
    array, at 764 / 700 / 699 MB taking sizes below 1.5 / 1.6 / 2 times the request.
    """
    if _on_device(like):
        return np.empty(shape, dtype, like=like)
    dtype = np.dtype(dtype)
    shape = tuple(map(int, shape))
    nbytes = _size(shape) * dtype.itemsize
    if nbytes < POOL_MIN_BYTES:
        return np.empty(shape, dtype=dtype)
    pool: OrderedDict = _local.__dict__.setdefault("pool", OrderedDict())
    chosen = None
    for capacity in sorted(c for c in pool if nbytes <= c < 4 * nbytes):
        for buffer in pool[capacity]:
            if _idle(buffer):
                chosen = buffer
                break
        if chosen is not None:
            pool.move_to_end(capacity)
            break
    if chosen is None:
        _trim(pool, POOL_MAX_BYTES - nbytes)
        # the largest size already pooled below twice the request: fewer distinct sizes, so a
        # buffer freed by one array can serve a later, somewhat larger one
        capacity = max((c for c in pool if nbytes < c < 2 * nbytes), default=nbytes)
        chosen = np.empty(capacity, dtype=np.uint8)
        pool.setdefault(capacity, []).append(chosen)
        pool.move_to_end(capacity)
    # one constructor call instead of a slice, a view and a reshape (a LeNet-5 step asks 34
    # times); the array's base is the pooled buffer either way
    return np.ndarray(shape, dtype, buffer=chosen)


def empty_like(array: np.ndarray, dtype: Any = None) -> np.ndarray:
    """:func:`empty` with ``array``'s shape and memory order (an NCHW view of channels-last
    memory gets one too), so that elementwise passes between them stream through memory."""
    dtype = array.dtype if dtype is None else np.dtype(dtype)
    if array.ndim < 2 or array.flags.c_contiguous:
        return empty(array.shape, dtype, like=array)
    return in_layout_of(array, lambda shape: empty(shape, dtype, like=array))


def _trim(pool: OrderedDict, budget: int) -> None:
    """Release idle buffers, least recently used sizes first, until the pool holds at most
    ``budget`` bytes."""
    held = sum(buffer.nbytes for bucket in pool.values() for buffer in bucket)
    for nbytes in list(pool):
        if held <= budget:
            break
        kept = []
        for buffer in pool[nbytes]:
            if held > budget and _idle(buffer):
                held -= nbytes
            else:
                kept.append(buffer)
        if kept:
            pool[nbytes] = kept
        else:
            del pool[nbytes]


def release_scratch() -> None:
    """Free this thread's scratch buffers and its idle recycled buffers (rebuilt on demand)."""
    _local.__dict__.pop("buffers", None)
    pool = _local.__dict__.get("pool")
    if pool is not None:
        _trim(pool, 0)


def batch_chunks(n: int, bytes_per_item: int, minimum: int = 1) -> list[slice]:
    """Slices of range(n), each covering as many items as fit in ``CHUNK_BYTES``, but at least
    ``minimum`` (and at least one)."""
    step = max(1, minimum, CHUNK_BYTES // max(int(bytes_per_item), 1))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


#: NumPy's inner loops should run over at least this many contiguous entries
RUN_LENGTH = 128


def rows_per_run(rows: int, width: int) -> int:
    """How many consecutive rows of ``width`` contiguous entries to treat as one row, so that an
    elementwise pass or a reduction over rows runs over ~RUN_LENGTH entries at a time instead of
    ``width`` (a channels-last array with few channels: NumPy's per-row overhead dominates rows
    of 6 floats).  The largest k ≤ RUN_LENGTH / width that divides ``rows``; 1 when none does."""
    for k in range(min(rows, RUN_LENGTH // max(width, 1)), 1, -1):
        if rows % k == 0:
            return k
    return 1


# The layout views are plain transposes with their axes spelled out: np.moveaxis normalises its
# arguments in Python, 5.2 µs a call against 0.8 µs, and a LeNet-5 step made 64 such calls
# (0.3 ms of a 12 ms step).


def channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *S) → (N, *S, C), a view."""
    return x.transpose((0,) + tuple(range(2, x.ndim)) + (1,))


def channels_first(x: np.ndarray) -> np.ndarray:
    """(N, *S, C) → (N, C, *S), a view (the memory stays channels-last)."""
    return x.transpose((0, x.ndim - 1) + tuple(range(1, x.ndim - 1)))


#: elements per block of :func:`in_blocks`: the blocks of a parameter, its gradient and its
#: optimizer state (2 MiB each in float32) stay in the last-level cache through the whole update,
#: while the few NumPy calls per block are cheap next to the data they cover.  Blocks of 2¹⁷
#: elements meant four times as many calls, and with two threads updating at once (the
#: data-parallel step) their GIL hand-overs made the update slower than whole-array passes.
#: The data-parallel gradient sum of Net's 16.8 M-entry weight, two shards: 2¹⁵-element blocks
#: 13–17 ms, 2¹⁹ 11–12 ms.
BLOCK_ELEMENTS = 1 << 19


def in_blocks(*arrays: np.ndarray | None) -> Iterator[tuple[np.ndarray | None, ...]]:
    """Matching blocks of same-shape arrays (None passes through as None), so that work that
    makes several elementwise passes (an optimizer's update, a sum of gradients) makes them over
    one cache-sized block at a time: one trip through memory instead of one per pass.  Arrays
    that are not all C-contiguous come as one block, whole.  Elementwise arithmetic gives the
    same numbers either way.

    SGD with momentum on Net (seed 002), 32.8 M parameters, medians of 15 alternating rounds:
    one thread 80 → 67 ms, shared by two threads 65 → 61 ms (the memory traffic, five passes
    of 131 MB, is most of what is left)."""
    present = [a for a in arrays if a is not None]
    size = present[0].size if present else 0
    if size <= BLOCK_ELEMENTS or not all(a.flags.c_contiguous for a in present):
        yield arrays
        return
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    for start in range(0, size, BLOCK_ELEMENTS):
        yield tuple(None if a is None else a[start:start + BLOCK_ELEMENTS] for a in flat)
