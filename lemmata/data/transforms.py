"""Image transforms with torchvision's names: ToTensor, Normalize, Compose, RandomCrop,
RandomHorizontalFlip, Lambda.

Layouts follow torchvision, with a NumPy array in the role of a PIL image: an *array* is an image
in height-width(-channel) order, (H, W) or (H, W, C), as the data sets store their pictures; a
*Tensor* is (…, C, H, W).  ``ToTensor`` turns the first into the second.  The random transforms
draw from the global generator (``lemmata.manual_seed`` makes them reproducible).

Each transform also has ``batch(x)``, the same transform applied independently to every item of
a batch stacked along a new first axis (arrays (N, H, W[, C]), Tensors (N, C, H, W)) in a few
vectorised NumPy operations: random parameters are drawn for all N items at once.  Data sets use
it to build whole batches without a Python loop over items; ``Compose.supports_batch`` says
whether every member has it.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..random import generator
from ..tensor import Tensor

__all__ = ["Transform", "Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip",
           "Lambda"]


class Transform:
    """Base class: ``__call__(x)`` transforms one item; ``batch(x)`` a stack of items."""

    def __call__(self, x: Any) -> Any:
        raise TypeError(f"{type(self).__name__} defines no transform: subclasses of Transform "
                        f"override __call__")

    def batch(self, x: Any) -> Any:
        """The transform applied to each item of ``x`` (stacked along axis 0)."""
        raise TypeError(f"{type(self).__name__} has no batched form")

    @property
    def supports_batch(self) -> bool:
        return type(self).batch is not Transform.batch

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _to_layout(x: Any, name: str, batched: bool) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
    """The array of ``x`` with height and width as its last two axes, and a function that puts a
    result of the same layout back into the caller's type and axis order."""
    if isinstance(x, Tensor):
        array = x._data
        if array.ndim < 2 + batched:
            raise ValueError(f"{name}: expected a Tensor of shape (…, H, W)"
                             f"{' with a batch axis' if batched else ''}, got shape {array.shape}")
        return array, Tensor
    if isinstance(x, np.ndarray):
        lead = 1 if batched else 0
        if x.ndim not in (2 + lead, 3 + lead):
            raise ValueError(f"{name}: expected an array image of shape "
                             f"{'(N, ' if batched else '('}H, W) or {'(N, ' if batched else '('}H, "
                             f"W, C), got shape {x.shape}")
        if x.ndim == 2 + lead:
            return x, lambda a: a
        return np.moveaxis(x, -1, lead), lambda a: np.moveaxis(a, lead, -1)
    raise TypeError(f"{name}: expected a NumPy image array or a Tensor, got {type(x).__name__}")


def _pair(value: Any, name: str, what: str) -> tuple[int, int]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    elif isinstance(value, Sequence) and len(value) == 1:
        value = (int(value[0]), int(value[0]))
    elif isinstance(value, Sequence) and len(value) == 2:
        value = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{name}: {what} must be an int or a pair (h, w), got {value!r}")
    if min(value) <= 0:
        raise ValueError(f"{name}: {what} must be positive, got {value}")
    return value


