"""DataLoader and samplers, with PyTorch's arguments, vectorised batching and resumable epochs.

An epoch is planned up front: the sampler gives the whole index order as one array (a random
permutation drawn from the global generator when ``shuffle=True``), which is cut into batches.
Each batch is fetched with the data set's ``get_batch(indices)`` (one fancy-indexing operation
for the data sets of :mod:`lemmata.data`) when no ``collate_fn`` is given, or by calling
``collate_fn([dataset[i] for i in batch])`` as PyTorch does.

Resuming.  ``loader.state_dict()`` records the current epoch's order and how many batches were
handed out; after ``loader.load_state_dict(state)`` the next ``iter(loader)`` continues that epoch
exactly where it stopped, without drawing a new order (the interface of torchdata's
StatefulDataLoader).  Together with the generator state this makes a resumed training run equal
to an uninterrupted one.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..random import generator as global_generator
from ..tensor import Tensor
from .collate import default_convert
from .dataset import batch_of

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "BatchSampler", "DataLoader"]


# ----------------------------------------------------------------------------------------------
# samplers
# ----------------------------------------------------------------------------------------------
class Sampler:
    """An iterable of data-set indices for one epoch.

    Subclasses define ``__iter__`` (and usually ``__len__``); ``indices()`` gives the epoch's
    order as an int64 array, and the samplers here compute it without a Python loop.
    """

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def indices(self) -> np.ndarray:
        """One epoch's indices as an int64 array (draws a new random order where random)."""
        if type(self).__iter__ is Sampler.__iter__:
            raise TypeError(f"{type(self).__name__} defines no order: subclasses of Sampler "
                            f"override __iter__ or indices()")
        return np.fromiter((int(i) for i in iter(self)), dtype=np.int64)


class SequentialSampler(Sampler):
    """0, 1, …, len(data_source) − 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __len__(self) -> int:
        return len(self.data_source)

    def indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)


def _generator(generator: Any, owner: str) -> np.random.Generator:
    if generator is None:
        return global_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{owner}: generator must be a numpy.random.Generator (or None for the global "
                    f"one), got {type(generator).__name__}")


class RandomSampler(Sampler):
    """A random permutation each epoch (or ``num_samples`` draws with replacement)."""

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None,
                 generator: np.random.Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool) or
                                        not isinstance(num_samples, numbers.Integral) or
                                        num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={num_samples!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __len__(self) -> int:
        return self.num_samples

    def indices(self) -> np.ndarray:
        n = len(self.data_source)
        rng = _generator(self.generator, "RandomSampler")
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        if n == 0:
            return np.zeros(0, np.int64)
        reps = [rng.permutation(n) for _ in range(self.num_samples // n)]
        if self.num_samples % n:
            reps.append(rng.permutation(n)[: self.num_samples % n])
        return np.concatenate(reps).astype(np.int64)


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch."""

    def __init__(self, indices: Any, generator: np.random.Generator | None = None) -> None:
        self._indices = np.asarray(indices, dtype=np.int64).ravel()
        self.generator = generator

    def __len__(self) -> int:
        return len(self._indices)

    def indices(self) -> np.ndarray:
        return self._indices[_generator(self.generator, "SubsetRandomSampler")
                             .permutation(len(self._indices))]


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last may be short
    unless ``drop_last``)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but "
                             f"got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = _sampler_indices(self.sampler)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch.tolist()


def _sampler_indices(sampler: Any) -> np.ndarray:
    indices = getattr(sampler, "indices", None)
    if callable(indices):
        return np.asarray(indices(), dtype=np.int64)
    return np.fromiter((int(i) for i in iter(sampler)), dtype=np.int64)


# ----------------------------------------------------------------------------------------------
# the loader
# ----------------------------------------------------------------------------------------------
class _EpochIterator:
    """Hands out the batches of one planned epoch: ``indices[bounds[k]:bounds[k+1]]``."""

    def __init__(self, loader: "DataLoader", indices: np.ndarray, bounds: np.ndarray,
                 position: int) -> None:
        self.loader, self.indices, self.bounds, self.position = loader, indices, bounds, position
        self.exhausted = False

    def __iter__(self) -> "_EpochIterator":
        return self

    def __len__(self) -> int:
        return len(self.bounds) - 1 - self.position

    def __next__(self) -> Any:
        if self.position >= len(self.bounds) - 1:
            self.exhausted = True
            raise StopIteration
        batch = self.indices[self.bounds[self.position]:self.bounds[self.position + 1]]
        self.position += 1
        return self.loader._fetch(batch)


