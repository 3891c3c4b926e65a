"""Every layer against torch.nn 2.13.0: weights copied from a torch instance, then forward
values, input and parameter gradients, and buffers (BatchNorm running statistics after several
training steps, then eval mode), in float64 (rtol 1e-10) and float32 (rtol 1e-4)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lemmata
from lemmata import nn
from checks import check_gradients
from nn_testing import assert_module_parity, close, copy_torch_to_lemmata

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


# (id, factory taking the library, input shape, training steps)
LAYERS = [
    ("linear", lambda l: l.nn.Linear(5, 3), (4, 5), 1),
    ("linear_3d_input_no_bias", lambda l: l.nn.Linear(5, 3, bias=False), (2, 4, 5), 1),
    ("linear_1d_input", lambda l: l.nn.Linear(5, 3), (5,), 1),
    ("conv1d", lambda l: l.nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9), 1),
    ("conv1d_dilated_groups", lambda l: l.nn.Conv1d(4, 6, 3, dilation=2, groups=2), (2, 4, 11), 1),
    ("conv1d_same_reflect", lambda l: l.nn.Conv1d(2, 3, 4, padding="same",
                                                  padding_mode="reflect"), (2, 2, 8), 1),
    ("conv2d", lambda l: l.nn.Conv2d(3, 4, 3, padding=1), (2, 3, 7, 6), 1),
    ("conv2d_unbatched", lambda l: l.nn.Conv2d(3, 4, 3), (3, 6, 5), 1),
    ("conv2d_strided_rect", lambda l: l.nn.Conv2d(2, 4, (3, 2), stride=(2, 1),
                                                  padding=(1, 0), bias=False), (2, 2, 7, 6), 1),
    ("conv2d_groups_dilation", lambda l: l.nn.Conv2d(4, 8, 3, dilation=2, groups=4), (2, 4, 9, 9), 1),
    ("conv2d_same", lambda l: l.nn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2)),
     (2, 2, 7, 8), 1),
    ("conv2d_valid", lambda l: l.nn.Conv2d(2, 3, 3, padding="valid"), (2, 2, 5, 5), 1),
    ("conv2d_reflect", lambda l: l.nn.Conv2d(2, 3, 3, padding=2, padding_mode="reflect"),
     (2, 2, 6, 6), 1),
    ("conv2d_replicate", lambda l: l.nn.Conv2d(2, 3, 3, padding=(1, 2),
                                               padding_mode="replicate"), (2, 2, 5, 6), 1),
    ("conv2d_circular", lambda l: l.nn.Conv2d(2, 3, 3, stride=2, padding=1,
                                              padding_mode="circular"), (2, 2, 6, 7), 1),
    ("conv3d", lambda l: l.nn.Conv3d(2, 3, (2, 3, 3), stride=(1, 2, 1), padding=1), (2, 2, 4, 6, 5), 1),
    ("conv_transpose1d", lambda l: l.nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1,
                                                        output_padding=1), (2, 3, 5), 1),
    ("conv_transpose2d", lambda l: l.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2,
                                                        dilation=1), (2, 4, 4, 5), 1),
    ("conv_transpose2d_dilated", lambda l: l.nn.ConvTranspose2d(2, 3, (2, 3), stride=(2, 1),
                                                                dilation=2, bias=False),
     (2, 2, 3, 4), 1),
    ("conv_transpose3d", lambda l: l.nn.ConvTranspose3d(2, 2, 2, stride=2), (1, 2, 2, 3, 2), 1),
    ("max_pool1d", lambda l: l.nn.MaxPool1d(3, 2, padding=1), (2, 3, 9), 1),
    ("max_pool2d", lambda l: l.nn.MaxPool2d(2), (2, 3, 6, 8), 1),
    ("max_pool2d_ceil", lambda l: l.nn.MaxPool2d(3, stride=2, ceil_mode=True), (2, 3, 8, 7), 1),
    ("max_pool2d_pad_dilation", lambda l: l.nn.MaxPool2d(3, 2, padding=1, dilation=2),
     (2, 2, 9, 9), 1),
    ("max_pool2d_unbatched", lambda l: l.nn.MaxPool2d(2), (3, 6, 6), 1),
    ("max_pool3d", lambda l: l.nn.MaxPool3d(2), (1, 2, 4, 4, 6), 1),
    ("avg_pool1d", lambda l: l.nn.AvgPool1d(3, 2, padding=1, count_include_pad=False), (2, 3, 8), 1),
    ("avg_pool2d", lambda l: l.nn.AvgPool2d(2), (2, 3, 6, 8), 1),
    ("avg_pool2d_ceil_pad", lambda l: l.nn.AvgPool2d(3, 2, padding=1, ceil_mode=True),
     (2, 2, 8, 7), 1),
    ("avg_pool2d_divisor", lambda l: l.nn.AvgPool2d(2, divisor_override=3), (2, 2, 4, 4), 1),
    ("avg_pool3d", lambda l: l.nn.AvgPool3d(2, stride=1), (1, 2, 3, 4, 4), 1),
    ("adaptive_avg_pool1d", lambda l: l.nn.AdaptiveAvgPool1d(3), (2, 3, 7), 1),
    ("adaptive_avg_pool2d", lambda l: l.nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 7, 8), 1),
    ("adaptive_avg_pool2d_global", lambda l: l.nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5), 1),
    ("adaptive_avg_pool3d", lambda l: l.nn.AdaptiveAvgPool3d((2, 1, 3)), (1, 2, 5, 4, 7), 1),
    ("adaptive_max_pool1d", lambda l: l.nn.AdaptiveMaxPool1d(3), (2, 3, 7), 1),
    ("adaptive_max_pool2d", lambda l: l.nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 7, 8), 1),
    ("adaptive_max_pool3d", lambda l: l.nn.AdaptiveMaxPool3d(2), (1, 2, 5, 4, 6), 1),
    ("batch_norm1d", lambda l: l.nn.BatchNorm1d(4), (8, 4), 3),
    ("batch_norm1d_3d", lambda l: l.nn.BatchNorm1d(3, momentum=0.3), (4, 3, 5), 3),
    ("batch_norm1d_cumulative", lambda l: l.nn.BatchNorm1d(3, momentum=None), (5, 3), 3),
    ("batch_norm2d", lambda l: l.nn.BatchNorm2d(3), (4, 3, 5, 4), 3),
    ("batch_norm2d_no_affine", lambda l: l.nn.BatchNorm2d(3, affine=False, eps=1e-3),
     (4, 3, 3, 3), 2),
    ("batch_norm2d_no_bias", lambda l: l.nn.BatchNorm2d(3, bias=False), (4, 3, 3, 3), 2),
    ("batch_norm2d_untracked", lambda l: l.nn.BatchNorm2d(3, track_running_stats=False),
     (4, 3, 3, 3), 2),
    ("batch_norm3d", lambda l: l.nn.BatchNorm3d(2), (3, 2, 2, 3, 3), 2),
    ("layer_norm", lambda l: l.nn.LayerNorm(6), (4, 6), 1),
    ("layer_norm_2d", lambda l: l.nn.LayerNorm([3, 4], eps=1e-3), (2, 5, 3, 4), 1),
    ("layer_norm_no_affine", lambda l: l.nn.LayerNorm(4, elementwise_affine=False), (3, 4), 1),
    ("layer_norm_no_bias", lambda l: l.nn.LayerNorm(4, bias=False), (3, 4), 1),
    ("group_norm", lambda l: l.nn.GroupNorm(2, 4), (3, 4, 5), 1),
    ("bilinear", lambda l: l.nn.Bilinear(3, 4, 2), None, 1),
    ("relu", lambda l: l.nn.ReLU(), (3, 7), 1),
    ("leaky_relu", lambda l: l.nn.LeakyReLU(0.2), (3, 7), 1),
    ("sigmoid", lambda l: l.nn.Sigmoid(), (3, 7), 1),
    ("tanh", lambda l: l.nn.Tanh(), (3, 7), 1),
    ("softplus", lambda l: l.nn.Softplus(beta=2.0, threshold=3.0), (3, 7), 1),
    ("gelu", lambda l: l.nn.GELU(), (3, 7), 1),
    ("gelu_tanh", lambda l: l.nn.GELU(approximate="tanh"), (3, 7), 1),
    ("elu", lambda l: l.nn.ELU(alpha=0.7), (3, 7), 1),
    ("selu", lambda l: l.nn.SELU(), (3, 7), 1),
    ("silu", lambda l: l.nn.SiLU(), (3, 7), 1),
    ("mish", lambda l: l.nn.Mish(), (3, 7), 1),
    ("hardtanh", lambda l: l.nn.Hardtanh(-0.5, 0.8), (3, 7), 1),
    ("relu6", lambda l: l.nn.ReLU6(), (3, 7), 1),
    ("logsigmoid", lambda l: l.nn.LogSigmoid(), (3, 7), 1),
    ("softsign", lambda l: l.nn.Softsign(), (3, 7), 1),
    ("softmax", lambda l: l.nn.Softmax(dim=1), (3, 7), 1),
    ("softmin", lambda l: l.nn.Softmin(dim=0), (3, 7), 1),
    ("log_softmax", lambda l: l.nn.LogSoftmax(dim=-1), (2, 3, 7), 1),
    ("flatten", lambda l: l.nn.Flatten(), (2, 3, 4, 5), 1),
    ("flatten_range", lambda l: l.nn.Flatten(0, 1), (2, 3, 4), 1),
    ("unflatten", lambda l: l.nn.Unflatten(1, (3, 4)), (2, 12), 1),
    ("identity", lambda l: l.nn.Identity(3, unused=True), (2, 3), 1),
    ("dropout_eval_like_p0", lambda l: l.nn.Dropout(p=0.0), (3, 4), 1),
]


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, factory, shape, steps", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_parity_with_torch(name, factory, shape, steps, dtype):
    torch.manual_seed(0)
    theirs, ours = factory(torch), factory(lemmata)
    if name == "bilinear":
        inputs = (randn(4, 3), randn(4, 4))
    else:
        inputs = (randn(*shape) * 2,)
    assert_module_parity(ours, theirs, *inputs, dtype=dtype, steps=steps)
    if steps > 1:  # running statistics are now nontrivial: eval mode uses them
        assert_module_parity(ours, theirs, *inputs, dtype=dtype, train=False)


def test_conv_transpose_output_size_matches_torch():
    theirs = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    ours = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    copy_torch_to_lemmata(theirs, ours)
    x = randn(1, 2, 4, 5).astype(np.float32)
    for size in [(7, 9), (8, 10), (1, 3, 8, 9)]:
        close(ours(lemmata.tensor(x), output_size=size), theirs(torch.tensor(x), output_size=size),
              "float32", f"output_size={size}")
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(2, 3, .*requested an output size"):
        ours(lemmata.tensor(x), output_size=(10, 9))


def test_max_pool_return_indices_match_torch():
    x = randn(2, 3, 6, 6)
    ours = nn.MaxPool2d(2, return_indices=True)(lemmata.tensor(x))
    theirs = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())


def test_batch_norm_double_backward_matches_torch():
    """Second derivatives through batch norm (training mode) against torch's double backward."""
    x = randn(6, 3, 2, 2)
    theirs, ours = torch.nn.BatchNorm2d(3).double(), nn.BatchNorm2d(3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(randn(3)))
        theirs.bias.copy_(torch.tensor(randn(3)))
    copy_torch_to_lemmata(theirs, ours)
    w = randn(6, 3, 2, 2)
    results = []
    for lib, m in ((lemmata, ours), (torch, theirs)):
        xt = lib.tensor(x, requires_grad=True)
        loss = (m(xt) ** 3 * lib.tensor(w)).sum()
        gx, gw = lib.autograd.grad(loss, [xt, m.weight], create_graph=True)
        second = (gx ** 2).sum() + (gw * lib.tensor(np.arange(3.0))).sum()
        results.append([t.detach().numpy() for t in
                        lib.autograd.grad(second, [xt, m.weight, m.bias])] +
                       [gx.detach().numpy(), gw.detach().numpy()])
    for a, b in zip(*results):
        close(a, b, "float64", "double backward through batch norm")


