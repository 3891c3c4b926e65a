"""Convolutions: parity with PyTorch (values, input/weight/bias gradients, double backward),
finite differences and the complex step, the true convolution, and error messages."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st

import lemmata
from checks import check_gradients, check_torch_parity, conv_double_backward
from lemmata.ops.conv import (
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, true_conv,
)

OURS = {1: conv1d, 2: conv2d, 3: conv3d}
THEIRS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
OURS_T = {1: conv_transpose1d, 2: conv_transpose2d, 3: conv_transpose3d}
THEIRS_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}

# PyTorch warns that 'same' padding with an even kernel copies the input; not our concern here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

# the parity cases are cheap (milliseconds) and the argument space is wide: draw more of them
MANY = settings(max_examples=max(60, settings().max_examples))


def _form(draw, values: tuple[int, ...]):
    """An argument as PyTorch accepts it: an int when all dims agree (sometimes), else a tuple."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


@st.composite
def conv_cases(draw):
    nd = draw(st.integers(1, 3))
    top = 3 if nd < 3 else 2
    groups = draw(st.integers(1, 3))
    c_g, o_g = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, top)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    kind = draw(st.sampled_from(["int", "tuple", "valid", "same"]))
    stride = (1,) * nd if kind == "same" else tuple(draw(st.integers(1, 3)) for _ in range(nd))
    if kind == "valid":
        padding, pads = "valid", (0,) * nd
    elif kind == "same":
        padding, pads = "same", tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
    else:
        pads = tuple(draw(st.integers(0, 2)) for _ in range(nd))
        padding = _form(draw, pads) if kind == "int" else pads
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = tuple(max(1, e - 2 * p) + draw(st.integers(0, 3 if nd < 3 else 2))
                 for e, p in zip(extent, pads))
    batch = draw(st.sampled_from([None, 1, 2]))
    shape = ((batch,) if batch else ()) + (c_g * groups,) + size
    kwargs = dict(stride=_form(draw, stride), padding=padding, dilation=_form(draw, dilation),
                  groups=groups)
    return nd, shape, (o_g * groups, c_g) + kernel, draw(st.booleans()), kwargs


@st.composite
def conv_transpose_cases(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 2))
    c_g, o_g = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = tuple(draw(st.integers(1, 4 if nd < 3 else 3)) for _ in range(nd))
    out = [(n - 1) * s - 2 * p + d * (k - 1) + e + 1
           for n, s, p, d, k, e in zip(size, stride, pads, dilation, kernel, extra)]
    assume(all(o > 0 for o in out))
    batch = draw(st.sampled_from([None, 1, 2]))
    shape = ((batch,) if batch else ()) + (c_g * groups,) + size
    kwargs = dict(stride=_form(draw, stride), padding=_form(draw, pads),
                  output_padding=_form(draw, extra), groups=groups,
                  dilation=_form(draw, dilation))
    return nd, shape, (c_g * groups, o_g) + kernel, draw(st.booleans()), kwargs


def _arrays(shape, weight_shape, bias, out_channels, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape), rng.standard_normal(weight_shape)]
    if bias:
        arrays.append(rng.standard_normal(out_channels))
    return arrays


