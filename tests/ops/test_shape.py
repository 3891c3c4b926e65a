"""lemmata.ops.shape: every shape op against finite differences, the complex step and PyTorch
(values and gradients, float32 and float64) on hypothesis-generated shapes and arguments,
including size-1 and size-0 dims; indexing in all its forms (basic, slices, negative steps,
None/Ellipsis, integer arrays with repeats, boolean masks), assignment, padding modes, casts."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, strategies as st
from hypothesis.extra.numpy import array_shapes

import lemmata
from checks import check_gradients, check_torch_parity
from higher_order import check_higher_derivatives, values

seeds = st.integers(0, 2 ** 32 - 1)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
nonempty_shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


def _check_all(f_l, f_t, arrays, complex_step=True):
    check_gradients(f_l, arrays, complex_step=complex_step)
    check_torch_parity(f_l, f_t, arrays, "float64")
    check_torch_parity(f_l, f_t, arrays, "float32")


def _same(f):
    return f, f


# ------------------------------------------------------------------------- views and reshapes


@st.composite
def reshape_case(draw):
    shape = draw(shapes)
    n = int(np.prod(shape, dtype=np.int64))
    candidates = [(n,), tuple(reversed(shape)), (1,) + tuple(shape) + (1,)]
    if n:
        candidates += [(-1,), (1, -1), (-1, 1)]
    if len(shape) >= 2:
        candidates += [(shape[0] * shape[1],) + tuple(shape[2:]), (shape[0], -1) if n else shape]
    return shape, draw(st.sampled_from(candidates))


@given(case=reshape_case(), seed=seeds, method=st.sampled_from(["reshape", "view", "fn"]))
def test_reshape_and_view(case, seed, method):
    shape, target = case
    if method == "fn":
        f_l, f_t = (lambda x: lemmata.reshape(x, target)), (lambda x: torch.reshape(x, target))
    elif target:
        f_l = f_t = lambda x: getattr(x, method)(*target)
    else:  # shape (): only the tuple spelling exists
        f_l = f_t = lambda x: getattr(x, method)(target)
    _check_all(f_l, f_t, [values(shape, "any", seed)])


@given(shape=shapes, seed=seeds, data=st.data())
def test_flatten(shape, seed, data):
    span = max(len(shape), 1)
    start = data.draw(st.integers(-span, span - 1))
    end = data.draw(st.integers(-span, span - 1))
    assume(start % span <= end % span)
    _check_all(*_same(lambda x: x.flatten(start, end)), [values(shape, "any", seed)])


@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_unflatten(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    sizes = data.draw(st.sampled_from([(n, 1), (1, n), (1, -1), (n,)]))
    _check_all(*_same(lambda x: x.unflatten(dim, sizes)), [values(shape, "any", seed)])


@given(shape=shapes, seed=seeds, data=st.data())
def test_unsqueeze(shape, seed, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    _check_all(*_same(lambda x: x.unsqueeze(dim)), [values(shape, "any", seed)])


@given(shape=array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=2), seed=seeds,
       data=st.data())
def test_squeeze(shape, seed, data):
    span = max(len(shape), 1)
    dim = data.draw(st.one_of(st.none(), st.integers(-span, span - 1),
                              st.lists(st.integers(0, span - 1), min_size=1, max_size=span,
                                       unique=True).map(tuple)))
    f = (lambda x: x.squeeze()) if dim is None else (lambda x: x.squeeze(dim))
    _check_all(*_same(f), [values(shape, "any", seed)])


@given(shape=shapes, seed=seeds, data=st.data())
def test_permute(shape, seed, data):
    dims = data.draw(st.permutations(range(len(shape))))
    dims = [d - len(shape) if data.draw(st.booleans()) else d for d in dims]
    if dims:  # the varargs spelling needs at least one dim
        _check_all(*_same(lambda x: x.permute(*dims)), [values(shape, "any", seed)])
    _check_all(*_same(lambda x: x.permute(tuple(dims))), [values(shape, "any", seed)])
    _check_all(lambda x: lemmata.permute(x, dims), lambda x: torch.permute(x, dims),
               [values(shape, "any", seed)])


@given(shape=shapes, seed=seeds, data=st.data())
def test_transpose(shape, seed, data):
    span = max(len(shape), 1)
    d0, d1 = data.draw(st.integers(-span, span - 1)), data.draw(st.integers(-span, span - 1))
    _check_all(*_same(lambda x: x.transpose(d0, d1)), [values(shape, "any", seed)])


@given(shape=array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4), seed=seeds)
def test_t_of_matrices_vectors_and_scalars(shape, seed):
    _check_all(*_same(lambda x: x.t()), [values(shape, "any", seed)])
    _check_all(lemmata.t, torch.t, [values(shape, "any", seed)])


@given(shape=array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=4), seed=seeds)
def test_T_of_matrices(shape, seed):
    _check_all(*_same(lambda x: x.T), [values(shape, "any", seed)])


@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), seed=seeds)
def test_T_of_any_rank_reverses_all_dims(shape, seed):
    # PyTorch deprecates T for ndim != 2; lemmata keeps NumPy's meaning
    x = values(shape, "any", seed)
    np.testing.assert_array_equal(lemmata.tensor(x).T.numpy(), x.T)
    check_gradients(lambda t: t.T, [x])


@given(shape=array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=3), seed=seeds)
def test_mT(shape, seed):
    _check_all(*_same(lambda x: x.mT), [values(shape, "any", seed)])


@st.composite
def expand_case(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=2))
    lead = draw(st.lists(st.integers(0, 3), max_size=2))
    # a size-1 dim may grow to any size (0 included); any existing dim may be given as −1
    target = [-1 if draw(st.booleans()) else (draw(st.integers(0, 3)) if n == 1 else n)
              for n in shape]
    return shape, tuple(lead) + tuple(target)


@given(case=expand_case(), seed=seeds)
def test_expand(case, seed):
    shape, target = case
    if target:  # the varargs spelling needs at least one size
        _check_all(*_same(lambda x: x.expand(*target)), [values(shape, "any", seed)])
    _check_all(*_same(lambda x: x.expand(target) * 1.0), [values(shape, "any", seed)])


@given(case=expand_case(), seed=seeds)
def test_expand_as_and_broadcast_to(case, seed):
    shape, target = case
    full = tuple(n if t == -1 else t for t, n in zip(target[len(target) - len(shape):], shape))
    full = target[:len(target) - len(shape)] + full
    f_l = lambda x: lemmata.broadcast_to(x, full)  # noqa: E731
    f_t = lambda x: torch.broadcast_to(x, full)  # noqa: E731
    _check_all(f_l, f_t, [values(shape, "any", seed)])
    other = np.zeros(full)
    _check_all(lambda x: x.expand_as(lemmata.tensor(other, dtype=x.dtype)),
               lambda x: x.expand_as(torch.tensor(other, dtype=x.dtype)),
               [values(shape, "any", seed)])


@given(shape=array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3), seed=seeds,
       data=st.data())
def test_repeat(shape, seed, data):
    extra = data.draw(st.integers(0, 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=len(shape) + extra,
                               max_size=len(shape) + extra))
    assume(len(sizes) > 0)
    _check_all(*_same(lambda x: x.repeat(*sizes)), [values(shape, "any", seed)])


@given(shape=shapes, seed=seeds, data=st.data())
def test_flip(shape, seed, data):
    span = max(len(shape), 1)
    dims = data.draw(st.lists(st.integers(0, span - 1), min_size=1, max_size=span, unique=True))
    dims = [d - span if data.draw(st.booleans()) else d for d in dims]
    assume(len(shape) > 0)
    _check_all(lambda x: lemmata.flip(x, dims), lambda x: torch.flip(x, dims),
               [values(shape, "any", seed)])
    _check_all(*_same(lambda x: x.flip(*dims)), [values(shape, "any", seed)])


@given(shape=shapes, seed=seeds)
def test_clone(shape, seed):
    _check_all(*_same(lambda x: x.clone() * 1.5), [values(shape, "any", seed)])


def test_clone_owns_its_memory_and_is_recorded():
    x = lemmata.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert y.grad_fn is not None and not np.shares_memory(y.detach().numpy(),
                                                          x.detach().numpy())


# ------------------------------------------------------------------------- joining and splitting


@st.composite
def cat_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    pieces = []
    for n in sizes:
        s = list(shape)
        s[dim] = n
        pieces.append(tuple(s))
    return pieces, dim


@given(case=cat_case(), seed=seeds)
def test_cat(case, seed):
    pieces, dim = case
    arrays = [values(s, "any", seed + i) for i, s in enumerate(pieces)]
    _check_all(lambda *ts: lemmata.cat(ts, dim), lambda *ts: torch.cat(ts, dim), arrays)
    _check_all(lambda *ts: lemmata.concat(list(ts), dim=dim),
               lambda *ts: torch.concat(list(ts), dim=dim), arrays)


def test_cat_skips_legacy_empty_1d_tensors_as_torch():
    a, e = np.ones((2, 3)), np.zeros((0,))
    check_torch_parity(lambda x, y: lemmata.cat([x, y, x], 0),
                       lambda x, y: torch.cat([x, y, x], 0), [a, e])


def test_cat_promotes_dtypes_as_torch():
    ours = lemmata.cat([lemmata.tensor([1, 2]), lemmata.tensor([0.5])])
    theirs = torch.cat([torch.tensor([1, 2]), torch.tensor([0.5])])
    assert ours.dtype == lemmata.float32 and str(theirs.dtype) == "torch.float32"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@given(shape=array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3), seed=seeds,
       n=st.integers(1, 3), data=st.data())
def test_stack(shape, seed, n, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [values(shape, "any", seed + i) for i in range(n)]
    _check_all(lambda *ts: lemmata.stack(ts, dim), lambda *ts: torch.stack(ts, dim), arrays)


@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_split_chunk_unbind(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    size = data.draw(st.integers(1, 4))
    sections = data.draw(st.lists(st.integers(0, n), min_size=1, max_size=3).filter(
        lambda s: sum(s) <= n))
    sections = sections + [n - sum(sections)]
    chunks = data.draw(st.integers(1, 4))
    x = [values(shape, "any", seed)]

    def weighted(pieces):  # one output that depends on every piece, each with its own weight
        return lambda_cat([p * (i + 1) for i, p in enumerate(pieces)])

    def lambda_cat(pieces):
        lib = lemmata if isinstance(pieces[0], lemmata.Tensor) else torch
        return lib.cat([p.reshape(-1) for p in pieces])

    for f in (lambda t: t.split(size, dim), lambda t: t.split(sections, dim),
              lambda t: t.chunk(chunks, dim), lambda t: t.unbind(dim)):
        _check_all(lambda t: weighted(f(t)), lambda t: weighted(f(t)), x)
        got, expected = f(lemmata.tensor(x[0])), f(torch.tensor(x[0]))
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g.numpy(), e.numpy())


@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_select_and_narrow(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    index = data.draw(st.integers(-n, n - 1))
    start = data.draw(st.integers(-n, n - 1))
    length = data.draw(st.integers(0, n - start % n))
    x = [values(shape, "any", seed)]
    _check_all(*_same(lambda t: t.select(dim, index)), x)
    _check_all(*_same(lambda t: t.narrow(dim, start, length)), x)
    _check_all(lambda t: lemmata.narrow(t, dim, start, length),
               lambda t: torch.narrow(t, dim, start, length), x)


@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_gather_with_repeated_and_smaller_indices(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = [data.draw(st.integers(0, n)) for n in shape]
    index_shape[dim] = data.draw(st.integers(0, 4))  # along dim: any length, repeats allowed
    index = np.random.default_rng(seed).integers(0, shape[dim], index_shape)
    _check_all(lambda t: t.gather(dim, lemmata.tensor(index)),
               lambda t: torch.gather(t, dim, torch.tensor(index)),
               [values(shape, "any", seed)])


# ------------------------------------------------------------------------- indexing

X_SHAPE = (3, 4, 2)
INDICES = {
    "int": 1,
    "negative int": -1,
    "two ints": (1, -2),
    "three ints": (2, 0, 1),
    "slice": slice(1, None),
    "slice with step": slice(None, None, 2),
    "slice out of range": slice(1, 100),
    "empty slice": slice(2, 2),
    "slice on dim 1": (slice(None), slice(1, 3)),
    "int and slice": (0, slice(None, None, 3)),
    "None": None,
    "None in the middle": (slice(None), None, 1),
    "Ellipsis": Ellipsis,
    "Ellipsis then int": (Ellipsis, 1),
    "Ellipsis then None": (Ellipsis, None),
    "int, Ellipsis, int": (1, Ellipsis, 0),
    "int list with repeats": [0, 0, 2, 0],
    "negative int list": [-1, 0],
    "int tensor with repeats": lemmata.tensor([2, 2, 1]),
    "2-D int tensor": lemmata.tensor([[0, 1], [1, 1]]),
    "empty int list": [],
    "two int arrays": (lemmata.tensor([0, 2, 0]), lemmata.tensor([1, 1, 1])),
    "int arrays broadcast": (lemmata.tensor([[0], [2]]), lemmata.tensor([1, 3])),
    "slice then int array": (slice(None), [3, 0, 3]),
    "int array then slice then int": ([1, 1], slice(None), 1),
    "separated int arrays": ([0, 1], slice(None), [1, 0]),
    "bool mask of all dims": "mask3",
    "bool mask of first dim": "mask1",
    "bool mask of first two dims": "mask2",
    "bool mask and int": ("mask1", 1),
    "bool list": [True, False, True],
    "int tensor scalar": lemmata.tensor(1),
}


def _resolve(index, lib, x):
    """Translate an index spec into lemmata or torch objects (masks derived from x)."""
    if isinstance(index, tuple):
        return tuple(_resolve(i, lib, x) for i in index)
    if isinstance(index, str):
        ndim = int(index[-1])
        mask = (x.reshape(X_SHAPE[:ndim] + (-1,)).sum(-1) > 0) if ndim < 3 else x > 0
        return lib.tensor(np.asarray(mask))
    if isinstance(index, lemmata.Tensor):
        return lib.tensor(index.numpy())
    return index


@pytest.mark.parametrize("name", sorted(INDICES))
def test_getitem(name):
    x = values(X_SHAPE, "any", 4)
    index = INDICES[name]
    f_l = lambda t: t[_resolve(index, lemmata, x)]  # noqa: E731
    f_t = lambda t: t[_resolve(index, torch, x)]  # noqa: E731
    _check_all(f_l, f_t, [x])


@pytest.mark.parametrize("index", [slice(None, None, -1), (slice(None), slice(3, 0, -2)),
                                   (Ellipsis, slice(None, None, -1)),
                                   (1, slice(None, None, -3), None)])
def test_getitem_with_negative_steps_matches_numpy(index):
    # PyTorch refuses negative steps; NumPy defines them (and flip is the PyTorch spelling)
    x = values(X_SHAPE, "any", 5)
    np.testing.assert_array_equal(lemmata.tensor(x)[index].numpy(), x[index])
    check_gradients(lambda t: t[index], [x])


def test_getitem_gradient_accumulates_over_repeated_indices():
    x = lemmata.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_getitem_second_derivative_through_index_scatter():
    index = [2, 0, 2]
    check_higher_derivatives(lambda t: t[index] ** 3 * t[1], lambda t: t[index] ** 3 * t[1],
                             [values((4,), "any", 1)])
    check_higher_derivatives(lambda t: t[t > 0] ** 2, lambda t: t[t > 0] ** 2,
                             [values((2, 3), "away0", 2)])


def test_gather_second_derivative():
    index = np.array([[0, 0, 1], [1, 0, 1]])
    check_higher_derivatives(lambda t: t.gather(1, lemmata.tensor(index)) ** 3,
                             lambda t: t.gather(1, torch.tensor(index)) ** 3,
                             [values((2, 2), "any", 3)])


# ------------------------------------------------------------------------- assignment

SET_INDICES = {
    "int": (1, (4, 2)),
    "slice": (slice(0, 2), (2, 4, 2)),
    "broadcast value": ((slice(None), 1), (2,)),
    "scalar value": ((0, 1, 1), ()),
    "int array": ([2, 0], (2, 4, 2)),
    "bool mask": ("mask3", None),
    "bool mask of first dim": ("mask1", None),
    "Ellipsis": ((Ellipsis, 0), (1,)),
}


@pytest.mark.parametrize("name", sorted(SET_INDICES))
def test_setitem_on_a_non_leaf_matches_torch(name):
    index, v_shape = SET_INDICES[name]
    x = values(X_SHAPE, "any", 6)
    if v_shape is None:  # a mask takes as many values as it selects
        v_shape = (int(np.asarray(_resolve(index, lemmata, x).numpy()).sum()),)
        if name == "bool mask of first dim":
            v_shape = v_shape + X_SHAPE[1:]

    def f(lib):
        def run(t, v):
            y = t * 2.0
            y[_resolve(index, lib, x)] = v
            return y * t
        return run
    v = values(v_shape, "any", 7)
    _check_all(f(lemmata), f(torch), [x, v])


def test_setitem_with_a_python_scalar_and_index_put():
    x = values((3, 4), "any", 1)

    def f(lib):
        def run(t):
            y = t * 3.0  # (exp would save its output, and writing into it breaks backward)
            y[1:, ::2] = 0.5
            return y
        return run
    _check_all(f(lemmata), f(torch), [x])
    t = lemmata.tensor(x, requires_grad=True)
    v = lemmata.tensor(np.ones(4), requires_grad=True)
    y = lemmata.ops.index_put(t, 1, v)
    expected = x.copy()
    expected[1] = 1.0
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    (y * lemmata.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [4.0, 5.0, 6.0, 7.0])
    np.testing.assert_array_equal(t.grad.numpy()[1], np.zeros(4))
    assert not np.shares_memory(t.detach().numpy(), x)


def test_setitem_without_grad_writes_in_place():
    x = lemmata.zeros(2, 3)
    view = x.detach()
    x[0, 1:] = lemmata.tensor([1.0, 2.0])
    x[x == 0] = 7.0
    np.testing.assert_array_equal(view.numpy(), [[7.0, 1.0, 2.0], [7.0, 7.0, 7.0]])


# ------------------------------------------------------------------------- padding


@st.composite
def constant_pad_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
    pairs = draw(st.integers(1, len(shape)))
    pad = []
    for i in range(pairs):
        n = shape[len(shape) - 1 - i]
        before = draw(st.integers(-n, 2))
        after = draw(st.integers(-(n + min(before, 0)), 2))  # never below size 0
        pad += [before, after]
    return shape, pad, draw(st.sampled_from([None, 0.0, -1.5]))


@given(case=constant_pad_case(), seed=seeds)
def test_constant_pad_including_negative_crops(case, seed):
    shape, pad, value = case
    kwargs = {} if value is None else {"value": value}
    _check_all(lambda t: lemmata.ops.pad(t, pad, **kwargs),
               lambda t: TF.pad(t, pad, **kwargs), [values(shape, "any", seed)])


@st.composite
def mode_pad_case(draw, mode):
    dims = draw(st.integers(1, 3))  # padded dims: input is (C, *spatial), batched or not
    batch = draw(st.sampled_from([(), (2,)]))
    spatial = tuple(draw(st.integers(2, 3)) for _ in range(dims))
    shape = batch + (draw(st.integers(1, 2)),) + spatial
    limit = {"reflect": lambda n: n - 1, "replicate": lambda n: 3, "circular": lambda n: n}[mode]
    pad = []
    for n in reversed(spatial):
        pad += [draw(st.integers(0, limit(n))), draw(st.integers(0, limit(n)))]
    return shape, pad


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@given(data=st.data(), seed=seeds)
def test_reflect_replicate_circular_pad(mode, data, seed):
    shape, pad = data.draw(mode_pad_case(mode))
    assume(int(np.prod(shape)) <= 36)
    _check_all(lambda t: lemmata.ops.pad(t, pad, mode=mode),
               lambda t: TF.pad(t, pad, mode=mode), [values(shape, "any", seed)])


def test_pad_second_derivative():
    check_higher_derivatives(lambda t: lemmata.ops.pad(t, [1, 2, -1, 1]) ** 3,
                             lambda t: TF.pad(t, [1, 2, -1, 1]) ** 3, [values((3, 2), "any", 1)])
    check_higher_derivatives(lambda t: lemmata.ops.pad(t, [2, 1], mode="reflect") ** 3,
                             lambda t: TF.pad(t, [2, 1], mode="reflect") ** 3,
                             [values((1, 4), "any", 2)])


# ------------------------------------------------------------------------- casts


@pytest.mark.parametrize("source, target", [("float32", "float64"), ("float64", "float32")])
def test_cast_values_and_gradient_dtypes_match_torch(source, target):
    x = values((2, 3), "any", 1).astype(source)
    ours = lemmata.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y_l, y_t = ours.to(getattr(lemmata, target)), theirs.to(getattr(torch, target))
    assert y_l.dtype == getattr(lemmata, target)
    (y_l * y_l).sum().backward()
    (y_t * y_t).sum().backward()
    assert ours.grad.dtype == ours.dtype  # the gradient is cast back to the input's dtype
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_cast_to_an_integer_dtype_cuts_the_graph_and_same_dtype_returns_self():
    x = lemmata.tensor([1.7, -2.2], requires_grad=True)
    i = x.to(lemmata.int64)
    assert i.dtype == lemmata.int64 and not i.requires_grad
    np.testing.assert_array_equal(i.numpy(), torch.tensor([1.7, -2.2]).long().numpy())
    assert x.to(lemmata.float32) is x and x.float() is x
    assert x.double().dtype == lemmata.float64 and x.double().grad_fn is not None


@given(st.lists(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=2), min_size=1,
                max_size=3))
def test_broadcast_shape_is_numpys(shapes):
    """The checks' broadcast_shape (at once for equal shapes and scalars) gives
    np.broadcast_shapes's result, and fails where it fails."""
    from lemmata.ops.arguments import broadcast_shape
    try:
        expected = np.broadcast_shapes(*shapes)
    except ValueError:
        with pytest.raises(ValueError):
            broadcast_shape(*shapes)
        return
    assert broadcast_shape(*shapes) == expected


