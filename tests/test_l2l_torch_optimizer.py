"""LearnedTorchOptimizer: the learned optimizer in PyTorch (issue 33, item 2).

Skipped without PyTorch (an optional extra: ``pip install -e ".[bench]"``); the test that the
import without it says how to install it is in test_l2l_learned_optimizer.py.
"""

import io

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install -e "
                            "'.[bench]'); the adapter is tested where it is installed")

from minigrad.l2l import LearnedOptimizer, LSTMOptimizer, make_problem, net_defaults  # noqa: E402
from minigrad.l2l.checkpoints import (  # noqa: E402
    PRETRAINED_DIR,
    CheckpointMismatch,
    load_learned_optimizer,
)
from minigrad.l2l.evaluate import LearnedRule, rollout  # noqa: E402
from minigrad.l2l.torch_optimizer import LearnedTorchOptimizer, TorchLSTMOptimizer  # noqa: E402
from minigrad.nn import Parameter  # noqa: E402

MNIST_TEST_RUN = (0, 3, 0)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mlp_loss(instance, params, t):
    """The MNIST problem's loss (sigmoid MLP, mean cross-entropy on minibatch t) in PyTorch."""
    x, y = instance.batch(t)
    h = torch.from_numpy(x)
    for k in range(0, len(params), 2):
        h = h @ params[k] + params[k + 1]
        if k + 2 < len(params):
            h = torch.sigmoid(h)
    return torch.nn.functional.cross_entropy(h, torch.from_numpy(y).long())


def _train(opt, params, instance, steps, start=0):
    losses = []
    for t in range(start, start + steps):
        loss = _mlp_loss(instance, params, t)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(losses)


def _torch_rollout(instance, checkpoint, steps=100):
    params = [torch.nn.Parameter(torch.from_numpy(a)) for a in instance.init_params()]
    opt = LearnedTorchOptimizer(params, checkpoint)
    losses = _train(opt, params, instance, steps)
    return np.append(losses, _mlp_loss(instance, params, steps).item())


def _shipped_net(dtype):
    net, meta = load_learned_optimizer("pretrained", "mnist")
    out = LSTMOptimizer(**meta["net"], dtype=dtype)
    out.load_state_dict({k: v.astype(dtype) for k, v in net.state_dict().items()})
    return out


@pytest.mark.slow
def test_mnist_rollout_float64_is_minigrads_to_rounding():
    """In float64 the two frameworks' 100-step trajectories agree to 1e-9: the same math."""
    net = _shipped_net("float64")
    instance = make_problem("mnist", split="test", dtype="float64").sample(MNIST_TEST_RUN)
    expected = rollout(LearnedRule(net), instance, 100)[:, 0]
    np.testing.assert_allclose(_torch_rollout(instance, net), expected, rtol=1e-9)


@pytest.mark.slow
def test_mnist_rollout_float32_shipped_checkpoint():
    """The shipped (float32) optimizer: the first 10 losses agree to 1e-5; over 100 steps
    rounding grows along the trajectory to at most 1e-2 (measured 3.9e-3; minigrad's own
    trajectory moves by 2.4e-3 when the initial weights move by one float32 ulp)."""
    instance = make_problem("mnist", split="test").sample(MNIST_TEST_RUN)
    net, _ = load_learned_optimizer("pretrained", "mnist")
    expected = rollout(LearnedRule(net), instance, 100)[:, 0]
    losses = _torch_rollout(instance, "pretrained")
    np.testing.assert_allclose(losses[:11], expected[:11], rtol=1e-5)
    np.testing.assert_allclose(losses, expected, rtol=1e-2)
    assert losses[-1] < 0.1 * losses[0]


def test_module_runs_minigrads_update():
    """The torch module, fed the same gradients, gives the minigrad net's deltas (float64)."""
    net = LSTMOptimizer(**net_defaults("mnist"), seed=3, dtype="float64")
    module = TorchLSTMOptimizer.from_minigrad(net)
    assert set(module.state_dict()) == set(net.state_dict())  # the same names
    rng = np.random.default_rng(0)
    state, t_state = None, None
    for _ in range(3):
        g = rng.standard_normal(50) * 10.0 ** rng.uniform(-12, 1, 50)
        delta, state = net.update_array(g, state)
        t_delta, t_state = module(torch.from_numpy(g), t_state)
        np.testing.assert_allclose(t_delta.numpy(), delta, rtol=1e-12, atol=1e-15)


