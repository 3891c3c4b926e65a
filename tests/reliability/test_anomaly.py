"""``lemmata.autograd.detect_anomaly``: the first op whose forward or backward turns finite
numbers into NaN or inf raises, naming the op, the shapes, and (for backward) the line of user
code that created the op; finite computations run unchanged; the mode nests and restores."""
from __future__ import annotations

import inspect
import os
import re
import threading

import numpy as np
import pytest

import lemmata
from lemmata import nn
from lemmata.autograd import detect_anomaly, is_anomaly_enabled

HERE = os.path.basename(__file__)


def _line() -> int:
    """The line number of the caller."""
    return inspect.currentframe().f_back.f_lineno


def _assert_user_trace(message: str, line: int) -> None:
    """The trace names this file at ``line`` and shows no frame from inside lemmata."""
    assert f'{HERE}", line {line}' in message, message
    package = os.path.dirname(lemmata.__file__)
    assert package + os.sep not in message, f"lemmata-internal frames in the trace:\n{message}"


# ----------------------------------------------------------------------------------------------
# forward
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, op, shapes", [
    (lambda x: lemmata.log(x - x), "Log", r"\[\(2, 3\)\]"),
    (lambda x: lemmata.exp(x * 1000), "Exp", r"\[\(2, 3\)\]"),
    (lambda x: x / (x - x), "Div", r"\[\(2, 3\), \(2, 3\)\]"),
    (lambda x: lemmata.sqrt(x - 10), "Sqrt", r"\[\(2, 3\)\]"),
    (lambda x: x.sum(0) / 0.0, "Div", r"\[\(3,\), \(\)\]"),
    (lambda x: lemmata.nn.functional.conv1d(x.unsqueeze(0) * 1e200,
                                            lemmata.ones(1, 2, 2, dtype=x.dtype) * 1e200),
     "Convolution", r"\(1, 2, 3\), \(1, 2, 2\)"),
])
def test_forward_anomaly_names_the_op_and_its_input_shapes(make, op, shapes) -> None:
    x = lemmata.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    with detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            make(x)
    message = str(info.value)
    assert re.search(rf"\b{op}\b", message), message
    assert re.search(shapes, message), message
    assert "NaN or inf" in message


def test_forward_anomaly_also_fires_without_a_graph() -> None:
    with detect_anomaly(), lemmata.no_grad():
        with pytest.raises(FloatingPointError, match="Log"):
            lemmata.log(lemmata.zeros(4))


def test_non_finite_inputs_are_not_blamed_on_the_op_that_receives_them() -> None:
    """A forward is only blamed for NaN/inf it makes from finite inputs; later ops just pass
    them on.  In backward, exp's gradient g·eˣ is then NaN from a finite g, which is reported
    (as PyTorch does)."""
    x = lemmata.tensor([np.nan, 1.0, np.inf], requires_grad=True)
    with detect_anomaly():
        y = lemmata.exp(x) * 2 + 1
        assert np.isnan(y.detach().numpy()[0]) and np.isinf(y.detach().numpy()[2])
        with pytest.raises(FloatingPointError, match="ExpBackward"):
            y.sum().backward()


def test_the_first_anomalous_op_is_reported() -> None:
    x = lemmata.tensor([0.0, 1.0])
    with detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            lemmata.exp(lemmata.log(x) * -1000)   # log(0) = −inf comes first
    assert "Log forward" in str(info.value)


# ----------------------------------------------------------------------------------------------
# backward
# ----------------------------------------------------------------------------------------------
def test_backward_anomaly_names_the_node_shape_and_creating_line() -> None:
    x = lemmata.tensor([0.0, 4.0, 9.0], requires_grad=True)
    with detect_anomaly():
        y = lemmata.sqrt(x); line = _line()  # noqa: E702  (the creating line is this one)
        loss = (y * 3).sum()
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    message = str(info.value)
    assert "SqrtBackward" in message, message
    assert "(3,)" in message, message
    _assert_user_trace(message, line)


