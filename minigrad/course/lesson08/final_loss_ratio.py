"""How far from the best tuned baseline: one number per experiment, and the overview table."""

from __future__ import annotations

import math

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
