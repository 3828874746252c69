"""Lesson 05 (learning to learn): an optimizer is a function, and functions can be learned.

Everything the notebook ``05_learning_to_learn`` computes lives here, so it can be tested
headless (``tests/test_lesson05.py``):

* hand-designed rules written as the paper's optimizer function
  ``[g_t, h_{t+1}] = m(grad_t, h_t; phi)`` (:func:`sgd_m`, :func:`momentum_m`,
  :func:`run_m`);
* the coordinatewise LSTM: :func:`full_lstm_parameter_count` (what a non-coordinatewise LSTM
  would cost), :func:`permutation_gap` (permuting the coordinates permutes the updates);
* the paper's computational graph with its dashed edges: :func:`draw_computational_graph`;
* exercise 05.1, the unrolled meta-loss with the gradient cut: the reference
  :func:`unrolled_meta_loss`, the tiny problems it is checked on (:func:`tiny_quadratic`),
  and its check against the library's :func:`minigrad.l2l.unroll`;
* a short meta-training on small quadratics (:func:`short_meta_training`), its held-out
  evaluation against tuned Adam (:func:`held_out_comparison`), live plots (:class:`LivePlot`,
  :func:`plot_meta_curve`);
* the pretrained optimizer against tuned baselines, the paper's quadratic figure
  (:func:`load_pretrained`, :func:`pretrained_or_fallback`, :func:`compare_with_baselines`,
  :func:`plot_comparison`);
* the explorer :func:`make_meta_training_explorer` (unroll length, meta learning rate, hidden
  size; a button launches a short run with a live plot).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import minigrad as mg
from minigrad.course.checks import Exercise, register
from minigrad.l2l import (
    BaselineRule,
    Flattener,
    LearnedRule,
    LSTMOptimizer,
    MetaConfig,
    MetaTrainer,
    QuadraticProblem,
    evaluate_rule,
    net_defaults,
    run_protocol,
    tune_lr,
    unroll,
)
from minigrad.l2l.checkpoints import load_pretrained
from minigrad.l2l.evaluate import problem_seeds, summarize
from minigrad.l2l.plots import COLORS, LABELS
from minigrad.threads import blas_threads

__all__ = [
    "COMPARISON_GRID",
    "LivePlot",
    "MetaRun",
    "Pretrained",
    "TinyProblem",
    "claim_verdict",
    "compare_with_baselines",
    "comparison_table",
    "draw_computational_graph",
    "full_lstm_parameter_count",
    "held_out_comparison",
    "load_pretrained",
    "make_meta_training_explorer",
    "momentum_m",
    "permutation_gap",
    "plot_comparison",
    "plot_meta_curve",
    "pretrained_or_fallback",
    "run_m",
    "sgd_m",
    "short_meta_training",
    "tiny_quadratic",
    "unrolled_meta_loss",
]

# ============================================================================================
# 1. Hand-designed optimizers written as the paper's m(grad, h; phi)


def sgd_m(grad, h, phi):
    """Gradient descent as an optimizer function: ``g = -lr * grad``; no state.

    ``phi = {"lr": ...}``. Returns ``(g, h)`` with ``h`` unchanged (None).
    """
    return -phi["lr"] * grad, h


def momentum_m(grad, h, phi):
    """Heavy-ball momentum: ``h' = beta h + grad``, ``g = -lr h'``; the state is the velocity.

    ``phi = {"lr": ..., "beta": ...}``; ``h`` is None before the first step.
    """
    h = grad if h is None else phi["beta"] * h + grad
    return -phi["lr"] * h, h


def run_m(m, phi, grad_fn, theta0, steps: int):
    """Iterate ``theta_{t+1} = theta_t + g_t`` with ``[g_t, h_{t+1}] = m(grad_t, h_t; phi)``.

    Returns the iterates, an array of shape (steps + 1,) + theta0.shape.
    """
    theta, h = np.array(theta0, dtype=np.float64), None
    out = [theta.copy()]
    for _ in range(steps):
        g, h = m(grad_fn(theta), h, phi)
        theta = theta + g
        out.append(theta.copy())
    return np.array(out)


# ============================================================================================
# 2. The coordinatewise LSTM


def full_lstm_parameter_count(n: int, hidden: int = 20, layers: int = 2) -> int:
    """Parameters of a NON-coordinatewise LSTM optimizer for ``n`` coordinates: it reads all n
    gradients at once (input size n), has ``layers`` LSTM layers of ``hidden`` units and a
    linear head hidden -> n (one update per coordinate). An LSTM layer with input size I and
    H units has 4H(I + H) weights and 2 * 4H biases (PyTorch's two bias vectors)."""
    count, size_in = 0, int(n)
    for _ in range(int(layers)):
        count += 4 * hidden * (size_in + hidden) + 2 * 4 * hidden
        size_in = hidden
    return count + size_in * n + n


def permutation_gap(net: LSTMOptimizer, g, seed: int = 0, steps: int = 3) -> float:
    """Largest |m(P g) - P m(g)| over ``steps`` steps (fresh states, permutation P drawn from
    ``seed``): zero when the optimizer treats every coordinate the same way."""
    g = np.asarray(g)
    perm = np.random.default_rng(seed).permutation(g.shape[0])
    s1 = s2 = None
    gap = 0.0
    with blas_threads(1):
        for k in range(steps):
            gk = g * (1.0 + 0.5 * k)  # a few different gradients, so the states matter
            d1, s1 = net.update_array(gk, s1)
            d2, s2 = net.update_array(gk[perm], s2)
            gap = max(gap, float(np.max(np.abs(d1[perm] - d2))))
    return gap


# ============================================================================================
# 3. The paper's computational graph (Figure 2), dashed edges included


def draw_computational_graph(steps: int = 3, show_cut: bool = True):
    """The graph used to compute the meta-gradient, after the paper's Figure 2.

    Top row: the optimizee (theta_t -> f -> f_t, theta_t + g_t -> theta_{t+1}); bottom row: the
    optimizer m with its state h_t. The edges from f to grad_t are DASHED when ``show_cut``:
    no gradient flows along them (second derivatives of f are dropped). Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(3.0 * steps + 1.4, 4.4))
    dx = 3.0
    y_loss, y_f, y_theta, y_m = 3.55, 2.55, 1.55, 0.0
    names = [f"t-{steps - 1 - k}" if k < steps - 1 else "t" for k in range(steps)]
    names = [n.replace("t-0", "t") for n in names]

    def box(x, y, text, color, w=0.9, h=0.55):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                    boxstyle="round,pad=0.04,rounding_size=0.12",
                                    fc=color, ec="k", lw=1.0, zorder=2))
        ax.text(x, y, text, ha="center", va="center", fontsize=12, zorder=3)

    def circle(x, y, text):
        ax.add_patch(plt.Circle((x, y), 0.2, fc="white", ec="k", lw=1.0, zorder=2))
        ax.text(x, y, text, ha="center", va="center", fontsize=12, zorder=3)

    def arrow(x0, y0, x1, y1, dashed=False, color="k", rad=0.0):
        ax.add_patch(FancyArrowPatch(
            (x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=13, lw=1.3, color=color,
            linestyle=(0, (4, 3)) if dashed else "-", shrinkA=0, shrinkB=0,
            connectionstyle=f"arc3,rad={rad}", zorder=1))

    def label(x, y, text, **kw):
        ax.text(x, y, text, ha="center", va="center", fontsize=12, **kw)

    cut = "tab:red" if show_cut else "k"
    for k in range(steps):
        x = 0.6 + k * dx  # where theta_t sits
        t = names[k]
        xf, xp = x + 0.7, x + 1.9  # the column of f and m, and the (+) node
        label(x, y_theta, rf"$\theta_{{{t}}}$")
        box(xf, y_f, "f", "#dbe9f6")
        arrow(x + 0.15, y_theta + 0.2, xf - 0.2, y_f - 0.3)
        label(xf, y_loss + 0.05, rf"$f_{{{t}}}$")
        arrow(xf, y_f + 0.3, xf, y_loss - 0.2)
        # f -> grad_t -> m: the dashed (cut) edge
        arrow(xf, y_f - 0.3, xf, y_m + 0.3, dashed=show_cut, color=cut)
        label(xf - 0.3, 0.95, rf"$\nabla_{{{t}}}$", color=cut)
        box(xf, y_m, "m", "#fde2c8")
        # h_t into m (from the previous m, or from the left)
        x0 = x - 0.55 if k == 0 else x - dx + 1.15
        arrow(x0, y_m, xf - 0.45, y_m)
        label((x0 + xf - 0.45) / 2, y_m + 0.3, rf"$h_{{{t}}}$")
        # theta_t -> (+) <- g_t, then (+) -> theta_{t+1}
        circle(xp, y_theta, "+")
        arrow(x + 0.3, y_theta, xp - 0.2, y_theta)
        arrow(xf + 0.45, y_m + 0.15, xp - 0.08, y_theta - 0.2)
        label(xp + 0.25, 0.72, rf"$g_{{{t}}}$")
        arrow(xp + 0.2, y_theta, x + dx - 0.35, y_theta)
    x_end = 0.6 + steps * dx
    label(x_end + 0.05, y_theta, r"$\theta_{t+1}$")
    arrow(x_end - dx + 1.15, y_m, x_end - 0.35, y_m)
    label(x_end + 0.05, y_m, r"$h_{t+1}$")
    ax.text(-0.3, y_loss + 0.6, r"meta-loss $\mathcal{L}(\phi) = \sum_t w_t f_t$ "
            "(the whole trajectory counts)", fontsize=11, va="center")
    ax.text(-0.75, y_f, "optimizee", rotation=90, va="center", fontsize=11, color="0.35")
    ax.text(-0.75, y_m, "optimizer", rotation=90, va="center", fontsize=11, color="0.35")
    if show_cut:
        ax.text(x_end + 0.4, y_loss + 0.6, "dashed: no gradient flows back (" + r"$\nabla_t$"
                " is a constant)", color=cut, fontsize=10, ha="right", va="center")
    ax.set_xlim(-0.85, x_end + 0.45)
    ax.set_ylim(-0.45, y_loss + 0.85)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
    return fig


# ============================================================================================
# 4. Exercise 05.1: the unrolled meta-loss with the gradient cut


def unrolled_meta_loss(net, f: Callable, theta0, steps: int):
    """The paper's meta-loss over one unroll: ``L(phi) = sum_{t=1..T} f(theta_t)``.

    ``net`` is the learned optimizer (``net.update(grad, state) -> (delta Tensor, state)``),
    ``f(theta) -> scalar Tensor`` the optimizee, ``theta0`` an array (N,), ``steps`` = T::

        for t = 0 .. T-1:
            grad_t         = d f(theta_t) / d theta_t    taken as a CONSTANT (dashed edge)
            g_t, h_{t+1}   = m(grad_t, h_t; phi)
            theta_{t+1}    = theta_t + g_t
        L = f(theta_1) + ... + f(theta_T)

    Returns L, a scalar Tensor whose graph reaches phi through every theta_t and LSTM state
    (reference of exercise 05.1; the library's :func:`minigrad.l2l.unroll` with
    ``method="graph"`` computes the same).
    """
    theta = mg.tensor(theta0, requires_grad=True)  # theta_0: a leaf, so grad() can reach it
    loss = f(theta)
    state, terms = None, []
    for _ in range(steps):
        grad_t = mg.grad(loss, theta, retain_graph=True).data  # .data: a constant array
        delta, state = net.update(grad_t, state)
        theta = theta + delta
        loss = f(theta)
        terms.append(loss)
    meta_loss = terms[0]
    for term in terms[1:]:
        meta_loss = meta_loss + term
    return meta_loss


@dataclass
class TinyProblem:
    """A small quadratic optimizee in the two forms used here.

    ``f(theta)`` for a flat Tensor theta (N,) (what exercise 05.1 uses), and ``instance`` +
    ``flat`` (what the library's :func:`~minigrad.l2l.unroll` takes). ``theta0`` is an array.
    """

    instance: object
    flat: Flattener
    theta0: np.ndarray
    description: str = ""

    def f(self, theta):
        """The optimizee loss at the flat parameter vector ``theta`` (a Tensor)."""
        return self.instance.loss(self.flat.views(theta), 0)


def tiny_quadratic(seed: int = 0, dim: int = 3, batch: int = 2, dtype="float64") -> TinyProblem:
    """``batch`` quadratics ||W theta - y||^2 of dimension ``dim`` (the paper's family, drawn
    from ``seed``), flattened into one vector of N = batch * dim coordinates."""
    problem = QuadraticProblem(dim=dim, batch=batch, init_std=1.0, dtype=dtype)
    instance = problem.sample(seed)
    arrays = instance.init_params()
    flat = Flattener.like(arrays)
    return TinyProblem(instance, flat, flat.flatten(arrays),
                       f"{batch} quadratics of dimension {dim} (seed {seed})")


def library_meta_loss(net, problem: TinyProblem, steps: int, second_order: bool = False):
    """The library's meta-loss for the same unroll (:func:`minigrad.l2l.unroll`, the literal
    ``method="graph"``): a scalar Tensor."""
    meta_loss, _, _, _ = unroll(net, problem.instance, problem.flat, problem.theta0.copy(), None,
                                0, steps, method="graph", second_order=second_order)
    return meta_loss


def _check_net(kind: str, seed: int) -> LSTMOptimizer:
    if kind == "identity":
        return LSTMOptimizer(preprocess="identity", hidden_size=6, num_layers=2,
                             output_scale=0.1, seed=seed, dtype="float64")
    return LSTMOptimizer(preprocess="logsign", p=5.0, hidden_size=4, num_layers=1,
                         output_scale=0.1, seed=seed, dtype="float64")


_CHECK_CASES = (  # (net kind, net seed, problem seed, dim, batch, steps)
    ("identity", 0, 0, 3, 2, 5),
    ("logsign", 1, 1, 2, 3, 4),
    ("identity", 2, 2, 4, 1, 1),
)


def _diagnose(value, problem, net_kind, net_seed, steps):
    """A hint for a wrong meta-loss value (off by one, last term only, f(theta_0) added)."""
    net = _check_net(net_kind, net_seed)
    _, _, _, losses = unroll(net, problem.instance, problem.flat, problem.theta0.copy(), None, 0,
                             steps, method="graph")
    f0 = float(problem.f(mg.tensor(problem.theta0)).item())
    known = {
        "f(theta_T) alone: sum every step's loss, f(theta_1) + ... + f(theta_T)": losses[-1],
        "f(theta_0) + ... + f(theta_T): the paper's sum starts at theta_1 (f(theta_0) does not "
        "depend on phi)": f0 + sum(losses),
        "the sum over T - 1 steps: run the loop `steps` times": sum(losses[:-1]),
    }
    for text, v in known.items():
        if math.isclose(value, v, rel_tol=1e-9, abs_tol=1e-12):
            return f"it equals {text}"
    return None


def _check_meta_loss(fn):
    """Checker of exercise 05.1: value and meta-gradient against the library's unroll."""
    for kind, net_seed, prob_seed, dim, batch, steps in _CHECK_CASES:
        problem = tiny_quadratic(prob_seed, dim, batch)
        label = (f"{problem.description}, T = {steps}, an LSTM optimizer with "
                 f"{'identity' if kind == 'identity' else 'LogAndSign(p=5)'} inputs")
        net = _check_net(kind, net_seed)
        theta0 = problem.theta0.copy()
        got = fn(net, problem.f, theta0, steps)
        if not np.array_equal(theta0, problem.theta0):
            yield label, "theta0 was modified in place; build new tensors (theta = theta + delta)"
            return
        if not isinstance(got, mg.Tensor) or got.size != 1:
            yield label, (f"expected a scalar minigrad Tensor (the sum of the f(theta_t) "
                          f"Tensors), got {type(got).__name__}")
            return
        ref_net = _check_net(kind, net_seed)
        expected = library_meta_loss(ref_net, problem, steps)
        value, want = float(got.item()), float(expected.item())
        if not math.isclose(value, want, rel_tol=1e-7, abs_tol=1e-10):
            why = _diagnose(value, problem, kind, net_seed, steps)
            yield label, (f"meta-loss {value:.6g}, expected {want:.6g}"
                          + (f" ({why})" if why else ""))
            return
        if not got.requires_grad:
            yield label, ("the meta-loss has no graph back to phi: keep theta_t a Tensor "
                          "built from net.update's delta (no .data, no no_grad) ")
            return
        params, ref_params = net.parameters(), ref_net.parameters()
        try:
            grads = mg.grad(got, params, allow_unused=True)
        except mg.GraphFreedError:
            yield label, ("the graph was freed before the meta-gradient could be taken: call "
                          "mg.grad(loss, theta, retain_graph=True) for grad_t")
            return
        ref_grads = mg.grad(expected, ref_params)
        for (name, _), g, r in zip(net.named_parameters(), grads, ref_grads):
            gd = np.zeros_like(r.data) if g is None else g.data
            if not np.allclose(gd, r.data, rtol=1e-6, atol=1e-9):
                err = float(np.max(np.abs(gd - r.data)))
                yield label, (f"the meta-gradient for {name} differs (max abs error {err:.3g}); "
                              "grad_t must enter the optimizer as a constant array (.data), "
                              "not as a Tensor whose graph reaches theta_t")
                return
        yield label, None


register(Exercise(
    id="05.1",
    title="unrolled meta-loss with the gradient cut",
    reference=unrolled_meta_loss,
    checker=_check_meta_loss,
    hint="grad_t is a constant: the .data of mg.grad(loss, theta, retain_graph=True) (keep the "
         "graph: the meta-gradient needs it later). Feed it to net.update with the state, add "
         "the update to theta (a Tensor), and sum f(theta_1), ..., f(theta_T).",
))


# ============================================================================================
# 5. A short meta-training on small quadratics

#: The live run's problem: the paper's quadratic family with a smaller batch and horizon.
SHORT = {"steps": 20, "batch": 16}


@dataclass
class MetaRun:
    """What :func:`short_meta_training` returns.

    ``curve[i]``: the mean optimizee loss per function over the horizon (steps 1..T) in
    meta-iteration i (each iteration draws fresh problems); ``net``: the trained optimizer;
    ``settings``: the arguments of the run.
    """

    curve: np.ndarray
    net: LSTMOptimizer
    settings: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        s = self.settings
        if not {"unroll", "meta_lr", "hidden"} <= set(s):
            return "meta-training"
        return f"unroll {s['unroll']}, meta-lr {s['meta_lr']:g}, hidden {s['hidden']}"

    def smoothed(self, window: int = 5) -> np.ndarray:
        """Running mean of the last ``window`` points (the curve is noisy: fresh problems)."""
        c = np.log10(self.curve)
        out = np.array([c[max(0, i - window + 1): i + 1].mean() for i in range(len(c))])
        return 10.0 ** out


def short_meta_training(unroll: int = 10, meta_lr: float = 3e-2, hidden: int = 20,
                        iters: int = 40, seed: int = 0, steps: int = SHORT["steps"],
                        batch: int = SHORT["batch"], callback=None,
                        progress: bool = False) -> MetaRun:
    """Meta-train a fresh coordinatewise LSTM optimizer on quadratics for ``iters``
    meta-iterations (horizon ``steps``, one Adam step on phi per ``unroll`` optimizee steps).

    The paper's quadratic family (10-dimensional, W and y Gaussian, no preprocessing, output
    scale 1) but ``batch`` functions per problem instead of 128 and a horizon of ``steps``
    instead of 100, so that a run takes seconds. ``callback(curve_so_far)`` is called after
    every meta-iteration (for live plots); ``progress`` shows a tqdm bar.
    """
    settings = {"unroll": int(unroll), "meta_lr": float(meta_lr), "hidden": int(hidden),
                "iters": int(iters), "seed": int(seed), "steps": int(steps), "batch": int(batch)}
    problem = QuadraticProblem(batch=batch)
    config = {**net_defaults("quadratic"), "hidden_size": int(hidden)}
    net = LSTMOptimizer(**config, seed=seed)
    trainer = MetaTrainer(net, problem, MetaConfig(steps=steps, unroll=min(unroll, steps),
                                                   meta_lr=meta_lr, seed=seed))
    curve: list[float] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=iters, desc="meta-training")
    try:
        for _ in range(iters):
            with blas_threads(1):
                value = trainer.train_iteration() / batch
            curve.append(value)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3g}")
            if callback is not None:
                callback(np.array(curve))
    finally:
        if bar is not None:
            bar.close()
    return MetaRun(np.array(curve), net, settings)