def test_layer_norm_double_backward_matches_torch():
    x = randn(4, 5)
    theirs, ours = torch.nn.LayerNorm(5).double(), nn.LayerNorm(5).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(randn(5)))
    copy_torch_to_lemmata(theirs, ours)
    results = []
    for lib, m in ((lemmata, ours), (torch, theirs)):
        xt = lib.tensor(x, requires_grad=True)
        gx, = lib.autograd.grad((m(xt) ** 3).sum(), [xt], create_graph=True)
        results.append([t.detach().numpy() for t in
                        lib.autograd.grad((gx ** 2).sum(), [xt, m.weight])])
    for a, b in zip(*results):
        close(a, b, "float64", "double backward through layer norm")


def test_batch_norm_complex_step_matches_reverse_mode():
    """Im L(x + i h v)/h = ∇L·v through batch norm in training mode (holomorphic variance)."""
    m = nn.BatchNorm2d(3).double()
    with lemmata.no_grad():
        m.weight.copy_(lemmata.tensor(randn(3)))
    x, v = randn(4, 3, 2, 2), randn(4, 3, 2, 2)
    xt = lemmata.tensor(x, requires_grad=True)
    (m(xt) ** 3).sum().backward()
    expected = float((xt.grad.numpy() * v).sum())
    m.to(lemmata.complex128)
    h = 1e-20
    with lemmata.no_grad():
        value = (m(lemmata.tensor(x + 1j * h * v)) ** 3).sum().item()
    assert value.imag / h == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------------------ default init
