"""Tensors on a device: the ``cuda`` device (CuPy arrays), run on a GPU where there is one and on
a NumPy-backed stand-in for CuPy everywhere (``device_stand_in``).

Every op, model step and optimizer here computes on the device and must give the CPU's numbers
(float64, so that the device's im2col route and the CPU's Winograd or Fourier routes agree to
rounding), with gradients that stay on the device.  The stand-in refuses every implicit host ↔
device conversion as CuPy does, so a code path that would leave the device fails here too.
"""
from __future__ import annotations

import numpy as np
import pytest

import device_stand_in
import lemmata
import lemmata.nn as nn
import lemmata.nn.functional as F
from lemmata import backend


@pytest.fixture(params=["stand-in", pytest.param("cupy", marks=pytest.mark.gpu)])
def device(request, monkeypatch):
    """The name "cuda", served by the stand-in or, where a GPU and CuPy are present, by CuPy."""
    backend._forget_loaded()
    if request.param == "stand-in":
        monkeypatch.setitem(backend._LOADERS, "cuda", device_stand_in.device_module)
    elif not backend.is_available("cuda"):
        pytest.skip("no CUDA device with CuPy here")
    yield "cuda"
    backend._forget_loaded()


def _host(t: lemmata.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _draw(shape, seed, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def _agree(fn, arrays, device, grad=True, rtol=1e-10, atol=1e-12):
    """fn on CPU tensors and on device tensors of ``arrays``: the same values, and the same
    gradients of Σ w·fn(...) for fixed weights w, all on the device."""
    cpu = [lemmata.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    dev = [lemmata.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f")
           for a in arrays]
    expected, got = fn(*cpu), fn(*dev)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    for e, g in zip(expected, got):
        assert g.device == device, f"an output left the device: {g.device}"
        np.testing.assert_allclose(_host(g), _host(e), rtol=rtol, atol=atol)
    if not grad:
        return
    weights = [_draw(e.shape, 7 + i) for i, e in enumerate(expected)]
    outputs = [(e, g, w) for e, g, w in zip(expected, got, weights) if e.requires_grad]
    if not outputs:
        return
    sum(((e * lemmata.tensor(w)).sum() for e, _, w in outputs), lemmata.tensor(0.0)).backward()
    sum(((g * lemmata.tensor(w, device=device)).sum() for _, g, w in outputs),
        lemmata.tensor(0.0, device=device)).backward()
    for c, d in zip(cpu, dev):
        if c.requires_grad:
            assert d.grad is not None and d.grad.device == device
            np.testing.assert_allclose(_host(d.grad), _host(c.grad), rtol=rtol, atol=atol)


X = (3, 4)
IMAGES = (2, 3, 7, 7)
OPS = {
    # elementwise, with broadcasting and Python numbers
    "arithmetic": (lambda a, b: (a * b + 2 - b / (a.abs() + 1)) ** 2, [X, (4,)]),
    "transcendental": (lambda a: a.exp() + (a.abs() + 1).log() + a.tanh() + a.sigmoid()
                       + a.sin() * a.cos() + (a.abs() + 0.5).sqrt() + a.erf() + a.erfc(), [X]),
    "trigonometric": (lambda a: (a * 0.5).tan() + a.sinh() * a.cosh() + (a * 0.3).asin()
                      + (a * 0.3).acos() + a.atan() + (a.abs() + 1).log2()
                      + (a.abs() + 1).log10() + a.exp2() + a.logaddexp(a * 3), [X]),
    "piecewise": (lambda a, b: F.relu(a) + F.leaky_relu(a, 0.1) + a.clamp(-0.5, 0.7)
                  + lemmata.maximum(a, b) + lemmata.where(a > b, a, b) + F.softplus(a), [X, X]),
    "activations": (lambda a: F.gelu(a) + F.elu(a) + F.silu(a) + F.hardtanh(a)
                    + F.logsigmoid(a), [X]),
    # reductions
    "sums": (lambda a: (a.sum(), a.sum(0), a.mean(1, keepdim=True), a.var(0), a.std(),
                        a.norm(), a.prod(1)), [X]),
    "extrema": (lambda a: (a.max(), a.amax(1), a.max(0)[0], a.min(1)[0],
                           lemmata.logsumexp(a, 1)), [X]),
    "softmax": (lambda a: (F.softmax(a, 1), F.log_softmax(a, 0)), [X]),
    "argmax": (lambda a: (a.argmax(1), a.argmin()), [X]),
    # shapes and indexing
    "views": (lambda a: (a.reshape(2, 6), a.t(), a.permute(1, 0).flatten(), a.unsqueeze(1),
                         a.flip(0), a[1:, ::2], a[None, ..., 1]), [X]),
    "joins": (lambda a, b: (lemmata.cat([a, b]), lemmata.stack([a, b], 1), *a.chunk(2, 1),
                            *lemmata.split(b, [1, 2])), [X, X]),
    "gather": (lambda a: (a.gather(1, lemmata.tensor([[0, 3], [1, 1], [2, 0]],
                                                     device=a.device)),
                          a[lemmata.tensor([2, 0, 2], device=a.device)],
                          a[a > 0]), [X]),
    "expand": (lambda a: (a[:1].expand(3, 4) * a, a.repeat(2, 1), F.pad(a, (1, 2)),
                          a.narrow(1, 1, 2)), [X]),
    "index_put": (lambda a, b: _index_put(a, b), [X, (4,)]),
    "masks_and_scans": (lambda a, v: (a.masked_fill(a > 0, 1.5), lemmata.masked_fill(a, a < 0, v),
                                      a.tril(), a.triu(1), a.cumsum(1), a.lerp(a * 2, 0.75),
                                      a.sort(1).values, a.topk(2, 0).values,
                                      a.index_select(1, lemmata.tensor([3, 0, 3])),
                                      a.scatter_add(0, lemmata.tensor([[2, 0, 2, 1]]), a[:1]),
                                      a.scatter(1, lemmata.tensor([[1], [0], [3]]), a[:, :1])),
                        [X, ()]),
    # products
    "matmul": (lambda a, b: (a @ b, a @ b[:, 0], lemmata.bmm(a[None], b[None])), [X, (4, 5)]),
    "linear": (lambda a, w, b: F.linear(a, w, b), [X, (5, 4), (5,)]),
    "embedding": (lambda w: (F.embedding(lemmata.tensor([[0, 2], [4, 2]]), w),
                             F.embedding(lemmata.tensor([1, 1, 3]), w, padding_idx=3,
                                         scale_grad_by_freq=True)), [(5, 4)]),
    # convolutions (im2col on the device; Winograd and Fourier routes on the CPU)
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1), [IMAGES, (5, 3, 3, 3), (5,)]),
    "conv2d_strided": (lambda x, w: F.conv2d(x, w, stride=2, dilation=2, padding=2),
                       [IMAGES, (4, 3, 3, 3)]),
    "conv2d_grouped": (lambda x, w: F.conv2d(x, w, groups=3), [(2, 6, 6, 6), (6, 2, 3, 3)]),
    "conv2d_wide": (lambda x, w: F.conv2d(x, w), [(2, 16, 6, 6), (8, 16, 3, 3)]),
    "conv2d_pointwise": (lambda x, w: F.conv2d(x, w), [IMAGES, (4, 3, 1, 1)]),
    "conv1d": (lambda x, w: F.conv1d(x, w, padding=2), [(2, 3, 9), (4, 3, 5)]),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1),
                         [IMAGES, (3, 4, 3, 3)]),
    # pooling
    "max_pool": (lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True), [IMAGES]),
    "max_pool_overlapping": (lambda x: F.max_pool2d(x, 3, 1), [IMAGES]),
    "avg_pool": (lambda x: (F.avg_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                                              count_include_pad=False)), [IMAGES]),
    "adaptive": (lambda x: (F.adaptive_avg_pool2d(x, (3, 2)), F.adaptive_max_pool2d(x, 3)),
                 [IMAGES]),
    # normalisation
    "norms": (lambda x, w, b: (F.batch_norm(x, None, None, w, b, training=True),
                               F.layer_norm(x, (7, 7)), F.group_norm(x, 3)),
              [IMAGES, (3,), (3,)]),
    "normalize": (lambda a: F.normalize(a, dim=1), [X]),
}


