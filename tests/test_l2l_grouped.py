"""One LSTM per parameter group (issue 30 item 2): layouts, the grouped update, and its
meta-gradient against central differences in float64 (first and second order), as
tests/test_l2l_metagrad.py does for one LSTM.

The tiny problem: f(theta) = ||W theta - y||^2 on 7 coordinates in three arrays of kinds
conv, fc, conv (so the conv group is not one contiguous run), W dense, so every coordinate's
gradient depends on both groups' updates (the second-order meta-gradient crosses groups).
"""

import itertools

import numpy as np
import pytest
from test_l2l_metagrad import (  # the one-LSTM check's settings and helpers
    HIDDEN,
    LAYERS,
    SCALE,
    WEIGHTS,
    K,
    P,
    assert_close,
    central_differences,
    check_second_order,
    engine_grads,
    lstm_step,
)

from minigrad import ops
from minigrad.l2l.flat import Flattener
from minigrad.l2l.grouped import (
    GroupedLSTMOptimizer,
    bind_net,
    build_net,
    make_layout,
    mask_layout,
    parse_groups,
    restrict_layout,
    subset_net,
)
from minigrad.l2l.lstm_optimizer import LSTMOptimizer
from minigrad.l2l.meta import MetaConfig, MetaTrainer, unroll
from minigrad.l2l.parallel import unroll_rows
from minigrad.tensor import Tensor

SHAPES = [(2,), (3,), (1, 2)]
KINDS = ["conv", "fc", "conv"]
MEMBERS = {"conv": np.array([0, 1, 5, 6]), "fc": np.array([2, 3, 4])}


class TinyInstance:
    """f(theta) = ||W theta - y||^2 over the arrays laid end to end (7 coordinates)."""

    num_runs = 1

    def __init__(self, seed=0, kinds=KINDS):
        rng = np.random.default_rng(seed)
        self.w = rng.standard_normal((7, 7)) / 2
        self.y = rng.standard_normal((7, 1))
        self.theta0 = [rng.normal(0, 0.5, s) for s in SHAPES]
        self.kinds = list(kinds)

    def init_params(self):
        return [a.copy() for a in self.theta0]

    def param_kinds(self):
        return list(self.kinds)

    def loss(self, params, step=0):
        theta = ops.concatenate([ops.reshape(p, (-1,)) for p in params])
        r = ops.matmul(Tensor.from_array(self.w), ops.reshape(theta, (7, 1))) - self.y
        return ops.sum(r * r)

    def loss_and_runs(self, params, step=0):
        loss = self.loss(params, step)
        return loss, loss.data.reshape(1)

    def sample(self, seed):  # a problem family of one instance, for MetaTrainer
        return self

    def f(self, theta):
        r = self.w @ theta - self.y[:, 0]
        return float(r @ r)

    def grad_f(self, theta):
        return 2 * self.w.T @ (self.w @ theta - self.y[:, 0])


def _net(seed=3):
    return GroupedLSTMOptimizer(["conv", "fc"], preprocess="logsign", p=P, hidden_size=HIDDEN,
                                num_layers=LAYERS, output_scale=SCALE, seed=seed).double()


# ----- layouts and the grouped update -------------------------------------------------------------
def test_parse_groups():
    assert parse_groups("conv,fc") == ["conv", "fc"]
    assert parse_groups(["fc", "conv"]) == ["fc", "conv"]
    assert parse_groups("all") == parse_groups("") == parse_groups(None) == []
    for bad in ("conv,conv", "conv,bias", "weights"):
        with pytest.raises(ValueError, match="conv, fc"):
            parse_groups(bad)


def test_layouts_merge_neighbours_and_restrict_to_rows():
    layout = make_layout(["conv", "fc", "fc", "conv"], [4, 2, 3, 5])
    assert layout == (("conv", 0, 4), ("fc", 4, 9), ("conv", 9, 14))
    assert restrict_layout(layout, slice(3, 10)) == (("conv", 0, 1), ("fc", 1, 6),
                                                    ("conv", 6, 7))
    assert restrict_layout(layout, slice(4, 9)) == (("fc", 0, 5),)
    with pytest.raises(ValueError, match="2 kinds for 1 arrays"):
        make_layout(["conv", "fc"], [3])


