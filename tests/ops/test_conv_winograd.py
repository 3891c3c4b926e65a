"""The Winograd F(2×2, 3×3) route of 3×3 stride-1 convolutions: the three maps (convolution,
input gradient, weight gradient) against PyTorch and against im2col in float32 and float64, the
adjoint identities, finite differences, double backward, batch chunks, and the route choice."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st

import lemmata
from checks import check_gradients, conv_double_backward
from lemmata.ops import conv_fourier, conv_winograd, threads, workspace
from lemmata.ops.conv import ConvGeometry, conv2d
from lemmata.ops.conv_winograd import (
    prefers_winograd, winograd_convolve, winograd_convolve_transpose, winograd_weight_gradient,
)

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
TOLERANCE = {"float64": 1e-11, "float32": 2e-5}      # relative to the largest entry

WINOGRAD_CASES = [
    # (batch, c_in, c_out, (H, W), padding)
    (2, 16, 5, (8, 8), 1),
    (3, 16, 16, (7, 9), 1),                 # odd output sizes: the tile grid is cropped
    (4, 17, 3, (6, 5), 0),
    (1, 16, 4, (5, 7), 2),                  # output larger than the input
    (2, 16, 2, (5, 4), 3),                  # padding > 2: the input gradient crops g
    (2, 18, 6, (6, 9), (1, 0)),
    (4, 16, 3, (4, 7), (0, 2)),
    (4, 20, 8, (6, 6), "same"),
    (2, 32, 1, (9, 3), (2, 1)),
]


def _geometry(size, pads) -> ConvGeometry:
    """A 3×3 stride-1 geometry with (before, after) padding per dim, possibly asymmetric."""
    out = tuple(n + b + a - 2 for n, (b, a) in zip(size, pads))
    return ConvGeometry(tuple(size), out, (3, 3), (1, 1), (1, 1), tuple(pads), 1)


def _conv_and_gradients(lib, x, w, b, g, padding):
    """conv2d's value and its x, w, b gradients for the upstream gradient g."""
    xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
    y = lib.nn.functional.conv2d(xt, wt, bt, padding=padding)
    grads = lib.autograd.grad((y * lib.tensor(g)).sum(), [xt, wt, bt])
    return [y.detach().numpy()] + [a.detach().numpy() for a in grads]


def _transpose_and_gradients(lib, h, w, b, g, padding):
    """conv_transpose2d's value and its input, w, b gradients (stride 1, 3×3: Winograd too)."""
    ht, wt, bt = (lib.tensor(a, requires_grad=True) for a in (h, w, b))
    y = lib.nn.functional.conv_transpose2d(ht, wt, bt, padding=padding)
    grads = lib.autograd.grad((y * lib.tensor(g)).sum(), [ht, wt, bt])
    return [y.detach().numpy()] + [a.detach().numpy() for a in grads]


def _im2col_only(monkeypatch) -> None:
    """Route every convolution to im2col (the reference)."""
    monkeypatch.setattr(conv_winograd, "MIN_IN_CHANNELS", 10 ** 9)
    monkeypatch.setattr(conv_fourier, "FLOP_SHARE", -1.0)


def _assert_close(ours, reference, dtype, scale=None):
    """Equal up to TOLERANCE times ``scale`` (default: the reference's largest entry)."""
    scale = max(float(np.abs(reference).max()) if scale is None else scale, 1e-300)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=TOLERANCE[dtype] * scale)


