"""2-D 3×3 convolution by Winograd's minimal filtering F(2×2, 3×3), for stride-1 layers.

The same three linear maps as :mod:`lemmata.ops.conv` (the convolution C(x, w), its adjoint in x
T(g, w) and its adjoint in w W(x, g)), computed on 4×4 input tiles that overlap by two, each of
which yields a 2×2 block of outputs.  In one dimension, two outputs of a 3-tap correlation
y_p = Σ_a w_a · d_(p+a) (p = 0, 1) from four inputs d_0 … d_3 are

    y = Aᵀ [(G w) ⊙ (Bᵀ d)]          (⊙: elementwise, 4 multiplications instead of 6)

    Bᵀ = ⎡1  0 −1  0⎤      G = ⎡1   0   0⎤      Aᵀ = ⎡1  1  1  0⎤
         ⎢0  1  1  0⎥          ⎢½   ½   ½⎥           ⎣0  1 −1 −1⎦
         ⎢0 −1  1  0⎥          ⎢½  −½   ½⎥
         ⎣0  1  0 −1⎦          ⎣0   0   1⎦

and nesting it along both spatial dims gives, for a 4×4 tile d and a 3×3 kernel w,

    Y = Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A        (16 multiplications for 4 outputs instead of 36).

With channels, the elementwise product becomes a channel sum: for the T tiles of the batch
(tile t covers padded-input rows 2i … 2i+3 and columns 2j … 2j+3 and gives outputs 2i, 2i+1 and
2j, 2j+1), input channel c, output channel o and each of the 16 transform positions ξ = (ξ_h, ξ_w),

    V_ξ[t, c] = (Bᵀ d_(t,c) B)_ξ                 the input transform (additions only)
    U_ξ[c, o] = (G w_(o,c) Gᵀ)_ξ                 the kernel transform
    M_ξ       = V_ξ U_ξ                          16 independent (T × C) @ (C × K) GEMMs
    Y_(t,o)   = Aᵀ M_(t,o) A                     the output transform (additions only)

so the GEMMs do 16/36 = 0.44 of the direct convolution's multiply-adds.  The tile grid covers
⌈H_out/2⌉ × ⌈W_out/2⌉ tiles; an odd output size gets one more tile row or column, read from zero
padding and cropped away.

**The input gradient.**  For stride 1, x's adjoint T(g, w)[i] = Σ_a w[a] · g[i + t − a] (t the
padding before) is again a correlation: of g padded by 2 − t before and 2 − t' after (t' the
padding after; negative means cropped), with the kernel flipped spatially and its channel axes
swapped, w̃[c, o, a] = w[o, c, 2 − a].  So T(g, w) is the same routine with U built from w̃,
and that U needs no computing: reversing the taps reverses the columns of G, and G J = P G with
P the permutation that swaps entries 0 and 3, so (G w̃ Gᵀ)_ξ = (G w Gᵀ)_π(ξ), π swapping 0 ↔ 3
in ξ_h and in ξ_w.  Rather than gathering U in that order, the input transform writes V_ξ into
slot π(ξ) of its stack and the output transform reads M_ξ from there: the GEMMs then multiply
slot s by U_s itself, the forward pass's kernel tiles (which the convolution's backward hands
over), transposed in its channels by a view.

**The weight gradient.**  The loss L = Σ ⟨g, y⟩ depends on w only through U.  The output
transform X ↦ Aᵀ X A has the adjoint Y ↦ A Y Aᵀ, and M_ξ = V_ξ U_ξ is linear in U_ξ, so with
M̄_(t,o) = A ḡ_(t,o) Aᵀ (ḡ_(t,o) the 2×2 output-gradient tile, zero where the tile grid
overhangs the output)

    ∂L/∂U_ξ = V_ξᵀ M̄_ξ                         16 GEMMs (C × T) @ (T × K), summed over tiles
    ∂L/∂w_(o,c) = Gᵀ (∂L/∂U)_(c,o) G           the adjoint of w ↦ G w Gᵀ.

The last row of A is (0, −1): computing M̄ with D A instead, D = diag(1, 1, 1, −1), changes
∂L/∂U by the signs D_ξh D_ξw, which Gᵀ … G undoes when it becomes (D G)ᵀ … (D G); that saves the
negating pass over the gradient tiles.

**Layout.**  Everything is channels-last, so each transform is a few vectorised additions of
whole arrays, no loop over tiles, pixels or images.  The padded input is first split by row and
column parity, Q[p, q, n, i, j] = x_pad[n, 2i + p, 2j + q]: then row 2i + a of every tile is
row i + a//2 of parity a%2, so the transform's operands are shifted, contiguous slices of Q (the
strided slices x_pad[:, b::2] ran at 20 GB/s, the contiguous ones at 45–60).  B's 4 combinations
along W, then along H (all four ξ_w at once), write the (4, 4, n, ⌈H_out/2⌉, ⌈W_out/2⌉, C) stack
whose 16 matrices one batched np.matmul multiplies; Aᵀ · A combines the products along H, then
along W straight into the channels-last output, through its (n, H/2, 2, W/2, 2, K) view.  The
batch goes through in chunks of at least MIN_ROWS tiles for the GEMMs (MIN_ROWS_THIN for thin
layers), each chunk's transforms TRANSFORM_VALUES tiles × channels at a time, all in per-thread
scratch.

The coefficients are 0, ±1 and ±½, so rounding stays close to im2col's: float32 results match it
to about 1e-6 relative.  Complex inputs (complex-step probes) keep the im2col route.
"""
from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, ContextManager

