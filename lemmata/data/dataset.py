"""Map-style data sets: Dataset, TensorDataset, Subset, ConcatDataset, random_split.

A data set maps an index 0 … len − 1 to a sample (usually a tuple ``(input, target)``).  Besides
PyTorch's ``__getitem__`` and ``__len__``, every lemmata data set has ``get_batch(indices)``: the
samples at an index array, already collated.  The base class builds it item by item with
:func:`default_collate`; the data sets here override it with one fancy-indexing operation on
their arrays, which is what makes :class:`~lemmata.data.DataLoader` fast (no Python loop over the
items of a batch).
"""
from __future__ import annotations

import bisect
import math
import numbers
import operator
from typing import Any, Sequence

import numpy as np

from ..random import generator as global_generator
from ..tensor import Tensor
from .collate import default_collate

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]


def index_array(indices: Any, length: int, owner: str) -> np.ndarray:
    """Indices as an int64 array, negative ones wrapped, each checked against ``length``."""
    array = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
    if array.dtype.kind not in "iu":
        if array.size == 0:
            array = array.astype(np.int64)
        else:
            raise TypeError(f"{owner}: indices must be integers, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=False)
    bad = (array < -length) | (array >= length)
    if bad.any():
        first = int(array.ravel()[np.flatnonzero(bad.ravel())[0]])
        raise IndexError(f"{owner}: index {first} is out of range for a data set of {length} "
                         f"items")
    return np.where(array < 0, array + length, array)


def _index(index: Any, length: int, owner: str) -> int:
    """One index as a non-negative Python int, range-checked."""
    try:
        i = operator.index(index)
    except TypeError:
        raise TypeError(f"{owner}: index must be an integer, got {type(index).__name__}") from None
    if not -length <= i < length:
        raise IndexError(f"{owner}: index {i} is out of range for a data set of {length} items")
    return i + length if i < 0 else i


class Dataset:
    """Base class of map-style data sets: subclasses define ``__getitem__`` and ``__len__``.

    ``dataset_a + dataset_b`` concatenates.  ``get_batch(indices)`` returns the collated batch;
    override it with a vectorised version when the samples live in arrays.
    """

    def __getitem__(self, index: int) -> Any:
        raise TypeError(f"{type(self).__name__} defines no samples: subclasses of Dataset "
                        f"override __getitem__ (and __len__)")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])

    def get_batch(self, indices: Any) -> Any:
        """``default_collate([self[i] for i in indices])``."""
        return default_collate([self[int(i)] for i in np.asarray(indices).ravel()])


def batch_of(dataset: Any, indices: np.ndarray) -> Any:
    """The collated samples of any data set at ``indices`` (its ``get_batch`` if it has one)."""
    get_batch = getattr(dataset, "get_batch", None)
    if callable(get_batch):
        return get_batch(indices)
    return default_collate([dataset[int(i)] for i in indices])