def _parity(ours, theirs, arrays, kwargs, dtype):
    check_torch_parity(lambda *a: ours(*a, **kwargs), lambda *a: theirs(*a, **kwargs), arrays,
                       dtype=dtype, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


# ------------------------------------------------------------------------------ torch parity


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@MANY
@given(case=conv_cases())
def test_conv_matches_torch(dtype, case):
    nd, shape, weight_shape, bias, kwargs = case
    arrays = _arrays(shape, weight_shape, bias, weight_shape[0])
    _parity(OURS[nd], THEIRS[nd], arrays, kwargs, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@MANY
@given(case=conv_transpose_cases())
def test_conv_transpose_matches_torch(dtype, case):
    nd, shape, weight_shape, bias, kwargs = case
    arrays = _arrays(shape, weight_shape, bias, weight_shape[1] * kwargs["groups"])
    _parity(OURS_T[nd], THEIRS_T[nd], arrays, kwargs, dtype)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_same_padding_pads_the_odd_extra_on_the_right(nd):
    """Kernel 4, dilation 1: total padding 3 = 1 left + 2 right, as PyTorch."""
    arrays = _arrays((1, 2) + (5,) * nd, (3, 2) + (4,) * nd, True, 3)
    _parity(OURS[nd], THEIRS[nd], arrays, dict(padding="same"), "float64")


def test_top_level_names_are_the_ops():
    assert lemmata.conv2d is conv2d and lemmata.nn.functional.conv_transpose2d is conv_transpose2d


def test_float32_stays_float32():
    x = lemmata.randn(2, 3, 7, 7, requires_grad=True)
    w = lemmata.randn(4, 3, 3, 3, requires_grad=True)
    b = lemmata.randn(4, requires_grad=True)
    y = conv2d(x, w, b, padding=1)
    z = conv_transpose2d(y, w, None, stride=2)
    (z * z).sum().backward()
    assert y.dtype == z.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_complex_input_through_real_weights_is_linear():
    """conv(xr + i·xi, w) = conv(xr, w) + i·conv(xi, w): a complex-step probe runs through a
    real network (lemmata promotes the dtypes, where PyTorch would raise)."""
    rng = np.random.default_rng(3)
    xr, xi = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((2, 2, 6, 5))
    w = lemmata.tensor(rng.standard_normal((3, 2, 3, 2)))
    y = conv2d(lemmata.tensor(xr + 1j * xi), w, stride=2, padding=1)
    expected = (conv2d(lemmata.tensor(xr), w, stride=2, padding=1).numpy()
                + 1j * conv2d(lemmata.tensor(xi), w, stride=2, padding=1).numpy())
    assert y.dtype == np.complex128
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-13, atol=1e-13)


# ------------------------------------------------------------------------------ gradient checks


GRADIENT_CASES = [
    (conv1d, (2, 4, 7), (4, 2, 3), dict(stride=2, padding=1, groups=2)),
    (conv1d, (3, 6), (2, 3, 2), dict(padding="same", dilation=2)),
    (conv2d, (1, 2, 5, 4), (3, 2, 2, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    (conv2d, (1, 4, 4, 4), (2, 2, 3, 3), dict(padding="same", groups=2)),
    (conv3d, (1, 2, 3, 4, 3), (2, 1, 2, 2, 2), dict(stride=(1, 2, 1), padding=1, groups=2)),
    (conv_transpose1d, (2, 2, 4), (2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    (conv_transpose2d, (1, 4, 3, 2), (4, 1, 2, 3),
     dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 0), groups=2, dilation=(1, 2))),
    (conv_transpose3d, (1, 2, 2, 2, 3), (2, 2, 2, 1, 2), dict(stride=2, output_padding=(1, 0, 1))),
    (true_conv, (1, 1, 7), (2, 1, 3), dict()),
]


@pytest.mark.parametrize("op, shape, weight_shape, kwargs", GRADIENT_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(GRADIENT_CASES)])
def test_gradients_by_finite_differences_and_complex_step(op, shape, weight_shape, kwargs):
    transposed = op.__name__.startswith("conv_transpose")
    out_channels = weight_shape[1] * kwargs.get("groups", 1) if transposed else weight_shape[0]
    arrays = _arrays(shape, weight_shape, True, out_channels, seed=7)
    check_gradients(lambda x, w, b: op(x, w, b, **kwargs), arrays)


# ------------------------------------------------------------------------------ double backward


DOUBLE_CASES = [
    (1, False, (2, 4, 9), (6, 2, 3), dict(stride=2, padding=2, dilation=2, groups=2)),
    (2, False, (2, 3, 6, 5), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0))),
    (2, False, (1, 4, 5, 5), (4, 2, 3, 3), dict(padding="same", groups=2)),
    (3, False, (1, 2, 4, 3, 4), (3, 2, 2, 2, 3), dict(stride=(1, 2, 1), padding=1)),
    (1, True, (2, 4, 4), (4, 3, 3), dict(stride=3, padding=1, output_padding=2, groups=2)),
    (2, True, (2, 2, 3, 4), (2, 3, 2, 3), dict(stride=2, padding=(1, 0), output_padding=(1, 0),
                                               dilation=(1, 2))),
    (3, True, (1, 2, 2, 3, 2), (2, 2, 2, 2, 2), dict(stride=(2, 1, 2), output_padding=(1, 0, 0))),
]


@pytest.mark.parametrize("nd, transposed, shape, weight_shape, kwargs", DOUBLE_CASES)
def test_double_backward_matches_torch(nd, transposed, shape, weight_shape, kwargs):
    rng = np.random.default_rng(11)
    groups = kwargs.get("groups", 1)
    out_channels = weight_shape[1] * groups if transposed else weight_shape[0]
    ours, theirs = (OURS_T[nd], THEIRS_T[nd]) if transposed else (OURS[nd], THEIRS[nd])
    x, w, b = _arrays(shape, weight_shape, True, out_channels, seed=5)
    y = theirs(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kwargs)
    v = rng.standard_normal(tuple(y.shape))
    probes = [rng.standard_normal(x.shape), rng.standard_normal(w.shape),
              rng.standard_normal(b.shape)]
    expected = conv_double_backward(torch, theirs, [x, w, b, v], probes, kwargs)
    got = conv_double_backward(lemmata, ours, [x, w, b, v], probes, kwargs)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(e).max()))


