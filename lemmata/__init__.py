"""lemmata: deep learning from first principles in NumPy, and the mathematics behind it, executable.

``import lemmata as torch`` gives the PyTorch-shaped surface: tensors with reverse-mode autodiff,
factories, dtypes, ``no_grad``, and the functional ops (``lemmata.relu``, ``lemmata.cat`` ...).
"""
from . import autograd, backend, cuda, dtypes, ops, random
from .backend import device, get_backend, set_backend
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .dtypes import (
    bool_ as bool, cdouble, cfloat, complex64, complex128, double, float, float16, float32,
    float64, get_default_dtype, half, int, int8, int16, int32, int64, long, set_default_dtype,
    uint8,
)
from .factories import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, is_tensor, linspace,
    numel, ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros,
    zeros_like,
)
from .ops import (
    abs, acos, add, amax, amin, argmax, argmin, argsort, asin, atan, bmm, broadcast_to, cat,
    ceil, chunk, clamp, clip, clone, concat, concatenate, cos, cosh, cumsum, div, divide, dot,
    eq, erf, erfc, exp, exp2, expm1, flatten, flip, floor, floor_divide, gather, ge, gt,
    index_select, isfinite, isinf, isnan, le, leaky_relu, lerp, log, log10, log1p, log2,
    log_softmax, logaddexp, logical_and, logical_not, logical_or, logical_xor, logsumexp, lt,
    masked_fill, matmul, max, maximum, mean, min, minimum, mm, mul, mv, narrow, ne, neg, norm,
    outer, permute, pow, prod, reciprocal, relu, remainder, repeat, reshape, round, rsqrt,
    scatter, scatter_add, select, sigmoid, sign, sin, sinh, softmax, softplus, sort, split,
    sqrt, square, squeeze, stack, std, sub, sum, swapaxes, t, tan, tanh, topk, transpose, tril,
    triu, true_divide, unbind, unflatten, unsqueeze, var, where,
)
from .ops.conv import (  # torch.conv2d etc.: the same functions as nn.functional's
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
)
from .ops.pool import (
    adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, max_pool1d, max_pool2d, max_pool3d,
)
from .random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .tensor import Size, Tensor
from . import optim  # noqa: E402  (optimisers and learning-rate schedules)

__version__ = "0.1.0"


def is_floating_point(x: Tensor) -> "bool":
    return x.is_floating_point()


def is_complex(x: Tensor) -> "bool":
    return x.is_complex()


def allclose(a: Tensor, b: Tensor, rtol: "float" = 1e-5, atol: "float" = 1e-8,
             equal_nan: "bool" = False) -> "bool":
    return a.allclose(b, rtol, atol, equal_nan)


def equal(a: Tensor, b: Tensor) -> "bool":
    return a.equal(b)


from . import func, linalg  # noqa: E402  (function transforms; convolution matrices, Hessian spectra)
from . import nn, models  # noqa: E402  (modules, layers, init, functional; the seed architectures)
from . import data, io, utils  # noqa: E402  (data sets and loaders; safetensors save/load and checkpoints)
from . import parallel  # noqa: E402  (data-parallel training steps over threads)
from .io import load, save  # noqa: E402  (torch.save/torch.load for state dicts)
