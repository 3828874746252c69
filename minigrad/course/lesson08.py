"""Lesson 08 (generalisation): the MNIST optimizer on problems it was not trained on.

The learned optimizer was meta-trained on ONE family: the 784-20-10 sigmoid MLP, 100 steps,
MNIST digits. This lesson runs it, unchanged, on longer horizons, other architectures, ReLU
units and another dataset, each time against baselines tuned for that very problem.

Contents:

* :data:`EXPERIMENTS` (run by ``scripts/make_lesson07_08_results.py`` with lesson 07's
  :func:`~minigrad.l2l.evaluate.run_experiments`; the results are stored beside this file),
  :data:`CLAIMS` (what the paper says about each), :data:`SWEEP` (the width/depth cells);
* Fashion-MNIST: :class:`FashionProblem`, :func:`fashion_available`, :func:`problem_factory`;
* :func:`final_loss_ratio` (reference of exercise 08.1), :func:`overview`;
* why ReLU differs: :func:`gradient_stats`, :func:`plot_gradient_histograms`;
* long horizons: :func:`horizon_report`; the sweep: :func:`sweep_grid`, :func:`plot_sweep`;
* the explorer :func:`make_generalisation_explorer` over :func:`curves_at`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from minigrad.autograd import grad
from minigrad.backend import default_device, to_device
from minigrad.course.checks import Case, Exercise, register
from minigrad.course.widgets import Explorer
from minigrad.l2l import BASELINES, Flattener, LogAndSign, make_problem
from minigrad.l2l.baselines import DECADES, DISPLAY_NAMES
from minigrad.l2l.evaluate import Experiment, best_baseline, compare_final
from minigrad.l2l.paper import PAPER
from minigrad.l2l.plots import plot_result
from minigrad.l2l.problems import MnistProblem, mnist_problem_factory
from minigrad.l2l.verdicts import fmt_number as _fmt
from minigrad.l2l.verdicts import horizon_analysis

__all__ = [
    "CLAIMS",
    "EXPERIMENTS",
    "SWEEP",
    "TRAIN_STEPS",
    "FashionProblem",
    "curves_at",
    "describe_horizon",
    "fashion_available",
    "final_loss_ratio",
    "gradient_stats",
    "horizon_report",
    "load_fashion",
    "make_generalisation_explorer",
    "overview",
    "plot_gradient_histograms",
    "plot_sweep",
    "problem_factory",
    "sweep_grid",
]

#: The horizon the shipped optimizer was meta-trained for.
TRAIN_STEPS = 100

EXPERIMENTS = (
    Experiment("mnist-200", "200 steps (trained for 100)", steps=200),
    Experiment("mnist-40", "40 hidden units (trained on 20)", optimizee="sigmoid-40"),
    Experiment("mnist-2layer", "2 hidden layers (trained on 1)", optimizee="sigmoid-20x2"),
    Experiment("mnist-relu", "ReLU units (trained on sigmoid)", optimizee="relu-20"),
    Experiment("mnist-long", "1,000 steps (trained for 100)", steps=1000, runs=2, val_runs=1,
               grid=DECADES),
    Experiment("sweep-10", "10 hidden units", optimizee="sigmoid-10"),
    Experiment("sweep-10x2", "2 hidden layers of 10", optimizee="sigmoid-10x2"),
    Experiment("sweep-40x2", "2 hidden layers of 40", optimizee="sigmoid-40x2"),
    Experiment("fashion", "Fashion-MNIST (trained on MNIST digits)", dataset="fashion-mnist"),
)

#: What the paper reports for each experiment (lesson 07's "mnist" included).
CLAIMS = {
    "mnist": "beats all baselines by a clear margin",
    "mnist-200": "still best",
    "mnist-40": "still best",
    "mnist-2layer": "still best",
    "mnist-relu": "FAILS: the baselines win",
    "mnist-long": "not in the paper (Open-L2O: it blows up far beyond its training horizon)",
    "sweep-10": "degrades gradually away from the training architecture",
    "sweep-10x2": "degrades gradually away from the training architecture",
    "sweep-40x2": "degrades gradually away from the training architecture",
    "fashion": "not in the paper",
}

#: (hidden units, hidden layers) -> experiment key; (20, 1) is the training architecture.
SWEEP = {(10, 1): "sweep-10", (20, 1): "mnist", (40, 1): "mnist-40",
         (10, 2): "sweep-10x2", (20, 2): "mnist-2layer", (40, 2): "sweep-40x2"}


# ============================================================================================
# Fashion-MNIST


def fashion_available(root=None) -> tuple[bool, str]:
    """``(True, where)`` when the Fashion-MNIST test files are on this machine, else
    ``(False, why)`` (Debian's ``dataset-fashion-mnist`` package installs them under
    /usr/share/datasets/fashion-mnist; minigrad.data also looks in its cache folder)."""
    from minigrad.data import DataError, find_idx_files

    try:
        images, _ = find_idx_files("fashion-mnist", "test", root)
    except DataError as exc:
        return False, str(exc).splitlines()[0] + (
            " (install Debian's dataset-fashion-mnist, or call "
            "minigrad.data.download_idx_dataset('fashion-mnist', 'test'))")
    return True, str(images.parent)


@functools.lru_cache(maxsize=2)
def load_fashion(root=None, dtype: str = "float32", seed: int = 0):
    """The 10,000 official Fashion-MNIST test images split (stratified, seeded) into
    ``{"val": (images, labels), "test": (images, labels)}`` of 5,000 each, pixels in [0, 1].
    The optimizer never meta-trained on any of them; the baselines tune on ``val``."""
    from minigrad.data import load_idx_dataset, stratified_indices

    images, labels = load_idx_dataset("fashion-mnist", "test", root, dtype=dtype)
    val, test = stratified_indices(labels, (5000, 5000), seed=seed)
    return {"val": (images[val], labels[val]), "test": (images[test], labels[test])}


class FashionProblem(MnistProblem):
    """The MNIST MLP family, on Fashion-MNIST images (``split``: "val" or "test", the two
    halves of the official test file; see :func:`load_fashion`)."""

    name = "fashion-mnist"

    def __init__(self, optimizee: str = "sigmoid-20", split: str = "test", root=None, **kwargs):
        if split not in ("val", "test"):
            raise ValueError(f"FashionProblem: split must be 'val' or 'test', got {split!r} "
                             "(the learned optimizer is never meta-trained on Fashion-MNIST)")
        super().__init__(optimizee, split=split, **kwargs)
        self.root = root

    def data(self):
        images, labels = load_fashion(self.root, self.dtype.name, self.data_seed)[self.split]
        device = default_device()
        return to_device(images, device), to_device(labels, device)

    def config(self) -> dict:
        return {**super().config(), "name": self.name}

    def describe(self) -> str:
        return super().describe().replace("MNIST MLP", "MLP").replace(
            "digits", "Fashion-MNIST images")


def problem_factory(problem_config: dict | None = None, dtype="float32", root=None):
    """``factory(experiment, split)`` for MNIST and Fashion-MNIST experiments."""
    mnist = mnist_problem_factory(problem_config, dtype)
    cfg = {k: v for k, v in (problem_config or {}).items()
           if k in ("batch_size", "init_std", "data_seed")}

    def factory(exp: Experiment, split: str):
        if exp.dataset == "fashion-mnist":
            return FashionProblem(exp.optimizee, split=split, root=root, dtype=dtype, **cfg)
        return mnist(exp, split)

    return factory


# ============================================================================================
# Exercise 08.1: how far from the best tuned baseline?


def final_loss_ratio(result: dict) -> tuple:
    """``(best, ratio)``: the tuned baseline with the lowest mean final loss (``best``, one of
    "sgd", "nag", "rmsprop", "adam"; the first of them on a tie), and the learned optimizer's
    mean final loss divided by that baseline's. A ``final_loss`` of None means the runs
    diverged: it counts as +inf (so a diverged learned optimizer has ratio inf)."""
    def final(name):
        v = result[name]["final_loss"]
        return math.inf if v is None else float(v)

    best = min(BASELINES, key=final)
    return best, final("lstm") / final(best)


def _ratio_cases():
    def res(lstm, sgd, nag, rmsprop, adam):
        return {"lstm": {"final_loss": lstm}, "sgd": {"final_loss": sgd},
                "nag": {"final_loss": nag}, "rmsprop": {"final_loss": rmsprop},
                "adam": {"final_loss": adam, "lr": 0.03}}

    return [
        Case((res(0.20, 0.40, 0.30, 0.25, 0.24),), label="Adam is the best baseline"),
        Case((res(0.50, 0.45, 0.30, 0.31, 0.35),), label="NAG is the best baseline"),
        Case((res(0.30, None, 0.60, 0.50, None),),
             label="two baselines diverged (final_loss None)"),
        Case((res(None, 0.40, 0.30, 0.25, 0.24),), label="the learned optimizer diverged"),
        Case((res(1.0, 0.5, 0.5, 0.7, 0.9),), label="a tie between SGD and NAG"),
    ]


register(Exercise(
    id="08.1", title="the final-loss ratio, learned / best tuned baseline",
    reference=final_loss_ratio, cases=_ratio_cases,
    hint="Turn each final_loss into a float with None -> math.inf; best = min(BASELINES, "
         "key=...) keeps the first on a tie; the ratio is the learned optimizer's final loss "
         "over best's.",
))


def _fmt_ratio(r) -> str:
    if r is None or not math.isfinite(r):
        return "diverged" if r == math.inf else "n/a"
    return f"{r:.2f}" if r < 100 else f"{r:,.0f}"


def overview(results: dict, keys=None, ratio=final_loss_ratio) -> str:
    """One line per experiment: the paper's claim, the learned optimizer's mean final loss,
    the best tuned baseline's, their ratio (``ratio(result)``) and the paired verdict."""
    keys = list(results) if keys is None else list(keys)
    lines = [f"{'experiment':<40}{'learned':>8}{'best baseline':>20}{'ratio':>9}  "
             f"{'verdict':<19}paper"]
    for key in keys:
        res = results[key]
        cmp = compare_final(res)
        best, r = ratio(res)
        base = f"{DISPLAY_NAMES[best]} {_fmt(cmp['best_final'], '.3g')}"
        lines.append(f"{res['title'][:39]:<40}{_fmt(cmp['lstm_final'], '.3g'):>8}{base:>20}"
                     f"{_fmt_ratio(r):>9}  {cmp['verdict']:<19}{CLAIMS.get(key, '')}")
    return "\n".join(lines)


