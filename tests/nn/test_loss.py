"""Losses: values and gradients against PyTorch 2.13.0, gradient checks (finite differences and
complex step), double backward, stability at extreme logits, modules, and error messages."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st

import lemmata
from checks import check_gradients, check_torch_parity
from lemmata.nn import loss as F

DTYPES = ["float64", "float32"]
REDUCTIONS = ["none", "mean", "sum"]


def lt(a, like):
    """A lemmata tensor of ``a`` in the dtype of the lemmata tensor ``like``."""
    return lemmata.tensor(np.asarray(a), dtype=like.dtype)


def tt(a, like):
    return torch.tensor(np.asarray(a), dtype=like.dtype)


def _rng(seed):
    return np.random.default_rng(seed)


@st.composite
def class_problems(draw, unbatched_allowed=True):
    """Logits of shape (N, C, d1, ...) or (C,) and integer targets, with options."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = _rng(seed)
    c = draw(st.integers(2, 5))
    unbatched = unbatched_allowed and draw(st.booleans()) and draw(st.booleans())
    if unbatched:
        shape, tshape = (c,), ()
    else:
        n = draw(st.integers(1, 4))
        extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        shape, tshape = (n, c) + extra, (n,) + extra
    x = rng.standard_normal(shape) * 3
    y = rng.integers(0, c, size=tshape)
    ignore = draw(st.sampled_from([None, -100, 1]))
    if ignore is not None and y.size > 1:
        flat = y.reshape(-1)
        flat[rng.random(flat.size) < 0.3] = ignore
        flat[0] = 0  # at least one target counts
    ignore_index = -100 if ignore is None else ignore
    weight = rng.random(c) + 0.2 if draw(st.booleans()) else None
    return dict(x=x, y=y, weight=weight, ignore_index=ignore_index,
                reduction=draw(st.sampled_from(REDUCTIONS)),
                label_smoothing=draw(st.sampled_from([0.0, 0.1, 0.7])),
                dtype=draw(st.sampled_from(DTYPES)))


# ---------------------------------------------------------------------------------- cross-entropy
@given(class_problems())
def test_cross_entropy_class_indices_match_torch(p):
    w = p["weight"]

    def ours(x):
        return F.cross_entropy(x, lemmata.tensor(p["y"]), None if w is None else lt(w, x),
                               ignore_index=p["ignore_index"], reduction=p["reduction"],
                               label_smoothing=p["label_smoothing"])

    def theirs(x):
        return TF.cross_entropy(x, torch.tensor(p["y"]), None if w is None else tt(w, x),
                                ignore_index=p["ignore_index"], reduction=p["reduction"],
                                label_smoothing=p["label_smoothing"])

    check_torch_parity(ours, theirs, [p["x"]], p["dtype"])


@given(st.integers(0, 2**31 - 1), st.sampled_from(REDUCTIONS), st.booleans(),
       st.sampled_from([0.0, 0.2]), st.sampled_from(DTYPES), st.booleans())
def test_cross_entropy_probability_targets_match_torch(seed, reduction, weighted, smoothing, dtype,
                                                       spatial):
    rng = _rng(seed)
    shape = (3, 4, 2) if spatial else (3, 4)
    x = rng.standard_normal(shape) * 2
    q = rng.random(shape)
    q /= q.sum(axis=1, keepdims=True)
    w = rng.random(4) + 0.5 if weighted else None

    def ours(x, q):
        return F.cross_entropy(x, q, None if w is None else lt(w, x), reduction=reduction,
                               label_smoothing=smoothing)

    def theirs(x, q):
        return TF.cross_entropy(x, q, None if w is None else tt(w, x), reduction=reduction,
                                label_smoothing=smoothing)

    check_torch_parity(ours, theirs, [x, q], dtype)


@given(class_problems(unbatched_allowed=True))
def test_nll_loss_matches_torch(p):
    w = p["weight"]

    def ours(x):
        return F.nll_loss(x, lemmata.tensor(p["y"]), None if w is None else lt(w, x),
                          ignore_index=p["ignore_index"], reduction=p["reduction"])

    def theirs(x):
        return TF.nll_loss(x, torch.tensor(p["y"]), None if w is None else tt(w, x),
                           ignore_index=p["ignore_index"], reduction=p["reduction"])

    check_torch_parity(ours, theirs, [p["x"]], p["dtype"])


