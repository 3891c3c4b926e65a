"""Bad input to the core raises ValueError/TypeError/RuntimeError/IndexError whose message names the
op and the shapes or values at fault — never a bare NumPy error."""
from __future__ import annotations

import re

import numpy as np
import pytest

import lemmata as L


def x():
    return L.tensor(np.arange(6.0).reshape(2, 3))


# (call, exception type, regex the message must match: op name and the shapes/values involved)
CASES = {
    # elementwise: shapes that do not broadcast, wrong argument types
    "add shapes": (lambda: x() + L.ones(4), RuntimeError, r"add: shapes \(2, 3\) and \(4,\)"),
    "sub shapes": (lambda: L.sub(x(), L.ones(3, 2)), RuntimeError,
                   r"sub: shapes \(2, 3\) and \(3, 2\)"),
    "mul shapes": (lambda: x() * L.ones(3, 2), RuntimeError, r"mul: shapes \(2, 3\) and \(3, 2\)"),
    "div shapes": (lambda: x() / L.ones(2), RuntimeError, r"div: shapes \(2, 3\) and \(2,\)"),
    "pow shapes": (lambda: x() ** L.ones(4), RuntimeError, r"pow: shapes \(2, 3\) and \(4,\)"),
    "maximum shapes": (lambda: L.maximum(x(), L.ones(4)), RuntimeError,
                       r"maximum: shapes \(2, 3\) and \(4,\)"),
    "minimum shapes": (lambda: L.minimum(x(), L.ones(4)), RuntimeError,
                       r"minimum: shapes \(2, 3\) and \(4,\)"),
    "where shapes": (lambda: L.where(L.tensor([True, False, True, True]), x(), 0.0), RuntimeError,
                     r"where: condition of shape \(4,\).*\(2, 3\)"),
    "lerp shapes": (lambda: L.lerp(x(), x(), L.ones(4)), RuntimeError,
                    r"lerp: .*\(2, 3\), \(2, 3\) and \(4,\)"),
    "clamp bound shapes": (lambda: x().clamp(min=L.ones(4)), RuntimeError,
                           r"clamp: input of shape \(2, 3\) and bounds of shapes \[\(4,\)\]"),
    "clamp no bounds": (lambda: x().clamp(), RuntimeError, r"clamp: at least one"),
    "comparison shapes": (lambda: x() < L.ones(4), RuntimeError, r"lt: shapes \(2, 3\) and \(4,\)"),
    "logical shapes": (lambda: L.logical_and(x(), L.ones(4)), RuntimeError,
                       r"logical_and: shapes \(2, 3\) and \(4,\)"),
    "add a string": (lambda: x() + "a", TypeError, r"expected a Tensor, number or numeric array, "
                                                   r"got str"),
    "add None": (lambda: x() + None, TypeError, r"got NoneType"),
    "exp of a list": (lambda: L.exp([1.0]), TypeError, r"exp: expected a Tensor, got list"),
    "relu of a float": (lambda: L.relu(1.0), TypeError, r"relu: expected a Tensor, got float"),
    "leaky_relu slope": (lambda: L.leaky_relu(x(), "a"), TypeError,
                         r"leaky_relu: negative_slope must be a number, got str"),
    "softplus beta": (lambda: L.softplus(x(), beta=0), ValueError, r"softplus: beta must be"),
    "div rounding mode": (lambda: x().div(x(), rounding_mode="up"), ValueError,
                          r"div: rounding_mode .*'up'"),
    "sub of bools": (lambda: L.tensor([True]) - L.tensor([False]), TypeError, r"sub: .*bool"),
    "int to negative power": (lambda: L.tensor([2, 3]) ** -2, RuntimeError,
                              r"pow: integers to negative integer powers .*\(2,\).*-2"),
    "negate bools": (lambda: -L.tensor([True, False]), RuntimeError,
                     r"neg: negation of a bool tensor \(shape \(2,\)\) is not supported"),
    "abs of bools": (lambda: L.tensor([True]).abs(), TypeError, r"abs: not supported for bool"),
    "relu of bools": (lambda: L.relu(L.tensor([True])), TypeError, r"relu: not supported for bool"),
    "floor of complex": (lambda: L.tensor([1j]).floor(), TypeError,
                         r"floor: not supported for complex tensors \(shape \(1,\)\)"),
    "complex remainder": (lambda: L.tensor([1j]) % 2, TypeError,
                          r"remainder: not supported for lemmata.complex64 tensors"),
    "bitwise and of floats": (lambda: L.ones(2) & L.ones(2), TypeError,
                              r"bitwise_and: only integer and bool tensors"),
    "invert floats": (lambda: ~L.ones(2), TypeError, r"bitwise not\) is only implemented on "
                                                     r"integer and bool tensors"),
    "clamp bound type": (lambda: x().clamp(max=(0, 5)), TypeError,
                         r"clamp: max must be None, a number or a Tensor, got tuple"),
    "softplus beta type": (lambda: L.softplus(x(), beta=None), TypeError,
                           r"softplus: beta must be a number, got NoneType"),
    "keepdim type": (lambda: x().sum(0, keepdim="yes"), TypeError,
                     r"sum: keepdim must be a bool, got 'yes'"),
    "keepdim tensor": (lambda: x().amax(0, L.ones(3)), TypeError, r"amax: keepdim must be a bool"),
    "unknown dtype": (lambda: x().to(dtype="bogus"), TypeError, r"to: unknown dtype 'bogus'"),
    "dtype given as a value": (lambda: L.softmax(x(), 0, dtype=1.5), TypeError,
                               r"to: unknown dtype 1.5"),
    # reductions: dims out of range, repeated, wrong type; empty inputs
    "sum dim": (lambda: x().sum(5), IndexError, r"sum: dim 5 is out of range .* 2 dimensions"),
    "sum repeated dims": (lambda: x().sum((0, -2)), RuntimeError,
                          r"sum: dim \(0, -2\) appears multiple times"),
    "sum float dim": (lambda: x().sum(1.5), TypeError, r"sum: dim must be an int, got float"),
    "mean dim": (lambda: x().mean(-3), IndexError, r"mean: dim -3 is out of range"),
    "mean of ints": (lambda: L.tensor([1, 2]).mean(), RuntimeError, r"mean: .*lemmata\.int64"),
    "var dim": (lambda: x().var(2), IndexError, r"var: dim 2 is out of range"),
    "var unbiased and correction": (lambda: x().var(0, True, correction=1), TypeError,
                                    r"var: give either unbiased or correction"),
    "std dims": (lambda: x().std(dim=(0, 5)), IndexError, r"std: dim 5 is out of range"),
    "max dim": (lambda: x().max(3), IndexError, r"max: dim 3 is out of range"),
    "min of empty dim": (lambda: L.zeros(2, 0).min(1), IndexError,
                         r"min: cannot reduce over dim 1 of size 0 \(shape \(2, 0\)\)"),
    "amax of empty": (lambda: L.zeros(0, 2).amax(0), IndexError,
                      r"amax: cannot reduce over a zero-size dimension .*\(0, 2\)"),
    "max of empty": (lambda: L.zeros(0).max(), IndexError, r"amax: .*\(0,\)"),
    "argmax of empty": (lambda: L.zeros(0).argmax(), IndexError,
                        r"argmax: expected a non-empty tensor \(shape \(0,\)\)"),
    "argmin dim": (lambda: x().argmin(2), IndexError, r"argmin: dim 2 is out of range"),
    "logsumexp dim": (lambda: x().logsumexp(3), IndexError, r"logsumexp: dim 3 is out of range"),
    "softmax dim": (lambda: x().softmax(2), IndexError, r"softmax: dim 2 is out of range"),
    "log_softmax dim": (lambda: L.log_softmax(x(), -3), IndexError,
                        r"log_softmax: dim -3 is out of range"),
    "norm p": (lambda: x().norm(-1), ValueError, r"norm: p must be .* got -1"),
    "prod dim": (lambda: x().prod(2), IndexError, r"prod: dim 2 is out of range"),
    "sum of a list": (lambda: L.sum([1.0]), TypeError, r"sum: expected a Tensor, got list"),
    # shapes
    "reshape size": (lambda: x().reshape(4, 2), RuntimeError,
                     r"reshape: shape \[4, 2\] is invalid for input of size 6 .*\(2, 3\)"),
    "view size": (lambda: x().view(7), RuntimeError, r"shape \[7\] is invalid for input of size 6"),
    "reshape two -1": (lambda: x().reshape(-1, -1), RuntimeError,
                       r"reshape: invalid shape \(-1, -1\)"),
    "reshape float": (lambda: x().reshape(2.0, 3), TypeError, r"reshape: sizes must be ints"),
    "view as dtype": (lambda: L.zeros(2, 3).view(L.float64), RuntimeError,
                      r"view: a tensor of shape \(2, 3\) and dtype lemmata.float32 cannot be "
                      r"viewed as lemmata.float64"),
    "flatten dims": (lambda: x().flatten(1, 0), RuntimeError, r"flatten: start_dim 1 comes after"),
    "unflatten sizes": (lambda: x().unflatten(1, (2, 2)), RuntimeError,
                        r"unflatten: sizes \[2, 2\] don't multiply up to the size 3 .*\(2, 3\)"),
    "unsqueeze dim": (lambda: x().unsqueeze(4), IndexError, r"unsqueeze: dim 4 is out of range"),
    "squeeze dim": (lambda: x().squeeze(3), IndexError, r"squeeze: dim 3 is out of range"),
    "permute repeated": (lambda: x().permute(0, 0), RuntimeError,
                         r"permute: dims \(0, 0\) are not a permutation"),
    "permute count": (lambda: x().permute(0), RuntimeError,
                      r"permute: number of dims 1 .* 2 dimensions \(shape \(2, 3\)\)"),
    "transpose dim": (lambda: x().transpose(0, 2), IndexError, r"transpose: dim 2 is out of range"),
    "t of 3-D": (lambda: L.zeros(2, 2, 2).t(), RuntimeError, r"t: .*\(2, 2, 2\)"),
    "mT of 1-D": (lambda: L.zeros(2).mT, RuntimeError, r"mT: tensor of shape \(2,\)"),
    "expand size": (lambda: x().expand(3, 3), RuntimeError,
                    r"expand: the expanded size of the tensor \(3\) must match the existing size "
                    r"\(2\).*\[2, 3\]"),
    "expand too few": (lambda: x().expand(3), RuntimeError, r"expand: the number of sizes"),
    "expand -1 leading": (lambda: x().expand(-1, 2, 3), RuntimeError,
                          r"expand: invalid sizes \[-1, 2, 3\] for a tensor of shape \[2, 3\]"),
    "repeat too few": (lambda: x().repeat(2), RuntimeError, r"repeat: number of repeat dims \(1\)"),
    "flip dim": (lambda: x().flip(2), IndexError, r"flip: dim 2 is out of range"),
    "cat sizes": (lambda: L.cat([x(), L.zeros(2, 4)]), RuntimeError,
                  r"cat: sizes of tensors must match except in dimension 0; tensor 0 has shape "
                  r"\(2, 3\) and tensor 1 has shape \(2, 4\)"),
    "cat ranks": (lambda: L.cat([x(), L.zeros(2)], 1), RuntimeError,
                  r"cat: .*\(2, 3\).*\(2,\)"),
    "cat dim": (lambda: L.cat([x(), x()], 2), IndexError, r"cat: dim 2 is out of range"),
    "cat empty list": (lambda: L.cat([]), RuntimeError, r"cat: expected a non-empty list"),
    "cat non-tensor": (lambda: L.cat([x(), 1]), TypeError, r"cat \(element 1\): expected a Tensor"),
    "cat of a tensor": (lambda: L.cat(x()), TypeError,
                        r"cat: expected a list or tuple of Tensors, got Tensor"),
    "stack of a number": (lambda: L.stack(3), TypeError,
                          r"stack: expected a list or tuple of Tensors, got int"),
    "unbind a 0-d tensor": (lambda: L.unbind(L.tensor(1.0)), IndexError,
                            r"unbind: dimension specified as 0 but the tensor has no dimensions"),
    "select from a 0-d tensor": (lambda: L.tensor(1.0).select(0, 0), IndexError,
                                 r"select: dimension specified as 0"),
    "repeat negative": (lambda: x().repeat(1, -1), RuntimeError,
                        r"repeat: repeats \[1, -1\] must be non-negative"),
    "stack sizes": (lambda: L.stack([x(), L.zeros(3, 2)]), RuntimeError,
                    r"stack: expects each tensor to be equal size, got shapes "
                    r"\[\(2, 3\), \(3, 2\)\]"),
    "split sizes": (lambda: x().split([1, 1], 1), RuntimeError,
                    r"split: split sizes \[1, 1\] must sum to the size 3 of dim 1"),
    "split size": (lambda: x().split(0), RuntimeError, r"split: split_size must be positive"),
    "chunk count": (lambda: x().chunk(0), RuntimeError,
                    r"chunk: number of chunks must be positive"),
    "select index": (lambda: x().select(0, 5), IndexError,
                     r"select: index 5 out of range for dim 0 of size 2 \(shape \(2, 3\)\)"),
    "narrow range": (lambda: x().narrow(1, 2, 3), IndexError,
                     r"narrow: start 2 \+ length 3 exceeds dim 1 of size 3"),
    "gather range": (lambda: x().gather(1, L.tensor([[5]])), IndexError,
                     r"gather: index out of range .* dim 1 of input \(2, 3\)"),
    "gather float index": (lambda: x().gather(1, L.tensor([[0.5]])), RuntimeError,
                           r"gather: index must be an integer tensor"),
    "gather rank": (lambda: x().gather(1, L.tensor([0])), RuntimeError,
                    r"gather: index has 1 dimensions but the input has 2 \(index \(1,\), input "
                    r"\(2, 3\)\)"),
    "gather index too large": (lambda: x().gather(1, L.zeros(3, 1, dtype=L.int64)), RuntimeError,
                               r"gather: size does not match at dimension 0; index \(3, 1\)"),
    # indexing
    "index out of range": (lambda: x()[5], IndexError,
                           r"__getitem__: index 5 is invalid for a tensor of shape \(2, 3\)"),
    "too many indices": (lambda: x()[0, 0, 0], IndexError,
                         r"__getitem__: index \(0, 0, 0\) is invalid for a tensor of shape "
                         r"\(2, 3\)"),
    "index list out of range": (lambda: x()[[0, 5]], IndexError,
                                r"__getitem__: .* shape \(2, 3\)"),
    "float index": (lambda: x()[1.5], IndexError, r"__getitem__: index 1.5 is invalid"),
    "float tensor index": (lambda: x()[L.tensor([0.5])], IndexError,
                           r"__getitem__: tensors used as indices must be long, int or bool "
                           r"tensors, got lemmata.float32"),
    "mask shape": (lambda: x()[L.tensor([True, False, True])], IndexError,
                   r"__getitem__: boolean mask of shape \(3,\) does not match the indexed tensor "
                   r"of shape \(2, 3\)"),
    "string index": (lambda: x()["a"], IndexError, r"__getitem__: index 'a' is invalid"),
    "setitem value shape": (lambda: x().__setitem__(0, L.ones(4)), RuntimeError,
                            r"__setitem__: value of shape \(4,\) cannot be assigned .* "
                            r"shape \(2, 3\)"),
    "setitem index": (lambda: x().__setitem__(5, 1.0), IndexError,
                      r"__setitem__: index 5 is invalid for a tensor of shape \(2, 3\)"),
    "index_put value shape": (lambda: L.ops.index_put(x(), 0, L.ones(5)), RuntimeError,
                              r"value of shape \(5,\) cannot be assigned .* \(2, 3\)"),
    "complex into a real tensor": (lambda: x().__setitem__(0, 1j), TypeError,
                                   r"__setitem__: cannot assign complex values to a "
                                   r"lemmata.float64 tensor of shape \(2, 3\)"),
    "index_put complex": (lambda: L.ops.index_put(x(), 0, L.tensor(1j)), TypeError,
                          r"index_put: cannot assign complex values"),
    # padding
    "pad not a list": (lambda: L.ops.pad(x(), 1), TypeError,
                       r"pad: pad must be a list or tuple of ints, got int"),
    "pad value": (lambda: L.ops.pad(x(), [1, 1], value="a"), TypeError,
                  r"pad: value must be a number, got str"),
    "pad odd length": (lambda: L.ops.pad(x(), [1]), ValueError,
                       r"pad: padding length 1 must be even .*\(2, 3\)"),
    "pad too long": (lambda: L.ops.pad(x(), [1, 1, 1, 1, 1, 1]), ValueError,
                     r"pad: padding length 6"),
    "pad mode": (lambda: L.ops.pad(x(), [1, 1], mode="wrap"), ValueError,
                 r"pad: mode must be .* got 'wrap'"),
    "reflect pad too wide": (lambda: L.ops.pad(x(), [3, 3], mode="reflect"), ValueError,
                             r"pad: padding \(3, 3\) should be less than the input size 3"),
    "circular pad too wide": (lambda: L.ops.pad(x(), [4, 0], mode="circular"), ValueError,
                              r"pad: padding \(4, 0\) should be at most the input size 3"),
    "negative non-constant pad": (lambda: L.ops.pad(x(), [-1, 0], mode="replicate"), ValueError,
                                  r"pad: negative padding is only supported in 'constant' mode"),
    "crop below zero": (lambda: L.ops.pad(x(), [-4, 0]), RuntimeError,
                        r"pad: resulting padded dimension would be negative \(input shape "
                        r"\(2, 3\), pad \[-4, 0\]\)"),
    # matrix products
    "matmul inner": (lambda: x() @ L.ones(2, 3), RuntimeError,
                     r"matmul: shapes \(2, 3\) and \(2, 3\) cannot be multiplied \(3 != 2\)"),
    "matmul vector": (lambda: L.ones(4) @ x(), RuntimeError,
                      r"matmul: shapes \(4,\) and \(2, 3\) cannot be multiplied"),
    "matmul 0-d": (lambda: x() @ L.tensor(2.0), RuntimeError,
                   r"matmul: both arguments need at least 1 dimension, got shapes \(2, 3\) "
                   r"and \(\)"),
    "matmul batch": (lambda: L.ones(2, 2, 3) @ L.ones(3, 3, 2), RuntimeError,
                     r"matmul: batch dims of \(2, 2, 3\) and \(3, 3, 2\) cannot be broadcast"),
    "mm rank": (lambda: L.mm(x(), L.ones(3)), RuntimeError, r"mm: .*\(2, 3\) and \(3,\)"),
    "mm inner": (lambda: L.mm(x(), x()), RuntimeError, r"mm: .*\(2, 3\) and \(2, 3\)"),
    "mm list": (lambda: L.mm([[1.0]], x()), TypeError, r"mm: expected Tensors, but the first "
                                                       r"argument is a list"),
    "bmm batch": (lambda: L.bmm(L.ones(2, 2, 3), L.ones(3, 3, 2)), RuntimeError,
                  r"bmm: .*\(2, 2, 3\) and \(3, 3, 2\)"),
    "mv sizes": (lambda: L.mv(x(), L.ones(2)), RuntimeError, r"mv: .*\(2, 3\) and \(2,\)"),
    "dot sizes": (lambda: L.dot(L.ones(3), L.ones(4)), RuntimeError,
                  r"dot: expects 1-D tensors of the same size, got shapes \(3,\) and \(4,\)"),
    "outer rank": (lambda: L.outer(x(), x()), RuntimeError, r"outer: expects 1-D tensors"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises_a_message_naming_the_op_and_shapes(name):
    call, error, pattern = CASES[name]
    with pytest.raises(error, match=pattern) as info:
        call()
    assert "\n" not in str(info.value), "one line, no NumPy traceback text"


ODD_VALUES = {"None": None, "str": "a", "list": [1.0, 2.0], "float": 1.5, "int": 2, "negative": -7,
              "bool": True, "matrix": L.ones(2, 3), "vector": L.ones(4), "0-d": L.tensor(2.0),
              "ints": L.tensor([1, 2]), "bools": L.tensor([True, False]), "empty": L.zeros(0),
              "complex": L.tensor([1 + 1j, 2]), "row": L.ones(1, 3), "pair": (0, 1),
              "far pair": (0, 5)}
UNARY_OPS = ["abs", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh",
             "sigmoid", "erf", "relu", "leaky_relu", "softplus", "square", "reciprocal", "neg",
             "clone", "flatten", "t", "sign", "floor", "ceil", "round", "isnan", "isinf",
             "isfinite", "logical_not"]
BINARY_OPS = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "matmul", "mm", "bmm", "mv",
              "dot", "outer", "eq", "lt", "remainder", "floor_divide", "logical_and", "where"]
WITH_ARGUMENTS = ["sum", "mean", "var", "std", "amax", "amin", "argmax", "argmin", "logsumexp",
                  "softmax", "log_softmax", "norm", "prod", "max", "min", "reshape", "permute",
                  "transpose", "unsqueeze", "squeeze", "flip", "repeat", "split", "chunk",
                  "unbind", "select", "narrow", "gather", "expand", "clamp", "lerp",
                  "broadcast_to", "unflatten", "leaky_relu", "softplus", "cat", "stack", "pad",
                  "index_put"]
ALLOWED = (ValueError, TypeError, RuntimeError, IndexError)
PREFIX = re.compile(r"^[A-Za-z_.0-9]+( \(element \d+\))?: ")
PYTHON_SIGNATURE = re.compile(r"positional argument|required positional|unexpected keyword")


def _function(name):
    return getattr(L, name, None) or getattr(L.ops, name)


def _assert_clean(call, label):
    try:
        call()
    except ALLOWED as error:
        message = str(error)
        assert PREFIX.match(message) or PYTHON_SIGNATURE.search(message), (label, message)
    except Exception as error:  # noqa: BLE001 (the point is that nothing else escapes)
        pytest.fail(f"{label} raised {type(error).__name__}: {error}")


@pytest.mark.parametrize("name", UNARY_OPS)
def test_unary_ops_on_odd_arguments_raise_clean_errors(name):
    f = _function(name)
    for label, value in ODD_VALUES.items():
        _assert_clean(lambda: f(value), f"{name}({label})")


@pytest.mark.parametrize("name", BINARY_OPS)
def test_binary_ops_on_odd_arguments_raise_clean_errors(name):
    f = _function(name)
    for (la, a), (lb, b) in [(p, q) for p in ODD_VALUES.items() for q in ODD_VALUES.items()]:
        _assert_clean(lambda: f(a, b), f"{name}({la}, {lb})")


@pytest.mark.parametrize("name", WITH_ARGUMENTS)
def test_ops_with_odd_arguments_raise_clean_errors(name):
    f = _function(name)
    m = L.ones(2, 3)
    for label, value in ODD_VALUES.items():
        _assert_clean(lambda: f(value), f"{name}({label})")
        _assert_clean(lambda: f(m, value), f"{name}(matrix, {label})")
        _assert_clean(lambda: f(m, 0, value), f"{name}(matrix, 0, {label})")
        _assert_clean(lambda: f(m, None, value), f"{name}(matrix, None, {label})")
        _assert_clean(lambda: f([m, value]), f"{name}([matrix, {label}])")


def test_error_messages_never_come_from_numpy_alone():
    """A sweep of odd calls: whatever is raised names a lemmata op or argument."""
    odd_calls = [lambda: L.tensor([[1, 2], [3]]), lambda: L.tensor("abc"),
                 lambda: L.zeros(-1, 2), lambda: L.zeros(2.5), lambda: x().view(-1, 4),
                 lambda: x()[:, [0, 9]], lambda: L.ops.pad(x(), [1, 1], value="a"),
                 lambda: x().sum(dim="a"), lambda: L.cat([x(), L.zeros(3, 3)], 1),
                 lambda: L.ops.pad(x(), [1.5, 1]), lambda: x().expand(2, 3, -2)]
    for call in odd_calls:
        with pytest.raises((ValueError, TypeError, RuntimeError, IndexError)) as info:
            call()
        message = str(info.value)
        assert re.match(r"^[A-Za-z_.]+( \(element \d+\))?: ", message), message
