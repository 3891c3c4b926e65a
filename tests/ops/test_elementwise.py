"""lemmata.ops.elementwise: every differentiable elementwise op against finite differences, the
complex step and PyTorch (values and gradients, float32 and float64), on hypothesis-generated
shapes with broadcasting, size-1 and size-0 dims; second and third derivatives against PyTorch;
PyTorch's rules at kinks and ties; the non-differentiable comparisons and roundings."""
from __future__ import annotations

import decimal

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import lemmata
from checks import check_gradients, check_torch_parity
from higher_order import check_higher_derivatives, values

# name -> (lemmata op, torch op, input domain); domains keep inputs off every kink (see values)
UNARY = {
    "neg": (lambda x: -x, lambda x: -x, "any"),
    "neg_fn": (lemmata.neg, torch.neg, "any"),
    "abs": (lemmata.abs, torch.abs, "away0"),
    "exp": (lemmata.exp, torch.exp, "any"),
    "expm1": (lemmata.expm1, torch.expm1, "any"),
    "log": (lemmata.log, torch.log, "positive"),
    "log1p": (lemmata.log1p, torch.log1p, "positive"),
    "sqrt": (lemmata.sqrt, torch.sqrt, "positive"),
    "rsqrt": (lemmata.rsqrt, torch.rsqrt, "positive"),
    "sin": (lemmata.sin, torch.sin, "any"),
    "cos": (lemmata.cos, torch.cos, "any"),
    "tan": (lemmata.tan, torch.tan, "inside1"),
    "sinh": (lemmata.sinh, torch.sinh, "moderate"),
    "cosh": (lambda x: x.cosh(), lambda x: x.cosh(), "moderate"),
    "asin": (lemmata.asin, torch.asin, "inside1"),
    "acos": (lambda x: x.acos(), lambda x: x.acos(), "inside1"),
    "atan": (lemmata.atan, torch.atan, "any"),
    "log2": (lemmata.log2, torch.log2, "positive"),
    "log10": (lambda x: x.log10(), lambda x: x.log10(), "positive"),
    "exp2": (lemmata.exp2, torch.exp2, "any"),
    "tanh": (lemmata.tanh, torch.tanh, "any"),
    "sigmoid": (lemmata.sigmoid, torch.sigmoid, "any"),
    "erf": (lemmata.erf, torch.erf, "moderate"),
    "erfc": (lemmata.erfc, torch.erfc, "moderate"),
    "relu": (lemmata.relu, torch.relu, "away0"),
    "leaky_relu": (lambda x: lemmata.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), "away0"),
    "leaky_relu_default": (lemmata.leaky_relu, TF.leaky_relu, "away0"),
    "softplus": (lemmata.softplus, TF.softplus, "any"),
    "softplus_beta": (lambda x: lemmata.softplus(x, beta=2.0, threshold=1.5),
                      lambda x: TF.softplus(x, beta=2.0, threshold=1.5), "any"),
    "square": (lemmata.square, torch.square, "any"),
    "reciprocal": (lemmata.reciprocal, torch.reciprocal, "away0"),
    "pow_2": (lambda x: x ** 2, lambda x: x ** 2, "any"),
    # away from 0, where x³'s slope vanishes and its third derivative does not: there central
    # differences' own error ε²·f‴/6 exceeds the 1e-6 relative check once |x| < 3e-4 (x = 2.8e-4
    # in a 500-example run: 6.9e-6 off)
    "pow_3": (lambda x: lemmata.pow(x, 3), lambda x: torch.pow(x, 3), "away0"),
    "pow_-2": (lambda x: x ** -2, lambda x: x ** -2, "away0"),
    "pow_0.5": (lambda x: x ** 0.5, lambda x: x ** 0.5, "positive"),
    "pow_-1.5": (lambda x: x ** -1.5, lambda x: x ** -1.5, "positive"),
    "pow_0": (lambda x: x ** 0, lambda x: x ** 0, "any"),
    "pow_1": (lambda x: x ** 1, lambda x: x ** 1, "any"),
    "rpow_2": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, "any"),
    "rpow_0.5": (lambda x: lemmata.pow(0.5, x), lambda x: torch.pow(0.5, x), "any"),
    "rpow_int": (lambda x: 3 ** x, lambda x: 3 ** x, "any"),
    "clamp": (lambda x: lemmata.clamp(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5), "odd"),
    "clamp_min": (lambda x: x.clamp(min=0.2), lambda x: x.clamp(min=0.2), "odd"),
    "clamp_max": (lambda x: lemmata.clip(x, max=-0.3), lambda x: torch.clip(x, max=-0.3), "odd"),
    "scalar_add": (lambda x: 1.5 + x, lambda x: 1.5 + x, "any"),
    "scalar_sub": (lambda x: 1.5 - x, lambda x: 1.5 - x, "any"),
    "scalar_mul": (lambda x: x * -2.5, lambda x: x * -2.5, "any"),
    "scalar_div": (lambda x: x / 4.0, lambda x: x / 4.0, "any"),
    "scalar_rdiv": (lambda x: 3.0 / x, lambda x: 3.0 / x, "away0"),
    "lerp_scalar_weight": (lambda x: lemmata.lerp(x, x * x, 0.3),
                           lambda x: torch.lerp(x, x * x, 0.3), "any"),
}

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, "any", "any"),
    "add_alpha": (lambda a, b: lemmata.add(a, b, alpha=2.5),
                  lambda a, b: torch.add(a, b, alpha=2.5), "any", "any"),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, "any", "any"),
    "sub_alpha": (lambda a, b: a.sub(b, alpha=-0.5), lambda a, b: a.sub(b, alpha=-0.5),
                  "any", "any"),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, "any", "any"),
    "div": (lambda a, b: a / b, lambda a, b: a / b, "any", "away0"),
    "div_fn": (lemmata.div, torch.div, "any", "away0"),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b, "positive", "any"),
    "pow_fn": (lemmata.pow, torch.pow, "positive", "any"),
    "maximum": (lemmata.maximum, torch.maximum, "grid", "grid2"),
    "minimum": (lemmata.minimum, torch.minimum, "grid", "grid2"),
    "max_elementwise": (lemmata.max, torch.max, "grid", "grid2"),
    "min_elementwise": (lambda a, b: a.min(b), lambda a, b: a.min(b), "grid", "grid2"),
    "lerp": (lambda a, b: a.lerp(b, 0.75), lambda a, b: a.lerp(b, 0.75), "any", "any"),
    "logaddexp": (lemmata.logaddexp, torch.logaddexp, "any", "any"),
    "logaddexp_method": (lambda a, b: a.logaddexp(b * 30), lambda a, b: a.logaddexp(b * 30),
                         "any", "any"),
    "where": (lambda a, b: lemmata.where(a > 0, a, b),
              lambda a, b: torch.where(a > 0, a, b), "away0", "any"),
    "clamp_tensor_min": (lambda a, b: lemmata.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b),
                         "odd", "even"),
    "clamp_tensor_max": (lambda a, b: lemmata.clamp(a, max=b), lambda a, b: torch.clamp(a, max=b),
                         "odd", "even"),
}

