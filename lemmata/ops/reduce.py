"""Reductions: sum, mean, var/std, max/min, arg-extrema, logsumexp, softmax, log_softmax, norm.

A reduction's backward sends the incoming gradient back along the reduced dims: ``expand_back``
restores them (size 1 when ``keepdim=False``) and broadcasts to the input's shape.
"""
from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from .arguments import check_keepdim, floating, normalize_dim, normalize_dims, real
from .elementwise import abs as _abs, exp, maximum, minimum, neg, pow, where
from .shape import gather
from .workspace import rows_per_run

MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _kept_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def expand_back(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Undo a reduction's shape: put back the reduced dims and broadcast to ``shape``."""
    if not keepdim:
        g = g.reshape(_kept_shape(shape, dims))
    return g.expand(shape)


def _drop_dims(out: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray:
    """A keepdims=True result reshaped to the requested keepdim form."""
    return out if keepdim else out.reshape([n for i, n in enumerate(out.shape) if i not in dims])


def _count(shape: tuple, dims: tuple) -> int:
    return math.prod([shape[d] for d in dims])


#: reductions that keep fewer entries than this per row of memory take :func:`_sum_of_narrow_rows`
NARROW_ROW = 32
#: ... when they have at least this many rows: below, NumPy's row-by-row loop costs less than the
#: fold's fixed 10 µs (a (64, 10) bias gradient: 3.2 µs in NumPy, 9.8 µs folded; even at 512 rows)
NARROW_MIN_ROWS = 512


def _sum_of_narrow_rows(x: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray | None:
    """Σ over ``dims`` when the kept axes are the innermost in memory and hold only a few entries
    (a bias gradient over the batch and positions of channels-last activations): consecutive
    rows are first summed as rows of many channel vectors, then folded.  NumPy's reduction adds
    the narrow rows one at a time (LeNet-5's 6-channel bias gradient, batch 64: 0.79 → 0.08 ms).
    None where it does not apply."""
    kept = [axis for axis in range(x.ndim) if axis not in dims]
    width = math.prod(x.shape[axis] for axis in kept)
    rows = x.size // builtins.max(width, 1)
    if not kept or len(kept) == x.ndim or width >= NARROW_ROW or rows < NARROW_MIN_ROWS \
            or x.dtype.kind not in "fc":
        return None
    order = sorted(range(x.ndim), key=lambda axis: (axis in kept, -abs(x.strides[axis])))
    memory = x.transpose(order)                 # reduced axes first, kept axes innermost
    if not memory.flags.c_contiguous:
        return None
    k = rows_per_run(rows, width)
    if k == 1:
        return None
    inner = order[len(order) - len(kept):]
    folded = memory.reshape(rows // k, k * width).sum(axis=0).reshape((k,) + tuple(
        x.shape[axis] for axis in inner)).sum(axis=0)
    out = folded.transpose(np.argsort(inner))   # kept axes back in their own order
    if keepdim:
        out = out.reshape(tuple(n if axis in kept else 1 for axis, n in enumerate(x.shape)))
    return np.ascontiguousarray(out, like=out)


class Sum(Function):
    """Σ over dims;  ∂/∂xᵢ = 1, so the gradient is broadcast back."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        narrow = _sum_of_narrow_rows(x, dims, keepdim) if dtype is None else None
        return np.sum(x, axis=dims, keepdims=keepdim, dtype=dtype) if narrow is None else narrow

    @staticmethod
    def backward(ctx, g):
        return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim), None, None, None


class Mean(Function):
    """(1/N) Σ over dims;  ∂/∂xᵢ = 1/N."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.n = _count(x.shape, dims)
        if ctx.n == 0:  # 0/0: NaN, as PyTorch (np.mean would also warn)
            return np.sum(x, axis=dims, keepdims=keepdim) / x.dtype.type(0)
        return np.mean(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) / ctx.n, None, None


def _var_backward(g: Tensor, x: Tensor, dims: tuple, keepdim: bool, denominator: int) -> Tensor:
    """∂ var/∂xᵢ = 2(xᵢ − x̄)/(N − correction)  (the x̄ terms cancel because Σ(xᵢ − x̄) = 0)."""
    shifted = x - Tensor(_first(x._data, dims))   # a constant shift (see _centred_square_sum)
    centred = shifted - shifted.mean(dim=dims, keepdim=True)
    scale = 2.0 / denominator if denominator else np.inf   # N − correction = 0: ∞, as PyTorch
    return expand_back(g, tuple(x.shape), dims, keepdim) * centred * scale


def _first(x: np.ndarray, dims: tuple) -> np.ndarray:
    """The first entry along the reduced dims (kept as size-1 dims)."""
    return x[tuple(slice(0, 1) if i in dims else slice(None) for i in range(x.ndim))]


def _centred_square_sum(x: np.ndarray, dims: tuple) -> np.ndarray:
    # (x − x̄)² rather than |x − x̄|²: the holomorphic form, identical for real inputs.  The data
    # are shifted by their first entry first, which changes nothing mathematically but makes the
    # variance of a constant tensor exactly 0 (its rounded mean would leave ~1e-17 otherwise).
    y = x - _first(x, dims)
    # Σ/N is what np.mean computes, without its warning for an empty reduction (var is NaN then)
    d = y - np.sum(y, axis=dims, keepdims=True) / builtins.max(_count(x.shape, dims), 1)
    return np.sum(d * d, axis=dims, keepdims=True)


class Var(Function):
    """Σ(xᵢ − x̄)²/(N − correction);  correction = 1 is the unbiased estimate."""

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.save_for_backward(x)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.denominator = builtins.max(_count(x.shape, dims) - correction, 0)
        return _drop_dims(_centred_square_sum(x, dims) / ctx.denominator, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return _var_backward(g, x, ctx.dims, ctx.keepdim, ctx.denominator), None, None, None


class Std(Function):
    """√var;  ∂/∂x = ∂var/∂x / (2 std), taken as 0 where std = 0 (PyTorch's convention)."""

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.denominator = builtins.max(_count(x.shape, dims) - correction, 0)
        out = _drop_dims(np.sqrt(_centred_square_sum(x, dims) / ctx.denominator), dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g_var = where(out._data == 0, 0, g / (out * 2))
        return _var_backward(g_var, x, ctx.dims, ctx.keepdim, ctx.denominator), None, None, None


class Amax(Function):
    """max over dims (by real part);  the gradient is shared evenly among tied maxima (PyTorch)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        if x.size and any(x.shape[d] == 0 for d in dims) or (x.size == 0 and dims):
            raise IndexError(f"amax: cannot reduce over a zero-size dimension (input shape "
                             f"{x.shape}, dims {dims})")
        rx = real(x)
        top = np.max(rx, axis=dims, keepdims=True)
        hit = (rx == top) | (np.isnan(rx) & np.isnan(top))
        share = hit / np.sum(hit, axis=dims, keepdims=True)
        ctx.save_for_backward(share.astype(x.dtype, copy=False))
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        out = top.astype(x.dtype) if x.dtype.kind != "c" else np.sum(x * share, axis=dims,
                                                                     keepdims=True)
        return _drop_dims(out, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        share, = ctx.saved_tensors
        return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) * share, None, None


class LogSumExp(Function):
    """log Σ exp xᵢ, evaluated as m + log Σ exp(xᵢ − m) with m = max Re xᵢ (no overflow);
    ∂/∂xᵢ = exp(xᵢ − out) = softmax(x)ᵢ."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        m = np.max(real(x), axis=dims, keepdims=True) if x.size else np.zeros(
            _kept_shape(x.shape, dims), real(x).dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = _drop_dims(np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m, dims, keepdim)
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.keepdim = dims, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape, dims, keepdim = tuple(x.shape), ctx.dims, ctx.keepdim
        softmax_ = exp(x - expand_back(out, shape, dims, keepdim))
        return expand_back(g, shape, dims, keepdim) * softmax_, None, None


class Softmax(Function):
    """sᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m);  vector-Jacobian product s ⊙ (g − ⟨g, s⟩).

    Backward as s ⊙ (d − ⟨d, s⟩) with d = g − g_k, k the largest s of its row: the same vector,
    since Σ s = 1, but without the cancellation g − ⟨g, s⟩ suffers when s_k is near 1 (then
    ⟨g, s⟩ ≈ g_k).  In d the near-1 entry is exactly zero, so only the small entries of s enter
    the sum.  Against 40-digit arithmetic, relative to the largest entry: x = (7.6, −2.9)
    2.4e-12 plain, 1e-15 shifted; x = (20, 0, −3) 8.5e-8 and 1e-16."""

    @staticmethod
    def forward(ctx, x, dim):
        e = np.exp(x - np.max(real(x), axis=dim, keepdims=True, initial=-np.inf))
        out = e / np.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        s, = ctx.saved_tensors
        d = g - _at_largest(g, s, ctx.dim)
        return s * (d - (d * s).sum(dim=ctx.dim, keepdim=True)), None


def _at_largest(g: Tensor, s: Tensor, dim: int) -> Tensor:
    """g's entry where (the real part of) s is largest along ``dim``, as a size-1 dim; g itself
    for a 0-d or empty s, where there is no row to pick from (and nothing to shift)."""
    if s.ndim == 0 or s.shape[dim] == 0:
        return g
    return gather(g, dim, Tensor(np.argmax(real(s._data), axis=dim, keepdims=True)))


class LogSoftmax(Function):
    """xᵢ − logsumexp(x);  vector-Jacobian product g − s·Σⱼ gⱼ, s = softmax(x)
    (:class:`LogSoftmaxBackward`)."""

    @staticmethod
    def forward(ctx, x, dim):
        shifted = x - np.max(real(x), axis=dim, keepdims=True, initial=-np.inf)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return LogSoftmaxBackward.apply(g, out, dim=ctx.dim), None


class LogSoftmaxBackward(Function):
    """LogSoftmax's vector-Jacobian product g − s·Σⱼ gⱼ, s = exp(out), as an op of (g, out).

    At k, the largest s of its row, it takes the same number as g_k·Σ_(j≠k) s_j − s_k·Σ_(j≠k) g_j:
    the plain g_k − s_k·Σ g cancels when s_k is near 1 and g sits mostly at k (a confident
    classifier's cross-entropy, whose gradient there is −(1 − s_k)/N), and 1 − s_k from a
    rounded s_k keeps only the digits of its distance from 1, where Σ_(j≠k) s_j keeps them all.
    Against 40-digit arithmetic, relative to the largest entry: x = (20, 0, −3), g = (1, 0, 0):
    3.7e-8 plain, 6e-16 so.

    Backward (second derivatives): linear in g, with adjoint u − Σⱼ sⱼuⱼ; in out, ∂/∂outⱼ of
    entry i is −δᵢⱼ sᵢ Σ g, with adjoint −s ⊙ u · Σ g."""

    @staticmethod
    def forward(ctx, g, out, *, dim):
        ctx.save_for_backward(g, out)
        ctx.dim = dim
        s = np.exp(out)
        total = np.sum(g, axis=dim, keepdims=True)
        gx = g - s * total
        if s.ndim == 0 or s.shape[dim] == 0:
            return gx
        positions = np.arange(s.shape[dim], like=s).reshape(
            [-1 if d == dim % s.ndim else 1 for d in range(s.ndim)])
        largest = positions == np.argmax(real(out), axis=dim, keepdims=True)
        s_rest = np.sum(np.where(largest, 0, s), axis=dim, keepdims=True)
        g_rest = np.sum(np.where(largest, 0, g), axis=dim, keepdims=True)
        return np.where(largest, g * s_rest - s * g_rest, gx)

    @staticmethod
    def backward(ctx, u):
        g, out = ctx.saved_tensors
        s = exp(out)
        return (u - (s * u).sum(dim=ctx.dim, keepdim=True),
                -(s * u) * g.sum(dim=ctx.dim, keepdim=True))


class Norm2(Function):
    """‖x‖₂ = √(Σ xᵢ²) (holomorphic form);  ∂/∂x = x/‖x‖, taken as 0 at x = 0 (PyTorch's
    subgradient choice, which seed ttic.p4 relies on)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = _drop_dims(np.sqrt(np.sum(x * x, axis=dims, keepdims=True)), dims, keepdim)
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.keepdim = dims, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape, dims, keepdim = tuple(x.shape), ctx.dims, ctx.keepdim
        norm_ = expand_back(out, shape, dims, keepdim)
        scale = where(norm_._data == 0, 0, expand_back(g, shape, dims, keepdim) / norm_)
        return x * scale, None, None


def _prod_of_others(x: Tensor, dim: int) -> Tensor:
    """Π over j ≠ i of xⱼ along ``dim``, for every i: the product over a new axis of n copies of x,
    copy i having xᵢ replaced by 1.  Exact when entries are zero (out/xᵢ would give 0/0)."""
    n = x.shape[dim]
    copies = x.unsqueeze(dim)  # the new axis ``dim`` indexes i, the old one (now dim + 1) j
    diagonal = np.eye(n, dtype=bool).reshape(
        [n if k in (dim, dim + 1) else 1 for k in range(x.ndim + 1)])
    return Prod.apply(where(diagonal, 1, copies), dim + 1, False)


class Prod(Function):
    """Π over one dim;  ∂/∂xᵢ = Π over j ≠ i of xⱼ, which is out/xᵢ when no entry is zero (one
    division) and the product of the other entries otherwise (see _prod_of_others)."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        out = np.prod(x, axis=dim, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        ctx.dim, ctx.keepdim = dim, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape, dims = tuple(x.shape), (ctx.dim,)
        g = expand_back(g, shape, dims, ctx.keepdim)
        if not np.any(x._data == 0):
            return g * expand_back(out, shape, dims, ctx.keepdim) / x, None, None
        return g * _prod_of_others(x, ctx.dim), None, None


class PickedSum(Function):
    """Σ_i c_i · x[i, y_i] / d, the picks x[i, y_i] taken along ``dim`` at ``index`` y, with
    coefficients c, the ``keep`` mask (a term that is not kept counts 0 even where x is inf or
    NaN) and an optional divisor d: the negative log-likelihood's pick and reduction (nll_loss
    and cross_entropy, 'sum' and 'mean', c = −w) as one op.

    Linear in x: ∂/∂x is the constant C, zero but for C[i, y_i] = c_i / d where kept, so the
    backward is one multiplication, g · C, and differentiable again.  As gather, squeeze, neg,
    sum and div it was five ops forward and about as many backward (LeNet-5's training step:
    52 → 43 ops)."""

    @staticmethod
    def forward(ctx, x, *, index, coefficients, keep, dim, divisor=None):
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, np.expand_dims(index, dim)
        ctx.scaled = np.where(keep, coefficients if divisor is None else coefficients / divisor,
                              0)
        picked = np.take_along_axis(x, ctx.index, axis=dim).squeeze(dim)
        total = np.where(keep, picked * coefficients, 0).sum()
        return np.asarray(total if divisor is None else total / divisor, dtype=x.dtype, like=x)

    @staticmethod
    def backward(ctx, g):
        slope = np.zeros(ctx.shape, dtype=ctx.scaled.dtype, like=ctx.scaled)
        np.put_along_axis(slope, ctx.index, np.expand_dims(ctx.scaled, ctx.dim), axis=ctx.dim)
        return g * Tensor(slope)


# ------------------------------------------------------------------------------ functional forms


def _check(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def sum(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all dims if None); bool and integer tensors sum to int64, as PyTorch."""
    _check(x, "sum")
    keepdim = check_keepdim(keepdim, "sum")
    dims = normalize_dims(dim, x.ndim, "sum")
    out_dtype = dtypes.as_dtype(dtype) if dtype is not None else (
        dtypes.int64 if x.dtype.kind in "biu" else None)
    return Sum.apply(x, dims, keepdim, out_dtype)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    _check(x, "mean")
    keepdim = check_keepdim(keepdim, "mean")
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"mean: could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {dtypes.dtype_name(x.dtype)}")
    return Mean.apply(x, normalize_dims(dim, x.ndim, "mean"), keepdim)


def _correction(unbiased: Any, correction: Any, op: str) -> int:
    if correction is not None and unbiased is not None:
        raise TypeError(f"{op}: give either unbiased or correction, not both")
    if correction is not None:
        if isinstance(correction, bool) or not isinstance(correction, (int, float, np.number)):
            raise TypeError(f"{op}: correction must be a number, got {correction!r}")
        return correction   # a float correction is allowed, as in PyTorch
    return 0 if unbiased is False else 1


def var(x: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Σ(xᵢ − x̄)²/(N − correction); ``unbiased=False`` means correction 0."""
    x = floating(_check(x, "var"))
    keepdim = check_keepdim(keepdim, "var")
    return Var.apply(x, normalize_dims(dim, x.ndim, "var"),
                     _correction(unbiased, correction, "var"), keepdim)


def std(x: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    x = floating(_check(x, "std"))
    keepdim = check_keepdim(keepdim, "std")
    return Std.apply(x, normalize_dims(dim, x.ndim, "std"),
                     _correction(unbiased, correction, "std"), keepdim)


def amax(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Max over ``dim`` (all dims when empty or None); ties share the gradient evenly."""
    _check(x, "amax")
    keepdim = check_keepdim(keepdim, "amax")
    dim = () if dim is None else dim
    dims = tuple(range(x.ndim)) if isinstance(dim, (tuple, list)) and not dim else normalize_dims(
        dim, x.ndim, "amax")
    if x.dtype == np.bool_:
        return Tensor(np.any(x._data, axis=dims, keepdims=keepdim))
    return Amax.apply(x, dims, keepdim)


def amin(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """min = −max(−x)."""
    _check(x, "amin")
    keepdim = check_keepdim(keepdim, "amin")
    dim = () if dim is None else dim
    if x.dtype == np.bool_:
        everything = isinstance(dim, (tuple, list)) and not dim
        dims = tuple(range(x.ndim)) if everything else normalize_dims(dim, x.ndim, "amin")
        return Tensor(np.all(x._data, axis=dims, keepdims=keepdim))
    return neg(amax(neg(x), dim, keepdim))


def _arg_extremum(x: Tensor, dim: Any, keepdim: bool, op: str, pick: Any) -> Tensor:
    _check(x, op)
    keepdim = check_keepdim(keepdim, op)
    values = real(x._data)
    if values.size == 0:
        raise IndexError(f"{op}: expected a non-empty tensor (shape {tuple(x.shape)})")
    if dim is None:
        index = np.asarray(pick(values.reshape(-1)), like=values)
        return Tensor(index.reshape((1,) * x.ndim) if keepdim else index)
    d = normalize_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return Tensor(np.zeros((), np.int64, like=values))
    return Tensor(pick(values, axis=d, keepdims=keepdim).astype(np.int64))


def argmax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the first maximum (flattened when ``dim`` is None)."""
    return _arg_extremum(x, dim, keepdim, "argmax", np.argmax)


def argmin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _arg_extremum(x, dim, keepdim, "argmin", np.argmin)


def _extremum(x: Tensor, dim: Any, keepdim: bool, op: str, result: Any) -> Any:
    if isinstance(dim, Tensor):  # max(a, b): the elementwise form
        return (maximum if op == "max" else minimum)(x, dim)
    if dim is None:
        return amax(x) if op == "max" else amin(x)
    d = normalize_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return result(x, Tensor(np.zeros((), np.int64)))
    if x.shape[d] == 0:
        raise IndexError(f"{op}: cannot reduce over dim {dim} of size 0 (shape {tuple(x.shape)})")
    indices = (argmax if op == "max" else argmin)(x, d, keepdim=True)
    values = gather(x, d, indices)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return result(values, indices)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(x)`` → the maximum; ``max(x, dim)`` → (values, indices), the gradient going to the
    first maximum; ``max(x, other)`` → elementwise maximum."""
    return _extremum(_check(x, "max"), dim, check_keepdim(keepdim, "max"), "max", MaxResult)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _extremum(_check(x, "min"), dim, check_keepdim(keepdim, "min"), "min", MinResult)


def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    x = floating(_check(x, "logsumexp"))
    keepdim = check_keepdim(keepdim, "logsumexp")
    return LogSumExp.apply(x, normalize_dims(dim, x.ndim, "logsumexp"), keepdim)


def _softmax_dim(x: Tensor, dim: Any, op: str) -> int:
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return normalize_dim(dim, x.ndim, op)


def softmax(x: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    x = floating(_check(x, "softmax") if dtype is None else _check(x, "softmax").to(dtype))
    return Softmax.apply(x, _softmax_dim(x, dim, "softmax"))


def log_softmax(x: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    x = floating(_check(x, "log_softmax") if dtype is None
                 else _check(x, "log_softmax").to(dtype))
    return LogSoftmax.apply(x, _softmax_dim(x, dim, "log_softmax"))


def norm(x: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
    """The p-norm over ``dim``: p = 2 (or 'fro'), 1, inf, -inf, any other positive number, or 0
    (the count of non-zero entries, a step function: no gradient, as PyTorch's is zero)."""
    x = floating(_check(x, "norm"))
    keepdim = check_keepdim(keepdim, "norm")
    dims = normalize_dims(dim, x.ndim, "norm")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(x, dims, keepdim)
    if p == float("inf"):
        return amax(_abs(x), dims, keepdim)
    if p == float("-inf"):
        return amin(_abs(x), dims, keepdim)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p == 0:
        nonzero = x._data != 0
        return Tensor(np.sum(nonzero, axis=dims, keepdims=keepdim).astype(real(x._data).dtype))
    if not isinstance(p, (int, float)) or p <= 0:
        raise ValueError(f"norm: p must be 'fro', inf, -inf, 0 or a positive number, got {p!r}")
    size = _abs(x)
    at_zero = real(x._data) == 0    # |0|ᵖ has gradient 0 also for p < 1 (PyTorch's mask)
    total = sum(where(at_zero, 0, pow(where(at_zero, 1, size), p)), dims, keepdim)
    zero = real(total._data) == 0   # ‖0‖ₚ = 0 with gradient 0, as PyTorch (not 0·∞ = NaN)
    return where(zero, 0, pow(where(zero, 1, total), 1.0 / p))


def prod(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Π over ``dim`` (all entries when None); bool and integer tensors give int64, as PyTorch."""
    _check(x, "prod")
    keepdim = check_keepdim(keepdim, "prod")
    if dim is None:
        return prod(x.reshape(-1), 0, keepdim=False).reshape((1,) * x.ndim if keepdim else ())
    if x.dtype.kind in "biu":
        x = x.to(dtypes.int64)
    return Prod.apply(x, normalize_dim(dim, x.ndim, "prod"), keepdim)


# ------------------------------------------------------------------------------ scans


class CumSum(Function):
    """yᵢ = Σ_{j ≤ i} xⱼ along ``dim``;  ∂xⱼ = Σ_{i ≥ j} gᵢ, the running sum of g taken from the
    other end (flip, cumsum, flip), itself written with ops, so differentiable again."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        from .shape import flip
        return flip(CumSum.apply(flip(g, ctx.dim), ctx.dim), ctx.dim), None


def cumsum(x: Tensor, dim: Any, dtype: Any = None) -> Tensor:
    """Running sums along ``dim``, as torch.cumsum: integer and bool inputs sum in int64 (or in
    ``dtype`` when given); a 0-d tensor is its own running sum."""
    if not isinstance(x, Tensor):
        raise TypeError(f"cumsum: expected a Tensor, got {type(x).__name__}")
    dim = normalize_dim(dim, builtins.max(x.ndim, 1), "cumsum")
    if dtype is not None:
        x = x.to(dtypes.as_dtype(dtype, "cumsum"))
    elif x.dtype.kind in "biu":
        x = x.to(np.dtype(np.int64))
    if x.ndim == 0:
        return CumSum.apply(x.reshape(1), 0).reshape(())
    return CumSum.apply(x, dim)