def _arrays(n, c_in, c_out, size, padding, dtype, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c_in) + size).astype(dtype)
    w = rng.standard_normal((c_out, c_in, 3, 3)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    y = F.conv2d(torch.tensor(x), torch.tensor(w), padding=padding)
    g = rng.standard_normal(tuple(y.shape)).astype(dtype)
    return x, w, b, g


# ------------------------------------------------------------------------------ parity


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", WINOGRAD_CASES)
def test_winograd_route_matches_torch_and_im2col(dtype, case, monkeypatch):
    """conv2d and its x, w, b gradients on the Winograd route give PyTorch's values, and
    im2col's."""
    n, c_in, c_out, size, padding = case
    x, w, b, g = _arrays(n, c_in, c_out, size, padding, dtype)
    geometry = _geometry(size, [(1, 1)] * 2 if padding == "same" else
                         [(p, p) for p in ((padding,) * 2 if isinstance(padding, int)
                                           else padding)])
    assert prefers_winograd(geometry, n, c_in, c_out, np.dtype(dtype))
    expected = _conv_and_gradients(torch, x, w, b, g, padding)
    winograd = _conv_and_gradients(lemmata, x, w, b, g, padding)
    _im2col_only(monkeypatch)
    direct = _conv_and_gradients(lemmata, x, w, b, g, padding)
    for ours, im2col, theirs in zip(winograd, direct, expected):
        assert ours.dtype == np.dtype(dtype) and ours.shape == theirs.shape
        _assert_close(ours, theirs, dtype)
        _assert_close(ours, im2col, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("padding", [0, 1, 2, (1, 0)])
def test_conv_transpose_on_the_winograd_route_matches_torch(dtype, padding, monkeypatch):
    """conv_transpose2d with a 3×3 kernel and stride 1 is T(g, w) on the Winograd route; its
    backward takes C and W there too."""
    rng = np.random.default_rng(5)
    h = rng.standard_normal((3, 16, 6, 7)).astype(dtype)
    w = rng.standard_normal((16, 20, 3, 3)).astype(dtype)       # (C_in of T, C_out / G, k, k)
    b = rng.standard_normal(20).astype(dtype)
    y = F.conv_transpose2d(torch.tensor(h), torch.tensor(w), padding=padding)
    g = rng.standard_normal(tuple(y.shape)).astype(dtype)
    pads = [(p, p) for p in ((padding,) * 2 if isinstance(padding, int) else padding)]
    geometry = _geometry(tuple(y.shape[2:]), pads)
    assert geometry.out_size == h.shape[2:]
    assert prefers_winograd(geometry, 3, 20, 16, np.dtype(dtype))
    expected = _transpose_and_gradients(torch, h, w, b, g, padding)
    winograd = _transpose_and_gradients(lemmata, h, w, b, g, padding)
    _im2col_only(monkeypatch)
    direct = _transpose_and_gradients(lemmata, h, w, b, g, padding)
    for ours, im2col, theirs in zip(winograd, direct, expected):
        _assert_close(ours, theirs, dtype)
        _assert_close(ours, im2col, dtype)


@st.composite
def winograd_cases(draw):
    """Shapes on the Winograd route (MIN_TILES lifted), with any padding: symmetric through
    conv2d's argument, per dim."""
    n = draw(st.integers(1, 3))
    c_in = draw(st.integers(16, 18))
    c_out = draw(st.integers(1, 4))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(2))
    size = tuple(max(1, 3 - 2 * p) + draw(st.integers(0, 6)) for p in pads)
    return n, c_in, c_out, size, pads


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@given(case=winograd_cases())
def test_winograd_route_matches_torch_on_drawn_shapes(dtype, case):
    n, c_in, c_out, size, pads = case
    x, w, b, g = _arrays(n, c_in, c_out, size, pads, dtype, seed=sum(size) + n)
    expected = _conv_and_gradients(torch, x, w, b, g, pads)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_winograd, "MIN_TILES", 1)
        assert prefers_winograd(_geometry(size, [(p, p) for p in pads]), n, c_in, c_out,
                                np.dtype(dtype))
        winograd = _conv_and_gradients(lemmata, x, w, b, g, pads)
    # the bias gradient Σ g of a single output channel can cancel to far below its terms: its
    # rounding is relative to Σ |g|
    scales = [None, None, None, float(np.abs(g).sum(axis=(0, 2, 3)).max())]
    for ours, theirs, scale in zip(winograd, expected, scales):
        _assert_close(ours, theirs, dtype, scale)


# ------------------------------------------------------------------------------ the maps alone