TERNARY = {
    "lerp_tensor_weight": (lemmata.lerp, torch.lerp, ("any", "any", "any")),
    "clamp_tensor": (lemmata.clamp, torch.clamp, ("odd", "even", "shifted")),
    "where_broadcast": (lambda c, a, b: lemmata.where(c > 0, a, b),
                        lambda c, a, b: torch.where(c > 0, a, b), ("away0", "any", "any")),
}

seeds = st.integers(0, 2 ** 32 - 1)
small_shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)


def _check_all(f_l, f_t, arrays):
    check_gradients(f_l, arrays)
    check_torch_parity(f_l, f_t, arrays, "float64")
    check_torch_parity(f_l, f_t, arrays, "float32")


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=small_shapes, seed=seeds)
def test_unary_gradients_and_torch_parity(name, shape, seed):
    f_l, f_t, domain = UNARY[name]
    _check_all(f_l, f_t, [values(shape, domain, seed)])


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0,
                                            max_side=3), seed=seeds)
def test_binary_gradients_and_torch_parity_with_broadcasting(name, shapes, seed):
    f_l, f_t, domain_a, domain_b = BINARY[name]
    a_shape, b_shape = shapes.input_shapes
    _check_all(f_l, f_t, [values(a_shape, domain_a, seed), values(b_shape, domain_b, seed + 1)])


