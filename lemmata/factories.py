"""Making tensors: from data, filled with constants, ranges, and random draws.

Dtype inference follows PyTorch: Python floats give the default dtype (float32), Python ints
int64, bools bool, complex numbers the default complex dtype; a NumPy array keeps its dtype.
Random draws come from the one global generator (:mod:`lemmata.random`).
"""
from __future__ import annotations

import builtins
import numbers
from typing import Any, Sequence

import numpy as np

from . import backend, dtypes
from .ops.arguments import shape_tuple
from .random import generator
from .tensor import Tensor

__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
    "ones_like", "full_like", "empty_like", "rand", "randn", "rand_like", "randn_like", "randint",
    "randperm", "arange", "linspace", "eye", "is_tensor", "numel",
]


def _infer_dtype(data: Any) -> np.dtype:
    """The dtype PyTorch would give to nested Python data."""
    kinds = set()

    def visit(item: Any) -> None:
        if isinstance(item, Tensor):
            kinds.add(item.dtype.kind)
        elif isinstance(item, (list, tuple)):
            for sub in item:
                visit(sub)
        elif isinstance(item, (bool, np.bool_)):
            kinds.add("b")
        elif isinstance(item, (int, np.integer)):
            kinds.add("i")
        elif isinstance(item, (float, np.floating)):
            kinds.add("f")
        elif isinstance(item, (complex, np.complexfloating)):
            kinds.add("c")
        else:
            raise TypeError(f"tensor: could not infer dtype of {type(item).__name__}")

    visit(data)
    if "c" in kinds:
        return dtypes.default_complex_dtype()
    if "f" in kinds:
        return dtypes.get_default_dtype()
    if "i" in kinds:
        return dtypes.int64
    if "b" in kinds:
        return dtypes.bool_
    return dtypes.get_default_dtype()  # an empty list


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, (np.ndarray, np.generic)):  # NumPy data keeps its dtype, as PyTorch
        array = np.asarray(data)
    elif backend.is_array(data):
        array = data
    else:
        inferred = _infer_dtype(data) if dtype is None else None
        nested = _unwrap(data)
        try:
            array = np.array(nested, dtype=dtypes.as_dtype(dtype) if dtype is not None else inferred)
        except ValueError as error:
            raise ValueError(f"tensor: data is not a regular nested sequence ({error})") from None
        return array
    return array.astype(dtypes.as_dtype(dtype)) if dtype is not None else array


def _unwrap(data: Any) -> Any:
    if isinstance(data, Tensor):
        return backend.to_host(data._data)
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return data


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays or tensors)."""
    device = _data_device(device, data, "tensor")
    array = _to_array(data, dtype)
    copy = array.copy(order="K") if array is _source(data) else array  # keeps the layout
    return _placed(copy, device, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like :func:`tensor` but shares memory with an ndarray or tensor when the dtype allows."""
    device = _data_device(device, data, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or dtypes.as_dtype(dtype) == data.dtype):
        return data.to(device)
    return _placed(_to_array(data, dtype), device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor(array)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(x: Tensor) -> int:
    return x.numel()


def _source(data: Any) -> Any:
    """The array ``data`` is, if it is one (a tensor's array, an ndarray)."""
    return data._data if isinstance(data, Tensor) else data


def _data_device(device: Any, data: Any, op: str) -> backend.device:
    """Where a tensor made from ``data`` goes: ``device``, else the data's own (a tensor's or a
    device array's), else the default device."""
    if device is None and (isinstance(data, Tensor) or backend.is_array(data)):
        return backend.device_of(_source(data))
    return backend.resolve(device, op)


def _placed(array: np.ndarray, device: backend.device, requires_grad: bool = False) -> Tensor:
    """A new tensor holding ``array`` (made on the host, or already a device's) on ``device``."""
    return Tensor(backend.to_device(array, device), requires_grad=requires_grad)


def _shape(size: Sequence[Any], op: str) -> tuple[int, ...]:
    shape = shape_tuple(size, op)
    if any(n < 0 for n in shape):
        raise RuntimeError(f"{op}: negative dimension in size {shape}")
    return shape


def _filled(op: str, size: Sequence[Any], fill: Any, dtype: Any, requires_grad: bool,
            device: Any) -> Tensor:
    device = backend.resolve(device, op)
    return _placed(np.full(_shape(size, op), fill, dtype=dtypes.as_dtype(dtype)), device,
                   requires_grad)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled("zeros", size, 0, dtype, requires_grad, device)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled("ones", size, 1, dtype, requires_grad, device)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros (NumPy's uninitialised memory would make results irreproducible)."""
    return _filled("empty", size, 0, dtype, requires_grad, device)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    if isinstance(fill_value, Tensor) and fill_value.numel() == 1:
        fill_value = fill_value.item()
    if not isinstance(fill_value, (numbers.Number, np.number, np.bool_)):
        raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__} "
                        f"{fill_value!r}")
    if dtype is None:
        dtype = _infer_dtype(fill_value)
    return _filled("full", (size,), fill_value, dtype, requires_grad, device)


