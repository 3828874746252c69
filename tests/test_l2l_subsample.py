"""A cheaper meta-gradient (``MetaConfig.meta_coordinates`` < 1): backpropagation through a
random subset C of the coordinates, each term scaled by N / |C|, is an unbiased estimate of
the first-order meta-gradient. Proved here exactly: the mean over EVERY subset of a small
problem is the full meta-gradient. The trajectory (every loss) is the full one."""

import itertools

import numpy as np
import pytest

import minigrad.l2l.cli as cli
from minigrad.l2l import LSTMOptimizer, MetaConfig, MetaTrainer, make_problem, net_defaults
from minigrad.l2l.flat import Flattener
from minigrad.l2l.parallel import ParallelMetaTrainer, coordinate_subset, unroll_rows
from minigrad.nn import load_checkpoint


def small_unroll(objective="logmean", segment=0):
    """A float64 quadratic with N = 6 coordinates, a net and a starting point."""
    problem = make_problem("quadratic", dim=3, batch=2, dtype="float64")
    net = LSTMOptimizer(**net_defaults("quadratic"), seed=2).double()
    instance = problem.sample((0, 1, 5))
    arrays = instance.init_params()
    flat = Flattener.like(arrays)
    return net, instance, flat, flat.flatten(arrays)


def meta_gradient(net, instance, flat, theta, subset=None, scale=1.0, objective="logmean",
                  segment=0):
    net.zero_grad()
    meta_loss, _, _, values = unroll_rows(
        net, instance, flat, theta, None, 0, 5, slice(0, len(theta)), lambda d: d,
        meta_objective=objective, meta_segment=segment, subset=subset, scale=scale)
    meta_loss.backward()
    return meta_loss.item(), values, {n: p.grad.numpy().copy() for n, p in
                                      net.named_parameters()}


@pytest.mark.parametrize("objective,segment", [("loss", 0), ("logmean", 0), ("logmean", 2)])
def test_the_mean_over_every_subset_is_the_full_meta_gradient(objective, segment):
    net, instance, flat, theta = small_unroll()
    n = len(theta)
    value, values, full = meta_gradient(net, instance, flat, theta, objective=objective,
                                        segment=segment)
    for size in (1, 2, 4):
        total = {k: np.zeros_like(v) for k, v in full.items()}
        subsets = list(itertools.combinations(range(n), size))
        for chosen in subsets:
            mask = np.zeros(n, dtype=bool)
            mask[list(chosen)] = True
            v, vals, grads = meta_gradient(net, instance, flat, theta, mask, n / size,
                                           objective, segment)
            assert v == pytest.approx(value, rel=1e-12) and vals == pytest.approx(values)
            for k in total:
                total[k] += grads[k] / len(subsets)
        for k, g in full.items():
            np.testing.assert_allclose(total[k], g, rtol=1e-9, atol=1e-12, err_msg=k)
    # and one subset alone is not the full gradient: the estimate has variance
    mask = np.zeros(n, dtype=bool)
    mask[:2] = True
    one = meta_gradient(net, instance, flat, theta, mask, n / 2, objective, segment)[2]
    assert not np.allclose(one["head.weight"], full["head.weight"], rtol=1e-3)


def test_every_coordinate_is_the_full_unroll():
    net, instance, flat, theta = small_unroll()
    _, values, full = meta_gradient(net, instance, flat, theta)
    _, values_all, every = meta_gradient(net, instance, flat, theta,
                                         np.ones(len(theta), dtype=bool), 1.0)
    assert values_all == pytest.approx(values, rel=1e-12)
    for k, g in full.items():
        np.testing.assert_allclose(every[k], g, rtol=1e-10, atol=1e-14, err_msg=k)


