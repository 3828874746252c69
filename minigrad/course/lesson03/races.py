"""Section 3: races of optimizers on two-dimensional functions, learning-rate sweeps and the race
explorer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from minigrad.course.mnist_mlp import COLORS, OPTIMIZERS
from minigrad.course.widgets import Explorer

from .update_rules import Rule, library_rule


@dataclass(frozen=True)
class Problem:
    """A function of two variables with its gradient written out, a start and a view.

    ``f(x, y)`` works elementwise on arrays (for contour plots); ``grad(p)`` takes p = (x, y)
    and returns the gradient as an array of 2 (tests check it against minigrad's autograd).
    ``lrs`` are reasonable learning rates for each optimizer over about 100 steps.
    """

    name: str
    formula: str
    f: Callable
    grad: Callable
    x0: tuple
    minimum: tuple
    xlim: tuple
    ylim: tuple
    lrs: dict = field(default_factory=dict)
    steps: int = 100


def _bowl(x, y):
    return x * x + y * y


def _bowl_grad(p):
    return np.array([2 * p[0], 2 * p[1]])


def _valley(x, y):
    return x * x + 100 * y * y


def _valley_grad(p):
    return np.array([2 * p[0], 200 * p[1]])


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_grad(p):
    x, y = p[0], p[1]
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


PROBLEMS: dict[str, Problem] = {
    "bowl": Problem(
        "bowl", r"$f(x, y) = x^2 + y^2$", _bowl, _bowl_grad, (-2.0, 1.5), (0.0, 0.0),
        (-2.5, 2.5), (-2.0, 2.0),
        lrs={"SGD": 0.1, "Momentum": 0.03, "NAG": 0.03, "RMSprop": 0.03, "Adam": 0.1}),
    "valley": Problem(
        "valley", r"$f(x, y) = x^2 + 100\,y^2$", _valley, _valley_grad, (-2.0, 0.5), (0.0, 0.0),
        (-2.5, 2.5), (-1.0, 1.0),
        lrs={"SGD": 0.009, "Momentum": 0.003, "NAG": 0.003, "RMSprop": 0.03, "Adam": 0.1}),
    "rosenbrock": Problem(
        "rosenbrock", r"$f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2$", _rosenbrock,
        _rosenbrock_grad, (-1.2, 1.0), (1.0, 1.0), (-2.0, 2.0), (-1.0, 3.0),
        lrs={"SGD": 0.003, "Momentum": 0.002, "NAG": 0.002, "RMSprop": 0.1, "Adam": 0.3},
        steps=200),
}

#: Beyond this loss a run counts as diverged and stops (the plots would be useless anyway).
DIVERGED = 1e6


def _problem(problem) -> Problem:
    if isinstance(problem, Problem):
        return problem
    try:
        return PROBLEMS[problem]
    except KeyError:
        raise KeyError(f"unknown problem {problem!r}; expected one of "
                       f"{', '.join(PROBLEMS)}") from None


def run_optimizer(problem, name: str, lr: float, steps: int | None = None,
                  rule: Rule | None = None, x0=None) -> dict:
    """Run one optimizer on a 2-D problem from its start point.

    ``rule`` defaults to :func:`library_rule(name)`. Returns ``{"xy": (n+1, 2) iterates,
    "f": (n+1,) losses, "lr", "diverged": bool}``; a run whose loss exceeds :data:`DIVERGED`
    (or stops being finite) is cut there and marked diverged.
    """
    prob = _problem(problem)
    steps = prob.steps if steps is None else int(steps)
    rule = library_rule(name) if rule is None else rule
    p = np.array(prob.x0 if x0 is None else x0, dtype=np.float64)
    state: dict = {}
    xy, fs = [p.copy()], [float(prob.f(*p))]
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            p, state = rule(p, prob.grad(p), state, lr)
            loss = float(prob.f(*p))
            if not math.isfinite(loss) or loss > DIVERGED:
                diverged = True
                break
            xy.append(np.array(p, dtype=np.float64))
            fs.append(loss)
    return {"xy": np.array(xy), "f": np.array(fs), "lr": float(lr), "diverged": diverged}


def race_optimizers(problem, lrs=None, steps: int | None = None, rules: dict | None = None,
                    names=OPTIMIZERS) -> dict:
    """Run every optimizer in ``names`` on ``problem``: ``{name: run_optimizer(...)}``.

    ``lrs``: one learning rate for all, a dict name -> lr, or None for the problem's own
    :attr:`Problem.lrs`. ``rules`` may replace some rules (e.g. the learner's Adam).
    """
    prob = _problem(problem)
    rules = rules or {}
    out = {}
    for name in names:
        lr = lrs if isinstance(lrs, (int, float)) else (lrs or prob.lrs)[name]
        out[name] = run_optimizer(prob, name, lr, steps, rules.get(name))
    return out


#: Learning rates tried by :func:`lr_sweep`: 10^-4 to 10^0.5 in half decades.
LR_GRID = 10.0 ** np.arange(-4.0, 0.51, 0.5)


def lr_sweep(problem, steps: int = 100, lrs=LR_GRID, names=OPTIMIZERS) -> dict:
    """Final loss after ``steps`` for each optimizer and each learning rate in ``lrs``.

    Returns ``{"lr": array, name: array of final losses (inf where the run diverged)}``. The
    paper tunes each baseline's learning rate like this and reports the best final loss.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    out = {"lr": lrs}
    for name in names:
        finals = []
        for lr in lrs:
            run = run_optimizer(problem, name, lr, steps)
            finals.append(np.inf if run["diverged"] else run["f"][-1])
        out[name] = np.array(finals)
    return out


def _contours(ax, prob: Problem):
    from matplotlib.colors import LogNorm

    x = np.linspace(*prob.xlim, 160)
    y = np.linspace(*prob.ylim, 160)
    X, Y = np.meshgrid(x, y)
    Z = prob.f(X, Y) + 1e-3
    levels = np.logspace(np.log10(Z.min()) + 0.3, np.log10(Z.max()), 14)
    ax.contour(X, Y, Z, levels=levels, norm=LogNorm(), cmap="Greys", linewidths=0.7, alpha=0.8)
    ax.plot(*prob.minimum, marker="*", color="gold", ms=14, mec="k", zorder=5)
    ax.plot(*prob.x0, marker="o", color="k", ms=5, zorder=5)
    ax.set_xlim(*prob.xlim)
    ax.set_ylim(*prob.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def plot_race(problem, result: dict, title: str | None = None):
    """Trajectories on the contours (left) and loss against step, log scale (right)."""
    import matplotlib.pyplot as plt

    prob = _problem(problem)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.2, 1]})
    _contours(ax, prob)
    for name, run in result.items():
        c = COLORS.get(name)
        label = f"{name} (lr {run['lr']:.3g})" + (", diverged" if run["diverged"] else "")
        ax.plot(run["xy"][:, 0], run["xy"][:, 1], ".-", color=c, ms=3, lw=1)
        ax2.semilogy(np.maximum(run["f"], 1e-16), color=c, lw=1.5, label=label)
        if run["diverged"]:
            ax2.semilogy(len(run["f"]) - 1, max(run["f"][-1], 1e-16), "x", color=c, ms=10,
                         mew=2)
    ax.set_title(title or prob.formula)
    ax2.legend(fontsize=8, loc="lower left")
    ax2.set_xlabel("step")
    ax2.set_ylabel("f (log scale)")
    ax2.set_title("loss (× = diverged)")
    ax2.grid(True, which="major", alpha=0.3)
    # Fixed margins: tight_layout would cost the explorer about a second per redraw here.
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.12, top=0.92, wspace=0.22)
    return fig


