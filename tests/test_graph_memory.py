"""The graph keeps alive only what backward needs: an intermediate tensor that no op saved is
freed as soon as user code drops it, and backward still reaches the ops behind it."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import torch

import lemmata


def test_an_unsaved_intermediate_is_freed_and_backward_still_flows_through_it():
    x = lemmata.tensor(np.linspace(-1, 1, 7), requires_grad=True)
    h = x * 3                     # Mul saves x and the constant 3, not its output
    y = h.relu()                  # ReLU saves its output, not h
    alive = weakref.ref(h)
    del h
    gc.collect()
    assert alive() is None
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.detach().numpy() * (x.detach().numpy() > 0))


def test_a_freed_tensor_used_twice_gets_the_sum_of_both_gradients_once():
    values = np.array([-2.0, -0.5, 0.5, 2.0])
    results = []
    for lib in (lemmata, torch):
        x = lib.tensor(values, requires_grad=True)
        h = x.exp()               # exp saves its output: h stays alive while a user holds it
        u = x * 2
        a, b = u.relu(), u + 1    # u is saved by neither
        del u
        (a * b + h).sum().backward()
        results.append(x.grad.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-15)


def test_an_output_saved_by_its_op_stays_alive_for_backward():
    x = lemmata.tensor([0.5, 1.5], dtype=lemmata.float64, requires_grad=True)
    y = x.exp().sin()             # exp's backward needs exp's output, which only sin holds
    gc.collect()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.exp([0.5, 1.5])) * np.exp([0.5, 1.5]))


def test_a_network_step_frees_pre_activations():
    """Every convolution output behind a ReLU is freed during the forward pass, so it does not
    count towards the memory a training step holds."""
    lemmata.manual_seed(0)
    model = lemmata.nn.Sequential(lemmata.nn.Conv2d(3, 8, 3, padding=1), lemmata.nn.ReLU(),
                                  lemmata.nn.Conv2d(8, 8, 3, padding=1), lemmata.nn.ReLU())
    outputs = []
    model[0].register_forward_hook(lambda m, i, o: outputs.append(weakref.ref(o)))
    loss = model(lemmata.randn(2, 3, 6, 6)).sum()
    gc.collect()
    assert outputs[0]() is None
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_backward_frees_each_saved_activation_once_its_last_use_has_run():
    """As in PyTorch: a layer's activation, saved by the ops that use it, is released during
    backward as soon as those ops' backward has run, not when the whole graph goes.  Checked
    from a hook on the first layer's output, which runs after every later layer's backward."""
    rng = np.random.default_rng(3)
    x = lemmata.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    w1, w2 = (lemmata.tensor(rng.standard_normal((5, 5)), requires_grad=True) for _ in range(2))
    h1 = (x @ w1).relu()          # saved by ReLU (its output) and by the next matmul (input)
    h2 = (h1 @ w2).relu()         # saved likewise, by ReLU and by the product below
    loss = (h2 @ w2).sum()
    alive = {"h2": weakref.ref(h2)}
    seen = []
    h1.register_hook(lambda g: seen.append(alive["h2"]() is None))
    del h2
    loss.backward()
    assert seen == [True]
    expected = torch.tensor(x.detach().numpy(), requires_grad=True)
    t1, t2 = (torch.tensor(w.detach().numpy(), requires_grad=True) for w in (w1, w2))
    ((expected @ t1).relu() @ t2).relu().__matmul__(t2).sum().backward()
    for ours, theirs in ((x, expected), (w1, t1), (w2, t2)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
