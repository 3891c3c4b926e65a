"""lemmata.ops.linalg: matmul in every 1-D / 2-D / batched / broadcast combination (size-0 dims
included), and mm, bmm, mv, dot, outer — against finite differences, the complex step and
PyTorch (values and gradients, float32 and float64), plus second derivatives.

(Named test_linalg_ops.py because tests/test_linalg.py already tests lemmata/linalg.py.)"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import lemmata
from checks import check_gradients, check_torch_parity
from higher_order import check_higher_derivatives, values

seeds = st.integers(0, 2 ** 32 - 1)
sides = st.integers(0, 3)


def _check_all(f_l, f_t, arrays):
    check_gradients(f_l, arrays)
    check_torch_parity(f_l, f_t, arrays, "float64")
    check_torch_parity(f_l, f_t, arrays, "float32")


@st.composite
def matmul_shapes(draw):
    """Shapes of a @ b: each operand 1-D, 2-D or batched, batch dims mutually broadcastable."""
    n, k, m = draw(sides), draw(sides), draw(sides)
    a_kind, b_kind = draw(st.sampled_from(["1d", "2d", "batched"])), draw(
        st.sampled_from(["1d", "2d", "batched"]))
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2, min_side=0,
                                               max_side=2))
    a = {"1d": (k,), "2d": (n, k), "batched": batch.input_shapes[0] + (n, k)}[a_kind]
    b = {"1d": (k,), "2d": (k, m), "batched": batch.input_shapes[1] + (k, m)}[b_kind]
    return a, b


@given(shapes=matmul_shapes(), seed=seeds)
def test_matmul_all_rank_combinations(shapes, seed):
    a_shape, b_shape = shapes
    arrays = [values(a_shape, "any", seed), values(b_shape, "any", seed + 1)]
    _check_all(lambda a, b: a @ b, lambda a, b: a @ b, arrays)
    _check_all(lemmata.matmul, torch.matmul, arrays)


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((2, 2, 3), (3,)),
    ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((1, 2, 3), (4, 3, 2)), ((0, 3), (3, 2)),
    ((2, 0), (0, 3)), ((2, 3), (3, 0)), ((0,), (0,)), ((2, 0, 2, 3), (1, 3, 1)),
])
def test_matmul_named_cases(a_shape, b_shape):
    arrays = [values(a_shape, "any", 1), values(b_shape, "any", 2)]
    _check_all(lambda a, b: a @ b, lambda a, b: a @ b, arrays)


@given(n=sides, k=sides, m=sides, seed=seeds)
def test_mm(n, k, m, seed):
    _check_all(lemmata.mm, torch.mm, [values((n, k), "any", seed), values((k, m), "any", seed + 1)])
    _check_all(lambda a, b: a.mm(b), lambda a, b: a.mm(b),
               [values((n, k), "any", seed), values((k, m), "any", seed + 1)])


@given(batch=sides, n=sides, k=sides, m=sides, seed=seeds)
def test_bmm(batch, n, k, m, seed):
    _check_all(lemmata.bmm, torch.bmm,
               [values((batch, n, k), "any", seed), values((batch, k, m), "any", seed + 1)])


@given(n=sides, k=sides, seed=seeds)
def test_mv(n, k, seed):
    _check_all(lemmata.mv, torch.mv, [values((n, k), "any", seed), values((k,), "any", seed + 1)])


@given(n=sides, seed=seeds)
def test_dot(n, seed):
    _check_all(lemmata.dot, torch.dot, [values((n,), "any", seed), values((n,), "any", seed + 1)])
    _check_all(lambda a, b: a.dot(b), lambda a, b: a.dot(b),
               [values((n,), "any", seed), values((n,), "any", seed + 1)])


@given(n=sides, m=sides, seed=seeds)
def test_outer(n, m, seed):
    _check_all(lemmata.outer, torch.outer,
               [values((n,), "any", seed), values((m,), "any", seed + 1)])


@pytest.mark.parametrize("a_shape, b_shape", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
                                              ((2, 3), (3, 2)), ((2, 2, 3), (1, 3, 2))])
def test_matmul_higher_derivatives(a_shape, b_shape):
    # matmul is bilinear: its second derivative is a constant and its third vanishes
    check_higher_derivatives(lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2,
                             [values(a_shape, "any", 1), values(b_shape, "any", 2)])


def test_matmul_promotes_and_keeps_integer_results():
    ours = lemmata.tensor([[1, 2], [3, 4]]) @ lemmata.tensor([1, 1])
    assert ours.dtype == lemmata.int64 and ours.tolist() == [3, 7]
    mixed = lemmata.tensor([[1, 2]]) @ lemmata.tensor([[0.5], [0.25]])
    assert mixed.dtype == lemmata.float32 and mixed.tolist() == [[1.0]]


def test_matmul_with_a_numpy_array_on_either_side():
    a = lemmata.tensor([[1.0, 2.0]], dtype=lemmata.float64)
    b = np.array([[3.0], [4.0]])
    assert (a @ b).tolist() == [[11.0]]
    assert (b @ a).tolist() == [[3.0, 6.0], [4.0, 8.0]]


def test_matmul_complex128():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    b = rng.standard_normal((3,)) + 1j * rng.standard_normal((3,))
    np.testing.assert_allclose((lemmata.tensor(a) @ lemmata.tensor(b)).numpy(), a @ b,
                               rtol=1e-14)


@pytest.mark.parametrize("transposed", ["a", "b", "both"])
def test_matmul_gradients_keep_each_operands_memory_layout(transposed):
    # F.linear multiplies by wᵀ, a transposed view of a C-ordered weight: its gradient must come
    # back C-ordered (as in PyTorch), with the same values as the plain product rule gives
    rng = np.random.default_rng(0)
    a_data, b_data = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    a = lemmata.tensor(a_data.T.copy(), dtype=lemmata.float64, requires_grad=True)
    b = lemmata.tensor(b_data.T.copy(), dtype=lemmata.float64, requires_grad=True)
    a_used = a.t() if transposed in ("a", "both") else lemmata.tensor(a_data, requires_grad=True,
                                                                     dtype=lemmata.float64)
    b_used = b.t() if transposed in ("b", "both") else lemmata.tensor(b_data, requires_grad=True,
                                                                     dtype=lemmata.float64)
    g = rng.standard_normal((5, 3))
    (a_used @ b_used).backward(lemmata.tensor(g))
    for used, leaf, expected in ((a_used, a, g @ b_data.T), (b_used, b, a_data.T @ g)):
        source = leaf if used.grad_fn is not None else used
        grad = source.grad.numpy()
        assert grad.flags.c_contiguous
        np.testing.assert_allclose(grad.T if source is leaf else grad, expected, rtol=1e-14)


def test_linear_weight_gradient_is_c_ordered():
    layer = lemmata.nn.Linear(6, 4)
    layer(lemmata.randn(3, 6)).sum().backward()
    assert layer.weight.grad.numpy().flags.c_contiguous


@pytest.mark.parametrize("rows", [3, 8, 20])
def test_product_with_a_transposed_right_operand_is_c_ordered_and_exact(rows):
    # x wᵀ with fewer rows in x than in w is computed as (w xᵀ)ᵀ (the big matrix enters BLAS
    # untransposed); the result is still C-ordered, as NumPy's matmul returns it, with the same
    # values, and so are the gradients that flow back through it
    rng = np.random.default_rng(3)
    x = lemmata.tensor(rng.standard_normal((rows, 6)), dtype=lemmata.float64, requires_grad=True)
    w = lemmata.tensor(rng.standard_normal((10, 6)), dtype=lemmata.float64, requires_grad=True)
    y = x @ w.t()
    assert y.detach().numpy().flags.c_contiguous
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() @ w.detach().numpy().T,
                               rtol=1e-14)
    g = rng.standard_normal((rows, 10))
    y.backward(lemmata.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g @ w.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(w.grad.numpy(), g.T @ x.detach().numpy(), rtol=1e-14)
    assert w.grad.numpy().flags.c_contiguous


# ------------------------------------------------------------------------------ F.linear's op


@st.composite
def linear_shapes(draw):
    """x (*lead, in), W (out, in) and the bias: none, (out,) or a scalar; any side may be 0."""
    lead = draw(st.lists(st.integers(0, 3), min_size=0, max_size=2))
    n_in, n_out = draw(st.integers(0, 3)), draw(st.integers(0, 4))
    bias = draw(st.sampled_from(["none", "vector", "scalar"]))
    return tuple(lead) + (n_in,), (n_out, n_in), {"none": None, "vector": (n_out,),
                                                  "scalar": ()}[bias]


@given(linear_shapes(), seeds)
def test_linear_op_gradients_and_torch_parity(shapes, seed):
    """x Wᵀ + b as one op: finite differences, the complex step and PyTorch, values and
    gradients, float64 and float32, 1-D and batched x, with and without a bias."""
    import torch.nn.functional as TF
    from lemmata.nn import functional as F

    x_shape, w_shape, b_shape = shapes
    r = np.random.default_rng(seed)
    arrays = [r.standard_normal(x_shape), r.standard_normal(w_shape)]
    if b_shape is not None:
        arrays.append(r.standard_normal(b_shape))
    _check_all(F.linear, TF.linear, arrays)


@pytest.mark.parametrize("rows", [2, 12])
def test_linear_op_higher_derivatives_and_layouts(rows):
    """Second and third derivatives against PyTorch on both product forms (fewer rows than
    outputs: (W xᵀ)ᵀ; more: x Wᵀ); the output and the weight gradient C-ordered."""
    import torch.nn.functional as TF
    from lemmata.nn import functional as F

    arrays = [values((rows, 3), "any", 1), values((5, 3), "any", 2), values((5,), "any", 3)]
    check_higher_derivatives(lambda x, w, b: F.linear(x, w, b) ** 2,
                             lambda x, w, b: TF.linear(x, w, b) ** 2, arrays)
    x, w, b = (lemmata.tensor(a, requires_grad=True) for a in arrays)
    y = F.linear(x, w, b)
    assert y.detach().numpy().flags.c_contiguous
    y.sum().backward()
    assert w.grad.numpy().flags.c_contiguous


def test_linear_op_promotes_like_matmul_and_add():
    x = lemmata.tensor([[1.0, 2.0]], dtype=lemmata.float32)
    w = lemmata.tensor([[0.5, 0.25]], dtype=lemmata.float64)
    from lemmata.nn import functional as F
    assert F.linear(x, w).dtype == (x @ w.t()).dtype
    assert F.linear(x, x, lemmata.tensor(1.0, dtype=lemmata.float64)).dtype == lemmata.float32
    with pytest.raises(TypeError, match="linear: bias must be a Tensor"):
        F.linear(x, x, [1.0])
