"""Making tensors: from data, filled with constants, ranges, and random draws.

Dtype inference follows PyTorch: Python floats give the default dtype (float32), Python ints
int64, bools bool, complex numbers the default complex dtype; a NumPy array keeps its dtype.
Random draws come from the one global generator (:mod:`lemmata.random`).
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from . import dtypes
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
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return data


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays or tensors)."""
    _check_device(device, "tensor")
    array = np.array(_to_array(data, dtype), copy=True)
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like :func:`tensor` but shares memory with an ndarray or tensor when the dtype allows."""
    _check_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or dtypes.as_dtype(dtype) == data.dtype):
        return data
    return Tensor(_to_array(data, dtype))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor(array)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(x: Tensor) -> int:
    return x.numel()


def _check_device(device: Any, op: str) -> None:
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"{op}: lemmata runs on the CPU only; device {device!r} is not available")


def _shape(size: Sequence[Any], op: str) -> tuple[int, ...]:
    shape = shape_tuple(size, op)
    if any(n < 0 for n in shape):
        raise RuntimeError(f"{op}: negative dimension in size {shape}")
    return shape


def _filled(op: str, size: Sequence[Any], fill: Any, dtype: Any, requires_grad: bool,
            device: Any) -> Tensor:
    _check_device(device, op)
    return Tensor(np.full(_shape(size, op), fill, dtype=dtypes.as_dtype(dtype)),
                  requires_grad=requires_grad)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled("zeros", size, 0, dtype, requires_grad, device)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled("ones", size, 1, dtype, requires_grad, device)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros (NumPy's uninitialised memory would make results irreproducible)."""
    return _filled("empty", size, 0, dtype, requires_grad, device)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _infer_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _filled("full", (size,), fill_value, dtype, requires_grad, device)


def _like(x: Tensor, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a Tensor, got {type(x).__name__}")
    return tuple(x.shape), x.dtype if dtype is None else dtypes.as_dtype(dtype)


def zeros_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return zeros(shape, dtype=dtype, requires_grad=requires_grad)


def ones_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return ones(shape, dtype=dtype, requires_grad=requires_grad)


def empty_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros_like(x, dtype, requires_grad)


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return full(shape, fill_value, dtype=dtype, requires_grad=requires_grad)


def _random_float(op: str, size: Sequence[Any], dtype: Any, requires_grad: bool, draw: Any,
                  device: Any = None) -> Tensor:
    _check_device(device, op)
    dtype = dtypes.as_dtype(dtype)
    if dtype.kind not in "fc":
        raise TypeError(f"{op}: dtype must be floating point or complex, got {dtype}")
    shape = _shape(size, op)
    if dtype.kind == "c":  # real and imaginary parts each with half the variance, as PyTorch
        real = draw(shape, np.float64 if dtype == np.complex128 else np.float32)
        imag = draw(shape, np.float64 if dtype == np.complex128 else np.float32)
        values = ((real + 1j * imag) / np.sqrt(2) if draw is _normal else real + 1j * imag)
        return Tensor(values.astype(dtype), requires_grad=requires_grad)
    if dtype == np.float16:
        return Tensor(draw(shape, np.float32).astype(dtype), requires_grad=requires_grad)
    return Tensor(draw(shape, dtype), requires_grad=requires_grad)


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


def randn_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return randn(shape, dtype=dtype, requires_grad=requires_grad)


def rand_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return rand(shape, dtype=dtype, requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), dtype: Any = None,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size)`` means low = 0)."""
    _check_device(device, "randint")
    if high is None or (isinstance(high, (tuple, list)) and size == ()):
        low, high, size = 0, low, (() if high is None else high)
    if high <= low:
        raise RuntimeError(f"randint: expects low < high, got low={low}, high={high}")
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    values = generator().integers(low, high, size=_shape((size,), "randint"))
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


def randperm(n: int, dtype: Any = None, device: Any = None) -> Tensor:
    """A random permutation of 0..n−1."""
    _check_device(device, "randperm")
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    return Tensor(generator().permutation(n).astype(dtype))


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start+step, … < end; int64 if all arguments are ints, else the default dtype."""
    _check_device(device, "arange")
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
    return Tensor((start + step * np.arange(n, dtype=np.float64)).astype(dtype)
                  if dtype.kind in "fc" else np.arange(start, end, step, dtype=dtype),
                  requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    _check_device(device, "linspace")
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    return Tensor(np.linspace(start, end, steps).astype(dtypes.as_dtype(dtype)),
                  requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    _check_device(device, "eye")
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    return Tensor(np.eye(n, m, dtype=dtypes.as_dtype(dtype)), requires_grad=requires_grad)
