"""nn.functional against torch.nn.functional (values and gradients), plus finite-difference and
complex-step gradient checks of the compositions (batch_norm, layer_norm, gelu, elu, ...)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lemmata
import lemmata.nn.functional as F
from checks import check_gradients, check_torch_parity
from lemmata.nn import loss as loss_module

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def pair(name, *args, **kwargs):
    """f_lemmata, f_torch calling F.<name> with the same extra arguments."""
    return (lambda *xs: getattr(F, name)(*xs, *args, **kwargs),
            lambda *xs: getattr(TF, name)(*xs, *args, **kwargs))


ELEMENTWISE = [
    ("relu", (), {}), ("leaky_relu", (0.3,), {}), ("sigmoid", (), {}), ("tanh", (), {}),
    ("softplus", (), {"beta": 0.5, "threshold": 4.0}), ("gelu", (), {}),
    ("gelu", (), {"approximate": "tanh"}), ("elu", (), {"alpha": 1.3}), ("selu", (), {}),
    ("silu", (), {}), ("mish", (), {}), ("hardtanh", (-0.7, 1.2), {}), ("relu6", (), {}),
    ("logsigmoid", (), {}), ("softsign", (), {}), ("softmax", (), {"dim": 1}),
    ("softmin", (), {"dim": 0}), ("log_softmax", (), {"dim": -1}),
    ("normalize", (), {}), ("normalize", (), {"p": 1.0, "dim": 0}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, args, kwargs", ELEMENTWISE,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ELEMENTWISE)])
def test_activation_parity(name, args, kwargs, dtype):
    x = randn(4, 6) * 3
    x[0, :3] = [40.0, -40.0, 0.5]  # large arguments: no overflow in the unused branch
    ours, theirs = pair(name, *args, **kwargs)
    tol = 1e-10 if dtype == "float64" else 1e-5
    check_torch_parity(ours, theirs, [x], dtype, rtol=tol)


@pytest.mark.parametrize("name, args, kwargs", [
    ("gelu", (), {}), ("gelu", (), {"approximate": "tanh"}), ("elu", (), {}), ("selu", (), {}),
    ("silu", (), {}), ("mish", (), {}), ("logsigmoid", (), {}), ("normalize", (), {}),
    ("softsign", (), {}), ("hardtanh", (-0.7, 1.2), {})])
def test_activation_gradients_finite_differences_and_complex_step(name, args, kwargs):
    x = randn(3, 4) * 2
    check_gradients(lambda t: getattr(F, name)(t, *args, **kwargs), [x])


@pytest.mark.parametrize("x", [-3.0, -6.0, -10.0, -20.0, -30.0, 4.0])
def test_exact_gelu_keeps_its_digits_in_the_negative_tail(x):
    """x·Φ(x) and its slope Φ(x) + x·φ(x), with Φ from Python's own erfc: ½(1 + erf(x/√2))
    is 0 from x ≈ −8.3 on (PyTorch's GELU(−10) is 0, not −7.6e-23, and its slope 1 % off)."""
    phi = 0.5 * math.erfc(-x / math.sqrt(2.0))
    density = math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    t = lemmata.tensor([x], dtype=lemmata.float64, requires_grad=True)
    y = F.gelu(t)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), [x * phi], rtol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), [phi + x * density], rtol=1e-12)