import numpy as np

from .threads import (blas_single_threaded, op_threads, run_on_cores, share,
                      single_threaded_blas)
from .workspace import batch_chunks, empty, scratch

if TYPE_CHECKING:  # pragma: no cover
    from .conv import ConvGeometry

__all__ = ["prefers_winograd", "kernel_tiles", "winograd_convolve", "winograd_convolve_transpose",
           "winograd_weight_gradient"]

#: the kernel transform G, and G with its last row negated (D G, see the weight gradient)
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_G_SIGNED = _G * np.array([[1.0], [1.0], [1.0], [-1.0]])
#: w (3×3, flattened a·3 + b) ↦ G w Gᵀ (4×4, flattened ξ_h·4 + ξ_w): the Kronecker product
_KERNEL_TRANSFORM = np.kron(_G, _G)                           # (16, 9)
_KERNEL_ADJOINT = np.kron(_G_SIGNED, _G_SIGNED)               # (16, 9)
#: where V_ξ and M_ξ go in the transforms' stacks, per axis: in order, or (for the input
#: gradient) with 0 and 3 swapped, the permutation with G J = P G
_IN_ORDER, _FLIPPED = (0, 1, 2, 3), (3, 1, 2, 0)

#: Winograd is chosen for layers with at least this many input channels.  Its transforms make
#: some 30 passes over (tiles × channels)-sized arrays, while its GEMMs grow with C_in · C_out,
#: so with a thin input the transforms are the bulk of the work and im2col (whose GEMM is cheap
#: there too) wins.  Measured (forward + both gradients, 64 images, 32×32 maps, one core, best
#: of 11 alternating rounds, ms, im2col / Winograd): 3→64 26 / 39, 8→64 42 / 51, 8→16 19 / 22,
#: 16→64 72 / 56, 16→16 33 / 24, 32→64 145 / 90; thin outputs do not hurt it (64→8 143 / 77).
MIN_IN_CHANNELS = 16
#: ... and at least this many 2×2 output tiles in the batch: the kernel transform (a (16, 9) @
#: (9, C_in·C_out) product, 5 ms for 512×512 channels) must be spread over enough tiles.
#: Measured (as above): 512→512 on 4×4 maps, 1 image (4 tiles) 22 / 28 ms, 2 images (8 tiles)
#: 27 / 25; 256→256 on 8×8, 1 image (16 tiles) 6.1 / 6.3, 2 images 7.6 / 6.9; from 4 images on,
#: Winograd is 1.1–1.8× faster on every layer of Net.
MIN_TILES = 16
#: complex inputs (complex-step probes) keep im2col; half precision has neither the range for
#: the transforms nor a BLAS
_REAL_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


