"""Lesson 03 (modules and optimizers): update rules as array functions, races, MNIST.

Everything the notebook ``03_modules_and_optimizers`` computes lives here, so it can be tested
headless (``tests/test_lesson03.py``):

* :func:`parameter_table`: the named parameters of a module, as the notebook prints them;
* the exercise references :func:`adam_step` (03.1) and :func:`momentum_step` (03.2), their
  checks, and adapters (:func:`adam_rule`, :func:`momentum_rule`) that turn them into the
  ``rule(param, grad, state, lr) -> (param, state)`` form the races use;
* two-dimensional test functions (:data:`PROBLEMS`: a round bowl, a badly scaled valley and
  Rosenbrock's banana), :func:`run_optimizer`, :func:`race_optimizers`, :func:`lr_sweep`, their
  plots, and the explorer :func:`make_race_explorer`;
* the paper's optimizee, an MLP 784-20-10 on real MNIST digits: :func:`train_mlp`,
  :func:`evaluate`, :class:`LiveLossPlot`, :func:`paper_baselines_on_mnist`.

The optimizers are minigrad's (:mod:`minigrad.optim.update_rules`), whose formulas are
PyTorch's; the notebook swaps in the learner's checked functions where it says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.course.checks import Exercise, compare_values, register
from minigrad.course.widgets import Explorer
from minigrad.optim import update_rules as F
from minigrad.threads import blas_threads

__all__ = [
    "OPTIMIZERS",
    "PAPER_MNIST_LRS",
    "PROBLEMS",
    "LiveLossPlot",
    "Problem",
    "adam_rule",
    "adam_step",
    "evaluate",
    "library_rule",
    "lr_sweep",
    "make_race_explorer",
    "mnist_data",
    "momentum_rule",
    "momentum_step",
    "paper_baselines_on_mnist",
    "parameter_table",
    "plot_digits",
    "plot_lr_sweep",
    "plot_race",
    "race_optimizers",
    "run_optimizer",
    "train_mlp",
]

# ============================================================================================
# 1. Modules


def parameter_table(module: nn.Module) -> str:
    """One line per named parameter (name, shape, number of entries) and a total line."""
    rows = [(name, str(tuple(p.shape)), p.size) for name, p in module.named_parameters()]
    width = max([len(r[0]) for r in rows] + [5])
    lines = [f"{name:<{width}}  {shape:<10}  {size:>6,}" for name, shape, size in rows]
    lines.append(f"{'total':<{width}}  {'':<10}  {module.num_parameters():>6,}")
    return "\n".join(lines)


# ============================================================================================
# 2. The update rules of the exercises (references) and adapters to the common rule form


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step on arrays; returns ``(new_param, new_m, new_v)`` (reference of 03.1).

    ``t`` is the number of this step, 1 for the first; ``m`` and ``v`` are the moving averages
    after step ``t - 1`` (zeros before the first step)::

        m = beta1 m + (1 - beta1) g            v = beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t)              v_hat = v / (1 - beta2^t)
        param = param - lr m_hat / (sqrt(v_hat) + eps)

    The inputs are not modified. This equals PyTorch's (and :func:`minigrad.optim.update_rules.
    adam`'s) arrangement ``param - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) +
    eps)`` up to rounding.
    """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def momentum_step(param, grad, buf, lr, momentum=0.9, nesterov=False):
    """One step of SGD with momentum (heavy ball) or Nesterov momentum, PyTorch's way;
    returns ``(new_param, new_buf)`` (reference of exercise 03.2)::

        buf = grad                         at the first step (buf is None)
        buf = momentum buf + grad          later
        step = grad + momentum buf         Nesterov,    step = buf     heavy ball
        param = param - lr step

    The inputs are not modified.
    """
    buf = np.array(grad, copy=True) if buf is None else momentum * buf + grad
    step = grad + momentum * buf if nesterov else buf
    return param - lr * step, buf


#: A rule in the common form: ``rule(param, grad, state, lr) -> (new_param, new_state)``.
Rule = Callable