def held_out_comparison(net, steps: int = SHORT["steps"], batch: int = SHORT["batch"],
                        runs: int = 64, seed: int = 0, grid=(0.03, 0.1, 0.3, 1.0)) -> dict:
    """The trained optimizer against Adam on HELD-OUT quadratics (test seeds never used in
    training), Adam's learning rate tuned on validation problems over ``grid``.

    Returns a dict shaped like :func:`~minigrad.l2l.run_protocol`'s (``"optimizers"``,
    ``"runs"``, ``"steps"``, and per optimizer ``curve``, ``ci95``, ``final_loss``,
    ``summed_loss``, ...; Adam's ``lr``), plus ``"losses"``: name -> array (runs, steps + 1).
    """
    problem = QuadraticProblem(batch=batch)
    val = problem_seeds(problem, seed, "val", runs)
    test = problem_seeds(problem, seed, "test", runs)
    with blas_threads(1):
        lr, table = tune_lr("adam", problem, val, steps, runs, grid)
        losses = {"lstm": evaluate_rule(lambda: LearnedRule(net), problem, test, steps, runs),
                  "adam": evaluate_rule(lambda: BaselineRule("adam", lr), problem, test, steps,
                                        runs)}
    out = {"optimizers": ["lstm", "adam"], "runs": int(runs), "steps": int(steps),
           "losses": losses}
    for name, value in losses.items():
        out[name] = summarize(value)
    out["adam"].update(lr=lr, val_final_loss=table)
    return out