@pytest.mark.parametrize("name", sorted(TERNARY))
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=0,
                                            max_side=2), seed=seeds)
def test_ternary_gradients_and_torch_parity_with_broadcasting(name, shapes, seed):
    f_l, f_t, domains = TERNARY[name]
    if name == "clamp_tensor":  # torch.clamp's output takes the input's shape only
        shapes_ = [shapes.result_shape] + list(shapes.input_shapes[1:])
    else:
        shapes_ = shapes.input_shapes
    arrays = [values(s, d, seed + i) for i, (s, d) in enumerate(zip(shapes_, domains))]
    _check_all(f_l, f_t, arrays)


# ------------------------------------------------------------------------- higher derivatives


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_second_and_third_derivatives_match_torch(name):
    f_l, f_t, domain = UNARY[name]
    check_higher_derivatives(f_l, f_t, [values((2, 3), domain, 5)])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_second_and_third_derivatives_match_torch(name):
    f_l, f_t, domain_a, domain_b = BINARY[name]
    check_higher_derivatives(f_l, f_t, [values((2, 3), domain_a, 5), values((3,), domain_b, 6)])


@pytest.mark.parametrize("name", sorted(TERNARY))
def test_ternary_second_and_third_derivatives_match_torch(name):
    f_l, f_t, domains = TERNARY[name]
    shapes = [(2, 3), (3,), (2, 1)]
    check_higher_derivatives(f_l, f_t, [values(s, d, 7 + i)
                                        for i, (s, d) in enumerate(zip(shapes, domains))])


def test_composite_second_derivative_of_sigmoid_tanh_chain():
    def f(lib):
        return lambda x, y: lib.sigmoid(x * y).tanh() * lib.exp(-x * x) + (x / y).sin()
    check_higher_derivatives(f(lemmata), f(torch), [values((4,), "away0", 1),
                                                     values((4,), "away0", 2)])


# ------------------------------------------------------------------------- kinks and ties


def _grads_at(f_l, f_t, *points, dtype="float64", rtol=0.0):
    ours = [lemmata.tensor(np.asarray(p, dtype=dtype), requires_grad=True) for p in points]
    theirs = [torch.tensor(np.asarray(p, dtype=dtype), requires_grad=True) for p in points]
    out_l, out_t = f_l(*ours), f_t(*theirs)
    np.testing.assert_allclose(out_l.detach().numpy(), out_t.detach().numpy(), rtol=rtol)
    out_l.sum().backward()
    out_t.sum().backward()
    got = [t.grad.numpy() for t in ours]
    expected = [t.grad.numpy() for t in theirs]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=rtol)
    return got


def test_relu_derivative_at_zero_is_zero():
    g, = _grads_at(lemmata.relu, torch.relu, [-1.0, 0.0, -0.0, 2.0])
    np.testing.assert_array_equal(g, [0, 0, 0, 1])


def test_leaky_relu_derivative_at_zero_is_the_slope():
    g, = _grads_at(lambda x: lemmata.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1),
                   [-1.0, 0.0, 2.0])
    np.testing.assert_allclose(g, [0.1, 0.1, 1.0])


def test_abs_derivative_at_zero_is_zero():
    g, = _grads_at(lemmata.abs, torch.abs, [-1.5, 0.0, 2.0])
    np.testing.assert_array_equal(g, [-1, 0, 1])


def test_clamp_includes_its_bounds():
    g, = _grads_at(lambda x: x.clamp(-1.0, 1.0), lambda x: x.clamp(-1.0, 1.0),
                   [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])


def test_clamp_tensor_bounds_at_ties_match_torch():
    _grads_at(lemmata.clamp, torch.clamp, [-2.0, -1.0, 0.0, 1.0, 2.0],
              [-1.0, -1.0, -1.0, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0, 1.0])