def adam_rule(fn: Callable = adam_step, **hyper) -> Rule:
    """Adam in the common rule form, computed by ``fn`` (an :func:`adam_step`-like function)."""

    def rule(param, grad, state, lr):
        t = state.get("t", 0) + 1
        zeros = np.zeros_like(param)
        p, m, v = fn(param, grad, state.get("m", zeros), state.get("v", zeros), t, lr=lr,
                     **hyper)
        return p, {"t": t, "m": m, "v": v}

    return rule


def momentum_rule(fn: Callable = momentum_step, momentum: float = 0.9,
                  nesterov: bool = False) -> Rule:
    """Momentum / Nesterov in the common rule form, computed by ``fn``."""

    def rule(param, grad, state, lr):
        p, buf = fn(param, grad, state.get("buf"), lr, momentum=momentum, nesterov=nesterov)
        return p, {"buf": buf}

    return rule


#: The optimizers raced in the lesson: the paper's baselines (SGD, NAG, RMSprop, Adam) and
#: plain momentum, each with PyTorch's (= Torch7's) default hyperparameters besides lr.
OPTIMIZERS = ("SGD", "Momentum", "NAG", "RMSprop", "Adam")
COLORS = {"SGD": "tab:gray", "Momentum": "tab:orange", "NAG": "tab:red", "RMSprop": "tab:green",
          "Adam": "tab:blue"}


def library_rule(name: str) -> Rule:
    """The optimizer ``name`` from :mod:`minigrad.optim.update_rules`, in the common rule form."""
    if name == "SGD":
        return lambda p, g, s, lr: F.sgd(p, g, s, lr)
    if name == "Momentum":
        return lambda p, g, s, lr: F.sgd(p, g, s, lr, momentum=0.9)
    if name == "NAG":
        return lambda p, g, s, lr: F.sgd(p, g, s, lr, momentum=0.9, nesterov=True)
    if name == "RMSprop":
        return lambda p, g, s, lr: F.rmsprop(p, g, s, lr)
    if name == "Adam":
        return lambda p, g, s, lr: F.adam(p, g, s, lr)
    raise KeyError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


# ============================================================================================
# 3. Races on two-dimensional functions


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
    import ipywidgets as widgets

    prob = _problem(problem)
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


# ============================================================================================
# 4. The paper's optimizee on real MNIST digits

_DATA: dict = {}


def mnist_data(seed: int = 0):
    """The 3,000 / 1,000 / 1,000 train / validation / test split of the 5,000 shipped digits."""
    if seed not in _DATA:
        from minigrad.data import mnist_splits

        _DATA[seed] = mnist_splits(seed=seed)
    return _DATA[seed]