def _like(x: Tensor, dtype: Any, device: Any, op: str) -> tuple[tuple[int, ...], np.dtype, Any]:
    """The shape of ``x``, and the dtype and device asked for (by default ``x``'s own)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return (tuple(x.shape), x.dtype if dtype is None else dtypes.as_dtype(dtype),
            x.device if device is None else device)


def zeros_like(x: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(x, dtype, device, "zeros_like")
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(x: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(x, dtype, device, "ones_like")
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    _like(x, dtype, device, "empty_like")
    return zeros_like(x, dtype, device, requires_grad)


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(x, dtype, device, "full_like")
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def _random_float(op: str, size: Sequence[Any], dtype: Any, requires_grad: bool, draw: Any,
                  device: Any = None) -> Tensor:
    device = backend.resolve(device, op)
    dtype = dtypes.as_dtype(dtype)
    if dtype.kind not in "fc":
        raise TypeError(f"{op}: dtype must be floating point or complex, got {dtype}")
    shape = _shape(size, op)
    if dtype.kind == "c":  # real and imaginary parts each with half the variance, as PyTorch
        real = draw(shape, np.float64 if dtype == np.complex128 else np.float32)
        imag = draw(shape, np.float64 if dtype == np.complex128 else np.float32)
        values = ((real + 1j * imag) / np.sqrt(2) if draw is _normal else real + 1j * imag)
        return _placed(values.astype(dtype), device, requires_grad)
    if dtype == np.float16:
        return _placed(draw(shape, np.float32).astype(dtype), device, requires_grad)
    return _placed(draw(shape, dtype), device, requires_grad)


def _normal(shape: tuple, dtype: Any) -> np.ndarray:
    return generator().standard_normal(shape, dtype=dtype)


def _uniform(shape: tuple, dtype: Any) -> np.ndarray:
    return generator().random(shape, dtype=dtype)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws."""
    return _random_float("randn", size, dtype, requires_grad, _normal, device)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform draws on [0, 1)."""
    return _random_float("rand", size, dtype, requires_grad, _uniform, device)


def randn_like(x: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(x, dtype, device, "randn_like")
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(x: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(x, dtype, device, "rand_like")
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), dtype: Any = None,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size)`` means low = 0)."""
    device = backend.resolve(device, "randint")
    if high is None or (isinstance(high, (tuple, list)) and size == ()):
        low, high, size = 0, low, (() if high is None else high)
    if high <= low:
        raise RuntimeError(f"randint: expects low < high, got low={low}, high={high}")
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    values = generator().integers(low, high, size=_shape((size,), "randint"))
    return _placed(values.astype(dtype), device, requires_grad)


def _integer(value: Any, name: str, op: str) -> int:
    """An int argument (a one-element integer tensor is accepted, as PyTorch does)."""
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    return int(value)