def test_clamp_with_min_above_max_gives_max_as_torch():
    _grads_at(lemmata.clamp, torch.clamp, [-2.0, 0.0, 2.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5])


NONFINITE_AND_SIGNED_ZEROS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0]

# piecewise ops at NaN, ±inf and ±0: PyTorch's values and its rules for which branch a NaN takes
# (its "x ≤ 0" tests send a NaN to the x branch).  Deliberately different and not listed: abs
# and l1_loss at NaN (PyTorch's slope 0 there, lemmata's NaN), binary_cross_entropy_with_logits
# at x = −inf (PyTorch NaN, lemmata the loss's limit +inf), binary_cross_entropy's slope at
# p = 0 or 1 (lemmata differentiates the clamped logs of its forward pass; PyTorch divides by
# max(p(1 − p), 1e-12)).
AT_NONFINITE = {
    "relu": (lemmata.relu, torch.relu),
    "relu6": (lemmata.nn.functional.relu6, TF.relu6),
    "leaky_relu": (lemmata.leaky_relu, TF.leaky_relu),
    "hardtanh": (lemmata.nn.functional.hardtanh, TF.hardtanh),
    "elu": (lemmata.nn.functional.elu, TF.elu),
    "selu": (lemmata.nn.functional.selu, TF.selu),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5)),
    "clamp_min": (lambda x: x.clamp(min=0.0), lambda x: x.clamp(min=0.0)),
    "clamp_max": (lambda x: x.clamp(max=0.0), lambda x: x.clamp(max=0.0)),
    "sigmoid": (lemmata.sigmoid, torch.sigmoid),
    "tanh": (lemmata.tanh, torch.tanh),
    "softplus": (lemmata.softplus, TF.softplus),
}


@pytest.mark.parametrize("name", sorted(AT_NONFINITE))
def test_piecewise_ops_at_nan_inf_and_signed_zeros_match_torch(name):
    _grads_at(*AT_NONFINITE[name], NONFINITE_AND_SIGNED_ZEROS, rtol=1e-15)


def test_clamp_propagates_nan_from_the_input_and_from_a_bound_as_torch():
    # PyTorch and np.clip keep NaN; a NaN is not below any bound, so it must not take one
    x = [np.nan, 0.5, 3.0, -3.0]
    _grads_at(lemmata.clamp, torch.clamp, x, [-1.0] * 4, [1.0] * 4)
    _grads_at(lemmata.clamp, torch.clamp, x, [2.0] * 4, [1.0] * 4)     # min > max: max, but NaN
    for bounds in ({"min": np.nan}, {"max": np.nan}, {"min": 0.0, "max": np.nan}):
        assert np.isnan(lemmata.clamp(lemmata.tensor([0.5, -2.0]), **bounds).numpy()).all()
    nan_bound = lemmata.clamp(lemmata.tensor([0.5, 0.5]), min=lemmata.tensor([np.nan, 0.0]))
    np.testing.assert_array_equal(nan_bound.numpy(), [np.nan, 0.5])


@pytest.mark.parametrize("weight", [0.25, 0.5, 1.0, -0.75])
def test_lerp_takes_pytorchs_branch_for_its_weight(weight):
    """From weight ½ on, PyTorch computes end + (weight − 1)·(end − start): exactly end at
    weight 1, and infinite where start is (start + ½·(end − start) would be inf − inf)."""
    start, end = [1.0, np.inf, 0.1, -np.inf], [3.0, 1.0, 0.7, 2.0]
    _grads_at(lambda a, b: a.lerp(b, weight), lambda a, b: a.lerp(b, weight), start, end,
              rtol=1e-15)
    _grads_at(lemmata.lerp, torch.lerp, start, end, [weight] * 4, rtol=1e-15)
    if weight == 1.0:
        ends = lemmata.tensor([0.7, 1e-3], dtype=lemmata.float64)
        assert lemmata.lerp(lemmata.tensor([0.1, 5.0], dtype=lemmata.float64), ends,
                            weight).tolist() == ends.tolist()


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient_half_half(op):
    ga, gb = _grads_at(getattr(lemmata, op), getattr(torch, op), [1.0, 2.0, 3.0], [1.0, 5.0, 3.0])
    assert ga[0] == gb[0] == 0.5 and ga[2] == gb[2] == 0.5


