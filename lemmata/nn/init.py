"""Weight initialisation, as ``torch.nn.init``.

Every initialiser fills a tensor in place (under ``no_grad``) with draws from the one global
generator ``lemmata.random.generator()`` (or the ``generator`` argument), so ``manual_seed`` makes
initialisation reproducible.  Fans are computed as PyTorch does: for a weight of shape
(out, in, k₁, …, k_d), receptive = k₁⋯k_d, fan_in = in·receptive, fan_out = out·receptive.

The default initialisation of ``nn.Linear`` and ``nn.ConvNd`` is ``kaiming_uniform_(w, a=√5)``:
gain = √(2/(1+a²)) = √(1/3), bound = √3·gain/√fan_in = 1/√fan_in, i.e. w ~ U(−1/√fan_in, 1/√fan_in),
with variance 1/(3·fan_in); the bias is U(−1/√fan_in, 1/√fan_in) too (seed hw6.p2).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy import special

from .. import random as _random
from ..autograd import no_grad
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "lecun_normal_", "orthogonal_", "_calculate_fan_in_and_fan_out",
    "_calculate_correct_fan",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d")


def _rng(generator: Any) -> np.random.Generator:
    if generator is None:
        return _random.generator()
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"init: generator must be a numpy.random.Generator or None, got "
                    f"{type(generator).__name__}")


def _check_tensor(tensor: Any, fn: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected a Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind not in "fc":
        raise TypeError(f"{fn}: can only fill floating-point or complex tensors, got dtype "
                        f"{tensor.dtype}")
    return tensor


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write ``values`` into ``tensor``'s array in place (Parameter identity and sharing kept)."""
    with no_grad():
        tensor.copy_(np.asarray(values))
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    linear / conv / sigmoid: 1;  tanh: 5/3;  relu: √2;  leaky_relu(slope): √(2/(1+slope²))
    (slope 0.01 by default);  selu: 3/4.
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor,
                                  fn: str = "_calculate_fan_in_and_fan_out") -> tuple[int, int]:
    """(fan_in, fan_out) = (size(1)·receptive, size(0)·receptive), receptive = Π sizes[2:]."""
    if tensor.ndim < 2:
        raise ValueError(f"{fn}: fan in and fan out can not be computed for tensor with fewer "
                         f"than 2 dimensions (got shape {tuple(tensor.shape)})")
    receptive = math.prod(tensor.shape[2:]) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str, fn: str = "_calculate_correct_fan") -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, fn)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with U(a, b)."""
    _check_tensor(tensor, "uniform_")
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with N(mean, std²)."""
    _check_tensor(tensor, "normal_")
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Any = None) -> Tensor:
    """Fill with N(mean, std²) conditioned on [a, b] (inverse-CDF sampling, as PyTorch)."""
    _check_tensor(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    lo = (1 + special.erf((a - mean) / std / math.sqrt(2))) / 2
    hi = (1 + special.erf((b - mean) / std / math.sqrt(2))) / 2
    u = _rng(generator).uniform(2 * lo - 1, 2 * hi - 1, tensor.shape)
    values = np.clip(mean + std * math.sqrt(2) * special.erfinv(u), a, b)
    return _fill(tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the constant ``val``."""
    _check_tensor(tensor, "constant_")
    if isinstance(val, Tensor) and val.numel() == 1:
        val = val.item()
    if not isinstance(val, (int, float, complex, np.number)):
        raise TypeError(f"constant_: val must be a number, got {type(val).__name__} {val!r}")
    return _fill(tensor, np.full(tensor.shape, val))


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the main diagonal of a rectangle)."""
    _check_tensor(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D conv weight with the Dirac delta: the convolution (with 'same'
    padding) copies each input channel to the output channel of the same index, per group.
    This is the identity convolution of seed ryu22.q3 (w[c, c, 1, 1] = 1 for a 3×3 kernel)."""
    _check_tensor(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got "
                         f"shape {tuple(tensor.shape)}")
    out_per_group = tensor.shape[0] // groups
    if tensor.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({tensor.shape[0]}) must be divisible by groups "
                         f"({groups})")
    n = min(out_per_group, tensor.shape[1])
    values = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    g, d = np.meshgrid(np.arange(groups), np.arange(n), indexing="ij")
    values[((g * out_per_group + d).ravel(), d.ravel()) + centre] = 1
    return _fill(tensor, values)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot: U(−a, a) with a = gain·√(6/(fan_in + fan_out))."""
    _check_tensor(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return _fill(tensor, _rng(generator).uniform(-bound, bound, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot: N(0, std²) with std = gain·√(2/(fan_in + fan_out))."""
    _check_tensor(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill(tensor, _rng(generator).normal(0.0, std, tensor.shape))


def _empty_warning(tensor: Tensor) -> bool:
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op")
        return True
    return False


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    """He: U(−bound, bound), bound = √3·gain/√fan, gain = calculate_gain(nonlinearity, a).

    With a = √5 and fan = fan_in this is U(±1/√fan_in), PyTorch's default for Linear and Conv
    (seed hw6.p2); with nonlinearity='relu' it gives Var w = 2/fan_in (seed ryu22.q6).
    """
    _check_tensor(tensor, "kaiming_uniform_")
    if _empty_warning(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode, "kaiming_uniform_")
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, _rng(generator).uniform(-bound, bound, tensor.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    """He: N(0, std²), std = gain/√fan, gain = calculate_gain(nonlinearity, a) (seed ryu22.q6)."""
    _check_tensor(tensor, "kaiming_normal_")
    if _empty_warning(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, _rng(generator).normal(0.0, std, tensor.shape))


def lecun_normal_(tensor: Tensor, generator: Any = None) -> Tensor:
    """LeCun: N(0, 1/fan_in).  Goes beyond PyTorch (which has no lecun_normal_).

    For a 3×3 convolution with C_in input channels and unit-variance inputs, each output then has
    E Y = 0 and E Y² = 9·C_in·σ_w² + σ_b² = 1 + σ_b² (seed ryu24.q5).
    """
    _check_tensor(tensor, "lecun_normal_")
    if _empty_warning(tensor):
        return tensor
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor, "lecun_normal_")
    return _fill(tensor, _rng(generator).normal(0.0, 1.0 / math.sqrt(fan_in), tensor.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix, sign-corrected
    so that it is Haar-distributed, times ``gain``; dims after the first are flattened."""
    _check_tensor(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


# PyTorch's deprecated spellings without the trailing underscore
uniform, normal, constant = uniform_, normal_, constant_
xavier_uniform, xavier_normal = xavier_uniform_, xavier_normal_
kaiming_uniform, kaiming_normal = kaiming_uniform_, kaiming_normal_