class Compose(Transform):
    """Apply transforms in order: ``Compose([RandomCrop(32, 4), ToTensor(), Normalize(m, s)])``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: item {i} ({t!r}) is not callable")

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    @property
    def supports_batch(self) -> bool:
        return all(isinstance(t, Transform) and t.supports_batch for t in self.transforms)

    def batch(self, x: Any) -> Any:
        if not self.supports_batch:
            names = [type(t).__name__ for t in self.transforms
                     if not (isinstance(t, Transform) and t.supports_batch)]
            raise TypeError(f"Compose: {', '.join(names)} ha{'s' if len(names) == 1 else 've'} "
                            f"no batched form")
        for t in self.transforms:
            x = t.batch(x)
        return x

    def __repr__(self) -> str:
        return "Compose(\n" + "".join(f"    {t!r}\n" for t in self.transforms) + ")"


class ToTensor(Transform):
    """An array image (H, W) or (H, W, C) → a Tensor (C, H, W); uint8 values are scaled to
    float32 in [0, 1] (x/255), bool becomes float32 0/1, other dtypes are kept (as torchvision)."""

    @staticmethod
    def _convert(array: np.ndarray) -> np.ndarray:
        if array.dtype == np.uint8:
            return array.astype(np.float32) / np.float32(255)
        if array.dtype == np.bool_:
            return array.astype(np.float32)
        return np.ascontiguousarray(array)

    def __call__(self, x: Any) -> Tensor:
        if not isinstance(x, np.ndarray):
            raise TypeError(f"ToTensor: expected a NumPy image array (H, W) or (H, W, C), got "
                            f"{type(x).__name__}")
        if x.ndim == 2:
            x = x[:, :, None]
        if x.ndim != 3:
            raise ValueError(f"ToTensor: expected an image of shape (H, W) or (H, W, C), got "
                             f"shape {x.shape}")
        return Tensor(self._convert(np.ascontiguousarray(x.transpose(2, 0, 1))))

    def batch(self, x: Any) -> Tensor:
        if not isinstance(x, np.ndarray):
            raise TypeError(f"ToTensor: expected a batch of NumPy images (N, H, W) or "
                            f"(N, H, W, C), got {type(x).__name__}")
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise ValueError(f"ToTensor: expected a batch of images of shape (N, H, W) or "
                             f"(N, H, W, C), got shape {x.shape}")
        return Tensor(self._convert(np.ascontiguousarray(x.transpose(0, 3, 1, 2))))


class Normalize(Transform):
    """(x − mean[c]) / std[c] for each channel c of a Tensor (…, C, H, W), in the tensor's dtype."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = tuple(float(m) for m in np.atleast_1d(np.asarray(mean, dtype=np.float64)))
        self.std = tuple(float(s) for s in np.atleast_1d(np.asarray(std, dtype=np.float64)))
        if len(self.mean) != len(self.std) and 1 not in (len(self.mean), len(self.std)):
            raise ValueError(f"Normalize: {len(self.mean)} means but {len(self.std)} standard "
                             f"deviations")
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion, leading to "
                             f"division by zero (std={self.std})")
        self.inplace = inplace

    def _apply(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"Normalize: expected a Tensor (…, C, H, W), got {type(x).__name__} "
                            f"(put ToTensor() first)")
        array = x._data
        if array.ndim < 3:
            raise ValueError(f"Normalize: expected a Tensor of shape (…, C, H, W), got shape "
                             f"{array.shape}")
        if array.dtype.kind not in "fc":
            raise TypeError(f"Normalize: expected a floating-point Tensor, got {array.dtype}")
        channels = array.shape[-3]
        for label, values in (("means", self.mean), ("stds", self.std)):
            if len(values) not in (1, channels):
                raise ValueError(f"Normalize: {len(values)} {label} for an image with {channels} "
                                 f"channel(s) (shape {array.shape})")
        mean = np.asarray(self.mean, dtype=array.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=array.dtype).reshape(-1, 1, 1)
        if self.inplace:
            np.subtract(array, mean, out=array)
            np.divide(array, std, out=array)
            return x
        return Tensor((array - mean) / std)

    __call__ = _apply
    batch = _apply

    def __repr__(self) -> str:
        return f"Normalize(mean={list(self.mean)}, std={list(self.std)})"


_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}