def test_hessian_vector_product_of_a_nonlinear_loss_matches_torch():
    """L = Σ tanh(conv2d(x, w))²: ∇_(x, w) of ⟨∇_x L, u⟩ through conv, conv_transpose and the
    weight-gradient op, compared with PyTorch."""
    rng = np.random.default_rng(2)
    x, w, u = (rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)) * 0.3,
               rng.standard_normal((2, 3, 6, 6)))

    def hvp(lib, op):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        loss = (op(xt, wt, None, stride=2, padding=1).tanh() ** 2).sum()
        (gx,) = lib.autograd.grad(loss, [xt], create_graph=True)
        return [g.detach().numpy() for g in lib.autograd.grad((gx * lib.tensor(u)).sum(),
                                                              [xt, wt])]

    for g, e in zip(hvp(lemmata, conv2d), hvp(torch, F.conv2d)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10 * np.abs(e).max())


# ------------------------------------------------------------------------------ true convolution


def test_true_conv_is_numpys_convolution_with_valid_boundary():
    """bouman.q5: true convolution flips the kernel; with 'valid' boundaries it is
    np.convolve(y, w, 'valid'), and its adjoint in y is the true convolution of g with the
    flipped kernel and a 'full' boundary."""
    rng = np.random.default_rng(4)
    y, w, g = rng.standard_normal(5), rng.standard_normal(3), rng.standard_normal(3)
    yt = lemmata.tensor(y[None, None], requires_grad=True)
    x = true_conv(yt, lemmata.tensor(w[None, None]))
    np.testing.assert_allclose(x.detach().numpy()[0, 0], np.convolve(y, w, "valid"), rtol=1e-14)
    (x * lemmata.tensor(g[None, None])).sum().backward()
    np.testing.assert_allclose(yt.grad.numpy()[0, 0], np.convolve(g, w[::-1], "full"),
                               rtol=1e-14)