def test_weighted_mean_divides_by_weight_of_kept_targets():
    x = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]))
    w = np.array([1.0, 2.0, 4.0])
    y = np.array([0, 2, 1])
    y_ignored = np.array([0, -100, 1])
    got = F.nll_loss(lemmata.tensor(x), lemmata.tensor(y), lemmata.tensor(w)).item()
    expected = -(1 * x[0, 0] + 4 * x[1, 2] + 2 * x[2, 1]) / (1 + 4 + 2)
    assert got == pytest.approx(expected, rel=1e-15)
    got = F.nll_loss(lemmata.tensor(x), lemmata.tensor(y_ignored), lemmata.tensor(w)).item()
    assert got == pytest.approx(-(1 * x[0, 0] + 2 * x[2, 1]) / 3, rel=1e-15)


# ---------------------------------------------------------------------------------- regression
@st.composite
def regression_problems(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    rng = _rng(seed)
    return dict(x=rng.standard_normal(shape) * 2, y=rng.standard_normal(shape) * 2,
                w=rng.random(shape) + 0.1, weighted=draw(st.booleans()),
                reduction=draw(st.sampled_from(REDUCTIONS)), dtype=draw(st.sampled_from(DTYPES)),
                threshold=draw(st.sampled_from([0.5, 1.0, 2.5])))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@given(p=regression_problems())
def test_weighted_regression_losses_match_torch(name, p):
    extra = {"delta": p["threshold"]} if name == "huber_loss" else {}

    def ours(x, y):
        w = lt(p["w"], x) if p["weighted"] else None
        return getattr(F, name)(x, y, reduction=p["reduction"], weight=w, **extra)

    def theirs(x, y):
        w = tt(p["w"], x) if p["weighted"] else None
        return getattr(TF, name)(x, y, reduction=p["reduction"], weight=w, **extra)

    check_torch_parity(ours, theirs, [p["x"], p["y"]], p["dtype"])


@given(p=regression_problems(), beta=st.sampled_from([0.0, 0.3, 1.0, 3.0]))
def test_smooth_l1_matches_torch(p, beta):
    check_torch_parity(lambda x, y: F.smooth_l1_loss(x, y, reduction=p["reduction"], beta=beta),
                       lambda x, y: TF.smooth_l1_loss(x, y, reduction=p["reduction"], beta=beta),
                       [p["x"], p["y"]], p["dtype"])


def test_regression_broadcast_warns_like_torch():
    x, y = np.arange(3.0).reshape(3, 1), np.array([0.5, 1.0, 4.0])
    with pytest.warns(UserWarning, match=r"mse_loss: Using a target size \(\(3,\)\)"):
        ours = F.mse_loss(lemmata.tensor(x), lemmata.tensor(y)).item()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = TF.mse_loss(torch.tensor(x), torch.tensor(y)).item()
    assert ours == pytest.approx(theirs, rel=1e-15)


# ---------------------------------------------------------------------------------- binary
@given(st.integers(0, 2**31 - 1), st.sampled_from(REDUCTIONS), st.sampled_from([None, "full",
                                                                                 "row"]),
       st.sampled_from(DTYPES))
def test_binary_cross_entropy_matches_torch(seed, reduction, weighting, dtype):
    rng = _rng(seed)
    x = rng.uniform(0.02, 0.98, (4, 3))
    y = rng.random((4, 3))
    w = {None: None, "full": rng.random((4, 3)) + 0.1, "row": rng.random(3) + 0.1}[weighting]

    def ours(x, y):
        return F.binary_cross_entropy(x, y, None if w is None else lt(w, x), reduction=reduction)

    def theirs(x, y):
        return TF.binary_cross_entropy(x, y, None if w is None else tt(w, x), reduction=reduction)

    check_torch_parity(ours, theirs, [x, y], dtype)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = lemmata.tensor(np.array([0.0, 1.0, 0.5, 1e-50]), requires_grad=True)
    y = lemmata.tensor(np.array([1.0, 0.0, 1.0, 1.0]))
    loss = F.binary_cross_entropy(x, y, reduction="none")
    expected = TF.binary_cross_entropy(torch.tensor([0.0, 1.0, 0.5, 1e-50], dtype=torch.float64),
                                       torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=torch.float64),
                                       reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), expected.numpy(), rtol=1e-15)
    assert loss.detach().numpy()[0] == 100.0
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert x.grad.numpy()[0] == 0  # the clamped branch is flat