class RandomCrop(Transform):
    """A random size[0] × size[1] window, after optional padding (torchvision's arguments).

    ``padding``: an int (all sides), (left/right, top/bottom) or (left, top, right, bottom);
    ``pad_if_needed`` pads an image smaller than the crop; ``padding_mode`` is one of constant
    (with ``fill``), edge, reflect, symmetric.  The top and left offsets are drawn uniformly from
    the global generator, independently for each item of a batch.
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        self.size = _pair(size, "RandomCrop", "size")
        if padding is None:
            pad = (0, 0, 0, 0)
        elif isinstance(padding, numbers.Integral):
            pad = (int(padding),) * 4
        elif isinstance(padding, Sequence) and len(padding) == 2:
            pad = (int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1]))
        elif isinstance(padding, Sequence) and len(padding) == 4:
            pad = tuple(int(p) for p in padding)
        else:
            raise ValueError(f"RandomCrop: padding must be an int or a sequence of 2 or 4 ints, "
                             f"got {padding!r}")
        if min(pad) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"RandomCrop: padding_mode must be one of {sorted(_PAD_MODES)}, got "
                             f"{padding_mode!r}")
        self.padding = padding
        self._pad = pad  # left, top, right, bottom
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def _padded(self, array: np.ndarray) -> np.ndarray:
        left, top, right, bottom = self._pad
        h, w = self.size
        if self.pad_if_needed:
            height, width = array.shape[-2] + top + bottom, array.shape[-1] + left + right
            extra_h, extra_w = max(h - height, 0), max(w - width, 0)
            top, bottom, left, right = top + extra_h, bottom + extra_h, left + extra_w, \
                right + extra_w
        if top == bottom == left == right == 0:
            return array
        widths = [(0, 0)] * (array.ndim - 2) + [(top, bottom), (left, right)]
        mode = _PAD_MODES[self.padding_mode]
        if mode == "constant":
            return np.pad(array, widths, mode="constant", constant_values=self.fill)
        return np.pad(array, widths, mode=mode)

    def _ranges(self, array: np.ndarray) -> tuple[int, int]:
        height, width = array.shape[-2:]
        h, w = self.size
        if height < h or width < w:
            raise ValueError(f"RandomCrop: required crop size {(h, w)} is larger than the (padded) "
                             f"image size {(height, width)}")
        return height - h + 1, width - w + 1

    def __call__(self, x: Any) -> Any:
        array, back = _to_layout(x, "RandomCrop", batched=False)
        array = self._padded(array)
        rows, cols = self._ranges(array)
        rng = generator()
        top, left = int(rng.integers(0, rows)), int(rng.integers(0, cols))
        h, w = self.size
        return back(np.ascontiguousarray(array[..., top:top + h, left:left + w]))

    def batch(self, x: Any) -> Any:
        array, back = _to_layout(x, "RandomCrop", batched=True)
        array = self._padded(array)
        rows, cols = self._ranges(array)
        n = array.shape[0]
        rng = generator()
        top, left = rng.integers(0, rows, size=n), rng.integers(0, cols, size=n)
        windows = sliding_window_view(array, self.size, axis=(-2, -1))  # (N, …, H', W', h, w)
        windows = np.moveaxis(windows, (-4, -3), (1, 2))                  # (N, H', W', …, h, w)
        return back(np.ascontiguousarray(windows[np.arange(n), top, left]))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(Transform):
    """Mirror left-right with probability p (each item of a batch decided independently)."""

    def __init__(self, p: float = 0.5) -> None:
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, x: Any) -> Any:
        array, back = _to_layout(x, "RandomHorizontalFlip", batched=False)
        if generator().random() < self.p:
            return back(np.ascontiguousarray(array[..., ::-1]))
        return back(array.copy())

    def batch(self, x: Any) -> Any:
        array, back = _to_layout(x, "RandomHorizontalFlip", batched=True)
        flip = generator().random(array.shape[0]) < self.p
        out = array.copy()
        out[flip] = array[flip][..., ::-1]
        return back(np.ascontiguousarray(out))

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Lambda(Transform):
    """A user function as a transform.  It has no batched form, so a data set whose transform
    contains one applies the whole pipeline item by item."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x: Any) -> Any:
        return self.lambd(x)

    @property
    def supports_batch(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.lambd, '__name__', repr(self.lambd))})"
