"""A stand-in for CuPy that keeps its arrays in host memory, to run the device paths without a GPU.

It holds CuPy's contract wherever lemmata's code could break it:

* a device array is not a NumPy array, and will not turn into one implicitly (``np.asarray`` on it
  raises, as CuPy's ``__array__`` does), nor mix with one in a ufunc or a NumPy function;
* NumPy's functions and ufuncs on device arrays run "on the device" through ``__array_function__``
  and ``__array_ufunc__``, and reductions return 0-d device arrays, not NumPy scalars;
* the array has only CuPy's attributes: no ``setflags`` or ``ctypes``, flags without
  ``writeable``;
* copies between host and device are explicit (``asnumpy``, ``asarray``) and always copy.

Views stay views (slicing, transposes and ``as_strided`` wrap NumPy views of the same memory), so
in-place updates behave as on a GPU.  What it cannot show is which NumPy functions CuPy lacks, and
CuPy's speed: the tests marked for a real GPU run the same code on CuPy.
"""
from __future__ import annotations

import numbers
from types import ModuleType
from typing import Any

import numpy as np

#: ndarray members CuPy's ndarray does not have
_HOST_ONLY = {"setflags", "ctypes", "itemset", "byteswap", "newbyteorder", "tofile", "dump",
              "dumps", "getfield", "setfield", "resize"}
#: functions that return Python values in CuPy, not 0-d arrays
_PLAIN_RESULTS = {"shares_memory", "may_share_memory", "ndim", "size", "shape", "result_type",
                  "iscomplexobj", "isrealobj", "can_cast", "min_scalar_type", "broadcast_shapes"}
IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly.")


class Flags:
    """CuPy's ndarray.flags: contiguity and ownership only."""

    def __init__(self, host: np.ndarray) -> None:
        self.c_contiguous = host.flags.c_contiguous
        self.f_contiguous = host.flags.f_contiguous
        self.owndata = host.flags.owndata

    def __getitem__(self, name: str) -> bool:
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[name])


def _unwrap(value: Any) -> Any:
    if isinstance(value, DeviceArray):
        return value._host
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    return value


def _unwrap_index(index: Any) -> Any:
    """Indices may be device arrays or Python values (slices, ints, lists); lemmata moves
    NumPy index arrays to the device itself, so the stand-in refuses them."""
    if isinstance(index, DeviceArray):
        return index._host
    if isinstance(index, np.ndarray):
        raise TypeError(f"Unsupported index type {type(index)}")
    if isinstance(index, tuple):
        return tuple(_unwrap_index(i) for i in index)
    return index


