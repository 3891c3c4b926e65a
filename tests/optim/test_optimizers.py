"""Optimisers: trajectories against PyTorch 2.13.0, state-dict round trips, the seed identities
(ryu22.q1a/b, ryu24.q7, ttic.p1), parameter groups, and error messages."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lemmata
from lemmata import optim
from lemmata.ops import workspace
from lemmata.nn import loss as F

SHAPES = [(4, 6), (6,), (6, 3), (3,)]
STEPS = 25


def _data(dtype="float64"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(dtype)
    y = rng.integers(0, 3, 16)
    return x, y


def _initial(seed=1, dtype="float64"):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * 0.7).astype(dtype) for s in SHAPES]


def _loss_lemmata(params, x, y):
    w1, b1, w2, b2 = params
    h = lemmata.tanh(lemmata.tensor(x) @ w1 + b1)
    return F.cross_entropy(h @ w2 + b2, lemmata.tensor(y)) + 0.1 * (w1 * w1).sum()


def _loss_torch(params, x, y):
    w1, b1, w2, b2 = params
    h = torch.tanh(torch.tensor(x) @ w1 + b1)
    return TF.cross_entropy(h @ w2 + b2, torch.tensor(y)) + 0.1 * (w1 * w1).sum()


def _lemmata_params(arrays):
    return [lemmata.tensor(a.copy(), requires_grad=True) for a in arrays]


def _torch_params(arrays):
    return [torch.tensor(a.copy(), requires_grad=True) for a in arrays]


def _train(opt, params, loss_fn, steps, data, scheduler=None):
    """Run ``steps`` steps; return the parameter arrays after each step."""
    x, y = data
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(params, x, y).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


def _assert_close(ours, theirs, rtol=1e-10):
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            np.testing.assert_allclose(pa, pb, rtol=rtol, atol=rtol * 1e-2,
                                       err_msg=f"parameters differ after step {k + 1}")


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True)),
    ("SGD", dict(lr=0.02, momentum=0.9, maximize=True)),
    ("Adam", dict(lr=0.02)),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6)),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("Adam", dict(lr=0.02, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.02)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.7)),
    ("RMSprop", dict(lr=0.01, momentum=0.7, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.3, eps=1e-6)),
    ("Adagrad", dict(lr=0.05, maximize=True)),
]


def _config_id(config):
    name, kwargs = config
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[_config_id(c) for c in CONFIGS])
def test_trajectory_matches_torch_float64(name, kwargs):
    data = _data()
    ours, theirs = _lemmata_params(_initial()), _torch_params(_initial())
    opt_l = getattr(optim, name)(ours, **kwargs)
    opt_t = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    _assert_close(_train(opt_l, ours, _loss_lemmata, STEPS, data),
                  _train(opt_t, theirs, _loss_torch, STEPS, data))
    state_l, state_t = opt_l.state_dict()["state"], opt_t.state_dict()["state"]
    assert {k: set(v) for k, v in state_l.items()} == {k: set(v) for k, v in state_t.items()}


@pytest.mark.parametrize("name,kwargs", CONFIGS[1::3], ids=[_config_id(c) for c in CONFIGS[1::3]])
def test_trajectory_matches_torch_float32(name, kwargs):
    data = _data("float32")
    ours = _lemmata_params(_initial(dtype="float32"))
    theirs = _torch_params(_initial(dtype="float32"))
    opt_l = getattr(optim, name)(ours, **kwargs)
    opt_t = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    trajectory = _train(opt_l, ours, _loss_lemmata, STEPS, data)
    assert trajectory[-1][0].dtype == np.float32
    _assert_close(trajectory, _train(opt_t, theirs, _loss_torch, STEPS, data), rtol=2e-5)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True,
                                                      weight_decay=0.01)),
                                         ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
                                         ("SGD", dict(lr=0.1, momentum=0.9, maximize=True)),
                                         ("SGD", dict(lr=0.1, weight_decay=0.01))])
@pytest.mark.parametrize("shape", [(40, 37), (300, 257), (70001,)])
def test_sgd_float32_updates_equal_torch_bit_for_bit(name, kwargs, shape, monkeypatch):
    """Given the same float32 gradients, the fused multiply-adds reproduce PyTorch exactly (the
    larger shapes are updated in several cache-sized blocks, of whole updates and, inside them,
    of fma's float64 products; the last block of each is shorter)."""
    monkeypatch.setattr(workspace, "BLOCK_ELEMENTS", 10_000)
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal(shape).astype(np.float32)
    ours, theirs = lemmata.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    opt_l, opt_t = optim.SGD([ours], **kwargs), torch.optim.SGD([theirs], foreach=False, **kwargs)
    for _ in range(STEPS):
        g = rng.standard_normal(w0.shape).astype(np.float32)
        ours.grad, theirs.grad = lemmata.tensor(g), torch.tensor(g)
        opt_l.step()
        opt_t.step()
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


def test_parameter_groups_match_torch():
    data = _data()

    def groups(p):
        return [{"params": [p[0], p[2]], "weight_decay": 0.1},
                {"params": [p[1], p[3]], "lr": 0.05, "momentum": 0.5}]

    ours, theirs = _lemmata_params(_initial()), _torch_params(_initial())
    opt_l = optim.SGD(groups(ours), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(groups(theirs), lr=0.1, momentum=0.9, foreach=False)
    _assert_close(_train(opt_l, ours, _loss_lemmata, STEPS, data),
                  _train(opt_t, theirs, _loss_torch, STEPS, data))
    assert opt_l.param_groups[1]["lr"] == 0.05 and opt_l.param_groups[0]["lr"] == 0.1


def test_add_param_group_later_matches_torch():
    data = _data()
    ours, theirs = _lemmata_params(_initial()), _torch_params(_initial())
    opt_l = optim.Adam(ours[:2], lr=0.02)
    opt_t = torch.optim.Adam(theirs[:2], lr=0.02, foreach=False)
    _train(opt_l, ours, _loss_lemmata, 5, data)
    _train(opt_t, theirs, _loss_torch, 5, data)
    opt_l.add_param_group({"params": ours[2:], "lr": 0.01, "amsgrad": True})
    opt_t.add_param_group({"params": theirs[2:], "lr": 0.01, "amsgrad": True})
    _assert_close(_train(opt_l, ours, _loss_lemmata, 10, data),
                  _train(opt_t, theirs, _loss_torch, 10, data))


# ---------------------------------------------------------------------------------- state dicts
ROUND_TRIP = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, bias_correction=False)),
    ("AdamW", dict(lr=0.02)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("SignSGD", dict(lr=0.01, momentum=0.9)),
]


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP, ids=[_config_id(c) for c in ROUND_TRIP])
def test_state_dict_round_trip_mid_training_continues_identically(name, kwargs):
    data = _data()
    params = _lemmata_params(_initial())
    opt = getattr(optim, name)(params, **kwargs)
    _train(opt, params, _loss_lemmata, 10, data)
    saved_state = opt.state_dict()
    saved_params = [p.detach().numpy().copy() for p in params]
    continued = _train(opt, params, _loss_lemmata, 10, data)

    fresh = _lemmata_params(saved_params)
    fresh_opt = getattr(optim, name)(fresh, **{**kwargs, "lr": 123.0})
    fresh_opt.load_state_dict(saved_state)
    assert fresh_opt.param_groups[0]["lr"] == kwargs["lr"]
    resumed = _train(fresh_opt, fresh, _loss_lemmata, 10, data)
    for a, b in zip(continued, resumed):
        for pa, pb in zip(a, b):
            np.testing.assert_array_equal(pa, pb)


