"""Saving and loading: state dicts and training checkpoints, in safetensors, never pickle.

``save(state_dict, path)`` / ``load(path)`` store a flat ``{name: Tensor}`` dict as a safetensors
file: a JSON header and raw little-endian arrays, nothing that can run code when read.  complex128,
which safetensors has no type for, is stored as float64 pairs (…, 2) — the layout of
``torch.view_as_real`` — and listed in the metadata, so lemmata reads it back as complex128.
Any other plain-data object — a tensor, an optimiser's state dict, nested dicts, lists and tuples
of tensors, arrays, numbers, strings and None, what ``torch.save`` is given in practice — is
stored the same way, its arrays as tensors and the rest as JSON in the metadata, and ``load``
gives it back as it was (tensors that required grad require it again).  Both take a path or an
open binary file.

``save_checkpoint(path, model=, optimizer=, scheduler=, epoch=, step=, config=, **extra)`` puts
every array (parameters, buffers, momentum and moment estimates, anything array-valued in
``extra``) in the tensor section and everything else — optimiser hyper-parameters and the
structure of its per-parameter state, the scheduler's state, epoch, step, the generator state
from ``lemmata.random.get_rng_state()``, the run's config — as JSON in the metadata.
``load_checkpoint(path, model=, optimizer=, scheduler=)`` returns all of it and, given objects,
restores them after checking that the checkpoint fits (missing and unexpected keys, shapes).

Writes are atomic: the bytes go to a temporary file in the target's directory, which is flushed,
``fsync``-ed and renamed over the target with ``os.replace``, and the directory is ``fsync``-ed.
A crash or a full disk at any moment leaves either the old file or the new one, never a mix;
a failed write removes its temporary file.  Loading checks the file's structure first, so a
truncated, empty or foreign file gives an error naming the file and what is wrong.
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import secrets
from collections import OrderedDict
from typing import Any, Mapping

import numpy as np

from . import backend, random as _random
from .tensor import Tensor

__all__ = ["save", "load", "save_checkpoint", "load_checkpoint", "CheckpointError",
           "atomic_write_bytes"]

FORMAT_KEY = "format"
STATE_FORMAT = "lemmata.state_dict"
OBJECT_FORMAT = "lemmata.object"
CHECKPOINT_FORMAT = "lemmata.checkpoint"
CHECKPOINT_VERSION = 1
_COMPLEX_KEY = "lemmata.complex128"
_STATE_KEY = "lemmata.checkpoint"
_OBJECT_KEY = "lemmata.object"


class CheckpointError(ValueError):
    """A file is not a readable safetensors file or checkpoint, or does not fit the model."""


# ----------------------------------------------------------------------------------------------
# atomic writes
# ----------------------------------------------------------------------------------------------
def _write_chunk(fd: int, view: memoryview) -> int:
    """One ``os.write`` (a separate function so tests can simulate a full disk)."""
    return os.write(fd, view)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = _write_chunk(fd, view)
        view = view[written:]


def _temporary_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"^\." + re.escape(name) + r"\.(\d+)\.[0-9a-f]+\.tmp$")


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Delete temporary files that a killed writer of ``name`` left behind (their process is
    gone); those of live processes are left alone."""
    pattern = _temporary_pattern(name)
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # still running: maybe writing right now
        except ProcessLookupError:
            pass
        except (PermissionError, OSError):
            continue
        try:
            os.remove(os.path.join(directory, entry))
        except OSError:
            pass


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` always holds either its old or its new
    contents: temporary file in the same directory, fsync, ``os.replace``, fsync of the
    directory.  On failure the temporary file is removed and an OSError naming ``path`` (with
    the original errno) is raised; the old file is untouched."""
    target = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(target)
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, f"{target}: is a directory, cannot write a file "
                                              f"there")
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"{target}: the directory {directory} does not "
                                              f"exist")
    _remove_stale_temporaries(directory, name)
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise type(error)(error.errno, f"{target}: cannot create a temporary file in {directory} "
                                       f"({error.strerror})") from error
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.remove(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            reason = error.strerror or str(error)
            raise type(error)(error.errno, f"{target}: write failed ({reason}); the previous "
                                           f"file at this path, if any, is unchanged") from error
        raise
    _fsync_directory(directory)


# ----------------------------------------------------------------------------------------------
# safetensors bytes
# ----------------------------------------------------------------------------------------------
def _array(value: Any, key: str, owner: str) -> np.ndarray:
    if isinstance(value, Tensor):
        array = backend.to_host(value._data)  # a GPU tensor is stored from a host copy
    elif isinstance(value, np.ndarray):
        array = value
    else:
        raise TypeError(f"{owner}: value of '{key}' is a {type(value).__name__}; only Tensors and "
                        f"NumPy arrays can be stored (use model.state_dict() for a module)")
    if array.dtype.kind not in "biufc":
        raise TypeError(f"{owner}: '{key}' has dtype {array.dtype}, which cannot be stored")
    return array


def _serialize(arrays: Mapping[str, np.ndarray], metadata: dict[str, str], owner: str) -> bytes:
    from safetensors import SafetensorError
    from safetensors.numpy import save as st_save
    prepared: dict[str, np.ndarray] = {}
    complex_keys = []
    for key, array in arrays.items():
        if array.dtype == np.complex128:
            array = np.ascontiguousarray(array).view(np.float64).reshape(*array.shape, 2)
            complex_keys.append(key)
        prepared[key] = np.require(array, requirements="C")  # keeps 0-d arrays 0-d
    meta = dict(metadata)
    if complex_keys:
        meta[_COMPLEX_KEY] = json.dumps(complex_keys)
    try:
        return st_save(prepared, metadata=meta)
    except (SafetensorError, ValueError, TypeError) as error:
        raise TypeError(f"{owner}: safetensors cannot store these arrays ({error})") from None


def _read_file(path: str | os.PathLike, owner: str) -> bytes:
    if hasattr(path, "read"):                                         # an open binary file
        data = path.read()
        if not isinstance(data, bytes):
            raise TypeError(f"{owner}: the file must be opened in binary mode ('rb')")
        return data
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{owner}: {name}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(errno.EISDIR, f"{owner}: {name}: is a directory, not a "
                                              f"file") from None


def _parse(raw: bytes, name: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Check the safetensors structure (header length, JSON, offsets, byte counts) with precise
    messages, then decode the arrays."""
    size = len(raw)
    if size == 0:
        raise CheckpointError(f"{name}: empty file (0 bytes), not a safetensors file (was a "
                              f"write interrupted before it started?)")
    if size < 8:
        raise CheckpointError(f"{name}: {size} bytes is too short for a safetensors file (the "
                              f"header length alone takes 8 bytes)")
    header_len = int.from_bytes(raw[:8], "little")
    if header_len > size - 8:
        raise CheckpointError(f"{name}: truncated or not a safetensors file: the header claims "
                              f"{header_len} bytes but only {size - 8} follow the 8-byte length")
    try:
        header = json.loads(raw[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{name}: not a safetensors file (header at offset 8 is not JSON: "
                              f"{error})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: not a safetensors file (the header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    data_size = size - 8 - header_len
    spans = {}
    for key, info in header.items():
        try:
            start, stop = (int(v) for v in info["data_offsets"])
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(f"{name}: not a safetensors file (entry {key!r} has no valid "
                                  f"data_offsets)") from None
        spans[key] = (start, stop)
    needed = max((stop for _, stop in spans.values()), default=0)
    if needed > data_size:
        cut = min((k for k, (a, b) in spans.items() if b > data_size), key=lambda k: spans[k][0])
        raise CheckpointError(f"{name}: truncated: expected {8 + header_len + needed} bytes, found "
                              f"{size}; the file ends at offset {size}, inside or before tensor "
                              f"'{cut}' (file offsets {8 + header_len + spans[cut][0]}…"
                              f"{8 + header_len + spans[cut][1]})")
    if needed != data_size:
        raise CheckpointError(f"{name}: corrupt: the header describes {needed} bytes of tensor "
                              f"data but the file holds {data_size} (expected "
                              f"{8 + header_len + needed} bytes in all, found {size})")
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load
    try:
        arrays = st_load(raw)
    except (SafetensorError, ValueError, TypeError) as error:
        raise CheckpointError(f"{name}: corrupt safetensors file ({error})") from None
    if _COMPLEX_KEY in metadata:
        try:
            complex_keys = json.loads(metadata[_COMPLEX_KEY])
        except json.JSONDecodeError:
            raise CheckpointError(f"{name}: corrupt metadata entry {_COMPLEX_KEY}") from None
        for key in complex_keys:
            pairs = arrays.get(key)
            if pairs is None or pairs.dtype != np.float64 or pairs.shape[-1:] != (2,):
                raise CheckpointError(f"{name}: '{key}' is listed as complex128 but is not a "
                                      f"float64 array of pairs")
            arrays[key] = np.ascontiguousarray(pairs).view(np.complex128)[..., 0]
    return arrays, metadata


def _ordered(arrays: dict[str, np.ndarray], keys: list[str] | None) -> "OrderedDict[str, Tensor]":
    order = keys if keys is not None and set(keys) == set(arrays) else sorted(arrays)
    return OrderedDict((k, Tensor(arrays[k])) for k in order)


# ----------------------------------------------------------------------------------------------
# state dicts and other plain data
# ----------------------------------------------------------------------------------------------
def _is_state_dict(obj: Any) -> bool:
    """A flat dict of string names to tensors or arrays: stored as plain safetensors, which any
    safetensors reader can open."""
    return isinstance(obj, Mapping) and all(
        isinstance(k, str) and isinstance(v, (Tensor, np.ndarray)) for k, v in obj.items())


def save(obj: Any, path: str | os.PathLike | Any,
         metadata: Mapping[str, str] | None = None) -> None:
    """Write ``obj`` to ``path`` (a file name, written atomically, or an open binary file) as
    safetensors: a flat ``{name: Tensor or array}`` dict as it is, any other plain-data object
    (see the module docstring) with its structure in the metadata.

    ``metadata`` (str → str) is stored in the file's header.
    """
    if hasattr(obj, "state_dict") and hasattr(obj, "parameters"):
        raise TypeError(f"save: a {type(obj).__name__} is saved by its state: "
                        f"save(model.state_dict(), path) (lemmata writes no pickles)")
    arrays: dict[str, np.ndarray] = {}
    if _is_state_dict(obj):
        for key, value in obj.items():
            arrays[key] = _array(value, key, "save")
        meta = {FORMAT_KEY: STATE_FORMAT, "lemmata.keys": json.dumps(list(arrays))}
    else:
        image = _encode(obj, "object", arrays, "save")
        meta = {FORMAT_KEY: OBJECT_FORMAT, _OBJECT_KEY: json.dumps(image, allow_nan=False)}
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save: metadata must map strings to strings, got {k!r}: {v!r}")
        meta[k] = v
    data = _serialize(arrays, meta, "save")
    if hasattr(path, "write"):
        path.write(data)
    else:
        atomic_write_bytes(path, data)


def load(path: str | os.PathLike | Any, map_location: Any = None,
         weights_only: bool | None = None) -> Any:
    """Read what :func:`save` wrote (a file name or an open binary file), with its tensors on
    the device ``map_location`` (the CPU by default): a state dict as ``{name: Tensor}`` in the
    order it was saved (any safetensors file reads this way), other objects as they were.

    ``weights_only`` is accepted for PyTorch's sake and changes nothing: a lemmata file holds
    only data, never code to run."""
    device = backend.resolve("cpu" if map_location is None else map_location, "load")
    name = getattr(path, "name", "<file>") if hasattr(path, "read") else os.fspath(path)
    arrays, metadata = _parse(_read_file(path, "load"), name)
    if metadata.get(FORMAT_KEY) == OBJECT_FORMAT and _OBJECT_KEY in metadata:
        try:
            image = json.loads(metadata[_OBJECT_KEY])
        except json.JSONDecodeError as error:
            raise CheckpointError(f"{name}: corrupt object metadata ({error})") from None
        return _decode(image, {k: backend.to_device(a, device) for k, a in arrays.items()}, name)
    keys = None
    if "lemmata.keys" in metadata:
        try:
            keys = json.loads(metadata["lemmata.keys"])
        except json.JSONDecodeError:
            keys = None
    return _ordered({key: backend.to_device(array, device) for key, array in arrays.items()},
                    keys)


# ----------------------------------------------------------------------------------------------
# checkpoints: nested Python state ↔ JSON + named arrays
# ----------------------------------------------------------------------------------------------
def _store(array: np.ndarray, path: str, arrays: dict[str, np.ndarray]) -> str:
    """Put ``array`` in ``arrays`` under ``path`` (made unique with #1, #2 … if taken)."""
    name, k = path, 0
    while name in arrays:
        k += 1
        name = f"{path}#{k}"
    arrays[name] = array
    return name


def _encode(value: Any, path: str, arrays: dict[str, np.ndarray],
            owner: str = "save_checkpoint") -> Any:
    """A JSON-able image of ``value``; arrays go to ``arrays``, named after their ``path``."""
    if isinstance(value, Tensor):
        image = {"__tensor__": _store(_array(value, path, owner), path, arrays)}
        return {**image, "requires_grad": True} if value.requires_grad else image
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _store(_array(value, path, owner), path, arrays)}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, complex):
        return {"__complex__": [_encode(value.real, path, arrays, owner),
                                _encode(value.imag, path, arrays, owner)]}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return {"__numpy__": value.dtype.str, "value": _encode(value.item(), path, arrays, owner)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}", arrays, owner)
                              for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}.{i}", arrays, owner) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, f"{path}.{k}", arrays, owner) for k, v in value.items()}
        return {"__items__": [[_encode(k, f"{path}.key{i}", arrays, owner),
                               _encode(v, f"{path}.{k}", arrays, owner)]
                              for i, (k, v) in enumerate(value.items())]}
    raise TypeError(f"{owner}: cannot store '{path}', a {type(value).__name__} (only "
                    f"tensors, arrays, numbers, strings, lists, tuples and dicts)")


def _decode(value: Any, arrays: dict[str, np.ndarray], name: str) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays, name) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value or "__ndarray__" in value:
        key = value.get("__tensor__", value.get("__ndarray__"))
        if key not in arrays:
            raise CheckpointError(f"{name}: the metadata refers to a tensor '{key}' that the file "
                                  f"does not contain")
        if "__ndarray__" in value:
            return arrays[key]
        tensor = Tensor(arrays[key])
        return tensor.requires_grad_() if value.get("requires_grad") else tensor
    if "__float__" in value:
        return float(value["__float__"])
    if "__complex__" in value:
        re_, im = (_decode(v, arrays, name) for v in value["__complex__"])
        return complex(re_, im)
    if "__numpy__" in value:
        return np.dtype(value["__numpy__"]).type(_decode(value["value"], arrays, name))
    if "__tuple__" in value:
        return tuple(_decode(v, arrays, name) for v in value["__tuple__"])
    if "__items__" in value:
        return {_decode(k, arrays, name): _decode(v, arrays, name) for k, v in value["__items__"]}
    return {k: _decode(v, arrays, name) for k, v in value.items()}


def _state_of(obj: Any, what: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj
    state_dict = getattr(obj, "state_dict", None)
    if not callable(state_dict):
        raise TypeError(f"save_checkpoint: {what} must have a state_dict() method or be a dict, "
                        f"got {type(obj).__name__}")
    return state_dict()


def save_checkpoint(path: str | os.PathLike, model: Any = None, optimizer: Any = None,
                    scheduler: Any = None, epoch: int | None = None, step: int | None = None,
                    config: Any = None, **extra: Any) -> None:
    """Write a training checkpoint to ``path`` atomically (see the module docstring).

    ``model``, ``optimizer`` and ``scheduler`` are objects with ``state_dict()`` (or their state
    dicts); the global generator's state is recorded too.  ``extra`` values may hold tensors,
    arrays, numbers, strings, lists, tuples and dicts.
    """
    arrays: dict[str, np.ndarray] = {}
    model_keys = None
    model_state = _state_of(model, "model")
    if model_state is not None:
        model_keys = []
        for key, value in model_state.items():
            arrays[f"model.{key}"] = _array(value, key, "save_checkpoint")
            model_keys.append(key)
    state = {
        "version": CHECKPOINT_VERSION,
        "model": model_keys,
        "optimizer": _encode(_state_of(optimizer, "optimizer"), "optimizer", arrays),
        "scheduler": _encode(_state_of(scheduler, "scheduler"), "scheduler", arrays),
        "epoch": _encode(epoch, "epoch", arrays),
        "step": _encode(step, "step", arrays),
        "rng_state": _encode(_random.get_rng_state(), "rng_state", arrays),
        "config": _encode(config, "config", arrays),
        "extra": _encode(dict(extra), "extra", arrays),
    }
    metadata = {FORMAT_KEY: CHECKPOINT_FORMAT, _STATE_KEY: json.dumps(state, allow_nan=False)}
    atomic_write_bytes(path, _serialize(arrays, metadata, "save_checkpoint"))


def _fit_report(model: Any, saved: Mapping[str, Tensor]) -> list[str]:
    """What keeps ``saved`` from loading into ``model``: missing keys, unexpected keys, shapes."""
    current = model.state_dict()
    problems = []
    missing = [k for k in current if k not in saved]
    unexpected = [k for k in saved if k not in current]
    if missing:
        problems.append(f"missing keys {missing[:6]}{' …' if len(missing) > 6 else ''}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected[:6]}{' …' if len(unexpected) > 6 else ''}")
    shapes = [f"{k}: checkpoint {tuple(saved[k].shape)} vs model {tuple(current[k].shape)}"
              for k in current if k in saved and tuple(saved[k].shape) != tuple(current[k].shape)]
    if shapes:
        problems.append("shape mismatch " + "; ".join(shapes[:4])
                        + (" …" if len(shapes) > 4 else ""))
    return problems


def load_checkpoint(path: str | os.PathLike, model: Any = None, optimizer: Any = None,
                    scheduler: Any = None) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns ``{'model': state dict, 'optimizer', 'scheduler', 'epoch', 'step', 'rng_state',
    'config', **extra}``.  Given ``model``/``optimizer``/``scheduler``, their states are restored
    — only after the model's keys and shapes were checked, so a checkpoint of another model
    raises :class:`CheckpointError` (missing keys, shape mismatch) and changes nothing.  The
    generator state is returned, not applied: ``lemmata.random.set_rng_state(ckpt['rng_state'])``.
    """
    name = os.fspath(path)
    arrays, metadata = _parse(_read_file(name, "load_checkpoint"), name)
    if metadata.get(FORMAT_KEY) != CHECKPOINT_FORMAT or _STATE_KEY not in metadata:
        found = metadata.get(FORMAT_KEY, "no lemmata metadata")
        raise CheckpointError(f"{name}: a safetensors file but not a lemmata checkpoint "
                              f"(format: {found}); use lemmata.io.load for plain state dicts")
    try:
        state = json.loads(metadata[_STATE_KEY])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{name}: corrupt checkpoint metadata ({error})") from None
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        version = state.get("version") if isinstance(state, dict) else None
        raise CheckpointError(f"{name}: unsupported checkpoint version {version!r} (this lemmata "
                              f"reads version {CHECKPOINT_VERSION})")
    model_state = None
    if state.get("model") is not None:
        keys = state["model"]
        absent = [k for k in keys if f"model.{k}" not in arrays]
        if absent:
            raise CheckpointError(f"{name}: the checkpoint lists model tensors it does not "
                                  f"contain: {absent[:6]}")
        model_state = OrderedDict((k, Tensor(arrays[f"model.{k}"])) for k in keys)
    result: dict[str, Any] = {"model": model_state}
    for key in ("optimizer", "scheduler", "epoch", "step", "rng_state", "config"):
        result[key] = _decode(state.get(key), arrays, name)
    extra = _decode(state.get("extra") or {}, arrays, name)
    for key, value in extra.items():
        result.setdefault(key, value)

    if model is not None:
        if model_state is None:
            raise CheckpointError(f"{name}: the checkpoint holds no model state")
        problems = _fit_report(model, model_state)
        if problems:
            raise CheckpointError(f"{name}: the checkpoint does not fit {type(model).__name__}: "
                                  + "; ".join(problems))
    if optimizer is not None:
        if result["optimizer"] is None:
            raise CheckpointError(f"{name}: the checkpoint holds no optimizer state")
        try:
            optimizer.load_state_dict(result["optimizer"])
        except (ValueError, TypeError, KeyError, RuntimeError) as error:
            raise CheckpointError(f"{name}: the optimizer state does not fit "
                                  f"{type(optimizer).__name__}: {error}") from None
    if scheduler is not None:
        if result["scheduler"] is None:
            raise CheckpointError(f"{name}: the checkpoint holds no scheduler state")
        scheduler.load_state_dict(result["scheduler"])
    if model is not None:
        try:
            model.load_state_dict(model_state)
        except RuntimeError as error:
            raise CheckpointError(f"{name}: " + " ".join(str(error).split())) from None
    return result