class DataLoader:
    """Batches of a data set, optionally shuffled: ``for x, y in DataLoader(ds, 64, shuffle=True)``.

    Arguments are PyTorch's.  ``shuffle=True`` draws a new permutation from the global generator
    (or ``generator``, a ``numpy.random.Generator``) at the start of each epoch; ``drop_last``
    drops a final short batch; ``batch_size=None`` yields single samples.  The worker options
    (``num_workers``, ``pin_memory``, ``timeout``, ``worker_init_fn``, ``prefetch_factor``,
    ``persistent_workers``) are accepted for compatibility and change nothing: batches are built
    in the calling process, vectorised, which for in-memory data beats worker processes.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Any = None,
                 generator: np.random.Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False) -> None:
        try:
            len(dataset)
        except TypeError:
            raise TypeError(f"DataLoader: the data set ({type(dataset).__name__}) must define "
                            f"__len__ (only map-style data sets are supported)") from None
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the data set ({type(dataset).__name__}) must define "
                            f"__getitem__")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be non-negative; got "
                             f"{num_workers!r}")
        if batch_size is not None and (isinstance(batch_size, bool) or
                                       not isinstance(batch_size, numbers.Integral) or
                                       batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value or None, "
                             f"but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"DataLoader: drop_last should be a boolean, got {drop_last!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got "
                            f"{type(collate_fn).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.num_workers = int(num_workers)
        self.pin_memory = pin_memory
        self.generator = generator
        self._iterator: _EpochIterator | None = None
        self._pending: tuple[np.ndarray, np.ndarray, int] | None = None

    # ------------------------------------------------------------------ epochs
    def _plan(self) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's index order and batch boundaries (a new random order if shuffling)."""
        if self.batch_sampler is not None:
            batches = [np.asarray(b, dtype=np.int64).ravel() for b in self.batch_sampler]
            indices = np.concatenate(batches) if batches else np.zeros(0, np.int64)
            bounds = np.cumsum([0] + [len(b) for b in batches]).astype(np.int64)
            return indices, bounds
        indices = _sampler_indices(self.sampler)
        n = len(indices)
        size = 1 if self.batch_size is None else self.batch_size
        full = n // size
        stops = np.arange(1, full + 1, dtype=np.int64) * size
        if not self.drop_last and n % size:
            stops = np.append(stops, n)
        return indices, np.concatenate([[0], stops]).astype(np.int64)

    def __iter__(self) -> _EpochIterator:
        if self._pending is not None:
            indices, bounds, position = self._pending
            self._pending = None
        else:
            (indices, bounds), position = self._plan(), 0
        self._iterator = _EpochIterator(self, indices, bounds, position)
        return self._iterator

    def __len__(self) -> int:
        """Batches per epoch."""
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _fetch(self, batch: np.ndarray) -> Any:
        if self.batch_size is None and self.batch_sampler is None:
            sample = self.dataset[int(batch[0])]
            return default_convert(sample) if self.collate_fn is None else self.collate_fn(sample)
        if self.collate_fn is None:
            return batch_of(self.dataset, batch)
        return self.collate_fn([self.dataset[int(i)] for i in batch])

    # ------------------------------------------------------------------ resuming
    def state_dict(self) -> dict[str, Any]:
        """Where the current epoch stands: ``{'indices', 'bounds', 'position'}``.

        ``indices`` is the epoch's order and ``bounds`` the batch boundaries (int64 arrays), or
        both None when no epoch is in progress; ``position`` counts the batches handed out.
        """
        if self._pending is not None:
            indices, bounds, position = self._pending
            return {"indices": indices.copy(), "bounds": bounds.copy(), "position": position}
        it = self._iterator
        if it is None or it.exhausted:
            return {"indices": None, "bounds": None, "position": 0}
        return {"indices": it.indices.copy(), "bounds": it.bounds.copy(),
                "position": int(it.position)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next ``iter(self)`` continue the epoch recorded by :meth:`state_dict`."""
        if not isinstance(state, dict) or not {"indices", "bounds", "position"} <= set(state):
            raise ValueError("DataLoader.load_state_dict: expected a dict with keys 'indices', "
                             "'bounds' and 'position'")
        if state["indices"] is None:
            self._pending = None
            self._iterator = None
            return
        indices = np.asarray(state["indices"]._data if isinstance(state["indices"], Tensor)
                             else state["indices"])
        bounds = np.asarray(state["bounds"]._data if isinstance(state["bounds"], Tensor)
                            else state["bounds"])
        position = state["position"]
        n = len(self.dataset)
        if indices.ndim != 1 or indices.dtype.kind not in "iu" or \
                (indices.size and (indices.min() < 0 or indices.max() >= n)):
            raise ValueError(f"DataLoader.load_state_dict: the saved order does not index this "
                             f"data set of {n} items")
        if bounds.ndim != 1 or bounds.size < 1 or bounds[0] != 0 or bounds[-1] != len(indices) \
                or np.any(np.diff(bounds) < 0):
            raise ValueError(f"DataLoader.load_state_dict: batch boundaries {bounds.tolist()[:8]}… "
                             f"do not partition {len(indices)} indices")
        if isinstance(position, bool) or not isinstance(position, numbers.Integral) \
                or not 0 <= position <= len(bounds) - 1:
            raise ValueError(f"DataLoader.load_state_dict: position {position!r} is outside "
                             f"0 … {len(bounds) - 1}")
        self._pending = (indices.astype(np.int64), bounds.astype(np.int64), int(position))
        self._iterator = None
