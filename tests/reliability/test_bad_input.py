"""Bad input across the public API: every case raises ValueError/TypeError/RuntimeError/
IndexError (or KeyError where PyTorch does) from lemmata's own argument checking, with a message
that names the function and the offending shapes or values.

Each case is (id, call, expected exception type, regex the message must match).  Besides the
type and the message, the test checks where the exception comes from: the innermost frame of
its traceback must lie inside lemmata, so a bare NumPy or Python error (an IndexError raised by
NumPy's indexing, a ZeroDivisionError, ...) escaping from deep inside counts as a failure.
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest

import lemmata
from lemmata import func, nn, optim
from lemmata.nn import functional as F
from lemmata.nn import init

PACKAGE = os.path.dirname(os.path.abspath(lemmata.__file__)) + os.sep
ERRORS = (ValueError, TypeError, RuntimeError, IndexError, KeyError)


class Case(NamedTuple):
    id: str
    call: Callable[[], Any]
    error: type | tuple
    pattern: str


def t(*shape: int, dtype: Any = None, grad: bool = False) -> lemmata.Tensor:
    """A tensor of the given shape with entries 0.1, 0.2, ... (deterministic, no randomness)."""
    n = int(np.prod(shape, dtype=np.int64))
    data = (np.arange(1, n + 1) / 10).reshape(shape)
    return lemmata.tensor(data, dtype=dtype or lemmata.float32, requires_grad=grad)


def ints(*values: int) -> lemmata.Tensor:
    return lemmata.tensor(list(values))


def _linear() -> nn.Linear:
    lemmata.manual_seed(0)
    return nn.Linear(4, 2)


def _sgd(**kw: Any) -> optim.SGD:
    return optim.SGD(_linear().parameters(), **kw)


def _adam(**kw: Any) -> optim.Adam:
    return optim.Adam(_linear().parameters(), **kw)


def _backward_twice() -> None:
    x = t(3, grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    y.backward()


def _modified_in_place() -> None:
    x = t(3, grad=True)
    y = x.exp()
    z = y.sigmoid()    # saves its output
    z.mul_(2)
    z.sum().backward()


def _optimizer_load_wrong_groups() -> None:
    model = _linear()
    opt = optim.SGD([{"params": [model.weight]}, {"params": [model.bias]}], lr=0.1)
    optim.SGD(model.parameters(), lr=0.1).load_state_dict(opt.state_dict())


def _vjp_wrong_cotangent() -> None:
    _, vjp_fn = func.vjp(lambda x: x.exp(), t(3, dtype=lemmata.float64))
    vjp_fn(t(4, dtype=lemmata.float64))


def _duplicate_parameter_groups() -> None:
    weight = _linear().weight
    optim.SGD([{"params": [weight]}, {"params": [weight]}], lr=0.1)


def _module_list_index() -> None:
    nn.ModuleList([nn.ReLU(), nn.Tanh()])[5]


CASES = [
    # ---------------------------------------------------------------- factories
    Case("zeros_negative", lambda: lemmata.zeros(-1, 2), RuntimeError, r"zeros.*negative.*-1"),
    Case("ones_float_size", lambda: lemmata.ones(2, 2.5), TypeError, r"ones.*2\.5"),
    Case("empty_string_size", lambda: lemmata.empty("a"), TypeError, r"empty.*'a'"),
    Case("full_negative", lambda: lemmata.full((2, -3), 1.0), RuntimeError, r"full.*-3"),
    Case("randn_int_dtype", lambda: lemmata.randn(2, dtype=lemmata.int64), TypeError,
         r"randn.*int64"),
    Case("rand_negative", lambda: lemmata.rand(-2), RuntimeError, r"rand.*-2"),
    Case("tensor_ragged", lambda: lemmata.tensor([[1, 2], [3]]), ValueError, r"tensor.*regular"),
    Case("tensor_strings", lambda: lemmata.tensor(["a", "b"]), TypeError, r"tensor.*str"),
    Case("tensor_bad_dtype", lambda: lemmata.tensor([1.0], dtype="float7"), TypeError,
         r"float7"),
    Case("arange_zero_step", lambda: lemmata.arange(0, 10, 0), RuntimeError,
         r"arange.*step.*nonzero"),
    Case("arange_wrong_direction", lambda: lemmata.arange(10, 0, 1), RuntimeError,
         r"arange.*bound.*step"),
    Case("linspace_negative_steps", lambda: lemmata.linspace(0, 1, -1), RuntimeError,
         r"linspace.*steps.*-1"),
    Case("eye_negative", lambda: lemmata.eye(-1), RuntimeError, r"eye.*n=-1"),
    Case("randint_empty_range", lambda: lemmata.randint(5, 2, (3,)), RuntimeError,
         r"randint.*low=5.*high=2"),
    Case("randperm_negative", lambda: lemmata.randperm(-1), RuntimeError, r"randperm.*-1"),
    Case("zeros_on_mps", lambda: lemmata.zeros(2, device="mps"), RuntimeError,
         r"zeros: device: expected one of cpu, cuda.*'mps'"),
    Case("from_numpy_list", lambda: lemmata.from_numpy([1, 2]), TypeError,
         r"from_numpy.*list"),
    Case("zeros_like_list", lambda: lemmata.zeros_like([1.0, 2.0]), TypeError,
         r"zeros_like.*list"),
    Case("randn_like_list", lambda: lemmata.randn_like([1.0]), TypeError, r"randn_like.*list"),
    Case("empty_like_list", lambda: lemmata.empty_like((1.0,)), TypeError,
         r"empty_like.*tuple"),
    Case("eye_float", lambda: lemmata.eye(2.5), TypeError, r"eye.*n.*2\.5"),
    Case("randperm_float", lambda: lemmata.randperm(2.5), TypeError, r"randperm.*n.*2\.5"),
    Case("linspace_float_steps", lambda: lemmata.linspace(0, 1, 2.5), TypeError,
         r"linspace.*steps.*2\.5"),
    Case("full_list_fill", lambda: lemmata.full((2,), [1, 2, 3]), TypeError,
         r"full.*fill_value.*\[1, 2, 3\]"),
    Case("full_like_string_fill", lambda: lemmata.full_like(t(2), "x"), TypeError,
         r"full.*fill_value.*'x'"),
    Case("randint_negative_size", lambda: lemmata.randint(0, 5, size=(-1,)), RuntimeError,
         r"randint.*negative.*-1"),
    Case("tensor_none", lambda: lemmata.tensor(None), TypeError, r"tensor.*NoneType"),
    Case("tensor_object", lambda: lemmata.tensor([object()]), TypeError, r"tensor.*object"),
    Case("from_numpy_strings", lambda: lemmata.from_numpy(np.array(["a"])), TypeError,
         r"Tensor.*dtype.*<U1"),
    Case("manual_seed_negative", lambda: lemmata.manual_seed(-1), ValueError,
         r"manual_seed.*-1"),
    Case("manual_seed_string", lambda: lemmata.manual_seed("a"), TypeError,
         r"manual_seed.*str"),
    Case("set_default_dtype_int", lambda: lemmata.set_default_dtype(lemmata.int64), TypeError,
         r"set_default_dtype.*int64"),
    # ---------------------------------------------------------------- elementwise
    Case("add_shapes", lambda: t(2, 3) + t(4), RuntimeError, r"add.*\(2, 3\).*\(4,\)"),
    Case("sub_shapes", lambda: t(2, 3) - t(2, 2), RuntimeError, r"sub.*\(2, 3\).*\(2, 2\)"),
    Case("mul_shapes", lambda: lemmata.mul(t(3), t(4)), RuntimeError, r"mul.*\(3,\).*\(4,\)"),
    Case("div_shapes", lambda: t(5, 1, 3) / t(2, 2), RuntimeError,
         r"div.*\(5, 1, 3\).*\(2, 2\)"),
    Case("pow_shapes", lambda: t(3) ** t(2), RuntimeError, r"pow.*\(3,\).*\(2,\)"),
    Case("maximum_shapes", lambda: lemmata.maximum(t(2), t(3)), RuntimeError,
         r"maximum.*\(2,\).*\(3,\)"),
    Case("minimum_shapes", lambda: lemmata.minimum(t(2), t(3)), RuntimeError,
         r"minimum.*\(2,\).*\(3,\)"),
    Case("where_shapes", lambda: lemmata.where(t(2) > 0, t(3), t(3)), RuntimeError,
         r"where.*\(2,\).*\(3,\)"),
    Case("lerp_shapes", lambda: lemmata.lerp(t(3), t(2), 0.5), RuntimeError,
         r"lerp.*\(3,\).*\(2,\)"),
    Case("eq_shapes", lambda: t(3) == t(2), RuntimeError, r"eq.*\(3,\).*\(2,\)"),
    Case("exp_list", lambda: lemmata.exp([1.0, 2.0]), TypeError, r"exp.*list"),
    Case("log_string", lambda: lemmata.log("x"), TypeError, r"log.*str"),
    Case("sigmoid_list", lambda: lemmata.sigmoid([0.0]), TypeError, r"sigmoid.*list"),
    Case("clamp_no_bounds", lambda: t(3).clamp(), RuntimeError, r"clamp.*min.*max"),
    Case("clamp_string_bound", lambda: t(3).clamp(min="a"), TypeError, r"clamp.*str"),
    Case("where_string", lambda: lemmata.where(t(2) > 0, "a", t(2)), TypeError,
         r"where.*str"),
    Case("matmul_string", lambda: lemmata.matmul("a", t(3)), TypeError, r"matmul.*str"),
    Case("clamp_tensor_bound_shape", lambda: t(2).clamp(min=t(3)), RuntimeError,
         r"clamp.*\(2,\).*\(3,\)"),
    Case("div_rounding_mode", lambda: t(3).div(t(3), rounding_mode="round"), ValueError,
         r"div.*rounding_mode.*'round'"),
    Case("softplus_beta_zero", lambda: F.softplus(t(3), beta=0), ValueError,
         r"softplus.*beta"),
    Case("sub_bools", lambda: (t(2) > 0) - (t(2) > 0), TypeError, r"sub.*bool"),
    Case("add_string", lambda: t(2) + "a", TypeError, r"add.*str"),
    Case("hardtanh_bounds", lambda: F.hardtanh(t(3), 1.0, -1.0), ValueError,
         r"hardtanh.*min_val.*1\.0.*max_val.*-1\.0"),
    Case("gelu_approximate", lambda: F.gelu(t(3), approximate="fast"), ValueError,
         r"gelu.*'fast'"),
    Case("leaky_relu_list", lambda: F.leaky_relu([1.0]), TypeError, r"leaky_relu.*list"),
    # ---------------------------------------------------------------- matmul
    Case("matmul_inner", lambda: t(2, 3) @ t(4, 5), RuntimeError,
         r"matmul.*\(2, 3\).*\(4, 5\).*3 != 4"),
    Case("matmul_scalar", lambda: lemmata.matmul(t(2, 3), lemmata.tensor(2.0)), RuntimeError,
         r"matmul.*\(2, 3\).*\(\)"),
    Case("matmul_batch", lambda: t(2, 3, 4) @ t(3, 4, 5), RuntimeError,
         r"matmul.*\(2, 3, 4\).*\(3, 4, 5\)"),
    Case("matmul_vectors", lambda: t(3) @ t(4), RuntimeError, r"matmul.*\(3,\).*\(4,\)"),
    Case("mm_rank", lambda: lemmata.mm(t(2, 3, 4), t(4, 2)), RuntimeError,
         r"mm.*\(2, 3, 4\)"),
    Case("bmm_batch", lambda: lemmata.bmm(t(2, 3, 4), t(3, 4, 5)), RuntimeError,
         r"bmm.*\(2, 3, 4\).*\(3, 4, 5\)"),
    Case("mv_rank", lambda: lemmata.mv(t(2, 3), t(3, 1)), RuntimeError, r"mv.*\(3, 1\)"),
    Case("dot_rank", lambda: lemmata.dot(t(2, 3), t(3)), RuntimeError, r"dot.*\(2, 3\)"),
    Case("outer_rank", lambda: lemmata.outer(t(2, 2), t(3)), RuntimeError,
         r"outer.*\(2, 2\)"),
    Case("linear_features", lambda: F.linear(t(3, 5), t(2, 4)), RuntimeError,
         r"linear.*\(3, 5\).*\(2, 4\)"),
    Case("linear_bias", lambda: F.linear(t(3, 4), t(2, 4), t(3)), RuntimeError,
         r"linear.*bias.*\(3,\)"),
    # ---------------------------------------------------------------- reductions
    Case("sum_dim", lambda: t(2, 3).sum(dim=2), IndexError, r"sum.*dim 2.*range"),
    Case("mean_repeated_dims", lambda: t(2, 3).mean(dim=(0, 0)), RuntimeError,
         r"mean.*\(0, 0\).*multiple"),
    Case("mean_of_ints", lambda: ints(1, 2).mean(), RuntimeError, r"mean.*int64"),
    Case("max_dim", lambda: t(2, 3).max(dim=5), IndexError, r"max.*dim 5"),
    Case("argmax_dim", lambda: t(2, 3).argmax(dim=-3), IndexError, r"argmax.*dim -3"),
    Case("argmax_empty", lambda: lemmata.zeros(0).argmax(), IndexError, r"argmax.*\(0,\)"),
    Case("amax_empty_dim", lambda: lemmata.zeros(2, 0).amax(dim=1), IndexError,
         r"amax.*\(2, 0\)"),
    Case("var_float_dim", lambda: t(2, 3).var(dim=1.5), TypeError, r"var.*dim.*float"),
    Case("var_unbiased_and_correction", lambda: t(3).var(unbiased=True, correction=1),
         TypeError, r"var.*unbiased.*correction"),
    Case("var_correction_string", lambda: t(3).var(correction="a"), TypeError,
         r"var.*correction.*'a'"),
    Case("sum_dim_string", lambda: t(2, 3).sum(dim="a"), TypeError, r"sum.*dim.*str"),
    Case("std_dim_list", lambda: t(2, 3).std(dim=[0, 5]), IndexError, r"std.*dim 5"),
    Case("logsumexp_dim", lambda: lemmata.logsumexp(t(2, 3), dim=3), IndexError,
         r"logsumexp.*dim 3"),
    Case("softmax_dim", lambda: F.softmax(t(2, 3), dim=2), IndexError, r"softmax.*dim 2"),
    Case("log_softmax_dim", lambda: F.log_softmax(t(2, 3), dim=-3), IndexError,
         r"log_softmax.*dim -3"),
    Case("norm_negative_p", lambda: t(3).norm(p=-1), ValueError, r"norm.*p.*-1"),
    Case("norm_string_p", lambda: t(3).norm(p="nuc"), ValueError, r"norm.*'nuc'"),
    Case("prod_dim", lambda: lemmata.prod(t(2, 3), dim=4), IndexError, r"prod.*dim 4"),
    Case("sum_list", lambda: lemmata.sum([1.0, 2.0]), TypeError, r"sum.*list"),
    Case("size_dim", lambda: t(2, 3).size(3), IndexError, r"size.*dim 3"),
    # ---------------------------------------------------------------- shape ops
    Case("reshape_size", lambda: t(2, 3).reshape(4, 4), RuntimeError,
         r"reshape.*\[4, 4\].*size 6"),
    Case("reshape_two_minus_ones", lambda: t(2, 3).reshape(-1, -1), RuntimeError,
         r"reshape.*\(-1, -1\)"),
    Case("reshape_string", lambda: t(2, 3).reshape(2, "a"), TypeError, r"reshape.*'a'"),
    Case("view_size", lambda: t(2, 3).view(5), RuntimeError, r"(view|reshape).*\[5\].*size 6"),
    Case("permute_repeat", lambda: t(2, 3).permute(0, 0), RuntimeError,
         r"permute.*\(0, 0\)"),
    Case("permute_count", lambda: t(2, 3).permute(0), RuntimeError, r"permute.*\(2, 3\)"),
    Case("transpose_dim", lambda: t(2, 3).transpose(0, 2), IndexError,
         r"transpose.*dim 2"),
    Case("unsqueeze_dim", lambda: t(2, 3).unsqueeze(4), IndexError, r"unsqueeze.*dim 4"),
    Case("squeeze_dim", lambda: t(2, 1).squeeze(3), IndexError, r"squeeze.*dim 3"),
    Case("flatten_order", lambda: t(2, 3, 4).flatten(2, 0), RuntimeError,
         r"flatten.*start_dim 2.*end_dim 0"),
    Case("unflatten_sizes", lambda: t(2, 3).unflatten(1, (2, 2)), RuntimeError,
         r"unflatten.*\[2, 2\].*3.*\(2, 3\)"),
    Case("cat_sizes", lambda: lemmata.cat([t(2, 3), t(2, 4)]), RuntimeError,
         r"cat.*\(2, 3\).*\(2, 4\)"),
    Case("cat_empty", lambda: lemmata.cat([]), RuntimeError, r"cat.*non-empty"),
    Case("cat_not_tensor", lambda: lemmata.cat([t(2), [1.0, 2.0]]), TypeError,
         r"cat.*element 1.*list"),
    Case("cat_ranks", lambda: lemmata.cat([t(2, 3), t(3)], dim=0), RuntimeError,
         r"cat.*\(2, 3\).*\(3,\)"),
    Case("cat_float_dim", lambda: lemmata.cat([t(2), t(2)], dim=0.5), TypeError,
         r"cat.*dim.*float"),
    Case("cat_dim", lambda: lemmata.cat([t(2, 3), t(2, 3)], dim=2), IndexError,
         r"cat.*dim 2"),
    Case("stack_shapes", lambda: lemmata.stack([t(2), t(3)]), RuntimeError,
         r"stack.*\(2,\).*\(3,\)"),
    Case("stack_not_tensor", lambda: lemmata.stack([t(2), [1.0, 2.0]]), TypeError,
         r"stack.*element 1.*list"),
    Case("stack_empty", lambda: lemmata.stack([]), RuntimeError, r"stack.*non-empty"),
    Case("stack_dim", lambda: lemmata.stack([t(2), t(2)], dim=3), IndexError,
         r"stack.*dim 3"),
    Case("getitem_out_of_range", lambda: t(2, 3)[5], IndexError,
         r"__getitem__.*5.*\(2, 3\)"),
    Case("getitem_too_many", lambda: t(2, 3)[0, 0, 0], IndexError,
         r"__getitem__.*\(0, 0, 0\).*\(2, 3\)"),
    Case("getitem_float_tensor", lambda: t(2, 3)[t(1)], IndexError,
         r"(__getitem__|ind).*float32"),
    Case("getitem_list_out_of_range", lambda: t(2, 3)[[0, 5]], IndexError,
         r"__getitem__.*5.*\(2, 3\)"),
    Case("getitem_float_list", lambda: t(2, 3)[[0.5]], IndexError, r"ind.*0\.5"),
    Case("getitem_mask_shape", lambda: t(2, 3)[t(3) > 0], IndexError,
         r"__getitem__.*mask.*\(3,\).*\(2, 3\)"),
    Case("setitem_value_shape", lambda: t(2, 3).__setitem__(0, t(5)), RuntimeError,
         r"__setitem__.*\(5,\).*\(2, 3\)"),
    Case("setitem_index", lambda: t(2, 3).__setitem__(7, 1.0), IndexError,
         r"__setitem__|__getitem__.*7.*\(2, 3\)"),
    Case("expand_size", lambda: t(2, 3).expand(3, 4), RuntimeError,
         r"expand.*\(3\).*\(2\)|expand.*3, 4.*2, 3"),
    Case("expand_rank", lambda: t(2, 3).expand(3), RuntimeError, r"expand.*\(1\).*\(2\)"),
    Case("broadcast_to_shape", lambda: lemmata.broadcast_to(t(3), (2, 2)), RuntimeError,
         r"(broadcast_to|expand).*\[2, 2\]"),
    Case("repeat_rank", lambda: t(2, 3).repeat(2), RuntimeError, r"repeat.*\(1\).*\(2\)"),
    Case("flip_dim", lambda: t(2, 3).flip(3), IndexError, r"flip.*dim 3"),
    Case("pad_odd", lambda: F.pad(t(2, 3), [1]), ValueError, r"pad.*length 1"),
    Case("pad_reflect_size", lambda: F.pad(t(1, 2, 3), [3, 3], mode="reflect"), ValueError,
         r"pad.*\(3, 3\).*3.*reflect"),
    Case("pad_mode", lambda: F.pad(t(2, 3), [1, 1], mode="wrap"), ValueError,
         r"pad.*'wrap'"),
    Case("pad_negative", lambda: F.pad(t(2, 3), [-5, 0]), RuntimeError,
         r"pad.*negative.*\(2, 3\)"),
    Case("gather_float_index", lambda: t(2, 3).gather(1, t(2, 1)), RuntimeError,
         r"gather.*index.*float32"),
    Case("gather_out_of_range", lambda: t(2, 3).gather(1, ints(0, 3).reshape(2, 1)),
         IndexError, r"gather.*\(2, 3\)"),
    Case("gather_rank", lambda: t(2, 3).gather(1, ints(0, 1)), RuntimeError,
         r"gather.*\(2,\).*\(2, 3\)"),
    Case("split_sizes", lambda: t(2, 3).split([1, 1], dim=1), RuntimeError,
         r"split.*\[1, 1\].*3"),
    Case("split_float", lambda: t(2, 3).split(1.5), TypeError, r"split.*split_size.*1\.5"),
    Case("split_float_sections", lambda: t(2, 3).split([1.5, 1.5], dim=1), TypeError,
         r"split.*1\.5"),
    Case("chunk_float", lambda: t(2, 3).chunk(1.5), TypeError, r"chunk.*chunks.*1\.5"),
    Case("split_zero", lambda: t(2, 3).split(0), RuntimeError, r"split.*split_size.*0"),
    Case("chunk_zero", lambda: t(2, 3).chunk(0), RuntimeError, r"chunk.*0"),
    Case("narrow_length", lambda: t(2, 3).narrow(1, 2, 5), IndexError,
         r"narrow.*start 2.*length 5.*size 3"),
    Case("narrow_string_start", lambda: t(2, 3).narrow(1, "a", 1), TypeError,
         r"narrow.*start.*'a'"),
    Case("select_float_index", lambda: t(2, 3).select(1, 1.5), TypeError,
         r"select.*index.*1\.5"),
    Case("select_index", lambda: t(2, 3).select(1, 7), IndexError,
         r"select.*index 7.*size 3"),
    Case("reshape_float", lambda: t(2, 3).reshape(2.0, 3), TypeError,
         r"reshape.*\(2\.0, 3\)"),
    Case("permute_float", lambda: t(2, 3).permute(0, 1.5), TypeError,
         r"permute.*\(0, 1\.5\)"),
    Case("unsqueeze_float", lambda: t(2, 3).unsqueeze(1.0), TypeError,
         r"unsqueeze.*dim.*float"),
    Case("repeat_negative", lambda: t(2, 3).repeat(-1, 1), RuntimeError, r"-2|-1"),
    Case("expand_negative", lambda: t(1, 3).expand(-2, 3), RuntimeError,
         r"expand.*\[-2, 3\].*\[1, 3\]"),
    Case("pad_float_widths", lambda: F.pad(t(2, 3), [1.5, 1]), TypeError,
         r"pad.*\[1\.5, 1\]"),
    Case("getitem_string", lambda: t(2, 3)["a"], IndexError, r"__getitem__.*'a'.*\(2, 3\)"),
    Case("getitem_two_ellipses", lambda: t(2, 3)[..., ...], IndexError,
         r"__getitem__.*Ellipsis, Ellipsis.*\(2, 3\)"),
    Case("setitem_string_value", lambda: t(2, 3).__setitem__(0, "a"), RuntimeError,
         r"__setitem__.*\(2, 3\)"),
    Case("item_empty", lambda: lemmata.zeros(0).item(), RuntimeError,
         r"item.*0 elements.*\(0,\)"),
    Case("bool_ambiguous", lambda: bool(t(3)), RuntimeError, r"Boolean value.*3 values"),
    Case("len_of_scalar", lambda: len(lemmata.tensor(1.0)), TypeError, r"len\(\).*0-d"),
    Case("index_from_float_tensor", lambda: [1, 2, 3][t(1)], TypeError,
         r"integer tensors.*index"),
    Case("t_rank", lambda: t(2, 3, 4).t(), RuntimeError, r"t:.*3-D.*\(2, 3, 4\)"),
    Case("mT_rank", lambda: t(3).mT, RuntimeError, r"mT.*\(3,\)"),
    Case("item_many", lambda: t(2, 3).item(), RuntimeError, r"item.*6 elements.*\(2, 3\)"),
    Case("to_tpu", lambda: t(2).to("tpu:0"), RuntimeError, r"to: device: .*'tpu:0'"),
    Case("to_bad_dtype", lambda: t(2).to(dtype="float7"), TypeError, r"float7"),
    Case("numpy_requires_grad", lambda: t(2, grad=True).numpy(), RuntimeError,
         r"numpy\(\).*requires grad"),
    # ---------------------------------------------------------------- autograd
    Case("backward_non_scalar", lambda: (t(2, 3, grad=True) * 2).backward(), RuntimeError,
         r"backward.*scalar.*\(2, 3\)"),
    Case("backward_gradient_shape",
         lambda: (t(2, 3, grad=True) * 2).backward(lemmata.ones(3)), RuntimeError,
         r"backward.*\(3,\).*\(2, 3\)"),
    Case("backward_gradient_string",
         lambda: (t(3, grad=True) * 2).backward(gradient="a"), TypeError,
         r"backward.*gradient.*str 'a'"),
    Case("backward_gradient_count", lambda: lemmata.autograd.backward(
        [(t(3, grad=True) * 2).sum()], grad_tensors=[lemmata.tensor(1.0), lemmata.tensor(1.0)]),
         RuntimeError, r"backward.*2 gradients.*1 outputs"),
    Case("backward_no_grad", lambda: t(3).sum().backward(), RuntimeError,
         r"backward.*does not require grad"),
    Case("backward_twice", _backward_twice, RuntimeError, r"backward through the graph a second"),
    Case("inplace_on_leaf", lambda: t(3, grad=True).add_(1), RuntimeError,
         r"add_.*leaf.*requires grad"),
    Case("modified_in_place", _modified_in_place, RuntimeError,
         r"modified by an inplace operation.*\(3,\)"),
    Case("grad_unused_input", lambda: lemmata.autograd.grad(t(3, grad=True).sum(),
                                                            t(2, grad=True)), RuntimeError,
         r"grad.*inputs\[0\].*\(2,\).*not used"),
    Case("grad_input_not_tensor", lambda: lemmata.autograd.grad(t(3, grad=True).sum(), [1.0]),
         TypeError, r"grad.*inputs\[0\].*float"),
    Case("grad_input_no_grad", lambda: lemmata.autograd.grad(t(3, grad=True).sum(), t(3)),
         RuntimeError, r"grad.*inputs\[0\].*\(3,\).*does not require grad"),
    Case("requires_grad_int", lambda: ints(1, 2).requires_grad_(), RuntimeError,
         r"require.*grad.*int64"),
    Case("hook_no_grad", lambda: t(3).register_hook(lambda g: g), RuntimeError,
         r"hook.*require"),
    # ---------------------------------------------------------------- convolution and pooling
    Case("conv2d_channels", lambda: F.conv2d(t(1, 4, 8, 8), t(8, 3, 3, 3)), RuntimeError,
         r"conv2d.*4 channels.*3.*\(1, 4, 8, 8\).*\(8, 3, 3, 3\)"),
    Case("conv2d_rank", lambda: F.conv2d(t(8, 8), t(8, 3, 3, 3)), RuntimeError,
         r"conv2d.*3-D.*4-D.*\(8, 8\)"),
    Case("conv2d_weight_rank", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3)), RuntimeError,
         r"conv2d.*weight.*4-D.*\(8, 3, 3\)"),
    Case("conv2d_stride", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3, 3), stride=0), ValueError,
         r"conv2d.*stride.*0"),
    Case("conv2d_padding", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3, 3), padding=-1),
         ValueError, r"conv2d.*padding.*-1"),
    Case("conv2d_padding_string", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3, 3),
                                                   padding="full"), ValueError,
         r"conv2d.*'full'"),
    Case("conv2d_same_strided", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3, 3), padding="same",
                                                 stride=2), ValueError,
         r"conv2d.*'same'.*stride"),
    Case("conv2d_groups", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3, 3), groups=2),
         RuntimeError, r"conv2d.*groups=2"),
    Case("conv2d_kernel_too_big", lambda: F.conv2d(t(1, 3, 2, 2), t(8, 3, 5, 5)), RuntimeError,
         r"conv2d.*\(5, 5\).*\(2, 2\)"),
    Case("conv2d_bias", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3, 3), t(7)), RuntimeError,
         r"conv2d.*bias.*\(8,\).*\(7,\)"),
    Case("conv2d_int_input", lambda: F.conv2d(lemmata.zeros(1, 3, 8, 8, dtype=lemmata.int64),
                                              t(8, 3, 3, 3)), TypeError,
         r"conv2d.*input.*int64"),
    Case("conv2d_stride_tuple", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3, 3),
                                                 stride=(1, 2, 3)), ValueError,
         r"conv2d.*stride.*\(1, 2, 3\)"),
    Case("conv2d_dilation", lambda: F.conv2d(t(1, 3, 8, 8), t(8, 3, 3, 3), dilation=0),
         ValueError, r"conv2d.*dilation.*\(0, 0\)"),
    Case("conv1d_rank", lambda: F.conv1d(t(1, 3, 8, 8), t(4, 3, 3)), RuntimeError,
         r"conv1d.*\(1, 3, 8, 8\)"),
    Case("conv_transpose2d_channels", lambda: F.conv_transpose2d(t(1, 4, 5, 5),
                                                                 t(3, 2, 3, 3)),
         RuntimeError, r"conv_transpose2d.*4 channels.*3"),
    Case("conv_transpose2d_output_padding",
         lambda: F.conv_transpose2d(t(1, 3, 5, 5), t(3, 2, 3, 3), output_padding=2),
         ValueError, r"conv_transpose2d.*output.padding.*2"),
    Case("max_pool2d_rank", lambda: F.max_pool2d(t(8, 8), 2), RuntimeError,
         r"max_pool2d.*3-D.*4-D.*\(8, 8\)"),
    Case("max_pool2d_padding", lambda: F.max_pool2d(t(1, 1, 8, 8), 2, padding=2), ValueError,
         r"max_pool2d.*pad.*half.*2"),
    Case("max_pool2d_kernel_zero", lambda: F.max_pool2d(t(1, 1, 8, 8), 0), ValueError,
         r"max_pool2d.*kernel_size.*0"),
    Case("max_pool2d_too_small", lambda: F.max_pool2d(t(1, 1, 8, 8), 10), RuntimeError,
         r"max_pool2d.*\(1, 1, 8, 8\).*too small"),
    Case("max_pool2d_stride", lambda: F.max_pool2d(t(1, 1, 8, 8), 2, stride=0), ValueError,
         r"max_pool2d.*stride.*\(0, 0\)"),
    Case("avg_pool2d_float_kernel", lambda: F.avg_pool2d(t(1, 1, 8, 8), 2.5), ValueError,
         r"avg_pool2d.*kernel_size.*2\.5"),
    Case("max_pool1d_kernel_tuple", lambda: F.max_pool1d(t(1, 2, 8), (2, 2)), ValueError,
         r"max_pool1d.*kernel_size.*\(2, 2\)"),
    Case("avg_pool2d_stride", lambda: F.avg_pool2d(t(1, 1, 8, 8), 2, stride=-1), ValueError,
         r"avg_pool2d.*stride.*-1"),
    Case("avg_pool2d_divisor", lambda: F.avg_pool2d(t(1, 1, 8, 8), 2, divisor_override=0),
         ValueError, r"avg_pool2d.*divisor_override.*0"),
    Case("avg_pool1d_int", lambda: F.avg_pool1d(lemmata.zeros(1, 2, 8, dtype=lemmata.int64), 2),
         TypeError, r"avg_pool1d.*int64"),
    Case("adaptive_avg_pool2d_size", lambda: F.adaptive_avg_pool2d(t(1, 1, 8, 8), (-1, 2)),
         ValueError, r"adaptive_avg_pool2d.*output_size.*\(-1, 2\)"),
    # ---------------------------------------------------------------- nn layers
    Case("Conv2d_channels", lambda: nn.Conv2d(3, 8, 3)(t(1, 4, 8, 8)), RuntimeError,
         r"Conv2d.*3 channels.*4|conv2d.*4 channels.*3"),
    Case("Conv2d_rank", lambda: nn.Conv2d(3, 8, 3)(t(1, 1, 3, 8, 8)), RuntimeError,
         r"Conv2d.*3-D.*4-D.*\(1, 1, 3, 8, 8\)"),
    Case("Conv2d_groups", lambda: nn.Conv2d(3, 8, 3, groups=2), ValueError,
         r"Conv2d.*in_channels.*3.*groups.*2"),
    Case("Conv2d_kernel_zero", lambda: nn.Conv2d(3, 8, 0), ValueError,
         r"Conv2d.*kernel_size.*0"),
    Case("Conv2d_kernel_tuple", lambda: nn.Conv2d(3, 8, (3, 3, 3)), ValueError,
         r"Conv2d.*kernel_size.*\(3, 3, 3\)"),
    Case("MaxPool2d_negative", lambda: nn.MaxPool2d(-1)(t(1, 1, 8, 8)), ValueError,
         r"max_pool2d.*kernel_size.*\(-1, -1\)"),
    Case("Conv1d_padding_mode", lambda: nn.Conv1d(3, 8, 3, padding_mode="mirror"), ValueError,
         r"Conv1d.*padding_mode.*'mirror'"),
    Case("Linear_in_features", lambda: _linear()(t(3, 5)), RuntimeError,
         r"Linear.*in_features=4.*\(3, 5\)|linear.*\(3, 5\).*\(2, 4\)"),
    Case("Linear_negative", lambda: nn.Linear(-1, 2), ValueError, r"Linear.*-1"),
    Case("Linear_scalar_input", lambda: _linear()(lemmata.tensor(1.0)), RuntimeError,
         r"Linear.*\(\)|linear.*\(\)"),
    Case("BatchNorm2d_channels", lambda: nn.BatchNorm2d(3)(t(2, 4, 5, 5)), RuntimeError,
         r"BatchNorm2d.*3.*channels.*4|batch_norm.*4"),
    Case("BatchNorm2d_rank", lambda: nn.BatchNorm2d(3)(t(2, 3)), ValueError,
         r"BatchNorm2d.*4D.*\(2, 3\)"),
    Case("BatchNorm1d_single_value", lambda: nn.BatchNorm1d(3)(t(1, 3)), ValueError,
         r"batch_norm.*more than 1 value.*\(1, 3\)"),
    Case("BatchNorm1d_features", lambda: nn.BatchNorm1d(0), ValueError,
         r"BatchNorm1d.*num_features.*0"),
    Case("LayerNorm_shape", lambda: nn.LayerNorm(4)(t(2, 3)), RuntimeError,
         r"LayerNorm.*4.*\(2, 3\)|layer_norm.*\[4\].*\(2, 3\)"),
    Case("GroupNorm_divisible", lambda: nn.GroupNorm(4, 6), ValueError,
         r"GroupNorm.*6.*4"),
    Case("group_norm_channels", lambda: F.group_norm(t(2, 6, 3), 4), RuntimeError,
         r"group_norm.*num_groups=4.*\(2, 6, 3\)"),
    Case("MaxPool2d_rank", lambda: nn.MaxPool2d(2)(t(8, 8)), RuntimeError,
         r"MaxPool2d.*3-D.*4-D.*\(8, 8\)"),
    Case("linear_weight_rank", lambda: F.linear(t(3, 4), t(4)), ValueError,
         r"linear.*weight.*2-D.*\(4,\)"),
    Case("batch_norm_eval_without_statistics", lambda: F.batch_norm(t(2, 3), None, None),
         RuntimeError, r"batch_norm.*running_mean.*training=False"),
    Case("layer_norm_empty_shape", lambda: F.layer_norm(t(2, 3), ()), RuntimeError,
         r"layer_norm.*normalized_shape=\[\].*\(2, 3\)"),
    Case("group_norm_zero_groups", lambda: F.group_norm(t(2, 4, 3), 0), ValueError,
         r"group_norm.*num_groups.*0"),
    Case("Sequential_not_module", lambda: nn.Sequential("a"), TypeError,
         r"str is not a Module"),
    Case("Sequential_index", lambda: nn.Sequential(nn.ReLU())[3], IndexError,
         r"index 3.*Sequential.*1"),
    Case("Parameter_list", lambda: nn.Parameter([1.0, 2.0]), TypeError, r"Parameter.*list"),
    Case("train_mode_string", lambda: _linear().train("yes"), ValueError,
         r"training mode.*'yes'"),
    Case("Dropout_p", lambda: nn.Dropout(p=1.5), ValueError, r"Dropout.*1\.5"),
    Case("dropout_p", lambda: F.dropout(t(3), p=-0.1), ValueError, r"dropout.*-0\.1"),
    Case("Flatten_dim", lambda: nn.Flatten(start_dim=5)(t(2, 3)), IndexError,
         r"flatten.*dim 5"),
    Case("Softmax_dim", lambda: nn.Softmax(dim=3)(t(2, 3)), IndexError, r"softmax.*dim 3"),
    Case("ModuleList_index", _module_list_index, IndexError, r"index 5.*ModuleList.*2"),
    Case("register_parameter_dot", lambda: nn.Module().register_parameter(
        "a.b", nn.Parameter(t(2))), KeyError, r"parameter.*\.\".*a\.b|\"\.\".*a\.b"),
    Case("assign_tensor_as_parameter", lambda: setattr(_linear(), "weight", t(2, 4)),
         TypeError, r"Tensor.*weight"),
    # ---------------------------------------------------------------- losses
    Case("cross_entropy_batch", lambda: F.cross_entropy(t(4, 3), ints(0, 1, 2, 0, 1)),
         ValueError, r"cross_entropy.*batch_size \(4\).*batch_size \(5\)"),
    Case("cross_entropy_class_range", lambda: F.cross_entropy(t(4, 3), ints(0, 1, 3, 2)),
         IndexError, r"cross_entropy.*Target 3.*\[0, 3\)"),
    Case("cross_entropy_negative_class", lambda: F.cross_entropy(t(2, 3), ints(0, -2)),
         IndexError, r"cross_entropy.*-2.*\[0, 3\)"),
    Case("cross_entropy_float_target_shape", lambda: F.cross_entropy(t(4, 3), t(4, 2)),
         ValueError, r"cross_entropy.*\(4, 3\).*\(4, 2\)"),
    Case("cross_entropy_weight", lambda: F.cross_entropy(t(4, 3), ints(0, 1, 2, 0),
                                                         weight=t(2)), ValueError,
         r"cross_entropy.*weight.*3 classes.*\(2,\)"),
    Case("cross_entropy_smoothing", lambda: F.cross_entropy(t(4, 3), ints(0, 1, 2, 0),
                                                            label_smoothing=1.5), ValueError,
         r"cross_entropy.*label_smoothing.*1\.5"),
    Case("cross_entropy_reduction", lambda: F.cross_entropy(t(4, 3), ints(0, 1, 2, 0),
                                                            reduction="avg"), ValueError,
         r"cross_entropy.*'avg'"),
    Case("cross_entropy_scalar_input", lambda: F.cross_entropy(lemmata.tensor(1.0), ints(0)),
         ValueError, r"cross_entropy.*0-d"),
    Case("cross_entropy_bool_target", lambda: F.cross_entropy(t(2, 3), lemmata.tensor(
        [True, False])), TypeError, r"cross_entropy.*integer.*bool"),
    Case("cross_entropy_ignore_index_probabilities", lambda: F.cross_entropy(
        t(2, 3), t(2, 3), ignore_index=1), ValueError, r"cross_entropy.*ignore_index=1"),
    Case("huber_none_reduction", lambda: F.huber_loss(t(3), t(3), reduction=None), ValueError,
         r"huber_loss.*None.*reduction"),
    Case("nll_loss_spatial_batch", lambda: F.nll_loss(t(2, 3, 4), ints(0, 1, 2, 0).reshape(
        1, 4)), ValueError, r"nll_loss.*batch_size \(2\).*batch_size \(1\)"),
    Case("one_hot_float", lambda: F.one_hot(t(3)), RuntimeError, r"one_hot.*float32"),
    Case("nll_loss_class_range", lambda: F.nll_loss(t(2, 3), ints(0, 7)), IndexError,
         r"nll_loss.*7.*\[0, 3\)"),
    Case("nll_loss_int_input", lambda: F.nll_loss(ints(1, 2).reshape(1, 2), ints(0)),
         TypeError, r"nll_loss.*input.*int64"),
    Case("nll_loss_float_target", lambda: F.nll_loss(t(2, 3), t(2)), TypeError,
         r"nll_loss.*target.*float32"),
    Case("mse_loss_shapes", lambda: F.mse_loss(t(2, 3), t(4)), ValueError,
         r"mse_loss.*\(4,\).*\(2, 3\)"),
    Case("l1_loss_shapes", lambda: F.l1_loss(t(2, 3), t(3, 2)), ValueError,
         r"l1_loss.*\(3, 2\).*\(2, 3\)"),
    Case("bce_range", lambda: F.binary_cross_entropy(t(3) * 10, t(3)), ValueError,
         r"binary_cross_entropy.*input.*between 0 and 1.*3\.0"),
    Case("bce_shapes", lambda: F.binary_cross_entropy(t(3), t(2)), ValueError,
         r"binary_cross_entropy.*\(2,\).*\(3,\)"),
    Case("bce_logits_shapes", lambda: F.binary_cross_entropy_with_logits(t(3), t(2)),
         ValueError, r"binary_cross_entropy_with_logits.*\(2,\).*\(3,\)"),
    Case("bce_logits_pos_weight", lambda: F.binary_cross_entropy_with_logits(
        t(2, 3), t(2, 3), pos_weight=t(5)), ValueError,
         r"binary_cross_entropy_with_logits.*pos_weight.*\(5,\).*\(2, 3\)"),
    Case("huber_delta", lambda: F.huber_loss(t(3), t(3), delta=0.0), ValueError,
         r"huber_loss.*delta.*0"),
    Case("smooth_l1_beta", lambda: F.smooth_l1_loss(t(3), t(3), beta=-1.0), ValueError,
         r"smooth_l1_loss.*beta.*-1"),
    Case("kl_div_shapes", lambda: F.kl_div(t(2, 3), t(4), reduction="batchmean"), ValueError,
         r"kl_div.*\(4,\).*\(2, 3\)"),
    Case("CrossEntropyLoss_smoothing", lambda: nn.CrossEntropyLoss(label_smoothing=2.0),
         ValueError, r"CrossEntropyLoss.*label_smoothing.*2\.0"),
    Case("CrossEntropyLoss_class_range", lambda: nn.CrossEntropyLoss()(t(2, 3), ints(0, 9)),
         IndexError, r"cross_entropy.*9.*\[0, 3\)"),
    Case("MSELoss_reduction", lambda: nn.MSELoss(reduction="mean_sum"), ValueError,
         r"MSELoss.*'mean_sum'"),
    Case("one_hot_range", lambda: F.one_hot(ints(0, 5), num_classes=3), RuntimeError,
         r"one_hot.*num_classes=3.*5"),
    # ---------------------------------------------------------------- optimisers
    Case("SGD_negative_lr", lambda: _sgd(lr=-0.1), ValueError, r"SGD.*learning rate.*-0\.1"),
    Case("SGD_negative_momentum", lambda: _sgd(lr=0.1, momentum=-1.0), ValueError,
         r"SGD.*momentum.*-1"),
    Case("SGD_nesterov", lambda: _sgd(lr=0.1, nesterov=True), ValueError,
         r"SGD.*Nesterov.*momentum"),
    Case("SGD_weight_decay", lambda: _sgd(lr=0.1, weight_decay=-1e-4), ValueError,
         r"SGD.*weight_decay.*-0\.0001"),
    Case("Adam_beta1", lambda: _adam(betas=(1.0, 0.999)), ValueError, r"Adam.*beta.*1\.0"),
    Case("Adam_beta2", lambda: _adam(betas=(0.9, -0.1)), ValueError, r"Adam.*beta.*-0\.1"),
    Case("Adam_betas_shape", lambda: _adam(betas=0.9), ValueError, r"Adam.*betas.*0\.9"),
    Case("Adam_eps", lambda: _adam(eps=-1.0), ValueError, r"Adam.*eps.*-1"),
    Case("Adam_lr", lambda: _adam(lr=-1e-3), ValueError, r"Adam.*learning rate.*-0\.001"),
    Case("AdamW_weight_decay", lambda: optim.AdamW(_linear().parameters(), weight_decay=-1.0),
         ValueError, r"AdamW.*weight_decay.*-1"),
    Case("SGD_lr_string", lambda: _sgd(lr="a"), TypeError, r"SGD.*lr.*'a'"),
    Case("Adam_lr_nan", lambda: _adam(lr=float("nan")), ValueError,
         r"Adam.*learning rate.*nan"),
    Case("SGD_group_without_params", lambda: optim.SGD([{"lr": 0.1}], lr=0.1), ValueError,
         r"SGD.*'params'"),
    Case("CosineAnnealingLR_T_max", lambda: optim.lr_scheduler.CosineAnnealingLR(
        _sgd(lr=0.1), T_max=0), ValueError, r"CosineAnnealingLR.*T_max.*0"),
    Case("LambdaLR_not_callable", lambda: optim.lr_scheduler.LambdaLR(_sgd(lr=0.1),
                                                                      lr_lambda=3), TypeError,
         r"LambdaLR.*lr_lambda.*int"),
    Case("RMSprop_alpha", lambda: optim.RMSprop(_linear().parameters(), alpha=-1.0),
         ValueError, r"RMSprop.*alpha.*-1"),
    Case("Adagrad_lr", lambda: optim.Adagrad(_linear().parameters(), lr=-1.0), ValueError,
         r"Adagrad.*learning rate.*-1"),
    Case("optimizer_empty", lambda: optim.Adam([]), ValueError, r"Adam.*empty parameter list"),
    Case("optimizer_single_tensor", lambda: optim.SGD(_linear().weight, lr=0.1), TypeError,
         r"SGD.*iterable.*Tensor|SGD.*Parameter"),
    Case("optimizer_non_leaf", lambda: optim.SGD([_linear().weight * 2], lr=0.1), ValueError,
         r"SGD.*non-leaf.*\(2, 4\)"),
    Case("optimizer_duplicate_groups", _duplicate_parameter_groups, ValueError,
         r"SGD.*more than one parameter group"),
    Case("optimizer_load_groups", _optimizer_load_wrong_groups, ValueError,
         r"SGD.*2 parameter groups.*1|SGD.*1.*2"),
    Case("StepLR_step_size", lambda: optim.lr_scheduler.StepLR(_sgd(lr=0.1), step_size=0),
         ValueError, r"StepLR.*step_size.*0"),
    Case("scheduler_not_optimizer", lambda: optim.lr_scheduler.StepLR(_linear(), 2), TypeError,
         r"StepLR.*Linear.*not an.*Optimizer"),
    # ---------------------------------------------------------------- nn.init
    Case("kaiming_uniform_1d", lambda: init.kaiming_uniform_(t(3)), ValueError,
         r"kaiming_uniform_.*\(3,\)"),
    Case("xavier_normal_1d", lambda: init.xavier_normal_(t(3)), ValueError,
         r"xavier_normal_.*\(3,\)"),
    Case("kaiming_normal_mode", lambda: init.kaiming_normal_(t(3, 4), mode="fan_avg"),
         ValueError, r"kaiming_normal_.*fan_avg"),
    Case("calculate_gain_name", lambda: init.calculate_gain("swish"), ValueError,
         r"calculate_gain.*'swish'"),
    Case("eye_3d", lambda: init.eye_(t(2, 2, 2)), ValueError, r"eye_.*\(2, 2, 2\)"),
    Case("uniform_list", lambda: init.uniform_([1.0, 2.0]), TypeError, r"uniform_.*list"),
    Case("trunc_normal_bounds", lambda: init.trunc_normal_(t(3), a=2.0, b=1.0), ValueError,
         r"trunc_normal_.*a=2\.0.*b=1\.0"),
    Case("normal_int", lambda: init.normal_(ints(1, 2)), TypeError, r"normal_.*int64"),
    Case("orthogonal_1d", lambda: init.orthogonal_(t(3)), ValueError, r"orthogonal_.*\(3,\)"),
    Case("constant_string", lambda: init.constant_(t(3), "a"), TypeError,
         r"constant_.*'a'"),
    Case("uniform_generator", lambda: init.uniform_(t(3), generator=5), TypeError,
         r"generator.*int"),
    Case("dirac_groups", lambda: init.dirac_(t(4, 3, 3), groups=3), ValueError,
         r"dirac_.*4.*groups.*3"),
    Case("calculate_gain_slope", lambda: init.calculate_gain("leaky_relu", "a"), ValueError,
         r"calculate_gain.*'a'"),
    Case("lecun_normal_1d", lambda: init.lecun_normal_(t(3)), ValueError,
         r"lecun_normal_.*\(3,\)"),
    Case("dirac_2d", lambda: init.dirac_(t(3, 3)), ValueError, r"dirac_.*\(3, 3\)"),
    # ---------------------------------------------------------------- load_state_dict
    Case("load_state_dict_missing", lambda: _linear().load_state_dict(
        {"weight": np.zeros((2, 4), np.float32)}), RuntimeError,
         r"state_dict.*Linear.*Missing.*\"bias\""),
    Case("load_state_dict_unexpected", lambda: _linear().load_state_dict(
        {"weight": np.zeros((2, 4), np.float32), "bias": np.zeros(2, np.float32),
         "scale": np.ones(1, np.float32)}), RuntimeError,
         r"state_dict.*Linear.*Unexpected.*\"scale\""),
    Case("load_state_dict_shape", lambda: _linear().load_state_dict(
        {"weight": np.zeros((3, 4), np.float32), "bias": np.zeros(2, np.float32)}),
         RuntimeError, r"state_dict.*weight.*3, 4.*2, 4"),
    Case("load_state_dict_value_type", lambda: _linear().load_state_dict(
        {"weight": "zeros", "bias": np.zeros(2, np.float32)}), TypeError,
         r"state_dict.*'weight'.*str"),
    Case("load_state_dict_object_array", lambda: _linear().load_state_dict(
        {"weight": np.array([[object()] * 4] * 2), "bias": np.zeros(2, np.float32)}),
         TypeError, r"state_dict.*Linear.*'weight'"),
    Case("load_state_dict_not_mapping", lambda: _linear().load_state_dict([1, 2]), TypeError,
         r"state_dict.*dict-like.*list"),
    Case("load_state_dict_nested_shape", lambda: nn.Sequential(_linear()).load_state_dict(
        {"0.weight": np.zeros((2, 4), np.float32), "0.bias": np.zeros(5, np.float32)}),
         RuntimeError, r"state_dict.*0\.bias.*5.*2"),
    # ---------------------------------------------------------------- func
    Case("func_grad_non_scalar", lambda: func.grad(lambda x: x * 2)(t(3)), ValueError,
         r"grad.*scalar.*\(3,\)"),
    Case("func_grad_not_tensor", lambda: func.grad(lambda x: 1.0)(t(3)), TypeError,
         r"grad.*f must return a Tensor.*float"),
    Case("func_grad_argnums", lambda: func.grad(lambda x: x.sum(), argnums=3)(t(3)), ValueError,
         r"grad.*argnums 3"),
    Case("func_grad_int_input", lambda: func.grad(lambda x: x.sum())(ints(1, 2)), TypeError,
         r"grad.*int64"),
    Case("func_grad_has_aux", lambda: func.grad(lambda x: x.sum(), has_aux=True)(t(3)),
         TypeError, r"grad.*has_aux.*pair.*Tensor"),
    Case("func_hessian_non_scalar", lambda: func.hessian(lambda x: x * 2,
                                                         t(3, dtype=lemmata.float64)),
         ValueError, r"hessian.*scalar.*\(3,\)"),
    Case("func_jacobian_output", lambda: func.jacobian(lambda x: 1.0, t(3)), TypeError,
         r"jacobian.*Tensor.*float"),
    Case("func_jacobian_method", lambda: func.jacobian(lambda x: x, t(3), method="bogus"),
         ValueError, r"jacobian.*method.*'bogus'"),
    Case("func_vjp_output", lambda: func.vjp(lambda x: 1.0, t(3)), TypeError,
         r"vjp.*output.*float"),
    Case("func_functional_call_name", lambda: func.functional_call(
        _linear(), {"nope": t(2)}, (t(1, 4),)), ValueError, r"functional_call.*Linear.*nope"),
    Case("func_ravel_leaf", lambda: func.ravel([1, 2]), TypeError, r"ravel.*tree\[0\].*int"),
    Case("func_value_and_grad_callable", lambda: func.value_and_grad(5), TypeError,
         r"value_and_grad.*callable.*int"),
    Case("func_vjp_cotangent_shape", _vjp_wrong_cotangent, ValueError,
         r"vjp.*\(4,\).*\(3,\)"),
    Case("func_vjp_no_primals", lambda: func.vjp(lambda x: x), ValueError, r"vjp.*primal"),
    Case("func_jvp_count", lambda: func.jvp(lambda x: x.exp(), (t(3),), (t(3), t(3))),
         ValueError, r"jvp.*1 primals.*2 tangents"),
    Case("func_jvp_tangent_shape", lambda: func.jvp(lambda x: x.exp(), (t(3),), (t(4),)),
         ValueError, r"jvp.*\(4,\).*\(3,\)"),
    Case("func_jvp_not_tuples", lambda: func.jvp(lambda x: x, t(3), t(3)), TypeError,
         r"jvp.*tuples"),
    Case("func_hvp_direction_shape", lambda: func.hvp(lambda x: (x ** 3).sum(),
                                                      t(3, dtype=lemmata.float64),
                                                      t(2, dtype=lemmata.float64)),
         ValueError, r"hvp.*\(2,\).*\(3,\)"),
    Case("func_hvp_non_scalar", lambda: func.hvp(lambda x: x ** 3, t(3, dtype=lemmata.float64),
                                                 t(3, dtype=lemmata.float64)), ValueError,
         r"hvp.*scalar.*\(3,\)"),
    Case("func_hvp_method", lambda: func.hvp(lambda x: (x ** 3).sum(), t(3), t(3),
                                             method="symbolic"), ValueError,
         r"hvp.*method.*'symbolic'"),
    Case("func_jacobian_input", lambda: func.jacobian(lambda x: x, [1.0, 2.0]), TypeError,
         r"jacobian.*list"),
    Case("func_hessian_method", lambda: func.hessian(lambda x: x.sum(), t(3),
                                                     method="bogus"), ValueError,
         r"hessian.*method.*'bogus'"),
    Case("func_functional_call_shape", lambda: func.functional_call(
        _linear(), {"weight": t(3, 4)}, (t(1, 4),)), ValueError,
         r"functional_call.*'weight'.*\(3, 4\).*\(2, 4\)"),
]


def _innermost_file(tb: Any) -> str:
    while tb.tb_next is not None:
        tb = tb.tb_next
    return os.path.abspath(tb.tb_frame.f_code.co_filename)


def test_at_least_a_hundred_cases() -> None:
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_a_named_error(case: Case) -> None:
    with pytest.raises(ERRORS) as info:
        case.call()
    error = info.value
    assert isinstance(error, case.error), (
        f"expected {case.error.__name__}, got {type(error).__name__}: {error}")
    message = str(error)
    assert re.search(case.pattern, message, flags=re.DOTALL), (
        f"message does not match {case.pattern!r}:\n{message}")
    where = _innermost_file(info.tb)
    assert where.startswith(PACKAGE), (
        f"{type(error).__name__} escaped from {where}, not from lemmata's own checks: {message}")
