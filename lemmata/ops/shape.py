"""Shape ops: they move entries around without arithmetic, so each backward moves the gradient
back the same way (reshape ↔ reshape, permute ↔ inverse permute, index ↔ scatter-add,
pad ↔ crop, cat ↔ split, expand ↔ sum).
"""
from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any, Sequence

import numpy as np

from .. import backend, dtypes
from ..autograd import Function
from ..tensor import Tensor
from .arguments import as_tensor_like, normalize_dim, shape_tuple

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])

# ------------------------------------------------------------------------------ views


class Reshape(Function):
    """The same entries in a new shape;  the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Permute(Function):
    """Reorder the dims;  the gradient is permuted by the inverse permutation."""

    @staticmethod
    def forward(ctx, x, dims):
        # in plain Python: np.argsort of a tuple converts it to an array first (5 µs a call)
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(ctx.inverse), None


class Expand(Function):
    """Broadcast to a larger shape (a read-only view);  the gradient is summed back by the engine."""

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None


class Cast(Function):
    """Change dtype;  the gradient is cast back (a complex gradient of a real input stays
    complex: it carries a complex-step derivative)."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        if ctx.dtype.kind not in "fc" or (g.dtype.kind == "c" and ctx.dtype.kind != "c"):
            return g, None
        return g.to(ctx.dtype), None


class ToDevice(Function):
    """Copy to another device (host memory ↔ a GPU);  the gradient is copied back."""

    @staticmethod
    def forward(ctx, x, device):
        ctx.device = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.device), None


class Clone(Function):
    """A copy with its own memory;  identity derivative."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Flip(Function):
    """Reverse the order along dims (used for true convolution);  flip the gradient back."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return flip(g, ctx.dims), None


# ------------------------------------------------------------------------------ indexing


def _normalize_index(index: Any, like: Any) -> Any:
    """``index`` with tensors as their arrays and lists as integer arrays, every array on the
    device of ``like`` (the indexed array): a CPU index may pick from a GPU tensor, as in
    PyTorch."""
    if isinstance(index, tuple):
        return tuple(_normalize_index(i, like) for i in index)
    if isinstance(index, Tensor):
        if index.dtype.kind not in "biu":
            raise IndexError(f"__getitem__: tensors used as indices must be long, int or bool "
                             f"tensors, got {dtypes.dtype_name(index.dtype)}")
        return backend.like(index._data, like)
    if isinstance(index, list):
        array = np.asarray(index)
        if array.size and array.dtype.kind not in "biu":
            raise IndexError(f"__getitem__: index lists must hold ints or bools, got {index!r}")
        return backend.like(array.astype(np.int64) if array.size == 0 else array, like)
    if isinstance(index, np.ndarray):
        return backend.like(index, like)
    return index


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer))
               and not isinstance(p, bool) for p in parts)


def _index_error(x_shape: tuple, index: Any, error: Exception,
                 op: str = "__getitem__") -> IndexError:
    return IndexError(f"{op}: index {index!r} is invalid for a tensor of shape "
                      f"{tuple(x_shape)} ({error})")


class GetItem(Function):
    """x[index] (basic, slice, integer-array and boolean-mask indexing, as NumPy);
    the backward scatters the gradient into zeros, adding where an entry was picked twice."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        try:
            out = x[index]
        except (IndexError, TypeError, ValueError) as error:
            raise _index_error(x.shape, index, error) from None
        return backend.asarray(out)

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, ctx.index, ctx.shape), None


class IndexAdd(Function):
    """zeros(shape) with g added at ``index`` — GetItem's adjoint; its own backward is GetItem."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype, like=g)
        if _is_basic(index):
            out[index] = g           # basic indexing picks each entry at most once
        else:
            # integer arrays may repeat an entry: accumulate (the array's own module: NumPy
            # does not hand ufunc.at with a tuple of device index arrays on to CuPy)
            backend.array_module(out).add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, ctx.index), None, None