ADJOINT_CASES = [
    # (batch, c_in, c_out, (H, W), ((top, bottom), (left, right)))
    (2, 3, 4, (6, 6), ((1, 1), (1, 1))),
    (1, 2, 3, (7, 5), ((0, 0), (0, 0))),
    (3, 4, 2, (5, 8), ((2, 0), (1, 3))),
    (2, 3, 3, (4, 4), ((4, 3), (0, 5))),    # wider than 2: the adjoint crops
    (2, 2, 2, (3, 9), ((0, 1), (2, 2))),
]


@pytest.mark.parametrize("case", ADJOINT_CASES)
def test_adjoint_identities(case):
    """⟨T(g, w), h⟩ = ⟨g, C(h, w)⟩ and ⟨W(x, g), v⟩ = ⟨g, C(x, v)⟩ in float64, the module's
    functions called directly (asymmetric padding included, which conv2d cannot ask for)."""
    n, c_in, c_out, size, pads = case
    geometry = _geometry(size, pads)
    rng = np.random.default_rng(1)
    x, h = (rng.standard_normal((n,) + size + (c_in,)) for _ in range(2))
    w, v = (rng.standard_normal((c_out, c_in, 3, 3)) for _ in range(2))
    g = rng.standard_normal((n,) + geometry.out_size + (c_out,))

    def convolve(images, kernel):
        out = np.empty((n,) + geometry.out_size + (c_out,))
        winograd_convolve(images, kernel, geometry, out)
        return out

    transposed = np.empty((n,) + size + (c_in,))
    winograd_convolve_transpose(g, w, geometry, transposed)
    np.testing.assert_allclose(np.vdot(transposed, h), np.vdot(g, convolve(h, w)), rtol=1e-12)
    gradient = winograd_weight_gradient(x, g, geometry)
    assert gradient.shape == w.shape
    np.testing.assert_allclose(np.vdot(gradient, v), np.vdot(g, convolve(x, v)), rtol=1e-12)
    # and C itself is the padded cross-correlation
    padded = np.pad(x, ((0, 0),) + pads + ((0, 0),))
    direct = F.conv2d(torch.tensor(np.moveaxis(padded, -1, 1)), torch.tensor(w)).numpy()
    np.testing.assert_allclose(convolve(x, w), np.moveaxis(direct, 1, -1), rtol=1e-12,
                               atol=1e-12 * np.abs(direct).max())


def test_flipped_kernel_tiles_are_a_permutation_of_the_kernels_own():
    """G J = P G: the tiles of w flipped spatially, channel axes swapped, are w's own tiles with
    ξ_h and ξ_w each permuted by 0 ↔ 3, so the input gradient can reuse the forward's tiles."""
    w = np.random.default_rng(2).standard_normal((5, 4, 3, 3))
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    own = conv_winograd.kernel_tiles(w).reshape(4, 4, 5, 4)
    order = list(conv_winograd._FLIPPED)
    np.testing.assert_allclose(conv_winograd.kernel_tiles(flipped).reshape(4, 4, 4, 5),
                               own[order][:, order].transpose(0, 1, 3, 2), rtol=1e-12,
                               atol=1e-15)


