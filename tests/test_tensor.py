"""lemmata.tensor: the Tensor's public surface against torch.Tensor — attributes, conversions,
Python protocols, operators with broadcasting and reflected forms, comparisons, bitwise
operators, dtype conversions, views vs copies, and the in-place methods."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import lemmata
from checks import check_torch_parity
from higher_order import values


def _same(ours, theirs):
    """Tensors compare by dtype, shape and values; other results by value."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, lemmata.Tensor), type(ours)
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    else:
        assert ours == theirs and type(ours).__name__ == type(theirs).__name__, (ours, theirs)


def both(f):
    _same(f(lemmata), f(torch))


# ------------------------------------------------------------------------- attributes


def test_shape_size_ndim_numel():
    both(lambda m: m.zeros(2, 3).size())
    both(lambda m: m.zeros(2, 3).size(-1))
    both(lambda m: m.zeros(2, 3).shape[1])
    both(lambda m: m.zeros(2, 3).ndim)
    both(lambda m: m.zeros(2, 3).dim())
    both(lambda m: m.zeros(2, 3).numel())
    both(lambda m: m.zeros(2, 3).nelement())
    both(lambda m: m.zeros(2, 3).shape.numel())
    both(lambda m: m.zeros(2, 3).shape == (2, 3))
    x = lemmata.zeros(2, 3)
    assert isinstance(x.shape, lemmata.Size) and isinstance(x.shape, tuple)
    assert repr(x.shape) == "lemmata.Size([2, 3])" == repr(torch.zeros(2, 3).shape).replace(
        "torch", "lemmata")
    assert lemmata.zeros(x.shape).shape == (2, 3)


def test_dtype_and_type_queries():
    x = lemmata.tensor([1.0])
    assert x.dtype == lemmata.float32 and x.is_floating_point() and not x.is_complex()
    assert lemmata.tensor([1j]).is_complex() and x.element_size() == 4
    assert x.type() == "lemmata.float32" and x.type(lemmata.float64).dtype == lemmata.float64
    assert str(x.device) == "cpu" and not x.is_cuda and x.cpu() is x


def test_autograd_attributes():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.grad is None and x.grad_fn is None
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    assert repr(y.grad_fn) == "<MulBackward>" and y.grad_fn.name() == "MulBackward"
    assert y.grad_fn.next_functions[0][0] is None  # the leaf x has no grad_fn
    z = lemmata.zeros(2)
    assert not z.requires_grad and z.is_leaf and not (z * 2).requires_grad
    assert (z * 2).is_leaf  # results that need no gradient are leaves, as in PyTorch
    assert z.requires_grad_() is z and z.requires_grad
    assert z.requires_grad_(False) is z and not z.requires_grad


def test_requires_grad_on_integer_tensors_raises():
    for make in (lambda: lemmata.tensor([1, 2], requires_grad=True),
                 lambda: lemmata.tensor([1, 2]).requires_grad_(),
                 lambda: lemmata.zeros(2, dtype=lemmata.int64, requires_grad=True),
                 lambda: lemmata.tensor([True]).requires_grad_()):
        with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype "
                                               "can require gradients"):
            make()


def test_requires_grad_of_a_non_leaf_cannot_be_changed():
    y = lemmata.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        y.requires_grad = False


# ------------------------------------------------------------------------- conversions


def test_item_tolist_numpy():
    both(lambda m: m.tensor([2.5]).item())
    both(lambda m: m.tensor(3).item())
    both(lambda m: m.tensor(True).item())
    both(lambda m: m.tensor(0.1).item())
    both(lambda m: m.tensor([[1, 2], [3, 4]]).tolist())
    both(lambda m: m.tensor(1.5).tolist())
    x = lemmata.tensor([1.0, 2.0])
    assert isinstance(x.numpy(), np.ndarray) and np.shares_memory(x.numpy(), x.numpy())
    assert np.asarray(x).dtype == np.float32 and np.asarray(x, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        lemmata.tensor([1.0], requires_grad=True).numpy()
    with pytest.raises(RuntimeError, match="item: a Tensor with 2 elements"):
        x.item()


def test_python_protocols():
    both(lambda m: len(m.zeros(4, 2)))
    both(lambda m: [tuple(t.shape) for t in m.zeros(2, 3)])
    both(lambda m: bool(m.tensor([0.0])))
    both(lambda m: bool(m.tensor(2)))
    both(lambda m: float(m.tensor([[2]])))
    both(lambda m: int(m.tensor(2.7)))
    both(lambda m: int(m.tensor(-2.7)))
    both(lambda m: complex(m.tensor(1.5)))
    both(lambda m: [10, 20, 30][m.tensor(1)])
    both(lambda m: 2 in m.tensor([1, 2]))
    both(lambda m: m.tensor([1.0]) == None)  # noqa: E711 (the comparison is the point)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(lemmata.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(lemmata.tensor(1.0))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with 2 values is ambiguous"):
        bool(lemmata.zeros(2))
    x = lemmata.zeros(1)
    assert len({x, lemmata.zeros(1)}) == 2 and x in {x}  # hashed by identity


def test_iteration_keeps_the_graph():
    x = lemmata.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = sum(row.sum() * (i + 1) for i, row in enumerate(x))
    total.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 1.0], [2.0, 2.0]])