def _uniform_stats(values: np.ndarray, bound: float) -> None:
    """Bounds and the first two moments of U(−bound, bound): mean 0, variance bound²/3."""
    n = values.size
    assert np.abs(values).max() <= bound * (1 + 1e-6)
    assert np.abs(values).max() > 0.98 * bound  # the support is filled
    assert abs(values.mean()) < 5 * bound / math.sqrt(3 * n)
    var = values.var()
    # Var of the sample variance of U(−a, a): (a⁴/5 − a⁴/9)/n = 4a⁴/(45n)
    assert abs(var - bound ** 2 / 3) < 5 * math.sqrt(4 * bound ** 4 / (45 * n))


@pytest.mark.parametrize("factory, fan_in", [
    (lambda: nn.Linear(400, 300), 400),
    (lambda: nn.Conv2d(16, 64, 3), 16 * 9),
    (lambda: nn.Conv1d(8, 128, 5, groups=4), 2 * 5),
    (lambda: nn.Conv3d(4, 32, (2, 3, 3)), 4 * 18),
    (lambda: nn.ConvTranspose2d(64, 16, 3), 16 * 9),
])
def test_default_initialisation_is_uniform_one_over_sqrt_fan_in(factory, fan_in):
    """PyTorch's default (seed hw6.p2): weight and bias ~ U(−1/√fan_in, 1/√fan_in)."""
    lemmata.manual_seed(0)
    layer = factory()
    bound = 1 / math.sqrt(fan_in)
    _uniform_stats(layer.weight.detach().numpy().astype(np.float64), bound)
    bias = layer.bias.detach().numpy()
    assert np.abs(bias).max() <= bound and np.all(np.isfinite(bias))
    assert len(np.unique(bias)) == bias.size  # random, not constant
    assert layer.weight.dtype == np.float32