def test_state_dict_has_torch_layout_and_is_a_snapshot():
    data = _data()
    ours, theirs = _lemmata_params(_initial()), _torch_params(_initial())
    opt_l = optim.Adam([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.5}], lr=0.02)
    opt_t = torch.optim.Adam([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.5}],
                             lr=0.02, foreach=False)
    _train(opt_l, ours, _loss_lemmata, 3, data)
    _train(opt_t, theirs, _loss_torch, 3, data)
    sd_l, sd_t = opt_l.state_dict(), opt_t.state_dict()
    assert [g["params"] for g in sd_l["param_groups"]] == [[0, 1], [2, 3]]
    assert [g["params"] for g in sd_l["param_groups"]] == [g["params"] for g in
                                                            sd_t["param_groups"]]
    assert sorted(sd_l["state"]) == sorted(sd_t["state"]) == [0, 1, 2, 3]
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
        assert sd_l["param_groups"][1][key] == sd_t["param_groups"][1][key]
    for i in range(4):
        assert set(sd_l["state"][i]) == set(sd_t["state"][i]) == {"step", "exp_avg", "exp_avg_sq"}
        assert float(sd_l["state"][i]["step"]) == 3.0
        np.testing.assert_allclose(sd_l["state"][i]["exp_avg_sq"].numpy(),
                                   sd_t["state"][i]["exp_avg_sq"].numpy(), rtol=1e-12)
    before = sd_l["state"][0]["exp_avg"].numpy().copy()
    _train(opt_l, ours, _loss_lemmata, 1, data)
    np.testing.assert_array_equal(sd_l["state"][0]["exp_avg"].numpy(), before)


