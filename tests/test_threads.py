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


def test_worker_threads_give_the_same_numbers():
    """The fused cell's blocks on two threads: bit for bit the same meta-iterations on every
    run, and the numbers of one thread to float32 rounding (the blocks are larger, so the
    weight gradients are summed in another order)."""
    import numpy as np

    from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
    from minigrad.l2l.meta import MetaConfig, MetaTrainer
    from minigrad.l2l.problems import make_problem
    from minigrad.threads import array_threads

    def run(threads):
        net = LSTMOptimizer(**net_defaults("mnist"), dtype="float32")
        trainer = MetaTrainer(net, make_problem("mnist", "sigmoid-20", dtype="float32"),
                              MetaConfig(steps=6, unroll=3))
        with array_threads(threads):
            trainer.train(2)
        return trainer.curve, {n: p.data.copy() for n, p in net.named_parameters()}

    curve1, weights1 = run(1)
    curve2, weights2 = run(2)
    again2, again_weights2 = run(2)
    assert curve2 == again2
    np.testing.assert_allclose(curve2, curve1, rtol=1e-5)
    for name in weights1:
        np.testing.assert_array_equal(weights2[name], again_weights2[name], err_msg=name)
        np.testing.assert_allclose(weights2[name], weights1[name], rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_map_blocks_uses_the_pool_only_inside_worker_threads():
    import threading

    from minigrad.threads import map_blocks, worker_threads

    def who(_):
        return threading.current_thread().name

    assert set(map_blocks(who, range(4))) == {threading.current_thread().name}
    with worker_threads(2):
        names = map_blocks(who, range(8))
    assert all(n.startswith("minigrad-block") for n in names)
    with pytest.raises(ValueError, match="worker_threads"):
        with worker_threads(-1):
            pass
