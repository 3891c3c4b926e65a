"""Data parallelism over worker processes: DataParallelStep(backend="processes") gives the
threaded step's results, follows the parent model's state, and fails clearly."""
from __future__ import annotations

import numpy as np
import pytest

import lemmata
from lemmata import nn, optim
from lemmata.parallel import DataParallelStep

from test_parallel import batch, small_cnn


def twin_steps(threads=3, reduction="mean", dropout=0.5, momentum=0.9):
    """A threaded and a process step on two copies of one model."""
    lemmata.manual_seed(3)
    a, b = small_cnn(dropout=dropout), small_cnn(dropout=dropout)
    b.load_state_dict({k: v.clone() for k, v in a.state_dict().items()})
    loss_fn = nn.CrossEntropyLoss(reduction=reduction)
    threaded = DataParallelStep(a, loss_fn, optim.SGD(a.parameters(), lr=0.1, momentum=momentum),
                                threads=threads)
    processes = DataParallelStep(b, loss_fn, optim.SGD(b.parameters(), lr=0.1,
                                                        momentum=momentum),
                                 threads=threads, backend="processes")
    return (a, threaded), (b, processes)


def same_step(pair, x, y):
    """Run both steps from the same global seed: the same losses, gradients and parameters, to
    the last bit (the same shards, seeds and one-thread BLAS, only in other processes)."""
    losses = []
    for model, step in pair:
        lemmata.manual_seed(11)
        losses.append(step(x, y).numpy())
    np.testing.assert_array_equal(losses[0], losses[1])
    (a, _), (b, _) = pair
    for p, q in zip(a.parameters(), b.parameters()):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_processes_give_the_threaded_step(reduction):
    """Three shards (two worker processes) with dropout on, uneven shards, two SGD steps with
    momentum: the same dropout masks (the same per-shard seeds), losses, gradients and
    parameters as threads, so the workers see each step's updated weights."""
    pair = twin_steps(reduction=reduction)
    try:
        for seed in (0, 1):
            same_step(pair, *batch(seed=seed))
    finally:
        for _, step in pair:
            step.close()


def test_workers_follow_the_parents_modes_flags_and_weights():
    """eval() (dropout off), a frozen parameter and an in-place change of a weight, all made in
    the parent between steps, hold in the workers."""
    pair = twin_steps()
    x, y = batch()
    try:
        same_step(pair, x, y)
        for model, _ in pair:
            model.eval()
            model[0].bias.requires_grad_(False)
            with lemmata.no_grad():
                model[0].weight.mul_(0.5)
        same_step(pair, x, y)
        (_, _), (b, _) = pair
        assert b[0].bias.grad is not None        # the first step's, left alone
        for model, _ in pair:
            model.train()
        same_step(pair, x, y)
    finally:
        for _, step in pair:
            step.close()


def test_gradients_do_not_change_under_the_user_after_the_step():
    """A gradient that is one worker's alone (its parameter is used by that shard only) is
    copied out of the shared block, which the next step overwrites."""
    model = small_cnn()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    with DataParallelStep(model, loss_fn, optim.SGD(model.parameters(), lr=0.0), threads=2,
                          backend="processes") as step:
        x, y = batch(seed=0)
        step(x, y)
        kept = [p.grad.numpy().copy() for p in model.parameters()]
        grads = [p.grad for p in model.parameters()]
        step(*batch(seed=1))
        for g, before in zip(grads, kept):
            np.testing.assert_array_equal(g.numpy(), before)


def test_a_worker_error_is_raised_in_the_parent_and_the_step_goes_on():
    """A label out of range in the second shard fails in the worker: the parent raises the same
    error, noting the shard; the next good batch still steps."""
    model = small_cnn()
    x, y = batch()
    bad = y.numpy().copy()
    bad[-1] = 9                                     # 5 classes
    serial_error = None
    try:
        nn.CrossEntropyLoss()(model(x), lemmata.tensor(bad))
    except Exception as error:                      # the serial step's error, for its type
        serial_error = error
    assert serial_error is not None
    with DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                          threads=2, backend="processes") as step:
        with pytest.raises(type(serial_error)) as raised:
            step(x, lemmata.tensor(bad))
        assert "samples 6:11 failed in its worker" in "".join(raised.value.__notes__)
        bad[-1], bad[0] = 0, 9                      # now the parent's own shard fails
        with pytest.raises(type(serial_error)):
            step(x, lemmata.tensor(bad))
        assert np.isfinite(step(x, y).item())


