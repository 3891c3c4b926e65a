"""lemmata.ops.reduce: every reduction against finite differences, the complex step and PyTorch
(values and gradients, float32 and float64) for hypothesis-generated shapes, dims (None, int,
negative, tuples) and keepdim; second and third derivatives against PyTorch; PyTorch's tie rules
(max()/amax share ties evenly, max(dim) routes the gradient to the returned index); dtypes."""
from __future__ import annotations

import decimal
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes

import lemmata
from checks import check_gradients, check_torch_parity
from higher_order import check_higher_derivatives, values

seeds = st.integers(0, 2 ** 32 - 1)


@st.composite
def reduction_case(draw, min_side=0, max_dims=3, min_dims=0, dim_kind="any"):
    """(shape, dim, keepdim): dim is None, an int (possibly negative) or a tuple of dims."""
    shape = draw(array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                              max_side=3))
    ndim = len(shape)
    span = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as PyTorch
    single = st.integers(-span, span - 1)
    options = {"int": single,
               "any": st.one_of(st.none(), single,
                                st.lists(st.integers(0, span - 1), min_size=1, max_size=span,
                                         unique=True).map(tuple) if ndim else single),
               "int_or_none": st.one_of(st.none(), single)}
    dim = draw(options[dim_kind])
    if isinstance(dim, tuple):  # mix negative spellings in
        dim = tuple(d - ndim if draw(st.booleans()) else d for d in dim)
    return shape, dim, draw(st.booleans())


def _check_all(f_l, f_t, arrays, complex_step=True):
    check_gradients(f_l, arrays, complex_step=complex_step)
    check_torch_parity(f_l, f_t, arrays, "float64")
    check_torch_parity(f_l, f_t, arrays, "float32")


def _kw(dim):
    return {} if dim is None else {"dim": dim}


@given(case=reduction_case(), seed=seeds)
def test_sum(case, seed):
    shape, dim, keepdim = case
    _check_all(lambda x: x.sum(dim, keepdim), lambda x: torch.sum(x, dim, keepdim),
               [values(shape, "any", seed)])


@given(case=reduction_case(min_side=1), seed=seeds)
def test_mean(case, seed):
    shape, dim, keepdim = case
    _check_all(lambda x: lemmata.mean(x, dim, keepdim), lambda x: x.mean(dim, keepdim),
               [values(shape, "any", seed)])


@pytest.mark.parametrize("op", ["var", "std"])
@given(case=reduction_case(min_side=2, min_dims=1), seed=seeds,
       spelling=st.sampled_from(["default", "unbiased=True", "unbiased=False", "correction=0",
                                 "correction=1"]))
def test_var_std(op, case, seed, spelling):
    shape, dim, keepdim = case
    kwargs = {} if spelling == "default" else {
        spelling.split("=")[0]: eval(spelling.split("=")[1])}
    f_l = lambda x: getattr(x, op)(dim, keepdim=keepdim, **kwargs)  # noqa: E731
    f_t = lambda x: getattr(torch, op)(x, dim, keepdim=keepdim, **kwargs)  # noqa: E731
    _check_all(f_l, f_t, [values(shape, "any", seed)])


@pytest.mark.parametrize("op", ["amax", "amin"])
@given(case=reduction_case(min_side=1), seed=seeds)
def test_amax_amin(op, case, seed):
    shape, dim, keepdim = case
    dim = () if dim is None else dim
    _check_all(lambda x: getattr(lemmata, op)(x, dim, keepdim),
               lambda x: getattr(torch, op)(x, dim, keepdim), [values(shape, "distinct", seed)])


@pytest.mark.parametrize("op", ["max", "min"])
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), seed=seeds)
def test_max_min_of_all_entries(op, shape, seed):
    _check_all(lambda x: getattr(x, op)(), lambda x: getattr(x, op)(),
               [values(shape, "distinct", seed)])


