"""The paper's claims as data: one row per experiment of ``python -m minigrad.l2l reproduce``
(problem, optimizee, horizon, runs, the baselines' grid, the kind of claim and its text), and the
rule each kind is judged by (:mod:`minigrad.l2l.verdicts` applies them).
"""

from __future__ import annotations

from dataclasses import dataclass

from .baselines import DECADES, DEFAULT_LR_GRID

__all__ = ["PaperExperiment", "RULES", "experiments"]


@dataclass(frozen=True)
class PaperExperiment:
    """One experiment of the paper's, as a row of the results table: what it runs (for the
    protocol, an :class:`~minigrad.l2l.evaluate.Experiment`) and the paper's claim about it."""

    key: str
    title: str
    problem: str                  # "quadratic" or "mnist" (also: which pretrained optimizer)
    optimizee: str | None         # MNIST architecture, e.g. "sigmoid-20"
    steps: int                    # optimizee steps T
    runs: int                     # test runs (MNIST nets / quadratic functions)
    val_runs: int                 # validation runs per learning rate
    grid: tuple                   # learning rates tried for every baseline
    kind: str                     # every_step | final | fails | horizon
    claim: str                    # what the paper claims
    check_from: int = 5           # every_step: first step checked


_CLAIMS = {
    "quadratic": "below tuned SGD, RMSprop, Adam and NAG over all 100 steps",
    "mnist": "beats all baselines by a clear margin",
    "mnist-200": "trained for 100 steps, run for 200: still best",
    "mnist-40": "trained on 20 units: still best",
    "mnist-2layer": "trained on 1 layer: still best",
    "mnist-relu": "FAILS: the baselines win",
    "mnist-long": "not in the paper (Open-L2O: the paper's optimizer blows up far beyond its "
                  "training horizon)",
    "quadratic-long": "not in the paper (see the MNIST row)",
}


def experiments(quick: bool = False) -> list:
    """The experiments of the full run, or of ``--quick`` (short horizons, few runs, 3 rates)."""
    t_q, t_m = (20, 5) if quick else (100, 100)
    grid = (1e-3, 1e-2, 1e-1) if quick else DEFAULT_LR_GRID
    mgrid = (1e-2, 1e-1, 1.0) if quick else DEFAULT_LR_GRID
    runs, val = (2, 1) if quick else (50, 4)
    long_m = 4 * t_m if quick else 10 * t_m
    long_q = 5 * t_q if quick else 10 * t_q
    e = [
        PaperExperiment("quadratic", f"quadratics, {t_q} steps", "quadratic", None, t_q,
                        128 if quick else 256, 128, grid, "every_step", _CLAIMS["quadratic"]),
        PaperExperiment("mnist", f"MNIST sigmoid-20, {t_m} steps", "mnist", "sigmoid-20", t_m,
                        runs, val, mgrid, "final", _CLAIMS["mnist"]),
        PaperExperiment("mnist-200", f"MNIST, same optimizer, {2 * t_m} steps", "mnist",
                        "sigmoid-20", 2 * t_m, runs, val, mgrid, "final", _CLAIMS["mnist-200"]),
        PaperExperiment("mnist-40", "MNIST, 40 hidden units", "mnist", "sigmoid-40", t_m, runs,
                        val, mgrid, "final", _CLAIMS["mnist-40"]),
        PaperExperiment("mnist-2layer", "MNIST, 2 hidden layers", "mnist", "sigmoid-20x2", t_m,
                        runs, val, mgrid, "final", _CLAIMS["mnist-2layer"]),
        PaperExperiment("mnist-relu", "MNIST, ReLU", "mnist", "relu-20", t_m, runs, val, mgrid,
                        "fails", _CLAIMS["mnist-relu"]),
        PaperExperiment("mnist-long", f"MNIST, long horizon ({long_m:,} steps)", "mnist",
                        "sigmoid-20", long_m, 2 if quick else 5, 1 if quick else 2,
                        mgrid[1:] if quick else DECADES[1:], "horizon", _CLAIMS["mnist-long"]),
        PaperExperiment("quadratic-long", f"quadratics, long horizon ({long_q:,} steps)",
                        "quadratic", None, long_q, 128, 128, grid[1:] if quick else DECADES,
                        "horizon", _CLAIMS["quadratic-long"]),
    ]
    return e


RULES = {
    "every_step": "held if the learned optimizer's mean loss is below the per-step minimum of "
                  "the four tuned baselines' mean losses at every step t >= {check_from} "
                  "(of {steps})",
    "final": "held if, paired over the same test runs, the 95% interval of the mean final-loss "
             "difference learned - best tuned baseline (the lowest mean final loss among SGD, "
             "NAG, RMSprop, Adam) lies below 0; an interval containing 0 is a tie, not a win",
    "fails": "the paper's failure is reproduced if, paired over the same test runs, the 95% "
             "interval of the difference learned - best tuned baseline lies above 0",
    "horizon": "a report: divergence = first step at or beyond the training horizon whose "
               "mean loss is non-finite or above twice the mean initial loss; 'behind from' = the "
               "step from which the learned optimizer's mean loss stays above the best tuned "
               "baseline's",
}

