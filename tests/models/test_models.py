"""lemmata.models against torch: each model file is also executed with torch.nn in place of
lemmata.nn (its "torch twin"), so the same source gives both; parameter counts, state_dict keys
and shapes (both directions), outputs and gradients agree.  Plus the NiN batch, complex-step
Hessian-vector products through a ResNet, and the seed facts (hw6.p1, hw6.p4, bouman.q4)."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

import lemmata
import lemmata.models as models
from lemmata import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "nn"))
from nn_testing import assert_module_parity, close, load_torch_twin  # noqa: E402

MODELS_DIR = os.path.dirname(models.__file__)


def twin(family: str) -> dict:
    return load_torch_twin(os.path.join(MODELS_DIR, family + ".py"))


# (family file, class name, constructor args, input shape or None, parity dtype, train steps)
CASES = [
    ("nin", "NiN", (), (2, 3, 32, 32), "float32", 0),
    ("vgg", "Net", (), None, None, 0),
    ("stm", "myLayer", (6, 4), (5, 6), "float64", 0),
    ("stm", "MyConvLayer", (), (1, 256, 4, 4), "float32", 1),
    ("stm", "STMConv", (), (1, 256, 4, 4), "float32", 1),
    ("commute", "model1", (3, 4), (2, 3, 8, 8), "float64", 1),
    ("commute", "model2", (3, 4), (2, 3, 8, 8), "float64", 1),
    ("commute", "model3", (3, 4), (2, 3, 8, 8), "float64", 1),
    ("bouman", "TwoLayerCNN", (), (2, 3, 9, 8), "float64", 1),
    ("lenet", "LeNet5", (), (3, 1, 28, 28), "float64", 1),
    ("mlp", "MLP", ([7, 16, 16, 3],), (5, 7), "float64", 1),
    ("resnet", "ResNet", ((1, 1), 5, 3, 8), (4, 3, 8, 8), "float64", 3),
    ("resnet", "resnet18", (), None, None, 0),
]
IDS = [c[1] for c in CASES]


def build(family, name, args):
    torch.manual_seed(0)
    lemmata.manual_seed(0)
    ours = getattr(models, name)(*args)
    theirs = twin(family)[name](*args)
    return ours, theirs


@pytest.mark.parametrize("family, name, args, shape, dtype, steps", CASES, ids=IDS)
def test_parameter_counts_and_state_dict_layout_match_torch(family, name, args, shape, dtype,
                                                            steps):
    ours, theirs = build(family, name, args)
    assert isinstance(theirs, torch.nn.Module)
    assert models.count_parameters(ours) == sum(p.numel() for p in theirs.parameters())
    sd_l, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_l) == list(sd_t)
    assert [tuple(v.shape) for v in sd_l.values()] == [tuple(v.shape) for v in sd_t.values()]
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("family, name, args, shape, dtype, steps",
                         [c for c in CASES if c[3] is not None],
                         ids=[c[1] for c in CASES if c[3] is not None])
def test_forward_and_gradients_match_torch(family, name, args, shape, dtype, steps):
    ours, theirs = build(family, name, args)
    x = np.random.default_rng(0).standard_normal(shape)
    if steps:
        assert_module_parity(ours, theirs, x, dtype=dtype, train=True, steps=steps)
    assert_module_parity(ours, theirs, x, dtype=dtype, train=False)


def test_state_dict_round_trip_lemmata_to_torch():
    lemmata.manual_seed(1)
    ours = models.ResNet((1, 1), num_classes=4, width=4)
    ours(lemmata.randn(6, 3, 8, 8))  # move the running statistics
    theirs = twin("resnet")["ResNet"]((1, 1), 4, 3, 4)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    ours.eval(), theirs.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    close(ours(lemmata.tensor(x)), theirs(torch.tensor(x)), "float32", "ResNet after round trip")
    assert int(ours.bn1.num_batches_tracked.item()) == 1 == int(theirs.bn1.num_batches_tracked)


def test_nin_forward_backward_batch_of_8():
    lemmata.manual_seed(0)
    net = models.NiN()
    x = lemmata.randn(8, 3, 32, 32)
    out = net(x)
    assert out.shape == (8, 10) and out.dtype == np.float32
    out.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    out1, out2, out3, out4 = net.eval().intermediates(x[:1])
    assert (out1.shape, out2.shape, out3.shape) == ((1, 96, 16, 16), (1, 192, 8, 8),
                                                     (1, 10, 8, 8))


def test_nin_forward_backward_batch_of_128():
    """A full CIFAR-sized batch (about 5 s here, so it runs by default)."""
    lemmata.manual_seed(0)
    net = models.NiN()
    out = net(lemmata.randn(128, 3, 32, 32))
    assert out.shape == (128, 10)
    out.sum().backward()
    assert all(np.all(np.isfinite(p.grad.numpy())) for p in net.parameters())


def test_hessian_vector_product_by_complex_step_through_a_resnet():
    """H v two ways through conv, batch norm (training mode), ReLU and pooling: the complex-step
    derivative of the gradient, Im ∇L(θ + i h v)/h, and double backward (seed ttic.p5)."""
    lemmata.manual_seed(3)
    net = models.ResNet((1,), num_classes=3, width=4).double()
    x = lemmata.randn(4, 3, 6, 6, dtype=lemmata.float64)
    target = lemmata.tensor([0, 2, 1, 1])
    params = list(net.parameters())
    rng = np.random.default_rng(0)
    v = [rng.standard_normal(tuple(p.shape)) for p in params]

    def loss():
        return nn.functional.cross_entropy(net(x.to(params[0].dtype)), target)

    grads = lemmata.autograd.grad(loss(), params, create_graph=True)
    dot = sum((g * lemmata.tensor(vi)).sum() for g, vi in zip(grads, v))
    hv_double = [h.numpy() for h in lemmata.autograd.grad(dot, params)]
    net.to(lemmata.complex128)
    step = 1e-20
    with lemmata.no_grad():
        for p, vi in zip(params, v):
            p.add_(lemmata.tensor(1j * step * vi))
    hv_complex = [g.numpy().imag / step for g in lemmata.autograd.grad(loss(), params)]
    for a, b in zip(hv_complex, hv_double):
        close(a, b, "float64", "Hessian-vector product", rtol=1e-8)


def test_hw6_p1_dropout_commutes_with_relu_not_sigmoid():
    x = lemmata.randn(8, 6)
    for sigma, commutes in ((nn.ReLU(), True), (nn.LeakyReLU(), True), (nn.Sigmoid(), False)):
        after = models.myLayer(6, 5, sigma=sigma)
        before = models.myLayer(6, 5, sigma=sigma, dropout_first=True)
        before.load_state_dict(after.state_dict())
        lemmata.manual_seed(5)
        y1 = after(x).detach().numpy()
        lemmata.manual_seed(5)
        y2 = before(x).detach().numpy()
        assert np.allclose(y1, y2, rtol=1e-6, atol=1e-7) == commutes, type(sigma).__name__


def test_hw6_p4_counts():
    assert models.count_parameters(models.MyConvLayer()) == 213504
    assert models.count_parameters(models.STMConv()) == 78592
    assert models.STMConvLayer()(lemmata.randn(1, 256, 3, 3)).shape == (1, 256, 3, 3)


def test_bouman_q4_shapes():
    m = models.TwoLayerCNN()
    assert tuple(m.conv1.weight.shape) == (8, 3, 3, 3) and tuple(m.conv1.bias.shape) == (8,)
    assert tuple(m.conv2.weight.shape) == (1, 8, 3, 3) and tuple(m.conv2.bias.shape) == (1,)
    assert m(lemmata.randn(2, 3, 10, 12)).shape == (2, 1, 10, 12)
    assert models.TwoLayerCNN(padding=0)(lemmata.randn(1, 3, 10, 12)).shape == (1, 1, 6, 8)


def test_count_parameters_trainable_only():
    m = models.MLP([4, 3, 2])
    assert models.count_parameters(m) == 4 * 3 + 3 + 3 * 2 + 2
    m[0].requires_grad_(False)
    assert models.count_parameters(m) == 8
    assert models.count_parameters(m, trainable_only=False) == 23


def test_model_argument_errors():
    with pytest.raises(ValueError, match="MLP: sizes must list at least"):
        models.MLP([3])
    with pytest.raises(ValueError, match="ResNet: num_blocks"):
        models.ResNet(())
