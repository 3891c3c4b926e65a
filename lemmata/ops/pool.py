"""Pooling: max, average and adaptive pooling over 1, 2 or 3 spatial dims, as PyTorch.

Output size per spatial dim (kernel k, stride s, padding p, dilation d):

    out = ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1          (⌈·⌉ with ceil_mode, except that the last
                                                       window must start inside the input or its
                                                       left padding)

Max pooling is a gather: y = x[argmax of each window], the window padded with −inf and compared on
the real part (holomorphic: a complex input keeps the entry whose real part is largest).  Its
backward scatters g back to the argmax positions (WindowScatter), whose own backward is the gather
again (WindowGather), so double backward works.  Ties go to the first maximum in the window, as
PyTorch.  Both run per batch chunk and kernel tap on the tap's in-range slices (no padded copy of
the input): the forward copies each tap's strided view once into a contiguous array and keeps a
running maximum and, in one byte per output, the tap where it sits; the backward adds g times the
mask "argmax is this tap" at the tap's input positions (a mask multiply is 4–5× faster than a
masked add).  Strided passes cost 15× a contiguous one at LeNet-5's six channels, so each tap
makes only one, copying each position's channels as a single record (:func:`_copy_windows`).
Outputs are channels-last in memory, like the convolutions'.

Average pooling is linear and separable: a window sum along each spatial dim, then a division by
the window's divisor.  Its backward is its adjoint (WindowAverageAdjoint: division, then the
transposed window sums, i.e. shifted-slice adds), whose backward is the average pooling again.
Adaptive average pooling is the same with per-dim windows start = ⌊i·in/out⌋, end = ⌈(i+1)·in/out⌉.
"""
from __future__ import annotations

import builtins
import functools
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .. import backend, dtypes
from ..autograd import Function
from ..tensor import Tensor
from .arguments import int_tuple, real
from .workspace import batch_chunks, channels_first, channels_last, empty, scratch

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d", "Argmax", "MaxPool", "WindowGather",
    "WindowScatter", "WindowAverage", "WindowAverageAdjoint",
]


# ------------------------------------------------------------------------------ layout helpers


def _zeros_channels_last(shape: Sequence[int], dtype: Any, fill: Any = 0,
                         like: Any = None) -> np.ndarray:
    """An (N, C, *S) array whose memory is (N, *S, C), like the convolutions' outputs (recycled
    memory, filled with ``fill`` unless it is None), on the device of ``like``."""
    shape = tuple(shape)
    array = empty((shape[0],) + shape[2:] + (shape[1],), dtype, like=like)
    if fill is not None:
        array.fill(fill)
    return channels_first(array)


def _as_channels_last(x: np.ndarray) -> np.ndarray:
    """x (N, C, *S) itself if its memory is (N, *S, C), else a copy that is: passes between it
    and the channels-last pooling buffers then stream through memory together.  A gradient
    reshaped back from a Flatten arrives as NCHW: LeNet-5's second pool's backward took
    0.43 ms with it as it was, 0.18 ms with the copy."""
    last = channels_last(x)
    return x if last.flags.c_contiguous else channels_first(np.ascontiguousarray(last, like=last))


def _copy_windows(dst: np.ndarray, src: np.ndarray) -> None:
    """dst[...] = src for (N, C, *S) arrays laid out channels-last, e.g. a kernel tap's strided
    view of the input and a contiguous scratch array.  Such a view's contiguous runs are one
    position's C channels, and NumPy's copy loops over runs of C elements; seen as one element of
    C·itemsize bytes per position it copies far fewer, longer runs (LeNet-5's first pool, C = 6:
    59 → 35 µs per tap)."""
    a, b = channels_last(dst), channels_last(src)
    if isinstance(src, np.ndarray) and a.strides[-1] == b.strides[-1] == src.itemsize:
        record = np.dtype((np.void, a.shape[-1] * src.itemsize))
        a, b = a.view(record), b.view(record)
    np.copyto(a, b)


def _scratch_channels_last(role: str, shape: Sequence[int], dtype: Any,
                           like: Any = None) -> np.ndarray:
    """A scratch (N, C, *S) array laid out (N, *S, C) like the pooling outputs, so that every
    elementwise pass between them streams through memory."""
    shape = tuple(shape)
    return channels_first(scratch(role, shape[:1] + shape[2:] + shape[1:2], dtype, like=like))



