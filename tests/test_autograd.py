"""lemmata.autograd: the engine — deep graphs without recursion, grad modes, accumulation,
freed graphs, explicit gradients, autograd.grad and its options, retain_grad, hooks, in-place
operations and the version counter, detach/.data, anomaly detection, custom Functions."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import lemmata
from lemmata import autograd
from lemmata.autograd import Function


def pair(data, dtype="float64"):
    """The same leaf requiring grad in lemmata and in torch."""
    array = np.asarray(data, dtype=dtype)
    return (lemmata.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True))


def assert_grad(ours, theirs, rtol=1e-12):
    assert (ours.grad is None) == (theirs.grad is None)
    if theirs.grad is not None:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol, atol=rtol)


# ------------------------------------------------------------------------- graph walking


def test_a_10000_deep_chain_backprops_without_recursion():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0 + 0.5
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(y.detach().numpy(), [5001.0, 5002.0])


def test_a_10000_deep_chain_of_nonlinear_ops_matches_torch():
    ours, theirs = pair([0.3, -0.2])
    y_l, y_t = ours, theirs
    for _ in range(2_000):
        y_l, y_t = (y_l.sin() * 0.5 + y_l * 0.9), (y_t.sin() * 0.5 + y_t * 0.9)
    y_l.sum().backward()
    y_t.sum().backward()
    assert_grad(ours, theirs, rtol=1e-9)


def test_a_tensor_used_twice_gets_the_sum():
    ours, theirs = pair([1.5, -2.0])
    for x in (ours, theirs):
        (x * x + x.exp() * x + x).sum().backward()
    assert_grad(ours, theirs)


def test_a_diamond_graph_is_walked_once_per_node():
    calls = []

    class Counted(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g * 2

    x = lemmata.tensor([1.0], requires_grad=True)
    shared = Counted.apply(x)
    (shared * 3 + shared.exp() + shared).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad.numpy(), 2 * (3 + np.exp(2.0) + 1))


# ------------------------------------------------------------------------- grad modes


def test_no_grad_records_nothing():
    x = lemmata.tensor([1.0], requires_grad=True)
    with lemmata.no_grad():
        y = x * 2
        assert not lemmata.is_grad_enabled()
    assert lemmata.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_no_grad_as_decorator_with_and_without_parentheses():
    x = lemmata.tensor([1.0], requires_grad=True)

    @lemmata.no_grad()
    def called(t):
        return t * 2

    @lemmata.no_grad
    def bare(t):
        return t * 2

    class Model:
        @lemmata.no_grad()
        def step(self, t):
            return t * 3

    for y in (called(x), bare(x), Model().step(x)):
        assert not y.requires_grad
    assert called.__name__ == "called" and lemmata.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = lemmata.tensor([1.0], requires_grad=True)
    with lemmata.no_grad():
        with lemmata.enable_grad():
            y = x * 2
        z = x * 2

        @lemmata.enable_grad()
        def differentiable(t):
            return t * 4

        w = differentiable(x)
    assert y.requires_grad and not z.requires_grad and w.requires_grad


def test_set_grad_enabled_as_call_context_and_decorator():
    x = lemmata.tensor([1.0], requires_grad=True)
    with lemmata.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert lemmata.is_grad_enabled()
    lemmata.set_grad_enabled(False)  # a plain call takes effect at once, as in PyTorch
    try:
        assert not lemmata.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        lemmata.set_grad_enabled(True)
    assert lemmata.is_grad_enabled()

    @lemmata.set_grad_enabled(False)
    def frozen(t):
        return t * 2

    assert lemmata.is_grad_enabled()  # decorating does not switch the mode
    assert not frozen(x).requires_grad and lemmata.is_grad_enabled()
    with lemmata.no_grad():
        with lemmata.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not lemmata.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []
    with lemmata.no_grad():
        worker = threading.Thread(target=lambda: seen.append(lemmata.is_grad_enabled()))
        worker.start()
        worker.join()
    assert seen == [True]


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with lemmata.no_grad():
            raise ValueError("boom")
    assert lemmata.is_grad_enabled()


# ------------------------------------------------------------------------- backward()


def test_gradients_accumulate_across_backward_calls():
    ours, theirs = pair([1.0, 2.0])
    for x in (ours, theirs):
        (x * x).sum().backward()
        (x * 3).sum().backward()
    assert_grad(ours, theirs)
    np.testing.assert_array_equal(ours.grad.numpy(), [5.0, 7.0])


def test_backward_through_a_freed_graph_raises_and_retain_graph_keeps_it():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs \\(output 0 has shape \\(2,\\)\\)"):
        (x * 2).backward()


def test_backward_with_an_explicit_gradient_matches_torch():
    ours, theirs = pair([[1.0, 2.0], [3.0, 4.0]])
    weights = np.array([[0.5, -1.0], [2.0, 0.25]])
    (ours ** 3).backward(lemmata.tensor(weights))
    (theirs ** 3).backward(torch.tensor(weights))
    assert_grad(ours, theirs)
    with pytest.raises(RuntimeError, match="backward: gradient has shape \\(3,\\) but output 0 "
                                           "has shape \\(2, 2\\)"):
        (ours * 2).backward(lemmata.ones(3, dtype=lemmata.float64))


def test_backward_of_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        lemmata.tensor(1.0).backward()


def test_module_level_backward_with_several_outputs():
    ours, theirs = pair([1.0, 2.0])
    autograd.backward([(ours * 2).sum(), (ours ** 2).sum()])
    torch.autograd.backward([(theirs * 2).sum(), (theirs ** 2).sum()])
    assert_grad(ours, theirs)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_with_create_graph_gives_a_differentiable_grad():
    ours, theirs = pair([0.5, -1.5])
    for x in (ours, theirs):
        (x.sin() * x ** 3).sum().backward(create_graph=True)
    assert ours.grad.requires_grad and ours.grad.grad_fn is not None
    g_l, g_t = ours.grad, theirs.grad
    ours.grad = theirs.grad = None
    g_l.sum().backward()
    g_t.sum().backward()
    assert_grad(ours, theirs)


def test_gradient_dtype_follows_the_input():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)  # float32
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == lemmata.float32


# ------------------------------------------------------------------------- autograd.grad


def test_grad_with_grad_outputs_matches_torch():
    (a_l, a_t), (b_l, b_t) = pair([1.0, 2.0, 3.0]), pair([0.5, -0.5, 2.0])
    v = np.array([1.0, -2.0, 0.5])
    ours = autograd.grad(a_l * b_l.exp(), [a_l, b_l], grad_outputs=lemmata.tensor(v))
    theirs = torch.autograd.grad(a_t * b_t.exp(), [a_t, b_t], grad_outputs=torch.tensor(v))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-14)
    assert a_l.grad is None and b_l.grad is None  # grad() leaves .grad alone


def test_grad_of_several_outputs_with_a_list_of_grad_outputs():
    (x_l, x_t) = pair([1.0, 2.0])
    ones = lemmata.ones(2, dtype=lemmata.float64)
    ours = autograd.grad([x_l * 2, x_l ** 2], x_l, grad_outputs=[ones, ones])
    theirs = torch.autograd.grad([x_t * 2, x_t ** 2], x_t,
                                 grad_outputs=[torch.ones(2, dtype=torch.float64)] * 2)
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy())


def test_grad_allow_unused():
    x = lemmata.tensor([1.0], requires_grad=True)
    unused = lemmata.tensor([2.0], requires_grad=True)
    y = (x * 3).sum()
    with pytest.raises(RuntimeError, match="grad: inputs\\[1\\] \\(shape \\(1,\\)\\) was not used"):
        autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = autograd.grad(y, [x, unused], allow_unused=True)
    assert gx.tolist() == [3.0] and gu is None


def test_grad_with_respect_to_non_leaf_inputs():
    (x_l, x_t) = pair([1.0, -2.0])
    h_l, h_t = x_l * 3, x_t * 3
    ours = autograd.grad((h_l ** 3).sum(), h_l)[0]
    theirs = torch.autograd.grad((h_t ** 3).sum(), h_t)[0]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_grad_create_graph_gives_second_and_third_derivatives():
    (x_l, x_t) = pair([0.3, 1.2])
    results = []
    for x, lib in ((x_l, lemmata), (x_t, torch)):
        f = (x.tanh() * x.exp()).sum()
        g1 = lib.autograd.grad(f, x, create_graph=True)[0]
        g2 = lib.autograd.grad(g1.sum(), x, create_graph=True)[0]
        g3 = lib.autograd.grad(g2.sum(), x)[0]
        results.append([g.detach().numpy() for g in (g1, g2, g3)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_grad_checks_its_inputs():
    x = lemmata.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad: inputs\\[0\\] \\(shape \\(1,\\)\\) does not "
                                           "require grad"):
        autograd.grad((x * 2).sum(), lemmata.tensor([1.0]))
    with pytest.raises(TypeError, match="grad: inputs\\[0\\] is a list, not a Tensor"):
        autograd.grad((x * 2).sum(), [[1.0]])
    with pytest.raises(RuntimeError, match="grad: got 2 gradients for 1 outputs"):
        autograd.grad((x * 2).sum(), x, grad_outputs=[lemmata.tensor(1.0), lemmata.tensor(1.0)])


def test_hessian_vector_product_by_double_backward_matches_torch():
    (x_l, x_t) = pair([0.5, -1.0, 2.0])
    v = np.array([1.0, 0.5, -0.25])
    out = []
    for x, lib in ((x_l, lemmata), (x_t, torch)):
        f = (x[0] * x[1] ** 2 + x.sin().prod()).sum()
        (g,) = lib.autograd.grad(f, x, create_graph=True)
        (hv,) = lib.autograd.grad((g * lib.tensor(v)).sum(), x)
        out.append(hv.detach().numpy())
    np.testing.assert_allclose(*out, rtol=1e-12)


# ------------------------------------------------------------------------- retain_grad, hooks


def test_retain_grad_keeps_non_leaf_gradients():
    (x_l, x_t) = pair([1.0, 2.0])
    for x in (x_l, x_t):
        x.h = x * 3
        x.h.retain_grad()
        (x.h ** 2).sum().backward()
    assert x_l.h.retains_grad and x_l.h.grad is not None
    np.testing.assert_allclose(x_l.h.grad.numpy(), x_t.h.grad.numpy())
    other = x_l * 2
    (other * 1).sum().backward()
    assert other.grad is None  # not retained


def test_register_hook_sees_and_can_replace_the_gradient():
    seen = []
    (x_l, x_t) = pair([1.0, 2.0])
    for x in (x_l, x_t):
        h = x * 3
        h.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
        h.register_hook(lambda g: g * 10)
        x.register_hook(lambda g: g + 1)
        (h ** 2).sum().backward()
    np.testing.assert_allclose(seen[0], seen[1])
    assert_grad(x_l, x_t)


def test_hooks_of_a_freed_intermediate_and_of_an_updated_tensor_run_as_in_torch():
    """A hook stays with the op that made its tensor: it runs although the tensor was freed
    before backward, and one registered before an in-place update sees the gradient of the value
    it was registered on, one registered after it the updated value's."""
    results = []
    for lib in (lemmata, torch):
        seen = []
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: seen.append(("freed", g.tolist())))
        z = (y * y).sum()
        del y
        z.backward()
        y = x * 2
        handle = y.register_hook(lambda g: seen.append(("removed", g.tolist())))
        y.register_hook(lambda g: seen.append(("before", g.tolist())))
        w = y * 5
        y.mul_(3)
        y.register_hook(lambda g: seen.append(("after", g.tolist())))
        handle.remove()
        (y.sum() + w.sum()).backward()
        results.append(seen)
    assert results[0] == results[1]
    assert [tag for tag, _ in results[0]] == ["freed", "after", "before"]