def test_linear_parity_and_errors():
    x, w, b = randn(2, 3, 5), randn(4, 5), randn(4)
    check_torch_parity(F.linear, TF.linear, [x, w, b], "float64")
    check_torch_parity(F.linear, TF.linear, [x, w], "float64")
    check_gradients(F.linear, [randn(2, 3), randn(4, 3), randn(4)])
    with pytest.raises(RuntimeError, match=r"linear: input of shape \(2, 3\) does not match weight "
                                           r"of shape \(4, 5\)"):
        F.linear(lemmata.zeros(2, 3), lemmata.zeros(4, 5))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional_parity(training):
    x, w, b = randn(5, 3, 4), randn(3), randn(3)
    stats = {}
    for lib in ("ours", "theirs"):
        stats[lib] = [np.abs(randn(3)) + 0.5 for _ in range(2)] if lib == "ours" else \
            [a.copy() for a in stats["ours"]]
    rm_l, rv_l = (lemmata.tensor(a) for a in stats["ours"])
    rm_t, rv_t = (torch.tensor(a) for a in stats["theirs"])
    check_torch_parity(
        lambda x, w, b: F.batch_norm(x, rm_l, rv_l, w, b, training, 0.2, 1e-3),
        lambda x, w, b: TF.batch_norm(x, rm_t, rv_t, w, b, training, 0.2, 1e-3),
        [x, w, b], "float64", rtol=1e-10)
    np.testing.assert_allclose(rm_l.numpy(), rm_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv_l.numpy(), rv_t.numpy(), rtol=1e-12)
    # without running statistics (training only) and without affine parameters
    if training:
        check_torch_parity(lambda x: F.batch_norm(x, None, None, training=True),
                           lambda x: TF.batch_norm(x, None, None, training=True), [x], "float64",
                           rtol=1e-10)


def test_batch_norm_and_layer_norm_gradient_checks():
    check_gradients(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                    [randn(4, 2, 3), randn(2), randn(2)])
    rm, rv = lemmata.tensor(randn(2)), lemmata.tensor(np.abs(randn(2)) + 1)
    check_gradients(lambda x, w: F.batch_norm(x, rm, rv, w, None, training=False),
                    [randn(3, 2), randn(2)])
    check_gradients(lambda x, w, b: F.layer_norm(x, (3,), w, b), [randn(2, 3), randn(3), randn(3)])
    check_gradients(lambda x: F.group_norm(x, 2), [randn(2, 4, 3)])


def test_layer_norm_and_group_norm_parity():
    x, w, b = randn(2, 3, 4), randn(3, 4), randn(3, 4)
    check_torch_parity(lambda x, w, b: F.layer_norm(x, (3, 4), w, b, 1e-4),
                       lambda x, w, b: TF.layer_norm(x, (3, 4), w, b, 1e-4), [x, w, b], "float64",
                       rtol=1e-10)
    check_torch_parity(lambda x: F.layer_norm(x, [4]), lambda x: TF.layer_norm(x, [4]), [x],
                       "float32", rtol=1e-5)
    x, w, b = randn(2, 6, 5), randn(6), randn(6)
    check_torch_parity(lambda x, w, b: F.group_norm(x, 3, w, b),
                       lambda x, w, b: TF.group_norm(x, 3, w, b), [x, w, b], "float64",
                       rtol=1e-10)
    with pytest.raises(RuntimeError, match=r"layer_norm: given normalized_shape=\[5\], expected "
                                           r"input with shape \[\*, 5\], but got input of size "
                                           r"\(2, 3, 4\)"):
        F.layer_norm(lemmata.zeros(2, 3, 4), (5,))


def test_batch_norm_errors():
    with pytest.raises(RuntimeError, match=r"running_mean of shape \(4,\) does not match the 3 "
                                           r"channels"):
        F.batch_norm(lemmata.zeros(2, 3), lemmata.zeros(4), lemmata.ones(4))
    with pytest.raises(RuntimeError, match="must be given when training=False"):
        F.batch_norm(lemmata.zeros(2, 3), None, None)