class IndexPut(Function):
    """x with x[index] replaced by v (the functional form of ``x[index] = v``);
    ∂/∂x is g with the overwritten entries zeroed, ∂/∂v is g[index]."""

    @staticmethod
    def forward(ctx, x, v, index):
        ctx.index, ctx.v_shape = index, v.shape
        out = x.copy()
        assign_index(out, index, v)
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = IndexPut.apply(g, Tensor(np.zeros((), g.dtype)), ctx.index)
        if ctx.needs_input_grad[1]:
            gv = g[ctx.index]
        return gx, gv, None


def assign_index(array: np.ndarray, index: Any, value: Any) -> None:
    """``array[index] = value`` with lemmata's index rules and error messages."""
    index = _normalize_index(index, array)
    value = value._data if isinstance(value, Tensor) else value
    if backend.is_array(value) and not backend.same_device(value, array):
        value = backend.like(value, array)
    if array.dtype.kind != "c" and np.iscomplexobj(value):
        raise TypeError(f"__setitem__: cannot assign complex values to a "
                        f"{dtypes.dtype_name(array.dtype)} tensor of shape {array.shape}")
    try:
        array[index] = value
    except (IndexError, TypeError) as error:
        raise _index_error(array.shape, index, error, "__setitem__") from None
    except ValueError as error:
        raise RuntimeError(f"__setitem__: value of shape {np.shape(value)} cannot be assigned to "
                           f"x[{index!r}] of a tensor of shape {array.shape} ({error})") from None


