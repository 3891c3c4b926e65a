"""Data types, the default floating dtype, and PyTorch's type-promotion rules.

lemmata's dtypes are NumPy dtypes (``lemmata.float32 is numpy.dtype("float32")``).  Promotion
follows PyTorch rather than NumPy where they differ: an integer tensor combined with a float
tensor takes the float tensor's dtype (NumPy would widen int64 + float32 to float64), a Python
float combined with an integer tensor gives the default dtype, and a zero-dimensional tensor does
not widen a higher-dimensional one of the same kind.
"""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .backend import device as device_type

__all__ = [
    "float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32", "int64",
    "uint8", "bool_", "half", "float", "double", "long", "int", "cfloat", "cdouble",
    "get_default_dtype", "set_default_dtype", "promote_types", "dtype_name", "as_dtype",
    "is_floating_point", "is_complex",
]

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
complex64 = cfloat = np.dtype("complex64")
complex128 = cdouble = np.dtype("complex128")
int8, int16, uint8 = np.dtype("int8"), np.dtype("int16"), np.dtype("uint8")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")

_default = float32
_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype of tensors made from Python floats: float32 or float64 (as PyTorch)."""
    global _default
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point dtypes are supported, got {dtype}")
    _default = dtype


def default_complex_dtype() -> np.dtype:
    return complex128 if _default == float64 else complex64


def as_dtype(dtype: Any, op: str = "dtype") -> np.dtype:
    """Normalise a dtype given as a lemmata/NumPy dtype, a Python type or a name (``op`` names the
    caller in the error message)."""
    if dtype is None:
        return _default
    if dtype is builtins.float:
        return _default
    if dtype is builtins.int:
        return int64
    # values rather than types: NumPy would read some of them (lists, tuples) as structured dtypes
    if isinstance(dtype, (builtins.bool, builtins.int, builtins.float, list, tuple)):
        raise TypeError(f"{op}: unknown dtype {dtype!r}")
    try:
        return np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{op}: unknown dtype {dtype!r}") from error


def dtype_name(dtype: np.dtype) -> str:
    """PyTorch's spelling, for reprs: ``lemmata.float32``."""
    return f"lemmata.{np.dtype(dtype).name}"


def is_floating_point(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def is_complex(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind == "c"


def promote_types(a: np.dtype, b: np.dtype, a_dims: int = 1, b_dims: int = 1) -> np.dtype:
    """The dtype of a binary op's result by PyTorch's rules (categories bool < int < float < complex).

    When exactly one operand is zero-dimensional, the dimensioned operand's dtype wins unless the
    zero-dimensional one is of a higher category (as ``torch.result_type``): float32 with a 0-d
    float64 stays float32, int32 with a 0-d float64 becomes float64, float32 with a 0-d
    complex128 becomes complex64 (the complex type of the dimensioned float).
    """
    if (a_dims == 0) != (b_dims == 0):
        dimensioned, zero_dim = (a, b) if b_dims == 0 else (b, a)
        return _combine_categories(dimensioned, zero_dim)
    return _promote(a, b)


def _promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """``torch.promote_types``: the smallest dtype of the higher category that holds both."""
    ka, kb = _KIND_RANK[a.kind], _KIND_RANK[b.kind]
    if ka != kb:
        high, low = (a, b) if ka > kb else (b, a)
        if high.kind == "c" and low == float64:
            return complex128
        return high
    return np.promote_types(a, b)


def _combine_categories(higher: np.dtype, lower: np.dtype) -> np.dtype:
    """PyTorch's rule for a dimensioned operand (``higher`` priority) and a 0-d one."""
    if higher.kind == "c":
        return higher
    if lower.kind == "c":
        return (complex128 if higher == float64 else complex64) if higher.kind == "f" else lower
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return _promote(higher, lower)
    return higher


def scalar_dtype(value: Any, tensor_dtype: np.dtype) -> np.dtype:
    """The dtype a Python scalar takes next to a tensor: it never widens the tensor within a kind."""
    kind = {builtins.bool: "b", builtins.int: "i", builtins.float: "f",
            builtins.complex: "c"}.get(type(value))
    if kind is None:
        kind = np.asarray(value).dtype.kind
    if _KIND_RANK[kind] <= _KIND_RANK[tensor_dtype.kind]:
        return tensor_dtype
    if kind == "f":
        return _default
    if kind == "c":
        return complex128 if tensor_dtype == float64 else default_complex_dtype()
    return int64


def to_arguments(args: tuple, kwargs: dict, op: str) -> tuple[Any, Any]:
    """The dtype and the device asked for by ``.to(...)`` (None for either not asked for), from
    PyTorch's spellings: ``to(dtype)``, ``to("cuda")``, ``to(device, dtype)``, ``to(other_tensor)``
    (its dtype and device), ``to(device=..., dtype=...)``."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None), kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"{op}: unexpected arguments {sorted(kwargs)}")
    for arg in args:
        if hasattr(arg, "dtype") and hasattr(arg, "shape"):  # another tensor: its dtype and device
            dtype, device = arg.dtype, arg.device
        elif isinstance(arg, (str, device_type)):
            device = arg
        elif arg is not None:
            dtype = arg
    if device is not None:
        try:
            device = device_type(device)
        except (RuntimeError, TypeError) as error:
            raise RuntimeError(f"{op}: {error}") from None
    return dtype, device

