"""Whether each of the paper's claims held: the verdict rules of :data:`~minigrad.l2l.claims.RULES`
applied to a result of the protocol, by code (:func:`judge`)."""

from __future__ import annotations

import math

import numpy as np

from .baselines import BASELINES, DISPLAY_NAMES
from .claims import RULES, PaperExperiment
from .evaluate import best_baseline, ci_overlap, paired_against
from .stats import finite_or_none, inf_if_none

NAMES = DISPLAY_NAMES

__all__ = ["fmt_number", "horizon_analysis", "judge"]


def judge(exp: PaperExperiment, res: dict, train_steps: int = 100) -> dict:
    """Whether the paper's claim held, by the rule of ``exp.kind`` (see :data:`RULES`)."""
    best = best_baseline(res)
    lstm, base = res["lstm"], res[best]
    v = {"kind": exp.kind, "rule": RULES[exp.kind].format(check_from=exp.check_from,
                                                          steps=exp.steps),
         "best_baseline": best, "best_lr": base["lr"], "ci_overlap": ci_overlap(lstm, base),
         "lstm_below_best": inf_if_none(lstm["final_loss"]) < inf_if_none(base["final_loss"])}
    overlap = {True: "95% CIs overlap", False: "95% CIs disjoint", None: "CI unknown"}[
        v["ci_overlap"]]
    ratio = (inf_if_none(lstm["final_loss"]) / inf_if_none(base["final_loss"])
             if base["final_loss"] else None)
    v["final_ratio"] = finite_or_none(ratio)
    rel = f"final loss {fmt_number(ratio, '.2f')}x the best tuned baseline's ({NAMES[best]}, " \
          f"lr {base['lr']:g}); {overlap}"
    if exp.kind == "every_step":
        lo = min(exp.check_from, exp.steps)
        floor = [min(inf_if_none(res[b]["curve"][t]) for b in BASELINES)
                 for t in range(exp.steps + 1)]
        failing = [t for t in range(lo, exp.steps + 1)
                   if not inf_if_none(lstm["curve"][t]) < floor[t]]
        v.update(held=not failing, failing_steps=failing)
        v["text"] = (f"held: below every tuned baseline at all steps {lo}-{exp.steps}; {rel}"
                     if not failing else
                     f"not held: not below at {len(failing)} of {exp.steps - lo + 1} steps "
                     f"(first: step {failing[0]}); {rel}")
    elif exp.kind in ("final", "fails"):
        paired = _paired(res, best)
        v["paired"] = paired
        tie = paired["verdict"] == "tie"
        if exp.kind == "final":
            v["held"] = paired["verdict"] == "a"
            word = "held" if v["held"] else "tie, not held" if tie else "not held"
        else:
            v["held"] = paired["verdict"] == "b"
            word = ("failure reproduced" if v["held"] else "tie, failure not reproduced" if tie
                    else "not reproduced (the learned optimizer wins)")
        v["text"] = f"{word}: {_paired_text(paired)}; {rel}"
    else:
        v.update(held=None, **_horizon(res, best, train_steps))
        v["text"] = v["report"] + f"; {rel}"
    return v


def _paired(res: dict, best: str) -> dict:
    """The paired comparison learned - ``best`` over the test runs (from the result's, or
    computed from the runs' final losses for results written before it was stored)."""
    stored = res.get("paired")
    if stored is not None and stored.get("baseline") == best:
        return stored
    return paired_against(res, best)


def _paired_text(p: dict) -> str:
    ci = p["diff_ci95"]
    interval = "undefined (diverged runs)" if ci is None else \
        f"[{fmt_number(ci[0])}, {fmt_number(ci[1])}]"
    return (f"paired difference {fmt_number(p['mean_diff'])}, 95% interval {interval}, "
            f"learned wins {p['wins']:.0%} of {p['runs']} runs, medians "
            f"{fmt_number(p['median_a'])} vs {fmt_number(p['median_b'])}")


def horizon_analysis(res: dict, best: str, train_steps: int) -> dict:
    """Where the learned optimizer's mean loss goes over a long run, against ``best``:

    ``diverged_at``: the first step at or beyond the training horizon whose mean loss is not
    finite or above twice the mean initial loss (None: no divergence); ``lowest_step`` and
    ``lowest``; ``at_train`` (the mean loss at the training horizon, None if the run is not
    longer) and ``final``; ``behind_from``: the step from which the learned optimizer's mean
    loss stays above ``best``'s (None when it ends at or below it); ``diverged_runs``."""
    curve = np.array([inf_if_none(c) for c in res["lstm"]["curve"]])
    bcurve = np.array([inf_if_none(c) for c in res[best]["curve"]])
    steps = len(curve) - 1
    first = min(train_steps, steps)
    bad = np.flatnonzero(~np.isfinite(curve[first:]) | (curve[first:] > 2 * curve[0]))
    low = int(np.argmin(np.where(np.isfinite(curve), curve, np.inf)))
    above = ~(curve <= bcurve)
    behind_from = None
    if above[-1]:
        below = np.flatnonzero(~above)
        behind_from = int(below[-1]) + 1 if below.size else 0
    return {"steps": steps, "diverged_at": int(bad[0]) + first if bad.size else None,
            "lowest_step": low, "lowest": float(curve[low]),
            "at_train": float(curve[train_steps]) if train_steps < steps else None,
            "final": float(curve[-1]), "initial": float(curve[0]), "best": best,
            "best_final": float(bcurve[-1]), "behind_from": behind_from,
            "diverged_runs": res["lstm"]["diverged_runs"]}


def _horizon(res: dict, best: str, train_steps: int) -> dict:
    """:func:`horizon_analysis` and its report in words (the verdict of a long-horizon row)."""
    h = horizon_analysis(res, best, train_steps)
    steps, low, div = h["steps"], h["lowest_step"], h["diverged_at"]
    curve = np.array([inf_if_none(c) for c in res["lstm"]["curve"]])
    parts = [f"no divergence in {steps:,} steps" if div is None else
             f"diverges at step {div} (mean loss {fmt_number(curve[div])} > twice the initial "
             f"{fmt_number(curve[0])})",
             f"lowest mean loss {fmt_number(h['lowest'])} at step {low}"]
    if h["at_train"] is not None:
        parts.append(f"{fmt_number(h['at_train'])} at step {train_steps} (the training "
                     f"horizon), {fmt_number(h['final'])} at step {steps:,}")
    if np.isfinite(h["final"]) and h["final"] > 1.5 * h["lowest"]:
        parts.append(f"rises {h['final'] / h['lowest']:.1f}x from its lowest by the end")
    parts.append(f"behind the best tuned baseline from step {h['behind_from']} on"
                 if h["behind_from"] is not None else "ends below the best tuned baseline")
    return {"diverged_at": div, "lowest_step": low, "behind_from": h["behind_from"],
            "diverged_runs": h["diverged_runs"], "report": "; ".join(parts)}


def fmt_number(x, spec=".3g") -> str:
    if x is None or not math.isfinite(float(x)):
        return "diverged" if x is not None and not math.isfinite(float(x)) else "n/a"
    return format(float(x), spec)