def test_hook_handles_remove_the_hook():
    calls = []
    x = lemmata.tensor([1.0], requires_grad=True)
    handle = x.register_hook(lambda g: calls.append(1))
    (x * 2).sum().backward()
    handle.remove()
    (x * 2).sum().backward()
    assert calls == [1]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        lemmata.tensor([1.0]).register_hook(lambda g: g)


# ------------------------------------------------------------------------- in-place operations


@pytest.mark.parametrize("update", [lambda lib, p: p.add_(1.0), lambda lib, p: p.mul_(2.0),
                                    lambda lib, p: p.zero_(), lambda lib, p: p.fill_(1.0),
                                    lambda lib, p: p.copy_(lib.zeros(2)),
                                    lambda lib, p: p.__isub__(1.0),
                                    lambda lib, p: p.__setitem__(0, 5.0)])
def test_inplace_on_a_leaf_requiring_grad_raises_under_grad_mode(update):
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        update(torch, torch.tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        update(lemmata, lemmata.tensor([1.0, 2.0], requires_grad=True))


def test_optimizer_style_updates_under_no_grad():
    p = lemmata.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    lr = 0.1
    alias = p.detach()
    with lemmata.no_grad():
        p -= lr * p.grad
        p.add_(p.grad, alpha=-lr)
        p.mul_(2.0)
    np.testing.assert_allclose(p.detach().numpy(), [1.2, 2.4])
    np.testing.assert_allclose(alias.numpy(), [1.2, 2.4])  # the same memory was updated
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    p.grad.zero_()
    assert p.grad.tolist() == [0.0, 0.0]
    with lemmata.no_grad():
        p.fill_(3.0)
        assert p.tolist() == [3.0, 3.0]
        p.copy_(lemmata.tensor([5.0, 6.0]))
        p[0] = -1.0
    assert p.detach().tolist() == [-1.0, 6.0] and p.is_leaf


def test_inplace_chain_on_a_non_leaf_matches_torch():
    (x_l, x_t) = pair([1.0, -2.0, 3.0, 0.5])
    for x in (x_l, x_t):
        y = x * 2
        y.add_(x, alpha=3)
        y.sub_(x)
        y.mul_(x)
        y.div_(x + 4)
        y.pow_(2)
        y.neg_()
        y.clamp_(min=-20)
        y.addcmul_(x, x, value=0.5)
        y.addcdiv_(x, x + 5, value=2)
        y.lerp_(x, 0.3)
        y[y < -5] = 0.0
        y += 1
        y *= x
        y /= 2
        y -= x
        y.relu_()
        x.out = y
        y.sum().backward()
    np.testing.assert_allclose(x_l.out.detach().numpy(), x_t.out.detach().numpy(), rtol=1e-12)
    assert_grad(x_l, x_t)


def test_recorded_zero_fill_and_copy_on_non_leaves_match_torch():
    (x_l, x_t), (s_l, s_t), (v_l, v_t) = pair([1.0, 2.0, 3.0]), pair([5.0, 6.0, 7.0]), pair(4.0)
    for x, s, v in ((x_l, s_l, v_l), (x_t, s_t, v_t)):
        y = x * 2
        y.zero_()
        z = x * 3
        z.copy_(s * 2)
        w = x * 1
        w.fill_(v)
        (y + z * x + w * x).sum().backward()
    for ours, theirs in ((x_l, x_t), (s_l, s_t), (v_l, v_t)):
        assert_grad(ours, theirs)


def test_setitem_with_a_differentiable_value_matches_torch():
    (x_l, x_t), (v_l, v_t) = pair([[1.0, 2.0], [3.0, 4.0]]), pair([10.0, 20.0])
    for x, v in ((x_l, v_l), (x_t, v_t)):
        buffer = x.detach() * 0  # a leaf that does not require grad
        buffer[1] = v * x[0]
        (buffer * x).sum().backward()
    assert_grad(x_l, x_t)
    assert_grad(v_l, v_t)


@pytest.mark.parametrize("scenario", ["saved output", "saved input", "saved operand"])
def test_modifying_a_tensor_saved_for_backward_raises(scenario):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        if scenario == "saved output":
            y = x.exp()      # exp saves its output
            y.add_(1)
            return y.sum()
        a = x * 2
        y = a * a if scenario == "saved input" else a.sin()
        a.mul_(3)
        return y.sum()
    for lib in (torch, lemmata):
        out = run(lib)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.backward()


def test_earlier_uses_of_a_tensor_modified_in_place_keep_their_history():
    (x_l, x_t), (v_l, v_t) = pair([1.0, 2.0]), pair([3.0, -4.0])
    for lib, x, v in ((lemmata, x_l, v_l), (torch, x_t, v_t)):
        buffer = lib.zeros(2, dtype=lib.float64)
        first = (buffer + x) * x    # used while buffer was a constant (add saves nothing) ...
        buffer.copy_(v)             # ... which now depends on v
        second = buffer * x
        a = x + 1
        b = a * 3                   # saves nothing of a (3 needs no gradient)
        a.mul_(v)
        a.add_(x)
        c = a * 2
        (first + second + b + c).sum().backward()
    assert_grad(x_l, x_t)
    assert_grad(v_l, v_t)


def test_inplace_on_a_tensor_not_saved_is_fine():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)
    a = x + 1        # add saves nothing
    y = a + 2
    a.mul_(5)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------- anomaly detection


