"""Convolution: conv1d/2d/3d, their adjoints conv_transpose1d/2d/3d, and the true convolution.

Like PyTorch, ``convNd`` computes the cross-correlation of the input with the kernel:

    y[n, o, p] = b[o] + Σ_c Σ_k w[o, c, k] · x_pad[n, g·C_g + c, p·s + k·d]

for output position p, kernel offset k (per spatial dim), stride s, dilation d, and o in group g
(each group of C_out/G output channels sees only its own C_g = C_in/G input channels).

One idea carries the forward pass, and its adjoints carry the backward pass:

* im2col: every receptive field of the padded input is copied, as a row, into one matrix (a
  ``sliding_window_view`` sliced by stride and dilation), so the whole convolution is ONE matrix
  product per group,  Y = cols · Wᵀ.  The matrices are laid out channels-last (NHWC), which makes
  a 1×1 convolution a plain (N·H·W, C) @ (C, K) product; the result is returned as an NCHW view of
  that memory.
* col2im, the adjoint of im2col: the rows of a column matrix are added back into the image, one
  shifted strided slice per kernel offset (never ``np.add.at``).

Both work through the batch in chunks whose column matrix fits a per-thread scratch buffer
(:mod:`lemmata.ops.workspace`): the columns of NiN's 5×5 96→192 layer are 315 MB at batch 128,
a chunk's stay near the cache, and the output of each chunk's GEMM is written in place.  A 1×1
convolution needs no columns at all.  For 2-D stride-1 layers whose kernels are wide enough that
the convolution theorem needs at most half the FLOPs (NiN's 5×5 and 3×3 layers), the same three
maps are computed in the frequency domain instead (:mod:`lemmata.ops.conv_fourier`: 2.2× faster
on NiN's 5×5 layer).  2-D 3×3 stride-1 layers with at least 16 input channels (VGG's, NiN's
3×3 layer) take Winograd's F(2×2, 3×3) first (:mod:`lemmata.ops.conv_winograd`: 0.44 of the
multiply-adds, 1.4–1.8× faster than im2col on Net's layers).  Grouped 3×3 stride-1 layers of
four or more groups run there too, as one dense convolution with the block-diagonal weight.  The
choice depends on shapes and dtype, and on the arrays being finite (the fast routes mix
neighbouring inputs, so an inf would spread; im2col keeps PyTorch's IEEE results); every route is
tested against im2col and against PyTorch.

The convolution y = C(x, w) is bilinear, so the three linear maps

    C(x, w)   convolution                      (Convolution)
    T(g, w)   its adjoint in x: ⟨T(g, w), h⟩ = ⟨g, C(h, w)⟩       (ConvolutionTranspose)
    W(x, g)   its adjoint in w: ⟨W(x, g), v⟩ = ⟨g, C(x, v)⟩       (ConvolutionWeightGrad)

close under differentiation: each one's backward is made of the other two (and itself), so
``create_graph=True`` gives exact second and higher derivatives.  ``conv_transposeNd`` is T.
"""
from __future__ import annotations

import builtins
import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from .arguments import int_tuple
from .shape import flip
from .conv_fourier import (
    fourier_convolve, fourier_convolve_transpose, fourier_weight_gradient, gradient_spectrum,
    FLOP_SHARE, prefers_fourier,
)
from .conv_winograd import (
    prefers_winograd, winograd_convolve, winograd_convolve_transpose, winograd_weight_gradient,
)
from .workspace import batch_chunks, channels_first, channels_last, empty, rows_per_run, scratch

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "true_conv", "im2col", "im2col_transposed", "col2im", "ConvGeometry", "Convolution",
    "ConvolutionTranspose", "ConvolutionWeightGrad",
]


# ------------------------------------------------------------------------------ geometry


@dataclass(frozen=True)
class ConvGeometry:
    """Everything about a convolution except its arrays.

    ``in_size``: spatial size of the convolution's input (before padding); ``out_size``: spatial
    size of its output (at most what the padded input allows: a transposed convolution with
    output_padding ≥ stride asks for fewer windows than fit); ``padding``: (before, after) per
    spatial dim ('same' pads the odd extra on the right, as PyTorch).
    """

    in_size: tuple[int, ...]
    out_size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    groups: int

    @property
    def padded_size(self) -> tuple[int, ...]:
        return tuple(n + b + a for n, (b, a) in zip(self.in_size, self.padding))

    def window_slices(self, offset: Sequence[int]) -> tuple[slice, ...]:
        """The padded-input positions that kernel offset ``offset`` meets, one per output
        position: p·s + k·d for p < out."""
        return tuple(builtins.slice(k * d, k * d + (o - 1) * s + 1, s) for k, d, o, s in
                     zip(offset, self.dilation, self.out_size, self.stride))


def _result_dtype(*arrays: np.ndarray | None) -> np.dtype:
    return np.result_type(*[a for a in arrays if a is not None])


