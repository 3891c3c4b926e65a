"""Data parallelism over threads: the parallel step is the serial step, up to rounding."""
from __future__ import annotations

import numpy as np
import pytest

import lemmata
from lemmata import nn, optim
from lemmata.parallel import DataParallelStep, shard_gradients


def small_cnn(dropout: float = 0.0, batch_norm: bool = False) -> nn.Module:
    layers = [nn.Conv2d(2, 4, 3, padding=1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(dropout), nn.Flatten(),
               nn.Linear(4 * 3 * 3, 5)]
    return nn.Sequential(*layers).double()


def batch(n: int = 11, seed: int = 0):
    rng = np.random.default_rng(seed)
    return lemmata.tensor(rng.standard_normal((n, 2, 6, 6))), lemmata.tensor(rng.integers(0, 5, n))


def serial_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


def twins(**kwargs):
    lemmata.manual_seed(1)
    a = small_cnn(**kwargs)
    b = small_cnn(**kwargs)
    b.load_state_dict({k: v.clone() for k, v in a.state_dict().items()})
    return a, b


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_parallel_step_equals_serial_step(threads, reduction):
    """Two SGD-with-momentum steps on 11 images (uneven shards): same loss, gradients and
    parameters as the serial steps, in float64 up to rounding."""
    serial, parallel = twins()
    loss_fn = nn.CrossEntropyLoss(reduction=reduction)
    opt_s = optim.SGD(serial.parameters(), lr=0.1, momentum=0.9)
    opt_p = optim.SGD(parallel.parameters(), lr=0.1, momentum=0.9)
    step = DataParallelStep(parallel, loss_fn, opt_p, threads=threads)
    for seed in (0, 1):
        x, y = batch(seed=seed)
        expected = serial_step(serial, loss_fn, opt_s, x, y)
        got = step(x, y)
        np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-12)
        for p, q in zip(parallel.parameters(), serial.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10,
                                       atol=1e-14)
    step.close()


def test_gradients_leave_grad_untouched_and_match_backward():
    model, _ = twins()
    x, y = batch()
    loss, grads = shard_gradients(model, nn.CrossEntropyLoss(), x, y, threads=2)
    assert all(p.grad is None for p in model.parameters())
    nn.CrossEntropyLoss()(model(x), y).backward()
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_float32_gradients_stay_float32():
    model = small_cnn().float()
    x, y = batch()
    _, grads = shard_gradients(model, nn.CrossEntropyLoss(), x.float(), y, threads=2)
    assert all(g.dtype == np.float32 for g in grads)


def test_dropout_masks_are_reproducible_under_manual_seed():
    """Each shard draws from its own generator, spawned from the global one in shard order:
    the same seed gives the same step whatever the thread scheduling."""
    results = []
    for _ in range(2):
        lemmata.manual_seed(7)
        model = small_cnn(dropout=0.5)
        x, y = batch()
        loss, grads = shard_gradients(model, nn.CrossEntropyLoss(), x, y, threads=3)
        results.append([loss.numpy()] + [g.numpy() for g in grads])
        results[-1].append(lemmata.random.generator().random())   # the global stream moved on
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_dropout_with_fixed_masks_matches_serial(monkeypatch):
    """With the masks fixed (each image's mask a function of the image), the parallel step with
    dropout on is the serial step."""
    from lemmata.nn import functional as F

    def fixed_dropout(input, p=0.5, training=True, inplace=False):
        keep = (np.abs(np.sin(1e3 * input.detach().numpy())) > p)
        return input * lemmata.tensor(keep / (1 - p))

    monkeypatch.setattr(F, "dropout", fixed_dropout)
    serial, parallel = twins(dropout=0.5)
    x, y = batch()
    loss_fn = nn.CrossEntropyLoss()
    expected = serial_step(serial, loss_fn, optim.SGD(serial.parameters(), lr=0.1), x, y)
    got = DataParallelStep(parallel, loss_fn, optim.SGD(parallel.parameters(), lr=0.1))(x, y)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-12)
    for p, q in zip(parallel.parameters(), serial.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10)