# ============================================================================================
# Why ReLU is different: the gradients the LSTM reads


def _array_names(n_arrays: int) -> list:
    return [f"{'W' if k % 2 == 0 else 'b'}{k // 2 + 1}" for k in range(n_arrays)]


def gradient_stats(optimizee: str = PAPER.mnist_optimizee, runs: int = 4, p: float = PAPER.p,
                   split: str = "train", seed: int = 0) -> dict:
    """The gradients at theta_0 of ``runs`` fresh MLPs (seeds ``(seed, 9, k)``, minibatch 0),
    per parameter array, and what LogAndSign(p) makes of them.

    Returns ``names`` (W1, b1, W2, ...), ``grads`` (name -> all entries, float64),
    ``zero_frac`` (exact zeros), ``median_log10`` (median of log10|g| over the non-zero
    entries), ``lstm_input`` (the first preprocessed input log|g|/p of every coordinate,
    clamped at -1) and ``clamped_frac`` (the share of coordinates with |g| < e^-p, which the
    LSTM sees only through the clamped branch)."""
    problem = make_problem("mnist", optimizee, split=split)
    parts = []
    for k in range(runs):
        inst = problem.sample((seed, 9, k))
        arrays = inst.init_params()
        flat = Flattener.like(arrays)
        leaves = flat.leaves(flat.flatten(arrays))
        loss = inst.loss(leaves, 0)
        parts.append([np.asarray(to_device(g.data, "cpu"), dtype=np.float64).ravel()
                      for g in grad(loss, leaves)])
    names = _array_names(len(parts[0]))
    grads = {n: np.concatenate([run[i] for run in parts]) for i, n in enumerate(names)}
    every = np.concatenate(list(grads.values()))
    pre = LogAndSign(p)(every.astype(np.float64))
    stats = {"optimizee": optimizee, "p": p, "names": names, "grads": grads,
             "zero_frac": {n: float((g == 0).mean()) for n, g in grads.items()},
             "median_log10": {n: float(np.median(np.log10(np.abs(g[g != 0]))))
                              for n, g in grads.items()},
             "lstm_input": pre[:, 0], "clamped_frac": float((np.abs(every) < math.exp(-p)).mean())}
    return stats