def test_maximum_tie_with_broadcasting_matches_torch():
    _grads_at(lemmata.maximum, torch.maximum, [[1.0, 2.0], [2.0, 0.0]], [2.0])


def test_pow_at_zero_base_matches_torch():
    # d/db aᵇ at a = 0 is 0 (PyTorch masks the log); d/da 0ᵇ for b > 1 is 0
    _grads_at(lambda a, b: a ** b, lambda a, b: a ** b, [0.0, 0.0, 2.0, 0.0], [2.0, 3.0, 0.5, 0.0])
    _grads_at(lambda x: x ** 2, lambda x: x ** 2, [0.0, -1.0])
    _grads_at(lambda x: x ** 0, lambda x: x ** 0, [0.0, -1.0])


def test_sigmoid_and_softplus_do_not_overflow():
    """σ'(±30) is e⁻³⁰/(1 + e⁻³⁰)² on both sides, in float32 too (PyTorch's σ(1 − σ) gives 0
    at +30 there, where σ rounds to 1)."""
    x = [-1000.0, -30.0, 0.0, 30.0, 1000.0]
    u = np.exp(-np.abs(x))
    for dtype in ("float32", "float64"):
        t = lemmata.tensor(np.asarray(x, dtype=dtype), requires_grad=True)
        y = lemmata.sigmoid(t)
        np.testing.assert_allclose(y.detach().numpy(),
                                   torch.sigmoid(torch.tensor(np.asarray(x, dtype=dtype))),
                                   rtol=1e-6)
        y.sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), u / (1 + u) ** 2, rtol=1e-6)
        ours = lemmata.softplus(lemmata.tensor(np.asarray(x, dtype=dtype)))
        theirs = TF.softplus(torch.tensor(np.asarray(x, dtype=dtype)))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
        assert np.isfinite(ours.numpy()).all()


def _exact_saturation_slopes(x: float) -> tuple[float, float]:
    """tanh′(x) = 1/cosh² x and σ′(x) = e⁻ˣ/(1 + e⁻ˣ)² in 40-digit decimal arithmetic."""
    with decimal.localcontext() as context:
        context.prec = 40
        e = decimal.Decimal(x).exp()
        cosh = (e + 1 / e) / 2
        return float(1 / (cosh * cosh)), float(1 / e / ((1 + 1 / e) * (1 + 1 / e)))


@pytest.mark.parametrize("x", [0.5, 5.0, 10.0, 15.0, 19.5, 30.0, 40.0, 300.0])
def test_tanh_and_sigmoid_slopes_keep_their_digits_where_they_saturate(x):
    """1 − tanh² and σ(1 − σ) from the rounded outputs cancel as |x| grows (tanh′(15) 1.7e-4
    relative, 0 from 19.1 on; σ′(30) 1e-3, 0 from 36.7 on); the backward's forms agree with
    40-digit arithmetic to a few ulps, on both sides of 0."""
    slope_tanh, slope_sigmoid = _exact_saturation_slopes(x)
    for f, exact in ((lemmata.tanh, slope_tanh), (lemmata.sigmoid, slope_sigmoid)):
        t = lemmata.tensor([x, -x], dtype=lemmata.float64, requires_grad=True)
        f(t).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), [exact, exact], rtol=1e-15)


def test_tanh_and_sigmoid_save_their_outputs_as_pytorch_does():
    """Changing x in place after tanh or sigmoid is allowed (only the output is saved), and
    the gradient is still that of the x they saw; changing the output is an error."""
    for f, slope in ((lemmata.tanh, lambda y: 1 - y * y),
                     (lemmata.sigmoid, lambda y: y * (1 - y))):
        leaf = lemmata.tensor([0.5, -1.0, 2.0], dtype=lemmata.float64, requires_grad=True)
        x = leaf * 1
        y = f(x)
        x.add_(5.0)
        y.sum().backward()
        np.testing.assert_allclose(leaf.grad.numpy(), slope(y.detach().numpy()), rtol=1e-14)
        z = f(leaf * 1)
        z.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


