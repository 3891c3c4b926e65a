"""Numerics at the extremes, against PyTorch 2.13.0.

* The stable functions (softmax, log_softmax, logsumexp, cross_entropy,
  binary_cross_entropy_with_logits, sigmoid, softplus, tanh, and the activations and losses
  built on them) take logits of ±1e4 and ±1e30 (and values just past exp's overflow point) in
  float32 and float64 and give finite values and gradients equal to PyTorch's.
* var/std of constant tensors are 0 with PyTorch's gradients.
* Division by zero, log 0, sqrt 0 and exp overflow give the IEEE inf/nan PyTorch gives, in the
  value and in the gradient, and never an exception from inside a backward — even with NumPy
  set to raise on floating-point errors.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest
import torch

import lemmata

RTOL = {"float32": 1e-5, "float64": 1e-12}
# magnitudes: large, astronomically large, and just past exp's overflow point of each dtype
MAGNITUDES = {"float32": [1e4, 1e30, 89.0], "float64": [1e4, 1e30, 710.0]}


def _rows(m: float) -> np.ndarray:
    """Logit rows mixing ±m with moderate values, a row of equal huge entries, and a row where
    the huge entries nearly tie."""
    base = np.array([m, -m, 0.0, 1.5, -m / 3, m / 7])
    return np.stack([base, -base, np.roll(base, 2), np.full(6, m), [m, m * (1 - 1e-3), -m, 0, 2,
                                                                      -2]])


def _run(lib: Any, fn: Callable, x: np.ndarray, dtype: str, weights: np.ndarray | None = None,
         ) -> tuple[np.ndarray, np.ndarray]:
    """fn's value and the gradient of Σ w ⊙ fn(x) (w standard normal unless given)."""
    t = lib.tensor(x.astype(dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(lib, lib.nn.functional, t)
    w = np.random.default_rng(7).standard_normal(tuple(y.shape)) if weights is None else weights
    (y * lib.tensor(np.asarray(w, dtype=dtype))).sum().backward()
    return y.detach().numpy().copy(), t.grad.numpy().copy()


def assert_same_ieee(ours: np.ndarray, theirs: np.ndarray, rtol: float, what: str) -> None:
    """NaN where PyTorch has NaN, ±inf where it has ±inf, and the finite entries close."""
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch's {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} != torch's {theirs.dtype}"
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{what}: NaN pattern")
    inf = np.isinf(theirs)
    np.testing.assert_array_equal(np.isinf(ours), inf, err_msg=f"{what}: inf pattern")
    np.testing.assert_array_equal(ours[inf], theirs[inf], err_msg=f"{what}: signs of inf")
    finite = np.isfinite(theirs)
    if finite.any():
        scale = max(float(np.abs(theirs[finite]).max()), 1e-300)
        np.testing.assert_allclose(ours[finite], theirs[finite], rtol=rtol, atol=rtol * scale,
                                   err_msg=f"{what}: finite values")


def _compare(fn: Callable, x: np.ndarray, dtype: str, weights: np.ndarray | None = None) -> tuple:
    ours = _run(lemmata, fn, x, dtype, weights)
    theirs = _run(torch, fn, x, dtype, weights)
    for what, a, b in zip(("value", "gradient"), ours, theirs):
        assert_same_ieee(a, b, RTOL[dtype], what)
    return ours, theirs


# ----------------------------------------------------------------------------------------------
# the stable functions: finite at ±1e4 and ±1e30, and equal to PyTorch
# ----------------------------------------------------------------------------------------------
TARGETS = np.array([0, 1, 2, 3, 5])
STABLE: dict[str, Callable] = {
    "softmax": lambda L, F, x: F.softmax(x, dim=-1),
    "softmax_dim0": lambda L, F, x: L.softmax(x, 0),
    "log_softmax": lambda L, F, x: F.log_softmax(x, dim=-1),
    "log_softmax_dim0": lambda L, F, x: x.log_softmax(0),
    "logsumexp": lambda L, F, x: L.logsumexp(x, dim=-1),
    "logsumexp_all": lambda L, F, x: L.logsumexp(x, dim=(0, 1), keepdim=True),
    "cross_entropy": lambda L, F, x: F.cross_entropy(x, L.tensor(TARGETS)),
    "cross_entropy_per_row": lambda L, F, x: F.cross_entropy(x, L.tensor(TARGETS),
                                                             reduction="none"),
    "cross_entropy_smoothed_weighted": lambda L, F, x: F.cross_entropy(
        x, L.tensor(TARGETS), weight=L.linspace(0.5, 2.0, 6, dtype=x.dtype),
        label_smoothing=0.1),
    "cross_entropy_probabilities": lambda L, F, x: F.cross_entropy(
        x, F.softmax(L.arange(30, dtype=x.dtype).reshape(5, 6) / 7, dim=1), reduction="sum"),
    "nll_of_log_softmax": lambda L, F, x: F.nll_loss(F.log_softmax(x, 1), L.tensor(TARGETS)),
    "kl_div_of_log_softmax": lambda L, F, x: F.kl_div(
        F.log_softmax(x, 1), F.softmax(L.arange(30, dtype=x.dtype).reshape(5, 6) / 7, dim=1),
        reduction="batchmean"),
    "binary_cross_entropy_with_logits": lambda L, F, x: F.binary_cross_entropy_with_logits(
        x, L.full(x.shape, 0.3, dtype=x.dtype), reduction="none"),
    "binary_cross_entropy_with_logits_pos_weight": lambda L, F, x:
        F.binary_cross_entropy_with_logits(x, (L.arange(30).reshape(5, 6) % 2).to(x.dtype),
                                           pos_weight=L.full((6,), 3.0, dtype=x.dtype)),
    "sigmoid": lambda L, F, x: L.sigmoid(x),
    "softplus": lambda L, F, x: F.softplus(x),
    "softplus_beta_threshold": lambda L, F, x: F.softplus(x, beta=3.0, threshold=5.0),
    "tanh": lambda L, F, x: L.tanh(x),
    "logsigmoid": lambda L, F, x: F.logsigmoid(x),
    "silu": lambda L, F, x: F.silu(x),
    "mish": lambda L, F, x: F.mish(x),
    "elu": lambda L, F, x: F.elu(x),
    "gelu": lambda L, F, x: F.gelu(x),
    "softmin": lambda L, F, x: F.softmin(x, dim=-1),
    "erf": lambda L, F, x: L.erf(x),
    "softsign": lambda L, F, x: F.softsign(x),
    "normalize": lambda L, F, x: F.normalize(x, dim=-1),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(STABLE))
def test_stable_functions_at_extreme_logits(name: str, dtype: str) -> None:
    for m in MAGNITUDES[dtype]:
        x = _rows(m)
        (value, grad), (t_value, t_grad) = _compare(STABLE[name], x, dtype)
        assert np.isfinite(t_value).all() and np.isfinite(t_grad).all(), "torch is not finite"
        assert np.isfinite(value).all(), f"{name} at ±{m:g}: non-finite value"
        assert np.isfinite(grad).all(), f"{name} at ±{m:g}: non-finite gradient"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_of_huge_logits_is_exact(dtype: str) -> None:
    """exp(x − max): the largest logit gets probability 1 and the loss 0, not inf − inf."""
    for m in (1e4, 1e30):     # exp(−m) underflows to 0 in both dtypes
        x = lemmata.tensor(np.array([[m, -m, 0.0]], dtype=dtype), requires_grad=True)
        p = lemmata.softmax(x, dim=1)
        np.testing.assert_array_equal(p.detach().numpy(), [[1.0, 0.0, 0.0]])
        loss = lemmata.nn.functional.cross_entropy(x, lemmata.tensor([0]))
        assert loss.item() == 0.0
        loss.backward()
        np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, 0.0]])
        assert lemmata.logsumexp(x, 1).item() == np.array(m, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_tanh_approximation_matches_torch_even_where_both_overflow(dtype: str) -> None:
    """The cubic inside gelu's tanh form overflows at 1e30 in float32; the gradient is then NaN
    in PyTorch too — equal NaN patterns, not a crash."""
    for m in MAGNITUDES[dtype]:
        _compare(lambda L, F, x: F.gelu(x, approximate="tanh"), _rows(m), dtype)


# ----------------------------------------------------------------------------------------------
# var and std of constant tensors
# ----------------------------------------------------------------------------------------------
CONSTANT_CASES = [
    ((5,), {}),
    ((5,), {"correction": 0}),
    ((3, 4), {"dim": 1}),
    ((3, 4), {"dim": 0, "keepdim": True}),
    ((2, 3, 4), {"dim": (0, 2), "correction": 0}),
    ((2, 3, 4), {"dim": (1, 2), "correction": 1, "keepdim": True}),
]


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [0.0, 2.0, -3.5, 1e4, 0.1])
@pytest.mark.parametrize("shape,kwargs", CONSTANT_CASES)
def test_var_std_of_constant_tensors(op: str, dtype: str, value: float, shape: tuple,
                                     kwargs: dict) -> None:
    """Exactly 0 (the data are shifted by their first entry before centring, so rounding in the
    mean leaves nothing behind).  PyTorch's own result is sometimes a rounding residue (1e-17,
    or 1e-8 in float32); where it is exactly 0 the gradients agree, elsewhere lemmata's is
    the exact one (0) and both are finite."""
    fn = lambda L, F, x: getattr(x, op)(**kwargs)
    x = np.full(shape, value)
    ours, grad = _run(lemmata, fn, x, dtype)
    theirs, t_grad = _run(torch, fn, x, dtype)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert not ours.any(), f"{op} of the constant {value} is {ours}, not 0"
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6 * max(abs(value), 1))
    assert np.isfinite(grad).all() and np.isfinite(t_grad).all()
    if not theirs.any():
        atol = (1e-5 if dtype == "float32" else 1e-13) * max(abs(value), 1)
        np.testing.assert_allclose(grad, t_grad, rtol=0, atol=atol)


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_var_std_with_no_degrees_of_freedom_are_nan_not_an_exception(op: str, dtype: str) -> None:
    """One sample with correction 1: 0/0 — NaN value and NaN gradient, as PyTorch."""
    for shape, kwargs in (((1,), {}), ((3, 1), {"dim": 1}), ((1, 2), {"dim": 0})):
        (value, grad), _ = _compare(lambda L, F, x: getattr(x, op)(**kwargs),
                                    np.full(shape, 2.0), dtype)
        assert np.isnan(value).all() and np.isnan(grad).all()


