"""``nn.functional`` (imported as ``F``): the stateless form of every layer, as
``torch.nn.functional``.

Convolution and pooling are the ops of :mod:`lemmata.ops.conv` and :mod:`lemmata.ops.pool`;
everything else here is a composition of lemmata ops, so its gradient, its second derivative
(``create_graph=True``) and its complex-step derivative on complex128 come from the ops' own rules.
The losses are re-exported from :mod:`lemmata.nn.loss`.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import backend, ops
from .. import random as _random
from ..autograd import is_grad_enabled, no_grad
from ..ops.conv import (
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
)
from ..ops.linalg import linear as linear_op
from ..ops.workspace import in_layout_of
from ..ops.pool import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
    adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d,
    max_pool2d, max_pool3d,
)
from ..tensor import Tensor
from .linear_factors import factors_of
from .loss import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div,
    l1_loss, mse_loss, nll_loss, smooth_l1_loss,
)

__all__ = [
    "linear", "embedding", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
    "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "batch_norm", "layer_norm",
    "group_norm", "dropout", "dropout1d", "dropout2d", "dropout3d", "relu", "relu6",
    "leaky_relu", "sigmoid", "tanh", "softplus", "gelu", "elu", "selu", "silu", "mish",
    "hardtanh", "logsigmoid", "softsign", "softmax", "softmin", "log_softmax", "pad", "one_hot",
    "normalize", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "huber_loss", "kl_div", "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
]


def _tensor(x: Any, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(x).__name__}")
    return x


# ------------------------------------------------------------------------------ embedding
def _embedding_indices(input: Any, num_embeddings: int) -> np.ndarray:
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if data.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer indices, got {data.dtype}")
    if data.size and (data.min() < 0 or data.max() >= num_embeddings):
        bad = data.max() if data.max() >= num_embeddings else data.min()
        raise IndexError(f"embedding: index {int(bad)} is out of range for {num_embeddings} "
                         f"embeddings (input of shape {data.shape})")
    return data


def _padding_index(padding_idx: Any, num_embeddings: int) -> int | None:
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) or \
            not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"embedding: padding_idx must be an int within num_embeddings "
                         f"({num_embeddings}), got {padding_idx!r}")
    return int(padding_idx) % num_embeddings


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ``input``:
    output shape input.shape + (embedding_dim,), as F.embedding.

    A row used k times gets the sum of its k gradients (an index op's adjoint), or their mean
    with ``scale_grad_by_freq``; the ``padding_idx`` row gets none.  ``max_norm`` first rescales,
    in place, each used row whose ``norm_type``-norm exceeds it to norm max_norm (PyTorch's
    renormalisation).  ``sparse`` is accepted: the gradient is a dense array either way."""
    _tensor(weight, "embedding", "weight")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                           f"shape {tuple(weight.shape)}")
    indices = _embedding_indices(input, weight.shape[0])
    padding = _padding_index(padding_idx, weight.shape[0])
    index = Tensor(backend.like(indices, weight._data))
    if max_norm is not None:
        rows = Tensor(backend.like(np.unique(indices), weight._data))
        with no_grad():
            used = weight[rows]
            norms = ops.norm(used, p=norm_type, dim=1, keepdim=True)
            weight[rows] = ops.where(norms > max_norm, used * (max_norm / (norms + 1e-7)), used)
    out = weight[index]
    if scale_grad_by_freq and indices.size:
        counts = np.bincount(indices.ravel(), minlength=weight.shape[0])
        factor = (1.0 / counts[indices])[..., None].astype(np.empty(0, weight.dtype).real.dtype)
        out = ops.scaled_gradient(out, backend.like(factor, weight._data))
    if padding is not None:
        out = ops.where(backend.like((indices == padding)[..., None], weight._data),
                        out.detach(), out)
    return out


