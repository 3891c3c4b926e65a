"""The ops: every differentiable computation, one family per module.

Each op is a :class:`~lemmata.autograd.Function` (forward on arrays, backward on Tensors, side by
side) plus a functional form that checks its arguments; Tensor methods and operators call these.
"""
from .arguments import normalize_dim, normalize_dims
from .elementwise import (
    abs, acos, add, asin, atan, ceil, clamp, clip, cos, cosh, div, divide, eq, erf, erfc, exp,
    exp2, expm1, floor, floor_divide, ge, gt, isfinite, isinf, isnan, le, leaky_relu, lerp, log,
    log10, log1p, log2, logaddexp, logical_and, logical_not, logical_or, logical_xor, lt,
    masked_fill, maximum, minimum, mul, ne, neg, pow, reciprocal, relu, remainder, round, rsqrt,
    scaled_gradient, sigmoid, sign, sin, sinh, softplus, sqrt, square, sub, tan, tanh, tril,
    triu, true_divide, where,
)
from .linalg import bmm, dot, matmul, mm, mv, outer
from .conv import (
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, true_conv,
)
from .pool import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
    adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d,
    max_pool2d, max_pool3d,
)
from .reduce import (
    amax, amin, argmax, argmin, cumsum, logsumexp, log_softmax, max, mean, min, norm, prod,
    softmax, std, sum, var,
)
from .shape import (
    argsort, assign_index, broadcast_to, cast, cat, chunk, clone, concat, concatenate, expand,
    expand_as, flatten, flip, gather, getitem, index_put, index_select, narrow, pad, permute,
    repeat, reshape, scatter, scatter_add, select, sort, split, squeeze, stack, swapaxes, t,
    to_device, topk, transpose, unbind, unflatten, unsqueeze, view,
)