def test_true_conv_2d_flips_both_spatial_dims():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 2, 3))
    ours = true_conv(lemmata.tensor(x), lemmata.tensor(w), padding=1).numpy()
    theirs = F.conv2d(torch.tensor(x), torch.tensor(w).flip(2, 3), padding=1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------ errors


def _t(*shape, dtype=np.float64):
    return lemmata.tensor(np.ones(shape, dtype=dtype))


BAD = [
    (lambda: conv2d(_t(2, 4, 8, 8), _t(8, 3, 3, 3)), RuntimeError,
     r"conv2d: input has 4 channels but weight expects 3 \(input \(2, 4, 8, 8\), weight "
     r"\(8, 3, 3, 3\)\)"),
    (lambda: conv2d(_t(2, 4, 8, 8), _t(8, 4, 3)), RuntimeError,
     r"conv2d: weight must be 4-D .* \(8, 4, 3\)"),
    (lambda: conv2d(_t(2, 4, 8, 8), _t(6, 2, 3, 3), groups=4), RuntimeError,
     r"conv2d: out_channels 6 is not divisible by groups=4"),
    (lambda: conv2d(_t(2, 3, 8, 8), _t(4, 1, 3, 3), groups=2), RuntimeError,
     r"conv2d: input has 3 channels, which is not divisible by groups=2"),
    (lambda: conv2d(_t(1, 3, 4, 4), _t(2, 3, 5, 5)), RuntimeError,
     r"conv2d: kernel size \(5, 5\) .* larger than the padded input size \(4, 4\)"),
    (lambda: conv2d(_t(1, 3, 4, 4), _t(2, 3, 3, 3), dilation=2), RuntimeError,
     r"conv2d: kernel size \(3, 3\) \(dilated extent \(5, 5\)\)"),
    (lambda: conv2d(_t(8, 8), _t(2, 3, 3, 3)), RuntimeError,
     r"conv2d: expected 3-D \(unbatched\) or 4-D \(batched\) input, but got input of shape "
     r"\(8, 8\)"),
    (lambda: conv1d(_t(1, 2, 3, 8, 8), _t(2, 3, 3)), RuntimeError, r"conv1d: expected 2-D"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), stride=0), ValueError,
     r"conv2d: stride must be positive, got stride=\(0, 0\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), stride=(1, 1, 1)), ValueError,
     r"conv2d: expected stride to be a single integer value or a list of 2 values to match "
     r"the 2-D op.s spatial dims, but got stride=\(1, 1, 1\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), padding="same", stride=2), ValueError,
     r"conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), padding="full"), ValueError,
     r"conv2d: invalid padding string 'full'"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), padding=-1), ValueError,
     r"conv2d: negative padding"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), _t(3)), RuntimeError,
     r"conv2d: bias must have shape \(2,\) .* got \(3,\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), groups=0), ValueError,
     r"conv2d: groups must be a positive integer"),
    (lambda: conv2d(np.ones((1, 3, 8, 8)), _t(2, 3, 3, 3)), TypeError,
     r"conv2d: input must be a Tensor, got ndarray"),
    (lambda: conv2d(_t(1, 3, 8, 8, dtype=np.int64), _t(2, 3, 3, 3)), TypeError,
     r"conv2d: input must be floating point or complex, got lemmata.int64"),
    (lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(2, 3, 3, 3)), RuntimeError,
     r"conv_transpose2d: input has 3 channels but weight expects 2"),
    (lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(3, 3, 3, 3), groups=2), RuntimeError,
     r"conv_transpose2d: weight's in_channels 3 is not divisible by groups=2"),
    (lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(3, 2, 3, 3), stride=2, output_padding=2),
     ValueError, r"conv_transpose2d: output padding must be smaller than either stride or "
                 r"dilation"),
    (lambda: conv_transpose1d(_t(1, 3, 2), _t(3, 2, 1), padding=2), RuntimeError,
     r"conv_transpose1d: the output size \(-2,\) would be empty"),
    (lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(3, 2, 3, 3), padding="same"), TypeError,
     r"conv_transpose2d: padding must be an int or a tuple"),
    (lambda: true_conv(_t(1, 3, 4, 4), _t(3, 3)), RuntimeError,
     r"true_conv: weight must be 3-, 4- or 5-D"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------------------ NiN-sized smoke


def test_nin_sized_forward_and_backward():
    """The first NiN block at batch 8 on 3×32×32 (5×5 conv 3→192 pad 2, two 1×1 convs, 3×3 max
    pool stride 2), forward and backward in float32, and the same network in float64 against
    PyTorch on two images."""
    rng = np.random.default_rng(0)
    shapes = [(192, 3, 5, 5), (160, 192, 1, 1), (96, 160, 1, 1)]
    weights = [rng.standard_normal(s) * np.sqrt(2 / np.prod(s[1:])) for s in shapes]
    biases = [rng.standard_normal(s[0]) * 0.1 for s in shapes]
    images = rng.standard_normal((8, 3, 32, 32))

    def block(lib, fn, x, params):
        w1, b1, w2, b2, w3, b3 = params
        h = fn.conv2d(x, w1, b1, padding=2).relu()
        h = fn.conv2d(h, w2, b2).relu()
        h = fn.conv2d(h, w3, b3).relu()
        return fn.max_pool2d(h, 3, stride=2)

    params = [lemmata.tensor(a.astype(np.float32), requires_grad=True)
              for pair in zip(weights, biases) for a in pair]
    out = block(lemmata, lemmata.nn.functional, lemmata.tensor(images.astype(np.float32)), params)
    assert tuple(out.shape) == (8, 96, 15, 15) and out.dtype == np.float32
    (out * out).mean().backward()
    for p in params:
        assert p.grad.dtype == np.float32 and np.isfinite(p.grad.numpy()).all()
        assert np.abs(p.grad.numpy()).max() > 0

    def grads(lib, fn):
        ps = [lib.tensor(a, requires_grad=True) for pair in zip(weights, biases) for a in pair]
        y = block(lib, fn, lib.tensor(images[:2]), ps)
        (y * y).mean().backward()
        return [y.detach().numpy()] + [p.grad.numpy() for p in ps]

    for g, e in zip(grads(lemmata, lemmata.nn.functional), grads(torch, F)):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12 * max(1.0, np.abs(e).max()))


def test_empty_batch_gives_empty_output_and_gradients():
    x = lemmata.zeros(0, 4, 6, 6, requires_grad=True)
    w = lemmata.randn(6, 2, 3, 3, requires_grad=True)
    y = conv2d(x, w, padding=1, groups=2)
    z = conv_transpose2d(y, w, stride=2, groups=2)
    assert tuple(y.shape) == (0, 6, 6, 6) and tuple(z.shape) == (0, 4, 13, 13)
    gx, gw = lemmata.autograd.grad(z.sum(), [x, w])
    assert tuple(gx.shape) == (0, 4, 6, 6) and not np.any(gw.numpy())


# ------------------------------------------------------------------------------ the fast routes


from lemmata.ops import conv_fourier, workspace  # noqa: E402

