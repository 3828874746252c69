"""Section 7: the pretrained optimizer against tuned baselines (the paper's quadratic figure)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from minigrad.l2l import (
    LSTMOptimizer,
    QuadraticProblem,
    run_protocol,
)
from minigrad.l2l.checkpoints import load_pretrained
from minigrad.l2l.plots import COLORS, LABELS
from minigrad.threads import blas_threads


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
    weights = ("the weights that did best on validation problems"
               if meta["weights_used"] == "best" else "its last weights")
    text = (f"Loaded the pretrained {problem} optimizer: {meta['iteration']} meta-iterations "
            f"of the paper's setup (horizon {meta['meta']['steps']}, unrolls of "
            f"{meta['meta']['unroll']}, meta-lr {meta['meta']['meta_lr']:g}), {weights}")
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
