"""Small data files in the real formats, written independently of lemmata's readers.

IDX: magic ``00 00 08 NN`` (unsigned bytes, NN dimensions), big-endian uint32 sizes, the bytes.
CIFAR-10: a pickled dict with bytes keys, as the python-version batches hold.
"""
from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array).astype(dtype[type_code]).tobytes()


def write(path: str, data: bytes, compress: bool = False) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if compress:
        data = gzip.compress(data)
        path += ".gz"
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def mnist_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n).astype(np.uint8))


def write_mnist(folder: str, n_train: int = 12, n_test: int = 7, compress: bool = False) -> dict:
    """The four MNIST files in ``folder``; returns the arrays written."""
    arrays = {}
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images, labels = mnist_arrays(n, seed)
        write(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), idx_bytes(images), compress)
        write(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), idx_bytes(labels), compress)
        arrays[prefix] = (images, labels)
    return arrays


def cifar_batch(n: int, seed: int, protocol: int = 2, str_keys: bool = False) -> tuple[bytes, dict]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    key = (lambda k: k) if str_keys else (lambda k: k.encode())
    batch = {key("batch_label"): b"training batch", key("labels"): labels, key("data"): data,
             key("filenames"): [f"img_{i}.png".encode() for i in range(n)]}
    return pickle.dumps(batch, protocol=protocol), {"data": data, "labels": labels}


def write_cifar(folder: str, n: int = 4) -> dict:
    """data_batch_1 … 5 and test_batch in ``folder``; returns the arrays written."""
    written = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, name in enumerate(names):
        raw, arrays = cifar_batch(n, seed, protocol=2 if seed % 2 == 0 else 4)
        write(os.path.join(folder, name), raw)
        written[name] = arrays
    return written
