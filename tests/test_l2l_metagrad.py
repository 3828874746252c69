"""The meta-gradient equals central differences of the unrolled meta-loss.

First order (the default, the paper's dashed edges). The first-order meta-gradient is, by
definition, the derivative of the meta-loss in which each optimizee gradient g_t enters the
LSTM as a constant: d/dphi sum_t w_t f(theta_t(phi; g_0..g_{K-1})) with the g's held fixed.
Recomputing g_t inside a finite-difference loop would NOT give that function (g_t would move
with phi), so we cannot finite-difference the engine's training loop as it runs. Instead:

1. run the engine's unroll at phi_0 and record the gradients g_0..g_{K-1} it fed the LSTM;
2. write the same unroll in plain NumPy (an independent LSTM, LogAndSign, quadratic) as a
   function L_ref(phi; G) in which the gradients are the recorded constants G;
3. at phi_0 the forward passes agree (same values), so the first-order meta-gradient of the
   engine must equal dL_ref/dphi at phi_0 with G fixed, which central differences of L_ref in
   float64 approximate to O(eps^2).

Second order (``second_order=True``): the exact gradient of the FULL meta-loss, where g_t is
recomputed from theta_t; the NumPy reference then computes g_t = 2 W^T (W theta_t - y)
itself, and central differences of that function are the target.

The tested unroll is the SECOND of a horizon: it starts from a theta and an LSTM state
carried over (cut) from a first unroll, so the truncation is exercised too.
"""

import numpy as np
import pytest

from minigrad import ops
from minigrad.l2l.flat import Flattener
from minigrad.l2l.lstm_optimizer import LSTMOptimizer
from minigrad.l2l.meta import unroll
from minigrad.l2l.problems import QuadraticProblem

P = 10.0
SCALE = 0.3
HIDDEN, LAYERS = 3, 2
K = 4
WEIGHTS = [0.5, 1.0, 2.0, 1.5]


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def logsign(g):
    mag = np.abs(g)
    big = mag >= np.exp(-P)
    first = np.where(big, np.log(np.where(big, mag, 1.0)) / P, -1.0)
    second = np.where(big, np.sign(g), np.exp(P) * g)
    return np.stack([first, second], axis=1)


def lstm_step(phi, g, state, prefix=""):
    """One step of the optimizer in plain NumPy: ``(delta, new state)`` for gradient ``g``,
    the weights ``phi[prefix + "lstm.weight_ih_l0"]``, ... (PyTorch's gate order)."""
    x, new_state, H = logsign(g), [], HIDDEN
    for layer, (h, c) in enumerate(state):
        w = {k: phi[f"{prefix}lstm.{k}_l{layer}"]
             for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        a = x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]
        i, fg = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
        gg, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c = fg * c + i * gg
        h = o * np.tanh(c)
        new_state.append((h, c))
        x = h
    return (x @ phi[f"{prefix}head.weight"].T + phi[f"{prefix}head.bias"])[:, 0] * SCALE, new_state


def ref_meta_loss(phi, theta0, state0, inst, recorded=None, objective="loss", tilt=0.0,
                  segments=((0, K),)):
    """sum_k w_k f(theta_{k+1}) (``objective="log"``: sum_k w_k log f(theta_{k+1});
    ``"logmean"``: sum over the ``segments`` [a, b) of log(sum_{a<=k<b} w_k f(theta_{k+1}) /
    sum_{a<=k<b} w_k)) in plain NumPy; g_k from ``recorded`` or recomputed. ``tilt``: f is
    (1/tilt) log mean_b exp(tilt f_b) over the functions' losses f_b instead of their sum."""
    w, y = inst.w, inst.y[..., 0]

    def f(theta):
        r = np.einsum("bij,bj->bi", w, theta.reshape(y.shape)) - y
        if tilt:
            return np.log(np.mean(np.exp(tilt * np.sum(r * r, axis=1)))) / tilt
        return np.sum(r * r)

    def grad_f(theta):
        r = np.einsum("bij,bj->bi", w, theta.reshape(y.shape)) - y
        return (2 * np.einsum("bji,bj->bi", w, r)).ravel()

    theta = theta0.copy()
    state = [(h.copy(), c.copy()) for h, c in state0]
    terms = []
    g = recorded[0] if recorded is not None else grad_f(theta)
    for k in range(K):
        delta, state = lstm_step(phi, g, state)
        theta = theta + delta
        terms.append(WEIGHTS[k] * (np.log(f(theta)) if objective == "log" else f(theta)))
        if k < K - 1:
            g = recorded[k + 1] if recorded is not None else grad_f(theta)
    if objective == "logmean":
        return sum(np.log(sum(terms[a:b]) / sum(WEIGHTS[a:b])) for a, b in segments)
    return sum(terms)


def central_differences(fn, phi, eps=1e-6):
    grads = {}
    for name, value in phi.items():
        g = np.zeros_like(value)
        flat, gflat = value.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            plus = fn(phi)
            flat[j] = old - eps
            minus = fn(phi)
            flat[j] = old
            gflat[j] = (plus - minus) / (2 * eps)
        grads[name] = g
    return grads


