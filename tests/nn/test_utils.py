"""nn.utils: gradient clipping and flat parameter vectors against torch.nn.utils (the scaled
gradients and the returned norm, every norm type, parameters without gradients, non-finite
norms), and clear errors for bad arguments."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lemmata
from lemmata import nn

SHAPES = [(3, 4), (5,), (2, 1, 3), (1,)]


def _pairs(dtype="float32", seed=0, without_grad=(3,)):
    """The same parameters in both frameworks, with gradients from the same loss (the ones in
    ``without_grad`` get none)."""
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [lemmata.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    for params in (ours, theirs):
        loss = sum(((p ** 3) * (i + 1)).sum() for i, p in enumerate(params)
                   if i not in without_grad)
        loss.backward()
    return ours, theirs


def _grads(params):
    return [None if p.grad is None else p.grad.numpy().copy() for p in params]


def _assert_same_grads(ours, theirs, rtol):
    for a, b in zip(_grads(ours), _grads(theirs)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-6), ("float64", 1e-14)])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf", -math.inf, 0])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(dtype, rtol, norm_type, max_norm):
    ours, theirs = _pairs(dtype)
    got = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert got.ndim == 0 and str(got.dtype).endswith(dtype)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=rtol)
    _assert_same_grads(ours, theirs, rtol)


def test_clip_grad_norm_keeps_the_direction_and_caps_the_norm():
    ours, _ = _pairs("float64")
    before = _grads(ours)
    total = nn.utils.clip_grad_norm_(iter(ours), max_norm=2.0)      # a generator is fine
    after = _grads(ours)
    flat_before = np.concatenate([g.ravel() for g in before if g is not None])
    flat_after = np.concatenate([g.ravel() for g in after if g is not None])
    assert total.item() == pytest.approx(np.linalg.norm(flat_before), rel=1e-14)
    assert np.linalg.norm(flat_after) == pytest.approx(2.0, rel=1e-6)
    np.testing.assert_allclose(flat_after * total.item() / 2.0, flat_before, rtol=1e-5)


def test_clip_grad_norm_single_tensor_no_gradients_and_nonfinite_norms():
    ours, theirs = _pairs("float32")
    got = nn.utils.clip_grad_norm_(ours[0], 0.1)
    np.testing.assert_allclose(got.numpy(),
                               torch.nn.utils.clip_grad_norm_(theirs[0], 0.1).numpy(), rtol=1e-6)
    nothing = nn.utils.clip_grad_norm_([lemmata.zeros(2, requires_grad=True)], 1.0)
    assert nothing.item() == 0.0 and nothing.dtype == lemmata.float32
    p = lemmata.tensor([1.0, 2.0], requires_grad=True)
    p.grad = lemmata.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm of order 2.0 of "
                                           r"the gradients is inf"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert p.grad.tolist() == [np.inf, 1.0]                       # unchanged by the refusal
    total = nn.utils.clip_grad_norm_([p], 1.0)
    q = torch.tensor([1.0, 2.0], requires_grad=True)
    q.grad = torch.tensor([np.inf, 1.0])
    expected = torch.nn.utils.clip_grad_norm_([q], 1.0)
    assert total.item() == expected.item() == np.inf
    np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())   # inf·0 = NaN, 1·0 = 0


def test_clip_grad_value_matches_torch():
    ours, theirs = _pairs("float64")
    assert nn.utils.clip_grad_value_(ours, 0.75) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.75)
    _assert_same_grads(ours, theirs, 1e-14)          # the gradients of p³ differ by an ulp
    assert max(np.abs(g).max() for g in _grads(ours) if g is not None) == 0.75


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    vec = nn.utils.parameters_to_vector(model.parameters())
    expected = torch.nn.utils.parameters_to_vector(twin.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(), expected.detach().numpy())
    (vec ** 2).sum().backward()                                     # the vector is differentiable
    for p in model.parameters():
        np.testing.assert_allclose(p.grad.numpy(), 2 * p.detach().numpy(), rtol=1e-6)
    nn.utils.vector_to_parameters(vec.detach() * 3, model.parameters())
    torch.nn.utils.vector_to_parameters(expected.detach() * 3, twin.parameters())
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        assert a.requires_grad


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.utils.clip_grad_norm_(3, 1.0), TypeError,
     r"clip_grad_norm_: parameters must be a Tensor or an iterable of Tensors, got int"),
    (lambda: nn.utils.clip_grad_norm_([lemmata.zeros(1), "w"], 1.0), TypeError,
     r"clip_grad_norm_: parameters must be Tensors, got a str at position 1"),
    (lambda: nn.utils.clip_grad_norm_([lemmata.zeros(1)], "big"), TypeError,
     r"clip_grad_norm_: max_norm must be a number, got str"),
    (lambda: nn.utils.clip_grad_value_([lemmata.zeros(1)], None), TypeError,
     r"clip_grad_value_: clip_value must be a number, got NoneType"),
    (lambda: nn.utils.vector_to_parameters([1.0], [lemmata.zeros(1)]), TypeError,
     r"vector_to_parameters: expected a Tensor, got list"),
    (lambda: nn.utils.vector_to_parameters(lemmata.zeros(3), [lemmata.zeros(2, 2)]),
     RuntimeError, r"vector_to_parameters: vec of shape \(3,\) does not hold the parameters' "
                   r"4 entries"),
    (lambda: nn.utils.parameters_to_vector([]), RuntimeError,
     r"parameters_to_vector: no parameters given"),
])
def test_bad_arguments_name_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_clip_grad_norm_of_gradients_from_one_sum_and_one_addition_matches_torch():
    """x + y hands both the same gradient and a sum's gradient is a broadcast: each parameter's
    gradient is scaled once."""
    results = []
    for m in (lemmata, torch):
        a, b = m.ones(3, requires_grad=True), m.ones(3, requires_grad=True)
        c = m.ones(2, 2, requires_grad=True)
        (((a + b) * m.tensor([1.0, 2.0, 3.0])).sum() + c.sum()).backward()
        total = m.nn.utils.clip_grad_norm_([a, b, c], 1.0)
        results.append([total.item()] + [t.grad.numpy().tolist() for t in (a, b, c)])
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    for ours, theirs in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
