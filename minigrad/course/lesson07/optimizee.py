"""Section 1: the optimizee, the MNIST MLP's loss as a function of one flat vector (exercise 07.1),
and the digits.
"""

from __future__ import annotations

import math

import numpy as np

import minigrad as mg
from minigrad.course.checks import Exercise, register
from minigrad.tensor import Tensor


def mlp_loss(theta, x, y, sizes=(784, 20, 10), activation="sigmoid"):
    """Mean cross-entropy of the MLP whose weights and biases are laid end to end in ``theta``.

    ``theta``: a Tensor of shape (N,) holding ``W1 (784 x 20), b1 (20), W2 (20 x 10), b2 (10)``
    row-major, one after the other (N = 15,910 for the paper's 784-20-10 net), as
    :class:`minigrad.l2l.Flattener` lays them out. ``x``: (B, 784) images, ``y``: (B,) integer
    labels. Hidden layers use ``activation`` ("sigmoid" or "relu"); the last layer is linear.
    Built from minigrad operations, so ``mg.grad(mlp_loss(theta, x, y), theta)`` is the
    gradient the learned optimizer reads, one coordinate per entry of theta.
    """
    act = {"sigmoid": mg.sigmoid, "relu": mg.relu}[activation]
    needed = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if theta.shape != (needed,):
        raise ValueError(f"mlp_loss: sizes {tuple(sizes)} need {needed} parameters, theta has "
                         f"shape {theta.shape}")
    h, start = x, 0
    layers = len(sizes) - 1
    for k in range(layers):
        fan_in, fan_out = sizes[k], sizes[k + 1]
        w = mg.reshape(theta[start:start + fan_in * fan_out], (fan_in, fan_out))
        start += fan_in * fan_out
        b = theta[start:start + fan_out]
        start += fan_out
        h = mg.matmul(h, w) + b
        if k < layers - 1:
            h = act(h)
    return mg.cross_entropy(h, y)


def _mlp_case(sizes, seed, batch=16):
    rng = np.random.default_rng(seed)
    n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    theta = rng.normal(0.0, 0.5, n)
    x = rng.random((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], batch)
    return theta, x, y


_MLP_CASES = [
    ((784, 20, 10), "sigmoid", 0, "the paper's 784-20-10 sigmoid net"),
    ((6, 4, 3), "sigmoid", 1, "a 6-4-3 sigmoid net"),
    ((6, 4, 3), "relu", 2, "a 6-4-3 relu net"),
    ((5, 4, 3, 2), "sigmoid", 3, "a 5-4-3-2 net with two hidden layers"),
]


def _mlp_loss_checker(fn):
    for sizes, act, seed, label in _MLP_CASES:
        theta, x, y = _mlp_case(sizes, seed)
        mine = mg.tensor(theta, dtype="float64", requires_grad=True)
        ref = mg.tensor(theta, dtype="float64", requires_grad=True)
        got = fn(mine, x, y, sizes, act)
        expected = mlp_loss(ref, x, y, sizes, act)
        if not isinstance(got, Tensor):
            yield label, (f"returned {type(got).__name__}, expected a minigrad Tensor (build the "
                          "loss from mg operations, so it can be differentiated)")
            continue
        if got.shape != ():
            yield label, f"the loss has shape {got.shape}, expected a scalar (shape ())"
            continue
        if not np.isclose(got.item(), expected.item(), rtol=1e-6, atol=1e-9):
            yield label, f"loss {got.item():.6f}, expected {expected.item():.6f}"
            continue
        try:
            g = mg.grad(got, mine)
        except Exception as exc:  # the learner's graph does not reach theta
            yield label, (f"could not differentiate the loss with respect to theta "
                          f"({type(exc).__name__}: {exc})")
            continue
        g_ref = mg.grad(expected, ref)
        if not np.allclose(g.numpy(), g_ref.numpy(), rtol=1e-5, atol=1e-10):
            k = int(np.argmax(np.abs(g.numpy() - g_ref.numpy())))
            yield label, (f"the loss is right but its gradient differs at theta[{k}] "
                          f"({g.numpy()[k]:.4g} vs {g_ref.numpy()[k]:.4g}): check the order "
                          "W1, b1, W2, b2 and the reshape of each weight matrix")
            continue
        yield label, None


register(Exercise(
    id="07.1", title="the MLP's loss from one flat parameter vector", reference=mlp_loss,
    checker=_mlp_loss_checker,
    hint="theta is the arrays laid end to end, layer after layer: a weight matrix "
         "(fan_in x fan_out numbers, row by row), then its bias (fan_out numbers). Keep a "
         "running offset into theta as you go, give each weight matrix back its shape, and "
         "compute every layer as h W + b; the activation goes on every layer but the last, "
         "whose outputs are the logits the cross-entropy reads. Still stuck: the collapsed "
         "'Hint 2' below the exercise.",
))


def show_digits(images, labels, n: int = 16, cols: int = 8, title: str | None = None,
                classes=None):
    """``n`` images (rows of 784 pixels) tiled into one picture, each with its label above it
    (one ``imshow``: fast). ``classes`` names the labels. Returns the figure."""
    import matplotlib.pyplot as plt

    n = min(n, len(labels))
    rows = math.ceil(n / cols)
    pad = 10  # pixels above each image for its label
    mosaic = np.zeros((rows * (28 + pad), cols * 30))
    fig, ax = plt.subplots(figsize=(1.05 * cols, 1.25 * rows + (0.3 if title else 0)))
    for k in range(n):
        r, c = divmod(k, cols)
        top, left = r * (28 + pad) + pad, c * 30 + 1
        mosaic[top:top + 28, left:left + 28] = np.asarray(images[k], dtype=float).reshape(28, 28)
        name = classes[int(labels[k])] if classes is not None else int(labels[k])
        ax.text(left + 14, top - 2, str(name), ha="center", va="bottom", fontsize=8)
    ax.imshow(mosaic, cmap="gray_r", interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