def prefers_winograd(geometry: "ConvGeometry", n: int, c_in: int, c_out: int,
                     dtype: np.dtype) -> bool:
    """True when the Winograd route applies (2-D 3×3 kernel, stride 1, dilation 1, one group,
    float32 or float64) and pays: at least MIN_IN_CHANNELS input channels and MIN_TILES tiles.

    Where the Fourier route applies too (wide 3×3 layers at batch ≥ 16), Winograd goes first.
    Measured (as above, ms, Fourier / Winograd): 128→128 on 16×16 maps 172 / 170, 64→128 on
    16×16 96 / 88, 128→256 on 8×8 70 / 63, NiN's 192→192 on 8×8 108 / 81 (im2col 121); the
    thinner 3×3 layers, which Fourier's own rule turns down, were slower on it still (64→64 on
    16×16 77 / 54, 32→32 on 8×8 7.6 / 4.4)."""
    if (geometry.kernel != (3, 3) or geometry.stride != (1, 1) or geometry.dilation != (1, 1)
            or geometry.groups != 1 or np.dtype(dtype) not in _REAL_TYPES):
        return False
    return c_in >= MIN_IN_CHANNELS and n * _tile_count(geometry.out_size) >= MIN_TILES


# ------------------------------------------------------------------------------ tiles


