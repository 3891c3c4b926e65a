"""Readers for the file formats of the classic image data sets, written to refuse bad input.

* IDX (MNIST, Fashion-MNIST): a 4-byte magic number ``00 00 TT NN`` (TT the element type, NN the
  number of dimensions), NN big-endian uint32 sizes, then the elements in C order, big-endian.
  Files may be gzip-compressed (recognised by their own magic bytes ``1f 8b``, whatever the name).
* CIFAR-10 "python version" batches: a pickled dict ``{'data': uint8 array (N, 3072),
  'labels': [N ints], ...}``.  A pickle can name any Python callable and have it called while
  loading, so the batches are read with :class:`RestrictedUnpickler`, whose ``find_class`` hands
  out only the handful of NumPy reconstructors the batches need and refuses everything else;
  no other code in lemmata unpickles anything.

Every failure raises :class:`DataFormatError` (a ``ValueError``) naming the file and what is
wrong: the magic number found, the expected and actual byte counts, the offset of a bad value.
"""
from __future__ import annotations

import gzip
import io
import os
import pickle
import zlib
from typing import Any

import numpy as np

__all__ = ["DataFormatError", "UnsafePickleError", "RestrictedUnpickler", "read_idx",
           "read_cifar_batch", "restricted_loads"]


class DataFormatError(ValueError):
    """A data file is missing, truncated, or not in the format its reader expects."""


class UnsafePickleError(DataFormatError, pickle.UnpicklingError):
    """A pickle asked for a Python object that the restricted unpickler does not hand out."""


# ----------------------------------------------------------------------------------------------
# raw bytes, transparently gunzipped
# ----------------------------------------------------------------------------------------------
def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's contents, decompressed if it is gzip (detected by the magic bytes 1f 8b)."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise DataFormatError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DataFormatError(f"{name}: is a directory, not a data file") from None
    except OSError as error:
        raise DataFormatError(f"{name}: cannot be read ({error.strerror or error})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except EOFError:
            raise DataFormatError(f"{name}: truncated gzip stream ({len(raw)} compressed bytes "
                                  f"end before the end-of-stream marker)") from None
        except (gzip.BadGzipFile, zlib.error, OSError) as error:
            raise DataFormatError(f"{name}: corrupt gzip data ({error})") from None
    return raw


# ----------------------------------------------------------------------------------------------
# IDX
# ----------------------------------------------------------------------------------------------
_IDX_TYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None,
              magic: int | None = None) -> np.ndarray:
    """Decode IDX bytes into an array in native byte order.

    The magic number is checked (two zero bytes, a known type code, and, if given, the expected
    number of dimensions ``ndim`` or the exact ``magic``, e.g. 0x803 for MNIST images) and the
    payload must hold exactly the product of the sizes times the element size; otherwise
    :class:`DataFormatError` says which and by how many bytes.
    """
    if len(data) < 4:
        raise DataFormatError(f"{name}: {len(data)} bytes is too short for an IDX file (the magic "
                              f"number alone takes 4 bytes)")
    found = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataFormatError(f"{name}: bad magic number 0x{found:08x}: not an IDX file (expected "
                              f"00 00 TT NN with type code TT in "
                              f"{{{', '.join(f'0x{t:02x}' for t in _IDX_TYPES)}}})")
    if magic is not None and found != magic:
        raise DataFormatError(f"{name}: bad magic number 0x{found:08x}, expected 0x{magic:08x}")
    dims = data[3]
    if ndim is not None and dims != ndim:
        raise DataFormatError(f"{name}: bad magic number 0x{found:08x}: the file has {dims} "
                              f"dimension(s), expected {ndim} (magic 0x{0x800 + ndim:08x})")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataFormatError(f"{name}: truncated header: {dims} dimension sizes need {header} "
                              f"bytes, the file has {len(data)}")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=dims, offset=4))
    dtype = _IDX_TYPES[data[2]]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes"
        raise DataFormatError(f"{name}: {what}: shape {shape} of {dtype.name} needs {expected} "
                              f"bytes of data after the {header}-byte header, found {actual}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike, ndim: int | None = None,
             magic: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a NumPy array; see :func:`parse_idx`."""
    name = os.fspath(path)
    return parse_idx(read_bytes(name), name, ndim, magic)


# ----------------------------------------------------------------------------------------------
# restricted pickle
# ----------------------------------------------------------------------------------------------
def _allowed_globals() -> dict[tuple[str, str], Any]:
    """The only callables a CIFAR-10 batch pickle may name (old and new NumPy module paths,
    pickle protocols 2 to 5); each rebuilds an array or a bytes object from plain data."""
    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    numeric = np._core.numeric if hasattr(np, "_core") else np.core.numeric
    import _codecs
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _codecs.encode,  # how Python 3 pickles bytes at protocol 2
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, strings, bytes, numbers and NumPy arrays.

    ``find_class`` is the single door through which a pickle reaches Python callables; here it
    opens only for NumPy's array reconstructors and ``_codecs.encode`` and raises
    :class:`UnsafePickleError` for anything else (``os.system``, ``builtins.eval``,
    ``subprocess.Popen`` ...), before the callable could be called.  Persistent ids are refused.
    """

    def __init__(self, file: Any, *, name: str = "<pickle>", **kwargs: Any) -> None:
        kwargs.setdefault("encoding", "bytes")  # the CIFAR batches were written by Python 2
        super().__init__(file, **kwargs)
        self._name = name
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._name}: refused to load the global '{module}.{name}': a data pickle may "
                f"only contain NumPy arrays, lists, dicts, strings and numbers (the file may be "
                f"malicious; it was not executed)") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._name}: refused a persistent id {pid!r} in a data pickle")


