"""Argument checking shared by the ops: dims, operands and their dtype promotion.

Errors raised here name the op and the shapes at fault, so that no bare NumPy message escapes
a public call.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """``np.broadcast_shapes(*shapes)``, at once where the shapes are one shape and scalars' ()
    (an optimizer's update, a mask the size of its gradient): NumPy's takes 3.6 µs, half of a
    small parameter's fused multiply-add.  Raises ValueError where they do not broadcast."""
    if len(shapes) == 2:                     # a binary op's operands: no set to build
        a, b = shapes
        if a == b or not b:
            return a
        if not a:
            return b
        return np.broadcast_shapes(a, b)
    distinct = {shape for shape in shapes if shape}
    if len(distinct) <= 1:
        return distinct.pop() if distinct else ()
    return np.broadcast_shapes(*shapes)


def normalize_dim(dim: Any, ndim: int, op: str) -> int:
    """A dim in [-ndim, ndim) as a non-negative int (a 0-d tensor accepts -1 and 0)."""
    if isinstance(dim, Tensor):
        dim = dim.item()
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimension"
                         f"{'s' if ndim != 1 else ''} (expected to be in range of "
                         f"[{-size}, {size - 1}])")
    return int(dim) % size


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``None`` → all dims; an int or a sequence → sorted non-negative dims, no repeats."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        dims = tuple(normalize_dim(d, ndim, op) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return tuple(sorted(dims)) if ndim else ()
    return (normalize_dim(dim, ndim, op),) if ndim else ()


def as_tensor_like(value: Any, like: Tensor, op: str = "as_tensor_like") -> Tensor:
    """A Python scalar or array next to ``like`` becomes a Tensor of the dtype PyTorch would give,
    on ``like``'s device."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (numbers.Number, np.number, np.bool_)):
        array = np.asarray(value, dtype=dtypes.scalar_dtype(value, like.dtype))
    else:
        array = backend.asarray(value)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"{op}: expected a Tensor, number or numeric array, got "
                            f"{type(value).__name__}")
    return Tensor(backend.like(array, like._data))


def same_device(a: Tensor, b: Tensor, op: str) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` if they live on one device; a 0-d CPU tensor joins the other's device (as
    a Python number would, and as in PyTorch); otherwise a RuntimeError naming both devices."""
    if backend.same_device(a._data, b._data):
        return a, b
    if a.ndim == 0 and a.device.type == "cpu":
        return a.to(b.device), b
    if b.ndim == 0 and b.device.type == "cpu":
        return a, b.to(a.device)
    raise RuntimeError(f"{op}: expected all tensors to be on the same device, but found at least "
                       f"two devices, {a.device} and {b.device}")


def operands(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of the promoted dtype on one device, after checking that they
    broadcast."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(np.asarray(a))
    a = as_tensor_like(a, b, op) if not isinstance(a, Tensor) else a
    b = as_tensor_like(b, a, op)
    a, b = same_device(a, b, op)
    try:
        broadcast_shape(a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                           f"broadcast together") from None
    dtype = dtypes.promote_types(a.dtype, b.dtype, a.ndim, b.ndim)
    return a.to(dtype), b.to(dtype)


def floating(t: Tensor) -> Tensor:
    """Integer and bool tensors become the default float dtype (for exp, log, division ...)."""
    return t if t.dtype.kind in "fc" else t.to(dtypes.get_default_dtype())


def shape_tuple(size: Sequence[Any], op: str) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean shape (2, 3)."""
    if len(size) == 1 and not (isinstance(size[0], Tensor) and size[0].ndim == 0) and (
            isinstance(size[0], (tuple, list, Tensor)) or hasattr(size[0], "__len__")):
        size = tuple(size[0])
    out = []
    for n in size:
        if isinstance(n, Tensor):
            n = n.item()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{op}: sizes must be ints, got {size!r}")
        out.append(int(n))
    return tuple(out)


def int_tuple(value: Any, nd: int, name: str, op: str) -> tuple[int, ...]:
    """An int, or a tuple/list of 1 or nd ints, as an nd-tuple (as PyTorch expands a kernel
    size, stride, padding or dilation over the spatial dims)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) == 1:
        items = items * nd
    if len(items) != nd or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                   for v in items):
        raise ValueError(f"{op}: expected {name} to be a single integer value or a list of {nd} "
                         f"values to match the {nd}-D op's spatial dims, but got {name}={value!r}")
    return tuple(int(v) for v in items)


def real(array: np.ndarray) -> np.ndarray:
    """The real part: piecewise ops branch on it so that they stay holomorphic off their kinks."""
    return array.real if array.dtype.kind == "c" else array


def check_tensor(x: Any, op: str) -> Tensor:
    """``x`` itself if it is a Tensor; otherwise a TypeError naming the op."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def check_keepdim(keepdim: Any, op: str) -> bool:
    """keepdim must be a bool (0 and 1 are accepted as such)."""
    if isinstance(keepdim, (bool, np.bool_)) or (isinstance(keepdim, (int, np.integer))
                                                 and keepdim in (0, 1)):
        return bool(keepdim)
    raise TypeError(f"{op}: keepdim must be a bool, got {keepdim!r}")