def test_convolution_backward_reuses_the_forward_kernel_tiles(monkeypatch):
    """A training step computes each Winograd layer's kernel tiles once: the forward pass hands
    them to the input gradient (only when that gradient is asked for), with the same numbers as
    computing them again."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 16, 6, 6)).astype(np.float32)
    w = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    g = rng.standard_normal((4, 8, 6, 6)).astype(np.float32)
    calls = []
    original = conv_winograd.kernel_tiles
    monkeypatch.setattr(conv_winograd, "kernel_tiles", lambda w: calls.append(1) or original(w))

    def gradients(input_grad):
        xt = lemmata.tensor(x, requires_grad=input_grad)
        wt = lemmata.tensor(w, requires_grad=True)
        conv2d(xt, wt, padding=1).backward(lemmata.tensor(g))
        return xt.grad, wt.grad

    gx, gw = gradients(True)
    assert len(calls) == 1
    expected = np.empty((4, 6, 6, 16), np.float32)
    winograd_convolve_transpose(np.ascontiguousarray(g.transpose(0, 2, 3, 1)), w,
                                _geometry((6, 6), [(1, 1), (1, 1)]), expected)
    assert len(calls) == 2
    np.testing.assert_array_equal(gx.numpy(), expected.transpose(0, 3, 1, 2))
    calls.clear()
    assert gradients(False)[0] is None and len(calls) == 1
    # the tiles serve one backward: a second one (retain_graph) computes them again, alike
    calls.clear()
    xt, wt = lemmata.tensor(x, requires_grad=True), lemmata.tensor(w, requires_grad=True)
    y = conv2d(xt, wt, padding=1)
    first = lemmata.autograd.grad(y, [xt], lemmata.tensor(g), retain_graph=True)[0]
    second = lemmata.autograd.grad(y, [xt], lemmata.tensor(g))[0]
    assert len(calls) == 2 and y.grad_fn.ctx.kernel_tiles is None
    np.testing.assert_array_equal(first.numpy(), second.numpy())


# ------------------------------------------------------------------------------ derivatives


def test_gradients_by_finite_differences():
    """Reverse mode through conv2d on the Winograd route against central differences in float64
    (the complex step takes im2col, so it is no check of this route and is left out)."""
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((2, 16, 5, 4)), rng.standard_normal((3, 16, 3, 3)),
              rng.standard_normal(3)]
    geometry = _geometry((5, 4), [(1, 1), (1, 1)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_winograd, "MIN_TILES", 1)
        assert prefers_winograd(geometry, 2, 16, 3, F64)
        check_gradients(lambda x, w, b: conv2d(x, w, b, padding=1), arrays, complex_step=False)


def test_double_backward_matches_torch():
    """Second derivatives: every map's backward is made of the other two, all on this route."""
    rng = np.random.default_rng(6)
    x, w, b = (rng.standard_normal((4, 16, 6, 5)), rng.standard_normal((16, 16, 3, 3)),
               rng.standard_normal(16))
    v = rng.standard_normal((4, 16, 6, 5))
    probes = [rng.standard_normal(x.shape), rng.standard_normal(w.shape),
              rng.standard_normal(b.shape)]
    assert prefers_winograd(_geometry((6, 5), [(1, 1), (1, 1)]), 4, 16, 16, F64)
    expected = conv_double_backward(torch, F.conv2d, [x, w, b, v], probes, dict(padding=1))
    got = conv_double_backward(lemmata, conv2d, [x, w, b, v], probes, dict(padding=1))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(e).max()))


