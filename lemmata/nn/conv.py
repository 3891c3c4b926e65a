"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d, over the ops of
:mod:`lemmata.ops.conv` (which compute cross-correlation, as PyTorch does).

Conv{N}d maps (N, C_in, *spatial) to (N, C_out, *spatial′) by
    y[n, o] = b[o] + Σ_c Σ_k w[o, c, k] · x[n, g·C_in/G + c, s·i + d·k − p]
within each of the G groups; out size = ⌊(in + 2p − d(k − 1) − 1)/s⌋ + 1.
Default initialisation is PyTorch's: w, b ~ U(−1/√fan_in, 1/√fan_in) with
fan_in = (C_in/G)·Πk (kaiming_uniform_ with a = √5).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import backend, dtypes
from ..factories import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value: Any, n: int, name: str, layer: str) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{layer}: {name} must be an int or a tuple of {n} ints, got "
                             f"{value!r}")
        items = tuple(value)
    else:
        items = (value,) * n
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return items


class _ConvNd(Module):
    _n = 2
    _transposed = False
    _conv = staticmethod(F.conv2d)

    def _setup(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
               padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
               output_padding: Any, device: Any, dtype: Any) -> None:
        n, name = self._n, type(self).__name__
        layer = f"{name}({in_channels}, {out_channels}, kernel_size={kernel_size})"
        for label, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{layer}: {label} must be a positive int, got {value!r}")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{layer}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{layer}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{layer}: out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        device = backend.resolve(device, layer)
        kernel_size = _ntuple(kernel_size, n, "kernel_size", layer)
        stride = _ntuple(stride, n, "stride", layer)
        dilation = _ntuple(dilation, n, "dilation", layer)
        if min(kernel_size) < 1 or min(stride) < 1 or min(dilation) < 1:
            raise ValueError(f"{layer}: kernel_size, stride and dilation must be positive, got "
                             f"kernel_size={kernel_size}, stride={stride}, dilation={dilation}")
        if isinstance(padding, str):
            if self._transposed:
                raise ValueError(f"{layer}: padding={padding!r} is not supported for transposed "
                                 f"convolutions")
            if padding not in ("same", "valid"):
                raise ValueError(f"{layer}: invalid padding string {padding!r}, should be one of "
                                 f"{{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{layer}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
        else:
            padding = _ntuple(padding, n, "padding", layer)
            if min(padding) < 0:
                raise ValueError(f"{layer}: padding must be non-negative, got {padding}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{layer}: padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{layer}: only "zeros" padding mode is supported for {name}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.transposed = self._transposed
        self.output_padding = _ntuple(output_padding, n, "output_padding", layer)
        # the explicit (left, right) padding per dim, last dim first, for padding_mode != 'zeros'
        if padding == "valid":
            pairs = [(0, 0)] * n
        elif padding == "same":
            pairs = []
            for d, k in zip(dilation, kernel_size):
                total = d * (k - 1)
                pairs.append((total // 2, total - total // 2))
        else:
            pairs = [(p, p) for p in padding]
        self._reversed_padding_repeated_twice = [x for pair in reversed(pairs) for x in pair]
        dtype = dtypes.as_dtype(dtype)
        if self._transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        self.to(device)

    def reset_parameters(self) -> None:
        """w ~ kaiming_uniform_(a=√5) = U(±1/√fan_in); b ~ U(±1/√fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input: Any) -> bool:
        """Validate rank and channels; True when the input is unbatched (C, *spatial)."""
        n = self._n
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in (n + 1, n + 2):
            raise RuntimeError(f"{self!r}: expected {n + 1}-D (unbatched) or {n + 2}-D (batched) "
                               f"input, got input of shape {tuple(input.shape)}")
        channels = input.shape[-(n + 1)]
        if channels != self.in_channels:
            raise RuntimeError(f"{self!r}: expected input with {self.in_channels} channels, got "
                               f"input of shape {tuple(input.shape)}")
        return input.ndim == n + 1

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
            f"stride={self.stride}"
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    bias, padding_mode, 0, device, dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return self._conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return self._conv(input, weight, bias, self.stride, self.padding, self.dilation,
                          self.groups)

    def forward(self, input: Tensor) -> Tensor:
        if self._check_input(input):
            return self._conv_forward(input.unsqueeze(0), self.weight, self.bias).squeeze(0)
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution (cross-correlation) of (N, C_in, L) input; weight (C_out, C_in/G, k)."""

    _n = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution (cross-correlation) of (N, C_in, H, W) input; weight (C_out, C_in/G, kH, kW).

    With a 3×3 kernel, padding 1 and w[o, c, 1, 1] = δ_oc, b = 0 it is the identity (seed
    ryu22.q3; see ``nn.init.dirac_``).
    """

    _n = 2
    _conv = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution of (N, C_in, D, H, W) input (e.g. video, seed ttic.p3);
    weight (C_out, C_in/G, kD, kH, kW)."""

    _n = 3
    _conv = staticmethod(F.conv3d)


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, input: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        if output_size is None:
            return self.output_padding
        n = self._n
        size = tuple(int(s) for s in output_size)
        if len(size) in (n + 1, n + 2):
            size = size[-n:]
        if len(size) != n:
            raise ValueError(f"{self!r}: output_size must have {n} or {n + 2} elements (got "
                             f"{len(output_size)})")
        spatial = tuple(input.shape[-n:])
        result = []
        for d in range(n):
            smallest = ((spatial[d] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            largest = smallest + self.stride[d] - 1
            if not smallest <= size[d] <= largest:
                raise ValueError(f"{self!r}: requested an output size of {size}, but valid sizes "
                                 f"range from {smallest} to {largest} in dim {d} (for an input "
                                 f"of shape {tuple(input.shape)})")
            result.append(size[d] - smallest)
        return tuple(result)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        unbatched = self._check_input(input)
        output_padding = self._output_padding(input, output_size)
        x = input.unsqueeze(0) if unbatched else input
        out = self._conv(x, self.weight, self.bias, self.stride, self.padding, output_padding,
                         self.groups, self.dilation)
        return out.squeeze(0) if unbatched else out


class ConvTranspose1d(_ConvTranspose):
    """The adjoint (transpose) of Conv1d with the same arguments; weight (C_in, C_out/G, k)."""

    _n = 1
    _conv = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """The adjoint (transpose) of Conv2d with the same arguments; weight (C_in, C_out/G, kH, kW).
    out size = (in − 1)s − 2p + d(k − 1) + output_padding + 1."""

    _n = 2
    _conv = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTranspose):
    """The adjoint (transpose) of Conv3d; weight (C_in, C_out/G, kD, kH, kW)."""

    _n = 3
    _conv = staticmethod(F.conv_transpose3d)