def test_default_initialisation_bias_statistics():
    lemmata.manual_seed(1)
    biases = np.concatenate([nn.Linear(25, 2000).bias.detach().numpy() for _ in range(5)])
    _uniform_stats(biases.astype(np.float64), 1 / 5)


def test_initialisation_is_reproducible_with_manual_seed():
    lemmata.manual_seed(7)
    a = nn.Conv2d(3, 4, 3)
    lemmata.manual_seed(7)
    b = nn.Conv2d(3, 4, 3)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    np.testing.assert_array_equal(a.bias.detach().numpy(), b.bias.detach().numpy())


def test_dtype_argument():
    assert nn.Linear(2, 3, dtype=lemmata.float64).weight.dtype == np.float64
    assert nn.Conv2d(2, 3, 1, dtype=lemmata.float64).bias.dtype == np.float64
    assert nn.BatchNorm1d(3, dtype=lemmata.float64).running_var.dtype == np.float64


# ------------------------------------------------------------------------------ dropout
def test_dropout_scaling_statistics_and_eval_identity():
    lemmata.manual_seed(0)
    drop = nn.Dropout(p=0.4)
    x = lemmata.ones(200, 500)
    y = drop(x).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.6, rtol=1e-6)
    # kept fraction ~ Binomial(n, 0.6)/n
    assert abs(kept.mean() - 0.6) < 5 * math.sqrt(0.24 / kept.size)
    assert abs(y.mean() - 1.0) < 0.02
    drop.eval()
    assert drop(x) is x


