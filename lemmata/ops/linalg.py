"""Matrix multiplication, with NumPy's batching and 1-D rules.

For C = A B:  ∂L/∂A = (∂L/∂C) Bᵀ  and  ∂L/∂B = Aᵀ (∂L/∂C)  — one BLAS call each.  A 1-D
operand is treated as a row (left) or column (right) vector and the extra dim removed again;
broadcast batch dims are summed back by the engine.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from . import workspace
from .arguments import as_tensor_like, broadcast_shape, same_device
from .reduce import Sum
from .shape import Permute, Reshape


class MatMul(Function):
    """a @ b (NumPy semantics)."""

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        ctx.ndims = (a.ndim, b.ndim)  # the unsaved operand's rank still picks the rule
        ctx.transposed = (_transposed(a), _transposed(b))
        if a.ndim == 2 and b.ndim == 2:
            return _times_transpose(a, b.T) if ctx.transposed[1] else _product(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_ndim, b_ndim = ctx.ndims
        if a_ndim == 1 and b_ndim == 1:        # dot product: g is a scalar
            return (g * b if need_a else None), (g * a if need_b else None)
        if a_ndim == 1:                        # (n) @ (..., n, m) -> (..., m)
            ga = (g.unsqueeze(-2) @ b.mT).squeeze(-2) if need_a else None
            gb = a.unsqueeze(-1) @ g.unsqueeze(-2) if need_b else None
            return ga, gb
        if b_ndim == 1:                        # (..., n, m) @ (m) -> (..., n)
            ga = g.unsqueeze(-1) @ b.unsqueeze(-2) if need_a else None
            gb = (a.mT @ g.unsqueeze(-1)).squeeze(-1) if need_b else None
            return ga, gb
        # each gradient in its operand's memory layout, as PyTorch's mm backward: the weight in
        # x @ w.t() enters as the transpose wᵀ of a C-ordered w, and ∂L/∂wᵀ computed as (gᵀ a)ᵀ
        # makes ∂L/∂w C-ordered again (a transposed 16.8 M-entry gradient made every later
        # pass over it, the optimizer's included, several times slower)
        a_transposed, b_transposed = ctx.transposed
        ga = gb = None
        if need_a:
            ga = (b @ g.mT).mT if a_transposed else g @ b.mT
        if need_b:
            gb = (g.mT @ a).mT if b_transposed else a.mT @ g
        return ga, gb


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for matrices, into recycled memory, not fresh pages (a linear layer's weight
    gradient is 67 MB at 4096×4096): Net's data-parallel step took 3,968 → 1,490 page faults,
    1,211 → 1,184 ms."""
    return np.matmul(a, b, out=workspace.empty((a.shape[0], b.shape[1]), np.result_type(a, b),
                                             like=a))