# ----------------------------------------------------------------------------------------------
# division by zero, log 0, sqrt 0, exp overflow: IEEE results, as PyTorch
# ----------------------------------------------------------------------------------------------
POINTS = np.array([0.0, -0.0, 1.0, -1.0, 1e-30, 0.0])
WEIGHTS = np.array([1.0, -2.0, 0.5, -1.0, 3.0, 0.0])   # the last upstream gradient is exactly 0

SINGULAR: dict[str, Callable] = {
    "one_over_x": lambda L, F, x: 1.0 / x,
    "x_over_zero": lambda L, F, x: x / L.zeros_like(x),
    "x_over_x": lambda L, F, x: x / x,
    "reciprocal": lambda L, F, x: L.reciprocal(x),
    "log": lambda L, F, x: L.log(x),
    "log_of_abs": lambda L, F, x: L.log(x.abs()),
    "log1p_of_minus_one": lambda L, F, x: L.log1p(x - 1),
    "sqrt": lambda L, F, x: L.sqrt(x),
    "rsqrt": lambda L, F, x: L.rsqrt(x),
    "power_minus_one": lambda L, F, x: x ** -1,
    "power_half": lambda L, F, x: x.abs() ** 0.5,
    "power_zero": lambda L, F, x: x ** 0,
    "tensor_power_at_zero_base": lambda L, F, x: L.pow(x.abs(), x),
    "exp_overflow": lambda L, F, x: L.exp(x * 1e3),
    "expm1_overflow": lambda L, F, x: L.expm1(x * 1e3),
    "exp_then_log": lambda L, F, x: L.log(L.exp(x * 1e3)),
    "two_to_the_x_overflow": lambda L, F, x: 2.0 ** (x * 1e4),
    "std_of_constant_then_divide": lambda L, F, x: x / x.abs().std(),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(SINGULAR))