def test_dropout_mask_comes_from_the_global_generator_and_gradient_uses_it():
    lemmata.manual_seed(3)
    x = lemmata.randn(4, 6, requires_grad=True)
    lemmata.manual_seed(3)
    _ = lemmata.randn(4, 6)
    y1 = nn.Dropout(0.5)(x)
    lemmata.manual_seed(3)
    _ = lemmata.randn(4, 6)
    y2 = nn.Dropout(0.5)(x)
    np.testing.assert_array_equal(y1.detach().numpy(), y2.detach().numpy())
    y1.sum().backward()
    mask = (y1.detach().numpy() != 0) * 2.0
    np.testing.assert_array_equal(x.grad.numpy(), mask)


def test_dropout_on_complex_input_is_linear():
    lemmata.manual_seed(0)
    x = lemmata.tensor(randn(3, 4) + 1j * randn(3, 4))
    y = nn.Dropout(0.3)(x)
    assert y.dtype == np.complex128
    ratio = y.numpy()[y.numpy() != 0] / x.numpy()[y.numpy() != 0]
    np.testing.assert_allclose(ratio, 1 / 0.7)


def test_dropout2d_zeroes_whole_channels():
    lemmata.manual_seed(0)
    y = nn.Dropout2d(p=0.5)(lemmata.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0 < (per_channel == 0).all(-1).sum() < 128
    y1 = nn.Dropout1d(p=0.5)(lemmata.ones(4, 8, 5)).numpy()
    assert np.all((y1 == 0).all(-1) | (y1 == 2.0).all(-1))


def test_dropout_arguments():
    with pytest.raises(ValueError, match=r"Dropout: dropout probability has to be between 0 and 1, "
                                         r"but got 1.5"):
        nn.Dropout(1.5)
    assert not np.any(nn.Dropout(1.0)(lemmata.ones(3)).numpy())


# ------------------------------------------------------------------------------ bad input
def test_conv2d_wrong_channels_names_layer_and_shapes():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(RuntimeError, match=r"^Conv2d\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\): "
                                           r"expected input with 3 channels, got input of shape "
                                           r"\(2, 4, 8, 8\)$"):
        conv(lemmata.zeros(2, 4, 8, 8))


def test_conv2d_wrong_rank():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 8, .*expected 3-D \(unbatched\) or 4-D "
                                           r"\(batched\) input, got input of shape \(3, 8\)"):
        conv(lemmata.zeros(3, 8))
    with pytest.raises(RuntimeError, match=r"got input of shape \(1, 2, 3, 8, 8\)"):
        conv(lemmata.zeros(1, 2, 3, 8, 8))
    with pytest.raises(TypeError, match="expected a Tensor"):
        conv(np.zeros((1, 3, 8, 8)))


def test_conv_constructor_errors():
    with pytest.raises(ValueError, match=r"Conv2d\(6, 4, kernel_size=3\): in_channels \(6\) must "
                                         r"be divisible by groups \(4\)"):
        nn.Conv2d(6, 4, 3, groups=4)
    with pytest.raises(ValueError, match=r"out_channels \(6\) must be divisible by groups \(4\)"):
        nn.Conv2d(8, 6, 3, groups=4)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        nn.Conv1d(2, 2, 3, groups=0)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="invalid padding string 'full'"):
        nn.Conv2d(2, 2, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='only "zeros" padding mode'):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 2 ints"):
        nn.Conv2d(2, 2, (3, 3, 3))


def test_linear_wrong_in_features():
    layer = nn.Linear(5, 3)
    with pytest.raises(RuntimeError, match=r"^Linear\(in_features=5, out_features=3, bias=True\): "
                                           r"expected input with last dim 5 \(in_features\), got "
                                           r"input of shape \(4, 6\)$"):
        layer(lemmata.zeros(4, 6))
    with pytest.raises(ValueError, match="in_features must be a non-negative int"):
        nn.Linear(-1, 3)


