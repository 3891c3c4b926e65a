"""Data: data sets, the DataLoader, transforms and the readers of the classic file formats.

``lemmata.data`` is also ``lemmata.utils.data``, so PyTorch code written as
``from torch.utils.data import DataLoader, TensorDataset`` runs with ``lemmata`` in place of
``torch``.  Batches are built by fancy indexing the stored arrays (``Dataset.get_batch``), not by
a Python loop over items; shuffling draws from the global generator, so ``lemmata.manual_seed``
fixes the order; ``DataLoader.state_dict()`` lets a run resume in the middle of an epoch.
"""
from . import transforms
from .collate import default_collate, default_convert
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .datasets import CIFAR10, MNIST, Digits, FashionMNIST, ImageDataset
from .formats import DataFormatError, RestrictedUnpickler, UnsafePickleError, read_idx
from .loader import (
    BatchSampler, DataLoader, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
)

__all__ = [
    "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
    "default_collate", "default_convert", "ImageDataset", "Digits", "MNIST", "FashionMNIST",
    "CIFAR10", "transforms", "DataFormatError", "UnsafePickleError", "RestrictedUnpickler",
    "read_idx",
]