# ------------------------------------------------------------------------- complex128 end to end


def test_ops_run_on_complex128_like_torch():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3,)) + 1j * rng.standard_normal((3,))
    w = rng.standard_normal((3,)) + 1j * rng.standard_normal((3,))
    for name in ("exp", "sin", "cos", "tanh", "sigmoid", "log", "sqrt", "expm1"):
        ours = getattr(lemmata, name)(lemmata.tensor(z)).numpy()
        theirs = getattr(torch, name)(torch.tensor(z)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=name)
    ours = (lemmata.tensor(z) * lemmata.tensor(w) / (lemmata.tensor(w) + 2)).numpy()
    np.testing.assert_allclose(ours, z * w / (w + 2), rtol=1e-14)
    assert ours.dtype == np.complex128


# ------------------------------------------------------------------------- no-gradient ops


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_return_bool_tensors_without_grad(name):
    a = lemmata.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = lemmata.tensor([2.0, 2.0, 2.0])
    out = getattr(lemmata, name)(a, b)
    expected = getattr(torch, name)(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 2.0, 2.0]))
    assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "sign", "isnan", "isinf", "isfinite",
                                  "logical_not"])
def test_unary_no_grad_ops_match_torch(name):
    x = np.array([-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.7, np.inf, -np.inf, np.nan], np.float32)
    ours = getattr(lemmata, name)(lemmata.tensor(x)).numpy()
    theirs = getattr(torch, name)(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == theirs.dtype


def test_sign_of_bools_and_nan_match_torch():
    for data in ([True, False], [-2.0, 0.0, np.nan, 3.0], [-3, 0, 4]):
        ours, theirs = lemmata.sign(lemmata.tensor(data)), torch.sign(torch.tensor(data))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "logical_and", "logical_or",
                                  "logical_xor"])
def test_binary_no_grad_ops_match_torch(name):
    a = np.array([-7, -3, 0, 3, 7, 8])
    b = np.array([2, -2, 3, 2, -3, 5])
    for x, y in ((a, b), (a.astype(np.float32), b.astype(np.float32))):
        ours = getattr(lemmata, name)(lemmata.tensor(x), lemmata.tensor(y)).numpy()
        theirs = getattr(torch, name)(torch.tensor(x), torch.tensor(y)).numpy()
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_div_rounding_modes_match_torch(mode):
    a, b = np.array([-7, -3, 3, 7]), np.array([2, 2, -2, 3])
    for x, y in ((a, b), (a.astype(np.float64) + 0.5, b.astype(np.float64))):
        ours = lemmata.div(lemmata.tensor(x), lemmata.tensor(y), rounding_mode=mode).numpy()
        theirs = torch.div(torch.tensor(x), torch.tensor(y), rounding_mode=mode).numpy()
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype


def test_integer_inputs_to_transcendental_ops_give_the_default_float():
    x = [1, 2, 3]
    for name in ("exp", "log", "sqrt", "sigmoid", "tanh", "sin", "reciprocal", "rsqrt"):
        ours = getattr(lemmata, name)(lemmata.tensor(x))
        theirs = getattr(torch, name)(torch.tensor(x))
        assert ours.dtype == lemmata.float32, name
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("name", ["abs", "neg", "relu", "square"])
def test_integer_inputs_keep_their_dtype_where_torch_does(name):
    x = [-2, 0, 3]
    ours = getattr(lemmata, name)(lemmata.tensor(x))
    theirs = getattr(torch, name)(torch.tensor(x))
    assert ours.dtype == np.int64 and str(theirs.dtype) == "torch.int64"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("base, exponent", [([1, 2, 3], 2), ([1, 2, 3], 0.5), ([1.5, 2.0], 2),
                                            ([2, 3], [1, 2]), ([True, False], 2),
                                            (2, [-1, 0, 3]), (-1, [-3, -2, 5]), (2.5, [1, 2]),
                                            ([2, 3, 1, -1, -1, 0], [-1, 2, -3, -3, -2, 0]),
                                            ([1.0, 2.0], [1, 2])])