def test_norm_and_pool_bad_input():
    with pytest.raises(RuntimeError, match=r"BatchNorm2d\(3, .*expected input with 3 channels, got "
                                           r"input of shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(lemmata.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3, .*expected 4D input, got input of shape "
                                         r"\(2, 3, 5\)"):
        nn.BatchNorm2d(3)(lemmata.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3, .*expected 2D or 3D input"):
        nn.BatchNorm1d(3)(lemmata.zeros(3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(lemmata.zeros(1, 3))
    with pytest.raises(RuntimeError, match=r"LayerNorm\(\(4,\), .*expected input with shape "
                                           r"\(\*, 4\), got input of shape \(3, 5\)"):
        nn.LayerNorm(4)(lemmata.zeros(3, 5))
    with pytest.raises(RuntimeError, match=r"MaxPool2d\(kernel_size=2, .*expected 3-D \(unbatched\) "
                                           r"or 4-D \(batched\) input, got input of shape \(4, 4\)"):
        nn.MaxPool2d(2)(lemmata.zeros(4, 4))
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(5\) must be divisible"):
        nn.GroupNorm(2, 5)


# ------------------------------------------------------------------------------ embedding


EMBEDDING_INDEX = [[0, 1, 2, 2], [5, 2, 1, 0]]


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True},
                                    {"padding_idx": 2, "scale_grad_by_freq": True},
                                    {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0},
                                    {"sparse": True}])
def test_embedding_matches_torch(kwargs):
    """Values, the weight's gradient (summed or averaged over repeats, none for the padding
    row) and, with max_norm, the in-place renormalisation of the used rows."""
    weight = np.random.default_rng(0).standard_normal((6, 3)) * 2
    ours = nn.Embedding.from_pretrained(lemmata.tensor(weight), freeze=False, **kwargs)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(weight), freeze=False, **kwargs)
    g = np.arange(24.0).reshape(2, 4, 3)
    out_l, out_t = ours(lemmata.tensor(EMBEDDING_INDEX)), theirs(torch.tensor(EMBEDDING_INDEX))
    (out_l * lemmata.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out_l.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-12)
    grad_t = theirs.weight.grad.to_dense() if theirs.weight.grad.is_sparse else theirs.weight.grad
    np.testing.assert_allclose(ours.weight.grad.numpy(), grad_t.numpy(), rtol=1e-12)
    assert repr(ours) == repr(theirs)


def test_embedding_gradient_checks():
    """The plain lookup's gradient is the derivative (padding_idx and scale_grad_by_freq change
    the gradient on purpose, so they are checked against PyTorch above)."""
    index = lemmata.tensor(EMBEDDING_INDEX)
    weight = np.random.default_rng(1).standard_normal((6, 3))
    check_gradients(lambda w: nn.functional.embedding(index, w), [weight])


def test_embedding_module_defaults_and_errors():
    lemmata.manual_seed(0)
    layer = nn.Embedding(1000, 8, padding_idx=3)
    values = layer.weight.detach().numpy()
    assert values[3].tolist() == [0.0] * 8 and layer.weight.dtype == lemmata.float32
    assert abs(values.std() - 1.0) < 0.05                          # N(0, 1), as PyTorch
    frozen = nn.Embedding.from_pretrained(lemmata.ones(2, 2))
    assert not frozen.weight.requires_grad
    with pytest.raises(IndexError, match=r"embedding: index 6 is out of range for 6 embeddings"):
        nn.functional.embedding(lemmata.tensor([6]), lemmata.zeros(6, 2))
    with pytest.raises(TypeError, match=r"embedding: input must hold integer indices, got float32"):
        nn.functional.embedding(lemmata.tensor([0.0]), lemmata.zeros(6, 2))
    with pytest.raises(ValueError, match=r"embedding: padding_idx must be an int within "
                                         r"num_embeddings \(6\), got 6"):
        nn.Embedding(6, 2, padding_idx=6)
    with pytest.raises(RuntimeError, match=r"embedding: weight must be 2-D"):
        nn.functional.embedding(lemmata.tensor([0]), lemmata.zeros(6))
