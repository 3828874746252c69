"""Section 5: the paper's optimizer for a convnet, two coordinatewise LSTMs, meta-trained live
on a tiny budget, then raced against tuned baselines.

The optimizer is :class:`minigrad.l2l.grouped.GroupedLSTMOptimizer`: one
:class:`~minigrad.l2l.LSTMOptimizer` for the ``conv`` coordinates and one for the ``fc``
coordinates, each with its own weights and its own state. A notebook cell cannot meta-train it
on the paper's convnet (that takes hours), so the live run uses a smaller member of the same
family (:data:`LIVE`: two convolutions of 8 channels, minibatches of 32, horizons of 20 steps)
and a budget of seconds: enough to see the mechanics (both LSTMs learn, the meta-loss falls),
not to produce a competitive optimizer. The race then says, from the numbers, where it stands
against SGD, NAG, RMSprop and Adam, each tuned on validation problems.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from minigrad.l2l import MetaConfig, MetaTrainer, make_problem, net_defaults
from minigrad.l2l.baselines import DISPLAY_NAMES, OPTIMIZERS, lr_grid
from minigrad.l2l.evaluate import LearnedRule, evaluate_rule, problem_seeds, run_protocol
from minigrad.l2l.grouped import build_net

from ._shared import curves_figure, finish


@dataclass(frozen=True)
class LiveSettings:
    """The live meta-training: the problem (a small convnet of the paper's family), the
    horizon and unroll, the meta-optimizer, the budget."""

    conv_channels: tuple = (8, 8)
    linear: tuple = (32,)
    batch_size: int = 32
    steps: int = 20            # horizon T: optimizee steps per meta-iteration
    unroll: int = 5            # K: one meta-update every K steps
    meta_lr: float = 3e-3      # Adam on the LSTMs' weights
    iterations: int = 30       # meta-iterations
    seed: int = 0


LIVE = LiveSettings()


def live_problem(split: str = "train", settings: LiveSettings = LIVE):
    """The small convnet of the live run, on the shipped digits of ``split``."""
    return make_problem("convnet", split=split, conv_channels=settings.conv_channels,
                        linear=settings.linear, batch_size=settings.batch_size)


def two_lstm_optimizer(problem, seed: int = 0):
    """A fresh two-LSTM optimizer for ``problem``: the paper's settings for each LSTM (two
    layers of 20 units, LogAndSign inputs, output scale 0.1), groups ``conv`` and ``fc``."""
    return build_net(dict(net_defaults("convnet"), seed=seed),
                     assignment=problem.param_groups())


def weights_per_group(net) -> dict:
    """``{group: number of weights of its LSTM}``."""
    return {g: sum(p.data.size for p in net.net(g).parameters()) for g in net.groups}


def validation_losses(net, problem, runs: int, steps: int, seed: int = 0) -> np.ndarray:
    """The optimizer's losses (runs, steps + 1) on the first ``runs`` validation problems."""
    seeds = problem_seeds(problem, seed, "val", runs)
    return evaluate_rule(lambda: LearnedRule(net), problem, seeds, steps, runs)


def meta_train_two_lstms(settings: LiveSettings = LIVE, iterations: int | None = None,
                         val_every: int = 10, val_runs: int = 4, progress: bool = True) -> dict:
    """Meta-train a fresh two-LSTM optimizer on the live problem (the paper's meta-loss: the
    sum of the optimizee's losses over each unroll; Adam on both LSTMs' weights).

    Every ``val_every`` meta-iterations (and before the first) the optimizer runs without
    learning on ``val_runs`` fixed validation problems: ``validation`` holds
    ``(meta-iteration, mean loss over the horizon, mean final loss)``. Also returns ``net``,
    ``curve`` (the meta-training problems' mean loss over the horizon, one per
    meta-iteration, each on a new problem), ``moved`` (per group, how far its weights moved,
    relative to their initial size), ``seconds`` and the ``settings``.
    """
    from tqdm.auto import tqdm

    iterations = settings.iterations if iterations is None else int(iterations)
    train, val = live_problem("train", settings), live_problem("val", settings)
    net = two_lstm_optimizer(train, settings.seed)
    start = {g: np.concatenate([p.data.ravel() for p in net.net(g).parameters()])
             for g in net.groups}
    config = MetaConfig(steps=settings.steps, unroll=settings.unroll, meta_lr=settings.meta_lr,
                        seed=settings.seed)
    trainer = MetaTrainer(net, train, config)

    def validate():
        losses = validation_losses(net, val, val_runs, settings.steps)
        return (trainer.iteration, float(losses[:, 1:].mean()), float(losses[:, -1].mean()))

    validation = [validate()]
    t0 = time.perf_counter()
    bar = tqdm(range(iterations), desc="meta-training two LSTMs", unit="meta-it",
               disable=not progress)
    for _ in bar:
        value = trainer.train_iteration()
        if trainer.iteration % val_every == 0 or trainer.iteration == iterations:
            validation.append(validate())
        bar.set_postfix(meta_loss=f"{value:.3f}", val=f"{validation[-1][1]:.3f}")
    bar.close()
    moved = {}
    for g in net.groups:
        now = np.concatenate([p.data.ravel() for p in net.net(g).parameters()])
        moved[g] = float(np.linalg.norm(now - start[g]) / np.linalg.norm(start[g]))
    return {"net": net, "curve": list(trainer.curve), "validation": validation,
            "moved": moved, "seconds": time.perf_counter() - t0,
            "settings": asdict(settings), "iterations": iterations, "val_runs": int(val_runs),
            "val_every": int(val_every)}