class _Root(nn.Module):
    """A layer with a root: d√z/dz is infinite at z = 0, which ReLU makes common."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 4)

    def forward(self, x: lemmata.Tensor) -> lemmata.Tensor:
        h = lemmata.relu(self.linear(x))
        return lemmata.sqrt(h)   # the op created here fails in backward


ROOT_LINE = inspect.getsourcelines(_Root.forward)[1] + 2


def test_backward_anomaly_inside_nested_modules_points_at_the_user_line() -> None:
    lemmata.manual_seed(0)
    model = nn.Sequential(nn.Sequential(_Root()), nn.Linear(4, 1))
    x = lemmata.tensor(-np.ones((5, 3)) * 100)   # large negative inputs: ReLU gives exact zeros
    with detect_anomaly():
        out = model(x)
        with pytest.raises(FloatingPointError) as info:
            out.sum().backward()
    message = str(info.value)
    assert "SqrtBackward" in message and "(5, 4)" in message, message
    _assert_user_trace(message, ROOT_LINE)


def test_the_where_trap_is_caught_in_backward() -> None:
    """where(x > 0, √x, 0) is finite, but √'s backward at the masked x = 0 is 0/0 = NaN — the
    classic trap; anomaly mode names SqrtBackward and its creating line."""
    x = lemmata.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with detect_anomaly():
        y = lemmata.where(x > 0, lemmata.sqrt(x), 0.0); line = _line()  # noqa: E702
        with pytest.raises(FloatingPointError) as info:
            y.sum().backward()
    assert "SqrtBackward" in str(info.value)
    _assert_user_trace(str(info.value), line)
    x.grad = None
    with detect_anomaly():   # the fix: take the root of a safe value
        safe = lemmata.where(x > 0, x, lemmata.ones_like(x))
        lemmata.where(x > 0, lemmata.sqrt(safe), 0.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.25])


def test_backward_anomaly_through_autograd_grad_and_a_tensor_used_twice() -> None:
    x = lemmata.tensor([[0.0, 1.0], [4.0, 0.0]], requires_grad=True)
    with detect_anomaly():
        r = x.abs() ** 0.5; line = _line()  # noqa: E702
        y = r * r + r
        with pytest.raises(FloatingPointError) as info:
            lemmata.autograd.grad(y.sum(), x)
    assert "PowScalarBackward" in str(info.value)
    _assert_user_trace(str(info.value), line)


def test_intermediate_infinities_inside_a_backward_rule_are_not_reported() -> None:
    """std's backward divides by 2·std, infinite for a constant tensor, then masks it to 0
    (PyTorch's convention): the rule's result is finite, so nothing is raised."""
    x = lemmata.full((4,), 3.0, requires_grad=True)
    with detect_anomaly():
        x.std().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))


# ----------------------------------------------------------------------------------------------
# finite computations are untouched
# ----------------------------------------------------------------------------------------------
def _train_step(anomaly: bool) -> list[np.ndarray]:
    lemmata.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 4))
    x = lemmata.randn(5, 2, 4, 4)
    target = lemmata.tensor([0, 1, 2, 3, 0])
    with detect_anomaly(anomaly):
        loss = nn.functional.cross_entropy(model(x), target)
        loss = loss + nn.functional.log_softmax(model(x), 1).exp().sum() * 0  # more ops
        loss.backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


def test_finite_training_step_raises_nothing_and_gives_the_same_gradients() -> None:
    plain, checked = _train_step(False), _train_step(True)
    for a, b in zip(plain, checked):
        np.testing.assert_array_equal(a, b)


def test_second_derivatives_under_anomaly_mode() -> None:
    x = lemmata.tensor([0.5, 1.5, -2.0], dtype=lemmata.float64, requires_grad=True)
    with detect_anomaly():
        y = (lemmata.tanh(x) * lemmata.sigmoid(x) + lemmata.softplus(x)).sum()
        g, = lemmata.autograd.grad(y, x, create_graph=True)
        h, = lemmata.autograd.grad(g.sum(), x)
    assert np.isfinite(h.numpy()).all()


# ----------------------------------------------------------------------------------------------
# the mode itself
# ----------------------------------------------------------------------------------------------
def test_context_manager_restores_and_nests() -> None:
    assert not is_anomaly_enabled()
    with detect_anomaly():
        assert is_anomaly_enabled()
        with detect_anomaly(False):
            assert not is_anomaly_enabled()
            lemmata.log(lemmata.zeros(2))   # off: IEEE −inf, no error
            with detect_anomaly():
                assert is_anomaly_enabled()
            assert not is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()


def test_state_is_restored_after_an_exception() -> None:
    with pytest.raises(FloatingPointError):
        with detect_anomaly():
            lemmata.log(lemmata.zeros(2))
    assert not is_anomaly_enabled()
    with pytest.raises(KeyError):
        with detect_anomaly():
            raise KeyError("unrelated")
    assert not is_anomaly_enabled()
    lemmata.log(lemmata.zeros(2))   # anomaly mode is off again


def test_decorator_form_and_reuse_of_one_instance() -> None:
    @detect_anomaly()
    def checked(x):
        assert is_anomaly_enabled()
        return lemmata.log(x)

    with pytest.raises(FloatingPointError):
        checked(lemmata.zeros(1))
    assert not is_anomaly_enabled()
    mode = detect_anomaly()
    for _ in range(2):
        with mode:
            assert is_anomaly_enabled()
        assert not is_anomaly_enabled()


def test_mode_is_per_thread() -> None:
    seen = []
    with detect_anomaly():
        thread = threading.Thread(target=lambda: seen.append(is_anomaly_enabled()))
        thread.start()
        thread.join()
    assert seen == [False]


def test_grad_mode_is_untouched_by_anomaly_mode() -> None:
    with lemmata.no_grad(), detect_anomaly():
        assert not lemmata.is_grad_enabled()
    assert lemmata.is_grad_enabled()
