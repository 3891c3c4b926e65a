"""Pooling: parity with PyTorch (values, gradients, indices, double backward, tie rule), finite
differences and the complex step, and error messages."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st

import lemmata
from checks import check_gradients, check_torch_parity
from lemmata.ops.pool import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
    adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d,
    max_pool2d, max_pool3d,
)

MAX = {1: (max_pool1d, F.max_pool1d), 2: (max_pool2d, F.max_pool2d), 3: (max_pool3d, F.max_pool3d)}
AVG = {1: (avg_pool1d, F.avg_pool1d), 2: (avg_pool2d, F.avg_pool2d), 3: (avg_pool3d, F.avg_pool3d)}
ADAPTIVE_AVG = {1: (adaptive_avg_pool1d, F.adaptive_avg_pool1d),
                2: (adaptive_avg_pool2d, F.adaptive_avg_pool2d),
                3: (adaptive_avg_pool3d, F.adaptive_avg_pool3d)}
ADAPTIVE_MAX = {1: (adaptive_max_pool1d, F.adaptive_max_pool1d),
                2: (adaptive_max_pool2d, F.adaptive_max_pool2d),
                3: (adaptive_max_pool3d, F.adaptive_max_pool3d)}
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
DTYPES = ["float64", "float32"]

# the parity cases are cheap (milliseconds) and the argument space is wide: draw more of them
MANY = settings(max_examples=max(60, settings().max_examples))


def _form(draw, values):
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


def _padding_only(n, k, s, p, d, ceil):
    """True when some window's taps all fall in the padding."""
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    taps = np.arange(o)[:, None] * s - p + np.arange(k) * d
    return not ((taps >= 0) & (taps < n)).any(axis=1).all()


@st.composite
def pool_cases(draw, dilation: bool):
    """Shapes and arguments that PyTorch accepts: padding ≤ kernel/2, at least one window."""
    nd = draw(st.integers(1, 3))
    ceil = draw(st.booleans())
    kernel = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    pads = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if dilation else (1,) * nd
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dil)]
    size = tuple(max(1, e - 2 * p) + draw(st.integers(0, 4 if nd < 3 else 2))
                 for e, p in zip(extent, pads))
    # a dilated window may skip over a small input entirely (an error, tested below)
    assume(not any(_padding_only(n, k, s, p, d, ceil) for n, k, s, p, d in
                   zip(size, kernel, stride, pads, dil)))
    batch = draw(st.sampled_from([None, 1, 2]))
    shape = ((batch,) if batch else ()) + (draw(st.integers(1, 3)),) + size
    kwargs = dict(kernel_size=_form(draw, kernel), padding=_form(draw, pads),
                  ceil_mode=ceil)
    if draw(st.booleans()) or stride != kernel:
        kwargs["stride"] = _form(draw, stride)
    if dilation:
        kwargs["dilation"] = _form(draw, dil)
    return nd, shape, kwargs


@st.composite
def adaptive_cases(draw):
    nd = draw(st.integers(1, 3))
    size = tuple(draw(st.integers(1, 7 if nd < 3 else 4)) for _ in range(nd))
    sizes = st.integers(1, 8 if nd < 3 else 4)
    # None keeps the input's size (PyTorch's 1-d adaptive pools do not take None)
    out = tuple(draw(sizes if nd == 1 else st.one_of(st.none(), sizes)) for _ in range(nd))
    if len(set(out)) == 1 and out[0] is not None and draw(st.booleans()):
        out = out[0]
    batch = draw(st.sampled_from([None, 1, 2]))
    shape = ((batch,) if batch else ()) + (draw(st.integers(1, 3)),) + size
    return nd, shape, out


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------ torch parity