@given(st.integers(0, 2**31 - 1), st.sampled_from(REDUCTIONS), st.booleans(), st.booleans(),
       st.sampled_from(DTYPES))
def test_bce_with_logits_matches_torch(seed, reduction, weighted, pos_weighted, dtype):
    rng = _rng(seed)
    x = rng.standard_normal((5, 3)) * 4
    y = rng.random((5, 3))
    w = rng.random((5, 1)) + 0.1 if weighted else None
    pw = rng.random(3) * 3 + 0.1 if pos_weighted else None

    def ours(x, y):
        return F.binary_cross_entropy_with_logits(
            x, y, None if w is None else lt(w, x), reduction=reduction,
            pos_weight=None if pw is None else lt(pw, x))

    def theirs(x, y):
        return TF.binary_cross_entropy_with_logits(
            x, y, None if w is None else tt(w, x), reduction=reduction,
            pos_weight=None if pw is None else tt(pw, x))

    check_torch_parity(ours, theirs, [x, y], dtype)


def _softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


@pytest.mark.parametrize("x", [-40.0, -30.0, -5.0, 5.0, 30.0, 40.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
@pytest.mark.parametrize("p", [None, 3.0])
def test_bce_with_logits_keeps_its_digits_for_confident_logits(x, y, p):
    """ℓ = (1 − y)·softplus(x) + p·y·softplus(−x) and its slope (1 − y)·σ(x) − p·y·σ(−x), to
    1e-14 in float64 on both sides: PyTorch's loss for x = −30, y = 0 is 1.3 % off, and its slope
    σ(x) − y for x = 30, y = 1 is 1e-3 off (0 from 36.7 on)."""
    weight = 1.0 if p is None else p
    t = lemmata.tensor([x], dtype=lemmata.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(
        t, lemmata.tensor([y], dtype=lemmata.float64),
        pos_weight=None if p is None else lemmata.tensor([p], dtype=lemmata.float64))
    loss.backward()
    expected = (1 - y) * _softplus(x) + weight * y * _softplus(-x)
    slope = (1 - y) * _sigmoid(x) - weight * y * _sigmoid(-x)
    assert loss.item() == pytest.approx(expected, rel=1e-14, abs=0)
    assert t.grad.item() == pytest.approx(slope, rel=1e-14, abs=0)


@given(st.integers(0, 2**31 - 1), st.sampled_from(REDUCTIONS + ["batchmean"]), st.booleans(),
       st.sampled_from(DTYPES))
def test_kl_div_matches_torch(seed, reduction, log_target, dtype):
    rng = _rng(seed)
    x = np.log(rng.dirichlet(np.ones(4), size=3))
    q = rng.dirichlet(np.ones(4), size=3)
    t = np.log(q) if log_target else q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_torch_parity(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
                           lambda x, t: TF.kl_div(x, t, reduction=reduction,
                                                  log_target=log_target),
                           [x, t], dtype)


def test_kl_div_zero_target_probability_contributes_nothing():
    x = np.log(np.array([[0.5, 0.25, 0.25]]))
    q = np.array([[0.0, 0.5, 0.5]])
    ours = F.kl_div(lemmata.tensor(x), lemmata.tensor(q), reduction="batchmean").item()
    theirs = TF.kl_div(torch.tensor(x), torch.tensor(q), reduction="batchmean").item()
    assert ours == pytest.approx(theirs, rel=1e-15)
    assert ours == pytest.approx(np.log(2), rel=1e-15)  # KL(q‖p) = Σ q log(q/p)


def test_kl_div_mean_warns_like_torch():
    x = lemmata.tensor(np.log([[0.5, 0.5]]))
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, lemmata.tensor([[0.5, 0.5]]))


# ---------------------------------------------------------------------------------- gradient checks
def _gradient_cases():
    rng = _rng(7)
    y = np.array([2, 0, 1])
    w = lemmata.tensor(rng.random(4) + 0.5)
    q = rng.dirichlet(np.ones(4), size=3)
    p = rng.uniform(0.1, 0.9, (3, 4))
    return [
        ("cross_entropy", lambda x: F.cross_entropy(x, lemmata.tensor(y), w, label_smoothing=0.1),
         [rng.standard_normal((3, 4))]),
        ("cross_entropy spatial ignore", lambda x: F.cross_entropy(
            x, lemmata.tensor(np.array([[0, -100], [3, 1]])), reduction="sum"),
         [rng.standard_normal((2, 4, 2))]),
        ("cross_entropy probabilities", lambda x, t: F.cross_entropy(x, t, w, label_smoothing=0.2),
         [rng.standard_normal((3, 4)), q]),
        ("nll_loss", lambda x: F.nll_loss(x, lemmata.tensor(y), w, reduction="none"),
         [rng.standard_normal((3, 4))]),
        ("nll_loss mean, ignored and weighted", lambda x: F.nll_loss(
            x, lemmata.tensor(np.array([2, 1, 0])), w, ignore_index=1),
         [rng.standard_normal((3, 4))]),
        ("nll_loss unbatched sum", lambda x: F.nll_loss(x, lemmata.tensor(2), reduction="sum"),
         [rng.standard_normal(4)]),
        ("mse_loss", lambda x, t: F.mse_loss(x, t), [rng.standard_normal((3, 4)),
                                                     rng.standard_normal((3, 4))]),
        ("l1_loss", lambda x, t: F.l1_loss(x, t, reduction="sum"),
         [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]),
        ("huber_loss", lambda x, t: F.huber_loss(x, t, delta=0.7),
         [rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4))]),
        ("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5, reduction="none"),
         [rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4))]),
        ("binary_cross_entropy", lambda x, t: F.binary_cross_entropy(x, t, reduction="sum"),
         [p, rng.random((3, 4))]),
        ("binary_cross_entropy_with_logits", lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, pos_weight=lemmata.tensor(np.array([0.5, 1.0, 2.0, 3.0]))),
         [rng.standard_normal((3, 4)) * 3, rng.random((3, 4))]),
        ("kl_div", lambda x, t: F.kl_div(x, t, reduction="batchmean"),
         [np.log(rng.dirichlet(np.ones(4), size=3)), q]),
        ("kl_div log_target", lambda x, t: F.kl_div(x, t, reduction="sum", log_target=True),
         [np.log(rng.dirichlet(np.ones(4), size=3)), np.log(q)]),
    ]