def _draw_meta_curve(ax, runs, reference=None):
    ax.clear()
    for k, run in enumerate(runs):
        run = run if isinstance(run, MetaRun) else MetaRun(np.asarray(run), None)
        if run.curve.size == 0:
            continue
        it = np.arange(1, run.curve.size + 1)
        color = f"C{k}"
        ax.semilogy(it, run.curve, color=color, alpha=0.3, lw=1)
        ax.semilogy(it, run.smoothed(), color=color, lw=2, label=run.label + " (running mean)")
    if reference is not None:
        value, text = reference
        ax.axhline(value, color="tab:red", ls="--", lw=1.2, label=text)
    ax.set_xlabel("meta-iteration (a fresh batch of quadratics each)")
    ax.set_ylabel("mean loss over the horizon")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="upper right")


def plot_meta_curve(runs, reference=None, title: str = "meta-training on quadratics"):
    """The meta-loss curve(s): each iteration's mean loss per function over the horizon (thin)
    and a running mean (thick), log scale. ``runs``: MetaRun(s) or arrays; ``reference``:
    optional ``(value, label)`` drawn as a dashed line (e.g. tuned Adam)."""
    import matplotlib.pyplot as plt

    if isinstance(runs, (MetaRun, np.ndarray)):
        runs = [runs]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    _draw_meta_curve(ax, runs, reference)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