def test_state_dict_round_trip_resumes_exactly():
    instance = make_problem("mnist", split="val").sample((0, 2, 0))
    params = [torch.nn.Parameter(torch.from_numpy(a)) for a in instance.init_params()]
    opt = LearnedTorchOptimizer(params)
    _train(opt, params, instance, 10)
    buffer = io.BytesIO()
    torch.save({"params": [p.detach().clone() for p in params], "opt": opt.state_dict()}, buffer)
    straight = _train(opt, params, instance, 10, start=10)

    buffer.seek(0)
    saved = torch.load(buffer)
    params2 = [torch.nn.Parameter(p) for p in saved["params"]]
    opt2 = LearnedTorchOptimizer(params2)
    opt2.load_state_dict(saved["opt"])
    assert opt2.state[params2[0]]["step"] == 10
    assert opt2.state[params2[0]]["h"].shape == (2, 784 * 20, 20)
    np.testing.assert_array_equal(_train(opt2, params2, instance, 10, start=10), straight)
    for p, q in zip(params, params2):
        assert torch.equal(p, q)


def test_reset_state_and_groups():
    net_a, net_b = (LSTMOptimizer(**net_defaults("mnist"), seed=s, dtype="float32")
                    for s in (1, 2))
    a = torch.nn.Parameter(torch.zeros(2, 2))
    b = torch.nn.Parameter(torch.zeros(3))
    opt = LearnedTorchOptimizer([{"params": [a], "checkpoint": net_a},
                                 {"params": [b], "checkpoint": net_b}])
    a.grad, b.grad = torch.full((2, 2), 0.5), torch.full((3,), -0.2)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy().reshape(-1),
                               net_a.update_array(np.full(4, 0.5, "float32"))[0], rtol=1e-6)
    np.testing.assert_allclose(b.detach().numpy(),
                               net_b.update_array(np.full(3, -0.2, "float32"))[0], rtol=1e-6)
    first = b.detach().clone()
    opt.reset_state()
    assert not opt.state
    opt.step()
    np.testing.assert_allclose(b.detach().numpy(), 2 * first.numpy(), rtol=1e-6)


def test_same_numbers_as_learned_optimizer_on_any_shapes():
    rng = np.random.default_rng(1)
    shapes = [(), (2, 3, 4), (7,)]
    values = [np.asarray(rng.standard_normal(s), "float32") for s in shapes]
    ours = [Parameter(v) for v in values]
    theirs = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    net = LSTMOptimizer(**net_defaults("mnist"), seed=4, dtype="float32")
    opt, t_opt = LearnedOptimizer(ours, net), LearnedTorchOptimizer(theirs, net)
    for _ in range(3):
        grads = [np.asarray(rng.standard_normal(s) * 1e-3, "float32") for s in shapes]
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = mg.Tensor(g), torch.from_numpy(g)
        opt.step()
        t_opt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(q.detach().numpy(), p.data, rtol=1e-5, atol=1e-7)


def test_errors():
    p = torch.nn.Parameter(torch.zeros(3))
    opt = LearnedTorchOptimizer([p])
    with pytest.raises(ValueError, match=r"step: parameter 0 of group 0 \(shape \(3,\)\) has "
                                         r"no gradient"):
        opt.step()
    with pytest.raises(TypeError, match=r"__init__: parameter 0 of group 0 is torch.float64, "
                                        r"but the learned optimizer's LSTM runs in torch.float32"):
        LearnedTorchOptimizer([torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))])
    with pytest.raises(CheckpointMismatch, match=r"trained on the 'quadratic' problem"):
        LearnedTorchOptimizer([p], PRETRAINED_DIR / "quadratic.npz", problem="mnist")


def test_load_state_dict_checks_the_lstm_states():
    p = torch.nn.Parameter(torch.zeros(4))
    opt = LearnedTorchOptimizer([p])
    p.grad = torch.ones(4)
    opt.step()
    other = LearnedTorchOptimizer([torch.nn.Parameter(torch.zeros(5))])
    with pytest.raises(ValueError, match=r"state 'h' of parameter 0 of group 0 has shape "
                                         r"\(2, 4, 20\), expected \(2, 5, 20\)"):
        other.load_state_dict(opt.state_dict())


def test_step_with_a_closure():
    p = torch.nn.Parameter(torch.full((3,), 0.5))
    opt = LearnedTorchOptimizer([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 0.75
    assert not torch.equal(p.detach(), torch.full((3,), 0.5))