def setup(second_order):
    net = LSTMOptimizer(preprocess="logsign", p=P, hidden_size=HIDDEN, num_layers=LAYERS,
                        output_scale=SCALE, seed=3).double()
    inst = QuadraticProblem(dim=3, batch=2, dtype="float64").sample(11)
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    # a first unroll, whose end (theta and LSTM state) the tested unroll starts from
    _, theta, state, _ = unroll(net, inst, flat, flat.flatten(arrays), None, 0, 3)
    net.zero_grad()
    state0 = [(h.numpy().copy(), c.numpy().copy()) for h, c in state]
    return net, inst, flat, theta.copy(), state, state0


def engine_grads(net, inst, flat, theta, state, **kw):
    record = []
    net.zero_grad()
    meta_loss, *_ = unroll(net, inst, flat, theta, state, 3, K, step_weights=WEIGHTS,
                           record=record, **kw)
    meta_loss.backward()
    return meta_loss.item(), {n: p.grad.numpy().copy() for n, p in net.named_parameters()}, record


def assert_close(got, want):
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=2e-6, atol=1e-6 *
                                   max(1.0, np.abs(want[name]).max()), err_msg=name)


@pytest.mark.parametrize("objective", ["loss", "log", "logmean"])
@pytest.mark.parametrize("method", ["tangent", "graph"])
def test_first_order_meta_gradient_matches_central_differences(method, objective):
    net, inst, flat, theta, state, state0 = setup(False)
    value, grads, record = engine_grads(net, inst, flat, theta, state, method=method,
                                        meta_objective=objective)
    phi = {n: v.astype(np.float64) for n, v in net.state_dict().items()}
    assert np.isclose(ref_meta_loss(phi, theta, state0, inst, record, objective), value,
                      rtol=1e-12)
    numeric = central_differences(
        lambda ph: ref_meta_loss(ph, theta, state0, inst, record, objective), phi)
    assert_close(grads, numeric)
    if objective != "loss":  # and it is not the paper's gradient
        _, paper, _ = engine_grads(net, inst, flat, theta, state, method=method)
        assert not np.allclose(paper["head.weight"], grads["head.weight"], rtol=1e-2)


@pytest.mark.parametrize("method", ["tangent", "graph"])
def test_the_log_over_segments_of_the_horizon_matches_central_differences(method):
    """``meta_segment=2`` on the unroll over steps 4..7: segments {4}, {5, 6}, {7}."""
    from minigrad.l2l.meta import segment_bounds

    segments = segment_bounds(3, K, 2)
    assert segments == [(0, 1), (1, 3), (3, 4)]
    net, inst, flat, theta, state, state0 = setup(False)
    value, grads, record = engine_grads(net, inst, flat, theta, state, method=method,
                                        meta_objective="logmean", meta_segment=2)
    phi = {n: v.astype(np.float64) for n, v in net.state_dict().items()}
    ref = lambda ph: ref_meta_loss(ph, theta, state0, inst, record, "logmean",  # noqa: E731
                                   segments=segments)
    assert np.isclose(ref(phi), value, rtol=1e-12)
    assert_close(grads, central_differences(ref, phi))
    _, whole, _ = engine_grads(net, inst, flat, theta, state, method=method,
                               meta_objective="logmean")  # not the log over the whole unroll
    assert not np.allclose(whole["head.weight"], grads["head.weight"], rtol=1e-2)


def test_segment_bounds_cut_the_unroll_where_the_horizons_segments_end():
    from minigrad.l2l.meta import segment_bounds

    assert segment_bounds(0, 10, 0) == [(0, 10)]           # 0: the whole unroll
    assert segment_bounds(0, 20, 10) == [(0, 10), (10, 20)]
    assert segment_bounds(5, 10, 10) == [(0, 5), (5, 10)]  # steps 6..10 | 11..15
    assert segment_bounds(40, 60, 100) == [(0, 60)]
    assert segment_bounds(0, 3, 1) == [(0, 1), (1, 2), (2, 3)]


def check_second_order(net, inst, flat, theta, state, ref, weight="lstm.weight_ih_l0"):
    """The second-order meta-gradient of the unroll from ``theta``, ``state`` equals central
    differences of ``ref(phi)``, the full meta-loss in NumPy, and differs from the first-order
    one (in the array ``weight``: the switch does something)."""
    value, grads, _ = engine_grads(net, inst, flat, theta, state, second_order=True)
    phi = {n: v.astype(np.float64) for n, v in net.state_dict().items()}
    assert np.isclose(ref(phi), value, rtol=1e-12)
    assert_close(grads, central_differences(ref, phi))
    _, first, _ = engine_grads(net, inst, flat, theta, state)
    assert not np.allclose(first[weight], grads[weight], rtol=1e-3)


