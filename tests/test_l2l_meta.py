"""Meta-training: every weight trains, training helps on held-out problems, the official
code's reference numbers and sanity target, divergence and interruption handling."""

import math

import numpy as np
import pytest

import minigrad.l2l.meta as meta_module
from minigrad.l2l import (
    LearnedRule,
    LSTMOptimizer,
    MetaConfig,
    MetaTrainer,
    MetaTrainingDiverged,
    QuadraticProblem,
    evaluate_rule,
    make_problem,
    net_defaults,
)
from minigrad.l2l.evaluate import problem_seeds
from minigrad.l2l.flat import Flattener


def quadratic_trainer(batch=16, steps=20, unroll=10, lr=1e-2, seed=0):
    net = LSTMOptimizer(**net_defaults("quadratic"), seed=seed)
    prob = QuadraticProblem(batch=batch)
    return MetaTrainer(net, prob, MetaConfig(steps=steps, unroll=unroll, meta_lr=lr, seed=seed))


def test_every_lstm_weight_changes_after_one_meta_update():
    trainer = quadratic_trainer(steps=5, unroll=5)  # one unroll: exactly one Adam step
    net = trainer.net
    registered = {id(p) for g in trainer.meta_opt.param_groups for p in g["params"]}
    assert registered == {id(p) for p in net.parameters()}
    names = [n for n, _ in net.named_parameters()]
    assert len(names) == 10 and all(n.startswith(("lstm.", "head.")) for n in names)
    before = net.state_dict()
    trainer.train_iteration()
    after = net.state_dict()
    for name in before:
        changed = before[name] != after[name]
        assert changed.all(), f"{name}: {int((~changed).sum())} entries did not change"
    assert trainer.meta_opt.state_dict()["state"][0]["step"] == 1


@pytest.mark.slow
def test_short_quadratic_meta_training_lowers_the_held_out_loss():
    trainer = quadratic_trainer()
    prob, net = trainer.problem, trainer.net
    seeds = problem_seeds(prob, 0, "test", 64)  # held-out: never used in training

    def held_out():
        losses = evaluate_rule(lambda: LearnedRule(net), prob, seeds, 20, 64)
        return losses[:, 0].mean(), losses[:, 1:].mean()

    start, untrained = held_out()
    trainer.train(8)
    _, trained = held_out()
    assert trained < 0.5 * untrained
    assert trained < start  # it now descends: below the loss at theta_0
    assert len(trainer.curve) == 8 and trainer.curve[-1] < trainer.curve[0]


def test_official_code_reference_numbers():
    """The official code's testResults (its own port of the Torch numbers): f(x) = x^2,
    no hidden layers, zero init, unrolls of 5, Adam lr 0.01: after one meta-update the second
    unroll ends at x = 0.8559 with cost 0.7325327."""
    net = LSTMOptimizer(**net_defaults("square"))
    assert net.lstm is None and all((p.data == 0).all() for p in net.parameters())
    inst = make_problem("square").sample(0)
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    theta, state = flat.flatten(arrays), None
    from minigrad import optim

    opt = optim.Adam(net.parameters(), lr=0.01)
    for u in range(2):
        loss, theta, state, values = meta_module.unroll(net, inst, flat, theta, state, 5 * u, 5,
                                                        loss_terms="official")
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert theta[0] == pytest.approx(0.8559, abs=1e-4)
    assert values[-1] == pytest.approx(0.7325327, abs=1e-6)


@pytest.mark.slow
def test_official_sanity_target_x_squared():
    """Official test: a learned optimizer with no hidden layers, zero init, horizons of 5
    unrolls of 20 steps, meta-lr 1e-2, solves f(x) = x^2 from x = 1 within 500 epochs
    (final cost < 1e-5). We stop at the first epoch whose final cost is below 1e-5."""
    net = LSTMOptimizer(**net_defaults("square"))
    trainer = MetaTrainer(net, make_problem("square"),
                          MetaConfig(steps=100, unroll=20, meta_lr=1e-2, loss_terms="official"))
    while trainer.iteration < 500 and not (trainer.final_losses
                                           and trainer.final_losses[-1] < 1e-5):
        trainer.train_iteration()
    assert trainer.final_losses[-1] < 1e-5, trainer.final_losses[-5:]
    assert trainer.final_losses[0] > 1e-3  # it was not solved from the start
    w = net.head.weight.item()  # x <- x + w * 2x + b: a contraction 0 < 1 + 2w < 1 learned
    assert 0 < 1 + 2 * w < 1


