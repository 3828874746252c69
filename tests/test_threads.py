"""minigrad.threads: the one scoped helper for NumPy's BLAS thread count."""

import pytest

from minigrad.threads import blas_thread_counts, blas_threads


def test_limits_inside_the_block_and_restores_after():
    with blas_threads(1):
        assert blas_thread_counts() and set(blas_thread_counts()) == {1}
        with blas_threads(2):  # can fail: the test command itself runs with one thread
            assert set(blas_thread_counts()) == {2}
        assert set(blas_thread_counts()) == {1}
        with blas_threads(None), blas_threads(0):  # no change
            assert set(blas_thread_counts()) == {1}


def test_nothing_else_changes_for_the_rest_of_the_process(monkeypatch):
    import os

    before = dict(os.environ)
    outer = blas_thread_counts()
    with blas_threads(2):
        pass
    assert blas_thread_counts() == outer
    assert dict(os.environ) == before


@pytest.mark.parametrize("bad", [-1, 1.5, "2"])
def test_bad_counts_are_refused(bad):
    with pytest.raises((ValueError, TypeError), match="blas_threads|not supported|'<'"):
        blas_threads(bad)