class TensorDataset(Dataset):
    """Samples are rows of tensors sharing their first dimension: ``(x[i], y[i])``.

    NumPy arrays are accepted and wrapped as Tensors (without copying).
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        wrapped = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = Tensor(t)
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, not a "
                                f"Tensor or array")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-dimensional; each tensor needs a "
                                 f"first dimension indexing the samples")
            wrapped.append(t)
        sizes = [t.shape[0] for t in wrapped]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dimensions "
                             f"are {sizes}")
        self.tensors: tuple[Tensor, ...] = tuple(wrapped)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        if isinstance(index, (slice, list, np.ndarray, Tensor)):
            rows = (np.arange(len(self))[index] if isinstance(index, slice)
                    else index_array(index, len(self), "TensorDataset"))
            return tuple(Tensor(t._data[rows]) for t in self.tensors)
        i = _index(index, len(self), "TensorDataset")
        return tuple(Tensor(t._data[i]) for t in self.tensors)

    def get_batch(self, indices: Any) -> list[Tensor]:
        """``[t[indices] for t in tensors]``: one fancy-indexing copy per tensor."""
        rows = index_array(indices, len(self), "TensorDataset")
        return [Tensor(t._data[rows]) for t in self.tensors]


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        self._indices = index_array(indices, len(dataset), "Subset")
        if self._indices.ndim != 1:
            raise ValueError(f"Subset: indices must be one-dimensional, got shape "
                             f"{self._indices.shape}")

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (list, np.ndarray)):
            return [self[int(i)] for i in index]
        return self.dataset[int(self._indices[_index(index, len(self), "Subset")])]

    def get_batch(self, indices: Any) -> Any:
        return batch_of(self.dataset, self._indices[index_array(indices, len(self), "Subset")])


class _NotMergeable(Exception):
    pass


def _merge(parts: list[Any], order: np.ndarray) -> Any:
    """Concatenate collated batches along axis 0, then reorder the rows by ``order``."""
    first = parts[0]
    if isinstance(first, Tensor):
        return Tensor(np.concatenate([p._data for p in parts])[order])
    if isinstance(first, dict):
        return {k: _merge([p[k] for p in parts], order) for k in first}
    if isinstance(first, (list, tuple)) and all(type(p) is type(first) and len(p) == len(first)
                                                for p in parts):
        merged = [_merge([p[i] for p in parts], order) for i in range(len(first))]
        return type(first)(*merged) if hasattr(first, "_fields") else type(first)(merged)
    raise _NotMergeable


class ConcatDataset(Dataset):
    """Several data sets one after another: index i of the whole is index i − offset of one part."""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        sizes = []
        for i, d in enumerate(self.datasets):
            try:
                sizes.append(len(d))
            except TypeError:
                raise TypeError(f"ConcatDataset: data set {i} ({type(d).__name__}) has no "
                                f"len()") from None
        self.cumulative_sizes = list(np.cumsum(sizes).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: Any) -> Any:
        i = _index(index, len(self), "ConcatDataset")
        which = bisect.bisect_right(self.cumulative_sizes, i)
        offset = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][i - offset]

    def get_batch(self, indices: Any) -> Any:
        rows = index_array(indices, len(self), "ConcatDataset").ravel()
        which = np.searchsorted(np.asarray(self.cumulative_sizes), rows, side="right")
        starts = np.concatenate([[0], self.cumulative_sizes[:-1]]).astype(np.int64)
        parts, positions = [], []
        for d in np.unique(which):  # a loop over the member data sets, not over items
            mask = which == d
            parts.append(batch_of(self.datasets[d], rows[mask] - starts[d]))
            positions.append(np.flatnonzero(mask))
        if len(parts) == 1:
            return parts[0]
        order = np.argsort(np.concatenate(positions), kind="stable")
        try:
            return _merge(parts, order)
        except _NotMergeable:
            return default_collate([self[int(i)] for i in rows])


def random_split(dataset: Any, lengths: Sequence[float],
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Split into non-overlapping Subsets of the given lengths (or fractions summing to 1).

    Fractions are turned into lengths as PyTorch does: floor(n·f) each, then the remainder
    handed out one by one from the first split.  The permutation is drawn from ``generator``
    (default: the global one).
    """
    lengths = list(lengths)
    n = len(dataset)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    for x in lengths:
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"random_split: lengths must be numbers, got {lengths!r}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1 \
            and not all(isinstance(x, numbers.Integral) for x in lengths):
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1 "
                                 f"({frac})")
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        if not all(isinstance(x, numbers.Integral) and x >= 0 for x in lengths):
            raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                             f"summing to 1, got {lengths!r}")
        sizes = [int(x) for x in lengths]
        if sum(sizes) != n:
            raise ValueError(f"random_split: sum of input lengths {sizes} is {sum(sizes)}, which "
                             f"does not equal the length of the input dataset ({n})")
    rng = generator if generator is not None else global_generator()
    perm = rng.permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
