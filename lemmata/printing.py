"""``repr`` of a Tensor in PyTorch's format: ``tensor([1.5000, 2.0000], requires_grad=True)``."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import dtypes

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor

_IMPLICIT = {np.dtype("int64"), np.dtype("bool")}


def _float_formatter(values: np.ndarray):
    """PyTorch's choice: integers as ``1.``, else 4 decimals, scientific for wide ranges."""
    finite = np.abs(values[np.isfinite(values)]).astype(np.float64)
    if finite.size and np.all(finite == np.round(finite)) and finite.max() < 1e8:
        return lambda x: f"{x:.0f}." if np.isfinite(x) else str(x)
    nonzero = finite[finite != 0]
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8
                         or nonzero.min() < 1e-4):
        return lambda x: f"{x:.4e}" if np.isfinite(x) else str(x)
    return lambda x: f"{x:.4f}" if np.isfinite(x) else str(x)


def tensor_repr(t: "Tensor") -> str:
    data = t._data
    prefix = "tensor("
    if data.dtype.kind == "f":
        formatter = {"float_kind": _float_formatter(data)}
    elif data.dtype.kind == "c":
        real, imag = _float_formatter(data.real), _float_formatter(data.imag)
        formatter = {"complex_kind": lambda z: f"{real(z.real)}{'+' if z.imag >= 0 else '-'}"
                                               f"{imag(abs(z.imag))}j"}
    else:
        formatter = None
    if data.size == 0:
        body = "[]"
    else:
        body = np.array2string(data, separator=", ", prefix=prefix, formatter=formatter,
                               threshold=1000, edgeitems=3, max_line_width=80)
    extras = []
    if data.size == 0 and data.ndim != 1:
        extras.append(f"size={tuple(data.shape)}")
    if data.dtype not in _IMPLICIT and data.dtype != dtypes.get_default_dtype():
        extras.append(f"dtype={dtypes.dtype_name(data.dtype)}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
