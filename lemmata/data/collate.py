"""Collation: a list of samples → one batch, with PyTorch's ``default_collate`` rules.

    Tensors, arrays         → stacked along a new first axis (same dtype)
    Python ints / bools     → an int64 / bool Tensor;  Python floats → a float64 Tensor
    NumPy scalars           → a Tensor of their dtype
    str, bytes              → left as they are (the sequence of values)
    dicts                   → a dict of collated values, key by key
    tuples                  → a *list* of collated fields (PyTorch's choice); namedtuples and
                              lists keep their type
"""
from __future__ import annotations

import collections.abc
from typing import Any, Sequence

import numpy as np

from ..tensor import Tensor

__all__ = ["default_collate", "default_convert"]


def _stack(arrays: Sequence[np.ndarray], kind: str) -> Tensor:
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise RuntimeError(f"default_collate: stack expects each {kind} to be equal size, but "
                               f"item 0 has shape {first} and item {i} has shape {a.shape}")
    stacked = np.stack(arrays)
    if stacked.dtype.kind not in "biufc":
        raise TypeError(f"default_collate: arrays of dtype {stacked.dtype} cannot become a Tensor")
    return Tensor(stacked)


def default_collate(batch: Sequence[Any]) -> Any:
    """Collate a list of samples into a batch (see the module docstring for the rules)."""
    if not isinstance(batch, collections.abc.Sequence):
        raise TypeError(f"default_collate: expected a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("default_collate: cannot collate an empty list of samples")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([b._data if isinstance(b, Tensor) else np.asarray(b) for b in batch],
                      "tensor")
    if isinstance(elem, np.ndarray):
        return _stack([np.asarray(b) for b in batch], "array")
    if isinstance(elem, np.generic):
        return Tensor(np.array(batch, dtype=elem.dtype))
    if isinstance(elem, bool):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, complex):
        return Tensor(np.array(batch, dtype=np.complex128))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        for i, b in enumerate(batch):
            if len(b) != size:
                raise RuntimeError(f"default_collate: each element in list of batch should be of "
                                   f"equal size (item 0 has {size} fields, item {i} has {len(b)})")
        return [default_collate(s) for s in zip(*batch)]  # tuples become lists (PyTorch)
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(elem).__name__}")


def default_convert(data: Any) -> Any:
    """A single sample with its arrays turned into Tensors (for ``batch_size=None``)."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biufc":
        return Tensor(data)
    if isinstance(data, np.generic) and data.dtype.kind in "biufc":
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data