def restricted_loads(data: bytes, name: str = "<pickle>") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; any failure is a DataFormatError."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), name=name).load()
    except UnsafePickleError:
        raise
    except EOFError:
        raise DataFormatError(f"{name}: truncated pickle: the data ends before the pickle's STOP "
                              f"opcode ({len(data)} bytes read)") from None
    except (pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            MemoryError, UnicodeDecodeError, OverflowError) as error:
        raise DataFormatError(f"{name}: corrupt pickle ({type(error).__name__}: {error})") from None


# ----------------------------------------------------------------------------------------------
# CIFAR-10 batches
# ----------------------------------------------------------------------------------------------
def _text(key: Any) -> Any:
    return key.decode("latin1") if isinstance(key, bytes) else key


def read_cifar_batch(path: str | os.PathLike, num_classes: int = 10,
                     label_key: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch file → (images (N, 32, 32, 3) uint8 in HWC order, labels (N,) int64).

    The file is unpickled with :class:`RestrictedUnpickler` and then checked: a dict with
    ``data`` (uint8, N × 3072) and ``labels`` (N integers in 0 … num_classes − 1).
    """
    name = os.fspath(path)
    batch = restricted_loads(read_bytes(name), name)
    if not isinstance(batch, dict):
        raise DataFormatError(f"{name}: a CIFAR batch is a pickled dict, found a "
                              f"{type(batch).__name__}")
    batch = {_text(k): v for k, v in batch.items()}
    for key in ("data", label_key):
        if key not in batch:
            raise DataFormatError(f"{name}: the CIFAR batch has no '{key}' entry (keys: "
                                  f"{sorted(map(str, batch))})")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        what = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                else type(data).__name__)
        raise DataFormatError(f"{name}: 'data' must be a uint8 array of shape (N, 3072), found a "
                              f"{what}")
    try:
        labels = np.asarray(batch[label_key])
    except (TypeError, ValueError) as error:
        raise DataFormatError(f"{name}: '{label_key}' is not a list of integers "
                              f"({error})") from None
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataFormatError(f"{name}: '{label_key}' must be a flat list of integers, found "
                              f"{labels.dtype} values of shape {labels.shape}")
    if len(labels) != len(data):
        raise DataFormatError(f"{name}: {len(data)} images but {len(labels)} labels")
    _check_labels(labels, num_classes, name)
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _check_labels(labels: np.ndarray, num_classes: int, name: str) -> None:
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise DataFormatError(f"{name}: label {int(labels[bad[0]])} at index {int(bad[0])} is "
                              f"outside 0 … {num_classes - 1} ({bad.size} bad label(s))")