def test_dropout_functional():
    x = lemmata.ones(50, 40)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not np.any(F.dropout(x, 1.0).numpy())
    lemmata.manual_seed(0)
    y = F.dropout(x, 0.25).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(x, -0.1)
    lemmata.manual_seed(1)
    y = F.dropout2d(lemmata.ones(4, 6, 2, 2), 0.5).numpy().reshape(4, 6, 4)
    assert np.all((y == 0).all(-1) | (y == 2).all(-1))
    y = F.dropout2d(lemmata.ones(4, 6, 5), 0.5).numpy()  # 3-D: (N, C, L) as torch
    assert np.all((y == 0).all(-1) | (y == 2).all(-1))
    with pytest.raises(RuntimeError, match=r"dropout3d: expected 4-D \(unbatched\) or 5-D"):
        F.dropout3d(lemmata.ones(2, 3), 0.5)


def test_dropout_gradient_is_the_mask():
    lemmata.manual_seed(2)
    x = lemmata.tensor(randn(6, 7), requires_grad=True)
    y = F.dropout(x, 0.3)
    y.backward(lemmata.ones(6, 7, dtype=lemmata.float64))
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) / 0.7)


def test_dropout_mask_follows_the_memory_layout():
    """The mask is drawn in the input's memory order: for a C-contiguous input it is
    generator().random(shape) >= p; for an NCHW view of channels-last memory (a convolution's
    output) the same draws fill memory in order, and the gradient is still the mask."""
    lemmata.manual_seed(4)
    x = lemmata.tensor(randn(3, 4, 5, 6), requires_grad=True)
    y = F.dropout(x, 0.4)
    lemmata.manual_seed(4)
    expected = lemmata.random.generator().random((3, 4, 5, 6)) >= 0.4
    np.testing.assert_array_equal(y.detach().numpy() != 0, expected)
    channels_last = np.moveaxis(randn(3, 5, 6, 4), -1, 1)
    x = lemmata.tensor(channels_last, requires_grad=True)
    lemmata.manual_seed(4)
    y = F.dropout(x, 0.4)
    np.testing.assert_array_equal(np.moveaxis(y.detach().numpy() != 0, 1, -1), expected.reshape(
        3, 5, 6, 4))
    y.backward(lemmata.ones(3, 4, 5, 6, dtype=lemmata.float64))
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) / 0.6)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_parity(mode):
    x = randn(2, 3, 4, 5)
    check_torch_parity(lambda t: F.pad(t, (1, 2, 2, 1), mode=mode),
                       lambda t: TF.pad(t, (1, 2, 2, 1), mode=mode), [x], "float64")


def test_one_hot():
    labels = np.array([[0, 2], [3, 1]])
    ours = F.one_hot(lemmata.tensor(labels))
    theirs = TF.one_hot(torch.tensor(labels))
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(F.one_hot(lemmata.tensor(labels), 6).numpy(),
                                  TF.one_hot(torch.tensor(labels), 6).numpy())
    with pytest.raises(RuntimeError, match="smaller than num_classes=3"):
        F.one_hot(lemmata.tensor(labels), 3)
    with pytest.raises(RuntimeError, match="index tensor"):
        F.one_hot(lemmata.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(lemmata.tensor([-1, 1]), 3)


def test_conv_and_pool_are_the_ops():
    from lemmata.ops import conv, pool
    assert F.conv2d is conv.conv2d and F.conv_transpose1d is conv.conv_transpose1d
    assert F.max_pool2d is pool.max_pool2d and F.adaptive_avg_pool2d is pool.adaptive_avg_pool2d


def test_losses_are_reexported():
    for name in ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "huber_loss",
                 "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                 "kl_div"]:
        assert getattr(F, name) is getattr(loss_module, name)
    logits, target = randn(4, 3), np.array([0, 2, 1, 2])
    ours = F.cross_entropy(lemmata.tensor(logits), lemmata.tensor(target)).item()
    assert ours == pytest.approx(TF.cross_entropy(torch.tensor(logits),
                                                  torch.tensor(target)).item(), rel=1e-12)


def test_functional_type_errors():
    with pytest.raises(TypeError, match="relu: input must be a Tensor"):
        F.relu(np.zeros(3))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(lemmata.zeros(2), approximate="erf")