@pytest.mark.parametrize("name,f,arrays", _gradient_cases(), ids=[c[0] for c in
                                                                    _gradient_cases()])
def test_gradients_finite_differences_and_complex_step(name, f, arrays):
    check_gradients(f, arrays)


# ---------------------------------------------------------------------------------- double backward
def _hvp(f_ours, f_theirs, x, v):
    """Hessian-vector products ∇(⟨∇f(x), v⟩) from lemmata and from torch."""
    xl = lemmata.tensor(x, requires_grad=True)
    (g,) = lemmata.autograd.grad(f_ours(xl), xl, create_graph=True)
    (g * lemmata.tensor(v)).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(f_theirs(xt), xt, create_graph=True)
    (gt * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_double_backward_matches_torch(smoothing):
    rng = _rng(3)
    x, v = rng.standard_normal((4, 5, 2)), rng.standard_normal((4, 5, 2))
    y = rng.integers(0, 5, (4, 2))
    w = rng.random(5) + 0.5
    _hvp(lambda x: F.cross_entropy(x, lemmata.tensor(y), lemmata.tensor(w),
                                   label_smoothing=smoothing),
         lambda x: TF.cross_entropy(x, torch.tensor(y), torch.tensor(w),
                                    label_smoothing=smoothing), x, v)


def test_cross_entropy_probability_double_backward_matches_torch():
    rng = _rng(4)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    q = rng.dirichlet(np.ones(4), size=3)
    _hvp(lambda x: F.cross_entropy(x, lemmata.tensor(q)),
         lambda x: TF.cross_entropy(x, torch.tensor(q)), x, v)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_double_backward_matches_torch(reduction):
    rng = _rng(5)
    x, y, v = (rng.standard_normal((3, 4)) for _ in range(3))
    _hvp(lambda x: (F.mse_loss(x, lemmata.tensor(y), reduction=reduction) ** 2).sum(),
         lambda x: (TF.mse_loss(x, torch.tensor(y), reduction=reduction) ** 2).sum(), x, v)


# ---------------------------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits_give_finite_losses_and_gradients(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])
    y = np.array([1, 0, 2])
    q = np.array([[0.2, 0.3, 0.5], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    b = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.5, 0.5, 0.0]])
    cases = [
        (lambda x: F.cross_entropy(x, lemmata.tensor(y), label_smoothing=0.1),
         lambda x: TF.cross_entropy(x, torch.tensor(y), label_smoothing=0.1)),
        (lambda x: F.cross_entropy(x, lt(q, x)), lambda x: TF.cross_entropy(x, tt(q, x))),
        (lambda x: F.nll_loss(lemmata.log_softmax(x, 1), lemmata.tensor(y)),
         lambda x: TF.nll_loss(torch.log_softmax(x, 1), torch.tensor(y))),
        (lambda x: F.binary_cross_entropy_with_logits(x, lt(b, x), pos_weight=lt([2., 1, 3], x)),
         lambda x: TF.binary_cross_entropy_with_logits(x, tt(b, x), pos_weight=tt([2., 1, 3], x))),
    ]
    for ours, theirs in cases:
        xl = lemmata.tensor(x.astype(dtype), requires_grad=True)
        loss = ours(xl)
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(xl.grad.numpy()).all()
        check_torch_parity(ours, theirs, [x], dtype)


