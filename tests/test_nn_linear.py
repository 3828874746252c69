"""Linear and MLP: gradient checks, a hand-written NumPy backprop cross-check, real MNIST."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.testing import gradcheck


def test_linear_gradcheck(rng):
    lin = nn.Linear(4, 3, seed=0, dtype="float64")
    x = mg.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    assert gradcheck(lambda x, w, b: lin(x), [x, lin.weight, lin.bias])
    nobias = nn.Linear(4, 3, bias=False, seed=1, dtype="float64")
    assert gradcheck(lambda x, w: nobias(x), [x, nobias.weight])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_mlp_gradcheck(rng, activation):
    mlp = nn.MLP(4, [5, 3], 2, activation=activation, seed=2, dtype="float64")
    x = mg.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    assert gradcheck(lambda x, *ps: mlp(x), [x, *mlp.parameters()])


# ----- the whole model against backprop written by hand in NumPy ---------------------------
_ACT = {
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), lambda z: z * (1 - z)),
    "tanh": (np.tanh, lambda z: 1 - z * z),
    "relu": (lambda a: np.maximum(a, 0), lambda z: (z > 0).astype(z.dtype)),
}


def numpy_mlp_loss_and_grads(weights, biases, x, labels, activation):
    """Cross-entropy of an MLP and its gradients, by the chain rule written out by hand."""
    f, df = _ACT[activation]
    zs = [x]
    for k, (w, b) in enumerate(zip(weights, biases)):
        a = zs[-1] @ w.T + b
        zs.append(a if k == len(weights) - 1 else f(a))
    logits = zs[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.log(p[np.arange(n), labels]).mean()
    delta = p.copy()
    delta[np.arange(n), labels] -= 1
    delta /= n  # dL/dlogits
    gw, gb = [None] * len(weights), [None] * len(weights)
    for k in reversed(range(len(weights))):
        gw[k] = delta.T @ zs[k]
        gb[k] = delta.sum(axis=0)
        if k:
            delta = (delta @ weights[k]) * df(zs[k])
    return loss, gw, gb


@pytest.mark.parametrize("activation,hidden", [("sigmoid", [20]), ("tanh", [7, 5]),
                                               ("relu", [9])])
def test_mlp_gradients_equal_handwritten_numpy_backprop(rng, activation, hidden):
    mlp = nn.MLP(30, hidden, 10, activation=activation, seed=5, dtype="float64")
    x = rng.standard_normal((64, 30))
    labels = rng.integers(0, 10, size=64)
    loss = mg.cross_entropy(mlp(mg.tensor(x)), labels)
    loss.backward()
    ws = [layer.weight.numpy() for layer in mlp.layers]
    bs = [layer.bias.numpy() for layer in mlp.layers]
    ref_loss, gw, gb = numpy_mlp_loss_and_grads(ws, bs, x, labels, activation)
    np.testing.assert_allclose(loss.item(), ref_loss, rtol=1e-12)
    for layer, w_ref, b_ref in zip(mlp.layers, gw, gb):
        np.testing.assert_allclose(layer.weight.grad.numpy(), w_ref, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.bias.grad.numpy(), b_ref, rtol=1e-10, atol=1e-14)


# ----- real digits -----------------------------------------------------------------------------
def test_mlp_784_20_10_learns_real_mnist_digits():
    """The paper's optimizee (784-20-10, sigmoid) trained with Adam on 3,000 real MNIST digits
    for 300 minibatches of 128 reaches >= 85% accuracy on 1,000 held-out test digits
    (chance: 10%; it reaches about 90%)."""
    from minigrad.data import mnist_splits

    splits = mnist_splits(seed=0)
    mlp = nn.MLP(784, [20], 10, activation="sigmoid", seed=0)
    opt = optim.Adam(mlp.parameters(), lr=1e-2)
    sampler = splits.train.sampler(128, seed=0)
    x_test, y_test = mg.tensor(splits.test.images), splits.test.labels
    with mg.no_grad():
        acc_before = float((mlp(x_test).numpy().argmax(1) == y_test).mean())
    for _ in range(300):
        x, y = next(sampler)
        loss = mg.cross_entropy(mlp(mg.tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with mg.no_grad():
        test_loss = mg.cross_entropy(mlp(x_test), y_test).item()
        acc = float((mlp(x_test).numpy().argmax(1) == y_test).mean())
    assert acc_before < 0.3
    assert acc >= 0.85, f"test accuracy {acc:.3f}"
    assert test_loss < 0.5, f"test loss {test_loss:.3f} (chance: ln 10 = 2.30)"