def plot_gradient_histograms(a: dict, b: dict):
    """Histograms of log10|g| per parameter array, and of the LSTM's first input, for two
    :func:`gradient_stats` results (same array names). Returns the figure."""
    import matplotlib.pyplot as plt

    names = a["names"]
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(2.6 * (len(names) + 1), 2.9))
    colors = ("tab:blue", "tab:red")
    for ax, name in zip(axes, names):
        for stats, color in zip((a, b), colors):
            g = np.abs(stats["grads"][name])
            ax.hist(np.log10(g[g > 0]), bins=40, density=True, alpha=0.5, color=color,
                    label=stats["optimizee"])
        ax.axvline(-a["p"] / math.log(10), color="k", ls=":", lw=1)
        ax.set_title(f"{name}: log10 |g|", fontsize=9)
        ax.set_yticks([])
    ax = axes[-1]
    for stats, color in zip((a, b), colors):
        x = stats["lstm_input"]
        ax.hist(x[x > -1.0], bins=40, density=True, alpha=0.5, color=color,
                label=f"{stats['optimizee']}: {stats['clamped_frac']:.0%} clamped")
    ax.set_title(f"LSTM input log|g|/p (p = {a['p']:g}), unclamped", fontsize=9)
    ax.legend(fontsize=6, title="at -1 (|g| < e^-p):", title_fontsize=6)
    ax.set_yticks([])
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