def test_batch_norm_in_training_mode_is_refused():
    model = small_cnn(batch_norm=True)
    x, y = batch()
    step = DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="batch statistics"):
        step(x, y)
    model.eval()                                  # running statistics: no batch dependence
    step(x, y)
    model.train()
    single = DataParallelStep(model, nn.CrossEntropyLoss(),
                              optim.SGD(model.parameters(), lr=0.1), threads=1)
    single(x, y)


def test_bad_arguments():
    model = small_cnn()
    x, y = batch()
    with pytest.raises(ValueError, match="threads must be a positive int"):
        DataParallelStep(model, nn.CrossEntropyLoss(), None, threads=0)
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        shard_gradients(model, nn.CrossEntropyLoss(), x, y, reduction="none")
    with pytest.raises(ValueError, match="targets for a batch of 11 inputs"):
        shard_gradients(model, nn.CrossEntropyLoss(), x, y[:5])
    with pytest.raises(ValueError, match="loss must be a scalar"):
        shard_gradients(model, nn.CrossEntropyLoss(reduction="none"), x, y)


def test_flush_denormals_is_per_block_and_restored():
    from lemmata import parallel
    tiny = np.float32(1e-20)
    assert tiny * tiny > 0                                   # a float32 subnormal
    with parallel.flush_denormals():
        flushed = tiny * tiny
    assert tiny * tiny > 0
    if parallel._libm is not None:
        assert flushed == 0
    with pytest.raises(RuntimeError):
        with parallel.flush_denormals():
            raise RuntimeError
    assert tiny * tiny > 0


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
                                  lambda ps: optim.RMSprop(ps, lr=0.01, centered=True)])