@pytest.mark.parametrize("dtype", DTYPES)
@MANY
@given(case=pool_cases(dilation=True))
def test_max_pool_matches_torch(dtype, case):
    nd, shape, kwargs = case
    ours, theirs = MAX[nd]
    tol = TOLERANCE[dtype]
    check_torch_parity(lambda x: ours(x, **kwargs), lambda x: theirs(x, **kwargs),
                       [_input(shape)], dtype=dtype, rtol=tol, atol=tol)
    x = _input(shape).astype(dtype)
    _, ours_idx = ours(lemmata.tensor(x), return_indices=True, **kwargs)
    _, theirs_idx = theirs(torch.tensor(x), return_indices=True, **kwargs)
    assert ours_idx.dtype == np.int64
    np.testing.assert_array_equal(ours_idx.numpy(), theirs_idx.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@MANY
@given(case=pool_cases(dilation=False), include=st.booleans(), data=st.data())
def test_avg_pool_matches_torch(dtype, case, include, data):
    nd, shape, kwargs = case
    ours, theirs = AVG[nd]
    kwargs = dict(kwargs, count_include_pad=include)
    if nd == 3:  # PyTorch's avg_pool3d alone rejects inputs smaller than the kernel, padding or not
        kernel = kwargs["kernel_size"]
        assume(all(n >= k for n, k in zip(shape[-3:], kernel if isinstance(kernel, tuple)
                                          else (kernel,) * 3)))
    if nd > 1:
        kwargs["divisor_override"] = data.draw(st.sampled_from([None, None, 1, 3, -2]))
    tol = TOLERANCE[dtype]
    check_torch_parity(lambda x: ours(x, **kwargs), lambda x: theirs(x, **kwargs),
                       [_input(shape)], dtype=dtype, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@MANY
@given(case=adaptive_cases())
def test_adaptive_avg_pool_matches_torch(dtype, case):
    nd, shape, out = case
    ours, theirs = ADAPTIVE_AVG[nd]
    tol = TOLERANCE[dtype]
    check_torch_parity(lambda x: ours(x, out), lambda x: theirs(x, out), [_input(shape)],
                       dtype=dtype, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@MANY
@given(case=adaptive_cases())
def test_adaptive_max_pool_matches_torch(dtype, case):
    nd, shape, out = case
    ours, theirs = ADAPTIVE_MAX[nd]
    tol = TOLERANCE[dtype]
    check_torch_parity(lambda x: ours(x, out), lambda x: theirs(x, out), [_input(shape)],
                       dtype=dtype, rtol=tol, atol=tol)
    x = _input(shape).astype(dtype)
    _, ours_idx = ours(lemmata.tensor(x), out, return_indices=True)
    _, theirs_idx = theirs(torch.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(ours_idx.numpy(), theirs_idx.numpy())


def test_top_level_and_functional_names_are_the_ops():
    assert lemmata.max_pool2d is max_pool2d and lemmata.avg_pool1d is avg_pool1d
    assert lemmata.nn.functional.adaptive_avg_pool2d is adaptive_avg_pool2d


def test_float32_stays_float32():
    x = lemmata.randn(2, 3, 9, 9, requires_grad=True)
    y = (max_pool2d(x, 3, 2, 1) * 2).sum() + avg_pool2d(x, 2).sum() \
        + adaptive_avg_pool2d(x, 1).sum() + adaptive_max_pool2d(x, (2, 3)).sum()
    y.backward()
    assert y.dtype == x.grad.dtype == np.float32


# ------------------------------------------------------------------------------ ties, NaN, -inf


@pytest.mark.parametrize("nd, kwargs", [
    (1, dict(kernel_size=3, stride=1, padding=1)),
    (2, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, dict(kernel_size=(3, 2), stride=1, dilation=(1, 2))),
    (2, dict(kernel_size=2)),
    (3, dict(kernel_size=2, stride=1, padding=1)),
])
def test_max_pool_ties_go_to_the_first_maximum(nd, kwargs):
    """Constant input: every window is a tie; the gradient goes to each window's first entry."""
    ours, theirs = MAX[nd]
    shape = (2, 2) + (5,) * nd
    check_torch_parity(lambda x: ours(x, **kwargs), lambda x: theirs(x, **kwargs),
                       [np.ones(shape)], dtype="float64", rtol=1e-13, atol=1e-13)
    for fill in (1.0, -np.inf):
        x = np.full(shape, fill)
        _, ours_idx = ours(lemmata.tensor(x), return_indices=True, **kwargs)
        _, theirs_idx = theirs(torch.tensor(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(ours_idx.numpy(), theirs_idx.numpy())


def test_adaptive_max_pool_ties_and_minus_infinity_follow_torch():
    for fill in (2.0, -np.inf):
        x = np.full((1, 2, 5, 7), fill)
        for out in [(3, 4), (7, 9), 2]:
            check_torch_parity(lambda t: adaptive_max_pool2d(t, out),
                               lambda t: F.adaptive_max_pool2d(t, out), [x], rtol=1e-13,
                               atol=1e-13)
            _, ours_idx = adaptive_max_pool2d(lemmata.tensor(x), out, return_indices=True)
            _, theirs_idx = F.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
            np.testing.assert_array_equal(ours_idx.numpy(), theirs_idx.numpy())


def test_max_pool_propagates_nan_as_torch():
    x = np.array([[[1.0, np.nan, 3.0, np.nan, 0.0, 2.0]]])
    ours, ours_idx = max_pool1d(lemmata.tensor(x), 3, 1, return_indices=True)
    theirs, theirs_idx = F.max_pool1d(torch.tensor(x), 3, 1, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(ours_idx.numpy(), theirs_idx.numpy())


def test_max_pool_of_integers_matches_torch():
    x = np.random.default_rng(1).integers(-50, 50, (2, 3, 7, 6))
    ours, ours_idx = max_pool2d(lemmata.tensor(x), 3, 2, 1, return_indices=True)
    theirs, theirs_idx = F.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(ours_idx.numpy(), theirs_idx.numpy())


def test_complex_max_pool_compares_real_parts():
    """Holomorphic max pool: the entry with the largest real part wins, imaginary part and all."""
    re = np.array([[[1.0, 5.0, 2.0, 4.0]]])
    im = np.array([[[9.0, -1.0, 7.0, 0.5]]])
    y = max_pool1d(lemmata.tensor(re + 1j * im), 2)
    np.testing.assert_array_equal(y.numpy(), [[[5.0 - 1.0j, 4.0 + 0.5j]]])


# ------------------------------------------------------------------------------ gradient checks


GRADIENT_CASES = [
    (max_pool1d, (2, 2, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (max_pool2d, (1, 2, 5, 6), dict(kernel_size=(3, 2), stride=1, padding=(1, 0), dilation=2)),
    (max_pool2d, (2, 4, 4), dict(kernel_size=2)),
    (max_pool3d, (1, 1, 3, 4, 4), dict(kernel_size=2, stride=(1, 2, 1), padding=1)),
    (avg_pool1d, (1, 2, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                 count_include_pad=False)),
    (avg_pool2d, (1, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (avg_pool2d, (2, 5, 4), dict(kernel_size=(2, 3), stride=1, divisor_override=4)),
    (avg_pool3d, (1, 1, 3, 4, 5), dict(kernel_size=(1, 2, 3), stride=2, padding=(0, 1, 1))),
    (adaptive_avg_pool1d, (1, 2, 7), dict(output_size=3)),
    (adaptive_avg_pool2d, (1, 2, 5, 4), dict(output_size=(3, 6))),
    (adaptive_avg_pool3d, (1, 1, 3, 4, 5), dict(output_size=(2, None, 3))),
    (adaptive_max_pool1d, (1, 2, 7), dict(output_size=3)),
    (adaptive_max_pool2d, (1, 2, 5, 4), dict(output_size=(3, 6))),
    (adaptive_max_pool3d, (1, 1, 3, 4, 5), dict(output_size=2)),
]


@pytest.mark.parametrize("op, shape, kwargs", GRADIENT_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(GRADIENT_CASES)])
def test_gradients_by_finite_differences_and_complex_step(op, shape, kwargs):
    # a permutation of well-separated values: no ties, so finite differences see one branch
    x = np.random.default_rng(3).permutation(int(np.prod(shape))).reshape(shape) * 0.1
    check_gradients(lambda t: op(t, **kwargs), [x])


# ------------------------------------------------------------------------------ double backward


DOUBLE_CASES = [
    (max_pool2d, F.max_pool2d, (2, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1)),
    (max_pool2d, F.max_pool2d, (2, 2, 6, 7), dict(kernel_size=2)),
    (max_pool1d, F.max_pool1d, (2, 3, 9), dict(kernel_size=3, stride=2, dilation=2,
                                                 ceil_mode=True)),
    (avg_pool2d, F.avg_pool2d, (2, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1,
                                                    ceil_mode=True, count_include_pad=False)),
    (avg_pool3d, F.avg_pool3d, (1, 2, 3, 4, 5), dict(kernel_size=2, stride=1, divisor_override=3)),
    (adaptive_avg_pool2d, F.adaptive_avg_pool2d, (2, 2, 5, 7), dict(output_size=(3, 4))),
    (adaptive_max_pool2d, F.adaptive_max_pool2d, (2, 2, 5, 7), dict(output_size=(3, 9))),
]


@pytest.mark.parametrize("ours, theirs, shape, kwargs", DOUBLE_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(DOUBLE_CASES)])
def test_double_backward_matches_torch(ours, theirs, shape, kwargs):
    """∂x = vᵀJ taken with create_graph=True; then the gradient of Σ u·∂x + Σ (∂x)²·x² with
    respect to the upstream v and the input x (the pools are piecewise linear, so only the x²
    factor carries an x-dependence)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape)
    out = theirs(torch.tensor(x), **kwargs)
    v, u = rng.standard_normal(tuple(out.shape)), rng.standard_normal(shape)

    def second(lib, op):
        xt, vt = lib.tensor(x, requires_grad=True), lib.tensor(v, requires_grad=True)
        (gx,) = lib.autograd.grad(op(xt, **kwargs), [xt], vt, create_graph=True)
        loss = (gx * lib.tensor(u)).sum() + (gx * gx * xt * xt).sum()
        return [g.detach().numpy() for g in lib.autograd.grad(loss, [xt, vt])]

    for g, e in zip(second(lemmata, ours), second(torch, theirs)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(e).max()))


# ------------------------------------------------------------------------------ errors


def _t(*shape, dtype=np.float64):
    return lemmata.tensor(np.ones(shape, dtype=dtype))


BAD = [
    (lambda: max_pool2d(_t(1, 1, 6, 6), 3, padding=2), ValueError,
     r"max_pool2d: pad should be at most half of kernel size, but got padding=\(2, 2\) for "
     r"kernel_size=\(3, 3\)"),
    (lambda: avg_pool1d(_t(1, 1, 6), 2, padding=2), ValueError,
     r"avg_pool1d: pad should be at most half of kernel size"),
    (lambda: max_pool2d(_t(1, 1, 2, 2), 3), RuntimeError,
     r"max_pool2d: given input of shape \(1, 1, 2, 2\), the calculated output size \(0, 0\) is "
     r"too small"),
    (lambda: max_pool2d(_t(1, 1, 4, 4), 2, dilation=4), RuntimeError,
     r"max_pool2d: .* output size \(0, 0\) is too small .*dilation=\(4, 4\)"),
    (lambda: max_pool2d(_t(1, 1, 1, 3), 2, padding=1, dilation=2), RuntimeError,
     r"max_pool2d: window 0 along spatial dim 0 covers only padding \(input of shape "
     r"\(1, 1, 1, 3\)"),
    (lambda: max_pool2d(_t(8, 8), 2), RuntimeError,
     r"max_pool2d: expected 3-D \(unbatched\) or 4-D \(batched\) input, but got input of shape "
     r"\(8, 8\)"),
    (lambda: avg_pool3d(_t(1, 4, 4), 2), RuntimeError,
     r"avg_pool3d: expected 4-D \(unbatched\) or 5-D \(batched\) input"),
    (lambda: max_pool2d(_t(1, 1, 4, 4), 2, stride=0), ValueError,
     r"max_pool2d: stride must be greater than zero, but got stride=\(0, 0\)"),
    (lambda: avg_pool2d(_t(1, 1, 4, 4), (0, 2)), ValueError,
     r"avg_pool2d: kernel_size must be greater than zero, but got kernel_size=\(0, 2\)"),
    (lambda: max_pool2d(_t(1, 1, 4, 4), (2, 2, 2)), ValueError,
     r"max_pool2d: expected kernel_size to be a single integer value or a list of 2 values"),
    (lambda: avg_pool2d(_t(1, 1, 4, 4), 2, divisor_override=0), ValueError,
     r"avg_pool2d: divisor_override must be a non-zero integer"),
    (lambda: avg_pool2d(_t(1, 1, 4, 4, dtype=np.int64), 2), TypeError,
     r"avg_pool2d: input must be floating point or complex, got lemmata.int64"),
    (lambda: max_pool2d(np.ones((1, 1, 4, 4)), 2), TypeError,
     r"max_pool2d: input must be a Tensor, got ndarray"),
    (lambda: max_pool1d(_t(1, 0, 4), 2), RuntimeError,
     r"max_pool1d: expected non-empty channel and spatial dims, got input of shape \(1, 0, 4\)"),
    (lambda: adaptive_avg_pool2d(_t(1, 1, 4, 4), (2, -1)), ValueError,
     r"adaptive_avg_pool2d: output_size must be at least 0, got \(2, -1\)"),
    (lambda: adaptive_max_pool2d(_t(1, 1, 4, 4), 0), ValueError,
     r"adaptive_max_pool2d: output_size must be at least 1"),
    (lambda: adaptive_avg_pool2d(_t(1, 1, 4, 4), (1, 2, 3)), ValueError,
     r"adaptive_avg_pool2d: output_size must be an int or a tuple of 2 ints or None"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("pool", [
    lambda x: max_pool2d(x, 3, 2, 1), lambda x: max_pool2d(x, 2), lambda x: avg_pool2d(x, 2),
    lambda x: adaptive_avg_pool2d(x, 1), lambda x: adaptive_max_pool2d(x, 3),
])
def test_empty_batch_gives_empty_output_and_gradient(pool):
    x = lemmata.zeros(0, 3, 8, 8, requires_grad=True)
    (gx,) = lemmata.autograd.grad(pool(x).sum(), [x], create_graph=True)
    assert tuple(gx.shape) == (0, 3, 8, 8)


def test_max_pool_backward_of_a_flattened_output_matches_torch():
    """A gradient that comes back through a Flatten is NCHW while the pool's buffers are
    channels-last (the scatter copies it first): the input gradient is still PyTorch's."""
    rng = np.random.default_rng(11)
    data = rng.standard_normal((3, 5, 6, 6))
    x = lemmata.tensor(np.ascontiguousarray(data.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
                       requires_grad=True)                 # channels-last memory, like a conv's
    tx = torch.tensor(data, requires_grad=True)
    w = rng.standard_normal((3, 5 * 3 * 3))
    (lemmata.nn.functional.max_pool2d(x, 2).flatten(1) * lemmata.tensor(w)).sum().backward()
    (torch.nn.functional.max_pool2d(tx, 2).flatten(1) * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
