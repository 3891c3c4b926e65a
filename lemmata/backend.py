"""Devices: where a tensor's array lives (host memory or a CUDA GPU) and the module computing on it.

Every op is written once, against the NumPy API.  A tensor on ``"cuda"`` holds a CuPy array, and
NumPy hands any call on foreign arrays to the array's own library: ufuncs through
``__array_ufunc__`` (NEP 13, so ``np.matmul(a, b, out=c)`` runs ``cupy.matmul`` on the GPU) and
other functions through ``__array_function__`` (NEP 18, so ``np.einsum`` runs ``cupy.einsum``).
What dispatch cannot reach is a call that makes an array from nothing (``np.empty(shape)``); such
code asks :func:`array_module` for the module of an array it already has, and calls
``xp.empty(shape)``, the same function under the same name.

CuPy refuses to convert between host and device implicitly, and so does lemmata: an op mixing a
CPU tensor with a CUDA tensor raises an error naming the op and both devices (only a 0-d CPU
tensor, like a Python number, goes along with a CUDA tensor, as in PyTorch).  Random draws come
from the one host generator (:mod:`lemmata.random`) and are copied to the device, so a program
seeded with ``manual_seed`` draws the same numbers on either device.

``set_backend("cupy")`` makes ``"cuda"`` the default device of the factories; ``device="cuda"``
asks for it per call, ``tensor.to("cuda")`` / ``module.cuda()`` move what exists.
"""
from __future__ import annotations

import threading
from types import ModuleType
from typing import Any, Callable

import numpy as np

__all__ = ["device", "array_module", "device_of", "to_device", "to_host", "like", "is_array",
           "asarray", "cuda",
           "set_backend", "get_backend", "default_device", "is_available", "device_count",
           "same_device", "resolve", "writeable"]

_BACKENDS = {"numpy": "cpu", "cupy": "cuda"}


class device:
    """A device, spelled as PyTorch's: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``,
    ``device("cuda", 1)``.  Compares equal to its string (``"cuda"`` means ``"cuda:0"``)."""

    __slots__ = ("type", "index")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got "
                            f"{builtin_type(type).__name__}")
        name, _, number = type.partition(":")
        if name not in ("cpu", "cuda") or (number and not number.isdigit()):
            raise RuntimeError(f"device: expected one of cpu, cuda (optionally with ':index'), "
                               f"got {type!r}")
        if number:
            if index is not None:
                raise RuntimeError(f"device: index given twice ({type!r} and {index})")
            index = int(number)
        if name == "cpu" and index not in (None, 0):
            raise RuntimeError(f"device: the CPU has no index {index}")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)
                                  or index < 0):
            raise RuntimeError(f"device: index must be a non-negative int, got {index!r}")
        self.type = name
        self.index = None if name == "cpu" else (index or 0)

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


builtin_type = type
CPU = device("cpu")


# ----------------------------------------------------------------------------------------------
# device array modules, loaded on first use
# ----------------------------------------------------------------------------------------------
class DeviceModule:
    """What lemmata needs of a device's array library: the NumPy-API namespace (``xp``), the
    array type, and copies between host and device."""

    def __init__(self, xp: ModuleType, array_type: type, to_host: Callable[[Any], np.ndarray],
                 from_host: Callable[[np.ndarray, int], Any], index_of: Callable[[Any], int],
                 count: int = 1) -> None:
        self.xp, self.array_type, self.count = xp, array_type, count
        self.to_host, self.from_host, self.index_of = to_host, from_host, index_of


def _load_cupy() -> DeviceModule:
    try:
        import cupy
    except ImportError as error:
        raise RuntimeError("device 'cuda' needs CuPy, which is not installed: pip install "
                           "'lemmata[cuda]' (CuPy for CUDA 12) on a machine with an NVIDIA GPU"
                           ) from error
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDARuntimeError: no driver, no device
        raise RuntimeError(f"device 'cuda': CuPy is installed but finds no CUDA device ({error})"
                           ) from error
    if count == 0:
        raise RuntimeError("device 'cuda': CuPy is installed but finds no CUDA device")

    def from_host(array: np.ndarray, index: int) -> Any:
        with cupy.cuda.Device(index):
            return cupy.asarray(array)

    return DeviceModule(cupy, cupy.ndarray, cupy.asnumpy, from_host, lambda a: a.device.id,
                        count)


#: loaders of the device modules by device type; a loader raises a RuntimeError saying what is
#: missing.  (Tests put a NumPy-backed stand-in here to run the device paths without a GPU.)
_LOADERS: dict[str, Callable[[], DeviceModule]] = {"cuda": _load_cupy}
_loaded: dict[str, DeviceModule] = {}
_by_array_type: dict[type, tuple[str, DeviceModule]] = {}
_lock = threading.Lock()


def _module(type_name: str) -> DeviceModule:
    module = _loaded.get(type_name)
    if module is None:
        with _lock:
            module = _loaded.get(type_name) or _LOADERS[type_name]()
            _loaded[type_name] = module
            _by_array_type[module.array_type] = (type_name, module)
    return module


