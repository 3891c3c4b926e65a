"""Elementwise ops: arithmetic, transcendental functions, activations, comparisons.

Each Function's forward is one NumPy expression; its backward is the local derivative times the
incoming gradient, written with lemmata ops so that it can be differentiated again.  Binary ops
broadcast as NumPy does; the engine sums each gradient back to its input's shape (``unbroadcast``).
Piecewise rules (abs, relu, clamp, maximum ...) branch on the real part, so every rule is the
derivative of a holomorphic extension and complex-step differentiation is exact through it.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from scipy import special

from .. import backend, dtypes
from ..autograd import Function
from ..tensor import Tensor
from . import workspace
from .arguments import as_tensor_like, broadcast_shape, check_tensor, floating, operands, real

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
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
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
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g / b if ctx.needs_input_grad[0] else None,
                -g * (a / b / b) if ctx.needs_input_grad[1] else None)  # b·b may underflow


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
        out = _integer_power(a, b) if a.dtype.kind in "iu" else a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:  # 0 where b = 0, also at a = 0 (PyTorch's rule)
            ga = where(real(b._data) == 0, 0, g * b * a ** (b - 1))
        if ctx.needs_input_grad[1]:
            at_zero = (real(a._data) == 0) & (real(b._data) >= 0)
            safe_a = where(at_zero, 1, a)
            gb = where(at_zero, 0, g * out * log(safe_a))
        return ga, gb


def _integer_power(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Integer aᵇ as PyTorch computes it: for b < 0 the integer part of 1/a⁻ᵇ, i.e. 1 for
    a = 1, (−1)ᵇ for a = −1 and 0 otherwise (NumPy refuses negative integer powers)."""
    negative = exponent < 0
    out = np.power(base, np.where(negative, 0, exponent))
    if np.any(negative):
        odd = np.remainder(exponent, 2) == 1
        inverse = np.where(base == 1, 1, np.where(base == -1, np.where(odd, -1, 1), 0))
        out = np.where(negative, inverse, out).astype(out.dtype)
    return out


class RPow(Function):
    """cˣ for a constant c;  ∂/∂x = cˣ·log c."""

    @staticmethod
    def forward(ctx, x, c):
        base = np.asarray(c, dtype=x.dtype, like=x)
        out = _integer_power(base, x) if x.dtype.kind in "iu" else base ** x
        ctx.save_for_backward(out)
        ctx.log_c = np.log(x.dtype.type(c)) if c != 0 else 0.0
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


class Tan(Function):
    """tan x;  ∂/∂x = 1 + tan² x, from the output."""

    @staticmethod
    def forward(ctx, x):
        out = np.tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (out * out + 1)