def plot_digits(split, n: int = 12, seed: int = 0):
    """``n`` random digits of a split with their labels (28 x 28 grey images)."""
    import matplotlib.pyplot as plt

    idx = np.random.default_rng(seed).choice(len(split), size=n, replace=False)
    fig, axes = plt.subplots(1, n, figsize=(1.0 * n, 1.3))
    for ax, i in zip(np.atleast_1d(axes), idx):
        ax.imshow(split.images[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(str(int(split.labels[i])), fontsize=10)
        ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.8, wspace=0.1)
    return fig


def evaluate(model: nn.Module, split) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` of ``model`` on a data split (no graph recorded)."""
    with mg.no_grad():
        logits = model(mg.tensor(split.images))
        loss = mg.cross_entropy(logits, split.labels).item()
        acc = float((logits.numpy().argmax(axis=1) == split.labels).mean())
    return loss, acc


def make_optimizer(name: str, params, lr: float):
    """The minigrad optimizer ``name`` (one of :data:`OPTIMIZERS`) over ``params``."""
    if name == "SGD":
        return optim.SGD(params, lr=lr)
    if name == "Momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "NAG":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "RMSprop":
        return optim.RMSprop(params, lr=lr)
    if name == "Adam":
        return optim.Adam(params, lr=lr)
    raise KeyError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


def train_mlp(optimizer: str = "Adam", lr: float = 0.01, steps: int = 300,
              batch_size: int = 128, hidden=(20,), activation: str = "sigmoid",
              init: str = "pytorch", seed: int = 0, callback: Callable | None = None,
              progress: bool = False, threads: int | None = 1) -> dict:
    """Train an MLP 784-hidden-10 on the MNIST training split with minibatches.

    ``callback(step, loss)`` is called after every step (e.g. a :class:`LiveLossPlot` curve);
    ``progress`` shows a ``tqdm.auto`` bar. Batches are drawn with replacement from the
    training split (the official code's sampling) with seed ``seed``, which also seeds the
    weights. BLAS runs on ``threads`` threads meanwhile (:func:`minigrad.threads.blas_threads`).
    Returns
    ``{"model", "losses" (minibatch loss per step), "test_loss", "test_acc", "init_test_acc",
    "optimizer", "lr"}``.
    """
    data = mnist_data()
    model = nn.MLP(784, list(hidden), 10, activation=activation, init=init, seed=seed)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    sampler = data.train.sampler(batch_size, seed=seed)
    _, init_acc = evaluate(model, data.test)
    losses = []
    steps_iter = range(int(steps))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(steps_iter, desc=f"{optimizer} lr {lr:g}", leave=True)
        steps_iter = bar
    with blas_threads(threads):
        for step in steps_iter:
            x, y = next(sampler)
            loss = mg.cross_entropy(model(mg.tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if callback is not None:
                callback(step + 1, losses[-1])
            if bar is not None and step % 10 == 0:
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if bar is not None:
        bar.close()
    test_loss, test_acc = evaluate(model, data.test)
    return {"model": model, "losses": np.array(losses), "test_loss": test_loss,
            "test_acc": test_acc, "init_test_acc": init_acc, "optimizer": optimizer,
            "lr": float(lr)}


class LiveLossPlot:
    """Training-loss curves that redraw themselves in the notebook while training runs.

    ``live.curve(name)`` returns a ``callback(step, loss)`` for one run (pass it to
    :func:`train_mlp`); every ``every`` steps the figure is redrawn in place (an IPython display
    handle), and :meth:`finish` draws the final state. Each curve shows the minibatch losses
    (faint) and their moving average over ``smooth`` steps. With ``show=False`` nothing is
    displayed (tests).
    """

    def __init__(self, every: int = 25, title: str = "training loss", show: bool = True,
                 smooth: int = 10):
        import matplotlib.pyplot as plt

        self.every, self.smooth, self.show = int(every), int(smooth), show
        self.data: dict = {}  # name -> (steps, losses, raw line, average line)
        self.fig, self.ax = plt.subplots(figsize=(7.5, 3.6))
        self.ax.set_xlabel("step")
        self.ax.set_ylabel("cross-entropy (minibatch)")
        self.ax.set_title(title)
        self.ax.axhline(math.log(10), color="k", ls=":", lw=1, label="chance: ln 10")
        self.ax.set_ylim(0, 2.6)
        self.ax.grid(True, alpha=0.3)
        self.fig.subplots_adjust(left=0.09, right=0.97, bottom=0.14, top=0.9)
        self.handle = None
        self.redraws = 0
        if show:
            from IPython.display import display

            self.handle = display(self.fig, display_id=True)
        plt.close(self.fig)

    def curve(self, name: str) -> Callable:
        """A new curve called ``name``; returns its ``callback(step, loss)``."""
        c = COLORS.get(name)
        (raw,) = self.ax.plot([], [], color=c, alpha=0.25, lw=1)
        (avg,) = self.ax.plot([], [], color=c, lw=2, label=name)
        self.ax.legend(fontsize=8, loc="upper right")
        self.data[name] = ([], [], raw, avg)

        def callback(step: int, loss: float) -> None:
            self.data[name][0].append(step)
            self.data[name][1].append(loss)
            if step % self.every == 0:
                self.redraw()

        return callback

    def redraw(self) -> None:
        xmax, ymax = 10, 2.6
        for steps, losses, raw, avg in self.data.values():
            if not losses:
                continue
            s, v = np.array(steps), np.array(losses)
            raw.set_data(s, v)
            k = min(self.smooth, len(v))
            avg.set_data(s[k - 1:], np.convolve(v, np.ones(k) / k, mode="valid"))
            xmax, ymax = max(xmax, s[-1]), max(ymax, float(v.max()) * 1.05)
        self.ax.set_xlim(0, xmax)
        self.ax.set_ylim(0, ymax)
        self.redraws += 1
        if self.handle is not None:
            self.handle.update(self.fig)

    def finish(self) -> None:
        self.redraw()


#: The baselines' best learning rates for the MNIST MLP in a PyTorch reproduction of the paper
#: (AdrienLE/learning_by_grad_by_grad_repro, grid from 1 to 1e-5).
PAPER_MNIST_LRS = {"SGD": 1.0, "NAG": 1.0, "RMSprop": 0.01, "Adam": 0.03}


def paper_baselines_on_mnist(lrs: dict | None = None, steps: int = 100, seed: int = 0,
                             live: LiveLossPlot | None = None, progress: bool = False) -> dict:
    """The paper's baselines on the MNIST MLP for ``steps`` steps each (its horizon: 100).

    All runs start from the same initial weights and see the same minibatches. ``live``: a
    :class:`LiveLossPlot` to draw into; ``progress``: one ``tqdm.auto`` bar over every step.
    Returns ``{name: train_mlp(...) result}``.
    """
    lrs = PAPER_MNIST_LRS if lrs is None else lrs
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * len(lrs), desc="baselines")
    runs = {}
    for name, lr in lrs.items():
        curve = live.curve(name) if live is not None else None

        def callback(step, loss, curve=curve, name=name):
            if curve is not None:
                curve(step, loss)
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix_str(f"{name}: loss {loss:.3f}")

        runs[name] = train_mlp(name, lr, steps=steps, seed=seed, callback=callback)
    if bar is not None:
        bar.close()
    if live is not None:
        live.finish()
    return runs


# ============================================================================================
# 5. Exercise checks


def _named_compare(names):
    """A compare for tuple results that names the entry that differs (param, m, v, ...)."""

    def compare(got, expected):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(expected)
            return (f"expected a tuple of {n} arrays ({', '.join(names)}), got "
                    f"{type(got).__name__}" + (f" of length {len(got)}"
                                               if isinstance(got, (tuple, list)) else ""))
        for name, g, e in zip(names, got, expected):
            problem = compare_values(g, e, rtol=1e-6, atol=1e-9)
            if problem:
                return f"{name}: {problem}"
        return None

    return compare


def _adam_diagnosis(fn_result, args, kwargs) -> str:
    """Name a classic Adam mistake when the learner's new param matches it."""
    p, g, m, v, t = args
    b1, b2 = kwargs.get("beta1", 0.9), kwargs.get("beta2", 0.999)
    lr, eps = kwargs.get("lr", 1e-3), kwargs.get("eps", 1e-8)
    m2 = b1 * m + (1 - b1) * g
    v2 = b2 * v + (1 - b2) * g * g
    variants = {
        "it matches Adam WITHOUT bias correction (divide m by 1 - beta1**t and v by "
        "1 - beta2**t)": p - lr * m2 / (np.sqrt(v2) + eps),
        "it matches the bias correction with t - 1 instead of t (t is already the number of "
        "this step, 1 for the first)": (
            p - lr * (m2 / (1 - b1 ** max(t - 1, 1e-3)))
            / (np.sqrt(v2 / (1 - b2 ** max(t - 1, 1e-3))) + eps)),
        "it matches a step with the OLD m and v (update the averages first, then step)": (
            p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)),
    }
    try:
        got = np.asarray(fn_result[0], dtype=np.float64)
    except (TypeError, ValueError, IndexError):
        return ""
    for text, value in variants.items():
        if got.shape == np.shape(value) and np.allclose(got, value, rtol=1e-6, atol=1e-9):
            return f" ({text})"
    return ""


def _copy_args(args):
    return tuple(None if a is None else (a.copy() if isinstance(a, np.ndarray) else a)
                 for a in args)


def _single_step_checks(fn, reference, cases, names, diagnose=None):
    """Yield (label, problem) for single calls; also check that inputs are left unchanged."""
    compare = _named_compare(names)
    for label, args, kwargs in cases:
        mine = _copy_args(args)
        got = fn(*mine, **kwargs)
        expected = reference(*_copy_args(args), **kwargs)
        problem = compare(got, expected)
        if problem and diagnose is not None:
            problem += diagnose(got, args, kwargs)
        if problem is None:
            for i, (a, b) in enumerate(zip(mine, args)):
                if isinstance(b, np.ndarray) and not np.array_equal(a, b):
                    problem = (f"argument {i} was modified in place; return new arrays "
                               "instead (e.g. `m = beta1 * m + ...`, not `m *= beta1`)")
                    break
        yield label, problem


def _multi_step_check(fn_rule, ref_rule, steps, seed, label):
    """Run both rules ``steps`` times on f(p) = sum(a p^2) / 2 feeding back their own state."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 20.0, size=6)
    p_mine = p_ref = rng.standard_normal(6)
    s_mine, s_ref = {}, {}
    for k in range(1, steps + 1):
        p_mine, s_mine = fn_rule(p_mine, a * p_mine, s_mine, 0.05)
        p_ref, s_ref = ref_rule(p_ref, a * p_ref, s_ref, 0.05)
        problem = compare_values(p_mine, p_ref, rtol=1e-6, atol=1e-9)
        if problem:
            return label, f"after step {k} of {steps}, the parameter: {problem}"
    return label, None


def _adam_checker(fn):
    rng = np.random.default_rng(301)
    p, g = rng.standard_normal(5), rng.standard_normal(5)
    z = np.zeros(5)
    m, v = 0.1 * rng.standard_normal(5), 0.1 * rng.random(5)
    w, gw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    cases = [
        ("first step (t = 1) from m = v = 0", (p, g, z, z, 1), {}),
        ("step t = 4 from given m, v with lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6",
         (p, g, m, v, 4), dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6)),
        ("a 3x4 weight matrix at t = 2", (w, gw, 0.5 * gw, 0.3 * gw * gw, 2), dict(lr=0.01)),
    ]
    yield from _single_step_checks(fn, adam_step, cases, ("new param", "m", "v"),
                                   _adam_diagnosis)
    yield _multi_step_check(adam_rule(fn), adam_rule(adam_step), 8, 302,
                            "8 steps in a row on a quadratic (lr 0.05)")


def _momentum_checker(fn):
    rng = np.random.default_rng(303)
    p, g, buf = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    cases = [
        ("first step (buf=None), heavy ball", (p, g, None, 0.1), {}),
        ("first step (buf=None), Nesterov", (p, g, None, 0.1), dict(nesterov=True)),
        ("later step, heavy ball, momentum 0.5", (p, g, buf, 0.1), dict(momentum=0.5)),
        ("later step, Nesterov, momentum 0.9", (p, g, buf, 0.1),
         dict(momentum=0.9, nesterov=True)),
    ]
    yield from _single_step_checks(fn, momentum_step, cases, ("new param", "new buf"))
    for nesterov in (False, True):
        kind = "Nesterov" if nesterov else "heavy ball"
        yield _multi_step_check(momentum_rule(fn, nesterov=nesterov),
                                momentum_rule(momentum_step, nesterov=nesterov), 8, 304,
                                f"8 steps in a row on a quadratic, {kind}")


register(
    Exercise(
        id="03.1",
        title="Adam step",
        reference=adam_step,
        checker=_adam_checker,
        hint="update m and v first, then correct both: m_hat = m / (1 - beta1**t), "
             "v_hat = v / (1 - beta2**t), and step by lr * m_hat / (np.sqrt(v_hat) + eps); "
             "return (param, m, v) as new arrays.",
    )
)

register(
    Exercise(
        id="03.2",
        title="momentum and Nesterov step",
        reference=momentum_step,
        checker=_momentum_checker,
        hint="buf starts as a copy of grad (buf is None) and is momentum * buf + grad after; "
             "the step is buf (heavy ball) or grad + momentum * buf (Nesterov); return "
             "(param - lr * step, buf).",
    )
)
