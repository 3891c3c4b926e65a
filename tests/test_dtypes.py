"""lemmata.dtypes: names, the default dtype, and PyTorch's type promotion — for every pair of
dtypes, every combination of dimensioned and zero-dimensional operands, and Python scalars."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import lemmata
from lemmata import dtypes

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
         "complex64", "complex128"]
# PyTorch gives float16 ⊕ complex its complex32, which NumPy lacks
PAIRS = [(a, b) for a, b in itertools.product(NAMES, NAMES)
         if not ({a, b} & {"float16"} and {a, b} & {"complex64", "complex128"})]


def _lemmata_dtype(name):
    return getattr(lemmata, "bool" if name == "bool" else name)


def _torch_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


@pytest.fixture
def default_dtype():
    """Restore the default dtype whatever the test does to it."""
    saved = lemmata.get_default_dtype()
    yield
    lemmata.set_default_dtype(saved)


def test_dtype_objects_are_numpy_dtypes_with_torch_aliases():
    assert lemmata.float32 == np.dtype("float32") and isinstance(lemmata.float32, np.dtype)
    assert lemmata.float == lemmata.float32 and lemmata.double == lemmata.float64
    assert lemmata.long == lemmata.int64 and lemmata.int == lemmata.int32
    assert lemmata.half == lemmata.float16 and lemmata.cdouble == lemmata.complex128
    assert lemmata.cfloat == lemmata.complex64 and lemmata.bool == np.dtype(bool)


@pytest.mark.parametrize("spelling, expected", [(float, "float32"), (int, "int64"),
                                                ("float64", "float64"), (np.int32, "int32"),
                                                (lemmata.complex128, "complex128"),
                                                (None, "float32")])
def test_as_dtype_normalises_spellings(spelling, expected):
    assert dtypes.as_dtype(spelling) == np.dtype(expected)


def test_as_dtype_rejects_unknown_names():
    with pytest.raises(TypeError, match="unknown dtype 'bogus'"):
        dtypes.as_dtype("bogus")


def test_dtype_names_and_predicates():
    assert dtypes.dtype_name(lemmata.float32) == "lemmata.float32"
    assert dtypes.is_floating_point(lemmata.float16) and not dtypes.is_floating_point(lemmata.int8)
    assert dtypes.is_complex(lemmata.complex64) and not dtypes.is_complex(lemmata.float64)
    x = lemmata.tensor([1.0])
    assert lemmata.is_floating_point(x) and not lemmata.is_complex(x)


@pytest.mark.parametrize("a, b", PAIRS)
def test_promote_types_matches_torch(a, b):
    ours = dtypes.promote_types(np.dtype(a), np.dtype(b))
    theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert ours.name == _torch_name(theirs)


@pytest.mark.parametrize("a, b", PAIRS)
def test_result_dtypes_of_binary_ops_match_torch_for_zero_dim_operands(a, b):
    for a_dims, b_dims in ((1, 1), (0, 1), (1, 0), (0, 0)):
        x_l = lemmata.ones((2,) * a_dims, dtype=_lemmata_dtype(a))
        y_l = lemmata.ones((2,) * b_dims, dtype=_lemmata_dtype(b))
        x_t = torch.ones((2,) * a_dims, dtype=getattr(torch, a))
        y_t = torch.ones((2,) * b_dims, dtype=getattr(torch, b))
        for op in ("add", "mul", "div", "eq"):
            ours = getattr(lemmata, op)(x_l, y_l).dtype
            theirs = getattr(torch, op)(x_t, y_t).dtype
            assert ours.name == _torch_name(theirs), (op, a, b, a_dims, b_dims)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "float16"])
@pytest.mark.parametrize("scalar", [True, 3, 2.5, 1 + 1j])
def test_python_scalars_never_widen_a_tensor_within_their_kind(name, scalar):
    for dims in (0, 1):
        ours = (lemmata.ones((2,) * dims, dtype=_lemmata_dtype(name)) * scalar).dtype
        theirs = (torch.ones((2,) * dims, dtype=getattr(torch, name)) * scalar).dtype
        assert ours.name == _torch_name(theirs), (name, scalar, dims)


@pytest.mark.parametrize("make, expected", [
    (lambda m: m.tensor([3]) * 1.5, "float32"),                            # int tensor * float
    (lambda m: m.tensor([3]) + m.tensor([1.5]), "float32"),                # int64 + float32
    (lambda m: m.tensor([3.0]) + m.tensor([1.5], dtype=m.float64), "float64"),
    (lambda m: m.tensor([3]) / m.tensor([2]), "float32"),                  # int / int
    (lambda m: m.tensor([3]) / 2, "float32"),
    (lambda m: m.tensor([3], dtype=m.int32) + m.tensor([1]), "int64"),
    (lambda m: m.tensor([True]) + 1, "int64"),
    (lambda m: m.tensor([1.0]) + m.tensor(1.5, dtype=m.float64), "float32"),
    (lambda m: m.tensor([2]) + m.tensor(1.5, dtype=m.float64), "float64"),
    (lambda m: m.tensor([1.0]) + m.tensor(1j, dtype=m.complex128), "complex64"),
])
def test_promotion_examples_from_the_issue(make, expected):
    assert make(lemmata).dtype.name == expected == _torch_name(make(torch).dtype)


def test_default_dtype_controls_float_inference(default_dtype):
    assert lemmata.get_default_dtype() == lemmata.float32
    lemmata.set_default_dtype(lemmata.float64)
    assert lemmata.get_default_dtype() == lemmata.float64
    assert lemmata.tensor([1.5]).dtype == lemmata.float64
    assert lemmata.zeros(2).dtype == lemmata.float64
    assert lemmata.randn(2).dtype == lemmata.float64
    assert lemmata.arange(0.5, 2).dtype == lemmata.float64
    assert lemmata.full((2,), 1.5).dtype == lemmata.float64
    assert (lemmata.tensor([3]) / 2).dtype == lemmata.float64
    assert lemmata.tensor([1j]).dtype == lemmata.complex128
    assert lemmata.tensor([1]).dtype == lemmata.int64  # ints are unaffected


def test_set_default_dtype_accepts_only_floats(default_dtype):
    with pytest.raises(TypeError, match="set_default_dtype: only floating-point"):
        lemmata.set_default_dtype(lemmata.int64)
    assert lemmata.get_default_dtype() == lemmata.float32


def test_complex128_end_to_end():
    """A complex128 forward and backward: at z = x + i·h·e₁ the real part of the holomorphic
    gradient is PyTorch's real gradient, and Im f(z)/h is its component 1 (the complex step)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4)
    h = 1e-20
    z = lemmata.tensor(x + 1j * h * np.eye(4)[1], requires_grad=True)
    y = (lemmata.tanh(z) * lemmata.exp(z) / (1 + z * z)).sum()
    assert y.dtype == lemmata.complex128
    y.backward()
    assert z.grad.dtype == lemmata.complex128
    xt = torch.tensor(x, requires_grad=True)
    (torch.tanh(xt) * torch.exp(xt) / (1 + xt * xt)).sum().backward()
    np.testing.assert_allclose(z.grad.numpy().real, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.item().imag / h, xt.grad.numpy()[1], rtol=1e-12)
