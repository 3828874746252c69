"""LearnedOptimizer: the learned LSTM optimizer as a drop-in minigrad optimizer (issue 33)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.l2l import LearnedOptimizer, LSTMOptimizer, make_problem, net_defaults
from minigrad.l2l.checkpoints import PRETRAINED_DIR, CheckpointMismatch, load_learned_optimizer
from minigrad.l2l.evaluate import LearnedRule, rollout
from minigrad.nn import Parameter
from minigrad.optim import flatten_state_dict, unflatten_state_dict

MNIST_TEST_RUN = (0, 3, 0)  # the first held-out test run of the evaluation protocol


def _net(seed=1):
    return LSTMOptimizer(**net_defaults("mnist"), seed=seed, dtype="float32")


def _train(opt, params, instance, steps, start=0):
    """Losses at steps start..start+steps-1, each followed by one optimizer step."""
    losses = []
    for t in range(start, start + steps):
        loss = instance.loss(params, t)
        losses.append(float(loss.data))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(losses)


def _set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = mg.Tensor(g)


@pytest.mark.slow
def test_mnist_rollout_gives_learned_rule_losses():
    """100 steps of the MNIST MLP with the shipped optimizer: the losses of LearnedRule."""
    instance = make_problem("mnist", split="test").sample(MNIST_TEST_RUN)
    net, _ = load_learned_optimizer("pretrained", "mnist")
    expected = rollout(LearnedRule(net), instance, 100)[:, 0]
    params = [Parameter(a) for a in instance.init_params()]
    opt = LearnedOptimizer(params, "pretrained", problem="mnist")
    losses = np.append(_train(opt, params, instance, 100), float(instance.loss(params, 100).data))
    assert expected[-1] < 0.1 * expected[0]  # it did learn
    np.testing.assert_allclose(losses, expected, rtol=1e-6, atol=0)


def test_state_dict_round_trip_resumes_exactly():
    """Continuing after save and load equals continuing without saving (also through the
    .npz layout of flatten_state_dict)."""
    instance = make_problem("mnist", split="val").sample((0, 2, 0))
    params = [Parameter(a) for a in instance.init_params()]
    opt = LearnedOptimizer(params, "pretrained")
    _train(opt, params, instance, 10)
    saved_params = [p.data.copy() for p in params]
    arrays, meta = flatten_state_dict(opt.state_dict())
    arrays = {k: np.array(v) for k, v in arrays.items()}
    straight = _train(opt, params, instance, 10, start=10)

    params2 = [Parameter(a) for a in saved_params]
    opt2 = LearnedOptimizer(params2, "pretrained")
    opt2.load_state_dict(unflatten_state_dict(arrays, meta))
    assert opt2.steps == [10]
    resumed = _train(opt2, params2, instance, 10, start=10)
    np.testing.assert_array_equal(resumed, straight)
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_layout():
    params = [Parameter(np.zeros((3, 4), "float32")), Parameter(np.zeros(5, "float32"))]
    opt = LearnedOptimizer(params, _net())
    assert opt.state_dict()["state"] == {}
    _set_grads(params, [np.ones((3, 4), "float32"), np.ones(5, "float32")])
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1]
    assert sorted(sd["state"][1]) == ["c_l0", "c_l1", "h_l0", "h_l1", "step"]
    assert sd["state"][0]["h_l1"].shape == (12, 20) and sd["state"][1]["c_l0"].shape == (5, 20)
    assert sd["param_groups"][0]["checkpoint"] == "<LSTMOptimizer given>"


def test_any_shapes_are_one_flat_vector():
    """Tensors of any shapes (0-d included) are updated as their concatenation would be."""
    rng = np.random.default_rng(0)
    shapes = [(), (2, 3, 4), (7,), (1, 1)]
    values = [rng.standard_normal(s).astype("float32") for s in shapes]
    params = [Parameter(v) for v in values]
    opt = LearnedOptimizer(params, _net())
    flat = Parameter(np.concatenate([v.reshape(-1) for v in values]))
    flat_opt = LearnedOptimizer([flat], _net())
    for _ in range(3):
        grads = [rng.standard_normal(s).astype("float32") * 1e-3 for s in shapes]
        _set_grads(params, grads)
        flat.grad = mg.Tensor(np.concatenate([g.reshape(-1) for g in grads]))
        opt.step()
        flat_opt.step()
    np.testing.assert_array_equal(np.concatenate([p.data.reshape(-1) for p in params]),
                                  flat.data)
    assert params[0].shape == () and params[1].shape == (2, 3, 4)


def test_reset_state_starts_afresh():
    g = np.full(6, 0.01, "float32")
    p = Parameter(np.zeros(6, "float32"))
    opt = LearnedOptimizer([p], _net())
    p.grad = mg.Tensor(g)
    opt.step()
    first = p.data.copy()
    opt.step()
    assert not np.array_equal(p.data - first, first)  # the state changed the second step
    opt.reset_state()
    before = p.data.copy()
    opt.step()
    np.testing.assert_allclose(p.data - before, first, rtol=1e-6)  # (x + d) - x rounds
    assert opt.steps == [1]


def test_one_lstm_per_parameter_group():
    """Each group runs its own checkpoint's LSTM on its own coordinates only."""
    net_a, net_b = _net(1), _net(2)
    a, b = Parameter(np.zeros((2, 2), "float32")), Parameter(np.zeros(3, "float32"))
    opt = LearnedOptimizer([{"params": [a], "checkpoint": net_a},
                            {"params": [b], "checkpoint": net_b}])
    ga, gb = np.full((2, 2), 0.5, "float32"), np.full(3, -0.2, "float32")
    _set_grads([a, b], [ga, gb])
    opt.step()
    np.testing.assert_array_equal(a.data.reshape(-1), net_a.update_array(ga.reshape(-1))[0])
    np.testing.assert_array_equal(b.data, net_b.update_array(gb)[0])
    assert opt.nets == [net_a, net_b]