# ------------------------------------------------------------------------------ linear
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b, over the last dim of x (W has shape (out_features, in_features))."""
    _tensor(input, "linear")
    _tensor(weight, "linear", "weight")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"linear: input of shape {tuple(input.shape)} does not match weight of "
                           f"shape {tuple(weight.shape)} (expected last dim {weight.shape[1]})")
    if bias is not None:
        _tensor(bias, "linear", "bias")
        if tuple(bias.shape) not in ((weight.shape[0],), ()):
            raise RuntimeError(f"linear: bias of shape {tuple(bias.shape)} does not match "
                               f"out_features={weight.shape[0]}")
    factors = factors_of(weight)
    if factors is not None and input.requires_grad and is_grad_enabled():
        # the weight's gradient is left to its factors (lemmata.nn.linear_factors); ∂L/∂y is
        # the same with the bias added in the op
        out = linear_op(input, Tensor(weight._data), bias)
        factors.record(input, out)
        return out
    return linear_op(input, weight, bias)


# ------------------------------------------------------------------------------ normalisation
def _norm_shape(input: Tensor, channel_dim: int = 1) -> tuple[int, ...]:
    return tuple(n if d == channel_dim else 1 for d, n in enumerate(input.shape))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over every dim but the channel dim 1.

    training:  μ = mean(x), σ² = mean((x − μ)²) over (N, *) per channel,
               y = (x − μ)/√(σ² + ε)·γ + β, and the running statistics move in place:
               r_μ ← (1 − m) r_μ + m μ,  r_σ² ← (1 − m) r_σ² + m σ²·n/(n − 1)  (unbiased, n = N·Π*).
    eval:      y = (x − r_μ)/√(r_σ² + ε)·γ + β.
    Composed of lemmata ops (the variance is the holomorphic Σ(x − μ)², no conjugate), so double
    backward and complex-step differentiation work through it.
    """
    _tensor(input, "batch_norm")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dims (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match the "
                               f"{channels} channels of input of shape {tuple(input.shape)}")
    shape = _norm_shape(input)
    dims = tuple(d for d in range(input.ndim) if d != 1)
    if training:
        n = input.numel() // max(channels, 1)
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {tuple(input.shape)}")
        mean = ops.mean(input, dims, keepdim=True)
        centred = input - mean
        var = ops.mean(centred * centred, dims, keepdim=True)
        if running_mean is not None or running_var is not None:
            with np.errstate(all="ignore"):
                if running_mean is not None:
                    running_mean._data[...] = ((1 - momentum) * running_mean._data
                                               + momentum * mean._data.reshape(channels))
                    running_mean._version += 1
                if running_var is not None:
                    unbiased = var._data.reshape(channels) * (n / (n - 1))
                    running_var._data[...] = ((1 - momentum) * running_var._data
                                              + momentum * unbiased)
                    running_var._version += 1
        out = centred * ops.rsqrt(var + eps)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given when "
                               "training=False")
        out = (input - running_mean.reshape(shape)) * ops.rsqrt(running_var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(input: Tensor, normalized_shape: Sequence[int] | int,
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims of each sample:
    y = (x − μ)/√(σ² + ε)·γ + β with μ, σ² (biased) over those dims."""
    _tensor(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, shape))}], but got input of size "
                           f"{tuple(input.shape)}")
    dims = tuple(range(input.ndim - k, input.ndim))
    mean = ops.mean(input, dims, keepdim=True)
    centred = input - mean
    var = ops.mean(centred * centred, dims, keepdim=True)
    out = centred * ops.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample over groups of C/num_groups channels (and all spatial dims), then
    scale and shift per channel."""
    _tensor(input, "group_norm")
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: expected input of shape (N, C, *) with C divisible by "
                           f"num_groups={num_groups}, got shape {tuple(input.shape)}")
    grouped = input.reshape(input.shape[0], num_groups, -1)
    mean = ops.mean(grouped, 2, keepdim=True)
    centred = grouped - mean
    var = ops.mean(centred * centred, 2, keepdim=True)
    out = (centred * ops.rsqrt(var + eps)).reshape(input.shape)
    shape = _norm_shape(input)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# ------------------------------------------------------------------------------ dropout
def _check_p(p: float, fn: str) -> None:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: dropout probability has to be between 0 and 1, but got {p!r}")


def _draw_in_memory_order(shape: tuple[int, ...], like: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) draws of ``shape`` from the global generator, laid out in memory like
    ``like`` when it has that shape (e.g. an NCHW view of channels-last memory), so that the
    mask multiply streams through both arrays instead of striding across one of them; for a
    C-contiguous input these are exactly ``generator().random(shape)``."""
    if shape != like.shape or like.flags.c_contiguous:
        return _random.generator().random(shape)
    return in_layout_of(like, _random.generator().random)


def _masked(input: Tensor, p: float, mask_shape: tuple[int, ...]) -> Tensor:
    """input ⊙ H with H = keep/(1 − p), keep ~ Bernoulli(1 − p) drawn from the global generator;
    H is a constant, so the op is linear in the input (and holomorphic)."""
    if p == 1.0:
        return input * 0
    keep = backend.like(_draw_in_memory_order(mask_shape, input._data) >= p, input._data)
    real_dtype = np.real(np.empty(0, dtype=input.dtype)).dtype
    scale = np.multiply(keep, real_dtype.type(1.0 / (1.0 - p)))   # one pass, in input's precision
    return ops.elementwise.Scale.apply(input, factor=scale)       # saves only the mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: each entry is zeroed with probability p and the survivors are scaled by
    1/(1 − p), so E[dropout(x)] = x; the identity when ``training`` is False (seed hw6.p1)."""
    _tensor(input, "dropout")
    _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    return _masked(input, p, tuple(input.shape))


def _channel_dropout(input: Tensor, p: float, training: bool, spatial: int, fn: str) -> Tensor:
    _tensor(input, fn)
    _check_p(p, fn)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{fn}: expected {spatial + 1}-D (unbatched) or {spatial + 2}-D "
                           f"(batched) input, got input of shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    lead = input.ndim - spatial
    return _masked(input, p, tuple(input.shape[:lead]) + (1,) * spatial)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability p, scale by 1/(1 − p)."""
    return _channel_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels (feature maps) of (N, C, H, W) input with probability p and scale the
    rest by 1/(1 − p).  A 3-D input is taken as (N, C, L), as PyTorch does."""
    _tensor(input, "dropout2d")
    if input.ndim == 3:
        return _channel_dropout(input, p, training, 1, "dropout2d")
    return _channel_dropout(input, p, training, 2, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability p."""
    return _channel_dropout(input, p, training, 3, "dropout3d")


# ------------------------------------------------------------------------------ activations
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return ops.relu(_tensor(input, "relu"))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope·x otherwise."""
    return ops.leaky_relu(_tensor(input, "leaky_relu"), negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    """σ(x) = 1/(1 + e^(−x))."""
    return ops.sigmoid(_tensor(input, "sigmoid"))


def tanh(input: Tensor) -> Tensor:
    return ops.tanh(_tensor(input, "tanh"))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β) log(1 + e^(βx)), linear where βx > threshold (as PyTorch)."""
    return ops.softplus(_tensor(input, "softplus"), beta, threshold)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU(x) = x·Φ(x) = ½x(1 + erf(x/√2)) (approximate='none'), or
    ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (approximate='tanh').

    Φ(x) is evaluated as ½ erfc(−x/√2): 1 + erf(x/√2) is 0 from x ≈ −8.3 on (PyTorch's GELU(−10)
    is 0, not −7.6e-23, and its slope there 1 % off), and loses digits well before."""
    _tensor(input, "gelu")
    if approximate == "none":
        return input * 0.5 * ops.erfc(input * (-1.0 / math.sqrt(2.0)))
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (1.0 + ops.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α(eˣ − 1) otherwise (eˣ evaluated only where it is used, so no overflow)."""
    _tensor(input, "elu")
    positive = ~(np.real(input._data) <= 0)       # NaN takes the x branch, as in PyTorch
    negative_part = ops.expm1(ops.where(positive, 0.0, input)) * alpha
    return ops.where(positive, input, negative_part)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale·elu(x, α) with α ≈ 1.6733, scale ≈ 1.0507 (self-normalising constants)."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x) (also called swish)."""
    return _tensor(input, "silu") * ops.sigmoid(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x))."""
    return _tensor(input, "mish") * ops.tanh(ops.softplus(input))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """min_val below min_val, max_val above max_val, x between; gradient 1 strictly inside."""
    _tensor(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    re = np.real(input._data)
    return ops.where(re <= min_val, min_val, ops.where(re >= max_val, max_val, input))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = −softplus(−x), stable for large |x|."""
    return -ops.softplus(-_tensor(input, "logsigmoid"))


def softsign(input: Tensor) -> Tensor:
    """x/(1 + |x|)."""
    return input / (1 + ops.abs(_tensor(input, "softsign")))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """e^(xᵢ)/Σⱼ e^(xⱼ) along ``dim`` (max-subtracted)."""
    return ops.softmax(_tensor(input, "softmax"), dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """softmax(−x)."""
    return ops.softmax(-_tensor(input, "softmin"), dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """xᵢ − log Σⱼ e^(xⱼ) along ``dim`` (log-sum-exp with max subtraction; idempotent, ryu24.q4)."""
    return ops.log_softmax(_tensor(input, "log_softmax"), dim, dtype)


# ------------------------------------------------------------------------------ utilities
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last dims: ``pad`` = (left, right, top, bottom, …) starting from the last dim;
    mode 'constant', 'reflect', 'replicate' or 'circular' (see ``lemmata.ops.pad``)."""
    return ops.pad(_tensor(input, "pad"), pad, mode, value)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each label's index;
    num_classes = −1 means max(tensor) + 1."""
    _tensor(tensor, "one_hot", "tensor")
    if tensor.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensor (an integer dtype), got "
                           f"{tensor.dtype}")
    labels = tensor._data
    if num_classes == -1:
        if labels.size == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from empty tensor")
        num_classes = int(labels.max()) + 1
    if labels.size and labels.min() < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(labels.min())}")
    if labels.size and labels.max() >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes="
                           f"{num_classes}, got {int(labels.max())}")
    return Tensor((labels[..., None] == np.arange(num_classes)).astype(np.int64))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Any = None) -> Tensor:
    """x / max(‖x‖_p, ε) along ``dim``."""
    _tensor(input, "normalize")
    norm = ops.norm(input, p, dim, keepdim=True)
    return input / ops.clamp(norm, min=eps)
