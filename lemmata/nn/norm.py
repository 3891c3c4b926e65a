"""Normalisation layers: BatchNorm1d/2d/3d, LayerNorm, GroupNorm (PyTorch's semantics)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .. import backend, dtypes
from ..factories import ones, tensor, zeros
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm"]


class _BatchNorm(Module):
    """Batch normalisation of the channel dim 1 (see ``F.batch_norm`` for the formulas).

    Parameters: weight γ (ones) and bias β (zeros) when ``affine`` (β only if ``bias``).
    Buffers when ``track_running_stats``: running_mean (zeros), running_var (ones) and
    num_batches_tracked (int64 0).  In training mode the batch statistics normalise and the
    running ones move by ``momentum`` (the running variance uses the unbiased batch variance, as
    PyTorch); ``momentum=None`` gives the cumulative average 1/num_batches_tracked.  In eval mode
    the running statistics normalise.
    """

    _dims: tuple[int, ...] = ()
    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got "
                             f"{num_features!r}")
        dtype, device = dtypes.as_dtype(dtype), backend.resolve(device, type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(num_features, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked",
                                 tensor(0, dtype=dtypes.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, input: Any) -> None:
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in self._dims:
            dims = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{self!r}: expected {dims} input, got input of shape "
                             f"{tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise RuntimeError(f"{self!r}: expected input with {self.num_features} channels, got "
                               f"input of shape {tuple(input.shape)}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def _load_from_state_dict(self, state_dict: Mapping[str, Any], prefix: str,
                              missing_keys: list, unexpected_keys: list, error_msgs: list,
                              assign: bool = False) -> None:
        # as PyTorch: a state dict without num_batches_tracked (older format) still loads
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict:
            state_dict = dict(state_dict)
            state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                               else np.asarray(0, dtype=np.int64))
        super()._load_from_state_dict(state_dict, prefix, missing_keys, unexpected_keys,
                                      error_msgs, assign)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input over N (and L), per channel C."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input over N, H, W, per channel C."""

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) input over N, D, H, W, per channel C."""

    _dims = (5,)


class LayerNorm(Module):
    """y = (x − μ)/√(σ² + ε)·γ + β, with μ, σ² over the trailing ``normalized_shape`` dims of each
    sample; γ (ones) and β (zeros) have shape ``normalized_shape`` when elementwise_affine."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(int(n) for n in normalized_shape)
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must have at least one dim")
        dtype, device = dtypes.as_dtype(dtype), backend.resolve(device, type(self).__name__)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(*shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if not isinstance(input, Tensor) or input.ndim < k or \
                tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise RuntimeError(f"{self!r}: expected input with shape (*, "
                               f"{', '.join(map(str, self.normalized_shape))}), got input of shape "
                               f"{shape}")
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise each sample over groups of C/num_groups channels; per-channel γ, β."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        dtype, device = dtypes.as_dtype(dtype), backend.resolve(device, type(self).__name__)
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                     eps, affine)
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(num_channels, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim < 2 or input.shape[1] != self.num_channels:
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise RuntimeError(f"{self!r}: expected input of shape (N, {self.num_channels}, *), "
                               f"got input of shape {shape}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