def test_torch_state_dict_loads_into_lemmata_and_continues_like_torch():
    data = _data()
    theirs = _torch_params(_initial())
    opt_t = torch.optim.RMSprop(theirs, lr=0.01, momentum=0.5, centered=True, foreach=False)
    _train(opt_t, theirs, _loss_torch, 8, data)
    ours = _lemmata_params([p.detach().numpy() for p in theirs])
    opt_l = optim.RMSprop(ours, lr=0.01, momentum=0.5, centered=True)
    opt_l.load_state_dict(copy.deepcopy(opt_t.state_dict()))
    assert isinstance(opt_l.state[ours[0]]["square_avg"], lemmata.Tensor)
    _assert_close(_train(opt_l, ours, _loss_lemmata, 10, data),
                  _train(opt_t, theirs, _loss_torch, 10, data))


# ---------------------------------------------------------------------------------- seed identities
def _gradient_stream(seed=3, steps=STEPS, shape=(5, 4), zeros=False):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        g = rng.standard_normal(shape)
        if zeros:
            g[0, 0] = 0.0
        yield g


def _run_on_stream(make_opt, stream, theta0):
    p = lemmata.tensor(theta0.copy(), requires_grad=True)
    opt = make_opt([p])
    out = []
    for g in stream:
        p.grad = lemmata.tensor(g)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rmsprop_is_adam_without_bias_correction(dtype):
    """ryu22.q1a: β1 = 0, β2 = α, same ε: Adam without bias correction is RMSprop, bit for bit."""
    theta0 = np.random.default_rng(0).standard_normal((5, 4)).astype(dtype)
    stream = [g.astype(dtype) for g in _gradient_stream()]
    alpha, eps, lr = 0.9, 1e-3, 0.01
    adam = _run_on_stream(lambda p: optim.Adam(p, lr=lr, betas=(0.0, alpha), eps=eps,
                                               bias_correction=False), stream, theta0)
    rmsprop = _run_on_stream(lambda p: optim.RMSprop(p, lr=lr, alpha=alpha, eps=eps), stream,
                             theta0)
    for a, r in zip(adam, rmsprop):
        np.testing.assert_array_equal(a, r)
    # and it is PyTorch's RMSprop
    p = torch.tensor(theta0.copy(), requires_grad=True)
    opt = torch.optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps, foreach=False)
    for g, a in zip(stream, adam):
        p.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-14 if dtype == "float64"
                                   else 1e-6)


def test_adam_with_bias_correction_differs_from_rmsprop():
    theta0 = np.random.default_rng(0).standard_normal((5, 4))
    stream = list(_gradient_stream())
    adam = _run_on_stream(lambda p: optim.Adam(p, lr=0.01, betas=(0.0, 0.9)), stream, theta0)
    rmsprop = _run_on_stream(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9), stream, theta0)
    assert np.abs(adam[0] - rmsprop[0]).max() > 1e-3