class Gather(Function):
    """out[..., i, ...] = x[..., index[..., i, ...], ...] along ``dim``;
    the backward adds the gradient back at the gathered positions."""

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, index
        # away from ``dim`` the index may be smaller than x (PyTorch reads the leading part)
        region = tuple(builtins.slice(None) if d == dim else builtins.slice(0, n)
                       for d, n in enumerate(index.shape))
        return np.take_along_axis(x[region], index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return ScatterAdd.apply(g, ctx.dim, ctx.index, ctx.shape), None, None


class ScatterAdd(Function):
    """zeros(shape) with src added at ``index`` along ``dim`` — Gather's adjoint."""

    @staticmethod
    def forward(ctx, src, dim, index, shape):
        ctx.dim, ctx.index = dim, index
        out = np.zeros(shape, dtype=src.dtype, like=src)
        full = [backend.like(axis, src) for axis in np.indices(index.shape, sparse=True)]
        full[dim] = index
        backend.array_module(out).add.at(out, tuple(full), src)
        return out

    @staticmethod
    def backward(ctx, gg):
        return Gather.apply(gg, ctx.dim, ctx.index), None, None, None


class Scatter(Function):
    """x with src written at ``index`` along ``dim`` (out[..., index[i], ...] = src[i]; of
    repeated positions the last write stays, as on PyTorch's CPU);  ∂x = g with those positions
    zeroed, ∂src = g gathered back from them."""

    @staticmethod
    def forward(ctx, x, src, dim, index):
        ctx.dim, ctx.index = dim, index
        out = x.copy()
        full = [backend.like(axis, x) for axis in np.indices(index.shape, sparse=True)]
        full[dim] = index
        out[tuple(full)] = src                    # the positions as ScatterAdd addresses them
        return out

    @staticmethod
    def backward(ctx, g):
        from ..factories import zeros
        cleared = Scatter.apply(g, zeros(ctx.index.shape, dtype=g.dtype, device=g.device),
                                ctx.dim, ctx.index)
        return cleared, Gather.apply(g, ctx.dim, ctx.index), None, None


def _scatter_arguments(x: Tensor, dim: int, index: Any, src: Any, op: str
                       ) -> tuple[int, np.ndarray, Tensor]:
    """The checked dim, index array and source (a number becomes a tensor of the index's shape;
    a larger source tensor is cut to the index's shape, as PyTorch reads it)."""
    _check(x, op)
    d = normalize_dim(dim, builtins.max(x.ndim, 1), op)
    idx = _index_along(x, d, index, op, negatives=False)
    if not isinstance(src, Tensor):
        src = as_tensor_like(src, x, op)
        src = Tensor(np.broadcast_to(src._data, idx.shape).copy())
    if src.ndim != idx.ndim or any(n > m for n, m in zip(idx.shape, src.shape)):
        raise RuntimeError(f"{op}: src of shape {tuple(src.shape)} must be at least as large as "
                           f"the index {idx.shape} in every dimension")
    if tuple(src.shape) != idx.shape:
        src = getitem(src, tuple(builtins.slice(0, n) for n in idx.shape))
    return d, idx, src.to(x.dtype)


def scatter(x: Tensor, dim: int, index: Any, src: Any = None, value: Any = None) -> Tensor:
    """x with ``src`` (a tensor, or the number ``value``) written at ``index`` along ``dim``,
    as torch.scatter: out[index[i][j]][j] = src[i][j] for dim = 0."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src and value")
    d, idx, source = _scatter_arguments(x, dim, index, value if src is None else src, "scatter")
    return Scatter.apply(x, source, d, idx)


def scatter_add(x: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """x with ``src`` added at ``index`` along ``dim`` (repeated positions add up), as
    torch.scatter_add: out[index[i][j]][j] += src[i][j] for dim = 0."""
    d, idx, source = _scatter_arguments(x, dim, index, src, "scatter_add")
    from .elementwise import add
    return add(x, ScatterAdd.apply(source, d, idx, tuple(x.shape)))


# ------------------------------------------------------------------------------ joining, padding


class Cat(Function):
    """Concatenate along ``dim``;  the gradient is split back into the pieces."""

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        ctx.bounds = np.cumsum([0] + [a.shape[dim] for a in arrays])
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        index = [builtins.slice(None)] * g.ndim
        pieces = []
        for start, stop in zip(ctx.bounds[:-1], ctx.bounds[1:]):
            index[ctx.dim] = builtins.slice(int(start), int(stop))
            pieces.append(g[tuple(index)])
        return tuple(pieces)


class Pad(Function):
    """Constant padding, ``widths`` = ((before, after) per dim), negative widths crop;
    the backward is the opposite padding of the gradient (a crop), i.e. Pad with −widths."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        crop = tuple(builtins.slice(-min(b, 0), n + min(a, 0) if n + min(a, 0) >= 0 else 0)
                     for (b, a), n in zip(widths, x.shape))
        x = x[crop]
        grow = [(builtins.max(b, 0), builtins.max(a, 0)) for b, a in widths]
        return np.pad(x, grow, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return Pad.apply(g, tuple((-b, -a) for b, a in ctx.widths), 0), None, None


# ------------------------------------------------------------------------------ functional forms


def _check(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same entries in shape ``shape`` (one entry may be −1: inferred)."""
    _check(x, "reshape")
    shape = shape_tuple(shape, "reshape")
    if builtins.sum(1 for n in shape if n == -1) > 1 or any(n < -1 for n in shape):
        raise RuntimeError(f"reshape: invalid shape {shape}: at most one dimension may be -1 "
                           f"and none may be negative otherwise")
    known = math.prod([n for n in shape if n != -1])
    fits = known == x.numel() if -1 not in shape else (known != 0 and x.numel() % known == 0)
    if not fits:
        raise RuntimeError(f"reshape: shape {list(shape)} is invalid for input of size "
                           f"{x.numel()} (input shape {tuple(x.shape)})")
    if tuple(shape) == tuple(x.shape):
        return x
    return Reshape.apply(x, shape)


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    _check(x, "flatten")
    if x.ndim == 0:
        return x.reshape(1)
    s = normalize_dim(start_dim, x.ndim, "flatten")
    e = normalize_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape
    return x.reshape(tuple(shape[:s]) + (math.prod(shape[s:e + 1]),)
                     + tuple(shape[e + 1:]))


def unflatten(x: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    _check(x, "unflatten")
    d = normalize_dim(dim, x.ndim, "unflatten")
    sizes = shape_tuple((sizes,), "unflatten")
    known = math.prod([n for n in sizes if n != -1])
    if (sizes.count(-1) > 1 or any(n < -1 for n in sizes)
            or (-1 not in sizes and known != x.shape[d])
            or (-1 in sizes and (known == 0 or x.shape[d] % known))):
        raise RuntimeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size "
                           f"{x.shape[d]} of dim {dim} (input shape {tuple(x.shape)})")
    return x.reshape(tuple(x.shape[:d]) + tuple(sizes) + tuple(x.shape[d + 1:]))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    _check(x, "unsqueeze")
    d = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    shape = list(x.shape)
    shape.insert(d, 1)
    return x.reshape(shape)


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dims (all of them, or those in ``dim``; others are left, as PyTorch)."""
    _check(x, "squeeze")
    if dim is None:
        dims = [i for i, n in enumerate(x.shape) if n == 1]
    else:
        dims = [normalize_dim(d, x.ndim, "squeeze")
                for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
    return x.reshape([n for i, n in enumerate(x.shape) if not (i in dims and n == 1)])


def permute(x: Tensor, *dims: Any) -> Tensor:
    _check(x, "permute")
    dims = shape_tuple(dims, "permute")
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute: number of dims {len(dims)} doesn't match the input's "
                           f"{x.ndim} dimensions (shape {tuple(x.shape)})")
    dims = tuple(normalize_dim(d, x.ndim, "permute") for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of 0..{x.ndim - 1}")
    return x if dims == tuple(range(x.ndim)) else Permute.apply(x, dims)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    _check(x, "transpose")
    if x.ndim < 2 and x.ndim == 0:
        return x
    a, b = normalize_dim(dim0, x.ndim, "transpose"), normalize_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


swapaxes = transpose


def t(x: Tensor) -> Tensor:
    """Transpose a matrix (a vector or scalar is returned as it is)."""
    if _check(x, "t").ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but got {x.ndim}-D "
                           f"(shape {tuple(x.shape)})")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` (−1 keeps a dim); no copy."""
    _check(x, "expand")
    sizes = shape_tuple(sizes, "expand")
    if len(sizes) < x.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({x.ndim})")
    lead = len(sizes) - x.ndim
    if any(n < 0 for n in sizes[:lead]) or any(n < -1 for n in sizes):
        raise RuntimeError(f"expand: invalid sizes {list(sizes)} for a tensor of shape "
                           f"{list(x.shape)}: -1 is only allowed for an existing dimension and "
                           f"no size may be negative otherwise")
    target = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    for i, n in enumerate(x.shape):
        if n != 1 and n != target[lead + i]:
            raise RuntimeError(f"expand: the expanded size of the tensor ({target[lead + i]}) must "
                               f"match the existing size ({n}) at non-singleton dimension "
                               f"{lead + i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(x.shape)}")
    if target == tuple(x.shape):
        return x
    return Expand.apply(x, target)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, other.shape)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(_check(x, "broadcast_to"), shape_tuple((shape,), "broadcast_to"))


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """Tile ``x``: each dim repeated sizes[i] times (via unsqueeze, expand and reshape)."""
    _check(x, "repeat")
    sizes = shape_tuple(sizes, "repeat")
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"repeat: repeats {list(sizes)} must be non-negative")
    if len(sizes) < x.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than "
                           f"the number of dimensions of the tensor ({x.ndim})")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    y = x.reshape(shape)
    interleaved = [d for n in shape for d in (1, n)]
    target = [d for r, n in zip(sizes, shape) for d in (r, n)]
    return y.reshape(interleaved).expand(target).reshape([r * n for r, n in zip(sizes, shape)])


def to_device(x: Tensor, device: Any) -> Tensor:
    """``x`` on ``device`` (itself if it is there already); differentiable."""
    device = backend.resolve(device, "to")
    if x.device == device:
        return x
    if not x.requires_grad:
        return Tensor(backend.to_device(x._data, device))
    return ToDevice.apply(x, device)


def cast(x: Tensor, dtype: Any) -> Tensor:
    dtype = dtypes.as_dtype(dtype)
    if dtype == x.dtype:
        return x
    if dtype.kind not in "fc" or x.dtype.kind not in "fc":
        return Tensor(x._data.astype(dtype))  # no gradient flows through integer casts
    return Cast.apply(x, dtype)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(_check(x, "clone"))


def flip(x: Tensor, dims: Any) -> Tensor:
    _check(x, "flip")
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    return Flip.apply(x, tuple(normalize_dim(d, x.ndim, "flip") for d in dims))


def getitem(x: Tensor, index: Any) -> Tensor:
    index = _normalize_index(index, x._data)
    if isinstance(index, np.ndarray) and index.dtype == np.bool_ and index.shape != x.shape[
            :index.ndim]:
        raise IndexError(f"__getitem__: boolean mask of shape {index.shape} does not match the "
                         f"indexed tensor of shape {tuple(x.shape)}")
    return GetItem.apply(x, index)


def index_put(x: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of x with x[index] = value, differentiable in both x and value."""
    _check(x, "index_put")
    if x.dtype.kind != "c" and np.iscomplexobj(getattr(value, "_data", value)):
        raise TypeError(f"index_put: cannot assign complex values to a "
                        f"{dtypes.dtype_name(x.dtype)} tensor of shape {tuple(x.shape)}")
    return IndexPut.apply(x, as_tensor_like(value, x, "index_put").to(x.dtype),
                          _normalize_index(index, x._data))


def _int_arg(value: Any, name: str, op: str) -> int:
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    return int(value)


def _sized_dim(x: Any, dim: Any, op: str) -> int:
    """``dim`` of a tensor that has dims (ops that index along one cannot work on a 0-d tensor)."""
    _check(x, op)
    if x.ndim == 0:
        raise IndexError(f"{op}: dimension specified as {dim} but the tensor has no dimensions")
    return normalize_dim(dim, x.ndim, op)


def select(x: Tensor, dim: int, index: int) -> Tensor:
    d = _sized_dim(x, dim, "select")
    index = _int_arg(index, "index", "select")
    if not -x.shape[d] <= index < x.shape[d]:
        raise IndexError(f"select: index {index} out of range for dim {dim} of size "
                         f"{x.shape[d]} (shape {tuple(x.shape)})")
    return x[(builtins.slice(None),) * d + (index,)]


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = _sized_dim(x, dim, "narrow")
    start, length = _int_arg(start, "start", "narrow"), _int_arg(length, "length", "narrow")
    if start < 0:
        start += x.shape[d]
    if not (0 <= start and start + length <= x.shape[d] and length >= 0):
        raise IndexError(f"narrow: start {start} + length {length} exceeds dim {dim} of size "
                         f"{x.shape[d]}")
    return x[(builtins.slice(None),) * d + (builtins.slice(start, start + length),)]


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j] = x[index[i][j]][j] (for dim = 0) — as ``torch.gather``."""
    d = normalize_dim(dim, x.ndim, "gather")
    return Gather.apply(x, d, _index_along(x, d, index, "gather", negatives=True))


def _index_along(x: Tensor, d: int, index: Any, op: str, negatives: bool) -> np.ndarray:
    """gather's and scatter's index, checked: integers, x's number of dims, no larger than x
    away from ``d``, within x's size along ``d`` (from −size when ``negatives``)."""
    idx = backend.like(index._data if isinstance(index, Tensor) else np.asarray(index), x._data)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: index must be an integer tensor, got {idx.dtype}")
    if idx.ndim != x.ndim:
        raise RuntimeError(f"{op}: index has {idx.ndim} dimensions but the input has {x.ndim} "
                           f"(index {idx.shape}, input {tuple(x.shape)})")
    larger = [i for i, n in enumerate(idx.shape) if i != d and n > x.shape[i]]
    if larger:
        raise RuntimeError(f"{op}: size does not match at dimension {larger[0]}; index "
                           f"{idx.shape} must not be larger than the input {tuple(x.shape)} "
                           f"apart from dimension {d}")
    low = -x.shape[d] if negatives else 0
    if idx.size and (idx.min() < low or idx.max() >= x.shape[d]):
        raise IndexError(f"{op}: index out of range [{low}, {x.shape[d]}) for dim {d} of input "
                         f"{tuple(x.shape)}")
    return idx


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of x at positions ``index`` (a 1-D integer tensor, repeats allowed) along
    ``dim``, as torch.index_select; a repeated position gets the sum of its gradients."""
    _check(x, "index_select")
    d = normalize_dim(dim, builtins.max(x.ndim, 1), "index_select")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise RuntimeError(f"index_select: index must be a 1-D integer tensor, got "
                           f"{idx.ndim}-D {idx.dtype}")
    size = x.shape[d] if x.ndim else 1
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexError(f"index_select: index out of range [{-size}, {size}) for dim {d} of "
                         f"input {tuple(x.shape)}")
    if x.ndim == 0:
        return x.reshape(1)[Tensor(idx.reshape(-1))].reshape(idx.shape)
    return getitem(x, (builtins.slice(None),) * d + (Tensor(idx.reshape(-1)),))


def _sort_order(data: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable positions that sort ``data`` along ``dim``, NaN counted as the largest value (last
    ascending, first descending), as PyTorch."""
    if not descending:
        return np.argsort(data, axis=dim, kind="stable")
    # primary key: not NaN (NaN first); secondary: −x (largest first); lexsort is stable
    return np.lexsort((-data, ~np.isnan(data)), axis=dim)


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """(values, indices) of x sorted along ``dim``, as torch.sort (always stable: equal values
    keep their order); the values' gradient goes back to the positions they came from.  Beyond
    PyTorch, complex tensors sort by their real part, as every piecewise op here branches, so
    that the complex step passes through a sort."""
    _check(x, "sort")
    if x.ndim == 0:
        normalize_dim(dim, 1, "sort")
        return SortResult(x.clone(), Tensor(np.zeros((), np.int64)))
    d = normalize_dim(dim, x.ndim, "sort")
    order = backend.like(_sort_order(np.real(backend.to_host(x._data)), d, bool(descending)),
                         x._data)
    return SortResult(Gather.apply(x, d, order), Tensor(order.astype(np.int64)))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort x along ``dim`` (see :func:`sort`)."""
    return sort(x, dim, descending, stable).indices


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """(values, indices) of the k largest (or smallest) entries along ``dim``, as torch.topk,
    always in sorted order."""
    _check(x, "topk")
    d = normalize_dim(dim, builtins.max(x.ndim, 1), "topk")
    size = x.shape[d] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= size:
        raise RuntimeError(f"topk: k must be an integer in [0, {size}] for dim {d} of input "
                           f"{tuple(x.shape)}, got {k!r}")
    values, indices = sort(x, d, descending=bool(largest))
    if x.ndim == 0:
        return TopkResult(values, indices)
    return TopkResult(narrow(values, d, 0, int(k)), narrow(indices, d, 0, int(k)))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along ``dim``; all other dims must agree."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of Tensors")
    for i, t_ in enumerate(tensors):
        _check(t_, f"cat (element {i})")
    legacy = [t_.ndim == 1 and t_.shape[0] == 0 for t_ in tensors]
    reference = next((t_ for t_, e in zip(tensors, legacy) if not e), tensors[0])
    d = normalize_dim(dim, reference.ndim, "cat")
    first = reference.shape
    if reference.ndim != 1:  # PyTorch skips empty 1-D tensors; they still get a (size-0) gradient
        empty = [0 if j == d else n for j, n in enumerate(first)]
        tensors = [t_.reshape(empty) if e else t_ for t_, e in zip(tensors, legacy)]
    for i, t_ in enumerate(tensors):
        if t_.ndim != len(first) or any(a != b for j, (a, b) in enumerate(zip(t_.shape, first))
                                        if j != d):
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {d}; tensor "
                               f"0 has shape {tuple(first)} and tensor {i} has shape "
                               f"{tuple(t_.shape)}")
    dtype = tensors[0].dtype
    for t_ in tensors[1:]:
        dtype = dtypes.promote_types(dtype, t_.dtype)
    return Cat.apply(*[t_.to(dtype) for t_ in tensors], dim=d)


concat = concatenate = cat


def _tensor_list(tensors: Any, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of Tensors, got "
                        f"{type(tensors).__name__}")
    return list(tensors)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of Tensors")
    for i, t_ in enumerate(tensors):
        _check(t_, f"stack (element {i})")
    shapes = {tuple(t_.shape) for t_ in tensors}
    if len(shapes) != 1:
        raise RuntimeError(f"stack: expects each tensor to be equal size, got shapes "
                           f"{[tuple(t_.shape) for t_ in tensors]}")
    d = normalize_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t_, d) for t_ in tensors], d)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of size ``split_size`` (the last may be smaller), or of the given sizes."""
    d = _sized_dim(x, dim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [_int_arg(k, "split sizes", "split") for k in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split: split sizes {sizes} must sum to the size {n} of dim {d} "
                               f"(shape {tuple(x.shape)})")
    else:
        size = _int_arg(split_size_or_sections, "split_size", "split")
        if size <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    bounds = np.cumsum([0] + sizes)
    return tuple(narrow(x, d, int(a), int(b - a)) for a, b in zip(bounds[:-1], bounds[1:]))


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    chunks = _int_arg(chunks, "chunks", "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk: number of chunks must be positive, got {chunks}")
    d = _sized_dim(x, dim, "chunk")
    return split(x, builtins.max(1, -(-x.shape[d] // chunks)), d)


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    d = _sized_dim(x, dim, "unbind")
    return tuple(select(x, d, i) for i in range(x.shape[d]))


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad as ``torch.nn.functional.pad``: ``pad`` lists (before, after) pairs starting from the
    *last* dim.  'constant' (negative widths crop), 'reflect', 'replicate' and 'circular'."""
    _check(x, "pad")
    if isinstance(pad, Tensor) or not isinstance(pad, (list, tuple)):
        raise TypeError(f"pad: pad must be a list or tuple of ints, got {type(pad).__name__}")
    if not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad: padding widths must be ints, got {list(pad)}")
    if value is not None and (isinstance(value, bool) or
                              not isinstance(value, (int, float, complex, np.number))):
        raise TypeError(f"pad: value must be a number, got {type(value).__name__}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding length {len(pad)} must be even and at most twice the "
                         f"number of dims ({x.ndim}, shape {tuple(x.shape)})")
    pairs = [(0, 0)] * (x.ndim - len(pad) // 2) + [
        (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))]
    if mode == "constant":
        for (b, a), n in zip(pairs, x.shape):
            if n + b + a < 0:
                raise RuntimeError(f"pad: resulting padded dimension would be negative (input "
                                   f"shape {tuple(x.shape)}, pad {pad})")
        return Pad.apply(x, tuple(pairs), 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got {mode!r}")
    out = x
    for d, (b, a) in enumerate(pairs):  # gather along each padded dim: derivative by GetItem
        if b == a == 0:
            continue
        n = x.shape[d]
        if builtins.min(b, a) < 0:
            raise ValueError("pad: negative padding is only supported in 'constant' mode")
        if mode == "reflect" and builtins.max(b, a) >= n:
            raise ValueError(f"pad: padding ({b}, {a}) should be less than the input size {n} of "
                             f"dim {d} for reflect mode (shape {tuple(x.shape)})")
        if mode == "circular" and builtins.max(b, a) > n:
            raise ValueError(f"pad: padding ({b}, {a}) should be at most the input size {n} of "
                             f"dim {d} for circular mode")
        positions = np.arange(-b, n + a)
        if mode == "reflect":
            period = 2 * (n - 1)
            positions = np.abs((positions + period) % period if period else positions * 0)
            positions = np.where(positions >= n, period - positions, positions)
        elif mode == "replicate":
            positions = np.clip(positions, 0, n - 1)
        else:
            positions = positions % n
        out = out[(builtins.slice(None),) * d + (positions,)]
    return out
