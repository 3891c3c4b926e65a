"""Learning-rate schedules: every epoch's lr (and momentum) equal to PyTorch 2.13.0's, state-dict
round trips, the deprecated closed-form step(epoch), training with a schedule, and errors."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import lemmata
from lemmata import optim
from lemmata.optim import lr_scheduler as S

EPOCHS = 30


def _optimisers(name="SGD", groups=2, **kwargs):
    """A lemmata and a torch optimiser over dummy parameters, with ``groups`` param groups."""
    kwargs = {"lr": 0.1, **kwargs}
    ours = [{"params": [lemmata.tensor(np.ones(2), requires_grad=True)], "lr": 0.1 * (i + 1)}
            for i in range(groups)]
    theirs = [{"params": [torch.ones(2, requires_grad=True)], "lr": 0.1 * (i + 1)}
              for i in range(groups)]
    return getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)


def _schedules():
    return [
        ("StepLR", dict(step_size=7, gamma=0.3)),
        ("MultiStepLR", dict(milestones=[3, 8, 8, 20], gamma=0.5)),
        ("ExponentialLR", dict(gamma=0.93)),
        ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),
        ("CosineAnnealingLR", dict(T_max=7)),
        ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1 + epoch) ** 0.5)),
        ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=6)),
        ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=12)),
        ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.95)),
        ("ConstantLR", dict(factor=0.5, total_iters=4)),
        ("PolynomialLR", dict(total_iters=20, power=2.0)),
    ]


@pytest.mark.parametrize("name,kwargs", _schedules(), ids=[f"{n}-{i}" for i, (n, _) in
                                                              enumerate(_schedules())])
def test_schedule_matches_torch_at_every_epoch(name, kwargs):
    opt_l, opt_t = _optimisers()
    ours, theirs = getattr(S, name)(opt_l, **kwargs), getattr(torch.optim.lr_scheduler, name)(
        opt_t, **kwargs)
    assert ours.get_last_lr() == theirs.get_last_lr()
    for _ in range(EPOCHS):
        opt_l.step()
        opt_t.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()  # bit for bit
        assert [g["lr"] for g in opt_l.param_groups] == [g["lr"] for g in opt_t.param_groups]
    assert ours.last_epoch == theirs.last_epoch == EPOCHS


@pytest.mark.parametrize("name,kwargs", _schedules()[:5] + _schedules()[6:8] + _schedules()[9:],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_closed_form_step_epoch_matches_torch(name, kwargs):
    opt_l, opt_t = _optimisers()
    ours, theirs = getattr(S, name)(opt_l, **kwargs), getattr(torch.optim.lr_scheduler, name)(
        opt_t, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (5, 2, 17, 11, 29):
            ours.step(epoch)
            theirs.step(epoch)
            assert ours.get_last_lr() == theirs.get_last_lr()


def test_step_with_epoch_warns_as_deprecated():
    opt, _ = _optimisers()
    sched = S.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
        sched.step(3)


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_one_cycle_matches_torch_including_momentum(three_phase, anneal_strategy, opt_name):
    extra = {"momentum": 0.9} if opt_name == "SGD" else {}
    opt_l, opt_t = _optimisers(opt_name, **extra)
    kwargs = dict(max_lr=[0.5, 1.0], total_steps=EPOCHS, pct_start=0.25,
                  anneal_strategy=anneal_strategy, three_phase=three_phase)
    ours, theirs = S.OneCycleLR(opt_l, **kwargs), torch.optim.lr_scheduler.OneCycleLR(opt_t,
                                                                                      **kwargs)
    key = "momentum" if opt_name == "SGD" else "betas"
    for _ in range(EPOCHS - 1):
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert [g[key] for g in opt_l.param_groups] == [g[key] for g in opt_t.param_groups]
        opt_l.step()
        opt_t.step()
        ours.step()
        theirs.step()
    with pytest.raises(ValueError, match=r"OneCycleLR: Tried to step 31 times"):
        ours.step()
        ours.step()


def test_one_cycle_from_epochs_and_steps_per_epoch():
    opt_l, opt_t = _optimisers(momentum=0.9)
    ours = S.OneCycleLR(opt_l, max_lr=0.3, epochs=3, steps_per_epoch=4, cycle_momentum=False)
    theirs = torch.optim.lr_scheduler.OneCycleLR(opt_t, max_lr=0.3, epochs=3, steps_per_epoch=4,
                                                 cycle_momentum=False)
    assert ours.total_steps == 12
    for _ in range(11):
        opt_l.step()
        opt_t.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", threshold_mode="abs", threshold=0.1),
                                    dict(patience=2, cooldown=3, factor=0.5, min_lr=[0.02, 0.05]),
                                    dict(mode="min", threshold_mode="abs", patience=0, eps=0.05)])
def test_reduce_on_plateau_matches_torch(kwargs):
    opt_l, opt_t = _optimisers()
    ours = S.ReduceLROnPlateau(opt_l, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_t, **kwargs)
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 8), 0.5 + 0.01 * rng.random(40)])
    for m in metrics:
        opt_l.step()
        opt_t.step()
        ours.step(lemmata.tensor(np.array(m)) if m > 0.7 else m)
        theirs.step(m)
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == (
            theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter)
    assert ours.get_last_lr()[0] < 0.1  # it did reduce


def test_sequential_warmup_then_cosine_matches_torch():
    def build(opt, lib):
        warm = lib.LinearLR(opt, start_factor=0.1, total_iters=5)
        cos = lib.CosineAnnealingLR(opt, T_max=20, eta_min=1e-3)
        return lib.SequentialLR(opt, [warm, cos], milestones=[5])

    opt_l, opt_t = _optimisers()
    ours, theirs = build(opt_l, S), build(opt_t, torch.optim.lr_scheduler)
    assert ours.get_last_lr() == theirs.get_last_lr()
    for _ in range(EPOCHS):
        opt_l.step()
        opt_t.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()


@pytest.mark.parametrize("name,kwargs", [("StepLR", dict(step_size=4, gamma=0.5)),
                                         ("CosineAnnealingLR", dict(T_max=12, eta_min=0.01)),
                                         ("MultiStepLR", dict(milestones=[5, 15])),
                                         ("LinearLR", dict(start_factor=0.2, total_iters=15)),
                                         ("OneCycleLR", dict(max_lr=1.0, total_steps=EPOCHS))])
def test_state_dict_round_trip_mid_schedule(name, kwargs):
    opt, _ = _optimisers(momentum=0.9)
    sched = getattr(S, name)(opt, **kwargs)
    for _ in range(10):
        opt.step()
        sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    expected = []
    for _ in range(EPOCHS - 11):
        opt.step()
        sched.step()
        expected.append(sched.get_last_lr())
    fresh, _ = _optimisers(momentum=0.9)
    fresh_sched = getattr(S, name)(fresh, **kwargs)
    fresh.load_state_dict(saved_opt)
    fresh_sched.load_state_dict(saved_sched)
    got = []
    for _ in range(EPOCHS - 11):
        fresh.step()
        fresh_sched.step()
        got.append(fresh_sched.get_last_lr())
    assert got == expected
    assert "optimizer" not in saved_sched


def test_lambda_state_dict_keeps_callable_objects_state():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt, _ = _optimisers(groups=1)
    sched = S.LambdaLR(opt, Decay())
    sched.lr_lambdas[0].rate = 0.9
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.9}]
    other = S.LambdaLR(_optimisers(groups=1)[0], Decay())
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.9
    assert S.LambdaLR(_optimisers(groups=1)[0], lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


def test_training_with_a_schedule_matches_torch():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    w0 = rng.standard_normal(3)
    wl, wt = lemmata.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(),
                                                                          requires_grad=True)
    opt_l, opt_t = optim.SGD([wl], lr=0.1, momentum=0.9), torch.optim.SGD([wt], lr=0.1,
                                                                         momentum=0.9)
    s_l = S.CosineAnnealingLR(opt_l, T_max=10)
    s_t = torch.optim.lr_scheduler.CosineAnnealingLR(opt_t, T_max=10)
    for _ in range(EPOCHS):
        opt_l.zero_grad()
        ((lemmata.tensor(x) @ wl - lemmata.tensor(y)) ** 2).mean().backward()
        opt_l.step()
        s_l.step()
        opt_t.zero_grad()
        ((torch.tensor(x) @ wt - torch.tensor(y)) ** 2).mean().backward()
        opt_t.step()
        s_t.step()
    np.testing.assert_allclose(wl.detach().numpy(), wt.detach().numpy(), rtol=1e-12)


def test_cosine_value_at_half_period():
    opt, _ = _optimisers(groups=1)
    sched = S.CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    for _ in range(5):
        opt.step()
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi / 2)) / 2,
                                                   rel=1e-14)


@pytest.mark.parametrize("make,error,match", [
    (lambda o: S.StepLR(o, step_size=0), ValueError, r"StepLR: step_size must be a positive "
                                                     r"integer, got 0"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, r"CosineAnnealingLR: T_max must be "
                                                            r"positive, got 0"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, r"LinearLR: Starting multiplicative "
                                                          r"factor .* got 0"),
    (lambda o: S.LinearLR(o, end_factor=1.5), ValueError, r"LinearLR: Ending multiplicative"),
    (lambda o: S.ConstantLR(o, factor=2.0), ValueError, r"ConstantLR: Constant multiplicative"),
    (lambda o: S.LambdaLR(o, [lambda e: 1.0]), ValueError, r"LambdaLR: Expected 2 lr_lambdas, "
                                                           r"but got 1"),
    (lambda o: S.LambdaLR(o, 0.5), TypeError, r"LambdaLR: lr_lambda should be a function"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0), ValueError, r"OneCycleLR: You must define either "
                                                        r"total_steps"),
    (lambda o: S.OneCycleLR(o, max_lr=[1.0], total_steps=5), ValueError,
     r"OneCycleLR: max_lr must have the same length as optimizer.param_groups"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=5, anneal_strategy="exp"), ValueError,
     r"OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', instead got 'exp'"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=1), ValueError,
     r"OneCycleLR: Expected float between 0 and 1 pct_start, but got 1"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, r"ReduceLROnPlateau: Factor "
                                                               r"should be < 1.0, got 1.0"),
    (lambda o: S.ReduceLROnPlateau(o, mode="median"), ValueError, r"ReduceLROnPlateau: mode "
                                                                  r"'median' is unknown"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, r"ReduceLROnPlateau: expected "
                                                                 r"2 min_lrs, got 1"),
    (lambda o: S.StepLR(o, step_size=2, last_epoch=3), KeyError, r"param 'initial_lr' is not "
                                                                 r"specified in param_groups\[0\]"),
    (lambda o: S.StepLR("optimizer", step_size=2), TypeError, r"StepLR: str is not an Optimizer"),
])
def test_bad_arguments_raise_naming_the_scheduler(make, error, match):
    opt, _ = _optimisers()
    with pytest.raises(error, match=match):
        make(opt)


def test_one_cycle_needs_momentum_to_cycle():
    opt = optim.Adagrad([lemmata.tensor(np.ones(2), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=r"OneCycleLR: optimizer Adagrad must support momentum"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10)