def test_singularities_give_torchs_inf_and_nan(name: str, dtype: str) -> None:
    _compare(SINGULAR[name], POINTS, dtype, WEIGHTS)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exp_overflow_is_inf_in_value_and_gradient(dtype: str) -> None:
    big = {"float32": 89.0, "float64": 710.0}[dtype]
    (value, grad), _ = _compare(lambda L, F, x: L.exp(x), np.array([big, 1.0]), dtype,
                                np.array([1.0, 1.0]))
    assert value[0] == np.inf and grad[0] == np.inf
    assert np.isfinite(value[1]) and np.isfinite(grad[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_division_by_a_tiny_denominator_has_a_finite_gradient(dtype: str) -> None:
    """∂(a/b)/∂b = −(a/b)/b: finite where b² alone would underflow to 0."""
    tiny = {"float32": 1e-25, "float64": 1e-170}[dtype]
    a = lemmata.tensor(np.array([tiny, 2 * tiny], dtype=dtype), requires_grad=True)
    b = lemmata.tensor(np.array([tiny, tiny], dtype=dtype), requires_grad=True)
    (a / b).sum().backward()
    ta = torch.tensor(np.array([tiny, 2 * tiny], dtype=dtype), requires_grad=True)
    tb = torch.tensor(np.array([tiny, tiny], dtype=dtype), requires_grad=True)
    (ta / tb).sum().backward()
    assert np.isfinite(b.grad.numpy()).all(), b.grad
    assert_same_ieee(b.grad.numpy(), tb.grad.numpy(), RTOL[dtype], "d(a/b)/db")
    assert_same_ieee(a.grad.numpy(), ta.grad.numpy(), RTOL[dtype], "d(a/b)/da")


@pytest.mark.parametrize("name", sorted(SINGULAR) + sorted(STABLE))
def test_no_numpy_floating_point_error_escapes_when_numpy_raises(name: str) -> None:
    """A user running with ``np.seterr(all='raise')`` still gets IEEE results, not a NumPy
    FloatingPointError from inside an op or a backward."""
    fn = SINGULAR.get(name) or STABLE[name]
    x = POINTS if name in SINGULAR else _rows(1e30)
    w = WEIGHTS if name in SINGULAR else None
    expected = _run(lemmata, fn, x, "float64", w)
    with np.errstate(all="raise"):
        got = _run(lemmata, fn, x, "float64", w)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