FOURIER_CASES = [
    # (batch, c_in, c_out, (H, W), kernel, padding, dilation)
    (16, 3, 4, (9, 7), (5, 5), 2, 1),
    (17, 2, 5, (8, 10), (3, 3), 1, 2),
    (16, 4, 3, (6, 6), (3, 2), 0, 1),
    (18, 3, 2, (7, 5), (4, 4), "same", 1),
    (16, 2, 3, (5, 9), (3, 5), (0, 2), (2, 1)),
]


def _conv_and_gradients(lib, x, w, b, g, padding, dilation):
    xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
    y = lib.nn.functional.conv2d(xt, wt, bt, padding=padding, dilation=dilation)
    grads = lib.autograd.grad((y * lib.tensor(g)).sum(), [xt, wt, bt])
    return [y.detach().numpy()] + [a.detach().numpy() for a in grads]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", FOURIER_CASES)
def test_fourier_route_matches_torch_and_im2col(dtype, case, monkeypatch):
    """The convolution-theorem route (chosen for wide stride-1 kernels at batch ≥ 16) gives
    PyTorch's values and x, w, b gradients, and im2col's."""
    n, c_in, c_out, size, kernel, padding, dilation = case
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, c_in) + size).astype(dtype)
    w = rng.standard_normal((c_out, c_in) + kernel).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    y = F.conv2d(torch.tensor(x), torch.tensor(w), padding=padding, dilation=dilation)
    g = rng.standard_normal(tuple(y.shape)).astype(dtype)
    expected = _conv_and_gradients(torch, x, w, b, g, padding, dilation)
    monkeypatch.setattr(conv_fourier, "FLOP_SHARE", 1e9)       # always Fourier
    fourier = _conv_and_gradients(lemmata, x, w, b, g, padding, dilation)
    monkeypatch.setattr(conv_fourier, "FLOP_SHARE", -1.0)      # never
    direct = _conv_and_gradients(lemmata, x, w, b, g, padding, dilation)
    tolerance = 1e-11 if dtype == "float64" else 2e-5
    for ours, im2col, theirs in zip(fourier, direct, expected):
        assert ours.dtype == np.dtype(dtype)
        scale = np.abs(theirs).max()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=tolerance * scale)
        np.testing.assert_allclose(ours, im2col, rtol=0, atol=tolerance * scale)


def test_fourier_route_double_backward_matches_torch(monkeypatch):
    monkeypatch.setattr(conv_fourier, "FLOP_SHARE", 1e9)
    rng = np.random.default_rng(6)
    kwargs = dict(padding=2)
    x, w, b = _arrays((16, 3, 6, 7), (4, 3, 5, 5), True, 4, seed=8)
    v = rng.standard_normal((16, 4, 6, 7))
    probes = [rng.standard_normal(x.shape), rng.standard_normal(w.shape),
              rng.standard_normal(b.shape)]
    expected = conv_double_backward(torch, F.conv2d, [x, w, b, v], probes, kwargs)
    got = conv_double_backward(lemmata, conv2d, [x, w, b, v], probes, kwargs)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(e).max()))