def plot_live(run: dict):
    """The meta-training curve (one point per meta-iteration, each a new problem) and the
    validation score on fixed problems, against chance (ln 10)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    c = np.asarray(run["curve"], dtype=float)
    ax.plot(np.arange(1, c.size + 1), c, "o-", ms=3, lw=0.8, color="tab:orange", alpha=0.6,
            label="meta-training problem (a new one each time)")
    v = np.asarray(run["validation"], dtype=float)
    ax.plot(v[:, 0], v[:, 1], "s-", color="k", ms=5, lw=1.5,
            label=f"the optimizer so far, on the same {run['val_runs']} validation problems")
    ax.axhline(math.log(10), color="gray", ls=":", lw=1, label="ln 10 (chance)")
    s = run["settings"]
    return finish(fig, ax, "meta-iteration", f"mean loss over the {s['steps']} steps",
                  f"two LSTMs meta-trained live: {run['iterations']} meta-iterations, "
                  f"T = {s['steps']}, K = {s['unroll']}")


# ============================================================================================
# The race against tuned baselines

#: The learning rates each baseline is tuned over (10^k and 3 * 10^k).
RACE_GRID = lr_grid(3e-3, 3.0)


def race_live(net, settings: LiveSettings = LIVE, runs: int = 10, val_runs: int = 3,
              grid=RACE_GRID, log=None) -> dict:
    """The course's evaluation protocol (:func:`minigrad.l2l.evaluate.run_protocol`) on the
    live problem: each baseline's learning rate tuned on ``val_runs`` validation problems,
    then every optimizer on the same ``runs`` test problems (held-out digits), the learned
    one paired against the best baseline. Horizon: the training horizon T."""
    return run_protocol(net, live_problem("val", settings), live_problem("test", settings),
                        steps=settings.steps, runs=runs, val_runs=val_runs, grid=grid,
                        optimizers=OPTIMIZERS, log=log)


def race_table(result: dict) -> str:
    """One row per optimizer: tuned learning rate, mean final test loss and its 95% interval,
    with ``*`` at a rate on the edge of the grid."""
    from minigrad.l2l.cli import evaluation_table

    return evaluation_table(result)


def describe_race(result: dict) -> str:
    """The learned optimizer against the best tuned baseline, in words computed from the paired
    comparison: lower, higher or indistinguishable."""
    p = result["paired"]
    base = DISPLAY_NAMES[p["baseline"]]
    lstm, best = result["lstm"]["final_loss"], result[p["baseline"]]["final_loss"]
    if p["diff_ci95"] is None:
        return (f"The interval is undefined (a run diverged): the learned optimizer won "
                f"{p['wins']:.0%} of the {p['runs']} runs against {base}.")
    low, high = p["diff_ci95"]
    if high < 0:
        verdict = f"lower than {base}'s: the learned optimizer is ahead"
    elif low > 0:
        verdict = f"higher than {base}'s: the tuned baseline is ahead"
    else:
        verdict = "not distinguishable from it on these runs"
    return (f"Final test loss after {result['steps']} steps: learned {lstm:.3f}, the best tuned "
            f"baseline ({base}) {best:.3f}. Paired over the same {p['runs']} runs, learned "
            f"minus {base} is {p['mean_diff']:+.3f}, 95% interval [{low:+.3f}, {high:+.3f}]: "
            f"{verdict}.")


def plot_race(result: dict, title: str = "the live two-LSTM optimizer vs tuned baselines"):
    """Mean test loss per step with 95% bands (log scale), every optimizer."""
    return curves_figure(result, title, "mean loss (held-out digits)")