def test_signsgd_is_adam_with_zero_betas_and_eps():
    """ryu22.q1b: β1 = β2 = 0, ε = 0, no bias correction: m/√v = g/|g| = sign(g) (g ≠ 0)."""
    theta0 = np.random.default_rng(1).standard_normal((5, 4))
    stream = list(_gradient_stream(seed=4))
    lr = 2.0 ** -5  # a power of two, so that lr·g/|g| is exactly ±lr
    adam = _run_on_stream(lambda p: optim.Adam(p, lr=lr, betas=(0.0, 0.0), eps=0.0,
                                               bias_correction=False), stream, theta0)
    sign = _run_on_stream(lambda p: optim.SignSGD(p, lr=lr), stream, theta0)
    expected = theta0.copy()
    for a, s, g in zip(adam, sign, stream):
        expected = expected - lr * np.sign(g)
        np.testing.assert_array_equal(s, expected)
        np.testing.assert_array_equal(a, s)
    generic = _run_on_stream(lambda p: optim.Adam(p, lr=0.013, betas=(0.0, 0.0), eps=0.0,
                                                  bias_correction=False), stream, theta0)
    signed = _run_on_stream(lambda p: optim.SignSGD(p, lr=0.013), stream, theta0)
    np.testing.assert_allclose(generic[-1], signed[-1], rtol=1e-14)


def test_signsgd_leaves_zero_gradient_coordinates_alone():
    theta0 = np.ones((5, 4))
    stream = list(_gradient_stream(zeros=True, steps=3))
    out = _run_on_stream(lambda p: optim.SignSGD(p, lr=0.1), stream, theta0)
    assert out[-1][0, 0] == 1.0


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("decoupled", [False, True])
def test_signum_matches_its_update_rule(maximize, decoupled):
    theta0 = np.random.default_rng(2).standard_normal((5, 4))
    stream = list(_gradient_stream(seed=6))
    beta, lr, wd = 0.8, 0.01, 0.1
    out = _run_on_stream(lambda p: optim.SignSGD(p, lr=lr, momentum=beta, weight_decay=wd,
                                                 maximize=maximize,
                                                 decoupled_weight_decay=decoupled),
                         stream, theta0)
    theta, m = theta0.copy(), np.zeros_like(theta0)
    for g, got in zip(stream, out):
        g = -g if maximize else g
        if decoupled:
            theta = theta * (1 - lr * wd)
        else:
            g = g + wd * theta
        m = beta * m + (1 - beta) * g
        theta = theta - lr * np.sign(m)
        np.testing.assert_allclose(got, theta, rtol=1e-14, atol=1e-15)


def test_adam_without_bias_correction_matches_its_update_rule():
    theta0 = np.random.default_rng(3).standard_normal((5, 4))
    stream = list(_gradient_stream(seed=7))
    (b1, b2), lr, eps = (0.8, 0.95), 0.01, 1e-4
    out = _run_on_stream(lambda p: optim.Adam(p, lr=lr, betas=(b1, b2), eps=eps,
                                              bias_correction=False), stream, theta0)
    theta, m, v = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
    for g, got in zip(stream, out):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(got, theta, rtol=1e-13)


def test_beta1_as_a_backward_window_average():
    """ttic.p1: with β1 = 1 − 1/k the new gradient gets weight 1/k, as in a k-step window mean."""
    k = 8
    p = lemmata.tensor(np.zeros(3), requires_grad=True)
    opt = optim.Adam([p], lr=0.1, betas=(1 - 1 / k, 0.999))
    g = np.array([1.0, -2.0, 4.0])
    p.grad = lemmata.tensor(g)
    opt.step()
    np.testing.assert_allclose(opt.state[p]["exp_avg"].numpy(), g / k, rtol=1e-15)
    for _ in range(400):  # a constant gradient: the average converges to it
        opt.step()
    np.testing.assert_allclose(opt.state[p]["exp_avg"].numpy(), g, rtol=1e-12)