# ------------------------------------------------------------------------------ chunks, routes


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batch_chunks_give_the_same_result(dtype, monkeypatch):
    """The batch is worked through in chunks for the GEMMs (at least MIN_ROWS or MIN_ROWS_THIN
    tiles) and those in parts for the transforms (TRANSFORM_VALUES tiles × channels); chunks of one
    image, a last chunk shorter than the others and several parts per chunk give the one-chunk
    result."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((7, 16, 7, 6)).astype(dtype)
    w = rng.standard_normal((5, 16, 3, 3)).astype(dtype)
    g = rng.standard_normal((7, 5, 7, 6)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    assert prefers_winograd(_geometry((7, 6), [(1, 1), (1, 1)]), 7, 16, 5, np.dtype(dtype))
    assert len(conv_winograd._chunks(7, (7, 6), 16, 5, np.dtype(dtype).itemsize)) == 1
    whole = _conv_and_gradients(lemmata, x, w, b, g, 1)
    monkeypatch.setattr(workspace, "CHUNK_BYTES", 1)
    # (MIN_ROWS, TRANSFORM_VALUES / 16) → chunks, parts per chunk; 12 tiles an image, 16 channels
    for rows, tiles, chunks, parts in ((1, 256, 7, 1), (30, 256, 3, 1), (30, 12, 3, 3),
                                       (10 ** 6, 24, 1, 4)):
        monkeypatch.setattr(conv_winograd, "MIN_ROWS", rows)
        monkeypatch.setattr(conv_winograd, "MIN_ROWS_THIN", rows)
        monkeypatch.setattr(conv_winograd, "TRANSFORM_VALUES", tiles * 16)
        plan = conv_winograd._chunks(7, (7, 6), 16, 5, np.dtype(dtype).itemsize)
        assert len(plan) == chunks and len(plan[0][1]) == parts
        chunked = _conv_and_gradients(lemmata, x, w, b, g, 1)
        for a, e in zip(chunked, whole):
            _assert_close(a, e, dtype)


def test_one_core_blas_takes_cache_sized_chunks_for_layers_up_to_64_by_128(monkeypatch):
    """With BLAS on one core (inside single_threaded_blas, as each data-parallel shard runs),
    layers of fewer than THIN_MACS_ONE_CORE multiply-adds per tile get MIN_ROWS_THIN-row chunks;
    otherwise only those below THIN_MACS do.  Net's 64→64 layer on 32×32 maps: 256 tiles an
    image, so 2 images a chunk (512 rows) or 16 (4096 rows)."""
    monkeypatch.setattr(workspace, "CHUNK_BYTES", 1)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)

    def images_per_chunk(c_in, c_out):
        return conv_winograd._chunks(64, (32, 32), c_in, c_out, 4)[0][0].stop

    assert not threads.blas_single_threaded()
    assert images_per_chunk(64, 64) == 16 and images_per_chunk(32, 64) == 2
    with threads.single_threaded_blas():
        assert threads.blas_single_threaded()
        assert images_per_chunk(64, 64) == 2 and images_per_chunk(64, 128) == 2
        assert images_per_chunk(128, 128) == 16
    assert not threads.blas_single_threaded()
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 1)
    assert threads.blas_single_threaded() and images_per_chunk(64, 64) == 2


def _threads_used(monkeypatch) -> list[int]:
    """Records how many jobs each run_on_cores call of the Winograd module gets."""
    counts: list[int] = []

    def counting(jobs):
        counts.append(len(jobs))
        return threads.run_on_cores(jobs)

    monkeypatch.setattr(conv_winograd, "run_on_cores", counting)
    return counts


def test_weight_gradient_summed_on_several_threads_matches_one_thread(monkeypatch):
    """Outside a data-parallel step, a small weight's gradient sums half the batch on each core
    (one-thread BLAS each) and adds the halves: the same gradient as one sum, and as torch's."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 5, 5, 16))
    g = rng.standard_normal((6, 5, 5, 8))
    geometry = _geometry((5, 5), [(1, 1), (1, 1)])
    monkeypatch.setattr(workspace, "CHUNK_BYTES", 1)           # a chunk per image
    monkeypatch.setattr(conv_winograd, "MIN_ROWS_THIN", 1)
    monkeypatch.setattr(conv_winograd, "op_threads", lambda: 1)
    whole = winograd_weight_gradient(x, g, geometry)
    monkeypatch.setattr(conv_winograd, "op_threads", lambda: 2)
    monkeypatch.setattr(conv_winograd, "MIN_SPLIT_MACS", 0)
    groups = conv_winograd._thread_chunks(6, (5, 5), 16, 8, 8, pays=True)
    assert [sum(chunk.stop - chunk.start for chunk, _ in group) for group in groups] == [3, 3]
    used = _threads_used(monkeypatch)
    split = winograd_weight_gradient(x, g, geometry)
    assert used == [2]
    np.testing.assert_allclose(split, whole, rtol=1e-12, atol=1e-12)
    expected = torch.nn.grad.conv2d_weight(torch.tensor(x).permute(0, 3, 1, 2), (8, 16, 3, 3),
                                           torch.tensor(g).permute(0, 3, 1, 2), padding=1)
    np.testing.assert_allclose(split, expected.numpy(), rtol=1e-10, atol=1e-10)
    monkeypatch.setattr(conv_winograd, "MAX_SPLIT_WEIGHT", 16 * 8 - 1)   # wider weights: one sum
    winograd_weight_gradient(x, g, geometry)
    assert used == [2, 1]


