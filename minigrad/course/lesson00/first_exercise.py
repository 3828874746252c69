"""Sections 4 and 5: exercise 00.1 (how exercises give feedback), then gradient descent on f(x) =
x^2 and its learning rate.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.course.checks import Case, Exercise, register
from minigrad.course.widgets import Explorer


def square(x):
    """Return ``x ** 2`` for a number or an array."""
    return x * x


def _square_cases():
    rng = np.random.default_rng(0)
    return [
        Case((3,)),
        Case((-2.5,)),
        Case((np.arange(4.0),)),
        Case((rng.standard_normal((2, 3)),), label="square(a random 2x3 array)"),
    ]


register(
    Exercise(
        id="00.1",
        title="square a number",
        reference=square,
        cases=_square_cases,
        hint="x squared is x times x. Use an operation that works element by element, so that "
             "the same line serves a number and a NumPy array. Still stuck: the collapsed "
             "'Hint 2' below the exercise.",
    )
)


# ============================================================================================
# 5. Gradient descent on f(x) = x^2, and the learning rate


def gradient_descent_path(lr: float, steps: int = 20, x0: float = 1.0) -> np.ndarray:
    """Iterates ``x_0, ..., x_steps`` of gradient descent on ``f(x) = x^2``.

    ``x_{k+1} = x_k - lr * f'(x_k)``, where ``f'(x_k)`` is computed by minigrad's autograd
    (``minigrad.grad``, in float64 on the CPU). Since ``f'(x) = 2x``, the iterates are
    ``x_k = (1 - 2 lr)^k x_0``. Returns a float64 array of length ``steps + 1``.
    """
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"gradient_descent_path: steps must be >= 0, got {steps}")
    xs = [float(x0)]
    for _ in range(steps):
        x = mg.tensor(xs[-1], requires_grad=True, dtype="float64", device="cpu")
        fx = x * x
        dfdx = mg.grad(fx, x)
        xs.append(xs[-1] - lr * dfdx.item())
    return np.asarray(xs, dtype=np.float64)


def lr_regime(lr: float, curvature: float = 2.0, tol: float = 1e-9) -> str:
    """How gradient descent with step ``lr`` behaves on ``f(x) = curvature / 2 * x^2``.

    Each step multiplies x by ``r = 1 - lr * curvature`` (``curvature = f''``; 2 for ``x^2``):

    * ``0 < r < 1``  (0 < lr < 1/c): "converges monotonically";
    * ``r = 0``      (lr = 1/c):     "converges in one step";
    * ``-1 < r < 0`` (1/c < lr < 2/c): "converges, oscillating";
    * ``r = -1``     (lr = 2/c):     "oscillates forever";
    * ``r < -1``     (lr > 2/c):     "diverges, oscillating";
    * ``r = 1``      (lr = 0):       "stays put";  ``r > 1`` (lr < 0): "diverges monotonically".
    """
    r = 1.0 - lr * curvature
    if abs(r) <= tol:
        return "converges in one step"
    if abs(r - 1) <= tol:
        return "stays put"
    if abs(r + 1) <= tol:
        return "oscillates forever"
    if r > 1:
        return "diverges monotonically"
    if r > 0:
        return "converges monotonically"
    if r > -1:
        return "converges, oscillating"
    return "diverges, oscillating"


def _lr_result(lr: float, steps: int, x0: float) -> dict:
    xs = gradient_descent_path(lr, steps, x0)
    return {"lr": float(lr), "steps": int(steps), "x0": float(x0), "xs": xs, "fs": xs**2,
            "factor": 1.0 - 2.0 * lr, "regime": lr_regime(lr)}


def _describe(res: dict) -> str:
    return (f"lr = {res['lr']:.2f}: each step multiplies x by 1 - 2·lr = {res['factor']:+.2f}, "
            f"so gradient descent {res['regime']}; after {res['steps']} steps "
            f"x = {res['xs'][-1]:.4g}, f(x) = {res['fs'][-1]:.4g}")


def plot_lr_path(res: dict, axes=None):
    """Two panels for one run (a dict from the explorer): the iterates on the parabola, and
    ``f(x_k)`` against the step on a log scale. Returns the Figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    else:
        fig = axes[0].figure
    xs, fs = res["xs"], res["fs"]
    ax = axes[0]
    reach = max(1.2 * float(np.max(np.abs(xs))), 1.2)
    grid = np.linspace(-reach, reach, 200)
    ax.plot(grid, grid**2, color="#bbbbbb", lw=1.5, label="f(x) = x²")
    ax.plot(xs, fs, "-o", color="#1f5fa8", ms=3.5, lw=1, label="x₀, x₁, ...")
    ax.plot(xs[:1], fs[:1], "s", color="k", ms=6, label="start")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(f"lr = {res['lr']:.2f}: {res['regime']}", fontsize=10)
    ax.legend(fontsize=8, loc="upper center")
    ax = axes[1]
    k = np.arange(len(fs))
    positive = fs[fs > 0]
    floor = max(min(float(positive.min()) if positive.size else 1.0, 1e-2) / 10, 1e-20)
    ax.semilogy(k, np.maximum(fs, floor), "-o", color="#c8620a", ms=3)
    if np.any(fs == 0):
        ax.text(0.98, 0.5, "f = 0 exactly (drawn at the bottom)", transform=ax.transAxes,
                ha="right", fontsize=8, color="#c8620a")
    ax.axhline(fs[0], color="#999999", lw=0.8, ls="--")
    ax.set_ylim(bottom=floor / 2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step k")
    ax.set_ylabel("f(x_k)  (log scale)")
    ax.set_title("loss along the way (dashed: the start)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_lr_regimes(lrs=(0.1, 0.5, 0.85, 1.0, 1.05), steps: int = 12, x0: float = 1.0):
    """One small panel per learning rate: the iterates ``x_k`` against ``k``, titled with the
    regime (:func:`lr_regime`). Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(lrs), figsize=(2.5 * len(lrs), 2.7), sharey=True,
                             squeeze=False)
    for ax, lr in zip(axes[0], lrs):
        xs = gradient_descent_path(lr, steps, x0)
        ax.axhline(0, color="k", lw=0.6)
        ax.plot(np.arange(steps + 1), xs, "-o", ms=3, lw=1.2, color="#1f5fa8")
        ax.set_title(f"lr = {lr:g}\n{lr_regime(lr)}", fontsize=9)
        ax.set_xlabel("step k")
        ax.set_ylim(-3.2, 3.2)
    axes[0, 0].set_ylabel("x_k")
    fig.suptitle("Gradient descent on f(x) = x²:  x_k = (1 − 2·lr)^k · x₀", fontsize=10)
    fig.tight_layout()
    return fig


def make_lr_explorer(lr: float = 0.1, steps: int = 20, x0: float = 1.0) -> Explorer:
    """A learning-rate slider (and a steps slider) for gradient descent on ``f(x) = x^2``.

    Controls: ``"lr"`` (FloatSlider, 0.01 to 1.10) and ``"steps"`` (IntSlider, 1 to 50).
    ``result`` is a dict: ``lr``, ``steps``, ``x0``, ``xs`` (the iterates, from
    :func:`gradient_descent_path`), ``fs = xs**2``, ``factor = 1 - 2 lr`` and ``regime``
    (:func:`lr_regime`). The output shows one line of text and :func:`plot_lr_path`.
    """
    import ipywidgets as widgets

    controls = {
        "lr": widgets.FloatSlider(value=lr, min=0.01, max=1.1, step=0.01, description="lr",
                                  continuous_update=False, readout_format=".2f"),
        "steps": widgets.IntSlider(value=steps, min=1, max=50, description="steps",
                                   continuous_update=False),
    }

    def compute(lr, steps):
        return _lr_result(lr, steps, x0)

    def render(res):
        print(_describe(res))
        return plot_lr_path(res)

    return Explorer(controls, compute, render,
                    title="Gradient descent on f(x) = x²: move the learning rate")