class Sinh(Function):
    """sinh x;  ∂/∂x = cosh x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sinh(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * cosh(x)


class Cosh(Function):
    """cosh x;  ∂/∂x = sinh x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cosh(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * sinh(x)


class Asin(Function):
    """arcsin x;  ∂/∂x = 1/√(1 − x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arcsin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * rsqrt(1 - x * x)


class Acos(Function):
    """arccos x;  ∂/∂x = −1/√(1 − x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arccos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g * rsqrt(1 - x * x)


class Atan(Function):
    """arctan x;  ∂/∂x = 1/(1 + x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arctan(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (x * x + 1)


class Log2(Function):
    """log₂ x;  ∂/∂x = 1/(x ln 2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log2(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (x * math.log(2))


class Log10(Function):
    """log₁₀ x;  ∂/∂x = 1/(x ln 10)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log10(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (x * math.log(10))


class Exp2(Function):
    """2ˣ;  ∂/∂x = 2ˣ ln 2, from the output."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp2(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (out * math.log(2))


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
    """tanh x;  ∂/∂x = 1 − tanh² x = sech² x.

    Like PyTorch it saves its output (so changing that in place before backward is an error, and
    changing x is not).  The slope is not taken as 1 − t² from the rounded output t, PyTorch's
    form, which cancels as |x| grows (against 40-digit arithmetic 1.1e-8 relative at x = 10,
    1.7e-4 at 15, and 0 from 19.1 on, where sech² x is still about 1e-16), but as sech² x from x,
    made in the forward pass when a gradient will be asked for (:class:`SaturatingSlope`)."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(out, _sech_squared(x))
        return out

    @staticmethod
    def backward(ctx, g):
        out, slope = ctx.saved_tensors
        return g * SaturatingSlope.apply(out, slope=slope._data,
                                         derivative=_tanh_slope_derivative)


def _sech_squared(x: np.ndarray) -> np.ndarray:
    """sech² x = 1/cosh² x (0 where cosh² overflows, as sech² x underflows there).  Complex x
    (the complex step) takes 4u/(1 + u)², u = e^(−2|x|) with |x| = x·sign(Re x): holomorphic
    at the point and free of overflow, where cosh z = ∞·(cos y + i sin y) would make NaN."""
    if x.dtype.kind != "c":
        return 1 / np.square(np.cosh(x))
    u = np.exp(2 * np.where(real(x) >= 0, -x, x))
    v = 1 + u
    return 4 * u / (v * v)


def _tanh_slope_derivative(t: Tensor) -> Tensor:
    return -2 * t                                           # d(1 − t²)/dt


class Sigmoid(Function):
    """σ(x) = 1/(1 + e⁻ˣ);  ∂/∂x = σ(x)(1 − σ(x)) = u/(1 + u)², u = e^(−|x|).

    Evaluated as 1/(1 + e⁻ˣ) for Re x ≥ 0 and eˣ/(1 + eˣ) otherwise, so exp never overflows.
    Saves its output, as PyTorch does; the slope is taken as u/(1 + u)² from the forward
    pass's u, not as σ(1 − σ) from the rounded σ, which cancels as x grows (3.6e-8 relative at
    x = 20, 1e-3 at 30, 0 from 36.7 on) (:class:`SaturatingSlope`).
    """

    @staticmethod
    def forward(ctx, x):
        nonneg = real(x) >= 0
        z = np.exp(np.where(nonneg, -x, x))  # Re(exponent) ≤ 0
        denominator = 1 + z
        out = np.where(nonneg, 1 / denominator, z / denominator).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(out, z / np.square(denominator))
        return out

    @staticmethod
    def backward(ctx, g):
        out, slope = ctx.saved_tensors
        return g * SaturatingSlope.apply(out, slope=slope._data,
                                         derivative=_sigmoid_slope_derivative)


def _sigmoid_slope_derivative(s: Tensor) -> Tensor:
    return 1 - 2 * s                                        # d(s(1 − s))/ds


class SaturatingSlope(Function):
    """The slope f′(x) of tanh or sigmoid, computed by the op from x (``slope``), as an op of
    its output y, which the slope is a function of (1 − y², y(1 − y)): its derivative in y
    (``derivative``: −2y, 1 − 2y) carries second and higher derivatives."""

    @staticmethod
    def forward(ctx, y, *, slope, derivative):
        ctx.save_for_backward(y)
        ctx.derivative = derivative
        return slope

    @staticmethod
    def backward(ctx, h):
        y, = ctx.saved_tensors
        return h * ctx.derivative(y)


class Erf(Function):
    """erf x = (2/√π)∫₀ˣ e^(−t²) dt;  ∂/∂x = (2/√π) e^(−x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return special.erf(x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * exp(-(x * x))


class Erfc(Function):
    """erfc x = 1 − erf x = (2/√π)∫ₓ^∞ e^(−t²) dt;  ∂/∂x = −(2/√π) e^(−x²).

    Computed directly, not as 1 − erf x, which is 0 from x ≈ 6 on where erfc x is 2e-17 and
    smaller: the exact GELU's Φ(x) = ½ erfc(−x/√2) keeps its digits for negative x this way."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return special.erfc(x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (-2 / math.sqrt(math.pi)) * exp(-(x * x))


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
    """max(x, 0);  ∂/∂x = 1 where Re x > 0, else 0 (PyTorch's choice at 0).

    It saves its output, not a mask: Re y > 0 exactly where Re x > 0, and the next layer keeps
    y alive anyway, so the forward is one pass and the mask costs no memory.
    Backward: PositivePart of g where y is positive, or NaN (a NaN x passes its gradient, as
    PyTorch's rule "0 where y ≤ 0")."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "c":
            y = x * (x.real > 0)
        elif x.dtype.kind == "f":
            # against a zero array of x's layout where one is at hand: NumPy runs np.maximum(x, 0)
            # in a scalar loop, 2.5× slower while x is in cache (one core, LeNet-5's
            # (64, 6, 28, 28) map: 0.143 → 0.058 ms); the larger maps are bound by memory anyway
            zeros = workspace.zeros_like(x)
            y = np.maximum(x, 0 if zeros is None else zeros,       # NaN propagates, as PyTorch
                           out=workspace.empty_like(x))
        else:
            y = np.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return PositivePart.apply(g, where=y._data)


class PositivePart(Function):
    """g where Re y ≠ 0, else 0, for ReLU's output y (Re y ≥ 0 or NaN) of g's shape: 0 exactly
    where Re y ≤ 0, PyTorch's rule, NaN included.  Linear in g and its own adjoint, so its
    backward is the same op.

    Per batch chunk, the 0/1 mask is made in a cache-sized scratch buffer and used at once, so
    no full-size mask is ever allocated."""

    @staticmethod
    def forward(ctx, g, *, where):
        ctx.where = where
        if g.ndim == 0 or g.shape != where.shape:
            return g * (real(where) != 0)
        out = workspace.empty_like(g)
        for rows in workspace.batch_chunks(len(g), where.nbytes // max(len(where), 1)):
            mask = np.not_equal(real(where[rows]), 0,
                                out=workspace.scratch_like("relu-mask", where[rows], bool))
            np.multiply(g[rows], mask, out=out[rows])
        return out

    @staticmethod
    def backward(ctx, h):
        return PositivePart.apply(h, where=ctx.where)


class ScaledGradient(Function):
    """x itself, whose gradient is multiplied by a constant real array c on the way back: an
    average over repeated uses instead of a sum (embedding's scale_grad_by_freq).  Its backward
    is Scale, which is its own adjoint."""

    @staticmethod
    def forward(ctx, x, *, factor):
        ctx.factor = factor
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return Scale.apply(g, factor=ctx.factor)


class Scale(Function):
    """g ⊙ c for a constant real array c (a 0/1 mask, a dropout mask scaled by 1/(1 − p)).

    Linear in g and, c being real, its own adjoint: the backward is the same op on the incoming
    gradient.  Unlike Mul it saves nothing but c (a bool mask is one byte per entry), and a bool
    or same-precision c keeps g's dtype."""

    @staticmethod
    def forward(ctx, g, *, factor):
        ctx.factor = factor
        if broadcast_shape(g.shape, factor.shape) != g.shape:
            return np.multiply(g, factor)
        return np.multiply(g, factor, out=workspace.empty_like(g, np.result_type(g, factor)))

    @staticmethod
    def backward(ctx, h):
        return Scale.apply(h, factor=ctx.factor)


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
    """min(max(x, lo), hi) (by real part);  ∂/∂x = 1 where lo ≤ x ≤ hi (bounds included, as
    PyTorch), else 0.  A tensor bound gets the gradient where it is the value taken: lo where
    x < lo < hi, hi where x > hi or hi < lo (so that lo > hi gives hi everywhere, as PyTorch).

    NaN propagates, as in PyTorch and np.clip: a NaN x, or a NaN bound, gives NaN (the
    comparisons are written so that NaN fails them all).  A NaN x gets no gradient and gives
    none to a bound, but for hi when lo > hi (hi everywhere, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        rx = real(x)
        rlo = None if lo is None else real(np.asarray(lo, like=x))
        rhi = None if hi is None else real(np.asarray(hi, like=x))
        below_lo = None if lo is None else rx < rlo
        above_hi = None if hi is None else rx > rhi
        if lo is None:
            inside, takes_lo, takes_hi = rx <= rhi, np.zeros(x.shape, bool, like=x), above_hi
        elif hi is None:
            inside, takes_lo, takes_hi = rx >= rlo, below_lo, np.zeros(x.shape, bool, like=x)
        else:
            inside = (rx >= rlo) & (rx <= rhi)
            takes_lo, takes_hi = below_lo & (rlo < rhi), above_hi | (rhi < rlo)
        ctx.save_for_backward(inside, takes_lo, takes_hi)
        out = x if lo is None else np.where(below_lo, lo, x)
        if hi is not None:
            out = np.where(real(out) > rhi, hi, out)
        for bound, r in ((lo, rlo), (hi, rhi)):
            if r is not None and np.isnan(r).any():
                out = np.where(np.isnan(r), bound, out)
        return np.asarray(out, dtype=x.dtype, like=x)

    @staticmethod
    def backward(ctx, g):
        inside, takes_lo, takes_hi = ctx.saved_tensors
        return (where(inside, g, 0),
                where(takes_lo, g, 0) if ctx.needs_input_grad[1] else None,
                where(takes_hi, g, 0) if ctx.needs_input_grad[2] else None)


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


class LogAddExp(Function):
    """log(eᵃ + eᵇ), as the larger (by real part) plus log1p(e^(smaller − larger)), so nothing
    overflows;  ∂/∂a = e^(a − out), ∂/∂b = e^(b − out) (the softmax of the pair)."""

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype.kind == "c":
            larger = real(a) >= real(b)
            high, low = np.where(larger, a, b), np.where(larger, b, a)
            out = high + np.log1p(np.exp(low - high))
        else:
            out = np.logaddexp(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        return g * exp(a - out), g * exp(b - out)


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
    if not isinstance(x, Tensor):
        raise TypeError(f"neg: expected a Tensor, got {type(x).__name__}")
    if x.dtype == np.bool_:
        raise RuntimeError(f"neg: negation of a bool tensor (shape {tuple(x.shape)}) is not "
                           f"supported; to invert a mask use ~ or logical_not()")
    return Neg.apply(x)


def pow(x: Any, exponent: Any) -> Tensor:
    """xᵉ with a scalar or tensor exponent; cˣ when only x is a tensor."""
    if isinstance(x, Tensor) and not isinstance(exponent, Tensor):
        if isinstance(exponent, (int, float, np.number)) and not isinstance(exponent, bool):
            if x.dtype.kind in "iub":
                if isinstance(exponent, (float, np.floating)):
                    x = floating(x)
                elif exponent < 0:
                    raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                                       f"({dtypes.dtype_name(x.dtype)} tensor of shape "
                                       f"{tuple(x.shape)} to the power {exponent})")
                elif x.dtype == np.bool_:
                    x = x.to(dtypes.int64)  # bool ** int is int64 in PyTorch (int8 in NumPy)
            return PowScalar.apply(x, exponent)
    if (not isinstance(x, Tensor) and isinstance(exponent, Tensor)
            and isinstance(x, (int, float, complex, np.number))):
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
    """1/√x (so rsqrt(−0) = −inf, as IEEE and PyTorch; x^(−1/2) would give +inf)."""
    return reciprocal(sqrt(x))


def sin(x: Tensor) -> Tensor:
    return _unary(Sin, x, "sin")


def cos(x: Tensor) -> Tensor:
    return _unary(Cos, x, "cos")


def tan(x: Tensor) -> Tensor:
    return _unary(Tan, x, "tan")


def sinh(x: Tensor) -> Tensor:
    return _unary(Sinh, x, "sinh")


def cosh(x: Tensor) -> Tensor:
    return _unary(Cosh, x, "cosh")


def asin(x: Tensor) -> Tensor:
    return _unary(Asin, x, "asin")


def acos(x: Tensor) -> Tensor:
    return _unary(Acos, x, "acos")


def atan(x: Tensor) -> Tensor:
    return _unary(Atan, x, "atan")


def log2(x: Tensor) -> Tensor:
    return _unary(Log2, x, "log2")


def log10(x: Tensor) -> Tensor:
    return _unary(Log10, x, "log10")


def exp2(x: Tensor) -> Tensor:
    return _unary(Exp2, x, "exp2")


def tanh(x: Tensor) -> Tensor:
    return _unary(Tanh, x, "tanh")


def sigmoid(x: Tensor) -> Tensor:
    return _unary(Sigmoid, x, "sigmoid")


def erf(x: Tensor) -> Tensor:
    return _unary(Erf, x, "erf")


def erfc(x: Tensor) -> Tensor:
    return _unary(Erfc, x, "erfc")


def abs(x: Tensor) -> Tensor:
    if check_tensor(x, "abs").dtype == np.bool_:
        raise TypeError(f"abs: not supported for bool tensors (shape {tuple(x.shape)})")
    return Abs.apply(x)


def square(x: Tensor) -> Tensor:
    return mul(check_tensor(x, "square"), x)


def reciprocal(x: Tensor) -> Tensor:
    return div(1.0, floating(check_tensor(x, "reciprocal")))


def relu(x: Tensor) -> Tensor:
    if check_tensor(x, "relu").dtype == np.bool_:
        raise TypeError(f"relu: not supported for bool tensors (shape {tuple(x.shape)})")
    return ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"leaky_relu: expected a Tensor, got {type(x).__name__}")
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.number)):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got "
                        f"{type(negative_slope).__name__}")
    return LeakyReLU.apply(floating(x), negative_slope)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    check_tensor(x, "softplus")
    for name, value in (("beta", beta), ("threshold", threshold)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"softplus: {name} must be a number, got {type(value).__name__}")
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return Softplus.apply(floating(x), beta, threshold)


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Clamp to [min, max]; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if not isinstance(x, Tensor):
        raise TypeError(f"clamp: expected a Tensor, got {type(x).__name__}")
    for name, bound in (("min", min), ("max", max)):
        if not (bound is None or isinstance(bound, Tensor) or (
                isinstance(bound, (int, float, np.number)) and not isinstance(bound, bool))):
            raise TypeError(f"clamp: {name} must be None, a number or a Tensor, got "
                            f"{type(bound).__name__}")
    lo = min if min is None or isinstance(min, Tensor) else as_tensor_like(min, x, "clamp")._data
    hi = max if max is None or isinstance(max, Tensor) else as_tensor_like(max, x, "clamp")._data
    bounds = [b for b in (lo, hi) if isinstance(b, Tensor)]
    if bounds:  # tensor bounds broadcast with the input and take part in type promotion
        try:
            broadcast_shape(x.shape, *[b.shape for b in bounds])
        except ValueError:
            raise RuntimeError(f"clamp: input of shape {tuple(x.shape)} and bounds of shapes "
                               f"{[tuple(b.shape) for b in bounds]} cannot be broadcast "
                               f"together") from None
        dtype = x.dtype
        for b in bounds:
            dtype = dtypes.promote_types(dtype, b.dtype, x.ndim, b.ndim)
        x = x.to(dtype)
        lo = lo.to(dtype) if isinstance(lo, Tensor) else lo
        hi = hi.to(dtype) if isinstance(hi, Tensor) else hi
    if x.dtype.kind in "iub" and any(np.result_type(getattr(v, "_data", v)).kind == "f"
                                     for v in (lo, hi) if v is not None):
        x = floating(x)
    return Clamp.apply(x, lo, hi)


clip = clamp


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise choice: a where condition holds, else b (all three broadcast)."""
    cond = condition._data if isinstance(condition, Tensor) else backend.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a, b = operands(a, b, "where")
    if not backend.same_device(cond, a._data):
        if isinstance(condition, Tensor) and condition.ndim:
            raise RuntimeError(f"where: expected condition on the values' device, got "
                               f"{condition.device} and {a.device}")
        cond = backend.like(cond, a._data)
    try:
        broadcast_shape(cond.shape, a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"where: condition of shape {cond.shape} and values of shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast "
                           f"together") from None
    return Where.apply(cond, a, b)


def scaled_gradient(x: Tensor, factor: np.ndarray) -> Tensor:
    """x, with its gradient multiplied by the real array ``factor`` (broadcast to x's shape) on
    the way back (see :class:`ScaledGradient`)."""
    check_tensor(x, "scaled_gradient")
    return ScaledGradient.apply(x, factor=factor)


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """x with ``value`` where the bool ``mask`` (broadcast to x's shape) holds, in x's dtype, as
    torch.masked_fill; the gradient goes to x where the mask does not hold, and to a tensor
    ``value`` (0-d) summed over where it does."""
    check_tensor(x, "masked_fill")
    mask_data = mask._data if isinstance(mask, Tensor) else backend.asarray(mask)
    if mask_data.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {mask_data.dtype}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"masked_fill: value must be a number or a 0-d tensor, got a tensor "
                           f"of shape {tuple(value.shape)}")
    if not isinstance(value, Tensor) and not isinstance(value, (numbers.Number, np.number)):
        raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got "
                        f"{type(value).__name__}")
    try:
        if broadcast_shape(mask_data.shape, x.shape) != tuple(x.shape):
            raise ValueError
    except ValueError:
        raise RuntimeError(f"masked_fill: mask of shape {mask_data.shape} does not broadcast to "
                           f"the input's shape {tuple(x.shape)}") from None
    out = where(mask_data if not isinstance(mask, Tensor) else mask, value, x)
    return out if out.dtype == x.dtype else out.to(x.dtype)


def _triangle(x: Tensor, diagonal: int, op: str, lower: bool) -> Tensor:
    check_tensor(x, op)
    if x.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                           f"{tuple(x.shape)}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, (int, np.integer)):
        raise TypeError(f"{op}: diagonal must be an integer, got {type(diagonal).__name__}")
    rows, columns = x.shape[-2:]
    keep = (np.tri(rows, columns, int(diagonal), dtype=bool) if lower
            else ~np.tri(rows, columns, int(diagonal) - 1, dtype=bool))
    # a selection, not a product with a 0/1 mask: NaN and inf outside the triangle become 0
    return where(backend.like(keep, x._data), x, 0)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (entries (i, j) with j − i ≤ diagonal), zeros
    elsewhere; the gradient is masked the same way."""
    return _triangle(x, diagonal, "tril", lower=True)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (entries (i, j) with j − i ≥ diagonal), zeros
    elsewhere; the gradient is masked the same way."""
    return _triangle(x, diagonal, "triu", lower=False)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(*operands(a, b, "maximum"))


def logaddexp(a: Any, b: Any) -> Tensor:
    a, b = operands(a, b, "logaddexp")
    return LogAddExp.apply(floating(a), floating(b))


def minimum(a: Any, b: Any) -> Tensor:
    """min(a, b) = −max(−a, −b): the same tie rule as maximum."""
    a, b = operands(a, b, "minimum")
    if a.dtype == np.bool_:  # no gradient, and bools cannot be negated
        return Tensor(np.minimum(a._data, b._data))
    return neg(Maximum.apply(neg(a), neg(b)))


def lerp(start: Tensor, end: Any, weight: Any) -> Tensor:
    """start + weight·(end − start), computed as PyTorch does: as written for |weight| < 0.5,
    otherwise as end + (weight − 1)·(end − start), which is exactly end at weight 1 and stays
    infinite where start is (start + ½·(end − start) would be inf − inf = NaN)."""
    shapes = [tuple(np.shape(v._data if isinstance(v, Tensor) else v))
              for v in (start, end, weight)]
    try:
        broadcast_shape(*shapes)
    except ValueError:
        raise RuntimeError(f"lerp: start, end and weight of shapes {shapes[0]}, {shapes[1]} and "
                           f"{shapes[2]} cannot be broadcast together") from None
    if not isinstance(weight, (Tensor, numbers.Number, np.number)):       # an array, or junk
        weight = as_tensor_like(weight, check_tensor(start, "lerp"), "lerp")
    # base + coefficient·diff, the base and coefficient picked per element: not a choice
    # between two whole formulas, whose unused one would send 0·inf = NaN to the weight
    if isinstance(weight, Tensor):
        small = np.abs(weight._data) < 0.5
        base, coefficient = where(small, start, end), where(small, weight, sub(weight, 1))
    else:
        small = np.abs(weight) < 0.5
        base, coefficient = (start, weight) if small else (end, weight - 1)
    return add(base, mul(sub(end, start), coefficient))


# ------------------------------------------------------------------------------ no gradient


def _no_grad_binary(fn: Any, a: Any, b: Any, name: str = "op") -> Tensor:
    a, b = operands(a, b, name)
    try:
        with np.errstate(all="ignore"):
            return Tensor(fn(a._data, b._data))
    except TypeError:  # NumPy has no loop for these dtypes (e.g. complex floor division)
        raise TypeError(f"{name}: not supported for {dtypes.dtype_name(a.dtype)} tensors "
                        f"(shapes {tuple(a.shape)} and {tuple(b.shape)})") from None


def _no_grad_unary(fn: Any, x: Tensor, name: str = "op", complex_ok: bool = True) -> Tensor:
    check_tensor(x, name)
    if not complex_ok and x.dtype.kind == "c":
        raise TypeError(f"{name}: not supported for complex tensors (shape {tuple(x.shape)})")
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
    return _no_grad_unary(np.logical_not, x, "logical_not")


def sign(x: Tensor) -> Tensor:
    """−1, 0 or 1; sign(NaN) = 0, as PyTorch (NumPy would give NaN); a bool tensor is its own
    sign."""
    if check_tensor(x, "sign").dtype == np.bool_:
        return Tensor(x._data.copy())
    if x.dtype.kind == "f":
        return _no_grad_unary(lambda a: np.where(np.isnan(a), 0, np.sign(a)).astype(a.dtype), x,
                              "sign")
    return _no_grad_unary(np.sign, x, "sign")


def floor(x: Tensor) -> Tensor:
    return _no_grad_unary(np.floor, x, "floor", complex_ok=False)


def ceil(x: Tensor) -> Tensor:
    return _no_grad_unary(np.ceil, x, "ceil", complex_ok=False)


def round(x: Tensor, decimals: int = 0) -> Tensor:
    return _no_grad_unary(lambda a: np.round(a, decimals), x, "round", complex_ok=False)


def isnan(x: Tensor) -> Tensor:
    return _no_grad_unary(np.isnan, x, "isnan")


def isinf(x: Tensor) -> Tensor:
    return _no_grad_unary(np.isinf, x, "isinf")


def isfinite(x: Tensor) -> Tensor:
    return _no_grad_unary(np.isfinite, x, "isfinite")