class LivePlot:
    """A plot redrawn while a loop runs: ``live(curve)`` redraws at most every ``every``
    seconds, ``live.finish(curve)`` draws the last state and closes the figure.

    In a notebook cell it updates one display (``display_id``); with ``output`` (an ipywidgets
    Output) it redraws inside the widget. ``draws`` counts the redraws.
    """

    def __init__(self, settings: dict | None = None, reference=None, output=None,
                 every: float = 3.0, title: str = "meta-training (live)"):
        import matplotlib.pyplot as plt

        self.settings, self.reference, self.output = settings, reference, output
        self.every, self.title = float(every), title
        self.fig, self.ax = plt.subplots(figsize=(7, 3.8))
        self.fig.subplots_adjust(left=0.11, right=0.97, bottom=0.14, top=0.92)
        plt.close(self.fig)  # drawn only through display(), never twice at the end of a cell
        self._handle, self._last, self.draws = None, -math.inf, 0

    def __call__(self, curve, force: bool = False):
        if not force and time.monotonic() - self._last < self.every:
            return
        run = MetaRun(np.asarray(curve), None, self.settings or {})
        _draw_meta_curve(self.ax, [run], self.reference)
        self.ax.set_title(f"{self.title}: {len(curve)} meta-iterations", fontsize=10)
        self._show()
        self.draws += 1
        self._last = time.monotonic()  # from the END of a draw: slow draws never pile up

    def _show(self):
        from IPython.display import clear_output, display

        if self.output is not None:
            with self.output:
                clear_output(wait=True)
                display(self.fig)
        elif self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)

    def finish(self, curve):
        self(curve, force=True)