def _index_put(a, b):
    c = a.clone()
    c[1] = b
    c[:, 0] = 3.0
    return c


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_on_the_device_gives_the_cpu_values_and_gradients(name, device):
    fn, shapes = OPS[name]
    _agree(fn, [_draw(shape, seed) for seed, shape in enumerate(shapes)], device)


LOSS_INPUT, CLASSES = (6, 5), np.array([0, 4, 2, 2, 1, 3])
LOSSES = {
    "cross_entropy": lambda x, t: F.cross_entropy(x, t),
    "cross_entropy_options": lambda x, t: F.cross_entropy(
        x, t, weight=lemmata.linspace(0.5, 1.5, 5, dtype=lemmata.float64, device=x.device),
        ignore_index=2, label_smoothing=0.1),
    "cross_entropy_none": lambda x, t: F.cross_entropy(x, t, reduction="none"),
    "nll_loss": lambda x, t: F.nll_loss(F.log_softmax(x, 1), t, reduction="sum"),
    "mse_l1_huber": lambda x, t: (F.mse_loss(x, x.tanh()) + F.l1_loss(x, x * 0.5)
                                  + F.smooth_l1_loss(x, x.sin()) + F.huber_loss(x, -x)),
    "binary": lambda x, t: (F.binary_cross_entropy(x.sigmoid(), (x > 0).to(x.dtype))
                            + F.binary_cross_entropy_with_logits(x, x.sigmoid())),
    "kl_div": lambda x, t: F.kl_div(F.log_softmax(x, 1), F.softmax(x * 2, 1),
                                    reduction="batchmean"),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_on_the_device_gives_the_cpu_values_and_gradients(name, device):
    x = _draw(LOSS_INPUT, 3)
    cpu_x = lemmata.tensor(x, requires_grad=True)
    dev_x = lemmata.tensor(x, device=device, requires_grad=True)
    expected = LOSSES[name](cpu_x, lemmata.tensor(CLASSES))
    got = LOSSES[name](dev_x, lemmata.tensor(CLASSES, device=device))
    assert got.device == device
    np.testing.assert_allclose(_host(got), _host(expected), rtol=1e-12)
    expected.sum().backward()
    got.sum().backward()
    assert dev_x.grad.device == device
    np.testing.assert_allclose(_host(dev_x.grad), _host(cpu_x.grad), rtol=1e-10, atol=1e-14)


def _train(model, x, y, optimizer, steps=2):
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return loss


@pytest.mark.parametrize("model, shape", [("LeNet5", (4, 1, 28, 28)), ("Net", (2, 3, 32, 32)),
                                          ("NiN", (2, 3, 32, 32))])
def test_training_steps_on_the_device_match_the_cpu(model, shape, device):
    """The benchmark models (seeds 000 and 002, LeNet-5), two SGD-with-momentum steps each,
    dropout on: the same losses and parameters as on the CPU (the dropout masks come from the
    one host generator on either device)."""
    from lemmata import models
    lemmata.manual_seed(0)
    x, y = lemmata.randn(*shape, dtype=lemmata.float64), lemmata.randint(0, 10, (shape[0],))
    results = []
    for where in ("cpu", device):
        lemmata.manual_seed(1)
        net = getattr(models, model)().double().to(where)
        optimizer = lemmata.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        lemmata.manual_seed(2)
        loss = _train(net, x.to(where), y.to(where), optimizer)
        assert loss.device == where and all(p.device == where for p in net.parameters())
        results.append((loss.item(), [_host(p) for p in net.parameters()]))
    (loss_cpu, params_cpu), (loss_dev, params_dev) = results
    assert loss_dev == pytest.approx(loss_cpu, rel=1e-10)
    for a, b in zip(params_cpu, params_dev):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda ps: lemmata.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: lemmata.optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: lemmata.optim.AdamW(ps, lr=0.01),
    lambda ps: lemmata.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: lemmata.optim.Adagrad(ps, lr=0.1),
], ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_optimizers_update_device_parameters_as_on_the_cpu(make, device):
    x, y = _draw((8, 4), 1), _draw((8, 2), 2)
    finals = []
    for where in ("cpu", device):
        lemmata.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).double().to(where)
        optimizer = make(model.parameters())
        for _ in range(3):
            optimizer.zero_grad()
            F.mse_loss(model(lemmata.tensor(x, device=where)),
                       lemmata.tensor(y, device=where)).backward()
            optimizer.step()
        states = [v for s in optimizer.state.values() for v in s.values()
                  if isinstance(v, lemmata.Tensor) and v.ndim]
        assert all(v.device == where for v in states)
        finals.append([_host(p) for p in model.parameters()])
    for a, b in zip(*finals):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def test_gradient_clipping_on_the_device_matches_the_cpu(device):
    results = []
    for where in ("cpu", device):
        lemmata.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).double().to(where)
        F.mse_loss(model(lemmata.tensor(_draw((8, 4), 1), device=where)),
                   lemmata.tensor(_draw((8, 2), 2), device=where)).backward()
        total = nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        nn.utils.clip_grad_value_(model.parameters(), 0.02)
        assert total.device == where
        results.append((_host(total), [_host(p.grad) for p in model.parameters()]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def test_factories_and_moves(device):
    x = lemmata.arange(6, dtype=lemmata.float32, device=device).reshape(2, 3)
    assert x.device == device and x.is_cuda and str(x.device) == "cuda:0"
    assert x.device == lemmata.device("cuda", 0) and x.device != "cpu"
    for made in (lemmata.zeros(2, device=device), lemmata.ones(2, device=device),
                 lemmata.full((2,), 3.0, device=device), lemmata.eye(2, device=device),
                 lemmata.randn(2, device=device), lemmata.rand(2, device=device),
                 lemmata.randint(0, 5, (2,), device=device), lemmata.randperm(3, device=device),
                 lemmata.linspace(0, 1, 3, device=device), lemmata.zeros_like(x),
                 lemmata.ones_like(x), lemmata.randn_like(x), lemmata.tensor(x),
                 lemmata.as_tensor([1, 2], device=device), x.cuda(), x.to("cuda:0")):
        assert made.device == device
    assert lemmata.zeros_like(x, device="cpu").device == "cpu"
    host = x.cpu()
    assert host.device == "cpu" and x.cpu() is not x and host.cpu() is host
    np.testing.assert_array_equal(host.numpy(), np.arange(6).reshape(2, 3))
    assert x.to("cuda") is x and x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert x.sum().item() == 15.0 and float(x[1, 2]) == 5.0 and bool(x[0, 1])
    assert "device='cuda:0'" in repr(x)
    with pytest.raises(TypeError, match=r"numpy\(\): can't convert cuda:0 device type tensor "
                                        r"to numpy\. Use Tensor\.cpu\(\)"):
        x.numpy()
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor"):
        np.asarray(x)
    np.testing.assert_array_equal(x.numpy(force=True), host.numpy())
    y = x.to("cuda", lemmata.float64)
    assert y.device == device and y.dtype == np.float64


def test_moving_to_and_from_the_device_is_differentiable(device):
    a = lemmata.tensor([1.0, -2.0, 3.0], requires_grad=True)
    b = (a.to(device) * 2).sin().cpu()
    b.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.cos(2 * a.detach().numpy()))
    assert a.grad.device == "cpu"


def test_modules_move_with_their_parameters_buffers_and_gradients(device):
    bn = nn.BatchNorm2d(4)
    conv = nn.Conv2d(3, 4, 3, device=device)
    assert all(p.device == device for p in conv.parameters())
    bn.cuda()
    assert all(t.device == device for t in list(bn.parameters()) + list(bn.buffers()))
    assert bn.num_batches_tracked.dtype == np.int64
    out = bn(conv(lemmata.randn(2, 3, 5, 5, device=device)))
    out.sum().backward()
    assert conv.weight.grad.device == device
    conv.cpu()
    assert conv.weight.device == "cpu" and conv.weight.grad.device == "cpu"
    assert nn.Linear(2, 3, device=device).weight.device == device
    assert nn.LayerNorm(4, device=device).weight.device == device


def test_mixing_devices_is_refused_with_both_named(device):
    a, b = lemmata.ones(3, device=device), lemmata.ones(3)
    with pytest.raises(RuntimeError, match="add: expected all tensors to be on the same device, "
                                           "but found at least two devices, cuda:0 and cpu"):
        a + b
    with pytest.raises(RuntimeError, match="matmul: expected all tensors.*cpu and cuda:0"):
        b @ a
    with pytest.raises(RuntimeError, match="cross_entropy: expected input and target on the "
                                           "same device, got cuda:0 and cpu"):
        F.cross_entropy(lemmata.ones(2, 3, device=device), lemmata.tensor([0, 1]))
    model = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="linear: expected all tensors.*cuda:0 and cpu"):
        model(a)
    with pytest.raises(RuntimeError, match="DataParallelStep: splits a batch over CPU threads "
                                           "or processes, but the model's parameters are on "
                                           "cuda:0"):
        lemmata.parallel.DataParallelStep(model.to(device), F.mse_loss, None)
    # a 0-d CPU tensor goes along, like a number (as in PyTorch)
    assert (a * lemmata.tensor(2.0)).device == device