def test_route_choice():
    """NiN's 5×5 96→192 layer on 16×16 maps takes the Fourier route at training batch sizes;
    1×1 layers, strided or grouped convolutions, small batches and complex inputs never do."""
    from lemmata.ops.conv import ConvGeometry
    nin = ConvGeometry((16, 16), (16, 16), (5, 5), (1, 1), (1, 1), ((2, 2), (2, 2)), 1)
    f32 = np.dtype(np.float32)
    assert conv_fourier.prefers_fourier(nin, 64, 96, 192, f32)
    assert not conv_fourier.prefers_fourier(nin, 4, 96, 192, f32)
    assert not conv_fourier.prefers_fourier(nin, 64, 96, 192, np.dtype(np.complex128))
    pointwise = ConvGeometry((16, 16), (16, 16), (1, 1), (1, 1), (1, 1), ((0, 0), (0, 0)), 1)
    assert not conv_fourier.prefers_fourier(pointwise, 64, 192, 192, f32)
    strided = ConvGeometry((16, 16), (6, 6), (5, 5), (2, 2), (1, 1), ((0, 0), (0, 0)), 1)
    assert not conv_fourier.prefers_fourier(strided, 64, 96, 192, f32)
    grouped = ConvGeometry((16, 16), (16, 16), (5, 5), (1, 1), (1, 1), ((2, 2), (2, 2)), 2)
    assert not conv_fourier.prefers_fourier(grouped, 64, 96, 192, f32)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_batch_chunks_give_the_same_result(dtype, monkeypatch):
    """im2col, col2im and the weight gradient work through the batch in chunks sized to a
    scratch budget; one image per chunk gives the one-chunk result."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 4, 7, 6)).astype(dtype)
    if dtype == "complex128":
        x = x + 1j * rng.standard_normal(x.shape)
    w = rng.standard_normal((6, 2, 3, 3))
    kwargs = dict(stride=(1, 2), padding=1, groups=2)

    def run():
        xt, wt = lemmata.tensor(x, requires_grad=True), lemmata.tensor(w, requires_grad=True)
        y = conv2d(xt, wt, **kwargs)
        z = conv_transpose2d(y, wt, stride=(1, 2), padding=1, groups=2)
        probe = lemmata.tensor(np.cos(np.arange(z.numel())).reshape(tuple(z.shape)))
        gx, gw = lemmata.autograd.grad(z, [xt, wt], probe)
        return [y.detach().numpy(), z.detach().numpy(), gx.numpy(), gw.numpy()]

    whole = run()
    monkeypatch.setattr(workspace, "CHUNK_BYTES", 1)
    chunked = run()
    for a, b in zip(chunked, whole):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("nd, shape, weight_shape, kwargs", [
    (2, (3, 2, 9, 8), (5, 2, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))),
    (2, (2, 3, 12, 12), (4, 3, 5, 5), dict(padding=2)),
    (1, (2, 1, 11), (3, 1, 4), dict(stride=2, padding=1)),
    (3, (2, 2, 5, 6, 6), (3, 2, 2, 3, 2), dict(padding=(1, 0, 1), dilation=(1, 2, 1))),
    (2, (3, 4, 7, 6), (6, 2, 3, 3), dict(stride=(1, 2), padding=1, groups=2)),
])
def test_column_layouts_give_the_same_result(nd, shape, weight_shape, kwargs, monkeypatch):
    """Few input channels take transposed columns (im2col_transposed) and, with few output
    channels, a forward product image by image, narrow groups take offset-major input-gradient
    columns, small weight gradients are summed image by image, and
    small columns are kept from the forward pass for the weight gradient; the plain
    channels-last layouts, one tall product and columns made again give the same numbers."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(shape), rng.standard_normal(weight_shape)
    ours = {1: lemmata.conv1d, 2: conv2d, 3: lemmata.conv3d}[nd]

    def run():
        xt, wt = lemmata.tensor(x, requires_grad=True), lemmata.tensor(w, requires_grad=True)
        y = ours(xt, wt, **kwargs)
        probe = lemmata.tensor(np.sin(np.arange(y.numel())).reshape(tuple(y.shape)))
        gx, gw = lemmata.autograd.grad(y, [xt, wt], probe)
        return [y.detach().numpy(), gx.numpy(), gw.numpy()]

    from lemmata.ops import conv as conv_module
    geometry = _geometry_of(nd, shape, weight_shape, kwargs)
    assert conv_module._few_channels(geometry, shape[1]) == (geometry.groups == 1)
    monkeypatch.setattr(conv_module, "MIN_IMAGE_ROWS", 1)
    special = run()
    monkeypatch.setattr(conv_module, "FEW_CHANNELS", 0)
    monkeypatch.setattr(conv_module, "NARROW_GROUPS", 0)
    monkeypatch.setattr(conv_module, "SMALL_WEIGHT", 0)
    plain = run()
    monkeypatch.setattr(conv_module, "KEEP_COLUMNS_BYTES", 0)
    remade = run()
    for a, b in zip(special + plain, plain + remade):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_small_columns_are_made_once_per_step(monkeypatch):
    """LeNet-5's first layer at batch 8: the forward pass keeps its im2col columns for the weight
    gradient (one im2col per forward and backward); a second backward through a retained graph
    makes them again, with the same result; without a weight gradient nothing is kept."""
    from lemmata.ops import conv as conv_module
    calls = []
    original = conv_module.im2col_transposed
    monkeypatch.setattr(conv_module, "im2col_transposed",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((8, 1, 28, 28)), rng.standard_normal((6, 1, 5, 5))
    g = lemmata.tensor(rng.standard_normal((8, 6, 28, 28)))
    xt, wt = lemmata.tensor(x), lemmata.tensor(w, requires_grad=True)
    y = conv2d(xt, wt, padding=2)
    assert len(calls) == 1 and y.grad_fn.ctx.columns is not None
    first = lemmata.autograd.grad(y, [wt], g, retain_graph=True)[0]
    assert len(calls) == 1 and y.grad_fn.ctx.columns is None
    second = lemmata.autograd.grad(y, [wt], g)[0]
    assert len(calls) == 2
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    expected = torch.nn.grad.conv2d_weight(torch.tensor(x), w.shape, torch.tensor(g.numpy()),
                                           padding=2)
    np.testing.assert_allclose(first.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)
    with lemmata.no_grad():
        assert conv2d(xt, wt, padding=2).grad_fn is None
    frozen = conv2d(lemmata.tensor(x, requires_grad=True), lemmata.tensor(w), padding=2)
    assert frozen.grad_fn.ctx.columns is None


def _geometry_of(nd, shape, weight_shape, kwargs):
    """The ConvGeometry that convNd builds for these arguments (seen through a forward hook)."""
    from lemmata.ops import conv as conv_module
    seen = []
    original = conv_module._convolve

    def spy(x, w, b, geometry, **kwargs):
        seen.append(geometry)
        return original(x, w, b, geometry, **kwargs)

    conv_module._convolve = spy
    try:
        {1: lemmata.conv1d, 2: conv2d, 3: lemmata.conv3d}[nd](
            lemmata.zeros(*shape, dtype=lemmata.float64),
            lemmata.zeros(*weight_shape, dtype=lemmata.float64), **kwargs)
    finally:
        conv_module._convolve = original
    return seen[0]


# (C, kernel, padding, size): a 3×3 layer on the Winograd route, a 5×5 one on the Fourier route
FAST_ROUTE_CASES = [(16, 3, 1, 8, "winograd"), (96, 5, 2, 16, "fourier")]


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("channels,kernel,padding,size,route", FAST_ROUTE_CASES)
@pytest.mark.parametrize("where", ["input", "gradient"])
def test_non_finite_entries_follow_ieee_window_by_window_as_torch(channels, kernel, padding, size,
                                                                  route, bad, where):
    """The Winograd and Fourier routes mix neighbouring inputs, so an inf or NaN would spread to
    outputs that never see it; such arrays take the im2col route, whose infs and NaNs are
    PyTorch's, position by position, in the value and both gradients.  (A non-finite weight
    differs at the borders: im2col multiplies it by the padding's zeros, NaN, where PyTorch's
    direct kernel skips the padding.)"""
    from lemmata.ops.conv import ConvGeometry, _route
    rng = np.random.default_rng(8)
    n = 16
    x = rng.standard_normal((n, channels, size, size)).astype(np.float32)
    w = (rng.standard_normal((channels, channels, kernel, kernel)) * 0.1).astype(np.float32)
    g = rng.standard_normal((n, channels, size, size)).astype(np.float32)
    geometry = ConvGeometry((size, size), (size, size), (kernel,) * 2, (1, 1), (1, 1),
                            ((padding, padding),) * 2, 1)
    assert _route(geometry, n, channels, channels, np.dtype(np.float32), x, w)[0] == route
    {"input": x, "weight": w, "gradient": g}[where][0, 1, 2, 3] = bad
    assert _route(geometry, n, channels, channels, np.dtype(np.float32), x, w, g)[0] is None

    def run(lib):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(xt, wt, padding=padding)
        gx, gw = lib.autograd.grad(y, [xt, wt], lib.tensor(g))
        return [a.detach().numpy() for a in (y, gx, gw)]

    for ours, theirs in zip(run(lemmata), run(torch)):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        np.testing.assert_array_equal(np.isposinf(ours), np.isposinf(theirs))
        np.testing.assert_array_equal(np.isneginf(ours), np.isneginf(theirs))
        finite = np.isfinite(theirs)
        np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-4,
                                   atol=1e-4 * max(1.0, float(np.abs(theirs[finite]).max())))