@dataclass(frozen=True)
class PoolGeometry:
    """Windows of a regular pool: per spatial dim, window p covers the padded positions
    p·s + j·d for j < k; ``padding`` is the left padding (PyTorch pads both sides by it, and
    ceil_mode may need more on the right, which ``padded_size`` provides)."""

    in_size: tuple[int, ...]
    out_size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]

    @property
    def padded_size(self) -> tuple[int, ...]:
        return tuple(builtins.max((o - 1) * s + d * (k - 1) + 1, n + p) for o, s, d, k, n, p in
                     zip(self.out_size, self.stride, self.dilation, self.kernel, self.in_size,
                         self.padding))

    def window_slices(self, offset: Sequence[int]) -> tuple[slice, ...]:
        return tuple(builtins.slice(j * d, j * d + (o - 1) * s + 1, s) for j, d, o, s in
                     zip(offset, self.dilation, self.out_size, self.stride))

    def tap_ranges(self, tap: Sequence[int]) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
        """Where kernel tap ``tap`` lands inside the input (not in the padding): the output
        positions p with 0 ≤ p·s − pad + j·d < n, and the input positions they read, as slices
        per spatial dim; None when the tap only ever meets padding.  Working on these ranges
        needs no padded copy of the input (ceil_mode alone would otherwise force one)."""
        outs, ins = [], []
        for j, n, o, s, p, d in zip(tap, self.in_size, self.out_size, self.stride,
                                    self.padding, self.dilation):
            start = j * d - p                      # the input position output 0's tap reads
            lo, hi = builtins.max(0, -(start // s)), builtins.min(o - 1, (n - 1 - start) // s)
            if hi < lo:
                return None
            outs.append(builtins.slice(lo, hi + 1))
            ins.append(builtins.slice(start + lo * s, start + hi * s + 1, s))
        return tuple(outs), tuple(ins)

    @property
    def taps(self) -> tuple[tuple[int, tuple[slice, ...], tuple[slice, ...]], ...]:
        """(k, output slices, input slices) of every kernel tap that meets the input, k its
        offset in the kernel (row-major): :meth:`tap_ranges` for the whole kernel."""
        return _taps(self)

    @property
    def tiling(self) -> bool:
        """True when the windows cover the input exactly once (stride = kernel, no padding or
        dilation, the size a multiple of the kernel): each input entry lies in one window."""
        return all(s == k and p == 0 and d == 1 and o * k == n for n, o, k, s, p, d in zip(
            self.in_size, self.out_size, self.kernel, self.stride, self.padding, self.dilation))

    @property
    def overlapping(self) -> bool:
        """True when some input entry lies in two windows."""
        return any(s < d * (k - 1) + 1 for s, d, k in zip(self.stride, self.dilation,
                                                             self.kernel))


@functools.lru_cache(maxsize=128)
def _taps(geometry: PoolGeometry) -> tuple[tuple[int, tuple[slice, ...], tuple[slice, ...]], ...]:
    # cached by value: a pool makes its geometry anew at every call, and the slices took 3 µs
    # a tap (LeNet-5's step asks for 16 taps' slices)
    taps = ((k, geometry.tap_ranges(tap)) for k, tap in enumerate(np.ndindex(*geometry.kernel)))
    return tuple((k, *ranges) for k, ranges in taps if ranges is not None)


def _pad(x: np.ndarray, geometry: PoolGeometry, fill: Any) -> np.ndarray:
    """x (N, C, *S) inside a (N, C, *padded) array of ``fill`` (no copy when nothing is added)."""
    padded = geometry.padded_size
    if padded == tuple(x.shape[2:]):
        return x
    out = _zeros_channels_last(x.shape[:2] + padded, x.dtype, fill, like=x)
    out[(builtins.slice(None),) * 2 + tuple(
        builtins.slice(p, p + n) for p, n in zip(geometry.padding, geometry.in_size))] = x
    return out


def _flat_plane_index(coordinates: Sequence[np.ndarray], in_size: Sequence[int]) -> np.ndarray:
    """Row-major flat index into one channel's input plane, as PyTorch's return_indices."""
    flat = 0
    for coordinate, n in zip(coordinates, in_size):
        flat = flat * n + coordinate
    return flat


# ------------------------------------------------------------------------------ gather / scatter


class Argmax:
    """Where each pooled value came from, as ``flat``: indices into each (n, c) plane of the
    input (PyTorch's return_indices).

    Regular pools keep the winning kernel ``offset`` per output entry and their ``geometry``
    (the scatter is then a few shifted-slice adds) and compute ``flat`` only when asked;
    adaptive pools give ``flat`` directly and scatter by a bincount.
    """

    def __init__(self, in_shape: tuple[int, ...], flat: np.ndarray | None = None,
                 geometry: PoolGeometry | None = None, offset: np.ndarray | None = None) -> None:
        self.in_shape, self.geometry, self.offset = tuple(in_shape), geometry, offset
        self._flat = flat

    @property
    def flat(self) -> np.ndarray:
        if self._flat is None:
            geometry = self.geometry
            taps = np.unravel_index(self.offset, geometry.kernel)
            coordinates = []
            for axis, (tap, s, p, d) in enumerate(zip(taps, geometry.stride, geometry.padding,
                                                      geometry.dilation)):
                position = np.arange(geometry.out_size[axis], like=self.offset).reshape(
                    (-1,) + (1,) * (len(geometry.out_size) - axis - 1))
                coordinates.append(position * s - p + tap.astype(np.int64) * d)
            self._flat = _flat_plane_index(coordinates, geometry.in_size)
        return self._flat


def _gather(x: np.ndarray, where: Argmax) -> np.ndarray:
    n, c = x.shape[:2]
    planes = x.reshape(n, c, math.prod(x.shape[2:]))
    flat = where.flat
    outputs = math.prod(flat.shape[2:])
    out = np.take_along_axis(planes, flat.reshape(n, c, outputs), axis=2)
    return out.reshape(flat.shape)


def _scatter(g: np.ndarray, where: Argmax) -> np.ndarray:
    """zeros(in_shape) with g added at the argmax positions (entries picked twice add up)."""
    shape, geometry = where.in_shape, where.geometry
    n, c = shape[:2]
    if geometry is None:
        # adaptive windows may share entries: one bincount over (plane, position) sums them
        plane = math.prod(shape[2:])
        keys = (np.arange(n * c, like=g).reshape(n, c, *([1] * (g.ndim - 2))) * plane
                + where.flat).ravel()

        def summed(values: np.ndarray) -> np.ndarray:
            return np.bincount(keys, weights=values.ravel(), minlength=n * c * plane)

        out = summed(g.real) + 1j * summed(g.imag) if g.dtype.kind == "c" else summed(g)
        return out.astype(g.dtype, copy=False).reshape(shape)
    # regular windows: per batch chunk and kernel tap, g times the mask "argmax is this tap"
    # added (or, for disjoint windows, written) at the tap's input positions.  Multiplying by a
    # mask is 4–5× faster than a masked add (np.add(..., where=)); never np.add.at.
    # where the windows tile the input, the taps below write every entry
    out = _zeros_channels_last(shape, g.dtype, None if geometry.tiling else 0, like=g)
    g = _as_channels_last(g)
    every = (builtins.slice(None),) * 2
    image_bytes = math.prod(shape[2:]) * c * g.dtype.itemsize
    for rows in batch_chunks(n, image_bytes):
        offset, grad, image = where.offset[rows], g[rows], out[rows]
        masks = _scratch_channels_last("pool-mask", offset.shape, bool, like=g)
        products = _scratch_channels_last("pool-grad", offset.shape, g.dtype, like=g)
        for k, tap_outs, tap_ins in geometry.taps:
            outs, ins = every + tap_outs, every + tap_ins
            chosen = np.equal(offset[outs], k, out=masks[outs])
            picked = np.multiply(grad[outs], chosen, out=products[outs])
            if geometry.overlapping:
                image[ins] += picked
            else:
                _copy_windows(image[ins], picked)
    return out


class WindowGather(Function):
    """y = x at the argmax positions (max pooling once the argmax is known).

    ``values`` may pass the gathered array when the argmax search produced it already.
    Backward: WindowScatter of g to the same positions.
    """

    @staticmethod
    def forward(ctx, x, *, where, values=None):
        ctx.where = where
        return _gather(x, where) if values is None else values

    @staticmethod
    def backward(ctx, g):
        return WindowScatter.apply(g, where=ctx.where)


class WindowScatter(Function):
    """zeros(input shape) with g added at the argmax positions: max pooling's backward.

    Backward (linear, adjoint of the gather): WindowGather of the incoming gradient.
    """

    @staticmethod
    def forward(ctx, g, *, where):
        ctx.where = where
        return _scatter(g, where)

    @staticmethod
    def backward(ctx, h):
        return WindowGather.apply(h, where=ctx.where)


# ------------------------------------------------------------------------------ window averages


@dataclass(frozen=True)
class RegularWindows:
    """Window sums along one axis: out[p] = Σ_(j<k) x_pad[p·s + j] (zero padding ``before``)."""

    size: int
    out: int
    kernel: int
    stride: int
    before: int

    @property
    def padded(self) -> int:
        return builtins.max((self.out - 1) * self.stride + self.kernel, self.size + self.before)

    @property
    def tiling(self) -> bool:
        """True when every position lies in exactly one window (stride = kernel, no padding)."""
        return self.stride == self.kernel and self.before == 0 and \
            self.out * self.kernel == self.size

    def _window_taps(self, x: np.ndarray, axis: int) -> list[np.ndarray]:
        """The k views x_pad[j + p·s] (over p), one per offset j in the window."""
        return [_take(x, axis, builtins.slice(j, j + (self.out - 1) * self.stride + 1,
                                              self.stride)) for j in range(self.kernel)]

    def sum(self, x: np.ndarray, axis: int) -> np.ndarray:
        taps = self._window_taps(_pad_axis(x, axis, self.before, self.padded), axis)
        # results laid out like x (NumPy's default order "K"): channels-last stays so
        out = np.add(taps[0], taps[1]) if len(taps) > 1 else taps[0].copy(order="K")
        for tap in taps[2:]:
            out += tap
        return out

    def adjoint(self, g: np.ndarray, axis: int) -> np.ndarray:
        shape = list(g.shape)
        shape[axis] = self.padded
        # laid out like g; where the windows tile the axis each tap writes its positions once
        buffer = (np.empty_like if self.tiling else np.zeros_like)(g, shape=shape)
        for tap in self._window_taps(buffer, axis):
            if self.tiling:
                tap[...] = g
            else:
                tap += g
        return _take(buffer, axis, builtins.slice(self.before, self.before + self.size))


@dataclass(frozen=True)
class AdaptiveWindows:
    """Window sums along one axis with windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉): a 0/1 matrix."""

    size: int
    out: int

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        i = np.arange(self.out)
        return (i * self.size) // self.out, -((-(i + 1) * self.size) // self.out)

    def matrix(self, dtype: Any) -> np.ndarray:
        start, end = self.bounds
        j = np.arange(self.size)
        return ((j >= start[:, None]) & (j < end[:, None])).astype(dtype)

    def sum(self, x: np.ndarray, axis: int) -> np.ndarray:
        moved = np.moveaxis(x, axis, -1)
        return np.moveaxis(moved @ backend.like(self.matrix(x.dtype).T, x), -1, axis)

    def adjoint(self, g: np.ndarray, axis: int) -> np.ndarray:
        moved = np.moveaxis(g, axis, -1)
        return np.moveaxis(moved @ backend.like(self.matrix(g.dtype), g), -1, axis)


def _take(x: np.ndarray, axis: int, index: slice) -> np.ndarray:
    return x[(builtins.slice(None),) * axis + (index,)]


def _pad_axis(x: np.ndarray, axis: int, before: int, total: int) -> np.ndarray:
    """x with zeros around it along ``axis``: ``before`` in front, up to length ``total``."""
    if before == 0 and total == x.shape[axis]:
        return x
    shape = list(x.shape)
    shape[axis] = total
    out = np.zeros_like(x, shape=shape)
    _take(out, axis, builtins.slice(before, before + x.shape[axis]))[...] = x
    return out


@dataclass(frozen=True)
class Averaging:
    """A separable averaging: per spatial dim a window-sum operator, then division by
    ``divisor`` (broadcastable to the output's spatial shape)."""

    windows: tuple[RegularWindows | AdaptiveWindows, ...]
    divisor: np.ndarray

    def divide(self, y: np.ndarray) -> np.ndarray:
        real_dtype = y.real.dtype if y.dtype.kind == "c" else y.dtype
        return y / backend.like(self.divisor.astype(real_dtype), y)


class WindowAverage(Function):
    """y = (Σ over each window of x) / divisor, a window sum per spatial dim then a division.

    Backward (linear): WindowAverageAdjoint of g.
    """

    @staticmethod
    def forward(ctx, x, *, averaging):
        ctx.averaging = averaging
        for axis, windows in enumerate(averaging.windows, start=2):
            x = windows.sum(x, axis)
        return averaging.divide(x)

    @staticmethod
    def backward(ctx, g):
        return WindowAverageAdjoint.apply(g, averaging=ctx.averaging)


class WindowAverageAdjoint(Function):
    """The adjoint of WindowAverage: g / divisor spread back over each window (shifted-slice
    adds per spatial dim).  Backward (linear): WindowAverage of the incoming gradient."""

    @staticmethod
    def forward(ctx, g, *, averaging):
        ctx.averaging = averaging
        g = averaging.divide(g)
        for axis, windows in enumerate(averaging.windows, start=2):
            g = windows.adjoint(g, axis)
        return g

    @staticmethod
    def backward(ctx, h):
        return WindowAverage.apply(h, averaging=ctx.averaging)


# ------------------------------------------------------------------------------ arguments


def _check_input(input: Any, nd: int, op: str, integers: bool = False) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                           f"but got input of shape {tuple(input.shape)}")
    if input.dtype.kind not in ("fciu" if integers else "fc"):
        raise TypeError(f"{op}: input must be floating point or complex, got "
                        f"{dtypes.dtype_name(input.dtype)} (shape {tuple(input.shape)})")
    if any(n == 0 for n in input.shape[-nd - 1:]):
        raise RuntimeError(f"{op}: expected non-empty channel and spatial dims, got input of "
                           f"shape {tuple(input.shape)}")
    return input


def _pool_geometry(input: Tensor, nd: int, kernel_size: Any, stride: Any, padding: Any,
                   dilation: Any, ceil_mode: bool, op: str) -> PoolGeometry:
    kernel = int_tuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else int_tuple(stride, nd, "stride", op)
    pads = int_tuple(padding, nd, "padding", op)
    dilation = int_tuple(dilation, nd, "dilation", op)
    for name, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if any(v <= 0 for v in values):
            raise ValueError(f"{op}: {name} must be greater than zero, but got {name}={values}")
    if any(p < 0 for p in pads):
        raise ValueError(f"{op}: padding must be non-negative, got padding={pads}")
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(f"{op}: pad should be at most half of kernel size, but got "
                         f"padding={pads} for kernel_size={kernel}")
    in_size = tuple(input.shape[-nd:])
    out_size = []
    for n, k, s, p, d in zip(in_size, kernel, stride, pads, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1  # the last window must start inside the input or the left padding
        out_size.append(o)
    if any(o < 1 for o in out_size):
        raise RuntimeError(f"{op}: given input of shape {tuple(input.shape)}, the calculated "
                           f"output size {tuple(out_size)} is too small (kernel_size={kernel}, "
                           f"stride={stride}, padding={pads}, dilation={dilation})")
    for axis, (n, o, k, s, p, d) in enumerate(zip(in_size, out_size, kernel, stride, pads,
                                                   dilation)):
        # with dilation the taps of a window can straddle a small input and all land in the
        # padding: such a window has no entry to take (PyTorch reads out of bounds there).
        # Without it a window holds k consecutive positions, at most k // 2 of them padding.
        if d == 1:
            continue
        taps = np.arange(o)[:, None] * s - p + np.arange(k)[None, :] * d
        empty = ~((taps >= 0) & (taps < n)).any(axis=1)
        if empty.any():
            raise RuntimeError(f"{op}: window {int(np.argmax(empty))} along spatial dim {axis} "
                               f"covers only padding (input of shape {tuple(input.shape)}, "
                               f"kernel_size={kernel}, stride={stride}, padding={pads}, "
                               f"dilation={dilation})")
    return PoolGeometry(in_size, tuple(out_size), kernel, stride, pads, dilation)


def _batched(input: Tensor, nd: int) -> tuple[Tensor, bool]:
    if input.ndim == nd + 2:
        return input, True
    return input.reshape((1,) + tuple(input.shape)), False


def _unbatch(y: Tensor, batched: bool) -> Tensor:
    return y if batched else y.reshape(tuple(y.shape[1:]))


def _lowest(dtype: np.dtype) -> Any:
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


# ------------------------------------------------------------------------------ max pooling


def _first_taps(geometry: PoolGeometry, shape: tuple[int, ...], dtype: Any,
                like: np.ndarray) -> np.ndarray:
    """Each window's first non-padding tap (where PyTorch's kernel starts its search), as a
    kernel offset per output entry, on the device of ``like``."""
    first = []
    for o, s, p, d in zip(geometry.out_size, geometry.stride, geometry.padding,
                          geometry.dilation):
        start = np.arange(o) * s - p
        first.append(np.where(start < 0, -(start // d), 0))     # ⌈−start/d⌉ taps are padding
    offset = np.ravel_multi_index(np.ix_(*first), geometry.kernel).astype(dtype)
    return np.broadcast_to(backend.like(offset, like), shape)


def _max_windows(x: np.ndarray, geometry: PoolGeometry) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each window (by real part) and the kernel offset where it sits.

    A running maximum over kernel offsets, per batch chunk, on each tap's in-range slices (no
    padded copy).  The offset moves only where a later entry is strictly larger, so ties go to
    the first maximum; it starts at each window's first non-padding tap, as PyTorch's kernel.
    Since the offsets come in increasing order, "offset ← k where better" is a maximum with
    k·better (a 1-byte pass instead of a 20× slower masked copy).  A chunk holding NaN, and
    complex input (compared by real part), take the exact masked-copy path.
    """
    lowest = _lowest(x.dtype)
    shape = x.shape[:2] + geometry.out_size
    every = (builtins.slice(None),) * 2
    taps = geometry.taps
    # when the first tap lies inside the input for every window (no left padding), the running
    # maximum starts as a copy of it rather than from −inf
    first_covers = taps[0][0] == 0 and all(
        r.start == 0 and r.stop == n for r, n in zip(taps[0][1], geometry.out_size))
    best = _zeros_channels_last(shape, x.dtype, None if first_covers else lowest, like=x)
    offset = _zeros_channels_last(shape, np.min_scalar_type(int(np.prod(geometry.kernel))),
                                  like=x)
    offset[...] = 0 if first_covers else _first_taps(geometry, shape[2:], offset.dtype, x)
    image_bytes = math.prod(x.shape[1:]) * x.dtype.itemsize
    for rows in batch_chunks(x.shape[0], image_bytes):
        if x.dtype.kind == "c":
            if first_covers:
                best[rows] = lowest
            _exact_max_windows(x[rows], geometry, best[rows], offset[rows])
            continue
        image, top, where = x[rows], best[rows], offset[rows]
        if first_covers:
            _copy_windows(top, image[every + taps[0][2]])
        # work arrays shaped like the chunk's output; each tap takes the slice of its range
        pieces, masks, steps = (_scratch_channels_last(role, top.shape, dtype, like=x) for
                                role, dtype in (("pool-tap", x.dtype), ("pool-mask", bool),
                                                ("pool-offset", offset.dtype)))
        for k, tap_outs, tap_ins in taps[1:] if first_covers else taps:
            outs = every + tap_outs
            b, o, piece, better = top[outs], where[outs], pieces[outs], masks[outs]
            # the tap's strided view is read once, into a contiguous copy that the comparisons
            # then stream through (each strided pass costs as much as a copy)
            _copy_windows(piece, image[every + tap_ins])
            np.greater(piece, b, out=better)
            np.maximum(b, piece, out=b)
            np.maximum(o, np.multiply(better, o.dtype.type(k), out=steps[outs]), out=o)
        if x.dtype.kind == "f" and np.isnan(top).any():
            top.fill(lowest)
            where[...] = _first_taps(geometry, shape[2:], offset.dtype, x)
            _exact_max_windows(image, geometry, top, where)
    return best, offset


def _exact_max_windows(x: np.ndarray, geometry: PoolGeometry, best: np.ndarray,
                       offset: np.ndarray) -> None:
    """The running maximum by real part with masked copies, into ``best`` and ``offset``
    (initialised to the lowest value and the first taps): a NaN entry always wins, and a later
    NaN beats an earlier one, as in PyTorch's kernel."""
    padded = _pad(x, geometry, _lowest(x.dtype))
    best_real = real(best)
    floats = x.dtype.kind in "fc"
    for k, tap in enumerate(np.ndindex(*geometry.kernel)):
        piece = padded[(builtins.slice(None),) * 2 + geometry.window_slices(tap)]
        piece_real = real(piece)
        better = piece_real > best_real
        if floats:
            better |= np.isnan(piece_real)
        np.copyto(best, piece, where=better)
        np.copyto(offset, k, where=better)


class MaxPool(Function):
    """y = the maximum of each window of x (by real part; ties go to the first maximum), found
    by :func:`_max_windows`, which also records in ``where`` which tap won each window.

    Backward: WindowScatter of g to the winning positions (whose backward is WindowGather).
    """

    @staticmethod
    def forward(ctx, x, *, where):
        values, where.offset = _max_windows(x, where.geometry)
        ctx.where = where
        return values

    @staticmethod
    def backward(ctx, g):
        return WindowScatter.apply(g, where=ctx.where)


def _max_pool(nd: int, input: Tensor, kernel_size: Any, stride: Any, padding: Any,
              dilation: Any, ceil_mode: bool, return_indices: bool) -> Any:
    op = f"max_pool{nd}d"
    _check_input(input, nd, op, integers=True)
    geometry = _pool_geometry(input, nd, kernel_size, stride, padding, dilation, ceil_mode, op)
    x, batched = _batched(input, nd)
    where = Argmax(x.shape, geometry=geometry)
    y = _unbatch(MaxPool.apply(x, where=where), batched)
    if not return_indices:
        return y
    flat = where.flat
    indices = Tensor(np.ascontiguousarray(flat, like=flat))
    return y, _unbatch(indices, batched)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """y[n, c, p] = max over j < k of x_pad[n, c, p·s + j·d] (−inf padding, compared by real part;
    ties go to the first maximum).  ``return_indices`` also gives each maximum's index in its
    input row.  Backward: WindowScatter of g to the argmax positions."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """y[n, c, i, j] = max over the (k_h × k_w) window at (i·s_h, j·s_w) of x_pad (−inf padding,
    compared by real part; ties go to the first maximum in row-major window order).
    ``return_indices`` gives flat indices h·W + w into each channel's input plane, as PyTorch.
    Max pooling commutes with ReLU (both monotone), seed ryu22.q2.
    Backward: WindowScatter of g to the argmax positions (its backward is the gather again)."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The 3-D analogue of :func:`max_pool2d` over (N, C, D, H, W) or (C, D, H, W).
    Backward: WindowScatter of g to the argmax positions."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ------------------------------------------------------------------------------ average pooling


def _avg_pool(nd: int, input: Tensor, kernel_size: Any, stride: Any, padding: Any,
              ceil_mode: bool, count_include_pad: bool, divisor_override: Any) -> Tensor:
    op = f"avg_pool{nd}d"
    _check_input(input, nd, op)
    geometry = _pool_geometry(input, nd, kernel_size, stride, padding, 1, ceil_mode, op)
    if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(
            divisor_override, (int, np.integer)) or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero integer, got "
                         f"{divisor_override!r}")
    windows, counts = [], []
    for axis, (n, o, k, s, p) in enumerate(zip(geometry.in_size, geometry.out_size,
                                              geometry.kernel, geometry.stride,
                                              geometry.padding)):
        windows.append(RegularWindows(n, o, k, s, p))
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)      # windows stop at the right padding's end
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append((end - start).reshape((-1,) + (1,) * (nd - axis - 1)))
    if divisor_override is not None:
        divisor = np.asarray(float(divisor_override))
    else:
        divisor = np.ones((), dtype=np.float64)
        for count in counts:
            divisor = divisor * count
    x, batched = _batched(input, nd)
    y = WindowAverage.apply(x, averaging=Averaging(tuple(windows), divisor))
    return _unbatch(y, batched)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """y[n, c, p] = (Σ_(j<k) x_pad[n, c, p·s + j]) / divisor, zero padding; the divisor is k
    (clipped at the right padding's end in ceil_mode), or only the non-padding entries when
    count_include_pad=False.  Backward: WindowAverageAdjoint of g (its adjoint)."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each (k_h × k_w) window of the zero-padded input; the divisor is the window's
    area (clipped at the right padding's end in ceil_mode), its non-padding area when
    count_include_pad=False, or ``divisor_override``.  Separable: a window sum along H, then W.
    Backward: WindowAverageAdjoint of g (its adjoint)."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The 3-D analogue of :func:`avg_pool2d`.  Backward: WindowAverageAdjoint of g."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ------------------------------------------------------------------------------ adaptive pooling


def _adaptive_sizes(input: Tensor, nd: int, output_size: Any, op: str,
                    minimum: int) -> tuple[int, ...]:
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(items) == 1:
        items = items * nd
    in_size = tuple(input.shape[-nd:])
    if len(items) != nd or not all(v is None or (isinstance(v, (int, np.integer))
                                                 and not isinstance(v, bool)) for v in items):
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd} ints or None, got "
                         f"{output_size!r}")
    sizes = tuple(n if v is None else int(v) for v, n in zip(items, in_size))
    if any(v < minimum for v in sizes):
        raise ValueError(f"{op}: output_size must be at least {minimum}, got {sizes} (input "
                         f"{tuple(input.shape)})")
    return sizes


def _adaptive_avg_pool(nd: int, input: Tensor, output_size: Any) -> Tensor:
    op = f"adaptive_avg_pool{nd}d"
    _check_input(input, nd, op)
    out_size = _adaptive_sizes(input, nd, output_size, op, 0)
    windows = tuple(AdaptiveWindows(n, o) for n, o in zip(input.shape[-nd:], out_size))
    divisor = np.ones((), dtype=np.float64)
    for axis, w in enumerate(windows):
        start, end = w.bounds
        divisor = divisor * (end - start).reshape((-1,) + (1,) * (nd - axis - 1))
    x, batched = _batched(input, nd)
    return _unbatch(WindowAverage.apply(x, averaging=Averaging(windows, divisor)), batched)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average over ``output_size`` windows [⌊i·L/out⌋, ⌈(i+1)·L/out⌉) of (N, C, L) or (C, L).
    Backward: WindowAverageAdjoint of g."""
    return _adaptive_avg_pool(1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over windows [⌊i·H/out_h⌋, ⌈(i+1)·H/out_h⌉) × (likewise along W); output_size is
    an int or a pair whose None entries keep the input's size.  Global average pooling (NiN's
    head) is output_size 1.  Backward: WindowAverageAdjoint of g."""
    return _adaptive_avg_pool(2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """The 3-D analogue of :func:`adaptive_avg_pool2d`.  Backward: WindowAverageAdjoint of g."""
    return _adaptive_avg_pool(3, input, output_size)


def _adaptive_max_pool(nd: int, input: Tensor, output_size: Any, return_indices: bool) -> Any:
    op = f"adaptive_max_pool{nd}d"
    _check_input(input, nd, op, integers=True)
    out_size = _adaptive_sizes(input, nd, output_size, op, 1)
    x, batched = _batched(input, nd)
    data = x._data
    in_size = tuple(data.shape[2:])
    starts, lengths = [], []
    for n, o in zip(in_size, out_size):
        start, end = (backend.like(bound, data) for bound in AdaptiveWindows(n, o).bounds)
        starts.append(start)
        lengths.append(end - start)
    lowest = _lowest(data.dtype)
    shape = data.shape[:2] + out_size
    best = _zeros_channels_last(shape, data.dtype, lowest, like=data)
    best_real = real(best)
    flat = np.broadcast_to(_flat_plane_index(np.ix_(*starts), in_size), shape).copy()
    floats = data.dtype.kind in "fc"
    # a running max over window offsets (the longest window's); offsets past a shorter window's
    # end are masked out, so ties still go to the first maximum
    for tap in np.ndindex(*[int(length.max()) for length in lengths]):
        inside = np.ones((), dtype=bool, like=data)
        rows = []
        for axis, (j, start, length) in enumerate(zip(tap, starts, lengths)):
            rows.append(np.minimum(start + j, start + length - 1))
            inside = inside & (j < length).reshape((-1,) + (1,) * (nd - axis - 1))
        piece = data[(builtins.slice(None),) * 2 + np.ix_(*rows)]
        piece_real = real(piece)
        better = piece_real > best_real
        if floats:
            better |= np.isnan(piece_real)
        better &= inside
        np.copyto(best, piece, where=better)
        np.copyto(flat, np.broadcast_to(_flat_plane_index(np.ix_(*rows), in_size), shape),
                  where=better)
    where = Argmax(data.shape, flat=flat)
    y = _unbatch(WindowGather.apply(x, where=where, values=best), batched)
    if not return_indices:
        return y
    return y, _unbatch(Tensor(np.ascontiguousarray(flat, like=flat)), batched)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over windows [⌊i·L/out⌋, ⌈(i+1)·L/out⌉) (by real part, first maximum wins).
    Backward: WindowScatter of g to the argmax positions."""
    return _adaptive_max_pool(1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over the adaptive windows of :func:`adaptive_avg_pool2d` (by real part, first
    maximum wins).  Backward: WindowScatter of g to the argmax positions."""
    return _adaptive_max_pool(2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The 3-D analogue of :func:`adaptive_max_pool2d`.  Backward: WindowScatter of g."""
    return _adaptive_max_pool(3, input, output_size, return_indices)