# ============================================================================================
# Long horizons and the sweep


def horizon_report(result: dict, train_steps: int = TRAIN_STEPS) -> dict:
    """Where the learned optimizer's mean loss goes over a long run, against the best tuned
    baseline (the one with the lowest mean final loss): the library's analysis
    (:func:`minigrad.l2l.verdicts.horizon_analysis`), the same ``reproduce`` reports.
    ``diverged_at`` is the first step at or beyond the training horizon whose mean loss is not
    finite or above twice the initial one."""
    return horizon_analysis(result, best_baseline(result), train_steps)


def describe_horizon(rep: dict) -> str:
    """The long-horizon report in words (whatever it says)."""
    div = (f"no divergence in {rep['steps']:,} steps (beyond the training horizon the mean loss "
           "never rose above twice its initial value)" if rep["diverged_at"] is None else
           f"the mean loss first rises above twice its initial value (or stops being finite) at "
           f"step {rep['diverged_at']}")
    behind = ("it ends below the best tuned baseline" if rep["behind_from"] is None else
              f"it stays behind the best tuned baseline ({DISPLAY_NAMES[rep['best']]}) from step "
              f"{rep['behind_from']} on")
    at_train = "" if rep["at_train"] is None else f"{rep['at_train']:.3g} at step {TRAIN_STEPS}, "
    return (f"Learned optimizer over {rep['steps']:,} steps: {div}; lowest mean loss "
            f"{rep['lowest']:.3g} at step {rep['lowest_step']}; {at_train}"
            f"{_fmt(rep['final'], '.3g')} at step {rep['steps']:,}; {behind}.")


def sweep_grid(results: dict, ratio=final_loss_ratio) -> dict:
    """The width/depth sweep as arrays: ``widths``, ``layers``, ``ratio`` (learned / best tuned
    baseline, mean final loss; NaN where a cell is missing) and ``verdict`` (paired, from
    :func:`~minigrad.course.lesson07.compare_final`)."""
    widths = sorted({w for w, _ in SWEEP})
    layers = sorted({d for _, d in SWEEP})
    r = np.full((len(layers), len(widths)), np.nan)
    verdict = [["" for _ in widths] for _ in layers]
    for (w, d), key in SWEEP.items():
        if key in results:
            i, j = layers.index(d), widths.index(w)
            r[i, j] = ratio(results[key])[1]
            verdict[i][j] = compare_final(results[key])["verdict"]
    return {"widths": widths, "layers": layers, "ratio": r, "verdict": verdict}