def test_second_order_meta_gradient_matches_central_differences_of_the_full_loss():
    net, inst, flat, theta, state, state0 = setup(True)
    check_second_order(net, inst, flat, theta, state,
                       lambda ph: ref_meta_loss(ph, theta, state0, inst))


def test_tangent_and_graph_methods_agree_and_official_terms_change_only_the_value():
    net, inst, flat, theta, state, _ = setup(False)
    v1, g1, _ = engine_grads(net, inst, flat, theta, state, method="tangent")
    v2, g2, _ = engine_grads(net, inst, flat, theta, state, method="graph")
    v3, g3, _ = engine_grads(net, inst, flat, theta, state, loss_terms="official")
    assert v1 == pytest.approx(v2, rel=1e-14)
    (theta_leaf,) = flat.views(theta)
    f0 = inst.loss_and_runs([__import__("minigrad").tensor(theta_leaf)], 3)[0].item()
    assert v3 == pytest.approx(v1 + f0, rel=1e-13)
    for name in g1:
        np.testing.assert_allclose(g1[name], g2[name], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(g1[name], g3[name])


class StepsOnAnotherLoss:
    """A quadratic whose optimizee STEPS follow another loss than the one the meta-loss counts:
    ``loss(params, step)`` is f at a step-dependent rescaling of theta (as a minibatch is another
    function than the pool), ``pool_loss(params)`` is f itself."""

    def __init__(self, inst):
        self.inst, self.w, self.y = inst, inst.w, inst.y

    def init_params(self):
        return self.inst.init_params()

    def loss(self, params, step=0):
        return self.inst.loss([p * (1.0 + 0.25 * (step % 3)) for p in params], step)

    def pool_loss(self, params):
        return self.inst.loss(params)


class TiltedQuadratic:
    """The quadratic whose meta-loss may be tilted over its functions, as the MNIST net's is over
    its digits: ``tilted_loss`` is (1/tau) log mean_b exp(tau f_b), f_b = ||W_b theta_b - y_b||^2,
    while the steps follow the sum of the f_b."""

    def __init__(self, inst):
        self.inst, self.w, self.y = inst, inst.w, inst.y

    def init_params(self):
        return self.inst.init_params()

    def loss(self, params, step=0):
        return self.inst.loss(params, step)

    def tilted_loss(self, params, step=0, tilt=1.0, pool=False):
        per_function = self.inst._per_function(params[0])
        return ops.log(ops.mean(ops.exp(per_function * tilt))) * (1.0 / tilt)


@pytest.mark.parametrize("objective", ["loss", "logmean"])
@pytest.mark.parametrize("method", ["tangent", "graph"])
def test_the_tilted_meta_loss_counts_the_tilted_loss_while_the_steps_follow_the_mean(method,
                                                                                     objective):
    net, inst, flat, theta, state, state0 = setup(False)
    value, grads, record = engine_grads(net, TiltedQuadratic(inst), flat, theta, state,
                                        method=method, meta_objective=objective, meta_tilt=0.7)
    phi = {n: v.astype(np.float64) for n, v in net.state_dict().items()}
    # the steps followed the sum's gradients (the same as without the tilt) ...
    _, plain, plain_record = engine_grads(net, inst, flat, theta, state, method=method,
                                          meta_objective=objective)
    for got, want in zip(record, plain_record):
        np.testing.assert_array_equal(got, want)
    # ... and the meta-loss and its gradient are the tilted one's
    assert np.isclose(ref_meta_loss(phi, theta, state0, inst, record, objective, tilt=0.7),
                      value, rtol=1e-12)
    numeric = central_differences(
        lambda ph: ref_meta_loss(ph, theta, state0, inst, record, objective, tilt=0.7), phi)
    assert_close(grads, numeric)
    assert not np.allclose(grads["head.weight"], plain["head.weight"], rtol=1e-3)


@pytest.mark.parametrize("objective", ["loss", "logmean"])
@pytest.mark.parametrize("method", ["tangent", "graph"])
def test_the_pool_meta_loss_counts_the_pool_while_the_steps_follow_the_minibatch(method,
                                                                                 objective):
    net, inst, flat, theta, state, state0 = setup(False)
    both = StepsOnAnotherLoss(inst)
    value, grads, record = engine_grads(net, both, flat, theta, state, method=method,
                                        meta_objective=objective, meta_data="pool")
    phi = {n: v.astype(np.float64) for n, v in net.state_dict().items()}
    # the reference: the recorded (minibatch) gradients as constants, f the pool's loss
    assert np.isclose(ref_meta_loss(phi, theta, state0, inst, record, objective), value,
                      rtol=1e-12)
    numeric = central_differences(
        lambda ph: ref_meta_loss(ph, theta, state0, inst, record, objective), phi)
    assert_close(grads, numeric)
    # the steps did follow the other loss: its gradients are not the pool's
    _, _, pool_steps = engine_grads(net, inst, flat, theta, state, method=method,
                                    meta_objective=objective)
    assert not np.allclose(record[1], pool_steps[1], rtol=1e-3)