@pytest.mark.parametrize("op", ["max", "min"])
@given(case=reduction_case(min_side=1, dim_kind="int"), seed=seeds)
def test_max_min_along_a_dim_give_values_and_indices(op, case, seed):
    shape, dim, keepdim = case
    x = values(shape, "distinct", seed)
    _check_all(lambda t: getattr(t, op)(dim, keepdim).values,
               lambda t: getattr(t, op)(dim, keepdim).values, [x])
    ours = getattr(lemmata.tensor(x), op)(dim, keepdim)
    theirs = getattr(torch.tensor(x), op)(dim, keepdim)
    values_, indices = ours          # a named tuple, unpacked as in PyTorch
    assert indices.dtype == lemmata.int64
    np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(values_.numpy(), theirs.values.numpy())


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@given(case=reduction_case(min_side=1, dim_kind="int_or_none"), seed=seeds,
       domain=st.sampled_from(["distinct", "grid"]))
def test_argmax_argmin_match_torch_including_ties(op, case, seed, domain):
    shape, dim, keepdim = case
    x = values(shape, domain, seed)  # 'grid' has ties: the first extremum wins, as PyTorch
    ours = getattr(lemmata, op)(lemmata.tensor(x), dim, keepdim)
    theirs = getattr(torch, op)(torch.tensor(x), dim, keepdim)
    assert ours.dtype == lemmata.int64 and not ours.requires_grad
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@given(case=reduction_case(min_side=1, dim_kind="int"), seed=seeds)
def test_logsumexp(case, seed):
    shape, dim, keepdim = case
    _check_all(lambda x: x.logsumexp(dim, keepdim), lambda x: torch.logsumexp(x, dim, keepdim),
               [values(shape, "any", seed) * 3])


@given(case=reduction_case(min_side=1, min_dims=1), seed=seeds)
def test_logsumexp_over_several_dims(case, seed):
    shape, dim, keepdim = case
    dim = tuple(range(len(shape))) if dim is None else dim
    _check_all(lambda x: lemmata.logsumexp(x, dim, keepdim),
               lambda x: torch.logsumexp(x, dim, keepdim), [values(shape, "any", seed)])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@given(case=reduction_case(min_side=0, dim_kind="int"), seed=seeds)
def test_softmax_log_softmax(op, case, seed):
    """Inputs within [−3, 3]: where a row spreads wider, one sᵢ comes within e⁻⁶ of 1 and the
    references themselves lose digits (the complex step's forward divides (1 − sᵢ) out of a
    difference, finite differences see a tiny gradient); that regime is checked against an
    exact reference below."""
    shape, dim, _ = case
    _check_all(lambda x: getattr(lemmata, op)(x, dim), lambda x: getattr(torch, op)(x, dim),
               [np.clip(values(shape, "any", seed) * 3, -3, 3)])