@pytest.mark.parametrize("dtype,tolerance", [("float64", 1e-12), ("float32", 1e-5)])
def test_narrow_input_gradients_take_the_fourier_route_and_match_torch(dtype, tolerance):
    """LeNet-5's 6→16 5×5 layer: its input gradient takes the Fourier route (its FLOPs are
    about im2col's, but im2col's transposed map is 25 thin products), its forward and weight
    gradient keep im2col; all three match PyTorch."""
    from lemmata.ops.conv import ConvGeometry, _route
    rng = np.random.default_rng(12)
    n = 16
    x = rng.standard_normal((n, 6, 14, 14)).astype(dtype)
    w = (rng.standard_normal((16, 6, 5, 5)) * 0.1).astype(dtype)
    g = rng.standard_normal((n, 16, 10, 10)).astype(dtype)
    geometry = ConvGeometry((14, 14), (10, 10), (5, 5), (1, 1), (1, 1), ((0, 0), (0, 0)), 1)
    f = np.dtype(dtype)
    assert _route(geometry, n, 6, 16, f, g, w, transpose=True)[0] == "fourier"
    assert _route(geometry, n, 6, 16, f, x, w)[0] is None
    assert _route(geometry, n, 24, 16, f, g, transpose=True)[0] is None   # wider: im2col

    def run(lib):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(xt, wt)
        return [a.detach().numpy() for a in (y, *lib.autograd.grad(y, [xt, wt], lib.tensor(g)))]

    for ours, theirs in zip(run(lemmata), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=tolerance,
                                   atol=tolerance * float(np.abs(theirs).max()))


