"""The Tensor: an ndarray, a gradient, and a link into the autograd graph.

A Tensor owns its data as a NumPy array (``numpy()`` returns it without a copy), or as a CuPy
array on a CUDA device (:mod:`lemmata.backend`).  Every operator
and method calls an op from :mod:`lemmata.ops`, which does the array math and records the graph;
the Tensor itself holds no math.  The public surface follows ``torch.Tensor``.
"""
from __future__ import annotations

import builtins
import math
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from . import autograd as _autograd, backend, dtypes
from .autograd import backward as _backward, is_grad_enabled

__all__ = ["Tensor", "Size"]


class Size(tuple):
    """A tensor's shape: a tuple that prints like ``torch.Size``."""

    def __repr__(self) -> str:
        return f"lemmata.Size({list(self)})"

    def numel(self) -> int:
        return math.prod(self)


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` (or calling it) unregisters the hook."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    __call__ = remove

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``data`` is, as in PyTorch, a detached Tensor sharing this tensor's array; the array itself is
    ``numpy()``.  ``grad`` is a Tensor (or None); ``grad_fn`` is the Node of the op that made this
    tensor (None for leaves).
    """

    __array_priority__ = 1000  # make ndarray ⊕ Tensor call Tensor's reflected operators
    # earlier histories of a tensor updated in place (see _inplace), its own dict then; for every
    # other tensor this empty, read-only one, so that the engine's look-ups of it (each recorded
    # op, each step of the backward walk) need no getattr default and its caught AttributeError
    _history: Mapping = MappingProxyType({})

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        array = data if isinstance(data, np.ndarray) else backend.asarray(data)  # hot path
        if array.dtype.kind not in "biufc":
            raise TypeError(f"Tensor: unsupported array dtype {array.dtype}")
        self._data: np.ndarray = array
        self.grad: Tensor | None = None
        self.grad_fn = None
        self._requires_grad = False
        self._version = 0
        self._retains_grad = False
        self._hooks: list[Callable] = []
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------------ autograd attributes
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use "
                               "detach() to get a leaf that does not require grad")
        if flag and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point and complex dtype can require "
                               f"gradients (got {dtypes.dtype_name(self.dtype)})")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad`` (``gradient`` weights a non-scalar)."""
        _backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = not self.is_leaf

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]) -> "RemovableHandle":
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it.
        Returns a handle whose ``remove()`` unregisters the hook (as PyTorch's)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        # a leaf keeps its hooks; an op's output leaves them with its grad_fn (see Node.hooks)
        hooks = self._hooks if self.grad_fn is None else self.grad_fn.hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def detach(self) -> "Tensor":
        """A leaf sharing this tensor's array, cut from the graph."""
        return Tensor(self._data)

    def detach_(self) -> "Tensor":
        self.grad_fn, self._requires_grad = None, False
        return self

    @property
    def data(self) -> "Tensor":
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, Tensor) else backend.like(
            backend.asarray(value), self._data)

    # ------------------------------------------------------------------ array attributes
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Size | int:
        if dim is None:
            return self.shape
        return self.shape[ops.normalize_dim(dim, self.ndim, "size")]

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return not isinstance(self._data, np.ndarray) and self.device.type == "cuda"

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    def element_size(self) -> int:
        return self._data.itemsize

    def numpy(self, force: bool = False) -> np.ndarray:
        """The underlying array (no copy).  Raises if the tensor requires grad, or lives on a
        device (copy it with ``cpu()`` first), as PyTorch; ``force=True`` does both for you."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if not isinstance(self._data, np.ndarray):
            if force:
                return backend.to_host(self._data)
            self._host_only("numpy()")
        return self._data

    def _host_only(self, op: str) -> None:
        raise TypeError(f"{op}: can't convert {self.device} device type tensor to numpy. Use "
                        f"Tensor.cpu() to copy the tensor to host memory first.")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if not isinstance(self._data, np.ndarray):
            self._host_only("__array__")
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self) -> builtins.float | builtins.int | builtins.bool | complex:
        if self._data.size != 1:
            raise RuntimeError(f"item: a Tensor with {self._data.size} elements cannot be "
                               f"converted to a Python scalar (shape {tuple(self.shape)})")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return builtins.bool(self._data.reshape(()).item())

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> builtins.int:
        return builtins.int(self.item())

    def __index__(self) -> builtins.int:
        if self.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from .printing import tensor_repr
        return tensor_repr(self)

    def __getstate__(self) -> dict:
        return {"data": self._data, "requires_grad": self.requires_grad}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["data"], state["requires_grad"])

    # ------------------------------------------------------------------ dtype conversion
    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``to(dtype)``, ``to("cuda")``, ``to(device, dtype)``, ``to(other_tensor)``; returns self
        when nothing changes.  A copy to another device is differentiable (its gradient goes back
        to this tensor's device)."""
        if len(args) == 1 and not kwargs and isinstance(args[0], np.dtype) and \
                args[0] == self.dtype:
            return self          # the ops' "cast if needed", once per operand: no parsing
        dtype, device = dtypes.to_arguments(args, kwargs, "to")
        moved = self if device is None else ops.to_device(self, device)
        if dtype is None or dtypes.as_dtype(dtype, "to") == moved.dtype:
            return moved
        return ops.cast(moved, dtypes.as_dtype(dtype, "to"))

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return f"lemmata.{self.dtype.name}"
        return self.to(dtype)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device: Any = None) -> "Tensor":
        """A copy on the CUDA device ``device`` (an index or a name; the first GPU by default)."""
        return self.to(backend.cuda(device))

    def float(self) -> "Tensor":
        return self.to(dtypes.float32)

    def double(self) -> "Tensor":
        return self.to(dtypes.float64)

    def half(self) -> "Tensor":
        return self.to(dtypes.float16)

    def long(self) -> "Tensor":
        return self.to(dtypes.int64)

    def int(self) -> "Tensor":
        return self.to(dtypes.int32)

    def bool(self) -> "Tensor":
        return self.to(dtypes.bool_)

    def cdouble(self) -> "Tensor":
        return self.to(dtypes.complex128)

    # ------------------------------------------------------------------ in-place updates
    def _check_inplace(self, op: str) -> None:
        if self.is_leaf and self.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an "
                               f"in-place operation (wrap the update in lemmata.no_grad())")

    def _inplace(self, op: str, compute: Callable[["Tensor"], "Tensor"]) -> "Tensor":
        """Make ``self`` hold ``compute(self)``.

        Outside a recorded graph the array is overwritten in place, so every tensor sharing it
        (``.data``, ``detach()``) sees the update, as optimisers need.  Inside one, ``self`` is
        rebound to the result and the op's input is a snapshot of the old ``self``; the version
        counter makes any backward that saved the old value fail loudly instead of silently.
        """
        self._check_inplace(op)
        before = Tensor(self._data)
        before.grad_fn, before._requires_grad = self.grad_fn, self._requires_grad
        result = compute(before)
        self._version += 1
        if result.grad_fn is not None:
            # earlier uses of self saw its old history: they find it in the snapshot (Node.parents)
            self.__dict__.setdefault("_history", {})[before.grad_fn] = before
            self._data, self.grad_fn, self._requires_grad = result._data, result.grad_fn, True
            self.grad_fn.ctx._rebind_output(result, self)
        else:
            if result.shape != self.shape:
                raise RuntimeError(f"{op}: result of shape {tuple(result.shape)} doesn't match the "
                                   f"in-place target's shape {tuple(self.shape)}")
            if self.dtype.kind not in "fc" and result.dtype.kind in "fc":
                raise RuntimeError(f"{op}: result type {dtypes.dtype_name(result.dtype)} can't be "
                                   f"cast to the in-place target's type {dtypes.dtype_name(self.dtype)}")
            if not backend.writeable(self._data):
                raise RuntimeError(f"{op}: the tensor is a read-only view (made by expand); "
                                   f"clone() it before writing")
            np.copyto(self._data, result._data, casting="unsafe")
        return self

    def _records(self, value: Any = None) -> builtins.bool:
        """Whether an in-place write must be recorded in the graph (as a functional index_put)."""
        return is_grad_enabled() and (self.requires_grad or (isinstance(value, Tensor)
                                                             and value.requires_grad))

    def zero_(self) -> "Tensor":
        if self._records():  # the old values get gradient 0
            return self._inplace("zero_", lambda t: ops.index_put(t, Ellipsis, 0))
        self._check_inplace("zero_")
        self._data[...] = 0
        self._version += 1
        return self

    def fill_(self, value: Any) -> "Tensor":
        if isinstance(value, Tensor) and value.numel() != 1:
            raise RuntimeError(f"fill_: only supports a 0-dimensional value tensor, got shape "
                               f"{tuple(value.shape)}")
        if self._records(value):  # a tensor value gets the sum of the gradient
            return self._inplace("fill_", lambda t: ops.index_put(t, Ellipsis, value.reshape(())
                                                                  if isinstance(value, Tensor)
                                                                  else value))
        self._check_inplace("fill_")
        self._data[...] = value.item() if isinstance(value, Tensor) else value
        self._version += 1
        return self

    def copy_(self, src: Any) -> "Tensor":
        source = src._data if isinstance(src, Tensor) else backend.asarray(src)
        source = backend.like(source, self._data)  # copy_ crosses devices, as PyTorch's
        try:
            np.broadcast_to(source, self.shape)
        except ValueError:
            raise RuntimeError(f"copy_: source of shape {tuple(np.shape(source))} cannot be "
                               f"broadcast to the target's shape {tuple(self.shape)}") from None
        if self._records(src):  # the gradient flows to src (cast and summed to its shape)
            return self._inplace("copy_", lambda t: ops.index_put(t, Ellipsis, src))
        self._check_inplace("copy_")
        self._data[...] = source
        self._version += 1
        return self

    def add_(self, other: Any, alpha: Any = 1) -> "Tensor":
        return self._inplace("add_", lambda t: ops.add(t, other, alpha=alpha))

    def sub_(self, other: Any, alpha: Any = 1) -> "Tensor":
        return self._inplace("sub_", lambda t: ops.sub(t, other, alpha=alpha))

    def mul_(self, other: Any) -> "Tensor":
        return self._inplace("mul_", lambda t: ops.mul(t, other))

    def div_(self, other: Any) -> "Tensor":
        return self._inplace("div_", lambda t: ops.div(t, other))

    def pow_(self, exponent: Any) -> "Tensor":
        return self._inplace("pow_", lambda t: ops.pow(t, exponent))

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":
        return self._inplace("clamp_", lambda t: ops.clamp(t, min, max))

    def neg_(self) -> "Tensor":
        return self._inplace("neg_", lambda t: ops.neg(t))

    def relu_(self) -> "Tensor":
        return self._inplace("relu_", lambda t: ops.relu(t))

    def addcmul_(self, tensor1: Any, tensor2: Any, value: Any = 1) -> "Tensor":
        return self._inplace("addcmul_", lambda t: ops.add(t, ops.mul(tensor1, tensor2), alpha=value))

    def addcdiv_(self, tensor1: Any, tensor2: Any, value: Any = 1) -> "Tensor":
        return self._inplace("addcdiv_", lambda t: ops.add(t, ops.div(tensor1, tensor2), alpha=value))

    def lerp_(self, end: Any, weight: Any) -> "Tensor":
        return self._inplace("lerp_", lambda t: ops.lerp(t, end, weight))

    def masked_fill_(self, mask: Any, value: Any) -> "Tensor":
        return self._inplace("masked_fill_", lambda t: ops.masked_fill(t, mask, value))

    def scatter_(self, dim: builtins.int, index: Any, src: Any = None,
                 value: Any = None) -> "Tensor":
        return self._inplace("scatter_", lambda t: ops.scatter(t, dim, index, src, value))

    def scatter_add_(self, dim: builtins.int, index: Any, src: Any) -> "Tensor":
        return self._inplace("scatter_add_", lambda t: ops.scatter_add(t, dim, index, src))

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0) -> "Tensor":
        from .random import generator
        return self.copy_(generator().uniform(a, b, self.shape))

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0) -> "Tensor":
        from .random import generator
        return self.copy_(generator().normal(mean, std, self.shape))

    def __iadd__(self, other: Any) -> "Tensor":
        return self.add_(other)

    def __isub__(self, other: Any) -> "Tensor":
        return self.sub_(other)

    def __imul__(self, other: Any) -> "Tensor":
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> "Tensor":
        return self.div_(other)

    def __setitem__(self, index: Any, value: Any) -> None:
        recorded = is_grad_enabled() and (self.requires_grad or
                                          (isinstance(value, Tensor) and value.requires_grad))
        if recorded:
            self._inplace("__setitem__", lambda t: ops.index_put(t, index, value))
            return
        self._check_inplace("__setitem__")
        ops.assign_index(self._data, index, value)
        self._version += 1

    # ------------------------------------------------------------------ operators
    def __add__(self, other: Any) -> "Tensor":
        return ops.add(self, other)

    def __radd__(self, other: Any) -> "Tensor":
        return ops.add(other, self)

    def __sub__(self, other: Any) -> "Tensor":
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> "Tensor":
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> "Tensor":
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> "Tensor":
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> "Tensor":
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> "Tensor":
        return ops.div(other, self)

    def __floordiv__(self, other: Any) -> "Tensor":
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> "Tensor":
        return ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> "Tensor":
        return ops.remainder(self, other)

    def __rmod__(self, other: Any) -> "Tensor":
        return ops.remainder(other, self)

    def __pow__(self, exponent: Any) -> "Tensor":
        return ops.pow(self, exponent)

    def __rpow__(self, base: Any) -> "Tensor":
        return ops.pow(base, self)

    def __matmul__(self, other: Any) -> "Tensor":
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return ops.matmul(other, self)

    def __neg__(self) -> "Tensor":
        return ops.neg(self)

    def __pos__(self) -> "Tensor":
        return self

    def __abs__(self) -> "Tensor":
        return ops.abs(self)

    def __invert__(self) -> "Tensor":
        if self.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise not) is only implemented on integer and bool tensors, "
                            f"got {dtypes.dtype_name(self.dtype)}")
        return ops.logical_not(self) if self.dtype == np.bool_ else Tensor(~self._data)

    def _bitwise(self, other: Any, function: Callable, op: str, reflected: builtins.bool = False
                 ) -> "Tensor":
        """&, |, ^: bitwise on integers, logical on bools (as PyTorch); floats are refused."""
        operands = ops.arguments.operands
        a, b = operands(other, self, op) if reflected else operands(self, other, op)
        if a.dtype.kind not in "biu":
            raise TypeError(f"{op}: only integer and bool tensors are supported, got "
                            f"{dtypes.dtype_name(a.dtype)}")
        return Tensor(function(a._data, b._data))

    def __and__(self, other: Any) -> "Tensor":
        return self._bitwise(other, np.bitwise_and, "bitwise_and")

    def __rand__(self, other: Any) -> "Tensor":
        return self._bitwise(other, np.bitwise_and, "bitwise_and", reflected=True)

    def __or__(self, other: Any) -> "Tensor":
        return self._bitwise(other, np.bitwise_or, "bitwise_or")

    def __ror__(self, other: Any) -> "Tensor":
        return self._bitwise(other, np.bitwise_or, "bitwise_or", reflected=True)

    def __xor__(self, other: Any) -> "Tensor":
        return self._bitwise(other, np.bitwise_xor, "bitwise_xor")

    def __rxor__(self, other: Any) -> "Tensor":
        return self._bitwise(other, np.bitwise_xor, "bitwise_xor", reflected=True)

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        if other is None:  # Python's identity fallback, as PyTorch
            return False  # type: ignore[return-value]
        return ops.eq(self, other)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        if other is None:
            return True  # type: ignore[return-value]
        return ops.ne(self, other)

    def __lt__(self, other: Any) -> "Tensor":
        return ops.lt(self, other)

    def __le__(self, other: Any) -> "Tensor":
        return ops.le(self, other)

    def __gt__(self, other: Any) -> "Tensor":
        return ops.gt(self, other)

    def __ge__(self, other: Any) -> "Tensor":
        return ops.ge(self, other)

    def __getitem__(self, index: Any) -> "Tensor":
        return ops.getitem(self, index)

    # ------------------------------------------------------------------ elementwise methods
    def add(self, other: Any, alpha: Any = 1) -> "Tensor":
        return ops.add(self, other, alpha=alpha)

    def sub(self, other: Any, alpha: Any = 1) -> "Tensor":
        return ops.sub(self, other, alpha=alpha)

    def mul(self, other: Any) -> "Tensor":
        return ops.mul(self, other)

    def div(self, other: Any, rounding_mode: str | None = None) -> "Tensor":
        return ops.div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent: Any) -> "Tensor":
        return ops.pow(self, exponent)

    def neg(self) -> "Tensor":
        return ops.neg(self)

    def abs(self) -> "Tensor":
        return ops.abs(self)

    def exp(self) -> "Tensor":
        return ops.exp(self)

    def expm1(self) -> "Tensor":
        return ops.expm1(self)

    def log(self) -> "Tensor":
        return ops.log(self)

    def log1p(self) -> "Tensor":
        return ops.log1p(self)

    def sqrt(self) -> "Tensor":
        return ops.sqrt(self)

    def rsqrt(self) -> "Tensor":
        return ops.rsqrt(self)

    def square(self) -> "Tensor":
        return ops.square(self)

    def reciprocal(self) -> "Tensor":
        return ops.reciprocal(self)

    def sin(self) -> "Tensor":
        return ops.sin(self)

    def tan(self) -> "Tensor":
        return ops.tan(self)

    def sinh(self) -> "Tensor":
        return ops.sinh(self)

    def cosh(self) -> "Tensor":
        return ops.cosh(self)

    def asin(self) -> "Tensor":
        return ops.asin(self)

    def acos(self) -> "Tensor":
        return ops.acos(self)

    def atan(self) -> "Tensor":
        return ops.atan(self)

    def log2(self) -> "Tensor":
        return ops.log2(self)

    def log10(self) -> "Tensor":
        return ops.log10(self)

    def exp2(self) -> "Tensor":
        return ops.exp2(self)

    def cos(self) -> "Tensor":
        return ops.cos(self)

    def tanh(self) -> "Tensor":
        return ops.tanh(self)

    def sigmoid(self) -> "Tensor":
        return ops.sigmoid(self)

    def erf(self) -> "Tensor":
        return ops.erf(self)

    def erfc(self) -> "Tensor":
        return ops.erfc(self)

    def relu(self) -> "Tensor":
        return ops.relu(self)

    def softplus(self, beta: builtins.float = 1.0, threshold: builtins.float = 20.0) -> "Tensor":
        return ops.softplus(self, beta, threshold)

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":
        return ops.clamp(self, min, max)

    clip = clamp

    def maximum(self, other: Any) -> "Tensor":
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> "Tensor":
        return ops.minimum(self, other)

    def logaddexp(self, other: Any) -> "Tensor":
        return ops.logaddexp(self, other)

    def where(self, condition: Any, other: Any) -> "Tensor":
        return ops.where(condition, self, other)

    def lerp(self, end: Any, weight: Any) -> "Tensor":
        return ops.lerp(self, end, weight)

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        return ops.masked_fill(self, mask, value)

    def tril(self, diagonal: builtins.int = 0) -> "Tensor":
        return ops.tril(self, diagonal)

    def triu(self, diagonal: builtins.int = 0) -> "Tensor":
        return ops.triu(self, diagonal)

    def cumsum(self, dim: Any, dtype: Any = None) -> "Tensor":
        return ops.cumsum(self, dim, dtype)

    def sort(self, dim: builtins.int = -1, descending: builtins.bool = False,
             stable: builtins.bool = False) -> Any:
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim: builtins.int = -1, descending: builtins.bool = False,
                stable: builtins.bool = False) -> "Tensor":
        return ops.argsort(self, dim, descending, stable)

    def topk(self, k: builtins.int, dim: builtins.int = -1, largest: builtins.bool = True,
             sorted: builtins.bool = True) -> Any:
        return ops.topk(self, k, dim, largest, sorted)

    def index_select(self, dim: builtins.int, index: Any) -> "Tensor":
        return ops.index_select(self, dim, index)

    def scatter(self, dim: builtins.int, index: Any, src: Any = None,
                value: Any = None) -> "Tensor":
        return ops.scatter(self, dim, index, src, value)

    def scatter_add(self, dim: builtins.int, index: Any, src: Any) -> "Tensor":
        return ops.scatter_add(self, dim, index, src)

    # ------------------------------------------------------------------ new tensors like this one
    def _new_kwargs(self, dtype: Any, device: Any) -> dict:
        return {"dtype": self.dtype if dtype is None else dtype,
                "device": self.device if device is None else device}

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: builtins.bool = False) -> "Tensor":
        """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
        from . import factories
        return factories.zeros(*size, requires_grad=requires_grad,
                               **self._new_kwargs(dtype, device))

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: builtins.bool = False) -> "Tensor":
        from . import factories
        return factories.ones(*size, requires_grad=requires_grad,
                              **self._new_kwargs(dtype, device))

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: builtins.bool = False) -> "Tensor":
        from . import factories
        return factories.empty(*size, requires_grad=requires_grad,
                               **self._new_kwargs(dtype, device))

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: builtins.bool = False) -> "Tensor":
        from . import factories
        return factories.full(size, fill_value, requires_grad=requires_grad,
                              **self._new_kwargs(dtype, device))

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None,
                   requires_grad: builtins.bool = False) -> "Tensor":
        """A copy of ``data`` with this tensor's dtype and device (unless given)."""
        from . import factories
        return factories.tensor(data, requires_grad=requires_grad,
                                **self._new_kwargs(dtype, device))

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def sign(self) -> "Tensor":
        return ops.sign(self)

    def floor(self) -> "Tensor":
        return ops.floor(self)

    def ceil(self) -> "Tensor":
        return ops.ceil(self)

    def round(self, decimals: builtins.int = 0) -> "Tensor":
        return ops.round(self, decimals)

    def isnan(self) -> "Tensor":
        return ops.isnan(self)

    def isinf(self) -> "Tensor":
        return ops.isinf(self)

    def isfinite(self) -> "Tensor":
        return ops.isfinite(self)

    def eq(self, other: Any) -> "Tensor":
        return ops.eq(self, other)

    def ne(self, other: Any) -> "Tensor":
        return ops.ne(self, other)

    def lt(self, other: Any) -> "Tensor":
        return ops.lt(self, other)

    def le(self, other: Any) -> "Tensor":
        return ops.le(self, other)

    def gt(self, other: Any) -> "Tensor":
        return ops.gt(self, other)

    def ge(self, other: Any) -> "Tensor":
        return ops.ge(self, other)

    def logical_not(self) -> "Tensor":
        return ops.logical_not(self)

    def equal(self, other: "Tensor") -> builtins.bool:
        return self.shape == other.shape and builtins.bool(np.array_equal(self._data, other._data))

    def allclose(self, other: "Tensor", rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8,
                 equal_nan: builtins.bool = False) -> builtins.bool:
        return builtins.bool(np.allclose(self._data, np.asarray(other), rtol, atol, equal_nan))

    # ------------------------------------------------------------------ reductions
    def sum(self, dim: Any = None, keepdim: builtins.bool = False, dtype: Any = None) -> "Tensor":
        return ops.sum(self, dim, keepdim, dtype)

    def mean(self, dim: Any = None, keepdim: builtins.bool = False, dtype: Any = None) -> "Tensor":
        return ops.mean(self, dim, keepdim, dtype)

    def var(self, dim: Any = None, unbiased: Any = None, keepdim: builtins.bool = False, *,
            correction: Any = None) -> "Tensor":
        return ops.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim: Any = None, unbiased: Any = None, keepdim: builtins.bool = False, *,
            correction: Any = None) -> "Tensor":
        return ops.std(self, dim, unbiased, keepdim, correction=correction)

    def prod(self, dim: Any = None, keepdim: builtins.bool = False) -> "Tensor":
        return ops.prod(self, dim, keepdim)

    def max(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return ops.max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return ops.min(self, dim, keepdim)

    def amax(self, dim: Any = (), keepdim: builtins.bool = False) -> "Tensor":
        return ops.amax(self, dim, keepdim)

    def amin(self, dim: Any = (), keepdim: builtins.bool = False) -> "Tensor":
        return ops.amin(self, dim, keepdim)

    def argmax(self, dim: Any = None, keepdim: builtins.bool = False) -> "Tensor":
        return ops.argmax(self, dim, keepdim)

    def argmin(self, dim: Any = None, keepdim: builtins.bool = False) -> "Tensor":
        return ops.argmin(self, dim, keepdim)

    def logsumexp(self, dim: Any, keepdim: builtins.bool = False) -> "Tensor":
        return ops.logsumexp(self, dim, keepdim)

    def softmax(self, dim: Any) -> "Tensor":
        return ops.softmax(self, dim)

    def log_softmax(self, dim: Any) -> "Tensor":
        return ops.log_softmax(self, dim)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: builtins.bool = False) -> "Tensor":
        return ops.norm(self, p, dim, keepdim)

    def all(self, dim: Any = None, keepdim: builtins.bool = False) -> "Tensor":
        axes = ops.normalize_dims(dim, self.ndim, "all")
        return Tensor(np.all(self._data, axis=axes, keepdims=keepdim))

    def any(self, dim: Any = None, keepdim: builtins.bool = False) -> "Tensor":
        axes = ops.normalize_dims(dim, self.ndim, "any")
        return Tensor(np.any(self._data, axis=axes, keepdims=keepdim))

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> "Tensor":
        return ops.reshape(self, *shape)

    def view(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and not isinstance(shape[0], (builtins.int, np.integer, tuple, list,
                                                         Size, Tensor)):
            return self._view_as_dtype(shape[0])
        return ops.reshape(self, *shape)

    def _view_as_dtype(self, dtype: Any) -> "Tensor":
        """``view(dtype)``: the same bytes read as ``dtype`` (the last dim scales by the ratio of
        item sizes), as PyTorch; a reinterpretation of bits carries no gradient."""
        dtype = dtypes.as_dtype(dtype)
        if dtype == self.dtype:
            return self
        try:
            return Tensor(self._data.view(dtype))
        except ValueError as error:
            raise RuntimeError(f"view: a tensor of shape {tuple(self.shape)} and dtype "
                               f"{dtypes.dtype_name(self.dtype)} cannot be viewed as "
                               f"{dtypes.dtype_name(dtype)} ({error})") from None

    def view_as(self, other: "Tensor") -> "Tensor":
        return ops.reshape(self, other.shape)

    def reshape_as(self, other: "Tensor") -> "Tensor":
        return ops.reshape(self, other.shape)

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> "Tensor":
        return ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: builtins.int, sizes: Any) -> "Tensor":
        return ops.unflatten(self, dim, sizes)

    def unsqueeze(self, dim: builtins.int) -> "Tensor":
        return ops.unsqueeze(self, dim)

    def squeeze(self, dim: Any = None) -> "Tensor":
        return ops.squeeze(self, dim)

    def permute(self, *dims: Any) -> "Tensor":
        return ops.permute(self, *dims)

    def transpose(self, dim0: builtins.int, dim1: builtins.int) -> "Tensor":
        return ops.transpose(self, dim0, dim1)

    swapaxes = transpose

    def t(self) -> "Tensor":
        return ops.t(self)

    @property
    def T(self) -> "Tensor":
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> "Tensor":
        if self.ndim < 2:
            raise RuntimeError(f"mT: tensor of shape {tuple(self.shape)} has fewer than 2 dims")
        return ops.transpose(self, -2, -1)

    def expand(self, *sizes: Any) -> "Tensor":
        return ops.expand(self, *sizes)

    def expand_as(self, other: "Tensor") -> "Tensor":
        return ops.expand_as(self, other)

    def broadcast_to(self, shape: Any) -> "Tensor":
        return ops.broadcast_to(self, shape)

    def repeat(self, *sizes: Any) -> "Tensor":
        return ops.repeat(self, *sizes)

    def flip(self, *dims: Any) -> "Tensor":
        return ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def split(self, split_size: Any, dim: builtins.int = 0) -> tuple:
        return ops.split(self, split_size, dim)

    def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple:
        return ops.chunk(self, chunks, dim)

    def unbind(self, dim: builtins.int = 0) -> tuple:
        return ops.unbind(self, dim)

    def select(self, dim: builtins.int, index: builtins.int) -> "Tensor":
        return ops.select(self, dim, index)

    def narrow(self, dim: builtins.int, start: builtins.int, length: builtins.int) -> "Tensor":
        return ops.narrow(self, dim, start, length)

    def gather(self, dim: builtins.int, index: "Tensor") -> "Tensor":
        return ops.gather(self, dim, index)

    def clone(self) -> "Tensor":
        return ops.clone(self)

    def contiguous(self) -> "Tensor":
        """Self if its array is C-contiguous, else a C-ordered copy (differentiable)."""
        return self if self._data.flags.c_contiguous else ops.clone(self)

    def is_contiguous(self) -> builtins.bool:
        return builtins.bool(self._data.flags.c_contiguous)

    # ------------------------------------------------------------------ linear algebra
    def matmul(self, other: Any) -> "Tensor":
        return ops.matmul(self, other)

    def mm(self, other: "Tensor") -> "Tensor":
        return ops.mm(self, other)

    def bmm(self, other: "Tensor") -> "Tensor":
        return ops.bmm(self, other)

    def mv(self, other: "Tensor") -> "Tensor":
        return ops.mv(self, other)

    def dot(self, other: "Tensor") -> "Tensor":
        return ops.dot(self, other)

    def outer(self, other: "Tensor") -> "Tensor":
        return ops.outer(self, other)


from . import ops  # noqa: E402  (ops import Tensor; bound last to break the cycle)

_autograd.Tensor = Tensor   # autograd and this module import each other; see autograd.Tensor
