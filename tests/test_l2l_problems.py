"""Optimizee problems: the quadratic family (both variants), MNIST MLPs, f(x) = x^2."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.l2l.flat import Flattener
from minigrad.l2l.problems import (
    MnistProblem,
    QuadraticProblem,
    make_problem,
    parse_optimizee,
)


def leaf(a):
    return mg.tensor(a, requires_grad=True)


def test_quadratic_paper_loss_and_gradient():
    prob = QuadraticProblem(dim=4, batch=3, dtype="float64")
    inst = prob.sample(7)
    (theta,) = inst.init_params()
    assert theta.shape == (3, 4)
    assert inst.w.shape == (3, 4, 4) and (inst.w < 0).any()  # Gaussian, not uniform
    t = leaf(theta)
    loss = inst.loss([t])
    want = sum(np.sum((inst.w[b] @ theta[b] - inst.y[b, :, 0]) ** 2) for b in range(3))
    np.testing.assert_allclose(loss.item(), want, rtol=1e-12)  # the SUM over functions
    g = mg.grad(loss, t).numpy()
    np.testing.assert_allclose(g, inst.grad_arrays(theta), rtol=1e-12)
    loss2, runs = inst.loss_and_runs([t])
    assert runs.shape == (3,) and np.isclose(runs.sum(), want)
    assert np.std(theta) < 0.05  # theta_0 ~ N(0, 0.01^2)


def test_quadratic_official_variant():
    prob = make_problem("quadratic", variant="official", dim=5, batch=8, dtype="float64")
    inst = prob.sample(1)
    assert ((inst.w >= 0) & (inst.w < 1)).all() and ((inst.y >= 0) & (inst.y < 1)).all()
    (theta,) = inst.init_params()
    loss, runs = inst.loss_and_runs([leaf(theta)])
    np.testing.assert_allclose(loss.item(), runs.mean(), rtol=1e-12)  # the batch MEAN
    g = mg.grad(inst.loss([t := leaf(theta)]), t).numpy()
    np.testing.assert_allclose(g, inst.grad_arrays(theta), rtol=1e-12)  # carries 1/B
    with pytest.raises(ValueError, match="unknown variant"):
        QuadraticProblem(variant="torch")


def test_quadratic_seeds_and_stacking():
    prob = QuadraticProblem(dim=3, batch=4, dtype="float64")
    a, b = prob.sample((0, 3, 1)), prob.sample((0, 3, 1))
    np.testing.assert_array_equal(a.w, b.w)
    assert not np.array_equal(prob.sample((0, 3, 2)).w, a.w)
    (stacked,) = prob.sample_runs([(0, 3, 1), (0, 3, 2)])
    (theta,) = stacked.init_params()
    assert theta.shape == (2, 4, 3) and stacked.num_runs == 8
    loss, runs = stacked.loss_and_runs([leaf(theta)])
    parts = [prob.sample(s) for s in [(0, 3, 1), (0, 3, 2)]]
    want = [p.loss_and_runs([leaf(p.init_params()[0])])[1] for p in parts]
    np.testing.assert_allclose(runs, np.concatenate(want), rtol=1e-12)
    np.testing.assert_allclose(loss.item(), sum(w.sum() for w in want), rtol=1e-12)


def test_parse_optimizee():
    assert parse_optimizee("sigmoid-20") == ("sigmoid", (20,))
    assert parse_optimizee("sigmoid-40") == ("sigmoid", (40,))
    assert parse_optimizee("sigmoid-20x2") == ("sigmoid", (20, 20))
    assert parse_optimizee("relu-20") == ("relu", (20,))
    assert parse_optimizee("relu-40-20") == ("relu", (40, 20))
    for bad in ("tanh-20", "sigmoid", "sigmoid-20x0", "relu-"):
        with pytest.raises(ValueError, match="optimizee"):
            parse_optimizee(bad)


def test_mnist_instance_shapes_init_and_loss():
    prob = MnistProblem("sigmoid-20x2", split="train", dtype="float64")
    inst = prob.sample(3)
    shapes = [p.shape for p in inst.init_params()]
    assert shapes == [(784, 20), (20,), (20, 20), (20,), (20, 10), (10,)]
    w1 = inst.init_params()[0]
    assert abs(w1.std() - 0.01) < 0.001 and abs(w1.mean()) < 0.001
    params = [leaf(p) for p in inst.init_params()]
    x, y = inst.batch(5)
    assert x.shape == (128, 784) and y.shape == (128,)
    # the loss is the mean cross-entropy of the MLP on minibatch 5
    h = 1 / (1 + np.exp(-(x @ params[0].data + params[1].data)))
    h = 1 / (1 + np.exp(-(h @ params[2].data + params[3].data)))
    z = h @ params[4].data + params[5].data
    z = z - z.max(1, keepdims=True)
    want = -(z[np.arange(128), y] - np.log(np.exp(z).sum(1))).mean()
    np.testing.assert_allclose(inst.loss(params, 5).item(), want, rtol=1e-10)
    assert abs(want - np.log(10)) < 0.01  # tiny initial weights: chance level


def test_mnist_batches_are_seeded_per_step_and_come_from_the_split():
    train = MnistProblem("relu-20", split="train")
    test = MnistProblem("relu-20", split="test")
    a, b = train.sample(1), train.sample(1)
    np.testing.assert_array_equal(a.batch(7)[0], b.batch(7)[0])  # same seed and step
    assert not np.array_equal(a.batch(7)[0], a.batch(8)[0])      # a new batch every step
    assert not np.array_equal(a.batch(7)[0], train.sample(2).batch(7)[0])
    images, _ = test.data()
    rows = {r.tobytes() for r in images}
    x, _ = test.sample(1).batch(0)
    assert all(r.tobytes() in rows for r in x)  # test instances draw held-out digits
    assert len(test.data()[0]) == 1000 and len(train.data()[0]) == 3000


def _per_digit_cross_entropy(inst, params, x, y):
    w1, b1, w2, b2 = params
    z = (1 / (1 + np.exp(-(x @ w1 + b1)))) @ w2 + b2
    z = z - z.max(1, keepdims=True)
    return np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]


@pytest.mark.parametrize("pool", [False, True])
def test_the_tilted_loss_weighs_the_digits_by_exp_tau_times_their_loss(pool):
    inst = MnistProblem("sigmoid-3", train_pool=200, dtype="float64").sample(4)
    rng = np.random.default_rng(0)
    params = [p + rng.normal(0, 0.5, p.shape) for p in inst.init_params()]
    x, y = (inst.images, inst.labels) if pool else inst.batch(7)
    per_digit = _per_digit_cross_entropy(inst, params, x, y)
    for tau in (0.5, 3.0):
        got = inst.tilted_loss([mg.tensor(p) for p in params], 7, tau, pool=pool).item()
        assert got == pytest.approx(np.log(np.mean(np.exp(tau * per_digit))) / tau, rel=1e-12)
        assert got > per_digit.mean()  # the tilt weighs the worst digits up
    # a small tilt is the mean, and the gradient is the exp(tau l_i)-weighted mix of the digits'
    small = inst.tilted_loss([mg.tensor(p) for p in params], 7, 1e-4, pool=pool).item()
    assert small == pytest.approx(per_digit.mean(), rel=1e-3)
    flat = Flattener.like(params)
    theta = flat.flatten(params)
    leaves = flat.leaves(theta)
    grads = mg.grad(inst.tilted_loss(leaves, 7, 2.0, pool=pool), leaves)
    analytic = flat.flatten([g.numpy() for g in grads])

    def f(t):
        return np.log(np.mean(np.exp(2.0 * _per_digit_cross_entropy(
            inst, [np.asarray(v) for v in flat.views(t)], x, y)))) / 2.0

    for i in rng.choice(len(theta), 12, replace=False):
        e = np.zeros_like(theta)
        e[i] = 1e-6
        assert analytic[i] == pytest.approx((f(theta + e) - f(theta - e)) / 2e-6, rel=1e-5,
                                            abs=1e-9)


def test_a_train_pool_gives_each_training_net_its_own_digits_and_leaves_val_and_test_whole():
    train = MnistProblem("sigmoid-3", split="train", train_pool=1000)
    a, b, c = train.sample(1), train.sample(1), train.sample(2)
    assert len(a.labels) == 1000
    np.testing.assert_array_equal(a.images, b.images)   # the seed draws the pool
    assert not np.array_equal(a.images, c.images)       # another seed, another pool
    whole = {r.tobytes() for r in train.data()[0]}
    rows = [r.tobytes() for r in a.images]
    assert len(set(rows)) == len(rows) and set(rows) <= whole  # without replacement
    assert {r.tobytes() for r in a.batch(5)[0]} <= set(rows)  # minibatches from the pool
    # pool_loss: the mean cross-entropy over the whole pool, by NumPy
    w1, b1, w2, b2 = a.init_params()
    z = (1 / (1 + np.exp(-(a.images @ w1 + b1)))) @ w2 + b2
    z = z - z.max(1, keepdims=True)
    want = np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(1000), a.labels])
    got = a.pool_loss([mg.tensor(p) for p in a.init_params()]).item()
    assert got == pytest.approx(want, rel=1e-5)
    for split in ("val", "test"):
        assert len(MnistProblem("sigmoid-3", split=split, train_pool=10).sample(1).labels) == 1000
    assert MnistProblem("sigmoid-3").sample(1).init_params()[0].shape == a.params0[0].shape
    assert train.config()["train_pool"] == 1000 and "train_pool" not in MnistProblem().config()
    assert "1000 per problem" in train.describe()
    with pytest.raises(ValueError, match="train_pool must be a number of digits >= 1, got 0"):
        MnistProblem(train_pool=0)
    with pytest.raises(ValueError, match="train_pool 4000 is larger than the training split"):
        MnistProblem(train_pool=4000).sample(0)


def test_param_scale_gives_each_training_net_scaled_coordinates_of_the_same_net():
    plain = MnistProblem("sigmoid-3", dtype="float64")
    scaled = MnistProblem("sigmoid-3", param_scale=2.0, dtype="float64")
    a, s = plain.sample(4), scaled.sample(4)
    assert len(s.scales) == len(a.params0) == 4
    for c, w, theta in zip(s.scales, a.params0, s.params0):
        assert c.shape == w.shape and np.exp(-2.0) <= c.min() and c.max() <= np.exp(2.0)
        assert np.log(c).std() > 0.5                     # one scale per weight, spread out
        np.testing.assert_allclose(theta * c, w, rtol=1e-12)  # theta_0 = w_0 / c
    # the same net at the start, and dL/dtheta = c * dL/dw, checked against differences
    thetas = [leaf(p) for p in s.init_params()]
    ws = [leaf(p) for p in a.init_params()]
    loss_s, loss_a = s.loss(thetas, step=3), a.loss(ws, step=3)
    assert loss_s.item() == pytest.approx(loss_a.item(), rel=1e-12)
    g_s, g_a = mg.grad(loss_s, thetas), mg.grad(loss_a, ws)
    for gs, ga, c in zip(g_s, g_a, s.scales):
        np.testing.assert_allclose(gs.numpy(), c * ga.numpy(), rtol=1e-10, atol=1e-14)
    theta = s.init_params()
    e = np.zeros_like(theta[2])
    e[1, 2] = 1e-6

    def f(d):
        return s.loss([mg.tensor(p + d if i == 2 else p) for i, p in enumerate(theta)], 3).item()

    assert g_s[2].numpy()[1, 2] == pytest.approx((f(e) - f(-e)) / 2e-6, rel=1e-6)
    # a step on theta moves w by c * step: the scaled net after a step is the plain net after
    # the step times c
    step = [0.1 * np.ones_like(p) for p in theta]
    moved = s.loss([mg.tensor(p + d) for p, d in zip(theta, step)], 3).item()
    want = a.loss([mg.tensor(w + c * d) for w, c, d in zip(a.params0, s.scales, step)], 3).item()
    assert moved == pytest.approx(want, rel=1e-12)
    # seeded, per instance; validation and test nets are never scaled
    np.testing.assert_array_equal(scaled.sample(4).scales[0], s.scales[0])
    assert not np.array_equal(scaled.sample(5).scales[0], s.scales[0])
    for split in ("val", "test"):
        assert MnistProblem("sigmoid-3", split=split, param_scale=2.0).sample(1).scales is None
    assert scaled.config()["param_scale"] == 2.0 and "param_scale" not in plain.config()
    assert "randomly scaled by exp(U(-2, 2))" in scaled.describe()
    for bad in (0, -1, 11):
        with pytest.raises(ValueError, match=f"param_scale is the spread L.*got {bad}"):
            MnistProblem(param_scale=bad)


def test_flattener_roundtrip():
    arrays = [np.arange(6.0).reshape(2, 3), np.array(7.0), np.arange(4.0)]
    flat = Flattener.like(arrays)
    v = flat.flatten(arrays)
    assert v.shape == (11,) and flat.size == 11
    for a, b in zip(flat.views(v), arrays):
        np.testing.assert_array_equal(a, b)
    t = mg.tensor(v, requires_grad=True, dtype="float64")
    total = sum((p * p).sum() for p in flat.views(t))
    np.testing.assert_allclose(mg.grad(total, t).numpy(), 2 * v)


def test_make_problem_errors():
    with pytest.raises(ValueError, match="unknown problem 'cifar'"):
        make_problem("cifar")
    with pytest.raises(ValueError, match="no optimizee choice"):
        make_problem("quadratic", "sigmoid-20")
    with pytest.raises(ValueError, match="unknown split"):
        make_problem("mnist", split="validation")
    inst = make_problem("square").sample(0)
    x = leaf(inst.init_params()[0])
    assert inst.loss([x]).item() == 1.0


@pytest.mark.parametrize("name, kwargs", [("quadratic", {"dim": 3, "batch": 4}),
                                          ("mnist", {"optimizee": "relu-5x2"}),
                                          ("mnist", {"optimizee": "sigmoid-3",
                                                     "train_pool": 50}),
                                          ("square", {"x0": 2.0})])
def test_problem_from_config_rebuilds_what_config_stores(name, kwargs):
    from minigrad.l2l.problems import problem_from_config

    opt = kwargs.pop("optimizee", None)
    problem = make_problem(name, opt, **kwargs) if opt else make_problem(name, **kwargs)
    again = problem_from_config(problem.config(), split="val")
    assert again.config() == problem.config()
    if name == "mnist":
        other = problem_from_config(problem.config(), optimizee="sigmoid-7")
        assert other.config()["optimizee"] == "sigmoid-7"
    with pytest.raises(ValueError, match="got also colour"):
        problem_from_config({**problem.config(), "colour": "red"})


def test_problem_from_config_refuses_unknown_families_and_misplaced_optimizees():
    from minigrad.l2l.problems import problem_from_config

    with pytest.raises(ValueError, match="unknown problem 'cifar'"):
        problem_from_config({"name": "cifar"})
    with pytest.raises(ValueError, match="mnist only"):
        problem_from_config({"name": "quadratic"}, optimizee="sigmoid-20")
