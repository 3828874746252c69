"""Subnormal floats are flushed where the meta-training produces them (minigrad.subnormals).

Counts, never times: a meta-iteration on the MNIST MLP must hand the fused LSTM cell's
backward no subnormal gradient to compute with, and must give the same numbers as the exact
(unflushed) arithmetic within float32 rounding; both with the CPU's flush-to-zero mode (where
this CPU has it) and with the array flush alone (the portable path).
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad.subnormals as subnormals
from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
from minigrad.l2l.meta import MetaConfig, MetaTrainer
from minigrad.l2l.problems import make_problem
from minigrad.nn.fused_lstm import FusedLSTMCellFunction
from minigrad.subnormals import (
    count_subnormals,
    cpu_flush_to_zero,
    cpu_mode_available,
    flush_enabled,
    flush_subnormals_,
    keep_subnormals,
)
from minigrad.threads import map_blocks, worker_threads

needs_cpu_mode = pytest.mark.skipif(
    not cpu_mode_available(),
    reason="the CPU's flush-to-zero mode is reachable only on x86-64 Linux (glibc); the array "
           "flush does the job here")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_sets_exactly_the_subnormals_to_zero(dtype):
    tiny = np.finfo(dtype).tiny
    a = np.array([0.0, tiny, -tiny, tiny / 2, -tiny / 4, tiny / 2**20, 1.0, -3e-3], dtype)
    assert count_subnormals(a) == 3
    out = flush_subnormals_(a)
    assert out is a
    np.testing.assert_array_equal(a, np.array([0, tiny, -tiny, 0, 0, 0, 1, -3e-3], dtype))
    assert count_subnormals(a) == 0


def test_keep_subnormals_turns_flushing_off_and_restores():
    a = np.array([1e-40, 1.0], np.float32)
    assert count_subnormals(a) == 1
    with keep_subnormals():
        assert not flush_enabled()
        flush_subnormals_(a)
        assert count_subnormals(a) == 1
    assert flush_enabled()
    flush_subnormals_(a)
    assert count_subnormals(a) == 0


def test_keep_subnormals_restores_after_an_exception():
    with pytest.raises(KeyError), keep_subnormals():
        raise KeyError("boom")
    assert flush_enabled()


def _product_is_flushed() -> bool:
    """Whether this thread's arithmetic flushes: 1e-20 * 1e-20 = 1e-40 is subnormal in
    float32, so it is 0 exactly when the CPU runs with flush-to-zero."""
    return float(np.float32(1e-20) * np.float32(1e-20)) == 0.0


@needs_cpu_mode
def test_cpu_flush_to_zero_sets_the_mode_and_restores_it():
    a = np.array([1e-40, 1.0], np.float32)  # made outside: holds a subnormal
    assert not _product_is_flushed()
    with cpu_flush_to_zero() as on:
        assert on and _product_is_flushed()
        assert (a * np.float32(1.0))[0] == 0.0  # DAZ: the subnormal input is read as 0
        with cpu_flush_to_zero() as inner:  # nested: the outer block keeps its mode
            assert inner
        assert _product_is_flushed()
        assert flush_subnormals_(a) is a  # nothing left to do here
    assert not _product_is_flushed()
    assert count_subnormals(a) == 1
    with pytest.raises(KeyError), cpu_flush_to_zero():
        raise KeyError("boom")
    assert not _product_is_flushed()


@needs_cpu_mode
def test_keep_subnormals_keeps_the_cpu_mode_off():
    with keep_subnormals(), cpu_flush_to_zero() as on:
        assert not on and not _product_is_flushed()


@needs_cpu_mode
def test_the_fused_cell_sets_the_mode_in_every_thread_that_runs_its_blocks():
    from minigrad.nn.fused_lstm import _in_cpu_flush_mode

    with worker_threads(2):
        seen = map_blocks(_in_cpu_flush_mode(lambda _: _product_is_flushed()), range(8))
        assert all(seen)
        assert not any(map_blocks(lambda _: _product_is_flushed(), range(8)))
    assert not _product_is_flushed()


def test_without_the_cpu_mode_the_flush_does_the_job(monkeypatch):
    monkeypatch.setattr(subnormals, "_FENV", None)
    assert not cpu_mode_available()
    with cpu_flush_to_zero() as on:
        assert not on
        a = np.array([1e-40, 1.0], np.float32)
        flush_subnormals_(a)
        assert count_subnormals(a) == 0


def _mnist_trainer(steps=40):
    net = LSTMOptimizer(**net_defaults("mnist"), dtype="float32")
    problem = make_problem("mnist", "sigmoid-20", split="train", dtype="float32")
    return MetaTrainer(net, problem, MetaConfig(steps=steps, unroll=20))


def _count_backward_subnormals(monkeypatch, trainer, iterations):
    """Run meta-iterations, counting subnormal entries in every gradient the fused LSTM cell's
    backward returns (what the rest of the backward pass computes with)."""
    seen = {"returned": 0, "calls": 0}
    original = FusedLSTMCellFunction.backward

    def counting_backward(ctx, grad):
        seen["calls"] += 1
        out = original(ctx, grad)
        for g in out:
            if g is not None:
                seen["returned"] += count_subnormals(g.data)
        return out

    with monkeypatch.context() as patch:
        patch.setattr(FusedLSTMCellFunction, "backward", staticmethod(counting_backward))
        values = [trainer.train_iteration() for _ in range(iterations)]
    return seen, values


@pytest.mark.slow
@pytest.mark.parametrize("cpu_mode", [True, False], ids=["cpu-mode", "arrays-only"])
def test_meta_iteration_lstm_backward_sees_no_subnormals(monkeypatch, cpu_mode):
    if cpu_mode and not cpu_mode_available():
        pytest.skip("the CPU's flush-to-zero mode is not reachable here")
    if not cpu_mode:
        monkeypatch.setattr(subnormals, "_FENV", None)
    # The control: with exact arithmetic the same run produces subnormal gradients in the
    # cell's backward (so this test can fail), ...
    with keep_subnormals():
        exact, exact_values = _count_backward_subnormals(monkeypatch, _mnist_trainer(), 2)
    assert exact["calls"] > 0
    assert exact["returned"] > 1000, exact
    # ... and with the default flushing none is left.
    flushed, values = _count_backward_subnormals(monkeypatch, _mnist_trainer(), 2)
    assert flushed["calls"] == exact["calls"]
    assert flushed["returned"] == 0, flushed
    # Same numbers within float32 rounding.
    np.testing.assert_allclose(values, exact_values, rtol=1e-5)


@pytest.mark.slow
def test_flushing_gives_the_same_weights_within_float32_rounding():
    a, b = _mnist_trainer(), _mnist_trainer()
    a.train(2)
    with keep_subnormals():
        b.train(2)
    for (name, p), q in zip(a.net.named_parameters(), b.net.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(a.curve, b.curve, rtol=1e-5)