def test_a_process_with_none_of_the_subset_gives_no_gradient_and_the_same_steps():
    net, instance, flat, theta = small_unroll()
    none = np.zeros(len(theta), dtype=bool)
    net.zero_grad()
    meta_loss, end, _, values = unroll_rows(net, instance, flat, theta, None, 0, 3,
                                            slice(0, len(theta)), lambda d: d, subset=none)
    assert not meta_loss.requires_grad  # nothing reaches phi (the trainers skip its backward)
    assert all(p.grad is None for p in net.parameters())
    full_end = unroll_rows(net, instance, flat, theta, None, 0, 3, slice(0, len(theta)),
                           lambda d: d)[1]
    np.testing.assert_allclose(end, full_end, rtol=1e-12)


def test_the_subset_is_a_seeded_fraction_of_the_coordinates():
    a = coordinate_subset(1000, 0.25, (0, 1, 7))
    assert a.dtype == bool and a.sum() == 250
    np.testing.assert_array_equal(a, coordinate_subset(1000, 0.25, (0, 1, 7)))
    assert not np.array_equal(a, coordinate_subset(1000, 0.25, (0, 1, 8)))
    assert coordinate_subset(1000, 1.0, 0) is None
    assert coordinate_subset(10, 0.01, 0).sum() == 1  # at least one


def _trainer(processes, fraction, make=ParallelMetaTrainer, unroll=3):
    problem = make_problem("quadratic")
    net = LSTMOptimizer(**net_defaults("quadratic"), seed=1)
    config = MetaConfig(steps=6, unroll=unroll, meta_lr=0.01, meta_objective="logmean",
                        meta_coordinates=fraction)
    if make is MetaTrainer:
        return make(net, problem, config)
    return make(net, problem, config, processes=processes)


def _train(trainer, iterations=2):
    try:
        trainer.train(iterations)
    finally:
        trainer.close()
    return trainer.net.state_dict(), trainer.curve


@pytest.mark.slow
def test_two_processes_give_the_one_process_numbers_with_a_subset():
    one = _train(_trainer(1, 0.3))
    two = _train(_trainer(2, 0.3))
    np.testing.assert_allclose(two[1], one[1], rtol=1e-5)
    for name, w in one[0].items():
        np.testing.assert_allclose(two[0][name], w, rtol=1e-4, atol=1e-6, err_msg=name)


def test_a_subset_trains_differently_and_needs_the_row_split_trainer():
    full = _train(_trainer(1, 1.0, unroll=6))
    part = _train(_trainer(1, 0.3, unroll=6))
    assert part[1][0] == pytest.approx(full[1][0], rel=1e-6)  # one unroll per horizon: the
    #                                         first horizon runs the same phi, the same losses
    assert not np.allclose(part[0]["head.weight"], full[0]["head.weight"])
    with pytest.raises(ValueError, match="needs the row-split trainer"):
        _trainer(1, 0.5, make=MetaTrainer)
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="meta_coordinates must be in"):
            MetaConfig(meta_coordinates=bad)
    with pytest.raises(ValueError, match="below 1 needs first order"):
        MetaConfig(meta_coordinates=0.5, second_order=True)


def test_train_flag_reaches_the_checkpoint_and_resumes_exactly(tmp_path, capsys):
    args = ["train", "--problem", "mnist", "--optimizee", "sigmoid-2", "--steps", "4",
            "--unroll", "2", "--meta-lr", "0.02", "--meta-coordinates", "0.25",
            "--no-progress"]
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    assert cli.main([*args, "--meta-iters", "3", "--out", str(whole)]) == 0
    assert cli.main([*args, "--meta-iters", "2", "--out", str(part)]) == 0
    assert cli.main([*args, "--meta-iters", "3", "--out", str(part), "--resume"]) == 0
    a, meta = load_checkpoint(whole)
    b, _ = load_checkpoint(part)
    assert meta["meta"]["meta_coordinates"] == 0.25
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(SystemExit):
        cli.main([*args[:-3], "--meta-coordinates", "0", "--out", str(tmp_path / "x.npz")])
