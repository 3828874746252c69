"""Section 4: the explorer, one held-out run, your optimizer against the learned one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minigrad.course.widgets import Explorer
from minigrad.l2l import (
    BASELINES,
    DEFAULT_LR_GRID,
    BaselineRule,
    rollout,
)
from minigrad.l2l.evaluate import (
    SEED_TAGS,
    finite_or_none,
)
from minigrad.l2l.evaluate import run_experiments as _run_experiments
from minigrad.l2l.plots import COLORS

from ._shared import NAMES, RUN0_STEPS
from .evaluation import heldout_problem, pick_best_lr


def race(optimizer: str, lr: float, result: dict, steps: int | None = None,
         problem=None) -> dict:
    """Run ``optimizer`` (sgd/nag/rmsprop/adam) with learning rate ``lr`` LIVE on test run 0
    of ``result``'s experiment; return its losses beside the stored learned optimizer's and the
    same optimizer's at its tuned rate (both test run 0).

    Keys: ``steps``, ``live``, ``lstm``, ``tuned``, ``tuned_lr``, ``final`` (live final loss),
    ``lstm_final``, ``tuned_final``, ``beats_lstm`` (the live run ends strictly below the
    learned one; False when it diverged).
    """
    if optimizer not in BASELINES:
        raise ValueError(f"race: unknown optimizer {optimizer!r}; expected one of "
                         f"{', '.join(BASELINES)}")
    stored_steps = min(int(result["steps"]), len(result["lstm"]["run0"]) - 1)
    steps = stored_steps if steps is None else min(int(steps), stored_steps)
    if problem is None:
        problem = heldout_problem(result)
    seed = (int(result.get("seed", 0)), SEED_TAGS["test"], 0)  # test run 0
    live = rollout(BaselineRule(optimizer, lr), problem.sample(seed), steps)[:, 0]

    def stored(name):
        return np.array([np.nan if v is None else v for v in result[name]["run0"][:steps + 1]])

    lstm, tuned = stored("lstm"), stored(optimizer)
    final = float(live[-1])
    return {"optimizer": optimizer, "lr": float(lr), "steps": steps, "live": live,
            "lstm": lstm, "tuned": tuned, "tuned_lr": result[optimizer]["lr"], "final": final,
            "lstm_final": float(lstm[-1]), "tuned_final": float(tuned[-1]),
            "beats_lstm": bool(np.isfinite(final) and final < lstm[-1])}


def plot_race(res: dict, ax=None):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 3.8))
    else:
        fig = ax.figure
    steps = np.arange(res["steps"] + 1)
    name = NAMES[res["optimizer"]]
    ax.plot(steps, res["lstm"], color=COLORS["lstm"], lw=2.2, label="LSTM (learned)")
    ax.plot(steps, res["tuned"], color=COLORS[res["optimizer"]], lw=1.2, ls="--",
            label=f"{name}, tuned lr {res['tuned_lr']:g}")
    live = np.where(np.isfinite(res["live"]) & (res["live"] > 0), res["live"], np.nan)
    ax.plot(steps[:live.size], live, color="k", lw=1.5, label=f"{name}, your lr {res['lr']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("optimizee step")
    ax.set_ylabel("loss (held-out run 0)")
    final = "diverged" if not np.isfinite(res["final"]) else f"{res['final']:.3f}"
    ax.set_title(f"{name} lr {res['lr']:g}: final {final}; learned {res['lstm_final']:.3f}",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    return fig


def make_race_explorer(result: dict, optimizer: str = "adam", lr: float | None = None,
                       steps: int | None = None, problem=None) -> Explorer:
    """Pick a baseline and its learning rate; see it run live on held-out run 0 against the
    learned optimizer (and against itself at its tuned rate).

    Controls: ``"optimizer"`` (Dropdown), ``"lr"`` (SelectionSlider over 1e-4 ... 3, log
    spaced; ``continuous_update=False``). ``result``: :func:`race`'s dict.
    """
    import ipywidgets as widgets

    grid = [float(v) for v in DEFAULT_LR_GRID]
    lr = result[optimizer]["lr"] if lr is None else float(lr)
    if lr not in grid:
        grid = sorted(set(grid) | {lr})
    controls = {
        "optimizer": widgets.Dropdown(options=[(NAMES[b], b) for b in BASELINES],
                                      value=optimizer, description="optimizer"),
        "lr": widgets.SelectionSlider(options=[(f"{v:g}", v) for v in grid], value=lr,
                                      description="learning rate", continuous_update=False,
                                      style={"description_width": "initial"},
                                      layout=widgets.Layout(width="420px")),
    }
    problem_cache = {}

    def compute(optimizer, lr):
        if "problem" not in problem_cache:
            problem_cache["problem"] = heldout_problem(result) if problem is None else problem
        return race(optimizer, lr, result, steps=steps, problem=problem_cache["problem"])

    return Explorer(controls, compute, plot_race,
                    title="Your optimizer against the learned one (held-out run 0, live)")


def run_experiments(experiments, net, factory: Callable, *, seed: int = 0, cache=None,
                    log: Callable | None = None, pick: Callable = pick_best_lr) -> dict:
    """The evaluation protocol (:func:`minigrad.l2l.evaluate.run_experiments`, the one every
    caller uses) with ``pick`` choosing each baseline's rate (exercise 07.2's function); each
    entry also keeps ``run0``, test run 0's losses at steps 0..min(T, 100), enough for spot
    checks and races and small for long horizons."""
    return _run_experiments(experiments, net, factory, seed=seed, cache=cache, log=log,
                            pick=pick, entry_hook=_keep_run0)


def _keep_run0(entry: dict, losses: np.ndarray) -> None:
    entry["run0"] = [finite_or_none(v) for v in losses[0, :RUN0_STEPS + 1]]