def test_detect_anomaly_names_the_op_whose_backward_gives_nan():
    x = lemmata.tensor([0.0, 1.0], requires_grad=True)
    with autograd.detect_anomaly():
        y = (x.sqrt() * 0).sum()  # d sqrt at 0 times 0: NaN
        with pytest.raises(RuntimeError, match="SqrtBackward returned NaN or inf") as info:
            y.backward()
    assert isinstance(info.value, FloatingPointError)
    assert "test_autograd.py" in str(info.value)  # the line where the op was created
    assert not autograd.is_anomaly_enabled()
    # without anomaly mode the NaN simply propagates, as in PyTorch
    x.grad = None
    (x.sqrt() * 0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_detect_anomaly_flags_a_forward_nan_from_finite_inputs():
    with autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="detect_anomaly: Log forward produced NaN"):
            lemmata.log(lemmata.tensor([-1.0], requires_grad=True))


# ------------------------------------------------------------------------- custom Functions


def test_a_custom_function_with_saved_tensors_and_needs_input_grad():
    class ScaledProduct(Function):
        """a·b·scale;  ∂/∂a = b·scale, ∂/∂b = a·scale."""

        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False, False)
            return g * b * ctx.scale, None, None

    a = lemmata.tensor([1.0, 2.0], requires_grad=True)
    b = lemmata.tensor([3.0, 4.0])
    ScaledProduct.apply(a, b, 0.5).sum().backward()
    assert a.grad.tolist() == [1.5, 2.0]