def _grouped_conv_and_gradients(lib, x, w, b, g, groups):
    xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
    y = lib.nn.functional.conv2d(xt, wt, bt, padding=1, groups=groups)
    return [a.detach().numpy() for a in
            [y, *lib.autograd.grad(y, [xt, wt, bt], lib.tensor(g))]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("channels,groups,size", [(64, 8, 9), (32, 32, 8), (48, 4, 6)])
def test_grouped_3x3_layers_computed_densely_match_torch_and_the_grouped_route(
        dtype, channels, groups, size, monkeypatch):
    """A grouped 3×3 stride-1 layer of ≥ DENSE_GROUPS groups runs as one dense convolution
    with the block-diagonal weight (the Winograd route); its value and gradients are PyTorch's
    and the per-group im2col route's."""
    from lemmata.ops import conv as conv_module
    rng = np.random.default_rng(11)
    n = 3
    x = rng.standard_normal((n, channels, size, size)).astype(dtype)
    w = rng.standard_normal((channels, channels // groups, 3, 3)).astype(dtype)
    b = rng.standard_normal(channels).astype(dtype)
    g = rng.standard_normal((n, channels, size, size)).astype(dtype)
    geometry = conv_module.ConvGeometry((size, size), (size, size), (3, 3), (1, 1), (1, 1),
                                        ((1, 1), (1, 1)), groups)
    route, routed = conv_module._route(geometry, n, channels, channels, np.dtype(dtype), x, w)
    assert route == "winograd" and routed.groups == 1
    dense = _grouped_conv_and_gradients(lemmata, x, w, b, g, groups)
    expected = _grouped_conv_and_gradients(torch, x, w, b, g, groups)
    monkeypatch.setattr(conv_module, "DENSE_GROUPS", 10 ** 6)
    grouped = _grouped_conv_and_gradients(lemmata, x, w, b, g, groups)
    tolerance = 1e-12 if dtype == "float64" else 2e-5
    for ours, per_group, theirs in zip(dense, grouped, expected):
        assert ours.shape == theirs.shape and ours.dtype == np.dtype(dtype)
        scale = float(np.abs(theirs).max())
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=tolerance * scale)
        np.testing.assert_allclose(ours, per_group, rtol=0, atol=tolerance * scale)


def test_dense_grouped_route_rules():
    """Few groups, a dense weight too large, a non-3×3 kernel, or a non-finite array (0 · inf
    would leak NaN into the other groups) keep the per-group route."""
    from lemmata.ops import conv as conv_module

    def geometry(kernel, groups):
        return conv_module.ConvGeometry((8, 8), (8, 8), (kernel,) * 2, (1, 1), (1, 1),
                                        ((kernel // 2,) * 2,) * 2, groups)

    f32 = np.dtype(np.float32)
    finite, spoiled = np.zeros(4, np.float32), np.array([0, np.inf], np.float32)

    def routed_groups(*args):
        return conv_module._route(*args)[1].groups

    assert conv_module._route(geometry(3, 4), 4, 64, 64, f32, finite)[0] == "winograd"
    assert routed_groups(geometry(3, 4), 4, 64, 64, f32, finite) == 1
    assert routed_groups(geometry(3, 2), 4, 64, 64, f32, finite) == 2
    assert routed_groups(geometry(5, 4), 4, 64, 64, f32, finite) == 4
    assert conv_module._route(geometry(3, 4), 4, 64, 64, f32, spoiled) == (None, geometry(3, 4))
    assert routed_groups(geometry(3, 1024), 4, 1024, 1024, f32, finite) == 1024


@pytest.mark.parametrize("where", ["input", "gradient"])
def test_grouped_layer_with_an_inf_keeps_other_groups_finite_as_torch(where):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 32, 8, 8)).astype(np.float32)
    w = rng.standard_normal((32, 4, 3, 3)).astype(np.float32)
    b = np.zeros(32, np.float32)
    g = rng.standard_normal((2, 32, 8, 8)).astype(np.float32)
    (x if where == "input" else g)[0, 0, 4, 4] = np.inf
    for ours, theirs in zip(_grouped_conv_and_gradients(lemmata, x, w, b, g, 8),
                            _grouped_conv_and_gradients(torch, x, w, b, g, 8)):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
