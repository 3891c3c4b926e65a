"""nn.init: gains and fans equal torch's; every initialiser has the stated distribution (bounds
and moments, judged with a few standard errors), writes in place under no_grad, and draws from
the global generator."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lemmata
from lemmata import nn
from lemmata.nn import init


def sample(shape, dtype=lemmata.float64):
    return nn.Parameter(lemmata.zeros(*shape, dtype=dtype))


def moments_ok(values: np.ndarray, mean: float, std: float, k: float = 5.0) -> None:
    """Sample mean and variance within k standard errors of a distribution with these moments
    (normal-theory error for the variance, 2σ⁴/(n − 1), is loose enough for the uniform)."""
    n = values.size
    assert abs(values.mean() - mean) < k * std / math.sqrt(n)
    assert abs(values.var() - std ** 2) < k * std ** 2 * math.sqrt(2 / (n - 1))


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
    ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None),
])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "big")


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (6, 4, 3, 3), (2, 3, 2, 2, 2)])
def test_fan_in_and_fan_out_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(lemmata.zeros(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions \(got shape \(3,\)\)"):
        init._calculate_fan_in_and_fan_out(lemmata.zeros(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(sample((3, 3)), mode="fan_avg")


def test_uniform_and_normal():
    lemmata.manual_seed(0)
    t = init.uniform_(sample((200, 300)), -2.0, 1.0).detach().numpy()
    assert t.min() >= -2.0 and t.max() <= 1.0
    moments_ok(t, -0.5, 3 / math.sqrt(12))
    t = init.normal_(sample((200, 300)), 1.5, 0.3).detach().numpy()
    moments_ok(t, 1.5, 0.3)


def test_trunc_normal_bounds_and_moments():
    lemmata.manual_seed(0)
    t = init.trunc_normal_(sample((300, 300)), mean=0.0, std=1.0, a=-1.0, b=2.0).detach().numpy()
    assert t.min() >= -1.0 and t.max() <= 2.0
    # moments of N(0,1) truncated to [a, b]
    from scipy import stats
    dist = stats.truncnorm(-1.0, 2.0)
    moments_ok(t, dist.mean(), dist.std())


def test_constant_ones_zeros_eye():
    t = sample((3, 4))
    assert np.all(init.constant_(t, 0.25).detach().numpy() == 0.25)
    assert np.all(init.ones_(t).detach().numpy() == 1)
    assert np.all(init.zeros_(t).detach().numpy() == 0)
    np.testing.assert_array_equal(init.eye_(t).detach().numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="only tensors with 2 dimensions"):
        init.eye_(sample((2, 2, 2)))


@pytest.mark.parametrize("shape, groups", [((4, 4, 3, 3), 1), ((6, 2, 3), 3), ((4, 6, 3, 3), 1),
                                           ((2, 3, 1, 3, 3), 1)])
def test_dirac_matches_torch(shape, groups):
    ours = init.dirac_(sample(shape), groups).detach().numpy()
    theirs = torch.nn.init.dirac_(torch.zeros(*shape, dtype=torch.float64), groups).numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_dirac_convolution_is_the_identity():
    """Seed ryu22.q3: 3×3 conv, padding 1, C → C, w[c, c, 1, 1] = 1, b = 0 is the identity."""
    conv = nn.Conv2d(5, 5, 3, padding=1).double()
    init.dirac_(conv.weight)
    init.zeros_(conv.bias)
    x = lemmata.randn(2, 5, 6, 7, dtype=lemmata.float64)
    np.testing.assert_array_equal(conv(x).detach().numpy(), x.numpy())


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(gain):
    lemmata.manual_seed(1)
    shape = (120, 80, 3)
    fan_in, fan_out = 80 * 3, 120 * 3
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    t = init.xavier_uniform_(sample(shape), gain).detach().numpy()
    assert np.abs(t).max() <= math.sqrt(3) * std
    moments_ok(t, 0, std)
    moments_ok(init.xavier_normal_(sample(shape), gain).detach().numpy(), 0, std)


@pytest.mark.parametrize("a, mode, nonlinearity", [
    (0, "fan_in", "relu"), (0, "fan_out", "relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
    (0.1, "fan_out", "leaky_relu"), (0, "fan_in", "tanh")])
def test_kaiming(a, mode, nonlinearity):
    lemmata.manual_seed(2)
    shape = (100, 60, 3, 3)
    fan = 60 * 9 if mode == "fan_in" else 100 * 9
    gain = torch.nn.init.calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    t = init.kaiming_uniform_(sample(shape), a, mode, nonlinearity).detach().numpy()
    assert np.abs(t).max() <= math.sqrt(3) * std * (1 + 1e-12)
    moments_ok(t, 0, std)
    t = init.kaiming_normal_(sample(shape), a, mode, nonlinearity).detach().numpy()
    moments_ok(t, 0, std)


def test_kaiming_relu_keeps_second_moment():
    """He initialisation (seed ryu22.q6): with Var w = 2/fan_in, E y² of a ReLU layer's
    pre-activation equals E x² of the previous pre-activation."""
    lemmata.manual_seed(3)
    layer = nn.Linear(500, 500, bias=False).double()
    init.kaiming_normal_(layer.weight, nonlinearity="relu")
    z = lemmata.randn(2000, 500, dtype=lemmata.float64)
    out = layer(lemmata.relu(z)).detach().numpy()
    assert abs((out ** 2).mean() - 1.0) < 0.05


def test_lecun_normal_and_conv_output_statistics():
    """lecun_normal_: N(0, 1/fan_in); a padded 3×3 conv with such weights and N(0, σ_b²) bias
    maps unit-variance input to output with E Y = 0 and E Y² = 9·C_in·σ_w² + σ_b² = 1 + σ_b²
    away from the border (seed ryu24.q5)."""
    lemmata.manual_seed(4)
    t = init.lecun_normal_(sample((64, 32, 3, 3))).detach().numpy()
    moments_ok(t, 0, 1 / math.sqrt(32 * 9))
    outs = []
    for _ in range(20):
        conv = nn.Conv2d(16, 8, 3, padding=1).double()
        init.lecun_normal_(conv.weight)
        init.normal_(conv.bias, 0, 0.5)
        x = lemmata.randn(4, 16, 6, 6, dtype=lemmata.float64)
        outs.append(conv(x).detach().numpy()[:, :, 1:-1, 1:-1].ravel())
    y = np.concatenate(outs)
    assert abs(y.mean()) < 0.1
    assert abs((y ** 2).mean() - 1.25) < 0.15


def test_orthogonal():
    lemmata.manual_seed(5)
    for shape in [(6, 4), (4, 6), (3, 2, 2)]:
        t = init.orthogonal_(sample(shape), gain=2.0).detach().numpy().reshape(shape[0], -1)
        small = min(t.shape)
        gram = t.T @ t if t.shape[0] >= t.shape[1] else t @ t.T
        np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)


def test_initialisers_write_in_place_without_graph_and_are_reproducible():
    p = sample((4, 5))
    array = p.numpy(force=True)
    lemmata.manual_seed(11)
    out = init.kaiming_uniform_(p, a=math.sqrt(5))
    assert out is p and p.numpy(force=True) is array and p.grad_fn is None and p.requires_grad
    first = array.copy()
    lemmata.manual_seed(11)
    init.kaiming_uniform_(p, a=math.sqrt(5))
    np.testing.assert_array_equal(array, first)
    own = np.random.default_rng(0)
    a = init.normal_(sample((3,)), generator=own).detach().numpy().copy()
    b = init.normal_(sample((3,)), generator=np.random.default_rng(0)).detach().numpy()
    np.testing.assert_array_equal(a, b)
    f32 = init.normal_(sample((3, 3), dtype=lemmata.float32))
    assert f32.dtype == np.float32


def test_initialiser_argument_errors():
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.normal_(np.zeros(3))
    with pytest.raises(TypeError, match="floating-point or complex"):
        init.normal_(lemmata.zeros(3, dtype=lemmata.int64))
    with pytest.raises(ValueError, match="need a < b"):
        init.trunc_normal_(sample((2,)), a=1.0, b=0.0)
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(sample((0, 3)))