def plot_sweep(grid: dict, ax=None):
    """A heat map of the ratio (log color scale centred on 1: blue = learned better)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 3.2))
    else:
        fig = ax.figure
    r = grid["ratio"]
    finite = r[np.isfinite(r) & (r > 0)]
    span = max(2.0, float(np.max(np.maximum(finite, 1 / finite)))) if finite.size else 2.0
    im = ax.imshow(np.where(np.isfinite(r) & (r > 0), r, np.nan), cmap="coolwarm",
                   norm=LogNorm(vmin=1 / span, vmax=span))
    for i, d in enumerate(grid["layers"]):
        for j, w in enumerate(grid["widths"]):
            short = {"lower": "lower", "higher": "higher", "indistinguishable": "n.s."}
            text = ("n/a" if not np.isfinite(r[i, j]) else
                    f"{r[i, j]:.2f}\n{short.get(grid['verdict'][i][j], '')}")
            weight = "bold" if (w, d) == (20, 1) else "normal"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, fontweight=weight)
    ax.set_xticks(range(len(grid["widths"])), [str(w) for w in grid["widths"]])
    ax.set_yticks(range(len(grid["layers"])), [str(d) for d in grid["layers"]])
    ax.set_xlabel("hidden units per layer")
    ax.set_ylabel("hidden layers")
    ax.set_title("final loss, learned / best tuned baseline\n(bold: the training architecture; "
                 "n.s.: paired 95% CI contains 0)", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


# ============================================================================================
# The explorer: pick a problem and a horizon


def curves_at(results: dict, key: str, horizon: int) -> dict:
    """The state of experiment ``key`` at step ``horizon`` (clipped to its length): mean loss
    of the learned optimizer and of the best tuned baseline AT THAT STEP, their ratio, and
    who is ahead. ``result`` is the experiment's stored result (for plotting)."""
    res = results[key]
    horizon = max(1, min(int(horizon), int(res["steps"])))

    def at(name):
        v = res[name]["curve"][horizon]
        return math.inf if v is None else float(v)

    best = min(BASELINES, key=lambda b: (at(b), BASELINES.index(b)))
    lstm, base = at("lstm"), at(best)
    ratio = lstm / base if base and math.isfinite(base) else math.nan
    return {"key": key, "title": res["title"], "horizon": horizon, "steps": int(res["steps"]),
            "lstm": lstm, "best": best, "best_loss": base, "ratio": ratio,
            "ahead": "learned" if lstm < base else "baseline", "result": res}


def _render_curves(state: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 3.9))
    mark = TRAIN_STEPS if state["horizon"] > TRAIN_STEPS else None
    plot_result(state["result"], ax=ax, max_step=state["horizon"], mark_step=mark)
    ax.set_title(f"{state['title']}, first {state['horizon']} steps: learned "
                 f"{_fmt(state['lstm'], '.3f')} vs {DISPLAY_NAMES[state['best']]} "
                 f"{_fmt(state['best_loss'], '.3f')} (ratio {_fmt(state['ratio'], '.2f')})",
                 fontsize=8)
    return fig


def make_generalisation_explorer(results: dict, key: str = "mnist-200",
                                 horizon: int = 200) -> Explorer:
    """Pick a stored experiment (architecture, horizon, dataset) and a horizon; see the mean
    loss curves up to that step and who is ahead there.

    Controls: ``"key"`` (Dropdown of the stored experiments), ``"horizon"`` (IntSlider 10 to
    1,000, ``continuous_update=False``; clipped to the experiment's length). ``result``:
    :func:`curves_at`'s dict.
    """
    import ipywidgets as widgets

    longest = max(int(r["steps"]) for r in results.values())
    step = 10 if longest >= 100 else 1
    controls = {
        "horizon": widgets.IntSlider(value=max(step, min(horizon, longest)), min=step,
                                     max=longest, step=step, description="horizon",
                                     continuous_update=False),
        "key": widgets.Dropdown(options=[(r["title"], k) for k, r in results.items()],
                                value=key, description="problem",
                                layout=widgets.Layout(width="420px")),
    }
    return Explorer(controls, lambda horizon, key: curves_at(results, key, horizon),
                    _render_curves, title="The MNIST optimizer away from home")



