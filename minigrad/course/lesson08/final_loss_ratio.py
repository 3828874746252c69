"""Exercise 08.1: how far from the best tuned baseline, one number per experiment."""

from __future__ import annotations

import math

from minigrad.course.checks import Case, Exercise, register
from minigrad.l2l import BASELINES
from minigrad.l2l.baselines import DISPLAY_NAMES
from minigrad.l2l.evaluate import compare_final
from minigrad.l2l.verdicts import fmt_number as _fmt

from ._shared import CLAIMS


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