def _times_transpose(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a wᵀ for matrices a (n, k) and w (m, k), C-ordered.  With fewer rows in a than in a
    C-ordered w, as (w aᵀ)ᵀ: the big matrix enters BLAS as the left operand, untransposed, which
    OpenBLAS packs faster (64×4096 by 4096×4096 on one core: 34.4 → 28.7 ms), then copied back
    to C order (0.1 ms)."""
    if a.shape[0] < w.shape[0] and w.flags.c_contiguous:
        product = np.matmul(w, a.T).T
        return np.ascontiguousarray(product, like=product)
    return _product(a, w.T)


class Linear(Function):
    """y = x Wᵀ + b over the last dim of x (F.linear), W of shape (out, in): one GEMM over the
    rows of x, the bias added in place.

    Backward, with the rows of every leading dim: ∂x = g W, ∂W = gᵀ x, ∂b = Σ_rows g, written
    with the MatMul, Permute and Sum ops (so differentiable again).  One op, not a transpose, a
    product and an add: a layer makes one graph node forward and four backward instead of three
    and eight, which is most of a small layer's cost (LeNet-5's classifier, batch 64, one core,
    forward and backward in alternating rounds: 1.35–1.40 → 1.01–1.18 ms; with the backward's
    ops applied directly, 0.71–0.72 → 0.61–0.63 ms; PyTorch 0.64 ms)."""

    @staticmethod
    def forward(ctx, x, w, b):
        need_x, need_w, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if need_w else None, w if need_x else None)
        y = _times_transpose(x.reshape(math.prod(x.shape[:-1]), x.shape[-1]), w)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        # the ops' own applies, not the public functions: the operands fit by construction, and
        # the functions' checks were most of a small layer's backward (LeNet-5's three layers,
        # batch 64: 0.11 ms a step)
        gx = MatMul.apply(g, w) if need_x else None
        gw = gb = None
        if need_w or need_b:                    # g and x as matrices, one row a sample
            rows = g if g.ndim == 2 else Reshape.apply(g, (math.prod(g.shape[:-1]), g.shape[-1]))
        if need_w:
            inputs = x if x.ndim == 2 else Reshape.apply(x, (rows.shape[0], x.shape[-1]))
            gw = MatMul.apply(Permute.apply(rows, (1, 0)), inputs)
        if need_b:
            gb = Sum.apply(rows, (0,), False, None) if g.ndim > 1 else g
        return gx, gw, gb


def linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """x Wᵀ + b for checked shapes (see :func:`lemmata.nn.functional.linear`), in the dtype
    that x @ Wᵀ + b would have."""
    x, w = same_device(x, w, "linear")
    dtype = dtypes.promote_types(x.dtype, w.dtype)
    if b is not None:
        b = same_device(x, b, "linear")[1]
        dtype = dtypes.promote_types(dtype, b.dtype, 1, b.ndim)
    return Linear.apply(x.to(dtype), w.to(dtype), None if b is None else b.to(dtype))


def _transposed(x: np.ndarray) -> bool:
    """A matrix stored column by column (the transpose of a C-ordered one)."""
    return x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous


def matmul(a: Any, b: Any) -> Tensor:
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(np.asarray(a))
    a, b = _promoted(*same_device(as_tensor_like(a, b, "matmul"), as_tensor_like(b, a, "matmul"),
                                  "matmul"))
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise RuntimeError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                           f"multiplied ({inner_a} != {inner_b})")
    try:
        broadcast_shape(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(f"matmul: batch dims of {tuple(a.shape)} and {tuple(b.shape)} cannot "
                           f"be broadcast together") from None
    return MatMul.apply(a, b)


def _promoted(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    dtype = dtypes.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def _check_tensors(a: Any, b: Any, op: str) -> None:
    for name, value in (("first", a), ("second", b)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: expected Tensors, but the {name} argument is a "
                            f"{type(value).__name__}")


def mm(a: Tensor, b: Tensor) -> Tensor:
    _check_tensors(a, b, "mm")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mm: expects matrices (n, k) and (k, m), got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    _check_tensors(a, b, "bmm")
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(f"bmm: expects 3-D tensors (b, n, k) and (b, k, m), got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def mv(a: Tensor, v: Tensor) -> Tensor:
    _check_tensors(a, v, "mv")
    if a.ndim != 2 or v.ndim != 1 or a.shape[1] != v.shape[0]:
        raise RuntimeError(f"mv: expects a matrix (n, m) and a vector (m,), got shapes "
                           f"{tuple(a.shape)} and {tuple(v.shape)}")
    return matmul(a, v)


def dot(a: Tensor, b: Tensor) -> Tensor:
    _check_tensors(a, b, "dot")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise RuntimeError(f"dot: expects 1-D tensors of the same size, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def outer(a: Tensor, b: Tensor) -> Tensor:
    _check_tensors(a, b, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"outer: expects 1-D tensors, got shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")
    return a.unsqueeze(1) * b.unsqueeze(0)