def test_grouped_update_is_each_groups_lstm_on_its_own_coordinates():
    net = _net()
    inst = TinyInstance()
    flat = Flattener.like(inst.init_params())
    bound = bind_net(net, inst, flat)
    g = np.random.default_rng(1).standard_normal(7)
    delta, state = bound.update_array(g)
    delta2, _ = bound.update_array(2 * g, state)
    for grp, idx in MEMBERS.items():
        own, own_state = net.net(grp).update_array(g[idx])
        np.testing.assert_array_equal(delta[idx], own)
        np.testing.assert_array_equal(delta2[idx], net.net(grp).update_array(2 * g[idx],
                                                                             own_state)[0])
    # the two LSTMs have different weights (seeds 3 and 4), so the groups differ
    assert not np.allclose(net.net("conv").head.weight.numpy(), net.net("fc").head.weight.numpy())


def test_grouped_net_state_dict_names_config_and_rebuild():
    net = GroupedLSTMOptimizer("conv,fc", hidden_size=4, seed=2,
                               assignment={"conv": ["conv1.weight"], "fc": ["fc1.weight"]})
    names = list(net.state_dict())
    assert names[0] == "conv.lstm.weight_ih_l0" and names[-1] == "fc.head.bias"
    assert len(names) == 2 * len(LSTMOptimizer(hidden_size=4).state_dict())
    cfg = net.config()
    assert cfg["groups"] == ["conv", "fc"] and cfg["seed"] == 2 and cfg["hidden_size"] == 4
    assert cfg["assignment"] == {"conv": ["conv1.weight"], "fc": ["fc1.weight"]}
    again = build_net(cfg, dtype="float32")
    assert isinstance(again, GroupedLSTMOptimizer) and again.config() == cfg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[k], v)
    single = build_net(LSTMOptimizer(hidden_size=4).config())
    assert type(single) is LSTMOptimizer
    assert type(build_net({**LSTMOptimizer().config(), "groups": []})) is LSTMOptimizer


def test_grouped_net_needs_kinds_and_a_group_for_each():
    net = _net()
    flat = Flattener([(3,)])

    class NoKinds:
        pass

    with pytest.raises(ValueError, match="has none"):
        bind_net(net, NoKinds(), flat)
    only_conv = GroupedLSTMOptimizer(["conv"], hidden_size=2)
    with pytest.raises(ValueError, match="kind 'fc' have no LSTM"):
        bind_net(only_conv, TinyInstance(), Flattener(SHAPES))
    with pytest.raises(ValueError, match="bind"):
        net.update(np.zeros(7))
    # a group with no coordinates of its kind (an MLP: fc only) just does not step
    fc_only = TinyInstance(kinds=["fc"] * 3)
    delta, state = bind_net(net, fc_only, Flattener(SHAPES)).update_array(np.ones(7))
    np.testing.assert_array_equal(delta, net.net("fc").update_array(np.ones(7))[0])
    assert state[0] is None


# ----- the meta-gradient, against central differences ---------------------------------------------
def ref_meta_loss(phi, theta0, states0, inst, recorded=None):
    """sum_k w_k f(theta_{k+1}) in plain NumPy with two independent LSTMs, each on its group's
    coordinates; g_k from ``recorded`` (first order) or recomputed (second order)."""
    theta = theta0.copy()
    states = {grp: [(h.copy(), c.copy()) for h, c in st] for grp, st in states0.items()}
    total = 0.0
    g = recorded[0] if recorded is not None else inst.grad_f(theta)
    for k in range(K):
        delta = np.zeros_like(theta)
        for grp, idx in MEMBERS.items():
            delta[idx], states[grp] = lstm_step(phi, g[idx], states[grp], prefix=f"{grp}.")
        theta = theta + delta
        total += WEIGHTS[k] * inst.f(theta)
        if k < K - 1:
            g = recorded[k + 1] if recorded is not None else inst.grad_f(theta)
    return total


def setup():
    net, inst = _net(), TinyInstance(5)
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    # a first unroll, whose end (theta and both LSTM states) the tested unroll starts from
    _, theta, state, _ = unroll(net, inst, flat, flat.flatten(arrays), None, 0, 3)
    net.zero_grad()
    states0 = {grp: [(h.numpy().copy(), c.numpy().copy()) for h, c in st]
               for grp, st in zip(net.groups, state)}
    return net, inst, flat, theta.copy(), state, states0