# ============================================================================================
# 6. The pretrained optimizer against tuned baselines (the paper's quadratic figure)


@dataclass
class Pretrained:
    """A learned optimizer with where it came from."""

    net: LSTMOptimizer | None
    source: str              # "pretrained" or "fallback"
    message: str
    meta: dict = field(default_factory=dict)


def pretrained_or_fallback(fallback=None, problem: str = "quadratic") -> Pretrained:
    """:func:`load_pretrained`, or, when no checkpoint is shipped, ``fallback`` (e.g. the net
    just meta-trained in the notebook) with a message that says so clearly."""
    try:
        net, meta = load_pretrained(problem)
    except FileNotFoundError as exc:
        text = (f"⚠ No pretrained {problem} optimizer is shipped yet ({exc}). "
                + ("Showing the optimizer meta-trained above instead: it was trained for a "
                   "20-step horizon and a few seconds, so do not read it as the paper's result."
                   if fallback is not None else "Nothing to compare."))
        return Pretrained(fallback, "fallback", text)
    status = meta.get("status", "")
    text = (f"Loaded the pretrained {problem} optimizer: {meta['iteration']} meta-iterations "
            f"of the paper's setup (horizon {meta['meta']['steps']}, unrolls of "
            f"{meta['meta']['unroll']}, meta-lr {meta['meta']['meta_lr']:g}), "
            f"{meta['weights_used']} weights" + (f"; training status: {status}" if status else ""))
    return Pretrained(net, "pretrained", text, meta)