def _tile_grid(out_size: tuple[int, ...]) -> tuple[int, int]:
    """Tiles per column and per row: each gives 2×2 outputs."""
    return (-(-out_size[0] // 2), -(-out_size[1] // 2))


def _tile_count(out_size: tuple[int, ...]) -> int:
    rows, columns = _tile_grid(out_size)
    return rows * columns


#: a chunk's GEMMs get at least this many rows (tiles).  With BLAS on two cores (the conv suite:
#: 64→64 on 32×32 maps, forward, 128 images) every GEMM call costs the cores a wait on each
#: other, so fewer, taller products pay: medians over alternating runs, at least 512 / 1024 /
#: 2048 / 4096 rows: 186 / 149 / 122 / 107 ms, and in another run 2048 / 4096 / 8192: 95 / 85 /
#: 89 ms.
MIN_ROWS = 4096
#: ... but a layer with fewer multiply-adds per tile than this (C_in · C_out) has GEMMs that are
#: bound by memory, not arithmetic: they want their operands in cache, chunks of MIN_ROWS_THIN.
#: Measured (as above, 512 / 4096 rows): 16→64 on 32×32 83 / 103 ms (the weight gradient
#: 26 / 42), 32→64 86 / 112.
THIN_MACS = 64 * 64
MIN_ROWS_THIN = 512
#: With BLAS on one core (each shard of the data-parallel step) there is no wait to amortise,
#: and layers up to 64·128 multiply-adds per tile want cache-sized chunks too.  Measured
#: (forward + both gradients, 64 images, one core, medians of 7 alternating rounds, ms, 512 /
#: 4096 rows): Net's 64→64 on 32×32 127 / 168, 64→128 on 16×16 64 / 72; from 128→128 on
#: 16×16 on, 4096 rows ran as fast or up to 5 % faster (114 / 119, 256→256 on 8×8 186 / 197).
THIN_MACS_ONE_CORE = 128 * 128
#: the transforms work through a chunk whole images at a time, as many as make this many tiles
#: times channels (the wider of C_in and C_out), so that their intermediates (13 values per tile
#: and channel) stay in cache while each NumPy call still covers enough data to hide its fixed
#: cost (~60 µs for the dozen calls of a part): 2 images of Net's 64-channel 32×32 layer,
#: 1.7 MB.  Counting tiles alone (512) gave the 512-channel layers parts of 8 MB, out of cache:
#: forward + both gradients of all of Net's Winograd layers, 64 images, one core, medians of 7
#: alternating rounds, two runs: 900 / 1013 ms → 801 / 932 ms at 512·64 values (384·64:
#: 967 ms, 768·64: 1006 ms).
TRANSFORM_VALUES = 512 * 64


def _chunks(n: int, out_size: tuple[int, ...], c_in: int, c_out: int, itemsize: int,
            one_core: bool | None = None) -> list[tuple[slice, list[slice]]]:
    """Batch chunks for the GEMMs, each with its sub-chunks for the transforms (slices of the
    chunk).

    A chunk's GEMM operands, the transformed tiles and their products, hold 16 values per tile
    and channel; with as much again for BLAS's packing they fit workspace.CHUNK_BYTES, unless
    MIN_ROWS (MIN_ROWS_THIN) asks for more, as it does on Net's layers: 16 images on 32×32 maps
    (16 MB of tiles), the whole batch of 64 from 16×16 maps on."""
    tiles = max(_tile_count(out_size), 1)
    per_image = 32 * tiles * (c_in + c_out) * itemsize
    one_core = blas_single_threaded() if one_core is None else one_core
    thin = THIN_MACS_ONE_CORE if one_core else THIN_MACS
    rows = MIN_ROWS if c_in * c_out >= thin else MIN_ROWS_THIN
    sub = max(1, TRANSFORM_VALUES // (tiles * max(c_in, c_out)))
    return [(chunk, [slice(start, min(start + sub, chunk.stop - chunk.start))
                     for start in range(0, chunk.stop - chunk.start, sub)])
            for chunk in batch_chunks(n, per_image, minimum=-(-rows // tiles))]


#: an op splits its chunks over the cores only when they are at least this many multiply-adds
#: in all (16 · tiles · C_in · C_out): below it a thread's start and the wait for it (tens of
#: µs) would outweigh the gain
MIN_SPLIT_MACS = 1 << 24
#: the weight gradient splits only for a weight of at most this many entries per tap
#: (C_in · C_out).  Its GEMMs reduce over the tiles into a C_out × C_in matrix, and a small one
#: is a shape that OpenBLAS splits badly over two threads, while two threads that each sum half
#: the batch with one-thread BLAS keep both cores busy.  Measured as the correlations below
#: (ms, BLAS on two threads / two threads of half the batch): 64→64 on 32×32 maps 96 / 75,
#: on 16×16 29 / 23, 32→64 on 32×32 69 / 53; the wider weights gained nothing or lost,
#: 64→128 on 16×16 36 / 34, 128→128 54 / 54, 192→192 on 8×8 32 / 37.
MAX_SPLIT_WEIGHT = 64 * 64
#: the correlations (forward and input gradient) split only on maps of at least this many
#: tiles per image (32×32 outputs) and for at least SPLIT_MIN_MACS multiply-adds per tile
#: (C_in · C_out).  With BLAS on two threads their GEMMs need tall chunks (MIN_ROWS), whose
#: operands (16 MB of tiles on 32×32 maps) stream through memory, and their transforms run on
#: one core; two threads of half the batch each take the one-core plan, whose chunks stay in
#: cache, and run the transforms on both cores.  Measured (batch 128, medians of 7 alternating
#: rounds, each sample 0.15 s after the last BLAS call (see :func:`_around_split`), ms, BLAS on
#: two threads / two threads of half the batch, forward and input gradient): 32×32 maps, 64→64
#: 91 / 63 and 86 / 65, 32→64 58 / 55 and 63 / 53, but 16→64 41 / 43 and 44 / 42; on 16×16 and
#: smaller maps the split was as often slower as faster (64→128 on 16×16 37 / 45 and 41 / 37,
#: 128→128 53 / 40 and 50 / 44, 128→256 on 8×8 23 / 25 and 28 / 25, 512→512 on 4×4 38 / 38
#: and 36 / 38).
SPLIT_MIN_TILES = 256
SPLIT_MIN_MACS = 32 * 64


def _thread_chunks(n: int, out_size: tuple[int, ...], c_in: int, c_out: int, itemsize: int,
                   pays: bool) -> list[list[tuple[slice, list[slice]]]]:
    """The batch chunks (:func:`_chunks`) in groups, one per thread that will work through
    them: one group, unless splitting ``pays`` for the op (its rule, above), the op may use
    several cores (:func:`~lemmata.ops.threads.op_threads`), the work is at least
    MIN_SPLIT_MACS and the plan for BLAS on one core has a chunk for each thread."""
    threads = op_threads()
    if pays and threads > 1 and 16 * n * _tile_count(out_size) * c_in * c_out >= MIN_SPLIT_MACS:
        plan = _chunks(n, out_size, c_in, c_out, itemsize, one_core=True)
        if len(plan) > 1:
            return [plan[r.start:r.stop] for r in share(len(plan), threads)]
    return [_chunks(n, out_size, c_in, c_out, itemsize)]


def _correlation_groups(n: int, out_size: tuple[int, ...], c: int, k: int,
                        itemsize: int) -> list[list[tuple[slice, list[slice]]]]:
    """The forward's or input gradient's chunk groups (C → K channels, ``out_size`` maps)."""
    pays = _tile_count(out_size) >= SPLIT_MIN_TILES and c * k >= SPLIT_MIN_MACS
    return _thread_chunks(n, out_size, c, k, itemsize, pays)


def _around_split(groups: list) -> ContextManager:
    """The BLAS mode for an op's small products (the kernel transform and its adjoint) when its
    chunks run on several cores: one thread.  OpenBLAS's threads spin for about 0.1 s after a
    product before they sleep, on the very cores the split's threads need: the conv suite's
    3×3 64→64 forward and backward, 128 images, medians of 15 alternating rounds, took 239 ms
    with the 9-tap kernel transform on two BLAS threads, 198 ms on one (280 ms unsplit)."""
    return single_threaded_blas() if len(groups) > 1 else contextlib.nullcontext()


def _span(before: int, after: int, size: int) -> tuple[int, int]:
    """The padded positions [first, last) that hold data, padded position p holding input
    position p − before; negative padding crops."""
    return max(before, 0), before + size + min(after, 0)


def _parity_range(first: int, last: int, parity: int) -> tuple[int, int]:
    """The half-resolution indices i with first ≤ 2i + parity < last."""
    start = max(0, -(-(first - parity) // 2))
    return start, max(start, -(-(last - parity) // 2))


@functools.lru_cache(maxsize=256)
def _plane_copies(size: tuple[int, int], padding: tuple[tuple[int, int], ...]
                  ) -> tuple[tuple[tuple[int, int], tuple[slice, slice], tuple[slice, slice]], ...]:
    """For each parity plane (p, q) that holds data: its interior and the strided slices of an
    input of spatial ``size`` that fill it.  Cached: working it out per call was half the fixed
    cost of splitting a small chunk (16 → 9 µs)."""
    (top, bottom), (left, right) = padding
    h_span, w_span = _span(top, bottom, size[0]), _span(left, right, size[1])
    copies = []
    for p in range(2):
        i0, i1 = _parity_range(*h_span, p)
        for q in range(2):
            j0, j1 = _parity_range(*w_span, q)
            if i1 > i0 and j1 > j0:
                copies.append(((p, q), (slice(i0, i1), slice(j0, j1)),
                               (_every_other(2 * i0 + p - top, i1 - i0),
                                _every_other(2 * j0 + q - left, j1 - j0))))
    return tuple(copies)


def _every_other(start: int, count: int) -> slice:
    return slice(start, start + 2 * count - 1, 2)


def _parity_planes(x: np.ndarray, padding: tuple[tuple[int, int], ...],
                   grid: tuple[int, int]) -> np.ndarray:
    """x (m, H, W, C) zero-padded (or, where negative, cropped) to the tile grid's input and
    split by row and column parity: Q[p, q, n, i, j] = x_pad[n, 2i + p, 2j + q], shape
    (2, 2, m, rows + 1, columns + 1, C), in scratch.

    In this layout the transforms' operands are contiguous runs of whole rows of tiles (the
    strided slices x_pad[:, :, b::2] of the plain layout ran at 20 GB/s, contiguous ones at
    45–60); the split costs one strided copy of the input."""
    m, h, w, c = x.shape
    rows, columns = grid
    planes = scratch("winograd-planes", (2, 2, m, rows + 1, columns + 1, c), x.dtype)
    planes.fill(0)           # one contiguous pass: cheaper than zeroing 16 border strips
    for plane, (i, j), (source_i, source_j) in _plane_copies((h, w), padding):
        planes[plane][:, i, j] = x[:, source_i, source_j]
    return planes


def _input_tiles(x: np.ndarray, padding: tuple[tuple[int, int], ...],
                 grid: tuple[int, int], tiles: np.ndarray,
                 order: tuple[int, ...] = _IN_ORDER) -> None:
    """tiles (4, 4, m, rows, columns, C) ← V = Bᵀ d B for every tile of channels-last x
    (m, H, W, C), V_(ξh, ξw) in slot (order[ξh], order[ξw])."""
    planes = _parity_planes(x, padding, grid)
    _, _, m, half_h, _, c = planes.shape
    rows, columns = grid
    # along W, both row parities at once: column 2j + b of tile j is plane b % 2, column
    # j + b // 2
    d = [planes[:, b % 2, :, :, b // 2:b // 2 + columns] for b in range(4)]
    along_w = scratch("winograd-columns", (4, 2, m, half_h, columns, c), x.dtype)
    o = order
    np.subtract(d[0], d[2], out=along_w[o[0]])
    np.add(d[1], d[2], out=along_w[o[1]])
    np.subtract(d[2], d[1], out=along_w[o[2]])
    np.subtract(d[1], d[3], out=along_w[o[3]])
    # along H, all four ξ_w at once: row 2i + a of tile i is parity a % 2, row i + a // 2
    e = [along_w[:, a % 2, :, a // 2:a // 2 + rows] for a in range(4)]
    np.subtract(e[0], e[2], out=tiles[o[0]])
    np.add(e[1], e[2], out=tiles[o[1]])
    np.subtract(e[2], e[1], out=tiles[o[2]])
    np.subtract(e[1], e[3], out=tiles[o[3]])


def _output_transform(tiles: np.ndarray, grid: tuple[int, int], out: np.ndarray,
                      order: tuple[int, ...] = _IN_ORDER) -> None:
    """out (m, H_out, W_out, K) ← Aᵀ M A for the GEMMs' products M (4, 4, m, rows, columns, K),
    M_(ξh, ξw) in slot (order[ξh], order[ξw])."""
    m, h_out, w_out, k = out.shape
    rows, columns = grid
    partial = scratch("winograd-partial", (4, m, rows, columns, k), out.dtype)
    # along H (all four ξ_w at once): output row 2i from M_0 + M_1 + M_2, row 2i+1 from
    # M_1 − M_2 − M_3
    along_h = scratch("winograd-output-rows", (2, 4, m, rows, columns, k), out.dtype)
    m0, m1, m2, m3 = (tiles[i] for i in order)
    np.add(m1, m2, out=partial)
    np.add(m0, partial, out=along_h[0])
    np.subtract(m1, m2, out=partial)
    np.subtract(partial, m3, out=along_h[1])
    # along W, both output rows at once, straight into the output (cropped when it is odd)
    fits = (h_out, w_out) == (2 * rows, 2 * columns) and out.flags.c_contiguous
    image = out if fits else scratch("winograd-output", (m, 2 * rows, 2 * columns, k), out.dtype)
    blocks = image.reshape(m, rows, 2, columns, 2, k)           # [n, i, row in tile, j, col, k]
    left, right = (blocks[:, :, :, :, b].transpose(2, 0, 1, 3, 4) for b in range(2))
    half = partial[:2]
    m0, m1, m2, m3 = (along_h[:, i] for i in order)
    np.add(m1, m2, out=half)
    np.add(m0, half, out=left)
    np.subtract(m1, m2, out=half)
    np.subtract(half, m3, out=right)
    if not fits:
        out[...] = image[:, :h_out, :w_out]


def _gradient_tiles(g: np.ndarray, grid: tuple[int, int], tiles: np.ndarray) -> None:
    """tiles (4, 4, m, rows, columns, K) ← M̄ = (D A) ḡ (D A)ᵀ for every 2×2 tile of the
    channels-last output gradient g (m, H_out, W_out, K).

    D A's rows are (1, 0), (1, 1), (1, −1), (0, 1): rows ξ_h = 0 and 3 of the transform copy the
    tile's top and bottom rows, and columns ξ_w = 0 and 3 its left and right columns.  So the
    pass along H reads g's four parities straight into the ξ_w = 0 and 3 slots, and the pass
    along W fills ξ_w = 1 and 2 from them, all ξ_h at once."""
    m, h_out, w_out, k = g.shape
    rows, columns = grid
    if (h_out, w_out) != (2 * rows, 2 * columns):
        # the overhanging tile row or column has no outputs: zero gradient there
        padded = scratch("winograd-gradient-padded", (m, 2 * rows, 2 * columns, k), g.dtype)
        padded[:, h_out:] = 0
        padded[:, :, w_out:] = 0
        padded[:, :h_out, :w_out] = g
        g = padded
    for xi_w, q in ((0, 0), (3, 1)):
        top, bottom = g[:, 0::2, q::2], g[:, 1::2, q::2]           # (m, rows, columns, K)
        np.copyto(tiles[0, xi_w], top)
        np.add(top, bottom, out=tiles[1, xi_w])
        np.subtract(top, bottom, out=tiles[2, xi_w])
        np.copyto(tiles[3, xi_w], bottom)
    np.add(tiles[:, 0], tiles[:, 3], out=tiles[:, 1])
    np.subtract(tiles[:, 0], tiles[:, 3], out=tiles[:, 2])


# ------------------------------------------------------------------------------ kernels


def kernel_tiles(w: np.ndarray) -> np.ndarray:
    """U = G w Gᵀ of every (o, c) pair of w (K, C, 3, 3), as (16, K, C).  One small GEMM on the
    flattened taps, (16, 9) @ (9, K·C), reading w in its own layout (no transposing copy)."""
    k, c = w.shape[:2]
    transform = np.ascontiguousarray(_KERNEL_TRANSFORM, dtype=w.dtype)
    # into recycled memory: Net's 512-channel tiles are 16 MB, fresh pages at every step
    return np.matmul(transform, w.reshape(k * c, 9).T,
                     out=empty((16, k * c), w.dtype, like=w)).reshape(16, k, c)


# ------------------------------------------------------------------------------ the three maps


def _split_kernel_tiles(w: np.ndarray, groups: list) -> np.ndarray:
    """:func:`kernel_tiles` of w in the BLAS mode of an op that runs ``groups`` of chunks
    (:func:`_around_split`)."""
    with _around_split(groups):
        return kernel_tiles(w)


def _correlate(x_last: np.ndarray, kernel: np.ndarray, padding: tuple[tuple[int, int], ...],
               out: np.ndarray, groups: list, order: tuple[int, ...] = _IN_ORDER) -> None:
    """out (n, H_out, W_out, K) ← the 3×3 stride-1 correlation of channels-last x (n, H, W, C),
    padded (or, where negative, cropped) by ``padding``, with transformed kernel tiles
    ``kernel`` (16, C, K), slot s of which multiplies the tiles' slot s (see ``order``).  Each
    chunk writes its own rows of ``out``, so the chunk ``groups`` (:func:`_correlation_groups`)
    run on a core each."""
    grid = _tile_grid(out.shape[1:3])
    c, k = kernel.shape[1:]

    def run(chunks: list[tuple[slice, list[slice]]]) -> None:
        for rows, parts in chunks:
            x, y = x_last[rows], out[rows]
            shape = (4, 4, len(x)) + grid
            tiles = scratch("conv-columns", shape + (c,), out.dtype)
            for part in parts:
                _input_tiles(x[part], padding, grid, tiles[:, :, part], order)
            products = scratch("conv-products", shape + (k,), out.dtype)
            np.matmul(tiles.reshape(16, -1, c), kernel, out=products.reshape(16, -1, k))
            for part in parts:
                _output_transform(products[:, :, part], grid, y[part], order)

    run_on_cores([functools.partial(run, group) for group in groups])


def winograd_convolve(x_last: np.ndarray, w: np.ndarray, geometry: "ConvGeometry",
                      out: np.ndarray) -> np.ndarray:
    """C(x, w) of channels-last x (n, H, W, C_in) into ``out`` (n, H_out, W_out, C_out).
    Returns w's kernel tiles U (16, C_out, C_in), which the input gradient can use again."""
    groups = _correlation_groups(len(x_last), out.shape[1:3], w.shape[1], w.shape[0],
                                 out.dtype.itemsize)
    tiles = _split_kernel_tiles(w, groups)
    _correlate(x_last, tiles.transpose(0, 2, 1), geometry.padding, out,     # (16, C_in, C_out)
               groups)
    return tiles


def winograd_convolve_transpose(g_last: np.ndarray, w: np.ndarray, geometry: "ConvGeometry",
                                out: np.ndarray, tiles: np.ndarray | None = None) -> None:
    """T(g, w) of channels-last g (n, H_out, W_out, C_out) into ``out`` (n, H, W, C_in): the
    correlation of g, padded by 2 − (forward padding), with the flipped kernel, whose tiles are
    w's own (``tiles``, :func:`kernel_tiles` of w, computed here if not given) in the slots
    that π swaps."""
    groups = _correlation_groups(len(g_last), out.shape[1:3], w.shape[0], w.shape[1],
                                 out.dtype.itemsize)
    tiles = _split_kernel_tiles(w, groups) if tiles is None else tiles   # (16, C_out, C_in)
    padding = tuple((2 - before, 2 - after) for before, after in geometry.padding)
    _correlate(g_last, tiles, padding, out, groups, _FLIPPED)


def winograd_weight_gradient(x_last: np.ndarray, g_last: np.ndarray,
                             geometry: "ConvGeometry") -> np.ndarray:
    """W(x, g) as (C_out, C_in, 3, 3) from channels-last x (n, H, W, C_in) and g
    (n, H_out, W_out, C_out): Σ over batch chunks of the 16 products M̄_ξᵀ V_ξ, then
    (D G)ᵀ · (D G)."""
    n, c, k = len(x_last), x_last.shape[-1], g_last.shape[-1]
    dtype = x_last.dtype
    grid = _tile_grid(geometry.out_size)

    def run(chunks: list[tuple[slice, list[slice]]]) -> np.ndarray:
        total = empty((16, k, c), dtype)
        total.fill(0)
        partial = scratch("winograd-weight-partial", (16, k, c), dtype)
        for rows, parts in chunks:
            x, g = x_last[rows], g_last[rows]
            shape = (4, 4, len(x)) + grid
            tiles = scratch("conv-columns", shape + (c,), dtype)
            gradient = scratch("conv-products", shape + (k,), dtype)
            for part in parts:
                _input_tiles(x[part], geometry.padding, grid, tiles[:, :, part])
                _gradient_tiles(g[part], grid, gradient[:, :, part])
            np.matmul(gradient.reshape(16, -1, k).transpose(0, 2, 1),
                      tiles.reshape(16, -1, c), out=partial)
            total += partial
        return total

    groups = _thread_chunks(n, geometry.out_size, c, k, dtype.itemsize,
                            pays=c * k <= MAX_SPLIT_WEIGHT)
    total, *others = run_on_cores([functools.partial(run, group) for group in groups])
    for other in others:
        total += other
    # ∂w (K·C, 9) = (∂L/∂U as (K·C, 16)) @ (D G ⊗ D G), written in w's own layout; the sums
    # and the result in recycled memory (Net's 512→512 layers on 4×4 maps: 7,100 page faults
    # a step, fresh 16 MB and 9 MB arrays in each shard, before)
    adjoint = np.ascontiguousarray(_KERNEL_ADJOINT, dtype=dtype)
    with _around_split(groups):
        return np.matmul(total.reshape(16, k * c).T, adjoint,
                         out=empty((k * c, 9), dtype)).reshape(k, c, 3, 3)