def plot_lr_sweep(sweep: dict, title: str = ""):
    """Final loss against learning rate (log-log); a diverged run is drawn at the top."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    lrs = sweep["lr"]
    finite = np.concatenate([v[np.isfinite(v)] for k, v in sweep.items() if k != "lr"])
    top = 10 * finite.max() if finite.size else 1.0
    for i, name in enumerate(k for k in sweep if k != "lr"):
        v = sweep[name]
        c = COLORS.get(name)
        ax.loglog(lrs, np.where(np.isfinite(v), np.maximum(v, 1e-16), np.nan), "o-", ms=4,
                  color=c, label=name)
        bad = ~np.isfinite(v)  # one row of crosses per optimizer, so none hides another
        ax.loglog(lrs[bad], np.full(bad.sum(), top * 4.0**i), "x", color=c, ms=7, mew=2)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss")
    ax.set_title(title or "final loss against learning rate (× at the top: diverged)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


class _RaceExplorer(Explorer):
    """Explorer whose updates can be held while several controls change together."""

    _holding = False

    def update(self):
        if self._holding:
            return self.result
        return super().update()


def make_race_explorer(problem: str = "valley", steps: int | None = None,
                       rules: dict | None = None) -> Explorer:
    """Race the optimizers on a 2-D problem; choose each one's learning rate, or one for all.

    Controls: ``"problem"`` (Dropdown), ``"steps"``, ``"shared"`` (Checkbox: one learning rate
    for all), ``"log_lr"`` (the shared log10 learning rate) and ``"log_lr_<name>"`` for each
    optimizer. Changing the problem resets the per-optimizer rates to that problem's defaults.
    ``result`` is :func:`race_optimizers`'s dict. ``rules`` may swap in the learner's rules.
    """
    controls = _race_controls(_problem(problem), steps)

    def compute(problem, steps, shared, log_lr, **per):
        if shared:
            lrs = 10.0**log_lr
        else:
            lrs = {name: 10.0 ** per[f"log_lr_{name}"] for name in OPTIMIZERS}
        return race_optimizers(problem, lrs, steps, rules)

    def render(result):
        return plot_race(controls["problem"].value, result)

    holder: dict = {}

    def on_problem(change):
        # Runs BEFORE the Explorer's own observer (registered first): set the new problem's
        # rates while updates are held; the Explorer's observer then redraws once.
        explorer = holder.get("explorer")
        if explorer is not None:
            explorer._holding = True
        try:
            p = PROBLEMS[change["new"]]
            for name in OPTIMIZERS:
                controls[f"log_lr_{name}"].value = round(math.log10(p.lrs[name]), 2)
            controls["steps"].value = p.steps
        finally:
            if explorer is not None:
                explorer._holding = False

    controls["problem"].observe(on_problem, names="value")
    explorer = _RaceExplorer(controls, compute, render,
                             title="Race the optimizers (learning rates on a log10 scale)")
    holder["explorer"] = explorer
    return explorer


def _race_controls(prob: Problem, steps: int | None) -> dict:
    """The widgets of :func:`make_race_explorer`, set to ``prob``'s defaults."""
    import ipywidgets as widgets

    style = {"description_width": "110px"}
    wide = widgets.Layout(width="420px")

    def lr_slider(name, lr):
        return widgets.FloatSlider(value=round(math.log10(lr), 2), min=-4.0, max=0.5, step=0.05,
                                   description=f"log10 lr {name}", continuous_update=False,
                                   readout_format=".2f", style=style, layout=wide)

    controls = {
        "problem": widgets.Dropdown(options=list(PROBLEMS), value=prob.name,
                                    description="problem", style=style),
        "steps": widgets.IntSlider(value=steps or prob.steps, min=10, max=400, step=10,
                                   description="steps", continuous_update=False, style=style,
                                   layout=wide),
        "shared": widgets.Checkbox(value=False, description="one learning rate for all"),
        "log_lr": lr_slider("(all)", 0.01),
    }
    for name in OPTIMIZERS:
        controls[f"log_lr_{name}"] = lr_slider(name, prob.lrs[name])
    return controls