def test_pow_values_and_dtypes_match_torch_including_integer_powers(base, exponent):
    def run(lib):
        b = lib.tensor(base) if isinstance(base, list) else base
        e = lib.tensor(exponent) if isinstance(exponent, list) else exponent
        return b ** e
    ours, theirs = run(lemmata), run(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_integer_tensor_to_a_negative_integer_scalar_power_raises_as_torch():
    with pytest.raises(RuntimeError):
        torch.tensor([2, 3]) ** -1
    with pytest.raises(RuntimeError, match=r"pow: integers to negative integer powers.*\(2,\)"):
        lemmata.tensor([2, 3]) ** -1


# ------------------------------------------------------------------------------ masks


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
       seed=st.integers(0, 2 ** 32 - 1), mask_rank=st.integers(0, 3))
def test_masked_fill(shape, seed, mask_rank):
    rng = np.random.default_rng(seed)
    mask_shape = tuple(shape[len(shape) - min(mask_rank, len(shape)):])
    mask = rng.random(mask_shape) < 0.5
    x = values(shape, "any", seed)
    check_gradients(lambda t: t.masked_fill(lemmata.tensor(mask), -2.5), [x])
    for dtype in ("float64", "float32"):
        check_torch_parity(lambda t: t.masked_fill(lemmata.tensor(mask), -2.5),
                           lambda t: t.masked_fill(torch.tensor(mask), -2.5), [x], dtype)
    # a 0-d tensor value gets the gradient summed over the masked entries
    check_torch_parity(lambda t, v: lemmata.masked_fill(t, lemmata.tensor(mask), v),
                       lambda t, v: torch.masked_fill(t, torch.tensor(mask), v),
                       [x, values((), "any", seed + 1)], "float64")


def test_masked_fill_in_place_dtypes_and_errors_as_torch():
    ours, theirs = lemmata.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    assert ours.masked_fill(ours > 1, 2.7).tolist() == theirs.masked_fill(theirs > 1, 2.7).tolist()
    x = lemmata.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1.0
    y.masked_fill_(lemmata.tensor([True, False, True]), 0.0)
    (y * y).sum().backward()
    assert x.grad.tolist() == [0.0, 4.0, 0.0]
    with pytest.raises(RuntimeError, match=r"masked_fill: mask of shape \(3,\) does not "
                                           r"broadcast to the input's shape \(2, 2\)"):
        lemmata.zeros(2, 2).masked_fill(lemmata.tensor([True, False, True]), 1.0)
    with pytest.raises(TypeError, match=r"masked_fill: mask must be a bool tensor, got int64"):
        lemmata.zeros(2).masked_fill(lemmata.tensor([1, 0]), 1.0)
    with pytest.raises(RuntimeError, match=r"masked_fill: value must be a number or a 0-d "
                                           r"tensor, got a tensor of shape \(2,\)"):
        lemmata.zeros(2).masked_fill(lemmata.tensor([True, False]), lemmata.ones(2))


@pytest.mark.parametrize("op", ["tril", "triu"])
@given(shape=array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=4),
       seed=st.integers(0, 2 ** 32 - 1), diagonal=st.integers(-4, 4))
def test_tril_triu(op, shape, seed, diagonal):
    x = values(shape, "any", seed)
    check_gradients(lambda t: getattr(t, op)(diagonal), [x])
    for dtype in ("float64", "float32"):
        check_torch_parity(lambda t: getattr(lemmata, op)(t, diagonal),
                           lambda t: getattr(torch, op)(t, diagonal), [x], dtype)


def test_tril_triu_zero_nan_and_inf_outside_and_refuse_vectors():
    x = [[np.nan, np.inf], [1.0, -np.inf]]
    for op in ("tril", "triu"):
        np.testing.assert_array_equal(getattr(lemmata, op)(lemmata.tensor(x)).numpy(),
                                      getattr(torch, op)(torch.tensor(x)).numpy())
        with pytest.raises(RuntimeError, match=rf"{op}: input tensor must have at least 2 "
                                               rf"dimensions, got shape \(3,\)"):
            getattr(lemmata, op)(lemmata.zeros(3))