# ---------------------------------------------------------------------------------- modules
def test_modules_match_functional_forms_and_register_buffers():
    rng = _rng(11)
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    y = lemmata.tensor(np.array([0, 2, 1, 1]))
    w = lemmata.tensor(np.array([1.0, 2.0, 0.5]))
    xl, tl = lemmata.tensor(x), lemmata.tensor(t)
    prob, target01 = lemmata.sigmoid(xl), lemmata.sigmoid(tl)
    pairs = [
        (lemmata.nn.loss.CrossEntropyLoss(w, label_smoothing=0.1, reduction="sum"),
         F.cross_entropy(xl, y, w, label_smoothing=0.1, reduction="sum"), (xl, y)),
        (lemmata.nn.loss.NLLLoss(w, ignore_index=1), F.nll_loss(xl, y, w, ignore_index=1),
         (xl, y)),
        (lemmata.nn.loss.MSELoss(), F.mse_loss(xl, tl), (xl, tl)),
        (lemmata.nn.loss.L1Loss(reduction="none"), F.l1_loss(xl, tl, reduction="none"), (xl, tl)),
        (lemmata.nn.loss.HuberLoss(delta=0.5), F.huber_loss(xl, tl, delta=0.5), (xl, tl)),
        (lemmata.nn.loss.SmoothL1Loss(beta=0.5), F.smooth_l1_loss(xl, tl, beta=0.5), (xl, tl)),
        (lemmata.nn.loss.BCELoss(), F.binary_cross_entropy(prob, target01), (prob, target01)),
        (lemmata.nn.loss.BCEWithLogitsLoss(pos_weight=w),
         F.binary_cross_entropy_with_logits(xl, target01, pos_weight=w), (xl, target01)),
        (lemmata.nn.loss.KLDivLoss(reduction="batchmean", log_target=True),
         F.kl_div(xl, tl, reduction="batchmean", log_target=True), (xl, tl)),
    ]
    for module, expected, args in pairs:
        np.testing.assert_array_equal(module(*args).numpy(), expected.numpy())
    sd = lemmata.nn.loss.CrossEntropyLoss(w).state_dict()
    assert list(sd) == ["weight"] and np.array_equal(sd["weight"].numpy(), w.numpy())
    assert set(lemmata.nn.loss.BCEWithLogitsLoss(pos_weight=w).state_dict()) == {"pos_weight"}