#: Learning rates tried for each baseline in the notebook's comparison (the CLI's default grid
#: goes from 1e-4 to 3; these six hold every baseline's best rate on the quadratics).
COMPARISON_GRID = (3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)


def compare_with_baselines(net, functions: int = 64, steps: int = 100, seed: int = 0,
                           grid=COMPARISON_GRID, log=None, progress: bool = False) -> dict:
    """The evaluation protocol of :mod:`minigrad.l2l.evaluate` on the paper's quadratics, kept
    cheap: ``functions`` validation functions to tune each baseline's learning rate over
    ``grid``, then ``functions`` fresh test functions for every optimizer (the same ones),
    ``steps`` steps. Returns :func:`~minigrad.l2l.run_protocol`'s dict. ``progress`` shows a
    tqdm bar (one tick per tuning run and per test run)."""
    problem = QuadraticProblem(batch=functions)
    optimizers = ("lstm", "sgd", "nag", "rmsprop", "adam") if net is not None else (
        "sgd", "nag", "rmsprop", "adam")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        baselines = [n for n in optimizers if n != "lstm"]
        bar = tqdm(total=len(baselines) * len(grid) + len(optimizers), desc="tune and test")

    def on_message(message):
        if bar is not None:
            bar.update(1)
        if log is not None:
            log(message)

    try:
        with blas_threads(1):
            return run_protocol(net, problem, problem, steps=steps, runs=functions, seed=seed,
                                grid=grid, optimizers=optimizers, log=on_message)
    finally:
        if bar is not None:
            bar.close()