@pytest.mark.parametrize("method", ["tangent", "graph"])
def test_grouped_first_order_meta_gradient_matches_central_differences(method):
    net, inst, flat, theta, state, states0 = setup()
    value, grads, record = engine_grads(net, inst, flat, theta, state, method=method)
    phi = {n: v.astype(np.float64) for n, v in net.state_dict().items()}
    assert np.isclose(ref_meta_loss(phi, theta, states0, inst, record), value, rtol=1e-12)
    numeric = central_differences(lambda ph: ref_meta_loss(ph, theta, states0, inst, record),
                                  phi)
    assert_close(grads, numeric)
    assert np.abs(grads["conv.head.weight"]).max() > 0 and np.abs(grads["fc.head.weight"]).max() > 0


def test_grouped_second_order_meta_gradient_matches_central_differences_of_the_full_loss():
    net, inst, flat, theta, state, states0 = setup()
    check_second_order(net, inst, flat, theta, state,
                       lambda ph: ref_meta_loss(ph, theta, states0, inst),
                       weight="fc.lstm.weight_ih_l0")


def test_meta_trainer_trains_both_lstms():
    net = _net()
    before = net.state_dict()
    trainer = MetaTrainer(net, TinyInstance(2), MetaConfig(steps=6, unroll=3, meta_lr=1e-2))
    trainer.train(2)
    assert trainer.iteration == 2 and np.isfinite(trainer.curve).all()
    after = net.state_dict()
    for grp in ("conv", "fc"):
        assert not np.array_equal(before[f"{grp}.head.weight"], after[f"{grp}.head.weight"])


# ----- the meta-gradient through a subset of the coordinates (MetaConfig.meta_coordinates) ------
def test_mask_layout_gathers_each_groups_chosen_coordinates():
    layout = make_layout(KINDS, [2, 3, 2])  # conv 0-2, fc 2-5, conv 5-7
    mask = np.array([True, False, False, True, True, True, False])
    assert mask_layout(layout, mask) == (("conv", 0, 1), ("fc", 1, 3), ("conv", 3, 4))
    assert mask_layout(layout, ~mask) == (("conv", 0, 1), ("fc", 1, 2), ("conv", 2, 3))
    # runs of a kind brought together by the mask merge
    assert mask_layout(layout, np.array([1, 0, 0, 0, 0, 1, 1], dtype=bool)) == (("conv", 0, 3),)
    assert mask_layout(layout, np.zeros(7, dtype=bool)) == ()


def test_a_subset_steps_each_coordinate_with_its_own_groups_lstm():
    inst, net = TinyInstance(1), _net()
    flat = Flattener.like(inst.init_params())
    bound = bind_net(net, inst, flat)
    g = np.random.default_rng(0).standard_normal(7)
    full, _ = bound.update_array(g)
    mask = np.array([False, True, True, False, False, True, True])
    part, _ = subset_net(bound, mask).update_array(g[mask])
    np.testing.assert_allclose(part, full[mask], rtol=1e-12)
    assert subset_net(net.net("fc"), mask) is net.net("fc")  # one LSTM: as it is


def grouped_meta_gradient(net, inst, flat, theta, subset=None, scale=1.0):
    net.zero_grad()
    meta_loss, _, _, values = unroll_rows(
        bind_net(net, inst, flat), inst, flat, theta, None, 0, 4, slice(0, len(theta)),
        lambda d: d, meta_objective="logmean", meta_segment=2, subset=subset, scale=scale)
    meta_loss.backward()
    # a subset without coordinates of a group gives that group's LSTM no gradient (zero)
    return values, {n: np.zeros(p.shape) if p.grad is None else p.grad.numpy().copy()
                    for n, p in net.named_parameters()}


def test_the_mean_over_every_subset_is_the_grouped_meta_gradient():
    """The subsampled meta-gradient of a grouped optimizer is unbiased: its mean over every
    subset of a size is the full one, for both LSTMs (exactly, in float64)."""
    inst, net = TinyInstance(4), _net()
    flat = Flattener.like(inst.init_params())
    theta = flat.flatten(inst.init_params())
    values, full = grouped_meta_gradient(net, inst, flat, theta)
    for size in (1, 3):
        subsets = list(itertools.combinations(range(7), size))
        total = {k: np.zeros_like(v) for k, v in full.items()}
        for chosen in subsets:
            mask = np.zeros(7, dtype=bool)
            mask[list(chosen)] = True
            vals, grads = grouped_meta_gradient(net, inst, flat, theta, mask, 7 / size)
            assert vals == pytest.approx(values, rel=1e-12)  # the trajectory is the full one
            for k in total:
                total[k] += grads[k] / len(subsets)
        for k, g in full.items():
            np.testing.assert_allclose(total[k], g, rtol=1e-9, atol=1e-12, err_msg=k)

