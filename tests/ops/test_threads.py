"""lemmata.ops.threads: BLAS's thread count as the ops see it, and an op's chunks on all cores."""
from __future__ import annotations

import threading
import time

import pytest

from lemmata.ops import threads


def test_share_cuts_a_range_into_contiguous_near_equal_parts():
    for count in range(0, 12):
        for parts in range(1, 5):
            pieces = threads.share(count, parts)
            assert [i for piece in pieces for i in piece] == list(range(count))
            assert all(len(piece) > 0 for piece in pieces)
            assert len(pieces) == min(parts, count)
            if pieces:
                assert max(map(len, pieces)) - min(map(len, pieces)) <= 1


def test_op_threads_is_one_inside_single_threaded_blas(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    assert threads.op_threads() == 4 and not threads.blas_single_threaded()
    with threads.single_threaded_blas():
        assert threads.op_threads() == 1 and threads.blas_single_threaded()
    assert threads.op_threads() == 4
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 1)
    assert threads.op_threads() == 1


def test_run_on_cores_runs_the_jobs_at_once_with_one_thread_blas_and_keeps_their_order():
    barrier = threading.Barrier(3, timeout=10)     # passes only if all three run at once
    seen = []

    def job(i):
        def run():
            seen.append((threading.get_ident(), threads.blas_single_threaded()))
            barrier.wait()
            return i * i
        return run

    assert threads.run_on_cores([job(i) for i in range(3)]) == [0, 1, 4]
    assert seen[0][0] != seen[1][0] and all(single for _, single in seen)
    assert threading.get_ident() in {ident for ident, _ in seen}   # the first runs here
    assert not threads.blas_single_threaded()


def test_run_on_cores_with_one_job_runs_it_here_as_it_is():
    assert threads.run_on_cores([lambda: (threading.get_ident(), threads.blas_single_threaded())]) \
        == [(threading.get_ident(), False)]


def test_run_on_cores_waits_for_every_job_before_raising():
    finished = []

    def slow():
        time.sleep(0.05)
        finished.append(True)

    def fails():
        raise ValueError("job failed")

    with pytest.raises(ValueError, match="job failed"):
        threads.run_on_cores([fails, slow])
    assert finished == [True]
    with pytest.raises(RuntimeError, match="worker failed"):
        threads.run_on_cores([slow, lambda: (_ for _ in ()).throw(RuntimeError("worker failed"))])
    assert not threads.blas_single_threaded()


def test_run_concurrently_without_a_pool_runs_the_jobs_here_in_order():
    order = []
    jobs = [lambda i=i: order.append((i, threading.get_ident())) or i for i in range(3)]
    assert threads.run_concurrently(jobs, None) == [0, 1, 2]
    assert [i for i, _ in order] == [0, 1, 2]
    assert {ident for _, ident in order} == {threading.get_ident()}