def comparison_table(result: dict) -> str:
    """One line per optimizer: its learning rate (tuned) and mean loss at a few steps."""
    steps = len(result[result["optimizers"][0]]["curve"]) - 1
    marks = [t for t in (1, 10, 20, 50, steps) if t <= steps]
    marks = sorted(set(marks))
    head = f"{'optimizer':<16}{'lr':>7}" + "".join(f"{'step ' + str(t):>11}" for t in marks)
    lines = [head]
    for name in result["optimizers"]:
        e = result[name]
        lr = f"{e['lr']:g}" if "lr" in e else "-"
        vals = "".join(f"{_fmt(e['curve'][t]):>11}" for t in marks)
        lines.append(f"{LABELS.get(name, name):<16}{lr:>7}{vals}")
    return "\n".join(lines)


def _fmt(v) -> str:
    return "diverged" if v is None else f"{v:.3g}"


def claim_verdict(result: dict) -> dict:
    """The paper's quadratic claim measured on ``result``: is the learned optimizer's mean loss
    below every tuned baseline's?

    Returns ``{"final": bool (at the last step), "below_from": first step t >= 1 from which it
    stays below all baselines to the end (None if it never does), "steps": T}``.
    """
    lstm = np.array([np.inf if v is None else v for v in result["lstm"]["curve"]])
    best = np.min([[np.inf if v is None else v for v in result[n]["curve"]]
                   for n in result["optimizers"] if n != "lstm"], axis=0)
    below = lstm < best
    steps = lstm.size - 1
    below_from = None
    for t in range(steps, 0, -1):
        if not below[t]:
            break
        below_from = t
    return {"final": bool(below[-1]), "below_from": below_from, "steps": steps}


