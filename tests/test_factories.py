"""lemmata.factories: tensors from data (dtype inference as PyTorch, copies vs shared memory),
constant fills, ranges (the same values as torch.arange, float steps included), random draws
(shapes, dtypes, ranges, reproducibility under manual_seed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import lemmata


def _same(ours, theirs, rtol=0.0):
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol)


# ------------------------------------------------------------------------- from data

DATA = {
    "ints": [1, 2, 3],
    "floats": [1.5, -2.0],
    "mixed ints and floats": [1, 2.5],
    "bools": [True, False],
    "bools and ints": [True, 2],
    "nested": [[1, 2], [3, 4]],
    "tuples": ((1.0, 2.0), (3.0, 4.0)),
    "scalar int": 7,
    "scalar float": 3.25,
    "scalar bool": True,
    "complex": [1 + 2j, 3.0],
    "empty": [],
    "empty nested": [[], []],
    "numpy float64": np.array([1.5, 2.5]),
    "numpy int32": np.array([1, 2], dtype=np.int32),
    "numpy scalar": np.float64(2.0),
    "numpy scalars in a list": [np.float32(2.0), 1],
}


@pytest.mark.parametrize("name", sorted(DATA))
def test_tensor_infers_dtypes_as_torch(name):
    _same(lemmata.tensor(DATA[name]), torch.tensor(DATA[name]))


def test_tensor_of_tensors_and_explicit_dtype():
    _same(lemmata.tensor([lemmata.tensor(1.0), lemmata.tensor(2.0)]),
          torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]))
    _same(lemmata.tensor([1, 2], dtype=lemmata.float64), torch.tensor([1, 2], dtype=torch.float64))
    _same(lemmata.tensor(np.array([1.7, -1.2]), dtype=lemmata.int32),
          torch.tensor(np.array([1.7, -1.2]), dtype=torch.int32))


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = lemmata.tensor(a)
    a[0] = 99.0
    assert t.tolist() == [1.0, 2.0]
    u = lemmata.tensor(t)
    assert not np.shares_memory(u.numpy(), t.numpy())


def test_tensor_with_requires_grad_is_a_leaf():
    t = lemmata.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None


def test_as_tensor_and_from_numpy_share_memory():
    a = np.array([1.0, 2.0, 3.0])
    for t in (lemmata.as_tensor(a), lemmata.from_numpy(a)):
        assert np.shares_memory(t.numpy(), a)
        t[1] = -5.0  # writes show in the array, as PyTorch's
        assert a[1] == -5.0
    t = lemmata.tensor([1.0])
    assert lemmata.as_tensor(t) is t
    copied = lemmata.as_tensor(a, dtype=lemmata.float32)  # a dtype change must copy
    assert copied.dtype == lemmata.float32 and not np.shares_memory(copied.numpy(), a)
    _same(lemmata.as_tensor([1, 2]), torch.as_tensor([1, 2]))


def test_from_numpy_keeps_the_dtype_and_rejects_other_data():
    assert lemmata.from_numpy(np.zeros(2, np.int16)).dtype == lemmata.int16
    with pytest.raises(TypeError, match="from_numpy: expected np.ndarray, got list"):
        lemmata.from_numpy([1.0])


# ------------------------------------------------------------------------- constant fills


@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, 3), lambda m: m.zeros((2, 3), dtype=m.int32), lambda m: m.zeros([4]),
    lambda m: m.ones(m.Size([2, 1])), lambda m: m.ones(()), lambda m: m.ones(0, 2),
    lambda m: m.empty(2, 2).zero_(), lambda m: m.full((2,), 3), lambda m: m.full((2,), 3.0),
    lambda m: m.full((2, 1), True), lambda m: m.full([2], 1.5, dtype=m.float64),
    lambda m: m.eye(3), lambda m: m.eye(2, 3, dtype=m.float64), lambda m: m.eye(0),
    lambda m: m.zeros_like(m.tensor([1, 2])), lambda m: m.ones_like(m.tensor([[1.0]])),
    lambda m: m.ones_like(m.tensor([1, 2]), dtype=m.float32),
    lambda m: m.full_like(m.tensor([1.0, 2.0]), 7), lambda m: m.full_like(m.tensor([1, 2]), 7.7),
    lambda m: m.empty_like(m.tensor([1.0, 2.0])).fill_(0.0),
])
def test_constant_factories_match_torch(make):
    _same(make(lemmata), make(torch))


def test_empty_has_the_right_shape_and_dtype():
    t = lemmata.empty(2, 3, dtype=lemmata.float64)
    assert t.shape == (2, 3) and t.dtype == lemmata.float64
    assert lemmata.empty_like(t).shape == (2, 3)


def test_factories_accept_requires_grad():
    for t in (lemmata.zeros(2, requires_grad=True), lemmata.ones(2, requires_grad=True),
              lemmata.full((2,), 0.5, requires_grad=True), lemmata.randn(2, requires_grad=True),
              lemmata.arange(3.0, requires_grad=True), lemmata.eye(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


# ------------------------------------------------------------------------- ranges


@pytest.mark.parametrize("args, kwargs", [
    ((5,), {}), ((0, 1, 0.1), {}), ((2.5,), {}), ((5, 0, -2), {}), ((1, 2.5, 0.3), {}),
    ((0, 1, 0.1), {"dtype": "float64"}), ((-1, 1, 0.1), {}), ((0, 10, 0.7), {}),
    ((5,), {"dtype": "float32"}), ((0.5, 5), {"dtype": "int64"}), ((3, 3), {}),
    ((-3.5, 4, 1.5), {}), ((10, 0, -0.3), {"dtype": "float64"}),
])
def test_arange_matches_torch(args, kwargs):
    ours = lemmata.arange(*args, **{k: getattr(lemmata, v) for k, v in kwargs.items()})
    theirs = torch.arange(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    _same(ours, theirs)


@given(start=st.integers(-20, 20), length=st.integers(0, 40), step=st.integers(1, 9),
       scale=st.sampled_from([1, 10, 100]), descending=st.booleans(),
       dtype=st.sampled_from(["float32", "float64"]))
def test_arange_with_float_steps_matches_torch_bit_for_bit(start, length, step, scale,
                                                           descending, dtype):
    s, step_ = start / scale, (-step if descending else step) / scale
    end = s + length * step_ / 3
    ours = lemmata.arange(s, end, step_, dtype=getattr(lemmata, dtype))
    theirs = torch.arange(s, end, step_, dtype=getattr(torch, dtype))
    _same(ours, theirs)
    _same(lemmata.arange(start, start + length, step), torch.arange(start, start + length, step))


@pytest.mark.parametrize("args, kwargs", [((0, 1, 5), {}), ((0, 10, 7), {}), ((2, 3, 1), {}),
                                          ((0, 1, 5), {"dtype": "float64"}), ((1, -1, 0), {}),
                                          ((-2.5, 7.25, 11), {}), ((4.9, -13.7, 46),
                                                                   {"dtype": "int64"})])
def test_linspace_matches_torch(args, kwargs):
    ours = lemmata.linspace(*args, **{k: getattr(lemmata, v) for k, v in kwargs.items()})
    theirs = torch.linspace(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    _same(ours, theirs)


@given(start=st.integers(-100, 100), end=st.integers(-100, 100),
       scale=st.sampled_from([1, 3, 7, 10]), steps=st.integers(0, 80),
       dtype=st.sampled_from(["float32", "float64", "int64"]))
def test_linspace_values_are_torchs_bit_for_bit(start, end, scale, steps, dtype):
    ours = lemmata.linspace(start / scale, end / scale, steps, dtype=getattr(lemmata, dtype))
    _same(ours, torch.linspace(start / scale, end / scale, steps, dtype=getattr(torch, dtype)))


# ------------------------------------------------------------------------- random draws


def test_random_factories_shapes_dtypes_and_ranges():
    lemmata.manual_seed(0)
    x = lemmata.rand(1000)
    assert x.dtype == lemmata.float32 and 0.0 <= x.numpy().min() and x.numpy().max() < 1.0
    n = lemmata.randn(2, 3, dtype=lemmata.float64)
    assert n.shape == (2, 3) and n.dtype == lemmata.float64
    i = lemmata.randint(3, 7, (500,))
    assert i.dtype == lemmata.int64 and set(i.tolist()) == {3, 4, 5, 6}
    assert lemmata.randint(4, (2, 2)).shape == (2, 2)
    assert lemmata.randint(0, 4, size=(3,), dtype=lemmata.int32).dtype == lemmata.int32
    p = lemmata.randperm(10)
    assert p.dtype == lemmata.int64 and sorted(p.tolist()) == list(range(10))
    assert lemmata.randn_like(n).shape == (2, 3) and lemmata.rand_like(n).dtype == lemmata.float64
    c = lemmata.randn(4000, dtype=lemmata.complex128)
    assert c.dtype == lemmata.complex128  # real and imaginary parts each of variance ½
    assert abs(np.var(c.numpy().real) - 0.5) < 0.05 and abs(np.var(c.numpy().imag) - 0.5) < 0.05


def test_randn_is_standard_normal():
    lemmata.manual_seed(1)
    x = lemmata.randn(20000, dtype=lemmata.float64).numpy()
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1.0) < 0.03


@pytest.mark.parametrize("draw", [
    lambda: lemmata.randn(5), lambda: lemmata.rand(2, 2), lambda: lemmata.randint(0, 100, (6,)),
    lambda: lemmata.randperm(8), lambda: lemmata.zeros(4).normal_(), lambda: lemmata.zeros(4)
    .uniform_(-1, 1),
])
def test_manual_seed_makes_draws_reproducible(draw):
    lemmata.manual_seed(1234)
    first = draw().numpy().copy()
    again = draw().numpy().copy()
    lemmata.manual_seed(1234)
    np.testing.assert_array_equal(draw().numpy(), first)
    assert not np.array_equal(first, again) or first.size <= 1


def test_random_factories_reject_integer_dtypes():
    with pytest.raises(TypeError, match="randn: dtype must be floating point or complex"):
        lemmata.randn(2, dtype=lemmata.int64)


def test_is_tensor_and_numel():
    assert lemmata.is_tensor(lemmata.zeros(1)) and not lemmata.is_tensor(np.zeros(1))
    assert lemmata.numel(lemmata.zeros(2, 3)) == 6