def test_a_function_returning_the_wrong_number_of_gradients_raises():
    class Broken(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = lemmata.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="BrokenBackward returned 2 gradients for 1 inputs"):
        Broken.apply(x).sum().backward()


def test_broadcast_gradients_are_summed_to_the_input_shape():
    (a_l, a_t), (b_l, b_t) = pair([[1.0], [2.0]]), pair([3.0, 4.0, 5.0])
    for a, b in ((a_l, b_l), (a_t, b_t)):
        (a * b + a / b).sum().backward()
    assert a_l.grad.shape == (2, 1) and b_l.grad.shape == (3,)
    assert_grad(a_l, a_t)
    assert_grad(b_l, b_t)


def test_a_function_without_backward_says_so():
    """The Function base's own rules name the subclass that left one out."""
    from lemmata.autograd import Function

    class Doubled(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    class Nothing(Function):
        pass

    x = lemmata.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="Doubled defines no backward"):
        Doubled.apply(x).sum().backward()
    with pytest.raises(TypeError, match="Nothing defines no forward"):
        Nothing.apply(x)


def test_each_grad_owns_its_writable_memory_as_in_torch():
    """Add hands both inputs the same gradient, a sum's gradient is a read-only broadcast, and
    x + 0 passes the caller's gradient through: each .grad is still memory of its own, writable
    in place without touching another .grad or the caller's tensor."""
    a = lemmata.ones(3, requires_grad=True)
    b = lemmata.ones(3, requires_grad=True)
    ((a + b) * lemmata.tensor([1.0, 2.0, 3.0])).sum().backward()
    a.grad.mul_(10.0)
    assert a.grad.tolist() == [10.0, 20.0, 30.0] and b.grad.tolist() == [1.0, 2.0, 3.0]
    x = lemmata.ones(2, 3, requires_grad=True)
    x.sum().backward()
    x.grad.mul_(2.0)
    assert x.grad.tolist() == [[2.0] * 3] * 2
    seed = lemmata.tensor([1.0, 2.0])
    y = lemmata.ones(2, requires_grad=True)
    (y + 0).backward(seed)
    y.grad.mul_(5.0)
    assert seed.tolist() == [1.0, 2.0] and y.grad.tolist() == [5.0, 10.0]