def _wrap(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return DeviceArray(value)
    if isinstance(value, np.generic):
        return DeviceArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class DeviceArray(np.lib.mixins.NDArrayOperatorsMixin):
    """An array "on the device": a NumPy array that only device code may touch."""

    __slots__ = ("_host", "__weakref__")

    def __init__(self, host: np.ndarray) -> None:
        assert isinstance(host, np.ndarray)
        self._host = host

    # -------------------------------------------------------------- conversions CuPy refuses
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(IMPLICIT)

    def get(self) -> np.ndarray:
        return self._host.copy()

    # -------------------------------------------------------------- dispatch
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method not in ("__call__", "outer", "at", "reduce", "accumulate", "reduceat"):
            return NotImplemented
        for x in inputs + tuple(kwargs.get("out", ())):
            if not isinstance(x, (DeviceArray, np.ndarray, numbers.Number, np.generic)):
                return NotImplemented
        if ufunc.__name__ in ("greater", "greater_equal", "less", "less_equal", "equal",
                              "not_equal"):
            inputs = tuple(x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x
                           for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"])
        if "where" in kwargs:
            kwargs["where"] = _unwrap(kwargs["where"])
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if method == "at":
            return None
        return _wrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if any(not issubclass(t, DeviceArray) for t in types):
            return NotImplemented
        result = func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
        return result if func.__name__ in _PLAIN_RESULTS else _wrap(result)

    # -------------------------------------------------------------- attributes
    shape = property(lambda self: self._host.shape)
    dtype = property(lambda self: self._host.dtype)
    ndim = property(lambda self: self._host.ndim)
    size = property(lambda self: self._host.size)
    strides = property(lambda self: self._host.strides)
    itemsize = property(lambda self: self._host.itemsize)
    nbytes = property(lambda self: self._host.nbytes)
    flags = property(lambda self: Flags(self._host))
    T = property(lambda self: DeviceArray(self._host.T))
    real = property(lambda self: DeviceArray(self._host.real))
    imag = property(lambda self: DeviceArray(self._host.imag))

    @property
    def base(self) -> Any:
        return None if self._host.base is None else DeviceArray(self._host.base)

    def __getattr__(self, name: str) -> Any:
        if name in _HOST_ONLY or name.startswith("__"):  # no __array_interface__ either
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        member = getattr(self._host, name)
        if not callable(member):
            return _wrap(member)

        def method(*args: Any, **kwargs: Any) -> Any:
            # CuPy's methods read a NumPy array where they take a sequence of ints (axes, shapes)
            args = tuple(tuple(a.tolist()) if isinstance(a, np.ndarray) and a.dtype.kind in "iu"
                         and a.ndim == 1 else a for a in args)
            return _wrap(member(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
        return method

    # -------------------------------------------------------------- indexing
    def __getitem__(self, index: Any) -> Any:
        return _wrap(self._host[_unwrap_index(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._host[_unwrap_index(index)] = _unwrap(value)

    def __len__(self) -> int:
        return len(self._host)

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    # -------------------------------------------------------------- scalars (CuPy syncs)
    def item(self) -> Any:
        return self._host.item()

    def tolist(self) -> Any:
        return self._host.tolist()

    def __bool__(self) -> bool:
        return bool(self._host)

    def __float__(self) -> float:
        return float(self._host)

    def __int__(self) -> int:
        return int(self._host)

    def __complex__(self) -> complex:
        return complex(self._host)

    def __repr__(self) -> str:
        return "stand-in " + repr(self._host)

    __hash__ = None  # type: ignore[assignment]


class DeviceUfunc:
    """A ufunc of the device library itself (``cupy.add``): its methods take device arrays and
    tuples of them (``cupy.add.at(a, (rows, columns), b)``), which NumPy's dispatch of
    ``np.add.at`` does not pass on to CuPy."""

    def __init__(self, ufunc: np.ufunc) -> None:
        self._ufunc = ufunc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ufunc(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._ufunc, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
            return _wrap(result)
        return call


class Namespace:
    """``xp``: NumPy's functions, taking and giving device arrays, and its types and constants."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        if name == "ndarray":
            return DeviceArray
        member = getattr(self._module, name)
        if isinstance(member, ModuleType):
            return Namespace(member)
        if isinstance(member, np.ufunc):
            return DeviceUfunc(member)
        if isinstance(member, type) or not callable(member):
            return member
        if name in ("asarray", "array", "ascontiguousarray"):
            def convert(value: Any, *args: Any, **kwargs: Any) -> DeviceArray:
                if isinstance(value, DeviceArray):
                    return _wrap(member(value._host, *args, **kwargs))
                return DeviceArray(np.array(member(value, *args, **kwargs)))  # an upload copies
            return convert

        def function(*args: Any, **kwargs: Any) -> Any:
            result = member(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
            return result if name in _PLAIN_RESULTS else _wrap(result)
        return function


def asnumpy(array: DeviceArray) -> np.ndarray:
    return array.get()


def upload(host: np.ndarray, index: int) -> DeviceArray:
    return DeviceArray(np.array(host, copy=True))


xp = Namespace(np)


def device_module() -> Any:
    """The stand-in as lemmata's backend sees a device library (see ``lemmata.backend``)."""
    from lemmata.backend import DeviceModule
    return DeviceModule(xp, DeviceArray, asnumpy, upload, lambda array: 0)