@pytest.mark.parametrize("size_average,reduce", [(None, False), (False, None), (False, True),
                                                 (True, True)])
def test_legacy_size_average_and_reduce_flags(size_average, reduce):
    x, y = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = lemmata.nn.loss.MSELoss(size_average, reduce)(lemmata.tensor(x), lemmata.tensor(y))
        theirs = torch.nn.MSELoss(size_average, reduce)(torch.tensor(x), torch.tensor(y))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_losses_are_reexported_by_nn_and_functional():
    import lemmata.nn.functional as NF
    for name in F.__all__:
        if name[0].islower():
            assert getattr(NF, name) is getattr(F, name)
        elif name != "ClassIndexError":
            assert getattr(lemmata.nn, name) is getattr(F, name)


# ---------------------------------------------------------------------------------- errors
def test_errors_name_the_loss_and_the_values():
    x = lemmata.tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"cross_entropy: Expected input batch_size \(3\) to "
                                         r"match target batch_size \(2\)"):
        F.cross_entropy(x, lemmata.tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match=r"cross_entropy: expected target of shape \(2, 5\)"):
        F.cross_entropy(lemmata.tensor(np.zeros((2, 4, 5))),
                        lemmata.tensor(np.zeros((2, 6), np.int64)))
    with pytest.raises(ValueError, match=r"cross_entropy: Target 5 is out of bounds.*\[0, 4\)"):
        F.cross_entropy(x, lemmata.tensor(np.array([0, 5, 1])))
    with pytest.raises(IndexError, match=r"nll_loss: Target -3 is out of bounds"):
        F.nll_loss(x, lemmata.tensor(np.array([0, -3, 1])))
    with pytest.raises(TypeError, match=r"nll_loss: expected class indices as an integer"):
        F.nll_loss(x, lemmata.tensor(np.array([0.0, 1.0, 2.0])))
    with pytest.raises(ValueError, match=r"cross_entropy: expected class indices .* got a "
                                         r"float64 tensor of shape \(3,\)"):
        F.cross_entropy(x, lemmata.tensor(np.array([0.0, 1.0, 2.0])))
    with pytest.raises(ValueError, match=r"mse_loss: 'avg' is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: 'batchmean' is not a valid value"):
        lemmata.nn.loss.CrossEntropyLoss(reduction="batchmean")
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be between 0.0 "
                                         r"and 1.0, got 1.5"):
        F.cross_entropy(x, lemmata.tensor(np.array([0, 1, 2])), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"nll_loss: weight tensor should be defined either for "
                                         r"all 4 classes .* shape \(3,\)"):
        F.nll_loss(x, lemmata.tensor(np.array([0, 1, 2])), lemmata.tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"mse_loss: target of shape \(3, 5\) does not match "
                                         r"input of shape \(3, 4\)"):
        F.mse_loss(x, lemmata.tensor(np.zeros((3, 5))))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target size \(4,\) must be the "
                                         r"same as input size \(3,\)"):
        F.binary_cross_entropy(lemmata.tensor(np.full(3, 0.5)), lemmata.tensor(np.ones(4)))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should be "
                                         r"between 0 and 1 \(found values in \[0.5, 1.5\]"):
        F.binary_cross_entropy(lemmata.tensor(np.array([0.5, 1.5])), lemmata.tensor(np.ones(2)))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target size"):
        F.binary_cross_entropy_with_logits(x, lemmata.tensor(np.zeros((4, 3))))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(5,\) cannot be broadcast"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=lemmata.tensor(np.ones(5)))
    with pytest.raises(ValueError, match=r"huber_loss: delta must be positive, got 0"):
        F.huber_loss(x, x, delta=0)
    with pytest.raises(ValueError, match=r"smooth_l1_loss: beta must be non-negative, got -1"):
        F.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(ValueError, match=r"mse_loss: Weights and input must have the same size"):
        F.mse_loss(x, x, weight=lemmata.tensor(np.ones(4)))
    with pytest.raises(TypeError, match=r"cross_entropy: input must be a lemmata Tensor, got "
                                        r"ndarray"):
        F.cross_entropy(np.zeros((3, 4)), lemmata.tensor(np.array([0, 1, 2])))
    with pytest.raises(TypeError, match=r"l1_loss: input must be a floating point tensor"):
        F.l1_loss(lemmata.tensor(np.arange(3)), lemmata.tensor(np.arange(3)))
    with pytest.raises(ValueError, match=r"cross_entropy: ignore_index=1 is not supported for "
                                         r"probability"):
        F.cross_entropy(x, x, ignore_index=1)