# ------------------------------------------------------------------------------ sorting, selecting


@given(shape=nonempty_shapes, seed=seeds, data=st.data(), descending=st.booleans())
def test_sort_values_and_indices(shape, seed, data, descending):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = values(shape, "any", seed)                       # continuous draws: no ties
    _check_all(lambda t: t.sort(dim, descending).values,
               lambda t: t.sort(dim, descending=descending).values, [x])
    np.testing.assert_array_equal(
        lemmata.tensor(x).argsort(dim, descending).numpy(),
        torch.tensor(x).argsort(dim, descending=descending).numpy())


@given(shape=nonempty_shapes, seed=seeds, data=st.data(), largest=st.booleans())
def test_topk(shape, seed, data, largest):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[dim]))
    x = values(shape, "any", seed)
    _check_all(lambda t: t.topk(k, dim, largest).values,
               lambda t: t.topk(k, dim, largest).values, [x])
    np.testing.assert_array_equal(lemmata.tensor(x).topk(k, dim, largest).indices.numpy(),
                                  torch.tensor(x).topk(k, dim, largest).indices.numpy())


@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_index_select_with_repeats(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    index = np.asarray(data.draw(st.lists(st.integers(0, n - 1), max_size=5)), dtype=np.int64)
    _check_all(lambda t: t.index_select(dim, lemmata.tensor(index)),
               lambda t: t.index_select(dim, torch.tensor(index)), [values(shape, "any", seed)])


def test_sort_ties_nan_and_errors_as_torch():
    x = [[3.0, np.nan, 1.0, 2.0, 1.0], [0.5, -1.0, np.inf, np.nan, 0.5]]
    for kwargs in ({}, {"descending": True}):
        ours = lemmata.tensor(x).sort(dim=1, stable=True, **kwargs)
        theirs = torch.tensor(x).sort(dim=1, stable=True, **kwargs)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert lemmata.sort(lemmata.tensor(2.0)).values.item() == 2.0
    with pytest.raises(RuntimeError, match=r"topk: k must be an integer in \[0, 3\] for dim 0"):
        lemmata.zeros(3).topk(4)
    with pytest.raises(RuntimeError, match=r"index_select: index must be a 1-D integer tensor, "
                                           r"got 1-D float32"):
        lemmata.zeros(3).index_select(0, lemmata.tensor([0.0]))
    with pytest.raises(IndexError, match=r"index_select: index out of range \[-3, 3\) for dim 0"):
        lemmata.zeros(3).index_select(0, lemmata.tensor([3]))


@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_scatter_add_with_repeated_positions(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    index_shape = tuple(data.draw(st.integers(0, n)) if d != dim % len(shape)
                        else data.draw(st.integers(0, 4)) for d, n in enumerate(shape))
    index = rng.integers(0, shape[dim], index_shape)
    x, src = values(shape, "any", seed), values(index_shape, "any", seed + 1)
    _check_all(lambda x, s: x.scatter_add(dim, lemmata.tensor(index), s),
               lambda x, s: x.scatter_add(dim, torch.tensor(index), s), [x, src])
    # a larger src is read in its leading part (values only: PyTorch's backward refuses it)
    larger = values(tuple(n + 1 for n in index_shape), "any", seed + 2)
    np.testing.assert_allclose(
        lemmata.tensor(x).scatter_add(dim, lemmata.tensor(index), lemmata.tensor(larger)).numpy(),
        torch.tensor(x).scatter_add(dim, torch.tensor(index), torch.tensor(larger)).numpy(),
        rtol=1e-12)


@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_scatter_to_distinct_positions(shape, seed, data):
    """Distinct positions along dim (a permutation's leading part), so that no write wins over
    another; the input's gradient is cleared there, the source's gathered back."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1)) % len(shape)
    rng = np.random.default_rng(seed)
    k = data.draw(st.integers(0, shape[dim]))
    index_shape = shape[:dim] + (k,) + shape[dim + 1:]
    index = np.argsort(rng.random(shape), axis=dim)[
        tuple(slice(0, k) if d == dim else slice(None) for d in range(len(shape)))]
    _check_all(lambda x, s: x.scatter(dim, lemmata.tensor(index), s),
               lambda x, s: x.scatter(dim, torch.tensor(index), s),
               [values(shape, "any", seed), values(index_shape, "any", seed + 1)])
    _check_all(lambda x: x.scatter(dim, lemmata.tensor(index), value=2.5),
               lambda x: x.scatter(dim, torch.tensor(index), value=2.5),
               [values(shape, "any", seed)])


def test_scatter_in_place_repeats_and_errors_as_torch():
    index = [[0, 1, 0], [2, 0, 0]]
    ours, theirs = lemmata.zeros(3, 3), torch.zeros(3, 3)
    ours.scatter_(0, lemmata.tensor(index), lemmata.arange(1.0, 7.0).reshape(2, 3))
    theirs.scatter_(0, torch.tensor(index), torch.arange(1.0, 7.0).reshape(2, 3))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())      # the last write stays
    ours.scatter_add_(1, lemmata.tensor([[2, 2]]), lemmata.ones(1, 2))
    theirs.scatter_add_(1, torch.tensor([[2, 2]]), torch.ones(1, 2))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(IndexError, match=r"scatter_add: index out of range \[0, 3\) for dim 0"):
        lemmata.zeros(3).scatter_add(0, lemmata.tensor([3]), lemmata.ones(1))
    with pytest.raises(RuntimeError, match=r"scatter: index has 1 dimensions but the input has 2"):
        lemmata.zeros(3, 3).scatter(0, lemmata.tensor([0]), value=1.0)
    with pytest.raises(RuntimeError, match=r"scatter_add: src of shape \(1,\) must be at least "
                                           r"as large as the index \(2,\)"):
        lemmata.zeros(3).scatter_add(0, lemmata.tensor([0, 1]), lemmata.ones(1))
    with pytest.raises(TypeError, match=r"scatter: give exactly one of src and value"):
        lemmata.zeros(3).scatter(0, lemmata.tensor([0]))
