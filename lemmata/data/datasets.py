"""The classic image data sets, read from local files (lemmata never downloads anything).

* ``Digits``: scikit-learn's bundled 8×8 handwritten digits (1,797 images, shipped with
  scikit-learn, so no network), as (1, 8, 8) float32 Tensors in [0, 1] and int64 targets, with a
  fixed stratified train/test split: of the images of each digit, in file order, every fifth is
  a test image (1,442 train, 355 test, 34 to 36 of each digit).
* ``MNIST``, ``FashionMNIST``: the four IDX files (raw or .gz) under ``root/MNIST/raw``
  (torchvision's layout), ``root/MNIST`` or ``root`` itself (``FashionMNIST`` likewise).
* ``CIFAR10``: the "python version" batches ``data_batch_1`` … ``data_batch_5`` and ``test_batch``
  under ``root/cifar-10-batches-py`` or ``root``, read with a restricted unpickler.

As in torchvision, a sample is ``(image, target)`` with an int target; the image is what the data
set stores — an (H, W) or (H, W, 3) uint8 array for MNIST-like data and CIFAR-10 (apply
``transforms.ToTensor()``), a float32 Tensor for Digits — passed through ``transform``.
``get_batch`` builds whole batches by fancy indexing, with a transform's batched form when it
has one.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import os
from typing import Any, Callable, Sequence

import numpy as np

from ..tensor import Tensor
from .collate import default_collate
from .dataset import Dataset, _index, index_array
from .formats import DataFormatError, _check_labels, read_cifar_batch, read_idx

__all__ = ["ImageDataset", "Digits", "MNIST", "FashionMNIST", "CIFAR10"]


class ImageDataset(Dataset):
    """Images and integer targets held in two arrays, with optional transforms.

    ``images`` is (N, …) — HW(C) uint8 arrays, or CHW float arrays when ``tensor_images`` — and
    ``targets`` (N,) integers.  Subclasses fill them from files.
    """

    classes: list[str] = []

    def __init__(self, images: np.ndarray, targets: np.ndarray, transform: Callable | None = None,
                 target_transform: Callable | None = None, tensor_images: bool = False) -> None:
        if len(images) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(images)} images but {len(targets)} "
                             f"targets")
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{type(self).__name__}: {name} must be callable, got "
                                f"{type(fn).__name__}")
        self._images = images
        self._targets = np.asarray(targets, dtype=np.int64)
        self.transform = transform
        self.target_transform = target_transform
        self._tensor_images = tensor_images

    def __len__(self) -> int:
        return len(self._targets)

    def _image(self, array: np.ndarray) -> Any:
        return Tensor(array) if self._tensor_images else array

    def __getitem__(self, index: Any) -> tuple[Any, Any]:
        i = _index(index, len(self), type(self).__name__)
        image = self._image(self._images[i].copy())
        target: Any = int(self._targets[i])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def get_batch(self, indices: Any) -> list[Any]:
        """[images, targets] for the rows ``indices``: the stored arrays indexed at once, the
        transform applied in its batched form when it has one (else item by item)."""
        rows = index_array(indices, len(self), type(self).__name__)
        images = self._images[rows]
        if self.transform is None:
            batch = Tensor(images)
        elif getattr(self.transform, "supports_batch", False):
            batch = self.transform.batch(self._image(images))
            if isinstance(batch, np.ndarray):
                batch = Tensor(batch)
        else:
            batch = default_collate([self.transform(self._image(im)) for im in images])
        if self.target_transform is None:
            targets = Tensor(self._targets[rows])
        else:
            targets = default_collate([self.target_transform(int(t)) for t in self._targets[rows]])
        return [batch, targets]

    @property
    def targets(self) -> Tensor:
        return Tensor(self._targets)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self) -> str:
        split = getattr(self, "train", None)
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if split is not None:
            lines.append(f"    Split: {'Train' if split else 'Test'}")
        if getattr(self, "root", None) is not None:
            lines.append(f"    Root location: {self.root}")
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


def _no_download(name: str, download: bool) -> None:
    """Downloading is not something lemmata does; ``download=True`` only matters when files are
    missing, and then the error message says where to put them."""
    if not isinstance(download, bool):
        raise TypeError(f"{name}: download must be a bool, got {download!r}")


# ----------------------------------------------------------------------------------------------
# Digits
# ----------------------------------------------------------------------------------------------
def _bundled_digits_file() -> str | None:
    """The path of scikit-learn's ``datasets/data/digits.csv.gz``, found without importing
    scikit-learn (whose import starts BLAS and OpenMP thread pools and costs about half a
    second), or None if this installation keeps it elsewhere."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = os.path.join(folder, "datasets", "data", "digits.csv.gz")
        if os.path.isfile(path):
            return path
    return None


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 1, 8, 8) float32 in [0, 1], targets (1797,) int64), read-only: the data
    of ``sklearn.datasets.load_digits``, read from its bundled CSV file (64 pixel values 0 … 16
    and the digit on each line) or, failing that, through ``load_digits`` itself."""
    path = _bundled_digits_file()
    if path is not None:
        with gzip.open(path, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.float64)
        pixels, labels = table[:, :-1], table[:, -1]
    else:
        from sklearn.datasets import load_digits
        bunch = load_digits()
        pixels, labels = bunch.data, bunch.target
    if pixels.shape != (1797, 64):
        raise DataFormatError(f"Digits: scikit-learn's digits data have shape {pixels.shape}, "
                              f"expected (1797, 64)")
    images = (pixels.astype(np.float32) / np.float32(16)).reshape(-1, 1, 8, 8)
    images.setflags(write=False)
    targets = labels.astype(np.int64)
    targets.setflags(write=False)
    return images, targets


def _digits_test_mask(targets: np.ndarray) -> np.ndarray:
    """True for every fifth image of each class (rank within the class ≡ 4 mod 5)."""
    order = np.argsort(targets, kind="stable")
    ordered = targets[order]
    rank = np.empty(len(targets), dtype=np.int64)
    rank[order] = np.arange(len(targets)) - np.searchsorted(ordered, ordered, side="left")
    return rank % 5 == 4


class Digits(ImageDataset):
    """scikit-learn's 8×8 digits: images (1, 8, 8) float32 in [0, 1] (pixel/16), int64 targets.

    The split is fixed and stratified: among the images of each digit, in file order, those of
    rank ≡ 4 (mod 5) form the test set (355 images), the rest the training set (1,442).
    ``root`` and ``download`` are accepted for the torchvision signature and not needed: the
    data ship with scikit-learn.
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        _no_download("Digits", download)
        images, targets = _digits_arrays()
        test = _digits_test_mask(targets)
        keep = ~test if train else test
        self.root = None if root is None else os.fspath(root)
        self.train = bool(train)
        super().__init__(images[keep], targets[keep], transform, target_transform,
                         tensor_images=True)

    @property
    def data(self) -> Tensor:
        return Tensor(self._images)