def test_picked_sum_keeps_ignored_terms_out_and_matches_torch_at_the_edges():
    """The pick-and-reduce op (nll_loss, cross_entropy): an inf pick counts, an ignored row's
    −inf does not, an all-ignored mean is NaN with zero gradients, as in PyTorch."""
    x = np.array([[1.0, -np.inf, 0.5], [0.2, 0.3, 0.1]])
    cases = [(F.nll_loss, TF.nll_loss, x, np.array([1, -100])),
             (F.nll_loss, TF.nll_loss, x[1:], np.array([-100])),
             (F.cross_entropy, TF.cross_entropy, x, np.array([-100, 0]))]
    for ours, theirs, logits, y in cases:
        lx = lemmata.tensor(logits, requires_grad=True)
        tx = torch.tensor(logits, requires_grad=True)
        got, expected = ours(lx, lemmata.tensor(y)), theirs(tx, torch.tensor(y))
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-15)
        got.backward()
        expected.backward()
        np.testing.assert_allclose(lx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=0)


def test_cross_entropy_hessian_matches_torch():
    """Second derivatives through the pick-and-reduce op (its backward is a product with a
    constant, so double backward reaches log_softmax's curvature)."""
    rng = _rng(3)
    x = rng.standard_normal((3, 4))
    y, w = np.array([2, 0, 3]), rng.random(4) + 0.5

    def ours(t):
        return F.cross_entropy(t, lemmata.tensor(y), lemmata.tensor(w))

    def theirs(t):
        return TF.cross_entropy(t, torch.tensor(y), torch.tensor(w))

    got = lemmata.func.hessian(ours, lemmata.tensor(x)).numpy()
    expected = torch.autograd.functional.hessian(theirs, torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["huber_loss", "smooth_l1_loss"])
def test_huber_and_smooth_l1_at_infinite_and_nan_residuals_match_torch(name):
    """An infinite residual gets the linear piece's slope (±δ for huber, ±1 for smooth L1): the
    quadratic piece must not make 0·inf = NaN in the backward pass.  A NaN residual gives NaN."""
    values = [np.inf, -np.inf, np.nan, 0.5, 3.0, -3.0]
    target = [0.0, 1.0, 0.0, 0.0, np.inf, 0.0]
    ours = [lemmata.tensor(np.asarray(v, dtype="float64"), requires_grad=True)
            for v in (values, target)]
    theirs = [torch.tensor(np.asarray(v, dtype="float64"), requires_grad=True)
              for v in (values, target)]
    getattr(F, name)(*ours, reduction="sum").backward()
    getattr(TF, name)(*theirs, reduction="sum").backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    slope = 0.7 if name == "huber_loss" else 1.0
    extra = {"delta": 0.7} if name == "huber_loss" else {}
    x = lemmata.tensor([np.inf, -np.inf], dtype=lemmata.float64, requires_grad=True)
    loss = getattr(F, name)(x, lemmata.zeros(2, dtype=lemmata.float64), reduction="none",
                            **extra)
    loss.sum().backward()
    assert loss.tolist() == [np.inf, np.inf]
    assert x.grad.tolist() == [slope, -slope]