def test_weight_decay_equals_l2_without_momentum():
    """ryu24.q7: without momentum, decoupled weight decay θ ← θ − ηλθ is the ℓ2 penalty."""
    theta0 = np.random.default_rng(4).standard_normal((5, 4))
    stream = list(_gradient_stream(seed=8))
    coupled = _run_on_stream(lambda p: optim.SGD(p, lr=0.1, weight_decay=0.2), stream, theta0)
    decoupled = _run_on_stream(lambda p: optim.SGD(p, lr=0.1, weight_decay=0.2,
                                                   decoupled_weight_decay=True), stream, theta0)
    np.testing.assert_allclose(coupled[-1], decoupled[-1], rtol=1e-13)


def test_weight_decay_differs_from_l2_under_momentum():
    """ryu24.q7: with momentum β and zero gradients, weight decay gives θᵏ = (1 − μ)ᵏθ⁰ while the
    ℓ2 penalty gives θ² = ((1 − αλ)² − αβλ)θ⁰, never a geometric sequence."""
    alpha, beta, lam = 0.1, 0.9, 0.5
    mu = alpha * lam
    theta0 = np.random.default_rng(5).standard_normal((5, 4))
    zeros = [np.zeros((5, 4))] * 6
    decay = _run_on_stream(lambda p: optim.SGD(p, lr=alpha, momentum=beta, weight_decay=lam,
                                               decoupled_weight_decay=True), zeros, theta0)
    l2 = _run_on_stream(lambda p: optim.SGD(p, lr=alpha, momentum=beta, weight_decay=lam), zeros,
                        theta0)
    for k, theta in enumerate(decay, start=1):
        np.testing.assert_allclose(theta, (1 - mu) ** k * theta0, rtol=1e-14)
    np.testing.assert_allclose(l2[0], (1 - alpha * lam) * theta0, rtol=1e-14)
    np.testing.assert_allclose(l2[1], ((1 - alpha * lam) ** 2 - alpha * beta * lam) * theta0,
                               rtol=1e-14)
    assert np.abs(l2[1] - decay[1]).max() > 1e-3
    # with real gradients the two keep differing
    stream = list(_gradient_stream(seed=9))
    decay = _run_on_stream(lambda p: optim.SGD(p, lr=alpha, momentum=beta, weight_decay=lam,
                                               decoupled_weight_decay=True), stream, theta0)
    l2 = _run_on_stream(lambda p: optim.SGD(p, lr=alpha, momentum=beta, weight_decay=lam), stream,
                        theta0)
    assert np.abs(l2[-1] - decay[-1]).max() > 1e-2


def test_decoupled_sgd_matches_torch_primitives():
    """Our decoupled SGD = PyTorch's: θ.mul_(1 − ηλ) followed by torch.optim.SGD without decay."""
    data = _data()
    ours, theirs = _lemmata_params(_initial()), _torch_params(_initial())
    kwargs = dict(lr=0.05, momentum=0.9, nesterov=True)
    opt_l = optim.SGD(ours, weight_decay=0.3, decoupled_weight_decay=True, **kwargs)
    opt_t = torch.optim.SGD(theirs, foreach=False, **kwargs)
    x, y = data
    for _ in range(STEPS):
        opt_l.zero_grad()
        _loss_lemmata(ours, x, y).backward()
        opt_l.step()
        opt_t.zero_grad()
        _loss_torch(theirs, x, y).backward()
        with torch.no_grad():
            for p in theirs:
                p.mul_(1 - 0.05 * 0.3)
        opt_t.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10)


# ---------------------------------------------------------------------------------- mechanics
def test_zero_grad_and_closure():
    p = lemmata.tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with lemmata.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_array_equal(p.detach().numpy(), [0.0, 0.0])  # θ − 0.5·2θ
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradient: nothing moves
    np.testing.assert_array_equal(p.detach().numpy(), [0.0, 0.0])