# ----------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST
# ----------------------------------------------------------------------------------------------
def _find(root: str, folders: Sequence[str], names: Sequence[str], owner: str,
          download: bool) -> str:
    """The first existing ``folder/name`` (with or without .gz), or a FileNotFoundError listing
    where it was looked for."""
    for folder in folders:
        for name in names:
            for candidate in (name, name + ".gz"):
                path = os.path.join(folder, candidate)
                if os.path.isfile(path):
                    return path
    hint = (" (download=True: lemmata does not download; fetch the files yourself and put them "
            "there)" if download else "")
    raise FileNotFoundError(f"{owner}: cannot find {names[0]}[.gz] in "
                            f"{', '.join(dict.fromkeys(folders))}{hint}")


class MNIST(ImageDataset):
    """MNIST from its IDX files: images (28, 28) uint8 arrays, int targets 0 … 9.

    ``root`` holds ``MNIST/raw/`` (torchvision's layout), ``MNIST/``, or the files themselves:
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each raw or gzip-compressed.  ``data`` is a uint8 Tensor
    (N, 28, 28) and ``targets`` an int64 Tensor, as in torchvision.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        owner = type(self).__name__
        _no_download(owner, download)
        self.root = os.fspath(root)
        self.train = bool(train)
        folders = [os.path.join(self.root, owner, "raw"), os.path.join(self.root, owner),
                   self.root]
        prefix = "train" if train else "t10k"
        images_path = _find(self.root, folders, [f"{prefix}-images-idx3-ubyte"], owner, download)
        labels_path = _find(self.root, folders, [f"{prefix}-labels-idx1-ubyte"], owner, download)
        images = read_idx(images_path, magic=0x00000803)
        labels = read_idx(labels_path, magic=0x00000801)
        if len(images) != len(labels):
            raise DataFormatError(f"{images_path}: {len(images)} images but {labels_path} has "
                                  f"{len(labels)} labels")
        _check_labels(labels, len(self.classes), labels_path)
        self.images_file, self.labels_file = images_path, labels_path
        super().__init__(images, labels, transform, target_transform)

    @property
    def data(self) -> Tensor:
        return Tensor(self._images)

    @property
    def raw_folder(self) -> str:
        """torchvision's folder for the files: ``root/MNIST/raw``."""
        return os.path.join(self.root, type(self).__name__, "raw")


class FashionMNIST(MNIST):
    """Fashion-MNIST: MNIST's file format and names, under ``root/FashionMNIST/raw`` (or
    ``root/FashionMNIST``, or ``root``)."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


# ----------------------------------------------------------------------------------------------
# CIFAR-10
# ----------------------------------------------------------------------------------------------
class CIFAR10(ImageDataset):
    """CIFAR-10 from the python-version batches: images (32, 32, 3) uint8 arrays (HWC, as
    torchvision's ``data``), int targets 0 … 9.

    The pickled batches are read with :class:`~lemmata.data.formats.RestrictedUnpickler`: a
    file that asks for anything but NumPy arrays and plain data is refused, never executed.
    """

    base_folder = "cifar-10-batches-py"
    train_list = [f"data_batch_{i}" for i in range(1, 6)]
    test_list = ["test_batch"]
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        owner = type(self).__name__
        _no_download(owner, download)
        self.root = os.fspath(root)
        self.train = bool(train)
        folders = [os.path.join(self.root, self.base_folder), self.root]
        images, labels = [], []
        for name in (self.train_list if train else self.test_list):
            path = _find(self.root, folders, [name], owner, download)
            x, y = read_cifar_batch(path, num_classes=len(self.classes))
            images.append(x)
            labels.append(y)
        super().__init__(np.concatenate(images), np.concatenate(labels), transform,
                         target_transform)

    @property
    def data(self) -> np.ndarray:
        return self._images

    @property
    def targets(self) -> list[int]:  # type: ignore[override]
        return self._targets.tolist()