def _exact_softmax_vjp(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """s ⊙ (w − ⟨w, s⟩) of one row in 40-digit decimal arithmetic, rounded to float64."""
    with decimal.localcontext() as context:
        context.prec = 40
        e = [decimal.Decimal(float(v)).exp() for v in x]
        total = sum(e)
        s = [v / total for v in e]
        mean = sum(decimal.Decimal(float(wi)) * si for wi, si in zip(w, s))
        return np.array([float(si * (decimal.Decimal(float(wi)) - mean))
                         for si, wi in zip(s, w)])


def _assert_row_vjp_in_both_dims(op, x: np.ndarray, w: np.ndarray, exact: np.ndarray) -> None:
    """The gradient of Σ w ⊙ op(x) for one row x, taken as a row (dim −1) and as a column
    (dim 0), equals ``exact`` to within 1e-14 of its largest entry."""
    for dim, shape in ((-1, (1, -1)), (0, (-1, 1))):
        t = lemmata.tensor(x.reshape(shape), requires_grad=True)
        (op(t, dim) * lemmata.tensor(w.reshape(shape))).sum().backward()
        np.testing.assert_allclose(t.grad.numpy().ravel(), exact, rtol=0,
                                   atol=1e-14 * np.abs(exact).max())


@pytest.mark.parametrize("row", [[7.64536256, -2.87498628], [20.0, 0.0, -3.0], [40.0, 0.0],
                                 [0.0, 12.0, 11.0, -5.0]])
def test_softmax_gradient_of_a_nearly_one_hot_row_keeps_its_digits(row):
    """With one sᵢ near 1 the plain s ⊙ (g − ⟨g, s⟩) cancels (8.5e-8 relative for (20, 0, −3));
    the backward's shifted form agrees with 40-digit arithmetic to within 1e-14, in both dims
    (exp of a spread of 40 alone carries 40 ulps)."""
    x = np.array(row)
    w = np.random.default_rng(7).standard_normal(x.shape)
    _assert_row_vjp_in_both_dims(lemmata.softmax, x, w, _exact_softmax_vjp(x, w))


def _exact_log_softmax_vjp(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """w − s·Σ w of one row in 40-digit decimal arithmetic, rounded to float64."""
    with decimal.localcontext() as context:
        context.prec = 40
        e = [decimal.Decimal(float(v)).exp() for v in x]
        total, weights = sum(e), [decimal.Decimal(float(wi)) for wi in w]
        return np.array([float(wi - v / total * sum(weights)) for v, wi in zip(e, weights)])


@pytest.mark.parametrize("row", [[7.64536256, -2.87498628], [20.0, 0.0, -3.0], [40.0, 0.0],
                                 [0.0, 12.0, 11.0, -5.0], [3.0, 3.0, -30.0]])
@pytest.mark.parametrize("weights", ["one-hot at the largest", "random"])
def test_log_softmax_gradient_of_a_nearly_one_hot_row_keeps_its_digits(row, weights):
    """A confident classifier's cross-entropy gradient, −(1 − s_k)/N at the largest s_k: the
    plain g − s·Σ g gives it to 3.7e-8 relative for (20, 0, −3); the backward's form agrees with
    40-digit arithmetic to within 1e-14, in both dims (ties, as in (3, 3, −30), included)."""
    x = np.array(row)
    w = (np.eye(len(x))[np.argmax(x)] if weights.startswith("one-hot")
         else np.random.default_rng(7).standard_normal(x.shape))
    _assert_row_vjp_in_both_dims(lemmata.log_softmax, x, w, _exact_log_softmax_vjp(x, w))


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 1.5, math.inf, -math.inf])
@given(case=reduction_case(min_side=1), seed=seeds)
def test_norm(p, case, seed):
    shape, dim, keepdim = case
    f_t = lambda x: torch.norm(x, p, dim, keepdim)  # noqa: E731
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:  # torch.norm: matrix norms only
        f_t = lambda x: torch.linalg.vector_norm(x, 2, dim, keepdim)  # noqa: E731
    _check_all(lambda x: x.norm(p, dim, keepdim), f_t, [values(shape, "distinct", seed)])


@given(case=reduction_case(min_side=1), seed=seeds)
def test_norm_of_order_0_counts_the_nonzero_entries_as_torch(case, seed):
    """A step function: values only (PyTorch's gradient is 0, lemmata's result has none)."""
    shape, dim, keepdim = case
    x = np.where(values(shape, "any", seed) > 0.3, values(shape, "any", seed + 1), 0.0)
    for dtype in ("float64", "float32"):
        ours = lemmata.tensor(x.astype(dtype)).norm(0, dim, keepdim)
        theirs = torch.linalg.vector_norm(torch.tensor(x.astype(dtype)), 0, dim, keepdim)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@given(case=reduction_case(min_side=0, max_dims=3, dim_kind="int_or_none"), seed=seeds)
def test_prod(case, seed):
    shape, dim, keepdim = case
    f_t = (lambda x: torch.prod(x)) if dim is None else (lambda x: torch.prod(x, dim, keepdim))
    if dim is None:
        keepdim = False
    _check_all(lambda x: lemmata.prod(x, dim, keepdim), f_t, [values(shape, "any", seed)])


def test_prod_gradient_with_zero_entries_matches_torch():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    for dim in (0, 1):
        check_torch_parity(lambda t: t.prod(dim), lambda t: t.prod(dim), [x])
    check_torch_parity(lambda t: t.prod(), lambda t: t.prod(), [x[:, 1:]])
    check_gradients(lambda t: t.prod(1), [x])
    check_higher_derivatives(lambda t: t.prod(1), lambda t: t.prod(1), [x])
    check_higher_derivatives(lambda t: t.prod(), lambda t: t.prod(), [x[:2]])


# ------------------------------------------------------------------------- higher derivatives