def test_training_is_deterministic_given_the_seed():
    a, b = quadratic_trainer(steps=6, unroll=3), quadratic_trainer(steps=6, unroll=3)
    a.train(2)
    b.train(2)
    assert a.curve == b.curve
    for (n, p), (_, q) in zip(a.net.named_parameters(), b.net.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert a.problem_seed(5) == (0, 1, 5)


class NaNAfter:
    """A square problem whose loss turns NaN at a given optimizee step."""

    def __init__(self, step):
        self.inner, self.step = make_problem("square"), step

    def sample(self, seed):
        inst, step = self.inner.sample(seed), self.step

        class Inst:
            def init_params(self):
                return inst.init_params()

            def loss(self, params, t=0):
                out = inst.loss(params, t)
                return out * float("nan") if t >= step else out

        return Inst()


def test_nan_meta_loss_stops_cleanly_and_keeps_the_last_good_weights():
    net = LSTMOptimizer(**net_defaults("square"))
    trainer = MetaTrainer(net, make_problem("square"), MetaConfig(steps=10, unroll=5))
    trainer.train(2)
    good = net.state_dict()
    good_opt = trainer.meta_opt.state_dict()
    trainer.problem = NaNAfter(7)  # the second unroll of the next horizon gives NaN
    with pytest.raises(MetaTrainingDiverged, match=r"iteration 3 \(unroll 2\).*nan"):
        trainer.train_iteration()
    assert trainer.iteration == 2 and len(trainer.curve) == 2
    for name, value in net.state_dict().items():  # the first unroll's update was undone too
        np.testing.assert_array_equal(value, good[name])
    assert trainer.meta_opt.state_dict()["state"][0]["step"] == good_opt["state"][0]["step"]
    assert all(math.isfinite(v) for v in trainer.curve)


def test_keyboard_interrupt_mid_iteration_leaves_no_trace(monkeypatch):
    trainer = quadratic_trainer(steps=6, unroll=3)
    trainer.train(1)
    before = trainer.net.state_dict()
    calls = {"n": 0}
    real = meta_module.unroll

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(meta_module, "unroll", interrupting)
    with pytest.raises(KeyboardInterrupt):
        trainer.train_iteration()  # one Adam step happened before the interrupt
    assert trainer.iteration == 1
    for name, value in trainer.net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_mnist_meta_iteration_runs_first_order_in_float32():
    prob = make_problem("mnist", "sigmoid-20")
    net = LSTMOptimizer(**net_defaults("mnist"))
    trainer = MetaTrainer(net, prob, MetaConfig(steps=4, unroll=2))
    value = trainer.train_iteration()
    assert math.isfinite(value) and abs(value - math.log(10)) < 0.2
    assert net.dtype == np.float32 and all(p.grad is None or p.grad.dtype == np.float32
                                           for p in net.parameters())
    assert net.lstm.fused  # the fast cell in first-order training
    with pytest.raises(ValueError, match="step_weights has 3 entries"):
        MetaConfig(unroll=2, step_weights=[1, 1, 1])


def test_second_order_training_uses_the_composed_cell_and_runs(monkeypatch):
    from minigrad.nn.fused_lstm import FusedLSTMCellFunction

    calls = []
    real = FusedLSTMCellFunction.forward
    monkeypatch.setattr(FusedLSTMCellFunction, "forward",
                        staticmethod(lambda *a, **k: calls.append(1) or real(*a, **k)))
    net = LSTMOptimizer(**{**net_defaults("quadratic"), "hidden_size": 5})
    trainer = MetaTrainer(net, QuadraticProblem(dim=3, batch=4),
                          MetaConfig(steps=4, unroll=2, second_order=True))
    before = net.state_dict()
    assert math.isfinite(trainer.train_iteration())
    assert not calls  # the fused cell cannot be differentiated twice: the composed one ran
    assert net.lstm.fused  # chosen per call; the module's setting is untouched
    trainer.config.second_order = False
    trainer.train_iteration()
    assert calls  # first order: the fused cell
    assert all((before[n] != v).any() for n, v in net.state_dict().items())