@pytest.mark.parametrize("method", ["float", "double", "long", "int", "bool", "half"])
def test_dtype_conversion_methods(method):
    both(lambda m: getattr(m.tensor([1.7, -1.7, 0.0]), method)())


def test_to_forms():
    both(lambda m: m.tensor([1.5]).to(m.float64))
    both(lambda m: m.tensor([1.5]).to(dtype=m.float64))
    both(lambda m: m.tensor([1.5]).to("cpu"))
    both(lambda m: m.tensor([1.5]).to("cpu", m.float64))
    both(lambda m: m.tensor([1.5]).to(m.tensor([1], dtype=m.float64)))
    x = lemmata.tensor([1.0])
    assert x.to(lemmata.float32) is x and x.to("cpu") is x
    if not lemmata.backend.is_available("cuda"):
        with pytest.raises(RuntimeError, match="to: device 'cuda' needs CuPy|finds no CUDA"):
            x.to("cuda")
    with pytest.raises(RuntimeError, match="to: device: expected one of cpu, cuda"):
        x.to("tpu")
    with pytest.raises(TypeError, match="to: unexpected arguments \\['memory_format'\\]"):
        x.to(memory_format=None)


def test_view_as_a_dtype_reinterprets_bits_as_torch():
    both(lambda m: m.tensor([[1.0, 2.0]]).view(m.int32))
    both(lambda m: m.tensor([[1.0, 2.0]]).view(m.int16))
    both(lambda m: m.tensor([[1.0, 2.0]]).view(m.float64))


# ------------------------------------------------------------------------- memory


def test_detach_shares_memory_and_cuts_the_graph():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    d[0] = 10.0  # as torch: the write shows through y
    assert y.detach().numpy()[0] == 10.0
    assert x.detach_() is x and not x.requires_grad


def test_data_is_a_detached_view_and_can_be_replaced():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)
    assert not x.data.requires_grad and np.shares_memory(x.data.numpy(), x.detach().numpy())
    x.data.mul_(3.0)  # untracked, as torch's .data
    assert x.detach().tolist() == [3.0, 6.0] and x.requires_grad and x.is_leaf
    x.data = lemmata.tensor([7.0, 8.0])
    assert x.detach().tolist() == [7.0, 8.0] and x.requires_grad
    (x * x).sum().backward()
    assert x.grad.tolist() == [14.0, 16.0]


def test_clone_and_contiguous():
    x = lemmata.tensor([[1.0, 2.0], [3.0, 4.0]])
    c = x.clone()
    c[0, 0] = 9.0
    assert x[0, 0].item() == 1.0
    t = x.t()
    both(lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]).t().is_contiguous())
    assert t.contiguous().is_contiguous() and x.contiguous() is x
    np.testing.assert_array_equal(t.contiguous().numpy(), t.numpy())


def test_views_share_memory_like_torch_under_no_grad():
    x = lemmata.arange(6.0).reshape(2, 3)
    row = x[1]
    row += 10.0  # basic indexing and reshape give views
    assert x.tolist() == [[0.0, 1.0, 2.0], [13.0, 14.0, 15.0]]
    picked = x[[0]]  # advanced indexing copies
    picked += 100.0
    assert x[0].tolist() == [0.0, 1.0, 2.0]


# ------------------------------------------------------------------------- operators

OPERATORS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: abs(a) ** b,
}


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2 ** 32 - 1))
def test_binary_operators_broadcast_like_torch(op, shapes, seed):
    a_shape, b_shape = shapes.input_shapes
    f = OPERATORS[op]
    check_torch_parity(f, f, [values(a_shape, "away0", seed), values(b_shape, "away0", seed + 1)])


@pytest.mark.parametrize("expression", [
    lambda m, x: 3 - x, lambda m, x: 3 / x, lambda m, x: 2 ** x, lambda m, x: 2.5 * x,
    lambda m, x: 1 + x, lambda m, x: 7 // x, lambda m, x: 7 % x, lambda m, x: x % 2,
    lambda m, x: x // 2, lambda m, x: -x, lambda m, x: +x, lambda m, x: abs(x - 3),
    lambda m, x: x ** 2, lambda m, x: x / 2, lambda m, x: 2 - x * 3,
])
def test_reflected_and_unary_operators_match_torch(expression):
    both(lambda m: expression(m, m.tensor([1.0, 2.0, 4.0])))
    both(lambda m: expression(m, m.tensor([1, 2, 4])))