def test_checkpoints_of_device_models_load_back_onto_a_device(device, tmp_path):
    model = nn.Linear(3, 2).to(device)
    optimizer = lemmata.optim.Adam(model.parameters())
    model(lemmata.ones(1, 3, device=device)).sum().backward()
    optimizer.step()
    lemmata.io.save_checkpoint(tmp_path / "c.safetensors", model, optimizer)
    lemmata.save(model.state_dict(), tmp_path / "s.safetensors")
    state = lemmata.load(tmp_path / "s.safetensors", map_location=device)
    assert all(t.device == device for t in state.values())
    assert all(t.device == "cpu" for t in lemmata.load(tmp_path / "s.safetensors").values())
    lemmata.save({"optimizer": optimizer.state_dict(), "epoch": 1}, tmp_path / "o.safetensors")
    bundle = lemmata.load(tmp_path / "o.safetensors", map_location=device)
    assert bundle["epoch"] == 1 and all(
        v.device == device for s in bundle["optimizer"]["state"].values()
        for k, v in s.items() if isinstance(v, lemmata.Tensor) and v.ndim)
    fresh = nn.Linear(3, 2).to(device)
    fresh_optimizer = lemmata.optim.Adam(fresh.parameters())
    lemmata.io.load_checkpoint(tmp_path / "c.safetensors", fresh, fresh_optimizer)
    for p, q in zip(model.parameters(), fresh.parameters()):
        assert q.device == device
        np.testing.assert_array_equal(_host(p), _host(q))
    assert all(v.device == device for s in fresh_optimizer.state.values()
               for k, v in s.items() if k != "step")