def _size(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _pointwise(geometry: ConvGeometry) -> bool:
    """A 1×1 convolution with stride 1 and no padding: its columns are the input itself, so it
    is one plain (N·P, C) @ (C, K) product with no copy at all."""
    return (all(k == 1 for k in geometry.kernel) and all(s == 1 for s in geometry.stride)
            and not any(b or a for b, a in geometry.padding)
            and geometry.in_size == geometry.out_size)  # not so with output_padding


#: a chunk's GEMM gets at least this many rows: thinner products lose BLAS speed (measured on
#: Net's 4×4 layers, where a scratch-sized chunk is 400 rows)
MIN_ROWS = 2048


def _chunks(n: int, geometry: ConvGeometry, channels: int, dtype: np.dtype) -> list[slice]:
    """Batch chunks whose column matrices fit the scratch budget but have at least MIN_ROWS
    rows (one chunk when pointwise)."""
    if _pointwise(geometry):
        return [builtins.slice(0, n)] if n else []
    positions = _size(geometry.out_size)
    columns = positions * _size(geometry.kernel) * channels * dtype.itemsize
    return batch_chunks(n, columns, minimum=-(-MIN_ROWS // max(positions, 1)))


def im2col(x: np.ndarray, geometry: ConvGeometry, out: np.ndarray | None = None) -> np.ndarray:
    """The receptive fields of x (N, C, *S) as rows: an array (G, N·P, K·C_g) with
    cols[g, (n, p), (k, c)] = x_pad[n, g·C_g + c, p·s + k·d]  (P output positions, K kernel
    offsets, channels innermost so that every copied run is a contiguous channel vector).

    One copy of a ``sliding_window_view``, written in the destination's order (a loop over
    kernel offsets was 2.4× slower); into ``out`` when given.
    """
    nd, groups = len(geometry.kernel), geometry.groups
    n, c = x.shape[:2]
    x_last = channels_last(x)
    if any(b or a for b, a in geometry.padding):
        padded = scratch("conv-padded", (n,) + geometry.padded_size + (c,), x.dtype, like=x)
        padded.fill(0)
        interior = tuple(builtins.slice(b, b + m) for (b, _), m in
                         zip(geometry.padding, geometry.in_size))
        padded[(builtins.slice(None),) + interior] = x_last
        x_last = padded
    extent = tuple(d * (k - 1) + 1 for k, d in zip(geometry.kernel, geometry.dilation))
    windows = sliding_window_view(x_last, extent, axis=tuple(range(1, nd + 1)))
    # windows: (N, *S', C, *extent); stride picks window starts, dilation picks taps
    windows = windows[(builtins.slice(None),)
                      + tuple(builtins.slice(0, (o - 1) * s + 1, s)
                              for o, s in zip(geometry.out_size, geometry.stride))
                      + (builtins.slice(None),)
                      + tuple(builtins.slice(None, None, d) for d in geometry.dilation)]
    windows = windows.reshape((n,) + geometry.out_size + (groups, c // groups) + geometry.kernel)
    # destination order (G, N, *O, *k, C_g): the GEMM's row order
    order = ((nd + 1, 0) + tuple(range(1, nd + 1)) + tuple(range(nd + 3, 2 * nd + 3))
             + (nd + 2,))
    shape = (groups, n) + geometry.out_size + geometry.kernel + (c // groups,)
    if out is None:
        out = np.empty(shape, dtype=x.dtype, like=x)
    np.copyto(out.reshape(shape), windows.transpose(order))
    return out.reshape(groups, n * _size(geometry.out_size), -1)


#: inputs with at most this many channels (a network's first layer: grey or RGB images) get
#: transposed columns (:func:`im2col_transposed`): a channels-last row would be copied in runs
#: of only C floats, a transposed one in runs of a whole output row.  LeNet-5's 1-channel 5×5
#: layer, batch 64, one core: im2col 2.3 → 0.4 ms.
FEW_CHANNELS = 4


def _few_channels(geometry: ConvGeometry, channels: int) -> bool:
    return geometry.groups == 1 and channels <= FEW_CHANNELS and not _pointwise(geometry)


def im2col_transposed(x: np.ndarray, geometry: ConvGeometry,
                      out: np.ndarray | None = None) -> np.ndarray:
    """The transpose of :func:`im2col` for one group, (C·K, N·P), rows ordered (c, k) like the
    flattened weight (C_out, C, *k): cols_t[(c, k), (n, p)] = x_pad[n, c, p·s + k·d].

    One copy of a ``sliding_window_view`` of the channels-first input, each copied run a row of
    output positions; into ``out`` when given.
    """
    nd = len(geometry.kernel)
    n, c = x.shape[:2]
    x_first = np.moveaxis(x, 0, 1)                                     # (C, N, *S)
    if any(b or a for b, a in geometry.padding):
        padded = scratch("conv-padded-first", (c, n) + geometry.padded_size, x.dtype, like=x)
        padded.fill(0)
        interior = tuple(builtins.slice(b, b + m) for (b, _), m in
                         zip(geometry.padding, geometry.in_size))
        padded[(builtins.slice(None),) * 2 + interior] = x_first
        x_first = padded
    extent = tuple(d * (k - 1) + 1 for k, d in zip(geometry.kernel, geometry.dilation))
    windows = sliding_window_view(x_first, extent, axis=tuple(range(2, nd + 2)))
    windows = windows[(builtins.slice(None),) * 2
                      + tuple(builtins.slice(0, (o - 1) * s + 1, s)
                              for o, s in zip(geometry.out_size, geometry.stride))
                      + tuple(builtins.slice(None, None, d) for d in geometry.dilation)]
    # (C, N, *O, *k) → destination order (C, *k, N, *O)
    order = (0,) + tuple(range(nd + 2, 2 * nd + 2)) + (1,) + tuple(range(2, nd + 2))
    shape = (c,) + geometry.kernel + (n,) + geometry.out_size
    if out is None:
        out = np.empty(shape, dtype=x.dtype, like=x)
    np.copyto(out.reshape(shape), windows.transpose(order))
    return out.reshape(c * _size(geometry.kernel), n * _size(geometry.out_size))


def _columns(x: np.ndarray, geometry: ConvGeometry, few: bool = False,
             keep: bool = False) -> np.ndarray:
    """im2col of a batch chunk into this thread's scratch as (G, N·P, K·C_g), or a view of x when
    pointwise; with ``few`` (see :data:`FEW_CHANNELS`) a transposed view (1, N·P, C·K) of
    :func:`im2col_transposed`, which BLAS reads as it is.  ``keep``: into memory of their own
    instead of the scratch, to outlive the call."""
    if _pointwise(geometry):
        groups, c = geometry.groups, x.shape[1]
        rows = channels_last(x).reshape(-1, groups, c // groups)
        return rows.transpose(1, 0, 2)

    def memory(shape: tuple[int, ...]) -> np.ndarray:
        return empty(shape, x.dtype, like=x) if keep else scratch("conv-columns", shape, x.dtype,
                                                                  like=x)
    if few:
        shape = (x.shape[1] * _size(geometry.kernel), x.shape[0] * _size(geometry.out_size))
        return im2col_transposed(x, geometry, out=memory(shape)).T[None]
    shape = ((geometry.groups, x.shape[0] * _size(geometry.out_size),
              _size(geometry.kernel) * (x.shape[1] // geometry.groups)))
    return im2col(x, geometry, out=memory(shape))


#: the forward pass keeps a layer's im2col columns for its weight gradient when the whole
#: batch's take at most this many bytes: LeNet-5's two layers at batch 64 (5.0 and 3.8 MB) then
#: skip their second im2col, 0.33 and 0.22 ms of a 9.8 ms step (one core).  Larger layers
#: compute their columns again in the backward pass, chunk by chunk, in cache.
KEEP_COLUMNS_BYTES = 8 << 20


def _keeps_columns(x: np.ndarray, geometry: ConvGeometry, dtype: np.dtype) -> bool:
    """Whether the columns of x (N, C, *S) fit :data:`KEEP_COLUMNS_BYTES` (never pointwise,
    whose columns are x itself, nor empty)."""
    size = x.shape[0] * _size(geometry.out_size) * _size(geometry.kernel) * x.shape[1]
    return not _pointwise(geometry) and 0 < size * dtype.itemsize <= KEEP_COLUMNS_BYTES


def col2im(cols: np.ndarray, geometry: ConvGeometry, out: np.ndarray | None = None,
           offset_major: bool = False) -> np.ndarray:
    """The adjoint of :func:`im2col`: cols (G, N·P, K·C_g) added back into a zero image, one
    shifted strided slice per kernel offset (never ``np.add.at``); returns x-shaped (N, C, *S)
    (channels-last memory), written into ``out`` (N, *S, C) when given.

    ``offset_major``: cols are (K, N·P, C_g) for one group instead, so that each offset's
    piece is contiguous (see :data:`NARROW_GROUPS`)."""
    groups, nd = geometry.groups, len(geometry.kernel)
    positions, taps = builtins.max(_size(geometry.out_size), 1), _size(geometry.kernel)
    if offset_major:
        n, c_g = cols.shape[1] // positions, cols.shape[2]
        pieces = cols.reshape(geometry.kernel + (1, n) + geometry.out_size + (c_g,))
    else:
        n, c_g = cols.shape[1] // positions, cols.shape[2] // builtins.max(taps, 1)
        pieces = np.moveaxis(cols.reshape((groups, n) + geometry.out_size + geometry.kernel
                                          + (c_g,)), tuple(range(nd + 2, 2 * nd + 2)),
                             tuple(range(nd)))                     # (*k, G, N, *O, C_g)
    if out is None:
        out = np.empty((n,) + geometry.in_size + (groups * c_g,), dtype=cols.dtype, like=cols)
    padded = any(b or a for b, a in geometry.padding)
    image = (scratch("conv-image", (n,) + geometry.padded_size + (groups, c_g), cols.dtype,
                     like=cols)
             if padded else out.reshape((n,) + geometry.in_size + (groups, c_g)))
    image.fill(0)
    rank = pieces.ndim - nd                                 # of one offset's piece (G, N, *O, C_g)
    groups_second_last = tuple(range(1, rank - 1)) + (0, rank - 1)      # → (N, *O, G, C_g)
    for offset in np.ndindex(*geometry.kernel):
        image[(builtins.slice(None),) + geometry.window_slices(offset)] += (
            pieces[offset].transpose(groups_second_last))
    if padded:
        crop = tuple(builtins.slice(b, b + m) for (b, _), m in zip(geometry.padding,
                                                                      geometry.in_size))
        out.reshape(image.shape[:1] + geometry.in_size + image.shape[-2:])[...] = image[
            (builtins.slice(None),) + crop]
    return channels_first(out)


def _grad_rows(g: np.ndarray, groups: int) -> np.ndarray:
    """The output gradient (N, C_out, *O) as (G, N·P, C_out/G) matrices (a view when g is
    channels-last in memory, as the ops here make it)."""
    c_out = g.shape[1]
    g_last = channels_last(g).reshape(-1, groups, c_out // groups)
    return g_last.transpose(1, 0, 2)


def _weight_matrix(w: np.ndarray, groups: int, few: bool = False) -> np.ndarray:
    """w (C_out, C_g, *k) as (G, K·C_g, C_out/G), rows ordered like im2col's columns; with
    ``few`` (one group, transposed columns) as the view (1, C·K, C_out), rows ordered (c, k).

    The transposing copy goes 32 output channels at a time: a whole-array transpose of a
    512×512×3×3 kernel strides through memory and took 9 ms, the blocked one 1.7 ms."""
    c_out, c_g = w.shape[:2]
    if few:
        return w.reshape(1, c_out, -1).transpose(0, 2, 1)
    nd = w.ndim - 2
    grouped = w.reshape((groups, c_out // groups, c_g) + w.shape[2:])
    source = grouped.transpose((0,) + tuple(range(3, nd + 3)) + (2, 1))   # (G, *k, C_g, C_out/G)
    matrix = np.empty(source.shape, dtype=w.dtype, like=w)
    for start in range(0, c_out // groups, 32):
        block = (Ellipsis, builtins.slice(start, start + 32))
        matrix[block] = source[block]
    return matrix.reshape(groups, w[0].size, c_out // groups)


def _matmul_into(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """out (n, *P, G·M), a contiguous channels-last block, ← a (G, R, K) @ b (G, K, M) per group."""
    groups = a.shape[0]
    if groups == 1:
        np.matmul(a[0], b[0], out=out.reshape(a.shape[1], b.shape[2]))
    else:
        out.reshape(a.shape[1], groups, b.shape[2])[...] = np.moveaxis(np.matmul(a, b), 0, 1)


def _finite(*arrays: np.ndarray) -> bool:
    """Whether every entry of ``arrays`` is finite, by one summation pass each (a sum that
    overflows counts as not finite, which only costs the faster route)."""
    return all(np.isfinite(np.sum(a)) for a in arrays)


#: a grouped 3×3 stride-1 layer of at least this many groups runs as one ungrouped convolution
#: with the block-diagonal weight (zero outside the groups' blocks), on the Winograd route: G
#: times the multiply-adds, but one wide GEMM per transform position instead of G thin ones.
#: Measured (64→64 on 32×32, batch 128, two cores, ms, grouped / dense, forward and forward +
#: backward): 2 groups 63 / 82 and 257 / 261, 4 groups 100 / 85 and 406 / 300, 8 groups
#: 141 / 101 and 452 / 291, 32 groups 262 / 80 and 1,106 / 267, depthwise (64) 172 / 80 and
#: 737 / 272; 256→256 in 32 groups on 8×8, batch 64: 26 / 21 and 113 / 71.
DENSE_GROUPS = 4
#: ... as long as the dense weight has at most this many entries per tap (C_in · C_out)
MAX_DENSE_WEIGHT = 512 * 512


#: the input gradient (the transposed map) of a one-group layer with at most this many input
#: channels and a kernel of at least NARROW_FOURIER_TAPS taps takes the Fourier route up to
#: NARROW_FOURIER_SHARE of im2col's FLOPs, not FLOP_SHARE: im2col's transposed map is then K
#: thin products and a col2im of K shifted adds (see NARROW_GROUPS), far below GEMM speed.
#: Measured (one core, batch 64, Fourier FLOP share, im2col / Fourier ms), 5×5 kernels:
#: LeNet-5's 6→16 on 14×14 (1.02) 1.34 / 0.94; 16→32 on 16×16 (0.52) 8.55 / 4.31; 16→16 on
#: 8×8 (0.58) 1.33 / 0.78; 8→16 on 28×28 (1.21) 11.1 / 7.5; 6→16 on 32×32 (1.60) 12.6 / 9.5;
#: 3→32 on 32×32 (2.47) 17.2–19.4 / 14.6.  With 24 or 32 input channels the two routes were
#: even, and so were 3×3 kernels, whose K is small (8→16 on 16×16, share 2.10: 1.60 / 1.72;
#: 12→24, share 1.51: 2.80 / 2.74).  The forward and weight-gradient maps of these layers
#: were faster on im2col (LeNet-5's 6→16: 0.64 / 0.91 ms forward).
NARROW_FOURIER_CHANNELS = 16
NARROW_FOURIER_TAPS = 25
NARROW_FOURIER_SHARE = 2.5


def _route(geometry: ConvGeometry, n: int, c_in: int, c_out: int, dtype: np.dtype,
           *arrays: np.ndarray, transpose: bool = False) -> tuple[str | None, ConvGeometry]:
    """How a map of this layer is computed: ("winograd" or "fourier", geometry) where that route
    applies and pays (see its module), with the geometry made ungrouped where a grouped layer
    runs as a dense one (see DENSE_GROUPS); (None, geometry) for im2col.  ``transpose``: the
    map is the input gradient (see NARROW_FOURIER_CHANNELS).

    Both fast routes need finite ``arrays``: they mix each input with its neighbours (a 4×4
    tile, a whole image's spectrum), so one inf or NaN spoils outputs whose windows never see it
    (inf − inf = NaN), where the direct sum, as PyTorch's, gives IEEE results window by window;
    the dense form of a grouped layer would also make NaN in the other groups (0 · inf).
    Measured before this check: one inf in a 16×16 map gave 24,576 NaN outputs on the Fourier
    route, where PyTorch gives 2,400 infs and no NaN.

    Device arrays (a GPU's) take im2col: both fast routes trade multiplications for many small
    host-sized passes, and a GPU's one big GEMM is what it does best."""
    if arrays and not isinstance(arrays[0], np.ndarray):
        return None, geometry
    routed = geometry
    if geometry.groups >= DENSE_GROUPS and c_in * c_out <= MAX_DENSE_WEIGHT:
        dense = replace(geometry, groups=1)
        if prefers_winograd(dense, n, c_in, c_out, dtype):
            routed = dense
    narrow = (transpose and routed.groups == 1 and c_in <= NARROW_FOURIER_CHANNELS
              and _size(routed.kernel) >= NARROW_FOURIER_TAPS)
    if prefers_winograd(routed, n, c_in, c_out, dtype):
        route = "winograd"
    elif prefers_fourier(routed, n, c_in, c_out, dtype,
                         NARROW_FOURIER_SHARE if narrow else FLOP_SHARE):
        route = "fourier"
    else:
        return None, geometry
    return (route, routed) if _finite(*arrays) else (None, geometry)


def _group_blocks(dense: np.ndarray, groups: int) -> np.ndarray:
    """The view (G, C_out/G, G, C_in/G, K) of a dense (C_out, C_in, *k) weight: [g, :, g] is
    group g's block."""
    c_out, c_in = dense.shape[:2]
    return dense.reshape(groups, c_out // groups, groups, c_in // groups, -1)


def _block_diagonal(w: np.ndarray, groups: int) -> np.ndarray:
    """The dense (C_out, C_in, *k) weight of a grouped one (C_out, C_in/G, *k): each group's
    block on the diagonal, zeros elsewhere."""
    dense = np.zeros((w.shape[0], w.shape[1] * groups) + w.shape[2:], w.dtype, like=w)
    diagonal = list(range(groups))
    _group_blocks(dense, groups)[diagonal, :, diagonal] = w.reshape(
        groups, w.shape[0] // groups, w.shape[1], -1)
    return dense


def _diagonal_blocks(dense: np.ndarray, groups: int) -> np.ndarray:
    """The grouped (C_out, C_in/G, *k) weight on the diagonal of a dense one: the adjoint of
    :func:`_block_diagonal` (the weight gradient of a layer computed densely)."""
    diagonal = list(range(groups))
    blocks = _group_blocks(dense, groups)[diagonal, :, diagonal]      # (G, C_out/G, C_in/G, K)
    return blocks.reshape((dense.shape[0], dense.shape[1] // groups) + dense.shape[2:])


#: a layer of few input channels (see FEW_CHANNELS) and at most this many output channels
#: computes its forward product image by image, (P × C·K) @ (C·K × C_out) with both in cache,
#: not as one (N·P)-row product: OpenBLAS runs a product this thin over many rows at a third of
#: the speed.  One core, batch 64, ms, one product / image by image: LeNet-5's 1→6 5×5 layer on
#: 28×28 0.61 / 0.27; 1→16 0.67 / 0.47; 3→6 3×3 on 32×32 0.86 / 0.31; 3→16 0.95 / 0.61; 3→16 5×5
#: 4.45 / 4.68, the one loss measured; from 32 output channels on the two were even (0.93–1.31).
THIN_OUTPUT = 16


def _convolve(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geometry: ConvGeometry,
              keep_columns: bool = False) -> tuple[np.ndarray, np.ndarray | None,
                                                   np.ndarray | None]:
    """C(x, w) + b: per batch chunk, im2col into scratch and one GEMM per group, written
    straight into the channels-last output.  Returns (y, tiles, columns), the last two what the
    backward pass can use again or None: on the Winograd route w's kernel tiles (for the input
    gradient); with ``keep_columns``, on the im2col route, the whole batch's columns if small
    enough (:data:`KEEP_COLUMNS_BYTES`, for the weight gradient)."""
    dtype = _result_dtype(x, w, b)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    n, c_out = x.shape[0], w.shape[0]
    y = empty((n,) + geometry.out_size + (c_out,), dtype, like=x)
    route, routed = _route(geometry, n, x.shape[1], c_out, dtype, x, w)
    if route == "winograd":
        if routed is not geometry:                    # a grouped layer computed densely
            w = _block_diagonal(w, geometry.groups)
        tiles = winograd_convolve(channels_last(x), w, routed, y)
        if b is not None:
            _add_bias(y, b)
        return channels_first(y), tiles, None
    if route == "fourier":
        fourier_convolve(channels_last(x), w, geometry, y)
        if b is not None:
            _add_bias(y, b)
        return channels_first(y), None, None
    few = _few_channels(geometry, x.shape[1])
    weights = _weight_matrix(w, geometry.groups, few)             # (G, K·C_g, C_out/G)
    keep = keep_columns and _keeps_columns(x, geometry, dtype)    # then the batch in one piece
    positions = _size(geometry.out_size)
    per_image = few and c_out <= THIN_OUTPUT and positions >= MIN_IMAGE_ROWS
    columns = None
    for rows in [builtins.slice(0, n)] if keep else _chunks(n, geometry, x.shape[1], dtype):
        columns = _columns(x[rows], geometry, few, keep=keep)
        if per_image:           # (P × C·K) @ (C·K × C_out) image by image: each one in cache
            m = columns.shape[1] // positions
            np.matmul(columns[0].reshape(m, positions, -1), weights[0],
                      out=y[rows].reshape(m, positions, c_out))
        else:
            _matmul_into(y[rows], columns, weights)
        if b is not None:
            _add_bias(y[rows], b)                                  # while the chunk is in cache
    return channels_first(y), None, columns if keep else None


def _add_bias(y: np.ndarray, b: np.ndarray) -> None:
    """y (…, C) += b in place for a C-contiguous channels-last y (every route's output buffer),
    over rows widened to many channel vectors when C is small (LeNet-5's 6 channels at batch 64:
    0.25 → 0.06 ms)."""
    k = rows_per_run(y.size // max(b.size, 1), b.size)
    if k == 1:
        y += b
    else:
        y.reshape(-1, k * b.size)[...] += np.tile(b, k)


#: groups of fewer input channels than this get the input gradient's columns offset-major,
#: (K, N·P, C_g), so that col2im adds contiguous pieces rather than runs of C_g floats (one core,
#: batch 64: LeNet-5's 6-channel 5×5 layer 6.7 → 1.7 ms, 3×3 32→32 on 16×16 18 → 9 ms; at 128
#: channels the two layouts were even)
NARROW_GROUPS = 64


def _convolve_transpose(g: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                        geometry: ConvGeometry, spectrum: np.ndarray | None = None,
                        kernel_tiles: np.ndarray | None = None) -> np.ndarray:
    """T(g, w) + b: per batch chunk, one GEMM per group to columns, then col2im.
    ``kernel_tiles``: w's Winograd kernel tiles, from the forward pass, if it took that route."""
    dtype = _result_dtype(g, w, b)
    g, w = g.astype(dtype, copy=False), w.astype(dtype, copy=False)
    n, groups = g.shape[0], geometry.groups
    x = empty((n,) + geometry.in_size + (w.shape[1] * groups,), dtype, like=g)
    route, routed = _route(geometry, n, x.shape[-1], g.shape[1], dtype, g, w, transpose=True)
    if route == "winograd":
        if routed is not geometry:                    # a grouped layer computed densely
            w = _block_diagonal(w, groups)
        reusable = kernel_tiles is not None and kernel_tiles.dtype == dtype
        winograd_convolve_transpose(channels_last(g), w, routed, x,
                                    kernel_tiles if reusable else None)
        if b is not None:
            _add_bias(x, b)
        return channels_first(x)
    if route == "fourier":
        fourier_convolve_transpose(channels_last(g), w, geometry, x, spectrum)
        if b is not None:
            _add_bias(x, b)
        return channels_first(x)
    narrow = groups == 1 and w.shape[1] < NARROW_GROUPS
    if narrow:        # (K, C_out, C_g): one product per kernel offset, into offset-major columns
        weights = np.moveaxis(w.reshape(w.shape[:2] + (-1,)), -1, 0)
    else:
        weights = _weight_matrix(w, groups).transpose(0, 2, 1)    # (G, C_out/G, K·C_g)
    for rows in _chunks(n, geometry, x.shape[-1], dtype):
        g_rows = _grad_rows(g[rows], groups)
        if _pointwise(geometry):
            _matmul_into(x[rows], g_rows, weights)
            continue
        cols = scratch("conv-products", (weights.shape[0], g_rows.shape[1], weights.shape[2]),
                       dtype, like=g)
        np.matmul(g_rows, weights, out=cols)
        col2im(cols, geometry, out=x[rows], offset_major=narrow)
    if b is not None:
        _add_bias(x, b)
    return channels_first(x)


#: a weight gradient with at most this many entries (per group) is summed image by image: one
#: (N·P)-long product into a tiny matrix is a BLAS shape it handles badly.  One core, batch 64:
#: LeNet-5's 1→6 5×5 layer 1.27 → 0.22 ms, its 6→16 layer 0.45 → 0.35 ms, Net's 3→64 3×3 layer
#: 6.4 → 4.7 ms (each image's P rows must be at least MIN_IMAGE_ROWS)
SMALL_WEIGHT = 4096
MIN_IMAGE_ROWS = 64


def _weight_gradient(x: np.ndarray, g: np.ndarray, geometry: ConvGeometry,
                     spectrum: np.ndarray | None = None,
                     columns: np.ndarray | None = None) -> np.ndarray:
    """W(x, g): im2col(x)ᵀ times the output gradient, one GEMM per group and batch chunk,
    summed over the chunks; ``columns``: the whole batch's im2col(x), kept by the forward pass
    (see :data:`KEEP_COLUMNS_BYTES`)."""
    dtype = _result_dtype(x, g)
    x, g = x.astype(dtype, copy=False), g.astype(dtype, copy=False)
    groups, c_out = geometry.groups, g.shape[1]
    c_g = x.shape[1] // groups
    route, routed = _route(geometry, x.shape[0], x.shape[1], c_out, dtype, x, g)
    if route == "winograd":
        gw = winograd_weight_gradient(channels_last(x), channels_last(g), routed)
        return gw if routed is geometry else _diagonal_blocks(gw, groups)
    if route == "fourier":
        return fourier_weight_gradient(channels_last(x), channels_last(g), geometry, spectrum)
    few = _few_channels(geometry, x.shape[1])
    gw = np.zeros((groups, c_out // groups, _size(geometry.kernel) * c_g), dtype=dtype, like=x)
    positions = _size(geometry.out_size)
    per_image = gw[0].size <= SMALL_WEIGHT and positions >= MIN_IMAGE_ROWS
    if columns is not None and columns.dtype == dtype:
        pieces = [(builtins.slice(0, x.shape[0]), columns)]
    else:
        pieces = [(rows, None) for rows in _chunks(x.shape[0], geometry, x.shape[1], dtype)]
    for rows, cols in pieces:
        g_rows = _grad_rows(g[rows], groups)
        cols = _columns(x[rows], geometry, few) if cols is None else cols
        if per_image:            # Σ over images of (P × C_out)ᵀ (P × K·C_g): small GEMMs in cache
            m = g_rows.shape[1] // positions
            gw += np.matmul(g_rows.reshape(groups, m, positions, -1).transpose(0, 1, 3, 2),
                            cols.reshape(groups, m, positions, -1)).sum(axis=1)
            continue
        gw += np.matmul(g_rows.transpose(0, 2, 1), cols,
                        out=scratch("conv-weight-partial", gw.shape, dtype, like=x))
    if few:                                          # columns ordered (c, k), as w itself
        return gw.reshape((c_out, c_g) + geometry.kernel)
    gw = gw.reshape((c_out,) + geometry.kernel + (c_g,))
    gw = np.moveaxis(gw, -1, 1)                                     # (C_out, C_g, *k)
    return np.ascontiguousarray(gw, like=gw)


def _shared_spectrum(x: np.ndarray, w: np.ndarray, g: np.ndarray,
                     geometry: ConvGeometry) -> np.ndarray | None:
    """On the Fourier route, the output gradient's spectrum, which the input gradient and the
    weight gradient both need: computed once and passed to both (not on the Winograd route,
    which the two maps take first and which has no use for it).  Whether g is finite is left to
    the two maps, which take im2col and ignore the spectrum when it is not: a pass over g saved
    in the common case, a wasted spectrum in the rare one."""
    if not isinstance(g, np.ndarray) or not (x.dtype == w.dtype == g.dtype) or _route(
            geometry, x.shape[0], x.shape[1], g.shape[1], g.dtype)[0] != "fourier":
        return None
    with np.errstate(all="ignore"):           # a non-finite g: IEEE, as inside the ops
        return gradient_spectrum(channels_last(g), geometry)


def _bias_gradient(g: Tensor) -> Tensor:
    """∂L/∂b[o] = Σ over batch and positions of g[n, o, p]."""
    return g.sum(dim=(0,) + tuple(range(2, g.ndim)))


class Convolution(Function):
    """y = C(x, w) + b (cross-correlation, PyTorch's convNd) by im2col and one GEMM per group.

    Backward: ∂x = ConvolutionTranspose(g, w), ∂w = ConvolutionWeightGrad(x, g), ∂b = Σ g.
    """

    @staticmethod
    def forward(ctx, x, w, b, *, geometry):
        ctx.geometry = geometry
        ctx.save_for_backward(x, w)
        need_x, need_w = ctx.needs_input_grad[:2]
        y, tiles, ctx.columns = _convolve(x, w, b, geometry, keep_columns=need_w)
        # the Winograd kernel tiles serve the input gradient again (1.8× w's size, kept only
        # when that gradient will be asked for), small im2col columns the weight gradient; the
        # saved tensors' version checks guard both
        ctx.kernel_tiles = tiles if need_x else None
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        shared = _shared_spectrum(x._data, w._data, g._data, ctx.geometry) if need_x and need_w \
            else None
        # used once: a second backward (retain_graph) computes them again, and a graph kept
        # alive after backward does not keep them
        tiles, columns = ctx.kernel_tiles, ctx.columns
        ctx.kernel_tiles = ctx.columns = None
        gx = (ConvolutionTranspose.apply(g, w, None, geometry=ctx.geometry, spectrum=shared,
                                         kernel_tiles=tiles)
              if need_x else None)
        gw = (ConvolutionWeightGrad.apply(x, g, geometry=ctx.geometry, spectrum=shared,
                                          columns=columns)
              if need_w else None)
        return gx, gw, _bias_gradient(g) if need_b else None


class ConvolutionTranspose(Function):
    """x = T(g, w) + b, the adjoint of C(·, w) (PyTorch's conv_transposeNd): GEMM then col2im.

    Backward (T is bilinear, ⟨h, T(g, w)⟩ = ⟨C(h, w), g⟩): ∂g = Convolution(h, w),
    ∂w = ConvolutionWeightGrad(h, g), ∂b = Σ h.  ``spectrum``: g's Fourier spectrum, when the
    convolution's backward computed it for both of its gradients; ``kernel_tiles``: w's
    Winograd kernel tiles, when the convolution's forward pass computed them.
    """

    @staticmethod
    def forward(ctx, g, w, b, *, geometry, spectrum=None, kernel_tiles=None):
        ctx.geometry = geometry
        ctx.save_for_backward(g, w)
        return _convolve_transpose(g, w, b, geometry, spectrum, kernel_tiles)

    @staticmethod
    def backward(ctx, h):
        g, w = ctx.saved_tensors
        need_g, need_w, need_b = ctx.needs_input_grad
        gg = Convolution.apply(h, w, None, geometry=ctx.geometry) if need_g else None
        gw = ConvolutionWeightGrad.apply(h, g, geometry=ctx.geometry) if need_w else None
        return gg, gw, _bias_gradient(h) if need_b else None


class ConvolutionWeightGrad(Function):
    """∂L/∂w = W(x, g) = Σ over batch and positions of g ⊗ receptive field: im2col(x)ᵀ g.

    Backward (W is bilinear, ⟨v, W(x, g)⟩ = ⟨C(x, v), g⟩): ∂x = ConvolutionTranspose(g, v),
    ∂g = Convolution(x, v).  ``spectrum``: as for ConvolutionTranspose.
    """

    @staticmethod
    def forward(ctx, x, g, *, geometry, spectrum=None, columns=None):
        ctx.geometry = geometry
        ctx.save_for_backward(x, g)
        return _weight_gradient(x, g, geometry, spectrum, columns)

    @staticmethod
    def backward(ctx, v):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad
        gx = ConvolutionTranspose.apply(g, v, None, geometry=ctx.geometry) if need_x else None
        gg = Convolution.apply(x, v, None, geometry=ctx.geometry) if need_g else None
        return gx, gg


# ------------------------------------------------------------------------------ arguments


def _check_tensor(value: Any, name: str, op: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    if value.dtype.kind not in "fc":
        raise TypeError(f"{op}: {name} must be floating point or complex, got "
                        f"{dtypes.dtype_name(value.dtype)} (shape {tuple(value.shape)})")
    return value


def _common_dtype(op: str, *tensors: Tensor | None) -> list[Tensor | None]:
    """Cast to one dtype.  PyTorch raises on mixed dtypes; lemmata promotes, so that a complex
    input (a complex-step probe) runs through real weights."""
    present = [t for t in tensors if t is not None]
    dtype = present[0].dtype
    for t in present[1:]:
        dtype = dtypes.promote_types(dtype, t.dtype)
    return [None if t is None else t.to(dtype) for t in tensors]


def _batched(input: Tensor, nd: int, op: str, weight: Tensor) -> bool:
    """Check the input's rank; True when it is unbatched (C, *S)."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                           f"but got input of shape {tuple(input.shape)} (weight "
                           f"{tuple(weight.shape)})")
    return input.ndim == nd + 2


def _check_weight(weight: Tensor, nd: int, op: str, layout: str, input: Tensor) -> None:
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{op}: weight must be {nd + 2}-D {layout}, but got weight of shape "
                           f"{tuple(weight.shape)} (input {tuple(input.shape)})")
    if any(k <= 0 for k in weight.shape[2:]) or weight.shape[0] == 0:
        raise RuntimeError(f"{op}: weight of shape {tuple(weight.shape)} has an empty kernel or "
                           f"no channels")


def _check_groups(groups: Any, op: str) -> int:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    return int(groups)


def _check_bias(bias: Tensor | None, channels: int, op: str) -> None:
    if bias is None:
        return
    _check_tensor(bias, "bias", op)
    if tuple(bias.shape) != (channels,):
        raise RuntimeError(f"{op}: bias must have shape ({channels},) (one entry per output "
                           f"channel), got {tuple(bias.shape)}")


def _conv_padding(padding: Any, nd: int, kernel: tuple[int, ...], dilation: tuple[int, ...],
                  stride: tuple[int, ...], op: str) -> tuple[tuple[int, int], ...]:
    """int / tuple → symmetric pairs; 'valid' → none; 'same' → d(k−1) split with the odd extra
    on the right (PyTorch's rule), allowed only with stride 1."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                         f"'valid' or 'same'")
    pads = int_tuple(padding, nd, "padding", op)
    if any(p < 0 for p in pads):
        raise ValueError(f"{op}: negative padding is not supported, got padding={padding!r}")
    return tuple((p, p) for p in pads)


def _positive(values: tuple[int, ...], name: str, op: str) -> tuple[int, ...]:
    if any(v <= 0 for v in values):
        raise ValueError(f"{op}: {name} must be positive, got {name}={values}")
    return values


def _conv(nd: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,
          padding: Any, dilation: Any, groups: Any) -> Tensor:
    op = f"conv{nd}d"
    _check_tensor(input, "input", op)
    _check_tensor(weight, "weight", op)
    batched = _batched(input, nd, op, weight)
    _check_weight(weight, nd, op, "(out_channels, in_channels/groups, *kernel)", input)
    groups = _check_groups(groups, op)
    x = input if batched else input.reshape((1,) + tuple(input.shape))
    c_in, c_out, c_g = x.shape[1], weight.shape[0], weight.shape[1]
    shapes = f"(input {tuple(input.shape)}, weight {tuple(weight.shape)})"
    if c_out % groups:
        raise RuntimeError(f"{op}: out_channels {c_out} is not divisible by groups={groups} "
                           f"{shapes}")
    if c_in % groups:
        raise RuntimeError(f"{op}: input has {c_in} channels, which is not divisible by "
                           f"groups={groups} {shapes}")
    if c_in != c_g * groups:
        per_group = f" ({c_g} per group × {groups} groups)" if groups > 1 else ""
        raise RuntimeError(f"{op}: input has {c_in} channels but weight expects "
                           f"{c_g * groups}{per_group} {shapes}")
    _check_bias(bias, c_out, op)
    kernel = tuple(weight.shape[2:])
    stride = _positive(int_tuple(stride, nd, "stride", op), "stride", op)
    dilation = _positive(int_tuple(dilation, nd, "dilation", op), "dilation", op)
    pads = _conv_padding(padding, nd, kernel, dilation, stride, op)
    in_size = tuple(x.shape[2:])
    padded = tuple(n + b + a for n, (b, a) in zip(in_size, pads))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(e > p for e, p in zip(extent, padded)):
        raise RuntimeError(f"{op}: kernel size {kernel} (dilated extent {extent}) is larger than "
                           f"the padded input size {padded} {shapes}")
    out_size = tuple((p - e) // s + 1 for p, e, s in zip(padded, extent, stride))
    geometry = ConvGeometry(in_size, out_size, kernel, stride, dilation, pads, groups)
    x, weight, bias = _common_dtype(op, x, weight, bias)
    y = Convolution.apply(x, weight, bias, geometry=geometry)
    return y if batched else y.reshape(tuple(y.shape[1:]))


def _conv_transpose(nd: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,
                    padding: Any, output_padding: Any, groups: Any, dilation: Any) -> Tensor:
    op = f"conv_transpose{nd}d"
    _check_tensor(input, "input", op)
    _check_tensor(weight, "weight", op)
    batched = _batched(input, nd, op, weight)
    _check_weight(weight, nd, op, "(in_channels, out_channels/groups, *kernel)", input)
    groups = _check_groups(groups, op)
    x = input if batched else input.reshape((1,) + tuple(input.shape))
    c_in, c_out = x.shape[1], weight.shape[1] * groups
    shapes = f"(input {tuple(input.shape)}, weight {tuple(weight.shape)})"
    if weight.shape[0] % groups:
        raise RuntimeError(f"{op}: weight's in_channels {weight.shape[0]} is not divisible by "
                           f"groups={groups} {shapes}")
    if c_in != weight.shape[0]:
        raise RuntimeError(f"{op}: input has {c_in} channels but weight expects "
                           f"{weight.shape[0]} {shapes}")
    _check_bias(bias, c_out, op)
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a tuple of ints (PyTorch's transposed "
                        f"convolutions take no padding strings), got {padding!r}")
    kernel = tuple(weight.shape[2:])
    stride = _positive(int_tuple(stride, nd, "stride", op), "stride", op)
    dilation = _positive(int_tuple(dilation, nd, "dilation", op), "dilation", op)
    pads = int_tuple(padding, nd, "padding", op)
    extra = int_tuple(output_padding, nd, "output_padding", op)
    if any(p < 0 for p in pads) or any(e < 0 for e in extra):
        raise ValueError(f"{op}: negative padding or output_padding is not supported, got "
                         f"padding={pads}, output_padding={extra}")
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{op}: output padding must be smaller than either stride or dilation, "
                         f"but got output_padding={extra}, stride={stride}, dilation={dilation}")
    grid = tuple(x.shape[2:])
    out_size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in
                     zip(grid, stride, pads, dilation, kernel, extra))
    if any(n <= 0 for n in out_size):
        raise RuntimeError(f"{op}: the output size {out_size} would be empty (padding={pads} "
                           f"too large for {shapes})")
    geometry = ConvGeometry(out_size, grid, kernel, stride, dilation,
                            tuple((p, p) for p in pads), groups)
    x, weight, bias = _common_dtype(op, x, weight, bias)
    y = ConvolutionTranspose.apply(x, weight, bias, geometry=geometry)
    return y if batched else y.reshape(tuple(y.shape[1:]))


# ------------------------------------------------------------------------------ public ops


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of (N, C_in, L) or (C_in, L) with weight (C_out, C_in/G, k):

        y[n, o, p] = b[o] + Σ_c Σ_k w[o, c, k] · x_pad[n, c, p·s + k·d],
        L_out = ⌊(L + 2·pad − d·(k − 1) − 1) / s⌋ + 1.

    ``padding`` is an int, a 1-tuple, 'valid' (none) or 'same' (L_out = L, stride 1 only).
    Backward: ∂x is conv_transpose1d of g, ∂w the ConvolutionWeightGrad op.
    """
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of (N, C_in, H, W) or (C_in, H, W) with weight (C_out, C_in/G, kH, kW):

        y[n, o, i, j] = b[o] + Σ_c Σ_(u,v) w[o, c, u, v] · x_pad[n, c, i·s_h + u·d_h, j·s_w + v·d_w]
        (c over the C_in/G channels of o's group),
        H_out = ⌊(H + 2·pad_h − d_h·(kH − 1) − 1) / s_h⌋ + 1  (likewise W_out).

    ``padding`` is an int, a pair, 'valid' or 'same' (the odd extra goes right/bottom).
    Backward: ∂x is conv_transpose2d of g, ∂w the ConvolutionWeightGrad op.
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D cross-correlation of (N, C_in, D, H, W) or (C_in, D, H, W) with weight
    (C_out, C_in/G, kD, kH, kW), the 3-D analogue of :func:`conv2d` (e.g. video, seed ttic.p3).
    Backward: ∂x is conv_transpose3d of g, ∂w the ConvolutionWeightGrad op.
    """
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The adjoint of conv1d in its input: ⟨conv_transpose1d(y, w), x⟩ = ⟨y, conv1d(x, w)⟩.

    weight is (C_in, C_out/G, k) (PyTorch's layout: conv1d's weight for the map C_out → C_in);
    L_out = (L − 1)·s − 2·pad + d·(k − 1) + output_padding + 1.
    Backward: ∂input is conv1d of g, ∂w the ConvolutionWeightGrad op.
    """
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The adjoint of conv2d in its input: ⟨conv_transpose2d(y, w), x⟩ = ⟨y, conv2d(x, w)⟩, by
    one GEMM to columns and col2im.

    weight is (C_in, C_out/G, kH, kW); H_out = (H − 1)·s − 2·pad + d·(kH − 1) + output_padding + 1
    (likewise W_out); output_padding (< stride or < dilation) picks among the input sizes that a
    strided conv2d maps to the same output size.
    Backward: ∂input is conv2d of g, ∂w the ConvolutionWeightGrad op.
    """
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The adjoint of conv3d in its input; weight (C_in, C_out/G, kD, kH, kW).
    Backward: ∂input is conv3d of g, ∂w the ConvolutionWeightGrad op.
    """
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def true_conv(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
              padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """True convolution: the kernel flipped in its spatial dims, then cross-correlation.

    Deep-learning "convolution" (convNd, as PyTorch) is cross-correlation,
        (w ⋆ x)[p] = Σ_k w[k] · x[p + k],
    while convolution in the signal-processing sense flips the kernel,
        (w ∗ x)[p] = Σ_k w[k] · x[p − k] = Σ_k w[K − 1 − k] · x[p − (K − 1) + k],
    so with 'valid' boundaries w ∗ x = flip(w) ⋆ x: this op.  True convolution is commutative and
    its adjoints are again convolutions (seed 004, bouman.q5_1…q5_6).  The dimensionality
    (conv1d/2d/3d) is the kernel's: weight has 2 + N dims, the input N + 1 (unbatched) or N + 2.
    """
    _check_tensor(weight, "weight", "true_conv")
    nd = weight.ndim - 2
    if nd not in (1, 2, 3):
        raise RuntimeError(f"true_conv: weight must be 3-, 4- or 5-D (out_channels, "
                           f"in_channels/groups, *kernel), got shape {tuple(weight.shape)}")
    return _conv(nd, input, flip(weight, tuple(range(2, weight.ndim))), bias, stride, padding,
                 dilation, groups)