def test_a_checkpoint_is_loaded_once_for_several_groups():
    a, b = Parameter(np.zeros(2, "float32")), Parameter(np.zeros(3, "float32"))
    opt = LearnedOptimizer([{"params": [a]}, {"params": [b]}], "pretrained")
    assert opt.nets[0] is opt.nets[1]
    assert opt.param_groups[0]["checkpoint"] == str(PRETRAINED_DIR / "mnist.npz")


def test_error_for_a_parameter_without_gradient():
    a, b = Parameter(np.zeros(2, "float32")), Parameter(np.zeros(3, "float32"))
    opt = LearnedOptimizer([a, b], _net())
    a.grad = mg.Tensor(np.ones(2, "float32"))
    with pytest.raises(ValueError, match=r"step: parameter 1 of group 0 \(shape \(3,\)\) has "
                                         r"no gradient.*loss.backward\(\)"):
        opt.step()
    np.testing.assert_array_equal(a.data, 0)  # nothing moved


def test_error_for_a_dtype_mismatch():
    with pytest.raises(TypeError, match=r"__init__: parameter 0 of group 0 is float64, but the "
                                        r"learned optimizer's LSTM runs in float32"):
        LearnedOptimizer([Parameter(np.zeros(2, "float64"))], _net())
    p = Parameter(np.zeros(2, "float32"))
    opt = LearnedOptimizer([p], _net())
    p.grad = mg.Tensor(np.ones(2, "float64"))
    with pytest.raises(TypeError, match=r"step: the gradient of parameter 0 .* is float64"):
        opt.step()


def test_error_for_a_checkpoint_of_another_problem():
    p = Parameter(np.zeros(2, "float32"))
    with pytest.raises(CheckpointMismatch, match=r"trained on the 'quadratic' problem.*mnist"):
        LearnedOptimizer([p], PRETRAINED_DIR / "quadratic.npz", problem="mnist")
    with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
        LearnedOptimizer([p], "/nonexistent/opt.npz")
    with pytest.raises(ValueError, match="weights must be 'best' or 'last'"):
        LearnedOptimizer([p], "pretrained", weights="worst")


def test_load_state_dict_errors():
    p = Parameter(np.zeros(4, "float32"))
    opt = LearnedOptimizer([p], _net())
    p.grad = mg.Tensor(np.ones(4, "float32"))
    opt.step()
    sd = opt.state_dict()
    other = LearnedOptimizer([Parameter(np.zeros(5, "float32"))], _net())
    with pytest.raises(ValueError, match=r"state 'h_l0' has shape \(4, 20\), expected \(5, 20\)"):
        other.load_state_dict(sd)
    two = LearnedOptimizer([Parameter(np.zeros(4, "float32")),
                            Parameter(np.zeros(1, "float32"))], _net())
    with pytest.raises(ValueError, match="group 0 saved 1 parameters, this one has 2"):
        two.load_state_dict(sd)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    opt.load_state_dict(LearnedOptimizer([Parameter(np.zeros(4, "float32"))],
                                         _net()).state_dict())
    assert opt.lstm_state == [None] and opt.steps == [0]


