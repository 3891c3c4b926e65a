"""Recycled output buffers and scratch memory: a buffer is reused only when nothing views it."""
from __future__ import annotations

import gc

import numpy as np

from lemmata.ops import workspace

BIG = (workspace.POOL_MIN_BYTES // 4 + 1024,)        # float32 entries above the pooling threshold


def test_a_buffer_is_reused_only_when_no_view_of_it_is_alive():
    a = workspace.empty(BIG, np.float32)
    a.fill(1.0)
    view = np.moveaxis(a.reshape(2, -1), 0, 1)[::2]      # a view of a view
    del a
    b = workspace.empty(BIG, np.float32)
    assert not np.shares_memory(b, view)
    b.fill(2.0)
    assert np.all(view == 1.0)
    address = view.base.ctypes.data
    del view
    gc.collect()
    c = workspace.empty(BIG, np.float32)                 # the first buffer is idle again
    assert c.ctypes.data == address
    assert not np.shares_memory(c, b)


def test_a_new_buffer_takes_a_pooled_size_below_twice_the_request():
    """So that a buffer freed by one array serves a later, somewhat larger one: 40 MB, then
    48 MB while it is busy (a new buffer of its own), then 40 MB again while both are busy
    (a 48 MB buffer), then, with only that one idle, 48 MB: it is reused.  A request of half
    the smallest pooled size or less keeps its own size."""
    workspace.release_scratch()
    mb = 1 << 20
    first = workspace.empty((40 * mb,), np.uint8)
    second = workspace.empty((48 * mb,), np.uint8)
    third = workspace.empty((40 * mb,), np.uint8)
    assert third.base.nbytes == 48 * mb
    address = third.base.ctypes.data
    del third
    gc.collect()
    again = workspace.empty((48 * mb,), np.uint8)
    assert again.ctypes.data == address
    small = workspace.empty((20 * mb,), np.uint8)            # 40 MB is not below twice 20
    assert small.base.nbytes == 20 * mb
    del first, second, again, small
    workspace.release_scratch()


def test_small_arrays_are_not_pooled_and_shapes_and_dtypes_are_kept():
    small = workspace.empty((3, 4), np.float64)
    assert small.shape == (3, 4) and small.dtype == np.float64 and small.base is None
    big = workspace.empty((2,) + BIG, np.complex64)
    assert big.shape == (2,) + BIG and big.dtype == np.complex64 and big.flags.c_contiguous


def test_empty_like_keeps_the_memory_order():
    channels_last = np.moveaxis(np.zeros((2, 5, 6, 3), np.float32), -1, 1)     # NCHW view
    out = workspace.empty_like(channels_last)
    assert out.shape == channels_last.shape and out.strides == channels_last.strides


def test_scratch_is_reused_per_role_and_release_frees_it():
    a = workspace.scratch("test-role", (4, 5), np.float32)
    b = workspace.scratch("test-role", (2, 10), np.float32)
    assert np.shares_memory(a, b)
    workspace.release_scratch()
    c = workspace.scratch("test-role", (4, 5), np.float32)
    assert not np.shares_memory(a, c)


def test_batch_chunks_cover_the_batch_with_a_minimum_size():
    chunks = workspace.batch_chunks(10, workspace.CHUNK_BYTES // 3, minimum=4)
    assert chunks == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert workspace.batch_chunks(5, 1) == [slice(0, 5)]
    assert workspace.batch_chunks(0, 1) == []


def test_zeros_like_is_a_read_only_zero_array_in_the_same_layout():
    x = np.ones((4, 5, 3, 3), np.float32).transpose(0, 3, 1, 2)      # channels-last memory
    z = workspace.zeros_like(x)
    assert z.shape == x.shape and z.dtype == x.dtype and z.strides == x.strides
    assert not z.flags.writeable and not z.any()
    assert workspace.zeros_like(np.ones(3)).dtype == np.float64
    assert workspace.zeros_like(np.ones(workspace.ZEROS_ELEMENTS + 1, np.float32)) is None


def test_relu_against_the_zero_array_is_relu():
    """Dense, channels-last, strided and large (scalar-operand) inputs, with inf and NaN."""
    import lemmata
    from lemmata.nn import functional as F

    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 4, 8, 8)).astype(np.float32)
    base[0, 0, 0, :3] = [np.inf, -np.inf, np.nan]
    big = rng.standard_normal(workspace.ZEROS_ELEMENTS + 7).astype(np.float32)
    for x in (base, base.transpose(0, 2, 3, 1), base[:, ::2, 1:], big):
        np.testing.assert_array_equal(F.relu(lemmata.tensor(x)).numpy(), np.maximum(x, 0))