def test_set_backend_makes_cuda_the_default_device(device):
    try:
        lemmata.set_backend("cupy")
        assert lemmata.get_backend() == "cupy"
        assert lemmata.zeros(2).device == device and nn.Linear(2, 2).weight.device == device
    finally:
        lemmata.set_backend("numpy")
    assert lemmata.zeros(2).device == "cpu"
    with pytest.raises(ValueError, match="set_backend: unknown backend 'jax'; expected one of "
                                         "numpy, cupy"):
        lemmata.set_backend("jax")


def test_without_cupy_the_cuda_device_says_what_is_missing(monkeypatch):
    def missing():
        raise RuntimeError("device 'cuda' needs CuPy, which is not installed")
    backend._forget_loaded()
    monkeypatch.setitem(backend._LOADERS, "cuda", missing)
    assert not lemmata.cuda.is_available()
    with pytest.raises(RuntimeError, match="zeros: device 'cuda' needs CuPy"):
        lemmata.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="to: device 'cuda' needs CuPy"):
        lemmata.ones(2).cuda()
    with pytest.raises(RuntimeError, match="needs CuPy"):
        lemmata.set_backend("cupy")
    assert lemmata.get_backend() == "numpy"
    backend._forget_loaded()


def test_device_names():
    assert str(lemmata.device("cuda:1")) == "cuda:1" and lemmata.device("cuda").index == 0
    assert lemmata.device("cpu") == "cpu" and repr(lemmata.device("cpu")) == "device(type='cpu')"
    assert lemmata.device(lemmata.device("cuda", 1)) == "cuda:1"
    with pytest.raises(RuntimeError, match="device: expected one of cpu, cuda .*got 'gpu'"):
        lemmata.device("gpu")
    with pytest.raises(RuntimeError, match="device: index given twice"):
        lemmata.device("cuda:0", 1)
    with pytest.raises(RuntimeError, match="the CPU has no index 1"):
        lemmata.device("cpu:1")
    with pytest.raises(TypeError, match="device: expected a string"):
        lemmata.device(3)


def test_grad_and_vjp_run_on_the_device_and_host_built_transforms_say_so(device):
    x = lemmata.tensor([0.5, -1.0, 2.0], dtype=lemmata.float64, device=device)
    g = lemmata.func.grad(lambda t: (t ** 3).sum())(x)
    assert g.device == device
    np.testing.assert_allclose(_host(g), 3 * _host(x) ** 2)
    _, pullback = lemmata.func.vjp(lambda t: t.sin(), x)
    v, = pullback(lemmata.ones(3, dtype=lemmata.float64, device=device))
    assert v.device == device
    np.testing.assert_allclose(_host(v), np.cos(_host(x)))
    # the complex-step transforms assemble their results on the host
    with pytest.raises(TypeError, match=r"numpy\(\): can't convert cuda:0 device type tensor to "
                                        r"numpy\. Use Tensor\.cpu\(\)"):
        lemmata.func.hvp(lambda t: (t ** 3).sum(), x, x)
