"""``repr`` of a Tensor in PyTorch's format: ``tensor([1.5000, 2.0000], requires_grad=True)``,
entries right-aligned to a common width (``tensor([[ 3.1940,  1.1833], ...``)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend, dtypes

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor

# PyTorch's default print options
LINEWIDTH, THRESHOLD, EDGEITEMS, PRECISION = 80, 1000, 3, 4


class _Formatter:
    """PyTorch's format for the entries of one tensor, and the common width they are aligned to.

    Floats: if every finite nonzero entry is an integer, ``1.`` style; otherwise 4 decimals; in
    either case scientific notation when max/min of the finite nonzero magnitudes exceeds 1000,
    the max exceeds 1e8, or (non-integers only) the min is below 1e-4.  The width is taken over
    the finite nonzero entries only (as PyTorch), so 0, inf and nan do not widen a column.
    """

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            if flat.size:
                self.width = max(len(str(v)) for v in flat.tolist())
            return
        flat = flat.astype(np.float64)
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return
        magnitude = np.abs(finite)
        ratio_wide = magnitude.max() / magnitude.min() > 1000.0 or magnitude.max() > 1.0e8
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if self.int_mode:
            self.sci_mode = bool(ratio_wide)
            texts = ([f"{v:.{PRECISION}e}" for v in finite.tolist()] if self.sci_mode
                     else [f"{v:.0f}." for v in finite.tolist()])
        else:
            self.sci_mode = bool(ratio_wide or magnitude.min() < 1.0e-4)
            spec = "e" if self.sci_mode else "f"
            texts = [f"{v:.{PRECISION}{spec}}" for v in finite.tolist()]
        self.width = max(len(t) for t in texts)

    def format(self, value: Any) -> str:
        if not self.floating:
            text = f"{value}"
        elif self.sci_mode:
            text = f"{value:.{PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRECISION}f}"
        return text.rjust(self.width)


def _summarized(data: np.ndarray) -> np.ndarray:
    """The entries that will be shown when a big tensor is abbreviated (EDGEITEMS per edge)."""
    if data.ndim == 0:
        return data
    if data.shape[0] > 2 * EDGEITEMS:
        data = np.concatenate([data[:EDGEITEMS], data[-EDGEITEMS:]])
    if data.ndim == 1:
        return data
    return np.stack([_summarized(row) for row in data])


def _entry(value: Any, real: _Formatter, imag: _Formatter | None) -> str:
    if imag is None:
        return real.format(value)
    imag_text = (imag.format(value.imag) + "j").lstrip()
    sign = "" if imag_text[0] in "+-" else "+"
    return real.format(value.real) + sign + imag_text


def _vector(data: np.ndarray, indent: int, summarize: bool, real: _Formatter,
            imag: _Formatter | None) -> str:
    element_length = real.width + 2 + (imag.width + 1 if imag is not None else 0)
    per_line = max(1, (LINEWIDTH - indent) // element_length)
    if summarize and data.shape[0] > 2 * EDGEITEMS:
        entries = ([_entry(v, real, imag) for v in data[:EDGEITEMS].tolist()] + [" ..."]
                   + [_entry(v, real, imag) for v in data[-EDGEITEMS:].tolist()])
    else:
        entries = [_entry(v, real, imag) for v in data.tolist()]
    lines = [", ".join(entries[i:i + per_line]) for i in range(0, len(entries), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(data: np.ndarray, indent: int, summarize: bool, real: _Formatter,
            imag: _Formatter | None) -> str:
    if data.ndim == 0:
        return _entry(data.item(), real, imag)
    if data.ndim == 1:
        return _vector(data, indent, summarize, real, imag)
    rows = range(data.shape[0])
    if summarize and data.shape[0] > 2 * EDGEITEMS:
        parts = ([_nested(data[i], indent + 1, summarize, real, imag) for i in rows[:EDGEITEMS]]
                 + ["..."] + [_nested(data[i], indent + 1, summarize, real, imag)
                              for i in rows[-EDGEITEMS:]])
    else:
        parts = [_nested(data[i], indent + 1, summarize, real, imag) for i in rows]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _body(data: np.ndarray, indent: int) -> str:
    summarize = data.size > THRESHOLD
    if data.dtype == np.float16:
        data = data.astype(np.float32)
    shown = _summarized(data) if summarize else data
    if data.dtype.kind == "c":
        return _nested(data, indent, summarize, _Formatter(shown.real), _Formatter(shown.imag))
    return _nested(data, indent, summarize, _Formatter(shown), None)


def tensor_repr(t: "Tensor") -> str:
    """PyTorch's ``repr``: entries right-aligned to a common width, lines of at most 80
    characters, big tensors abbreviated with '...', then the dtype (when not implied), and
    ``grad_fn=<...>`` or ``requires_grad=True``."""
    data = backend.to_host(t._data)  # a device tensor prints from a host copy, as PyTorch's
    prefix = "tensor("
    suffixes = []
    implied = {dtypes.get_default_dtype(), dtypes.default_complex_dtype(), np.dtype("int64"),
               np.dtype("bool")}
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        if data.dtype != dtypes.get_default_dtype():
            suffixes.append(f"dtype={dtypes.dtype_name(data.dtype)}")
        body = "[]"
    else:
        if data.dtype not in implied:
            suffixes.append(f"dtype={dtypes.dtype_name(data.dtype)}")
        body = _body(data, len(prefix))
    if not isinstance(t._data, np.ndarray):
        suffixes.insert(0, f"device='{t.device}'")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    text = prefix + body
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:  # a suffix that would overflow the line goes on a new one
        if last_line + len(suffix) + 2 > LINEWIDTH:
            text += ",\n" + " " * len(prefix) + suffix
            last_line = len(prefix) + len(suffix)
        else:
            text += ", " + suffix
            last_line += len(suffix) + 2
    return text + ")"