def test_optimizer_updates_shared_among_threads_equal_the_serial_step(make):
    """The parallel step shares the per-parameter updates among its threads: given the same
    gradients the parameters and the optimizer state come out bit for bit the same."""
    from concurrent.futures import ThreadPoolExecutor

    from lemmata.parallel import _step_optimizer
    rng = np.random.default_rng(4)
    shapes = [(300, 257), (7,), (64, 3, 3, 3), (), (1000,)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    serial = [lemmata.tensor(a.copy(), requires_grad=True) for a in start]
    shared = [lemmata.tensor(a.copy(), requires_grad=True) for a in start]
    opt_serial, opt_shared = make(serial), make(shared)
    with ThreadPoolExecutor(2) as pool:
        for _ in range(3):
            grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
            for p, q, g in zip(serial, shared, grads):
                p.grad, q.grad = lemmata.tensor(g), lemmata.tensor(g.copy())
            opt_serial.step()
            _step_optimizer(opt_shared, pool, threads=3)
    for p, q in zip(serial, shared):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    for p, q in zip(serial, shared):
        for key, value in opt_serial.state[p].items():
            np.testing.assert_array_equal(np.asarray(value.numpy() if hasattr(value, "numpy")
                                                     else value),
                                          np.asarray(opt_shared.state[q][key].numpy()
                                                     if hasattr(value, "numpy")
                                                     else opt_shared.state[q][key]))


def test_an_optimizer_with_its_own_step_runs_it():
    from concurrent.futures import ThreadPoolExecutor

    from lemmata.parallel import _step_optimizer

    class Halving(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p._data *= 0.5

    w = lemmata.ones(3, requires_grad=True)
    w.grad = lemmata.ones(3)
    with ThreadPoolExecutor(1) as pool:
        _step_optimizer(Halving([w]), pool, threads=2)
    assert w.tolist() == [0.5, 0.5, 0.5]


def test_gradient_sum_in_blocks_equals_the_plain_sum(monkeypatch):
    from lemmata.ops import workspace
    from lemmata.parallel import _sum_into
    monkeypatch.setattr(workspace, "BLOCK_ELEMENTS", 1 << 15)
    rng = np.random.default_rng(5)
    shape = (130, 800)                                      # more than three blocks
    assert np.prod(shape) > 3 * workspace.BLOCK_ELEMENTS
    parts = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    parts[1] = np.asfortranarray(parts[1])                  # a shard's gradient in another layout
    weights = [0.25, 1.0, 0.75]
    out = _sum_into(np.empty(shape, np.float32), parts, weights)
    expected = parts[0] * np.float32(0.25) + parts[1]
    expected += parts[2] * np.float32(0.75)
    np.testing.assert_array_equal(out, expected)


def test_a_parameter_that_no_shard_uses_gets_no_gradient():
    class WithUnused(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.unused = small_cnn(), nn.Linear(2, 2).double()

        def forward(self, x):
            return self.net(x)

    model = WithUnused()
    x, y = batch()
    loss, grads = shard_gradients(model, nn.CrossEntropyLoss(), x, y, threads=2)
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    assert [name for name, g in zip(names, grads) if g is None] == ["unused.weight", "unused.bias"]


def test_the_gil_switch_interval_is_lowered_during_the_step_and_restored():
    import sys

    seen = []

    def loss_fn(output, target):
        seen.append(sys.getswitchinterval())
        return nn.functional.cross_entropy(output, target)

    before = sys.getswitchinterval()
    model = small_cnn()
    x, y = batch()
    with DataParallelStep(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), threads=2,
                          reduction="mean") as step:
        step(x, y)
    assert len(seen) == 2 and all(v <= 0.001 + 1e-12 for v in seen)
    assert sys.getswitchinterval() == before


# ------------------------------------------------------------------------------ factored weights


class TwoUses(nn.Module):
    """A linear layer applied twice, its weight also used outside F.linear, a first layer whose
    input needs no gradient, and a layer whose output the loss never sees."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(72, 6)
        self.twice = nn.Linear(6, 6, bias=False)
        self.head = nn.Linear(6, 5)
        self.ignored = nn.Linear(6, 3)

    def forward(self, x):
        h = self.first(x.flatten(1)).tanh()
        h = self.twice(self.twice(h).tanh())
        self.ignored(h)
        return self.head(h) + (self.twice.weight ** 2).sum()


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("make", [lambda: small_cnn(), lambda: TwoUses().double()])
def test_factored_linear_weights_give_the_serial_gradients(monkeypatch, threads, reduction, make):
    """With every 2-D weight's gradient formed from the whole batch (Gᵀ X after the shards),
    the gradients are the serial step's: for a layer used twice, for a weight also used
    outside F.linear (its autograd part added), for a first layer whose input needs no gradient
    (not factored: nothing would carry the hook) and for a layer whose output is unused (no
    gradient, as serially)."""
    import lemmata.parallel as parallel
    from lemmata.nn.linear_factors import LinearFactors
    monkeypatch.setattr(parallel, "WHOLE_BATCH_ENTRIES", 1)
    recorded = []
    record = LinearFactors.record
    monkeypatch.setattr(LinearFactors, "record",
                        lambda self, x, y: recorded.append(x.shape) or record(self, x, y))
    lemmata.manual_seed(3)
    model = make()
    x, y = batch()
    loss_fn = nn.CrossEntropyLoss(reduction=reduction)
    loss, grads = shard_gradients(model, loss_fn, x, y, threads=threads, reduction=reduction)
    assert recorded                                           # the factored path ran
    expected = loss_fn(model(x), y)
    expected.backward()
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-12)
    for (name, p), g in zip(model.named_parameters(), grads):
        if p.grad is None:
            assert g is None, name
        else:
            np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-14,
                                       err_msg=name)


def test_recorded_factors_multiply_out_to_the_weight_gradient():
    """Inside recording_linear_factors, F.linear leaves W out of the graph and keeps x (a copy,
    so an in-place change after the layer cannot reach it) and ∂L/∂y: (∂L/∂y)ᵀ x is W's
    gradient, for a batched (3-D) input too."""
    import lemmata.nn.functional as F
    from lemmata.nn.linear_factors import recording_linear_factors
    rng = np.random.default_rng(4)
    w = lemmata.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    x = lemmata.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    probe = rng.standard_normal((2, 5, 4))
    with recording_linear_factors([w]) as factors:
        y = F.linear(x, w)
        kept = x.detach().numpy().copy()
        x.data.mul_(2.0)                                      # changed after the layer
        (y * lemmata.tensor(probe)).sum().backward()
    assert w.grad is None and x.grad is not None
    (g, rows), = factors[id(w)].pairs()
    np.testing.assert_array_equal(rows, kept.reshape(-1, 3))
    np.testing.assert_allclose(g.T @ rows, probe.reshape(-1, 4).T @ kept.reshape(-1, 3),
                               rtol=1e-12)
    with recording_linear_factors([w]):
        pass
    assert lemmata.nn.linear_factors.factors_of(w) is None   # only inside the block
