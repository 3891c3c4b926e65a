"""Pooling layers over the ops of :mod:`lemmata.ops.pool`: MaxPool1d/2d/3d, AvgPool1d/2d/3d,
AdaptiveAvgPool1d/2d/3d, AdaptiveMaxPool1d/2d/3d.

Max pooling takes the largest entry of each window (its gradient goes to that entry);
average pooling the mean; out size = ⌊(in + 2p − d(k − 1) − 1)/s⌋ + 1 (⌈·⌉ with ceil_mode, where
a window must still start inside the input or its left padding).
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]


def _check_rank(layer: Module, input: Any, n: int) -> bool:
    """Validate the rank; True when the input is unbatched (C, *spatial)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{layer!r}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{layer!r}: expected {n + 1}-D (unbatched) or {n + 2}-D (batched) "
                           f"input, got input of shape {tuple(input.shape)}")
    return input.ndim == n + 1


def _batched(fn: Any, input: Tensor, unbatched: bool) -> Any:
    if not unbatched:
        return fn(input)
    out = fn(input.unsqueeze(0))
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out)
    return out.squeeze(0)


class _MaxPoolNd(Module):
    _n = 2
    _pool = staticmethod(F.max_pool2d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Any:
        unbatched = _check_rank(self, input, self._n)
        return _batched(lambda x: self._pool(x, self.kernel_size, self.stride, self.padding,
                                             self.dilation, ceil_mode=self.ceil_mode,
                                             return_indices=self.return_indices),
                        input, unbatched)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over windows of (N, C, L) input."""

    _n = 1
    _pool = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max over windows of (N, C, H, W) input.  max pooling commutes with ReLU (both monotone),
    which makes the three models of seed ryu22.q2 the same function."""

    _n = 2
    _pool = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """Max over windows of (N, C, D, H, W) input."""

    _n = 3
    _pool = staticmethod(F.max_pool3d)


class AvgPool1d(Module):
    """Mean over windows of (N, C, L) input (stored as 1-tuples, as PyTorch)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()

        def single(v: Any) -> tuple:
            return tuple(v) if isinstance(v, (tuple, list)) else (v,)

        self.kernel_size = single(kernel_size)
        self.stride = single(stride if stride is not None else kernel_size)
        self.padding = single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        unbatched = _check_rank(self, input, 1)
        return _batched(lambda x: F.avg_pool1d(x, self.kernel_size, self.stride, self.padding,
                                               self.ceil_mode, self.count_include_pad),
                        input, unbatched)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolNd(Module):
    _n = 2
    _pool = staticmethod(F.avg_pool2d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        unbatched = _check_rank(self, input, self._n)
        return _batched(lambda x: self._pool(x, self.kernel_size, self.stride, self.padding,
                                             self.ceil_mode, self.count_include_pad,
                                             self.divisor_override),
                        input, unbatched)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of (N, C, H, W) input."""

    _n = 2
    _pool = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """Mean over windows of (N, C, D, H, W) input."""

    _n = 3
    _pool = staticmethod(F.avg_pool3d)


class _AdaptiveAvgPoolNd(Module):
    _n = 2
    _pool = staticmethod(F.adaptive_avg_pool2d)

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        unbatched = _check_rank(self, input, self._n)
        return _batched(lambda x: self._pool(x, self.output_size), input, unbatched)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Mean over L/out-sized windows so that the output has length ``output_size``."""

    _n = 1
    _pool = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Mean over windows sized so that the output is ``output_size`` (e.g. (1, 1): global average
    pooling, as at the end of NiN and ResNet)."""

    _n = 2
    _pool = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Mean over windows sized so that the (D, H, W) output is ``output_size``."""

    _n = 3
    _pool = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(Module):
    _n = 2
    _pool = staticmethod(F.adaptive_max_pool2d)

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor) -> Any:
        unbatched = _check_rank(self, input, self._n)
        return _batched(lambda x: self._pool(x, self.output_size, self.return_indices), input,
                        unbatched)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max over windows sized so that the output has length ``output_size``."""

    _n = 1
    _pool = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max over windows sized so that the output is ``output_size``."""

    _n = 2
    _pool = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max over windows sized so that the (D, H, W) output is ``output_size``."""

    _n = 3
    _pool = staticmethod(F.adaptive_max_pool3d)