def test_bad_uses_fail_clearly():
    model = small_cnn()
    x, y = batch()
    with pytest.raises(ValueError, match="backend must be one of"):
        DataParallelStep(model, nn.CrossEntropyLoss(), None, backend="gpu")
    with pytest.raises(TypeError, match="pickling them failed"):
        DataParallelStep(model, lambda out, target: nn.functional.cross_entropy(out, target),
                         None, backend="processes")
    step = DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                            threads=2, backend="processes")
    model[1] = nn.Tanh()                            # another module, no parameters
    with pytest.raises(ValueError, match="modules changed since the step was made"):
        step(x, y)
    model[1] = nn.ReLU()
    step(x, y)
    model[-1].weight = nn.Parameter(lemmata.zeros(7, 4 * 3 * 3, dtype=lemmata.float64))
    with pytest.raises(ValueError, match="parameters and buffers changed"):
        step(x, y)
    step.close()
    step.close()                                    # idempotent
    with pytest.raises(RuntimeError, match="the step is closed"):
        step(x, y)
    assert "backend='processes'" in repr(step)


def test_one_shard_runs_here():
    """A batch of one sample makes one shard, computed in the parent: no worker is asked."""
    model = small_cnn()
    x, y = batch(n=1)
    with DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                          threads=2, backend="processes") as step:
        assert np.isfinite(step(x, y).item())


def test_a_dead_worker_is_reported():
    model = small_cnn()
    x, y = batch()
    step = DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                            threads=2, backend="processes")
    step._workers._processes[0].kill()
    step._workers._processes[0].join()
    with pytest.raises(RuntimeError, match="worker process"):
        step(x, y)
    step.close()


def test_unpicklable_targets_fail_before_anything_is_sent():
    """Targets whose shard cannot be pickled raise a TypeError naming the samples; nothing was
    sent, so the step still works."""
    import threading

    class Targets:
        """Labels whose slices carry a lock (which cannot be pickled)."""

        def __init__(self, labels):
            self.labels, self.lock = labels, threading.Lock()

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, index):
            return Targets(self.labels[index])

    model = small_cnn()
    x, y = batch()
    with DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                          threads=2, backend="processes") as step:
        with pytest.raises(TypeError, match="targets of samples 6:11"):
            step(x, Targets(y))
        assert np.isfinite(step(x, y).item())


def test_the_model_and_loss_function_are_those_the_workers_hold():
    """The workers hold the model and loss function given at construction: another one set on
    the step afterwards is refused, not silently ignored."""
    model = small_cnn()
    x, y = batch()
    with DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                          threads=2, backend="processes") as step:
        step.loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
        with pytest.raises(ValueError, match="loss function"):
            step(x, y)


def test_a_model_the_workers_cannot_rebuild_fails_at_construction(monkeypatch):
    """A class that pickles here but that a fresh interpreter cannot import (here: a module that
    exists only in this process) fails when the step is made, with the worker's traceback."""
    import sys
    import types

    phantom = types.ModuleType("phantom_layers")

    class Phantom(nn.Module):
        def forward(self, x):
            return x

    Phantom.__module__, Phantom.__qualname__ = "phantom_layers", "Phantom"
    phantom.Phantom = Phantom
    monkeypatch.setitem(sys.modules, "phantom_layers", phantom)
    model = nn.Sequential(small_cnn(), Phantom())
    with pytest.raises(RuntimeError, match="could not rebuild the model") as raised:
        DataParallelStep(model, nn.CrossEntropyLoss(), None, threads=2, backend="processes")
    assert "phantom_layers" in str(raised.value)


def test_a_layer_used_twice_stays_one_in_the_workers():
    """A layer applied twice: the pickle keeps it one module, so the workers' copy has the
    parent's parameters, once each, and the step equals the threaded one."""
    def twice():
        lemmata.manual_seed(4)
        shared = nn.Linear(72, 72)
        return nn.Sequential(nn.Flatten(), shared, nn.Tanh(), shared, nn.Tanh(),
                             nn.Linear(72, 5)).double()

    x, y = batch()
    grads = []
    for backend in ("threads", "processes"):
        model = twice()
        with DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                              threads=2, backend=backend) as step:
            step(x, y)
        grads.append([p.grad.numpy() for p in model.parameters()])
    assert len(grads[0]) == 4                        # the shared layer's weight and bias once
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


class BytesToUnit(nn.Module):
    """uint8 pixels to float64 in [0, 1], for the test below (at the top level, so that a
    worker process can import it)."""

    def forward(self, x):
        return x.double() / 255.0


def test_inputs_reach_the_workers_byte_for_byte():
    """The inputs go to a worker as raw bytes after the request: one-byte pixels (a buffer whose
    items are its bytes) and a channels-last view (not contiguous) arrive as they are, so the
    step equals the threaded one."""
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (11, 6, 6, 2), dtype=np.uint8)
    _, y = batch()
    for x in (lemmata.tensor(pixels).permute(0, 3, 1, 2),
              lemmata.tensor(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))):
        grads = []
        for backend in ("threads", "processes"):
            lemmata.manual_seed(6)
            model = nn.Sequential(BytesToUnit(), small_cnn())
            with DataParallelStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(),
                                                                           lr=0.1),
                                  threads=2, backend=backend) as step:
                step(x, y)
            grads.append([p.grad.numpy() for p in model.parameters()])
        for a, b in zip(*grads):
            np.testing.assert_array_equal(a, b)
