"""lemmata.printing: ``repr`` is PyTorch's, character for character (with 'torch' read as
'lemmata' and grad_fn names set aside): right-aligned entries, 4 decimals or '1.' style or
scientific notation, line wrapping at 80 columns, '...' abbreviation, dtype and autograd
suffixes."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes

import lemmata


def _normalised(text: str) -> str:
    text = text.replace("torch", "lemmata")
    return re.sub(r"grad_fn=<(\w+?)Backward\d*>", r"grad_fn=<\1Backward>", text)


def _suffixes_joined(text: str) -> str:
    """'lemmata' is two letters longer than 'torch', so a suffix can wrap onto its own line in
    one library and not in the other; compare with suffix line breaks removed."""
    return re.sub(r",\n +(dtype=|grad_fn=|requires_grad=|size=)", r", \1", text)


def _assert_same_repr(array, dtype=None, requires_grad=False):
    kwargs = {} if dtype is None else {"dtype": getattr(lemmata, dtype)}
    ours = lemmata.tensor(array, requires_grad=requires_grad, **kwargs)
    kwargs = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    theirs = torch.tensor(array, requires_grad=requires_grad, **kwargs)
    assert _suffixes_joined(repr(ours)) == _suffixes_joined(_normalised(repr(theirs)))


RNG = np.random.default_rng(0)
EXAMPLES = {
    "float vector": [1.0, 2.0],
    "non-integer vector": [1.5, 2.0],
    "matrix with signs": (RNG.standard_normal((3, 2)) * 2).tolist(),
    "3-d": RNG.standard_normal((2, 3, 4)).tolist(),
    "integers as floats": [[1.0, -20.0], [300.0, 4.0]],
    "scientific small": [1e-5, 1.0],
    "scientific large ratio": [1e10, 1.0],
    "scientific integers": [1.0, 1e9],
    "zeros, inf and nan": [0.0, np.inf, -np.nan, 3.0, -np.inf],
    "all zeros": [0.0, 0.0],
    "negative zero": [-0.0, 1.5],
    "ints": np.arange(12).reshape(3, 4).tolist(),
    "negative ints": [[-100, 2], [3, 40000]],
    "bools": [True, False, True],
    "scalar": 3.25,
    "scalar int": -7,
    "scalar bool": True,
    "empty": [],
    "empty matrix": np.zeros((0, 3)).tolist(),
    "complex": [1 + 2j, -3.5 - 1j, 0.25j],
    "long vector wraps": (np.arange(30) * 1.5).tolist(),
    "long int vector wraps": list(range(-40, 40, 3)),
    "wide rows": RNG.standard_normal((3, 12)).tolist(),
    "summarised vector": RNG.standard_normal(2000).tolist(),
    "summarised matrix": RNG.standard_normal((40, 40)).tolist(),
    "summarised 3-d": RNG.standard_normal((12, 10, 12)).tolist(),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_repr_matches_torch(name):
    _assert_same_repr(EXAMPLES[name])


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32", "int8", "uint8", "int64",
                                   "complex128", "complex64", "bool"])
def test_dtype_suffix_matches_torch(dtype):
    data = [[1, 0], [3, 1]]
    _assert_same_repr(data, dtype)
    _assert_same_repr([], dtype)


def test_requires_grad_and_grad_fn_suffixes():
    _assert_same_repr([1.5, 2.0], requires_grad=True)
    _assert_same_repr(RNG.standard_normal((3, 4)).tolist(), "float64", requires_grad=True)
    ours = lemmata.tensor([1.0, 2.0], requires_grad=True) * 2
    theirs = torch.tensor([1.0, 2.0], requires_grad=True) * 2
    assert _suffixes_joined(repr(ours)) == _suffixes_joined(_normalised(repr(theirs))) == "tensor([2., 4.], grad_fn=<MulBackward>)"


def test_examples_from_the_documentation():
    assert repr(lemmata.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert (repr(lemmata.tensor([1.5, 2.0], requires_grad=True))
            == "tensor([1.5000, 2.0000], requires_grad=True)")
    assert repr(lemmata.tensor([[3.194, 1.1833], [-0.5, 10.25]])) == (
        "tensor([[ 3.1940,  1.1833],\n        [-0.5000, 10.2500]])")
    assert repr(lemmata.tensor([1, 2], dtype=lemmata.float64)) == (
        "tensor([1., 2.], dtype=lemmata.float64)")


def test_suffix_moves_to_a_new_line_when_the_line_is_full():
    data = (np.arange(8) * 1.123456).tolist()
    _assert_same_repr(data, "float64", requires_grad=True)


@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
       scale=st.sampled_from([1e-6, 1e-3, 1.0, 100.0, 1e5, 1e9]),
       integral=st.booleans(), seed=st.integers(0, 2 ** 32 - 1),
       dtype=st.sampled_from(["float32", "float64"]))
def test_repr_matches_torch_on_random_tensors(shape, scale, integral, seed, dtype):
    values = np.random.default_rng(seed).standard_normal(shape) * scale
    if integral:
        values = np.round(values)
    _assert_same_repr(values.astype(dtype), None)