HIGHER = {
    "sum": (lambda x: x.sum(1), lambda x: x.sum(1), "any"),
    "sum_all": (lambda x: x.sum(), lambda x: x.sum(), "any"),
    "mean": (lambda x: x.mean((0, 1), keepdim=True), lambda x: x.mean((0, 1), keepdim=True),
             "any"),
    "var": (lambda x: x.var(1), lambda x: x.var(1), "any"),
    "var_biased": (lambda x: x.var(0, unbiased=False), lambda x: x.var(0, unbiased=False), "any"),
    "std": (lambda x: x.std(1, keepdim=True), lambda x: x.std(1, keepdim=True), "any"),
    "std_all": (lambda x: x.std(correction=0), lambda x: x.std(correction=0), "any"),
    "amax": (lambda x: x.amax(1), lambda x: x.amax(1), "distinct"),
    "amin": (lambda x: x.amin(0), lambda x: x.amin(0), "distinct"),
    "max_all": (lambda x: x.max(), lambda x: x.max(), "distinct"),
    "min_all": (lambda x: x.min(), lambda x: x.min(), "distinct"),
    "logsumexp_dims": (lambda x: x.logsumexp((0, 1)), lambda x: x.logsumexp((0, 1)), "any"),
    "var_correction_2": (lambda x: x.var(1, correction=2), lambda x: x.var(1, correction=2),
                         "any"),
    "min_dim": (lambda x: x.min(1)[0], lambda x: x.min(1)[0], "distinct"),
    "max_dim": (lambda x: x.max(0).values, lambda x: x.max(0).values, "distinct"),
    "logsumexp": (lambda x: x.logsumexp(1), lambda x: x.logsumexp(1), "any"),
    "softmax": (lambda x: x.softmax(1), lambda x: x.softmax(1), "any"),
    "softmax_dim0": (lambda x: lemmata.softmax(x, 0), lambda x: torch.softmax(x, 0), "any"),
    "log_softmax": (lambda x: x.log_softmax(1), lambda x: x.log_softmax(1), "any"),
    "norm": (lambda x: x.norm(), lambda x: x.norm(), "any"),
    "norm_dim": (lambda x: x.norm(dim=1), lambda x: x.norm(dim=1), "any"),
    "norm_1": (lambda x: x.norm(1), lambda x: x.norm(1), "distinct"),
    "norm_3": (lambda x: x.norm(3, 1), lambda x: x.norm(3, 1), "distinct"),
    "norm_inf": (lambda x: x.norm(math.inf), lambda x: x.norm(math.inf), "distinct"),
    "prod": (lambda x: x.prod(1), lambda x: x.prod(1), "any"),
    "prod_all": (lambda x: x.prod(), lambda x: x.prod(), "any"),
}


@pytest.mark.parametrize("name", sorted(HIGHER))
def test_second_and_third_derivatives_match_torch(name):
    f_l, f_t, domain = HIGHER[name]
    check_higher_derivatives(f_l, f_t, [values((2, 3), domain, 11)])


# ------------------------------------------------------------------------- ties and kinks


def _grad(lib, f, x):
    t = lib.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    f(t).sum().backward()
    return t.grad.numpy()


TIES = [[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0]]
TIE_RULES = {
    "max(): shared evenly": lambda x: x.max(),
    "min(): shared evenly": lambda x: x.min(),
    "amax(dim): shared evenly": lambda x: x.amax(1),
    "amin(): shared evenly": lambda x: x.amin(),
    "max(dim): to the returned index": lambda x: x.max(1)[0],
    "min(dim): to the returned index": lambda x: x.min(0).values,
    "norm at zero: zero": lambda x: (x * 0).norm(dim=1),
    "std of constants: zero": lambda x: (x * 0).std(1),
    "norm inf with ties": lambda x: x.norm(math.inf, 1),
}


@pytest.mark.parametrize("rule", sorted(TIE_RULES))
def test_tie_rules_match_torch(rule):
    f = TIE_RULES[rule]
    np.testing.assert_array_equal(_grad(lemmata, f, TIES), _grad(torch, f, TIES))