def test_operators_with_numpy_arrays_on_either_side():
    x = lemmata.tensor([1.0, 2.0])
    a = np.array([10.0, 20.0], dtype=np.float32)
    for result in (x + a, a + x, a * x, a - x, x @ a, a @ x):
        assert isinstance(result, lemmata.Tensor)
    assert (a - x).tolist() == [9.0, 18.0] and (a @ x).item() == 50.0


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_return_bool_tensors_without_grad(op):
    f = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
         "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op]
    both(lambda m: f(m.tensor([[1.0], [3.0]], requires_grad=True), m.tensor([2.0, 3.0])))
    both(lambda m: f(m.tensor([1, 2, 3]), 2))
    both(lambda m: f(2.5, m.tensor([1.0, 2.5, 3.0])))
    out = f(lemmata.tensor([1.0], requires_grad=True), 1.0)
    assert out.dtype == lemmata.bool and not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize("op", ["&", "|", "^"])
def test_bitwise_operators_as_torch(op):
    f = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b}[op]
    both(lambda m: f(m.tensor([3, 6, 12]), m.tensor([5, 3, 10])))
    both(lambda m: f(m.tensor([True, False, True]), m.tensor([True, True, False])))
    both(lambda m: f(m.tensor([3, 6]), 5))
    both(lambda m: f(5, m.tensor([3, 6])))
    with pytest.raises(TypeError, match="bitwise_.*: only integer and bool tensors"):
        f(lemmata.tensor([1.0]), lemmata.tensor([1.0]))


def test_invert():
    both(lambda m: ~m.tensor([3, 0, -1]))
    both(lambda m: ~m.tensor([True, False]))
    with pytest.raises(TypeError, match="bitwise not"):
        ~lemmata.tensor([1.5])


# ------------------------------------------------------------------------- in-place methods

INPLACE = {
    "add_": lambda t: t.add_(2.0), "add_ alpha": lambda t: t.add_(t * 0 + 1, alpha=-0.5),
    "sub_": lambda t: t.sub_(1.5), "mul_": lambda t: t.mul_(3.0), "div_": lambda t: t.div_(4.0),
    "pow_": lambda t: t.pow_(2), "clamp_": lambda t: t.clamp_(-0.5, 0.5),
    "neg_": lambda t: t.neg_(),
    "relu_": lambda t: t.relu_(), "addcmul_": lambda t: t.addcmul_(t * 1, t * 2, value=0.5),
    "addcdiv_": lambda t: t.addcdiv_(t * 1, t * 0 + 4, value=2.0),
    "lerp_": lambda t: t.lerp_(t * 0 + 1, 0.25), "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(2.5), "copy_": lambda t: t.copy_(t * 0 + 7),
    "+=": lambda t: t.__iadd__(1.0), "-=": lambda t: t.__isub__(1.0),
    "*=": lambda t: t.__imul__(2.0), "/=": lambda t: t.__itruediv__(2.0),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_methods_update_the_same_tensor_as_torch(name):
    f = INPLACE[name]
    data = [-1.5, -0.25, 0.75, 2.0]
    ours, theirs = lemmata.tensor(data), torch.tensor(data)
    alias_l, alias_t = ours.detach(), theirs.detach()
    assert f(ours) is ours and f(theirs) is theirs
    _same(ours, theirs)
    _same(alias_l, alias_t)  # the memory itself was written


def test_uniform_and_normal_fill_in_place():
    lemmata.manual_seed(0)
    x = lemmata.zeros(1000)
    assert x.uniform_(2.0, 3.0) is x and 2.0 <= x.numpy().min() and x.numpy().max() < 3.0
    assert abs(float(x.normal_(5.0, 0.1).mean()) - 5.0) < 0.02


def test_new_factories_and_type_as_take_the_tensors_dtype_as_torch():
    for ours, theirs in ((lemmata.tensor([1.0, 2.0], dtype=lemmata.float64),
                          torch.tensor([1.0, 2.0], dtype=torch.float64)),
                         (lemmata.tensor([1, 2]), torch.tensor([1, 2]))):
        made = [(ours.new_zeros(2, 3), theirs.new_zeros(2, 3)),
                (ours.new_ones((2,)), theirs.new_ones((2,))),
                (ours.new_empty(3).zero_(), theirs.new_empty(3).zero_()),
                (ours.new_full((2, 2), 7), theirs.new_full((2, 2), 7)),
                (ours.new_tensor([3, 4]), theirs.new_tensor([3, 4])),
                (ours.new_zeros(2, dtype=lemmata.float32),
                 theirs.new_zeros(2, dtype=torch.float32)),
                (lemmata.tensor([1.5]).type_as(ours), torch.tensor([1.5]).type_as(theirs))]
        for a, b in made:
            assert str(a.dtype) == str(b.dtype).replace("torch.", "")
            assert a.tolist() == b.tolist() and not a.requires_grad
    assert lemmata.zeros(1).new_ones(2, requires_grad=True).requires_grad