def _forget_loaded() -> None:
    """Drop the loaded device modules (so that a replaced loader takes effect)."""
    _loaded.clear()
    _by_array_type.clear()


def is_available(type_name: str = "cuda") -> bool:
    """Whether the device type can be used here (``is_available()`` as ``torch.cuda``'s)."""
    try:
        _module(type_name)
    except RuntimeError:
        return False
    return True


def device_count(type_name: str = "cuda") -> int:
    """How many devices of the type there are here (0 when it cannot be used)."""
    try:
        return _module(type_name).count
    except RuntimeError:
        return 0


# ----------------------------------------------------------------------------------------------
# arrays and their devices
# ----------------------------------------------------------------------------------------------
def _device_entry(array: Any) -> tuple[str, DeviceModule] | None:
    return _by_array_type.get(builtin_type(array))


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array of some device: a NumPy array or a loaded device's array."""
    return isinstance(value, np.ndarray) or _device_entry(value) is not None


def asarray(value: Any) -> Any:
    """``value`` itself if it is an array of some device, else ``np.asarray(value)`` (host data:
    numbers, lists, objects with ``__array__``)."""
    return value if isinstance(value, np.ndarray) or _device_entry(value) is not None \
        else np.asarray(value)


def cuda(which: Any = None) -> device:
    """The device ``.cuda(which)`` means: a GPU index, a name, or (None) the first GPU."""
    if isinstance(which, int) and not isinstance(which, bool):
        return device("cuda", which)
    return device("cuda" if which is None else which)


def array_module(array: Any) -> Any:
    """The NumPy-API module computing on ``array``: ``numpy`` for host arrays, ``cupy`` for CUDA
    ones.  Ops use it only to make new arrays (``array_module(x).empty(shape, dtype)``)."""
    if isinstance(array, np.ndarray):
        return np
    entry = _device_entry(array)
    return np if entry is None else entry[1].xp


def device_of(array: Any) -> device:
    if isinstance(array, np.ndarray):
        return CPU
    entry = _device_entry(array)
    return CPU if entry is None else device(entry[0], entry[1].index_of(array))


def same_device(a: Any, b: Any) -> bool:
    """Whether two arrays live on the same device (cheap for the common host-host case)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return True
    return device_of(a) == device_of(b)


def writeable(array: Any) -> bool:
    """Whether ``array`` may be written (NumPy marks views made by broadcast_to read-only; CuPy
    has no read-only arrays)."""
    return getattr(array.flags, "writeable", True)


def to_host(array: Any) -> np.ndarray:
    """A NumPy array with ``array``'s values: the array itself on the host, a copy otherwise."""
    if isinstance(array, np.ndarray):
        return array
    entry = _device_entry(array)
    return np.asarray(array) if entry is None else entry[1].to_host(array)


def to_device(array: Any, target: Any) -> Any:
    """``array`` on ``target`` (a device or its name): itself if it is there, else a copy."""
    target = device(target) if not isinstance(target, device) else target
    if device_of(array) == target:
        return array
    host = to_host(array)
    if target.type == "cpu":
        return host
    return _module(target.type).from_host(host, target.index)


def like(array: Any, reference: Any) -> Any:
    """``array`` (host data or another device's) on the device of ``reference``."""
    if isinstance(reference, np.ndarray) and isinstance(array, np.ndarray):
        return array
    return to_device(array, device_of(reference))


# ----------------------------------------------------------------------------------------------
# the default device of the factories
# ----------------------------------------------------------------------------------------------
_default = [CPU]  # a list, so that set_backend can rebind its one item


def default_device() -> device:
    """Where factories put a new tensor when no ``device`` is given (see :func:`set_backend`)."""
    return _default[0]


def set_backend(name: str) -> None:
    """``"numpy"`` (the CPU, the default) or ``"cupy"`` (``"cuda"``): where factories put new
    tensors when no ``device`` is given.  Raises if the backend cannot run here."""
    if name not in _BACKENDS:
        raise ValueError(f"set_backend: unknown backend {name!r}; expected one of "
                         f"{', '.join(_BACKENDS)}")
    target = device(_BACKENDS[name])
    if target.type != "cpu":
        _module(target.type)  # fail now, with the reason, rather than at the first tensor
    _default[0] = target


def get_backend() -> str:
    return "numpy" if default_device().type == "cpu" else "cupy"


def resolve(requested: Any, op: str) -> device:
    """The device a factory puts its tensor on: ``requested``, or the default one."""
    if requested is None:
        return default_device()
    try:
        target = device(requested)
    except (RuntimeError, TypeError) as error:
        raise RuntimeError(f"{op}: {error}") from None
    if target.type != "cpu":
        try:
            _module(target.type)
        except RuntimeError as error:
            raise RuntimeError(f"{op}: {error}") from None
    return target