def test_max_dim_gradient_goes_to_the_first_maximum():
    g = _grad(lemmata, lambda x: x.max(1).values, TIES)
    np.testing.assert_array_equal(g, [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_amax_gradient_is_shared_among_ties():
    g = _grad(lemmata, lambda x: x.amax(1), TIES)
    np.testing.assert_allclose(g, [[0, 0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3, 0]])


def test_softmax_and_logsumexp_are_stable_for_large_inputs():
    x = np.array([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]], np.float32)
    for name in ("softmax", "log_softmax"):
        ours = getattr(lemmata, name)(lemmata.tensor(x), 1).numpy()
        theirs = getattr(torch, name)(torch.tensor(x), 1).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    ours = lemmata.logsumexp(lemmata.tensor(x), 1).numpy()
    np.testing.assert_allclose(ours, torch.logsumexp(torch.tensor(x), 1).numpy(), rtol=1e-6)
    assert np.isfinite(ours).all()


def test_logsumexp_of_minus_infinity_is_minus_infinity():
    x = np.full((2, 3), -np.inf)
    np.testing.assert_array_equal(lemmata.logsumexp(lemmata.tensor(x), 1).numpy(),
                                  torch.logsumexp(torch.tensor(x), 1).numpy())


# ------------------------------------------------------------------------- dtypes and shapes


@pytest.mark.parametrize("data", [[True, False, True], [1, 2, 3], [[1, 2], [3, 4]]])
def test_sum_of_bool_and_int_tensors_is_int64(data):
    ours, theirs = lemmata.tensor(data).sum(), torch.tensor(data).sum()
    assert ours.dtype == lemmata.int64 and ours.item() == theirs.item()


def test_sum_and_mean_with_dtype_argument():
    x = [[1, 2], [3, 4]]
    assert lemmata.tensor(x).sum(dtype=lemmata.float64).dtype == lemmata.float64
    assert lemmata.tensor(x).mean(dtype=lemmata.float32).item() == 2.5


def test_mean_of_integer_tensor_raises_like_torch():
    with pytest.raises(RuntimeError, match="mean: .*int64"):
        lemmata.tensor([1, 2]).mean()


def test_reductions_of_empty_tensors_match_torch():
    for shape in [(0,), (2, 0), (0, 3)]:
        x = np.zeros(shape)
        for f in (lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.prod(),
                  lambda t: t.sum(-1, keepdim=True)):
            ours, theirs = f(lemmata.tensor(x)), f(torch.tensor(x))
            assert tuple(ours.shape) == tuple(theirs.shape)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_mean_and_var_of_empty_tensors_are_nan_without_warnings(recwarn):
    for f in (lambda t: t.mean(), lambda t: t.mean(0), lambda t: t.var(0)):
        ours = f(lemmata.zeros(0, 2)).numpy()
        assert np.isnan(ours).all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_amax_with_an_empty_dim_list_reduces_everything():
    x = np.array([[1.0, 5.0], [7.0, 2.0]])
    for dims in ((), []):
        assert lemmata.amax(lemmata.tensor(x), dims).item() == torch.amax(torch.tensor(x),
                                                                          dims).item()


def test_max_min_return_named_tuples():
    x = lemmata.tensor([[1.0, 5.0], [7.0, 2.0]])
    out = x.max(dim=1)
    assert out.values.tolist() == [5.0, 7.0] and out.indices.tolist() == [1, 0]
    out = lemmata.min(x, 0, keepdim=True)
    assert out.values.tolist() == [[1.0, 2.0]] and out.indices.tolist() == [[0, 1]]


def test_max_with_a_tensor_is_elementwise():
    a, b = lemmata.tensor([1.0, 5.0]), lemmata.tensor([3.0, 2.0])
    assert lemmata.max(a, b).tolist() == [3.0, 5.0]
    assert a.min(b).tolist() == [1.0, 2.0]


def test_softmax_sums_to_one_and_log_softmax_is_its_log():
    x = lemmata.randn(4, 5, dtype=lemmata.float64)
    s = lemmata.softmax(x, -1)
    np.testing.assert_allclose(s.sum(-1).numpy(), np.ones(4), rtol=1e-14)
    np.testing.assert_allclose(lemmata.log_softmax(x, -1).numpy(), np.log(s.numpy()), rtol=1e-12)


def test_reductions_run_on_complex128():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    t = lemmata.tensor(z)
    np.testing.assert_allclose(t.sum(1).numpy(), z.sum(1), rtol=1e-14)
    np.testing.assert_allclose(t.mean().numpy(), z.mean(), rtol=1e-14)
    np.testing.assert_allclose(t.prod(0).numpy(), z.prod(0), rtol=1e-14)
    np.testing.assert_allclose(lemmata.logsumexp(t, 1).numpy(),
                               torch.logsumexp(torch.tensor(z), 1).numpy(), rtol=1e-12)
    e = np.exp(z)  # PyTorch has no complex softmax: compare with the definition
    np.testing.assert_allclose(lemmata.softmax(t, 1).numpy(), e / e.sum(1, keepdims=True),
                               rtol=1e-12)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
def test_sums_that_keep_a_few_innermost_entries_fold_their_rows(dtype, keepdim, monkeypatch):
    """A bias gradient of channels-last activations (an NCHW view, summed over N, H, W) takes
    the folded narrow-row sum; it equals the plain NumPy reduction to rounding.  Few rows (a
    linear layer's bias gradient) go to NumPy's own loop."""
    from lemmata.ops import reduce as reduce_module
    rng = np.random.default_rng(2)
    few = rng.standard_normal((reduce_module.NARROW_MIN_ROWS - 1, 10)).astype(dtype)
    assert reduce_module._sum_of_narrow_rows(few, (0,), keepdim) is None
    monkeypatch.setattr(reduce_module, "NARROW_MIN_ROWS", 0)
    memory = rng.standard_normal((6, 10, 12, 5)).astype(dtype)
    if dtype == "complex128":
        memory = memory + 1j * rng.standard_normal(memory.shape)
    cases = [(np.moveaxis(memory, -1, 1), (0, 2, 3), True),    # NCHW view: keep C
             (memory, (0, 1), False),                           # keep (W, C) = 60 entries: plain
             (np.swapaxes(memory.reshape(360, 2, 5), 1, 2), (0,), True)]   # kept axes swapped
    for array, dims, narrow in cases:
        assert (reduce_module._sum_of_narrow_rows(array, dims, keepdim) is not None) == narrow
        folded = lemmata.tensor(array).sum(dim=dims, keepdim=keepdim).numpy()
        with monkeypatch.context() as patch:
            patch.setattr(reduce_module, "NARROW_ROW", 0)
            plain = lemmata.tensor(array).sum(dim=dims, keepdim=keepdim).numpy()
        expected = array.sum(axis=dims, keepdims=keepdim)
        assert folded.shape == plain.shape == expected.shape and folded.dtype == expected.dtype
        tolerance = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(folded, expected, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(plain, expected, rtol=tolerance, atol=tolerance)


# ------------------------------------------------------------------------------ scans


@given(case=reduction_case(min_side=0, dim_kind="int"), seed=seeds)
def test_cumsum(case, seed):
    shape, dim, _ = case
    x = values(shape, "any", seed)
    check_gradients(lambda t: lemmata.cumsum(t, dim), [x])
    for dtype in ("float64", "float32"):
        check_torch_parity(lambda t: t.cumsum(dim), lambda t: t.cumsum(dim), [x], dtype)


def test_cumsum_second_and_third_derivatives_match_torch():
    x = values((3, 4), "any", 7)
    check_higher_derivatives(lambda t: lemmata.cumsum(t * t, 1), lambda t: torch.cumsum(t * t, 1),
                             [x])


def test_cumsum_dtypes_and_errors_as_torch():
    for data, dtype in (([True, True, False], None), ([1, 2, 3], None), ([1, 2], "float32"),
                        ([1.5, 2.5], "float64")):
        ours = lemmata.cumsum(lemmata.tensor(data), 0,
                              dtype=None if dtype is None else getattr(lemmata, dtype))
        theirs = torch.cumsum(torch.tensor(data), 0,
                              dtype=None if dtype is None else getattr(torch, dtype))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert ours.tolist() == theirs.tolist()
    assert lemmata.cumsum(lemmata.tensor(2.5), -1).item() == 2.5
    with pytest.raises(IndexError, match=r"cumsum: dim 2 is out of range"):
        lemmata.cumsum(lemmata.zeros(2, 2), 2)
    with pytest.raises(TypeError, match=r"cumsum: expected a Tensor, got list"):
        lemmata.cumsum([1, 2], 0)