def randperm(n: int, dtype: Any = None, device: Any = None) -> Tensor:
    """A random permutation of 0..n−1."""
    device = backend.resolve(device, "randperm")
    n = _integer(n, "n", "randperm")
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    return _placed(generator().permutation(n).astype(dtype), device)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start+step, … < end; int64 if all arguments are ints, else the default dtype."""
    device = backend.resolve(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) \
            else dtypes.get_default_dtype()
    dtype = dtypes.as_dtype(dtype)
    n = builtins.max(0, int(np.ceil((end - start) / step)))
    if dtype.kind not in "fc":
        return _placed(np.arange(start, end, step, dtype=dtype), device, requires_grad)
    return _placed(_range_values(float(start), float(step), n, dtype), device, requires_grad)


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a·b = p + e exactly (Dekker): p the rounded product, e its rounding error."""
    p = a * b
    split = 134217729.0  # 2²⁷ + 1: splits a double into two 26-bit halves
    t = split * a
    a_hi = t - (t - a)
    t = split * b
    b_hi = t - (t - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _fused_multiply_add(a: Any, b: Any, c: Any) -> np.ndarray:
    """a·b + c rounded once (as the FMA instruction), from error-free products and sums."""
    p, product_error = _two_product(np.asarray(a, np.float64), np.asarray(b, np.float64))
    s = p + c
    b_virtual = s - p
    sum_error = (p - (s - b_virtual)) + (c - b_virtual)
    return s + (product_error + sum_error)


def _range_values(start: float, step: float, n: int, dtype: np.dtype) -> np.ndarray:
    """start + i·step for i < n, rounded exactly as PyTorch's CPU kernel rounds them.

    That kernel computes in double and writes SIMD vectors of 32 bytes, two at a time: inside a
    vector, entry k is base + k·step with base = start + i₀·step already rounded to the output
    dtype; the leftover entries are start + i·step.  Its compiler fuses each a·b + c into one
    rounding (FMA).  Reproducing this gives torch.arange's values bit for bit on x86 (for up to
    32768 entries: beyond that PyTorch splits the range over threads and its values depend on
    their number).
    """
    i = np.arange(n, dtype=np.float64)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        return (start + step * i).astype(dtype)
    lanes = 32 // dtype.itemsize
    lane = i % lanes
    base = _fused_multiply_add(step, i - lane, start).astype(dtype).astype(np.float64)
    in_vectors = i < (n // (2 * lanes)) * 2 * lanes
    return np.where(in_vectors, _fused_multiply_add(lane, step, base),
                    _fused_multiply_add(step, i, start)).astype(dtype)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` points from start to end, computed as PyTorch's CPU kernel does (bit for bit):
    with h = (end − start)/(steps − 1) in the output dtype, entry i is start + i·h for i below
    steps/2 and end − (steps − 1 − i)·h above (so both ends are exact), each a fused
    multiply-add rounded once; for integer dtypes start and end are truncated first and h is a
    double."""
    device = backend.resolve(device, "linspace")
    steps = _integer(steps, "steps", "linspace")
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    dtype = dtypes.as_dtype(dtype)
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    if steps <= 1:
        return _placed(np.full(steps, start, dtype=dtype), device, requires_grad)
    compute = dtype if dtype in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(
        np.float64)
    first, last = (compute.type(np.asarray(v).astype(dtype)) for v in (start, end))
    step = (last - first) / compute.type(steps - 1)
    i = np.arange(steps, dtype=np.float64)
    values = np.where(i < steps // 2, _fused_multiply_add(step, i, first).astype(compute),
                      _fused_multiply_add(-step, steps - 1 - i, last).astype(compute))
    return _placed(values.astype(dtype), device, requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    device = backend.resolve(device, "eye")
    n, m = _integer(n, "n", "eye"), None if m is None else _integer(m, "m", "eye")
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    return _placed(np.eye(n, m, dtype=dtypes.as_dtype(dtype)), device, requires_grad)