def test_correlations_split_over_cores_match_one_thread(monkeypatch):
    """Outside a data-parallel step, the forward and the input gradient on maps of at least
    SPLIT_MIN_TILES tiles an image run half the batch's chunks on each core, each chunk writing
    its own rows: the same output as one thread, and as torch's."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 6, 5, 16))
    w = rng.standard_normal((8, 16, 3, 3))
    g = rng.standard_normal((6, 6, 5, 8))
    geometry = _geometry((6, 5), [(1, 1), (1, 1)])
    monkeypatch.setattr(workspace, "CHUNK_BYTES", 1)           # a chunk per image
    monkeypatch.setattr(conv_winograd, "MIN_ROWS_THIN", 1)
    monkeypatch.setattr(conv_winograd, "MIN_SPLIT_MACS", 0)
    monkeypatch.setattr(conv_winograd, "SPLIT_MIN_MACS", 16 * 8)
    used = _threads_used(monkeypatch)

    def both(threads_allowed):
        monkeypatch.setattr(conv_winograd, "op_threads", lambda: threads_allowed)
        y, x_grad = np.empty((6, 6, 5, 8)), np.empty((6, 6, 5, 16))
        winograd_convolve(x, w, geometry, y)
        winograd_convolve_transpose(g, w, geometry, x_grad)
        return y, x_grad

    monkeypatch.setattr(conv_winograd, "SPLIT_MIN_TILES", 12)     # 3 × 3 tiles an image: none
    assert conv_winograd._tile_count((6, 5)) == 9
    whole = both(2)
    assert used == [1, 1]
    monkeypatch.setattr(conv_winograd, "SPLIT_MIN_TILES", 9)
    split = both(2)
    assert used == [1, 1, 2, 2]
    tx, tw = torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(w)
    expected = (F.conv2d(tx, tw, padding=1).permute(0, 2, 3, 1).numpy(),
                torch.nn.grad.conv2d_input(tx.shape, tw, torch.tensor(g).permute(0, 3, 1, 2),
                                           padding=1).permute(0, 2, 3, 1).numpy())
    for ours, one, theirs in zip(split, whole, expected):
        np.testing.assert_allclose(ours, one, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    monkeypatch.setattr(conv_winograd, "SPLIT_MIN_MACS", 16 * 8 + 1)  # thinner: one thread
    both(2)
    assert used[-2:] == [1, 1]


def test_winograd_output_is_channels_last_and_recycled_scratch_does_not_leak():
    """The output is an NCHW view of channels-last memory, like im2col's; calling twice with
    different shapes (scratch buffers reused and resized) changes nothing."""
    rng = np.random.default_rng(3)
    x = lemmata.tensor(rng.standard_normal((3, 16, 8, 8)).astype(np.float32))
    w = lemmata.tensor(rng.standard_normal((8, 16, 3, 3)).astype(np.float32))
    first = conv2d(x, w, padding=1).numpy().copy()
    other = lemmata.tensor(rng.standard_normal((5, 32, 11, 9)).astype(np.float32))
    conv2d(other, lemmata.tensor(rng.standard_normal((4, 32, 3, 3)).astype(np.float32)),
           padding=2)
    y = conv2d(x, w, padding=1).numpy()
    assert np.argsort(y.strides)[0] == 1                   # channels innermost in memory
    np.testing.assert_array_equal(y, first)


def _in_this_threads_pool(array: np.ndarray) -> bool:
    root = array
    while root.base is not None:
        root = root.base
    pool = getattr(workspace._local, "pool", {})
    return any(buffer is root for buffers in pool.values() for buffer in buffers)


def test_kernel_tiles_and_weight_gradient_are_made_in_recycled_memory():
    """A 128→128 layer's kernel tiles (1 MB) and weight gradient (0.6 MB) are views of the
    thread's pooled buffers, so a later step takes the same memory again instead of fresh pages
    from the system (Net's 512→512 layers made 7,100 page faults a step that way)."""
    rng = np.random.default_rng(5)
    geometry = ConvGeometry((4, 4), (4, 4), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 1)
    x = rng.standard_normal((4, 4, 4, 128)).astype(np.float32)
    g = rng.standard_normal((4, 4, 4, 128)).astype(np.float32)
    w = rng.standard_normal((128, 128, 3, 3)).astype(np.float32)
    tiles = conv_winograd.kernel_tiles(w)
    gradient = conv_winograd.winograd_weight_gradient(x, g, geometry)
    for array in (tiles, gradient):
        assert array.nbytes >= workspace.POOL_MIN_BYTES and _in_this_threads_pool(array)


def test_route_choice():
    """Net's and NiN's 3×3 layers take the Winograd route at training batch sizes (before
    Fourier); thin inputs, tiny batches, other kernels, strides, dilations, groups, complex and
    half-precision inputs do not."""
    def same(size, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), groups=1):
        pads = tuple((d * (k - 1) // 2,) * 2 for k, d in zip(kernel, dilation))
        out = tuple((n + 2 * p[0] - d * (k - 1) - 1) // s + 1
                    for n, p, k, d, s in zip(size, pads, kernel, dilation, stride))
        return ConvGeometry(size, out, kernel, stride, dilation, pads, groups)

    for channels, size in ((64, 32), (128, 16), (256, 8), (512, 4)):
        geometry = same((size, size))
        assert prefers_winograd(geometry, 64, channels, channels, F32)
        assert prefers_winograd(geometry, 64, channels // 2, channels, F32)
    nin = same((8, 8))
    assert prefers_winograd(nin, 64, 192, 192, F32) and conv_fourier.prefers_fourier(
        nin, 64, 192, 192, F32)                             # both apply: Winograd goes first
    assert prefers_winograd(same((32, 32)), 64, 64, 4, F64)     # thin outputs are fine
    assert not prefers_winograd(same((32, 32)), 64, 3, 64, F32)  # Net's first layer: im2col
    assert not prefers_winograd(same((32, 32)), 64, 15, 64, F32)
    assert not prefers_winograd(same((4, 4)), 1, 512, 512, F32)  # 4 tiles
    assert prefers_winograd(same((4, 4)), 4, 512, 512, F32)
    assert not prefers_winograd(same((32, 32)), 64, 64, 64, np.dtype(np.complex128))
    assert not prefers_winograd(same((32, 32)), 64, 64, 64, np.dtype(np.float16))
    assert not prefers_winograd(same((32, 32), kernel=(5, 5)), 64, 64, 64, F32)
    assert not prefers_winograd(same((32, 32), kernel=(3, 1)), 64, 64, 64, F32)
    assert not prefers_winograd(same((32, 32), stride=(2, 2)), 64, 64, 64, F32)
    assert not prefers_winograd(same((32, 32), dilation=(2, 2)), 64, 64, 64, F32)
    assert not prefers_winograd(same((32, 32), groups=2), 64, 64, 64, F32)


def test_complex_input_keeps_im2col_and_matches_the_real_route():
    """A complex-step probe (complex input through real weights) takes im2col; its real part is
    the Winograd route's result."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 16, 6, 6))
    w = rng.standard_normal((4, 16, 3, 3))
    probe = x + 1j * rng.standard_normal(x.shape)
    real = conv2d(lemmata.tensor(x), lemmata.tensor(w), padding=1).numpy()
    complex_ = conv2d(lemmata.tensor(probe), lemmata.tensor(w), padding=1).numpy()
    assert complex_.dtype == np.complex128
    np.testing.assert_allclose(complex_.real, real, rtol=1e-12, atol=1e-12 * np.abs(real).max())
    geometry = _geometry((6, 6), [(1, 1), (1, 1)])
    assert prefers_winograd(geometry, 2, 16, 4, F64)
    assert not prefers_winograd(geometry, 2, 16, 4, np.dtype(np.complex128))