def test_updates_are_in_place_and_outside_the_graph():
    p = lemmata.tensor(np.ones(3), requires_grad=True)
    alias = p.detach()
    opt = optim.Adam([p], lr=0.1)
    p.grad = lemmata.tensor(np.array([1.0, -1.0, 0.5]))
    version = p._version
    opt.step()
    assert p.grad_fn is None and p.is_leaf and p.requires_grad
    np.testing.assert_array_equal(alias.numpy(), p.detach().numpy())
    assert p._version == version + 1
    assert not np.array_equal(alias.numpy(), np.ones(3))


def test_complex_parameters_follow_torch_view_as_real():
    rng = np.random.default_rng(6)
    z0 = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    ours, theirs = lemmata.tensor(z0.copy(), requires_grad=True), torch.tensor(z0.copy(),
                                                                               requires_grad=True)
    opt_l, opt_t = optim.Adam([ours], lr=0.05), torch.optim.Adam([theirs], lr=0.05, foreach=False)
    for _ in range(5):
        g = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
        ours.grad, theirs.grad = lemmata.tensor(g), torch.tensor(g)
        opt_l.step()
        opt_t.step()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-13)


def test_repr_lists_groups():
    opt = optim.SGD([lemmata.tensor(np.ones(2), requires_grad=True)], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text


# ---------------------------------------------------------------------------------- errors
def _p():
    return [lemmata.tensor(np.ones(3), requires_grad=True)]


@pytest.mark.parametrize("make,match", [
    (lambda: optim.SGD(_p(), lr=-0.1), r"SGD: Invalid learning rate: -0.1"),
    (lambda: optim.Adam(_p(), lr=-1), r"Adam: Invalid learning rate: -1"),
    (lambda: optim.AdamW(_p(), lr=-1e-3), r"AdamW: Invalid learning rate: -0.001"),
    (lambda: optim.RMSprop(_p(), lr=-1), r"RMSprop: Invalid learning rate"),
    (lambda: optim.Adagrad(_p(), lr=-1), r"Adagrad: Invalid learning rate"),
    (lambda: optim.SignSGD(_p(), lr=-1), r"SignSGD: Invalid learning rate"),
    (lambda: optim.Adam(_p(), betas=(1.0, 0.999)), r"Adam: Invalid beta parameter at index 0 "
                                                   r"\(β1\) value: 1.0 .*\[0, 1\)"),
    (lambda: optim.Adam(_p(), betas=(0.9, -0.1)), r"Adam: Invalid beta parameter at index 1 "
                                                  r"\(β2\) value: -0.1"),
    (lambda: optim.Adam(_p(), betas=0.9), r"Adam: betas must be a pair"),
    (lambda: optim.Adam(_p(), eps=-1e-8), r"Adam: Invalid epsilon value: -1e-08"),
    (lambda: optim.SGD(_p(), momentum=-0.5), r"SGD: Invalid momentum value: -0.5"),
    (lambda: optim.SGD(_p(), weight_decay=-1), r"SGD: Invalid weight_decay value: -1"),
    (lambda: optim.SGD(_p(), nesterov=True), r"SGD: Nesterov momentum requires a momentum and "
                                             r"zero dampening \(got momentum=0"),
    (lambda: optim.SignSGD(_p(), momentum=1.0), r"SignSGD: Invalid momentum value: 1.0"),
    (lambda: optim.RMSprop(_p(), alpha=-0.5), r"RMSprop: Invalid alpha value: -0.5"),
    (lambda: optim.Adagrad(_p(), lr_decay=-1), r"Adagrad: Invalid lr_decay value: -1"),
    (lambda: optim.SGD([], lr=0.1), r"SGD: optimizer got an empty parameter list"),
    (lambda: optim.SGD(_p()[0], lr=0.1), r"SGD: params argument .* got a Tensor"),
    (lambda: optim.SGD([np.ones(3)], lr=0.1), r"SGD: optimizer can only optimize Tensors, but "
                                              r"parameter 0 is a ndarray"),
    (lambda: optim.SGD(_p(), lr="fast"), r"SGD: lr must be a real number, got 'fast'"),
])
def test_bad_hyper_parameters_raise_naming_the_optimiser(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_parameter_groups_and_state_dicts_raise():
    p = _p()
    opt = optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: some parameters appear in more than one "
                                         r"parameter group"):
        opt.add_param_group({"params": p})
    with pytest.raises(ValueError, match=r"SGD: can't optimize a non-leaf Tensor"):
        optim.SGD([p[0] * 2], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD: parameter 0 has dtype lemmata.int64"):
        optim.SGD([lemmata.tensor(np.arange(3))], lr=0.1)
    two = optim.SGD([{"params": _p()}, {"params": _p()}], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: loaded state dict has 2 parameter groups, the "
                                         r"optimizer has 1"):
        opt.load_state_dict(two.state_dict())
    bigger = optim.SGD(_p() + _p(), lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: loaded state dict contains a parameter group "
                                         r"\(0\) with 2 parameters"):
        opt.load_state_dict(bigger.state_dict())
    other = [lemmata.tensor(np.ones(4), requires_grad=True)]
    src = optim.Adam(other, lr=0.1)
    other[0].grad = lemmata.tensor(np.ones(4))
    src.step()
    with pytest.raises(ValueError, match=r"Adam: state 'exp_avg' of shape \(4,\) does not match "
                                         r"its parameter's shape \(3,\)"):
        optim.Adam(_p(), lr=0.1).load_state_dict(src.state_dict())
    p[0].grad = lemmata.tensor(np.ones(2))
    with pytest.raises(RuntimeError, match=r"SGD: gradient of shape \(2,\) does not match its "
                                           r"parameter's shape \(3,\)"):
        opt.step()


def test_training_an_nn_model_matches_torch():
    """The usual loop, written once for both libraries, on nn.Linear layers and a Loss module."""
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((32, 5)), rng.integers(0, 4, 32)

    def run(lib, make_opt):
        model = lib.nn.Sequential(lib.nn.Linear(5, 8), lib.nn.Tanh(), lib.nn.Linear(8, 4))
        model = model.double()
        with lib.no_grad():
            for p, a in zip(model.parameters(), _nn_initial()):
                p.copy_(lib.tensor(a))
        opt = make_opt(lib, model.parameters())
        criterion = lib.nn.CrossEntropyLoss(label_smoothing=0.05)
        losses = []
        for _ in range(20):
            opt.zero_grad()
            loss = criterion(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    for make in (lambda lib, ps: lib.optim.Adam(ps, lr=0.01, weight_decay=1e-3),
                 lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)):
        ours, theirs = run(lemmata, make), run(torch, make)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
        for a, b in zip(ours[1], theirs[1]):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def _nn_initial():
    rng = np.random.default_rng(9)
    return [rng.standard_normal(s) * 0.4 for s in [(8, 5), (8,), (4, 8), (4,)]]


def test_load_state_dict_accepts_arrays_numbers_and_string_ids():
    """A checkpoint read back from disk: NumPy arrays, a plain-number step, ids as strings."""
    data = _data()
    params = _lemmata_params(_initial())
    opt = optim.Adam(params, lr=0.02)
    _train(opt, params, _loss_lemmata, 4, data)
    sd = opt.state_dict()
    on_disk = {"state": {str(i): {k: (float(v.item()) if k == "step" else v.numpy())
                                  for k, v in s.items()} for i, s in sd["state"].items()},
               "param_groups": [{**g, "betas": list(g["betas"])} for g in sd["param_groups"]]}
    saved = [p.detach().numpy().copy() for p in params]
    expected = _train(opt, params, _loss_lemmata, 3, data)
    fresh = _lemmata_params(saved)
    fresh_opt = optim.Adam(fresh, lr=0.02)
    fresh_opt.load_state_dict(on_disk)
    assert fresh_opt.param_groups[0]["betas"] == (0.9, 0.999)
    for a, b in zip(expected, _train(fresh_opt, fresh, _loss_lemmata, 3, data)):
        for pa, pb in zip(a, b):
            np.testing.assert_array_equal(pa, pb)
