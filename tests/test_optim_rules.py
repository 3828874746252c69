"""Optimizers: the first three steps against the formulas written out by hand, state dicts,
parameter groups, clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.optim import update_rules as OF

P0 = np.array([1.0, -2.0, 0.5])
A = np.array([3.0, 0.5, -1.0])  # f(p) = 0.5 * sum(A * p^2), so grad f = A * p


def three_steps(make_opt):
    """Run three optimizer steps on f through the engine; return p after each step."""
    p = mg.tensor(P0.copy(), requires_grad=True)
    opt = make_opt([p])
    values = []
    for _ in range(3):
        opt.zero_grad()
        loss = 0.5 * (mg.tensor(A) * p * p).sum()
        loss.backward()
        opt.step()
        values.append(p.numpy().copy())
    return values


def check(values, expected):
    for k, (got, want) in enumerate(zip(values, expected), start=1):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15, err_msg=f"step {k}")


def grad(p):
    return A * p


def test_sgd():
    lr = 0.1
    p1 = P0 - lr * grad(P0)
    p2 = p1 - lr * grad(p1)
    p3 = p2 - lr * grad(p2)
    check(three_steps(lambda ps: optim.SGD(ps, lr=lr)), [p1, p2, p3])
    # By hand, coordinate 0: p1 = 1 - 0.1 * 3 * 1 = 0.7.
    assert three_steps(lambda ps: optim.SGD(ps, lr=lr))[0][0] == pytest.approx(0.7)


def test_sgd_momentum():
    lr, mu = 0.1, 0.9
    b1 = grad(P0)
    p1 = P0 - lr * b1
    b2 = mu * b1 + grad(p1)
    p2 = p1 - lr * b2
    b3 = mu * b2 + grad(p2)
    p3 = p2 - lr * b3
    check(three_steps(lambda ps: optim.SGD(ps, lr=lr, momentum=mu)), [p1, p2, p3])


def test_sgd_nesterov_with_weight_decay():
    lr, mu, wd = 0.05, 0.9, 0.01
    g1 = grad(P0) + wd * P0
    b1 = g1
    p1 = P0 - lr * (g1 + mu * b1)
    g2 = grad(p1) + wd * p1
    b2 = mu * b1 + g2
    p2 = p1 - lr * (g2 + mu * b2)
    g3 = grad(p2) + wd * p2
    b3 = mu * b2 + g3
    p3 = p2 - lr * (g3 + mu * b3)
    made = three_steps(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, nesterov=True,
                                            weight_decay=wd))
    check(made, [p1, p2, p3])


def test_rmsprop():
    lr, alpha, eps = 0.01, 0.99, 1e-8
    v1 = (1 - alpha) * grad(P0) ** 2
    p1 = P0 - lr * grad(P0) / (np.sqrt(v1) + eps)
    v2 = alpha * v1 + (1 - alpha) * grad(p1) ** 2
    p2 = p1 - lr * grad(p1) / (np.sqrt(v2) + eps)
    v3 = alpha * v2 + (1 - alpha) * grad(p2) ** 2
    p3 = p2 - lr * grad(p2) / (np.sqrt(v3) + eps)
    check(three_steps(lambda ps: optim.RMSprop(ps, lr=lr)), [p1, p2, p3])
    # First step by hand: g / sqrt(0.01 g^2) = 10 sign(g), so each p moves by 0.1.
    np.testing.assert_allclose(p1, P0 - 0.1 * np.sign(grad(P0)), rtol=1e-6)


def test_rmsprop_centered_with_momentum():
    lr, alpha, eps, mu = 0.01, 0.9, 1e-6, 0.5
    g1 = grad(P0)
    v1 = (1 - alpha) * g1**2
    m1 = (1 - alpha) * g1
    b1 = g1 / (np.sqrt(v1 - m1**2) + eps)
    p1 = P0 - lr * b1
    g2 = grad(p1)
    v2 = alpha * v1 + (1 - alpha) * g2**2
    m2 = alpha * m1 + (1 - alpha) * g2
    b2 = mu * b1 + g2 / (np.sqrt(v2 - m2**2) + eps)
    p2 = p1 - lr * b2
    g3 = grad(p2)
    v3 = alpha * v2 + (1 - alpha) * g3**2
    m3 = alpha * m2 + (1 - alpha) * g3
    b3 = mu * b2 + g3 / (np.sqrt(v3 - m3**2) + eps)
    p3 = p2 - lr * b3
    made = three_steps(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps, momentum=mu,
                                                centered=True))
    check(made, [p1, p2, p3])


@pytest.mark.parametrize("centered,momentum", [(True, 0.0), (False, 0.7)])
def test_rmsprop_centered_or_momentum_alone(centered, momentum):
    lr, alpha, eps = 0.02, 0.95, 1e-8
    p, v, m, b, expected = P0.copy(), 0.0, 0.0, 0.0, []
    for _ in range(3):
        g = grad(p)
        v = alpha * v + (1 - alpha) * g * g
        m = alpha * m + (1 - alpha) * g
        d = (np.sqrt(v - m * m) if centered else np.sqrt(v)) + eps
        if momentum:
            b = momentum * b + g / d
            p = p - lr * b
        else:
            p = p - lr * g / d
        expected.append(p)
    made = three_steps(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps,
                                                momentum=momentum, centered=centered))
    check(made, expected)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam(wd):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    g1 = grad(P0) + wd * P0
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    p1 = P0 - lr / (1 - b1) * m1 / (np.sqrt(v1) / math.sqrt(1 - b2) + eps)
    g2 = grad(p1) + wd * p1
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    p2 = p1 - lr / (1 - b1**2) * m2 / (np.sqrt(v2) / math.sqrt(1 - b2**2) + eps)
    g3 = grad(p2) + wd * p2
    m3, v3 = b1 * m2 + (1 - b1) * g3, b2 * v2 + (1 - b2) * g3**2
    p3 = p2 - lr / (1 - b1**3) * m3 / (np.sqrt(v3) / math.sqrt(1 - b2**3) + eps)
    check(three_steps(lambda ps: optim.Adam(ps, lr=lr, weight_decay=wd)), [p1, p2, p3])
    # The first Adam step moves every coordinate by lr (times the sign of its gradient).
    np.testing.assert_allclose(np.abs(p1 - P0), lr, rtol=1e-6)


def test_functional_rules_equal_the_classes_and_keep_float32():
    p = mg.tensor(P0, dtype="float32", requires_grad=True)
    opt = optim.Adam([p], lr=np.float64(0.01))
    theta, state = P0.astype(np.float32), {}
    for _ in range(3):
        g = (A * theta).astype(np.float32)
        p.grad = mg.tensor(g)
        opt.step()
        theta, state = OF.adam(theta, g, state, lr=np.float64(0.01))
    assert theta.dtype == np.float32 and p.dtype == np.float32
    assert state["step"] == 3 and state["exp_avg"].dtype == np.float32
    np.testing.assert_array_equal(theta, p.numpy())
    before = theta.copy()
    _, _ = OF.sgd(theta, g, {}, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(theta, before)  # pure: arguments untouched


def test_step_skips_parameters_without_gradient_and_updates_in_place():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0], requires_grad=True)
    data_a = a.data
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.tolist() == [3.0] and a.data is data_a
    sd = opt.state_dict()
    assert list(sd["state"]) == [0]
    opt.zero_grad()
    assert a.grad is None


def test_state_dict_round_trip_continues_identically():
    for make in (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                 lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
                 lambda ps: optim.Adam(ps, lr=0.01)):
        model = nn.Linear(3, 2, seed=0, dtype="float64")
        x = mg.tensor(np.arange(6.0).reshape(2, 3) / 6)

        def one_step(m, o, x=x):
            o.zero_grad()
            (m(x) ** 2).sum().backward()
            o.step()

        opt = make(model.parameters())
        for _ in range(2):
            one_step(model, opt)
        saved = opt.state_dict()
        copy_model = nn.Linear(3, 2, seed=0, dtype="float64")
        copy_model.load_state_dict(model.state_dict())
        opt2 = make(copy_model.parameters())
        opt2.load_state_dict(saved)
        for arr in saved["state"][0].values():  # a copy: changing it changes nothing
            if isinstance(arr, np.ndarray):
                arr[...] = 1e9
        one_step(model, opt)
        one_step(copy_model, opt2)
        for a, b in zip(model.parameters(), copy_model.parameters()):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_state_dict_errors():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    q = mg.tensor([1.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = mg.tensor([1.0, 1.0])
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="1 parameters"):
        optim.Adam([p, q]).load_state_dict(sd)
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([q]).load_state_dict(sd)
    with pytest.raises(ValueError, match="param_groups"):
        opt.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match="group"):
        optim.Adam([{"params": [p]}, {"params": [q]}]).load_state_dict(sd)


def test_param_groups_and_constructor_errors():
    a = mg.tensor([1.0], requires_grad=True)
    b = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = mg.tensor([1.0])
    b.grad = mg.tensor([1.0])
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([a], lr=-1.0)
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(a)
    with pytest.raises(ValueError, match="twice"):
        optim.Adam([a, a])
    with pytest.raises(TypeError, match="unknown option"):
        optim.Adam([{"params": [a], "momentum": 0.9}])
    with pytest.raises(ValueError, match="require grad"):
        optim.SGD([mg.tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([a], betas=(1.0, 0.9))
    assert "lr=0.1" in repr(opt)


def test_clip_grad_norm():
    a = mg.tensor([0.0, 0.0], requires_grad=True)
    b = mg.tensor([0.0], requires_grad=True)
    c = mg.tensor([5.0], requires_grad=True)  # no grad: ignored
    a.grad, b.grad = mg.tensor([3.0, 0.0]), mg.tensor([4.0])
    total = optim.clip_grad_norm_([a, b, c], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)
    assert optim.clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)  # unchanged below max_norm
    assert optim.clip_grad_norm_([a, b], max_norm=0.4, norm_type=math.inf) == pytest.approx(0.8)
    np.testing.assert_allclose(b.grad.numpy(), [0.4], rtol=1e-5)
    assert optim.clip_grad_norm_([c], 1.0) == 0.0


def test_clip_does_not_scale_a_shared_gradient_array_twice():
    """The engine may give two parameters the same gradient array (here: y = a + b)."""
    a = mg.tensor([3.0, 4.0], requires_grad=True)
    b = mg.tensor([0.0, 0.0], requires_grad=True)
    ((a + b) * mg.tensor([3.0, 4.0])).sum().backward()
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(math.sqrt(50))
    np.testing.assert_allclose(a.grad.numpy(), [3 / math.sqrt(50), 4 / math.sqrt(50)],
                               rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy())


def test_grad_norm_is_the_joint_norm_of_the_gradients_and_changes_nothing():
    a = mg.tensor([0.0, 0.0], requires_grad=True)
    b = mg.tensor([0.0], requires_grad=True)
    c = mg.tensor([5.0], requires_grad=True)  # no grad: skipped
    a.grad, b.grad = mg.tensor([3.0, 0.0]), mg.tensor([-4.0])
    assert optim.grad_norm([a, b, c]) == pytest.approx(5.0)
    assert optim.grad_norm([a, b], norm_type=math.inf) == pytest.approx(4.0)
    assert optim.grad_norm([a, b], norm_type=1) == pytest.approx(7.0)
    assert optim.grad_norm(c) == 0.0
    np.testing.assert_array_equal(b.grad.numpy(), [-4.0])
    with pytest.raises(ValueError, match="norm_type must be > 0"):
        optim.grad_norm([a], norm_type=0)
