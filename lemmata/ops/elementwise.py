"""Elementwise ops: arithmetic, transcendental functions, activations, comparisons.

Each Function's forward is one NumPy expression; its backward is the local derivative times the
incoming gradient, written with lemmata ops so that it can be differentiated again.  Binary ops
broadcast as NumPy does; the engine sums each gradient back to its input's shape (``unbroadcast``).
Piecewise rules (abs, relu, clamp, maximum ...) branch on the real part, so every rule is the
derivative of a holomorphic extension and complex-step differentiation is exact through it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from .arguments import as_tensor_like, floating, operands, real

# ------------------------------------------------------------------------------ arithmetic


class Add(Function):
    """a + b;  ∂/∂a = 1, ∂/∂b = 1."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """a − b;  ∂/∂a = 1, ∂/∂b = −1."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    """a · b;  ∂/∂a = b, ∂/∂b = a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    """a / b;  ∂/∂a = 1/b, ∂/∂b = −a/b²."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g / b if ctx.needs_input_grad[0] else None,
                -g * a / (b * b) if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """−x."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class PowScalar(Function):
    """xᵖ for a constant p;  ∂/∂x = p·xᵖ⁻¹ (and 0 for p = 0, also at x = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        return x ** p

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if ctx.p == 0:
            return g * 0, None
        return g * ctx.p * x ** (ctx.p - 1), None


class Pow(Function):
    """aᵇ for tensors;  ∂/∂a = b·aᵇ⁻¹, ∂/∂b = aᵇ·log a (0 where a = 0 and b ≥ 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = g * b * a ** (b - 1)
        if ctx.needs_input_grad[1]:
            at_zero = (real(a._data) == 0) & (real(b._data) >= 0)
            safe_a = where(at_zero, 1, a)
            gb = where(at_zero, 0, g * out * log(safe_a))
        return ga, gb


class RPow(Function):
    """cˣ for a constant c;  ∂/∂x = cˣ·log c."""

    @staticmethod
    def forward(ctx, x, c):
        out = np.asarray(c, dtype=x.dtype) ** x
        ctx.save_for_backward(out)
        ctx.log_c = np.log(np.asarray(c, dtype=x.dtype)) if c != 0 else 0.0
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out * ctx.log_c, None


# ------------------------------------------------------------------------------ transcendental


class Exp(Function):
    """eˣ;  ∂/∂x = eˣ (the saved output)."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out


class Expm1(Function):
    """eˣ − 1, accurate near 0;  ∂/∂x = eˣ."""

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (out + 1)


class Log(Function):
    """log x;  ∂/∂x = 1/x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / x


class Log1p(Function):
    """log(1 + x), accurate near 0;  ∂/∂x = 1/(1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (x + 1)


class Sqrt(Function):
    """√x;  ∂/∂x = 1/(2√x)."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g / (out * 2)


class Sin(Function):
    """sin x;  ∂/∂x = cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * cos(x)


class Cos(Function):
    """cos x;  ∂/∂x = −sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g * sin(x)


class Tanh(Function):
    """tanh x;  ∂/∂x = 1 − tanh² x."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (1 - out * out)


class Sigmoid(Function):
    """σ(x) = 1/(1 + e⁻ˣ);  ∂/∂x = σ(x)(1 − σ(x)).

    Evaluated as 1/(1 + e⁻ˣ) for Re x ≥ 0 and eˣ/(1 + eˣ) otherwise, so exp never overflows.
    """

    @staticmethod
    def forward(ctx, x):
        nonneg = real(x) >= 0
        z = np.exp(np.where(nonneg, -x, x))  # Re(exponent) ≤ 0
        out = np.where(nonneg, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out * (1 - out)


class Erf(Function):
    """erf x = (2/√π)∫₀ˣ e^(−t²) dt;  ∂/∂x = (2/√π) e^(−x²).  (Used by the exact GELU.)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return special.erf(x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * exp(-(x * x))


# ------------------------------------------------------------------------------ piecewise


class Abs(Function):
    """|x|, extended holomorphically as x·sign(Re x);  ∂/∂x = sign(Re x) (0 at 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind != "c":
            sign = np.sign(x)
            ctx.save_for_backward(sign)
            return np.abs(x)
        sign = np.sign(x.real).astype(x.dtype)
        ctx.save_for_backward(sign)
        return x * sign

    @staticmethod
    def backward(ctx, g):
        sign, = ctx.saved_tensors
        return g * sign


class ReLU(Function):
    """max(x, 0);  ∂/∂x = 1 where Re x > 0, else 0 (PyTorch's choice at 0)."""

    @staticmethod
    def forward(ctx, x):
        mask = real(x) > 0
        ctx.save_for_backward(mask.astype(x.dtype))
        if x.dtype.kind == "c":
            return x * mask
        return np.maximum(x, 0)  # propagates NaN, as PyTorch

    @staticmethod
    def backward(ctx, g):
        mask, = ctx.saved_tensors
        return g * mask


class LeakyReLU(Function):
    """x for Re x > 0, slope·x otherwise;  ∂/∂x = 1 or slope (slope at 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, negative_slope):
        positive = real(x) > 0
        scale = np.where(positive, 1, negative_slope).astype(x.dtype)
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, g):
        scale, = ctx.saved_tensors
        return g * scale, None


class Softplus(Function):
    """(1/β)·log(1 + e^(βx)), and x where βx > threshold (PyTorch's linear regime);
    ∂/∂x = σ(βx) (1 in the linear regime).  Evaluated stably as max(βx, 0) + log1p(e^(−|βx|))."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        bx = x * beta
        positive = real(bx) > 0
        soft = (np.where(positive, bx, 0) + np.log1p(np.exp(np.where(positive, -bx, bx)))) / beta
        linear = real(bx) > threshold
        ctx.save_for_backward(x, linear)
        ctx.beta = beta
        return np.where(linear, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, linear = ctx.saved_tensors
        return g * where(linear, 1, sigmoid(x * ctx.beta)), None, None


class Clamp(Function):
    """min(max(x, lo), hi);  ∂/∂x = 1 where lo ≤ x ≤ hi (bounds included, as PyTorch), else 0;
    a tensor bound gets the gradient where it is the active one."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        rx = real(x)
        above_lo = np.ones(x.shape, bool) if lo is None else rx >= real(np.asarray(lo))
        below_hi = np.ones(x.shape, bool) if hi is None else rx <= real(np.asarray(hi))
        ctx.save_for_backward(above_lo, below_hi)
        out = x
        if lo is not None:
            out = np.where(above_lo, out, lo)
        if hi is not None:
            out = np.where(below_hi, out, hi)
        return np.asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        above_lo, below_hi = ctx.saved_tensors
        inside = Tensor(above_lo._data & below_hi._data)
        return (where(inside, g, 0),
                where(above_lo, 0, g) if ctx.needs_input_grad[1] else None,
                where(below_hi, 0, g) if ctx.needs_input_grad[2] else None)


class Where(Function):
    """cond ? a : b;  the gradient goes to the branch that was taken."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        cond, = ctx.saved_tensors
        return (None,
                where(cond, g, 0) if ctx.needs_input_grad[1] else None,
                where(cond, 0, g) if ctx.needs_input_grad[2] else None)


class Maximum(Function):
    """max(a, b) elementwise (by real part);  the gradient goes to the larger, split ½–½ on ties
    (PyTorch's rule)."""

    @staticmethod
    def forward(ctx, a, b):
        ra, rb = real(a), real(b)
        share = np.where(ra == rb, 0.5, ra > rb).astype(real(a).dtype)
        ctx.save_for_backward(share)
        if a.dtype.kind == "c":
            return np.where(ra >= rb, a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        share, = ctx.saved_tensors
        return g * share, g * (1 - share)


# ------------------------------------------------------------------------------ functional forms


def add(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    """a + alpha·b."""
    a, b = operands(a, b, "add")
    return Add.apply(a, b if alpha == 1 else mul(b, alpha))


def sub(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    """a − alpha·b."""
    a, b = operands(a, b, "sub")
    if a.dtype == np.bool_:
        raise TypeError("sub: subtraction of bool tensors is not supported; use logical_xor")
    return Sub.apply(a, b if alpha == 1 else mul(b, alpha))


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(*operands(a, b, "mul"))


def div(a: Any, b: Any, rounding_mode: str | None = None) -> Tensor:
    """True division (integers give the default float dtype); ``rounding_mode`` as PyTorch."""
    a, b = operands(a, b, "div")
    if rounding_mode is None:
        return Div.apply(floating(a), floating(b))
    if rounding_mode == "floor":
        return _no_grad_binary(np.floor_divide, a, b)
    if rounding_mode == "trunc":
        return _no_grad_binary(lambda x, y: np.trunc(x / y).astype(np.result_type(x, y)), a, b)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


true_divide = divide = div


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def pow(x: Any, exponent: Any) -> Tensor:
    """xᵉ with a scalar or tensor exponent; cˣ when only x is a tensor."""
    if isinstance(x, Tensor) and not isinstance(exponent, Tensor):
        if isinstance(exponent, (int, float, np.number)) and not isinstance(exponent, bool):
            if x.dtype.kind in "iub" and (isinstance(exponent, float) or exponent < 0):
                x = floating(x)
            return PowScalar.apply(x, exponent)
    if not isinstance(x, Tensor) and isinstance(exponent, Tensor) and np.isscalar(x):
        t = floating(exponent) if isinstance(x, float) else exponent
        return RPow.apply(t.to(dtypes.scalar_dtype(x, t.dtype)), x)
    a, b = operands(x, exponent, "pow")
    return Pow.apply(a, b)


def _unary(function: type, x: Any, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    return function.apply(floating(x))


def exp(x: Tensor) -> Tensor:
    return _unary(Exp, x, "exp")


def expm1(x: Tensor) -> Tensor:
    return _unary(Expm1, x, "expm1")


def log(x: Tensor) -> Tensor:
    return _unary(Log, x, "log")


def log1p(x: Tensor) -> Tensor:
    return _unary(Log1p, x, "log1p")


def sqrt(x: Tensor) -> Tensor:
    return _unary(Sqrt, x, "sqrt")


def rsqrt(x: Tensor) -> Tensor:
    return pow(floating(x), -0.5)


def sin(x: Tensor) -> Tensor:
    return _unary(Sin, x, "sin")


def cos(x: Tensor) -> Tensor:
    return _unary(Cos, x, "cos")


def tanh(x: Tensor) -> Tensor:
    return _unary(Tanh, x, "tanh")


def sigmoid(x: Tensor) -> Tensor:
    return _unary(Sigmoid, x, "sigmoid")


def erf(x: Tensor) -> Tensor:
    return _unary(Erf, x, "erf")


def abs(x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"abs: expected a Tensor, got {type(x).__name__}")
    return Abs.apply(x)


def square(x: Tensor) -> Tensor:
    return mul(x, x)


def reciprocal(x: Tensor) -> Tensor:
    return div(1.0, floating(x))


def relu(x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"relu: expected a Tensor, got {type(x).__name__}")
    return ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyReLU.apply(x, negative_slope)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return Softplus.apply(floating(x), beta, threshold)


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Clamp to [min, max]; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    lo = min if min is None or isinstance(min, Tensor) else as_tensor_like(min, x)._data
    hi = max if max is None or isinstance(max, Tensor) else as_tensor_like(max, x)._data
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        for name, bound in (("min", lo), ("max", hi)):
            if isinstance(bound, Tensor):
                try:
                    np.broadcast_to(np.empty(bound.shape), x.shape)
                except ValueError:
                    raise RuntimeError(f"clamp: {name} of shape {tuple(bound.shape)} does not "
                                       f"broadcast to the input's shape {tuple(x.shape)}") from None
    if x.dtype.kind in "iub" and any(np.asarray(getattr(v, "_data", v)).dtype.kind == "f"
                                     for v in (lo, hi) if v is not None):
        x = floating(x)
    return Clamp.apply(x, lo, hi)


clip = clamp


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise choice: a where condition holds, else b (all three broadcast)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a, b = operands(a, b, "where")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"where: condition of shape {cond.shape} and values of shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast "
                           f"together") from None
    return Where.apply(cond, a, b)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(*operands(a, b, "maximum"))


def minimum(a: Any, b: Any) -> Tensor:
    """min(a, b) = −max(−a, −b): the same tie rule as maximum."""
    a, b = operands(a, b, "minimum")
    return neg(Maximum.apply(neg(a), neg(b)))


def lerp(start: Tensor, end: Any, weight: Any) -> Tensor:
    return add(start, mul(sub(end, start), weight))


# ------------------------------------------------------------------------------ no gradient


def _no_grad_binary(fn: Any, a: Any, b: Any, name: str = "op") -> Tensor:
    a, b = operands(a, b, name)
    with np.errstate(all="ignore"):
        return Tensor(fn(a._data, b._data))


def _no_grad_unary(fn: Any, x: Tensor) -> Tensor:
    with np.errstate(all="ignore"):
        return Tensor(fn(x._data))


def eq(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.equal, a, b, "eq")


def ne(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.not_equal, a, b, "ne")


def lt(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.less, a, b, "lt")


def le(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.less_equal, a, b, "le")


def gt(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.greater, a, b, "gt")


def ge(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.greater_equal, a, b, "ge")


def floor_divide(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.floor_divide, a, b, "floor_divide")


def remainder(a: Any, b: Any) -> Tensor:
    """a − floor(a/b)·b, with the sign of b (Python's and PyTorch's ``%``)."""
    return _no_grad_binary(np.remainder, a, b, "remainder")


def logical_and(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.logical_and, a, b, "logical_and")


def logical_or(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.logical_or, a, b, "logical_or")


def logical_xor(a: Any, b: Any) -> Tensor:
    return _no_grad_binary(np.logical_xor, a, b, "logical_xor")


def logical_not(x: Tensor) -> Tensor:
    return _no_grad_unary(np.logical_not, x)


def sign(x: Tensor) -> Tensor:
    return _no_grad_unary(np.sign, x)


def floor(x: Tensor) -> Tensor:
    return _no_grad_unary(np.floor, x)


def ceil(x: Tensor) -> Tensor:
    return _no_grad_unary(np.ceil, x)


def round(x: Tensor, decimals: int = 0) -> Tensor:
    return _no_grad_unary(lambda a: np.round(a, decimals), x)


def isnan(x: Tensor) -> Tensor:
    return _no_grad_unary(np.isnan, x)


def isinf(x: Tensor) -> Tensor:
    return _no_grad_unary(np.isinf, x)


def isfinite(x: Tensor) -> Tensor:
    return _no_grad_unary(np.isfinite, x)