def test_torch_adapter_without_torch_says_how_to_install(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    monkeypatch.delitem(sys.modules, "minigrad.l2l.torch_optimizer", raising=False)
    with pytest.raises(ImportError, match=r"needs PyTorch, an optional extra.*\.\[bench\]"):
        importlib.import_module("minigrad.l2l.torch_optimizer")


# ----- a checkpoint with one LSTM per parameter group (the convnet's two LSTMs) ----------------
CONVNET = dict(conv_channels=(2, 2), linear=(4,), batch_size=16)


@pytest.fixture(scope="module")
def two_lstm_checkpoint(tmp_path_factory):
    """A convnet checkpoint with LSTMs conv and fc (untrained weights: the numbers, not the
    training, are what these tests compare)."""
    from minigrad.l2l.checkpoints import write_checkpoint
    from minigrad.l2l.launch import build_trainer
    from minigrad.l2l.meta import MetaConfig

    trainer = build_trainer("convnet", {**net_defaults("convnet"), "hidden_size": 5},
                            MetaConfig().to_dict(), dict(CONVNET), "float32")
    path = tmp_path_factory.mktemp("grouped") / "cnn.npz"
    write_checkpoint(path, trainer, trainer.problem.config())
    return path


def _convnet_groups(instance, names):
    """The instance's parameters as Parameters, and LearnedOptimizer groups by kind."""
    params = [Parameter(a) for a in instance.init_params()]
    kinds = instance.param_kinds()
    groups = [{"params": [p for p, k in zip(params, kinds) if k == kind], "lstm": kind}
              for kind in names]
    return params, groups


def test_two_lstm_checkpoint_gives_learned_rule_losses(two_lstm_checkpoint):
    """Each parameter group stepped by the checkpoint's LSTM of its kind: the losses of
    LearnedRule on the flat vector (each coordinate's LSTM row is its own, whatever the order)."""
    instance = make_problem("convnet", split="test", **CONVNET).sample((0, 3, 0))
    net, _ = load_learned_optimizer(two_lstm_checkpoint, "convnet")
    expected = rollout(LearnedRule(net), instance, 8)[:, 0]
    params, groups = _convnet_groups(instance, ("fc", "conv"))  # any order of the groups
    opt = LearnedOptimizer(groups, two_lstm_checkpoint, problem="convnet")
    assert [n.seed for n in opt.nets] == [net.net("fc").seed, net.net("conv").seed]
    losses = np.append(_train(opt, params, instance, 8), float(instance.loss(params, 8).data))
    np.testing.assert_allclose(losses, expected, rtol=1e-5, atol=0)
    assert expected[-1] != expected[0]  # the optimizer moved the net


def test_two_lstm_groups_resume_exactly_and_take_a_net_object(two_lstm_checkpoint):
    instance = make_problem("convnet", split="val", **CONVNET).sample((0, 2, 0))
    net, _ = load_learned_optimizer(two_lstm_checkpoint, "convnet")
    params, groups = _convnet_groups(instance, ("conv", "fc"))
    opt = LearnedOptimizer(groups, net)  # the GroupedLSTMOptimizer itself
    assert opt.nets == [net.net("conv"), net.net("fc")]
    assert opt.param_groups[0]["checkpoint"] == "<GroupedLSTMOptimizer given>"
    _train(opt, params, instance, 3)
    saved, sd = [p.data.copy() for p in params], opt.state_dict()
    straight = _train(opt, params, instance, 3, start=3)
    for p, s in zip(params, saved):
        p.data[...] = s
    _, groups2 = _convnet_groups(instance, ("conv", "fc"))
    for g2, g in zip(groups2, groups):
        g2["params"] = g["params"]
    again = LearnedOptimizer(groups2, net)
    again.load_state_dict(sd)
    np.testing.assert_array_equal(_train(again, params, instance, 3, start=3), straight)


def test_two_lstm_checkpoint_errors(two_lstm_checkpoint):
    p = Parameter(np.zeros(3, "float32"))
    with pytest.raises(ValueError, match=r"one LSTM per parameter group \('conv', 'fc'\); "
                                         r"give each parameter group an 'lstm' entry"):
        LearnedOptimizer([p], two_lstm_checkpoint, problem="convnet")
    with pytest.raises(ValueError, match=r"asks for the LSTM 'bias', but .* has LSTMs for "
                                         r"'conv', 'fc' only"):
        LearnedOptimizer([{"params": [p], "lstm": "bias"}], two_lstm_checkpoint,
                         problem="convnet")
    with pytest.raises(ValueError, match="holds one LSTM for every parameter; leave 'lstm' out"):
        LearnedOptimizer([{"params": [p], "lstm": "conv"}], _net())
    with pytest.raises(CheckpointMismatch, match="trained on the 'convnet' problem"):
        LearnedOptimizer([{"params": [p], "lstm": "fc"}], two_lstm_checkpoint)  # mnist asked
    # the lstm option may be the default for all groups
    opt = LearnedOptimizer([p], two_lstm_checkpoint, problem="convnet", lstm="fc")
    assert opt.param_groups[0]["lstm"] == "fc"