def plot_comparison(result: dict, title: str = "10-dim quadratics", lstm_label: str | None =
                    None):
    """Mean loss per step (log scale) for each optimizer with its 95% band: the paper's
    quadratic figure. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name in result["optimizers"]:
        entry = result[name]
        curve = np.array([np.nan if v is None else v for v in entry["curve"]])
        ci = np.array([np.nan if v is None else v for v in entry["ci95"]])
        steps = np.arange(curve.size)
        label = lstm_label if (name == "lstm" and lstm_label) else LABELS.get(name, name)
        if "lr" in entry:
            label += f" (lr {entry['lr']:g})"
        color = COLORS.get(name)
        ax.semilogy(steps, curve, color=color, lw=2.4 if name == "lstm" else 1.4, label=label)
        lo = np.maximum(curve - ci, curve * 0.05)
        ax.fill_between(steps, lo, curve + ci, color=color, alpha=0.15, lw=0)
    ax.set_xlabel("step")
    ax.set_ylabel("loss per function")
    ax.set_title(f"{title}: mean of {result['runs']} test functions, 95% band", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


# ============================================================================================
# 7. The explorer


class MetaTrainingExplorer:
    """Controls for a short meta-training and a live plot of its meta-loss (see
    :func:`make_meta_training_explorer`). ``controls``: name -> widget; ``button``: Run;
    ``output``: the plot; ``result``: the last :class:`MetaRun` (None before the first run);
    ``runs``: every run so far (the plot overlays the last few)."""

    def __init__(self, unroll=10, meta_lr=3e-2, hidden=20, iters=30, seed=0, keep=3,
                 live_every=1.5, reference=None):
        import ipywidgets as widgets

        self.controls = {
            "unroll": widgets.SelectionSlider(options=[1, 2, 5, 10, 20], value=unroll,
                                              description="unroll K",
                                              continuous_update=False),
            "meta_lr": widgets.SelectionSlider(
                options=[("1e-4", 1e-4), ("3e-4", 3e-4), ("1e-3", 1e-3), ("3e-3", 3e-3),
                         ("1e-2", 1e-2), ("3e-2", 3e-2), ("1e-1", 1e-1), ("3e-1", 3e-1)],
                value=meta_lr, description="meta lr", continuous_update=False),
            "hidden": widgets.SelectionSlider(options=[2, 5, 10, 20, 40], value=hidden,
                                              description="hidden", continuous_update=False),
            "iters": widgets.IntSlider(value=iters, min=10, max=100, step=10,
                                       description="iterations", continuous_update=False),
        }
        for w in self.controls.values():
            w.style = {"description_width": "80px"}
            w.layout = widgets.Layout(width="420px")
        self.seed, self.keep, self.live_every = int(seed), int(keep), float(live_every)
        self.reference = reference
        self.button = widgets.Button(description="Run meta-training", button_style="primary",
                                     icon="play", layout=widgets.Layout(width="200px"))
        self.button.on_click(lambda _b: self.run())
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.result: MetaRun | None = None
        self.runs: list[MetaRun] = []
        self._png: bytes | None = None
        self.pending = True
        for w in self.controls.values():
            w.observe(lambda _change: self._changed(), names="value")
        self.widget = widgets.VBox([
            widgets.HTML("<b>Meta-train an LSTM optimizer on quadratics</b> (horizon "
                         f"{SHORT['steps']} steps, {SHORT['batch']} functions per problem)"),
            *self.controls.values(), self.button, self.output])
        self._show_message()

    def values(self) -> dict:
        return {k: w.value for k, w in self.controls.items()}

    def _describe(self, v: dict) -> str:
        updates = math.ceil(SHORT["steps"] / v["unroll"])
        return (f"unroll K = {v['unroll']} ({updates} Adam step(s) on phi per horizon), "
                f"meta-lr {v['meta_lr']:g}, hidden size {v['hidden']}, {v['iters']} "
                "meta-iterations")

    def _show_message(self):
        from IPython.display import Image, clear_output, display

        v = self.values()
        text = ("Settings: " + self._describe(v) + ". Press “Run meta-training” to train "
                "with them" + (" (the plot shows the last runs)." if self.runs else "."))
        self.message = text
        with self.output:
            clear_output(wait=True)
            print(text)
            if self._png is not None:
                display(Image(data=self._png))

    def _changed(self):
        self.pending = True
        self._show_message()

    def run(self) -> MetaRun:
        """Meta-train with the current settings, redrawing the plot live; returns the run."""
        import io

        import matplotlib.pyplot as plt
        from IPython.display import Image, clear_output, display

        v = self.values()
        with self.output:
            clear_output(wait=True)
        live = LivePlot(settings={"unroll": v["unroll"], "meta_lr": v["meta_lr"],
                                  "hidden": v["hidden"]}, output=self.output,
                        every=self.live_every, reference=self.reference)
        self.button.disabled = True
        try:
            run = short_meta_training(v["unroll"], v["meta_lr"], v["hidden"], v["iters"],
                                      self.seed, callback=live)
        finally:
            self.button.disabled = False
        self.result, self.pending = run, False
        self.runs.append(run)
        shown = self.runs[-self.keep:]
        fig = plot_meta_curve(shown, self.reference, title=f"the last {len(shown)} run(s)")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        self._png = buf.getvalue()
        self.message = (f"Done: {self._describe(v)}; last 5 iterations: mean loss "
                        f"{run.curve[-5:].mean():.3g} per function over the horizon.")
        with self.output:
            clear_output(wait=True)
            print(self.message)
            display(Image(data=self._png))
        return run

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def make_meta_training_explorer(**kwargs) -> MetaTrainingExplorer:
    """Sliders for the unroll length K, the meta learning rate and the LSTM's hidden size (and
    the number of meta-iterations); the button runs :func:`short_meta_training` with a live
    plot. Moving a slider only updates the message (nothing is trained until the button).
    ``reference=(value, label)`` draws a dashed level on every plot (e.g. tuned Adam's)."""
    return MetaTrainingExplorer(**kwargs)
