"""Section 4: gradient checking by finite differences, in float32 and float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad.testing import numerical_grad

#: name -> (f on tensors, exact f' on float64 arrays), for the finite-difference study.
FD_FUNCTIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh(x)": (lambda x: x.tanh(), lambda x: 1 - np.tanh(x) ** 2),
    "exp(x)": (lambda x: x.exp(), np.exp),
    "sigmoid(x)": (lambda x: x.sigmoid(),
                   lambda x: 0.25 * (1 - np.tanh(x / 2) ** 2)),
    "x³": (lambda x: x * x * x, lambda x: 3 * x**2),
}


def fd_errors(name: str = "tanh(x)", eps=None, dtype: str = "float64", n: int = 16,
              seed: int = 0) -> dict:
    """Relative error of central differences of ``name`` computed in ``dtype``, per step eps.

    For n points x ~ U(-1.5, 1.5), the function is evaluated by minigrad in ``dtype`` at
    x +- eps; the error is max |numeric - exact| / max(|exact|, 1e-3) against the exact
    derivative in float64. Returns ``{"eps", "error"}``.
    """
    f, df = FD_FUNCTIONS[name]
    eps = np.logspace(-12, -1, 45) if eps is None else np.atleast_1d(np.asarray(eps, float))
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, n)
    exact = df(x)
    errs = []
    for e in eps:
        xs = mg.tensor(x, dtype=dtype)
        step = xs.data.dtype.type(e)
        with mg.no_grad():
            plus = f(mg.tensor(xs.data + step)).numpy().astype(np.float64)
            minus = f(mg.tensor(xs.data - step)).numpy().astype(np.float64)
        numeric = (plus - minus) / (2 * e)  # as gradcheck does: divide by the step asked for
        errs.append(float(np.max(np.abs(numeric - exact) / np.maximum(np.abs(exact), 1e-3))))
    return {"eps": eps, "error": np.array(errs)}


def plot_fd_errors(curves: dict, eps: float | None = None, title: str = "", ax=None):
    """Log-log plot of ``{label: fd_errors(...)}`` curves, with an optional marked eps."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4))
    fig = ax.figure
    for k, (label, res) in enumerate(curves.items()):
        ax.loglog(res["eps"], np.maximum(res["error"], 1e-16), "o-", ms=3, color=f"C{k}",
                  label=label)
    ax.axhline(1e-4, color="0.3", ls=":", lw=1, label="gradcheck's rtol (1e-4)")
    if eps is not None:
        ax.axvline(eps, color="C3", lw=1, ls="--", label=f"h = {eps:.1e}")
    ax.set_ylim(1e-12, 10)
    ax.set_xlabel("finite-difference step h")
    ax.set_ylabel("relative error of the central difference")
    ax.set_title(title or "Central differences: float32 vs float64", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def float32_gradcheck(fn: Callable = lambda x: (x * x).tanh(), shape=(2, 3), eps: float = 1e-6,
                      seed: int = 0) -> dict:
    """What :func:`gradcheck` would see in float32: the worst relative error, numeric vs exact.

    ``gradcheck`` refuses float32 inputs; this runs its steps by hand (the same
    :func:`~minigrad.testing.numerical_grad`) on float32 and float64 copies of the same input.
    Returns ``{"float32": err, "float64": err}``.
    """
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1.0, 1.0, shape)
    w = rng.standard_normal(shape)
    out = {}
    for dtype in ("float32", "float64"):
        x = mg.tensor(x0, dtype=dtype, requires_grad=True)
        weights = mg.tensor(w, dtype=dtype)
        analytic = mg.grad((fn(x) * weights).sum(), x).numpy().astype(np.float64)
        (numeric,) = numerical_grad(fn, [x], weights, eps)
        err = np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic),
                                                                 np.abs(numeric)), 1e-2)
        out[dtype] = float(err.max())
    return out


def derivatives_of_tanh(xs=None) -> dict:
    """tanh and its first and second derivatives by minigrad (``create_graph=True``).

    Returns ``{"x", "f", "df", "d2f"}`` as float64 arrays.
    """
    xs = np.linspace(-3, 3, 121) if xs is None else np.asarray(xs, np.float64)
    x = mg.tensor(xs, dtype="float64", requires_grad=True)
    y = x.tanh()
    (dy,) = mg.grad(y.sum(), [x], create_graph=True)  # one entry per x: elementwise f'
    (d2y,) = mg.grad(dy.sum(), [x])
    return {"x": xs, "f": y.numpy(), "df": dy.numpy(), "d2f": d2y.numpy()}


def plot_derivatives(res: dict, ax=None):
    """Plot :func:`derivatives_of_tanh`'s three curves."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.6))
    fig = ax.figure
    ax.plot(res["x"], res["f"], lw=2, label="tanh x")
    ax.plot(res["x"], res["df"], lw=2, label="first derivative (grad)")
    ax.plot(res["x"], res["d2f"], lw=2, label="second derivative (grad of grad)")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("x")
    ax.set_title("Differentiating the backward pass: create_graph=True", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
