"""``python -m minigrad.l2l reproduce``: every experiment of the paper that a CPU can carry,
with the pretrained optimizers, against tuned baselines, side by side with the paper's claims.

    python -m minigrad.l2l reproduce --workers 2 --readme README.md   # the full run
    python -m minigrad.l2l reproduce --quick --out /tmp/q              # reduced, for CI

Experiments (:func:`experiments`; ``--quick`` shortens horizons, runs and grids):

=================  =====================================================  ===================
key                setup                                                  learned optimizer
=================  =====================================================  ===================
quadratic          10-dim quadratics, T = 100, 256 test functions         the quadratic one
mnist              MLP 784-20-10 sigmoid, T = 100, 20 test nets           the MNIST one
mnist-200          the same, run for T = 200                              (trained T = 100)
mnist-40           40 hidden units                                        (trained on 20)
mnist-2layer       2 hidden layers of 20                                  (trained on 1)
mnist-relu         ReLU hidden units                                      (trained on sigmoid)
mnist-long         sigmoid-20 for T = 1000, 5 test nets                   (trained T = 100)
quadratic-long     quadratics for T = 1000, 128 test functions            (trained T = 100)
=================  =====================================================  ===================

The protocol is :mod:`minigrad.l2l.evaluate`'s, experiment by experiment: each baseline
(SGD, NAG, RMSprop, Adam) gets the learning rate of its grid with the lowest mean final loss
on VALIDATION problems (seeds ``(seed, 2, k)``; MNIST: the validation digits) at the
experiment's own horizon and architecture; then every optimizer runs on the same TEST problems
(seeds ``(seed, 3, k)``; MNIST: the 1,000 held-out test digits, never seen in meta-training or
tuning). The grid is 1e-4, 3e-4, ..., 1, 3 (10 rates); the long horizons use its decades
(1e-4 ... 1; MNIST: 1e-3 ... 1) on fewer validation runs (cost). Nothing here looks at a
test number to choose anything. The numbers are exactly those of
``python -m minigrad.l2l evaluate`` with the same settings: rollouts are pure functions of
(optimizer, problem, seed), so this module runs each distinct rollout once, at the longest
horizon any experiment asks of it, and cuts the shorter ones out of it (the first 100 steps
of a 200-step run ARE the 100-step run).

Claims are judged by code from the numbers (:func:`judge`), with the rule printed beside them:

* ``every_step`` (quadratics): the learned optimizer's mean loss is below the per-step minimum
  of the four tuned baselines' mean losses at every step t >= 5;
* ``final`` (MNIST rows): its mean final loss is below the lowest mean final loss among the
  tuned baselines (the "best tuned baseline");
* ``fails`` (ReLU): the paper reports failure, so its claim is reproduced when the best tuned
  baseline's mean final loss is below the learned optimizer's;
* ``horizon`` (long runs): a report: the first step (from the training horizon on) where the
  mean loss is non-finite or above twice the mean initial loss (divergence), the step of the
  lowest loss, and the step from which the learned optimizer stays behind the best tuned
  baseline.

Each verdict says whether the 95% confidence intervals of the final losses overlap.

Outputs, under ``--out`` (default: the current folder; ``runs/reproduce-quick`` with
``--quick``): ``RESULTS.md``, ``docs/img/l2l_<key>.png`` (one paper-style figure per experiment:
log scale, 95% bands), ``docs/img/l2l_results.png`` (every panel in one figure) and
``docs/l2l_results.json`` (every curve and number). ``--readme README.md`` also rewrites the part
of the README between ``<!-- reproduce:begin -->`` and ``<!-- reproduce:end -->``. Wall time,
CPU time and peak memory (``ru_maxrss``) are printed at the end and written to RESULTS.md.

``--workers N`` runs the rollouts in N worker processes, each with one BLAS thread (the main
process too, when N = 1; see :mod:`minigrad.threads`); the numbers do not depend on N.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..files import atomic_write_text, atomic_writer
from ..threads import blas_threads
from .baselines import BASELINES, DECADES, DEFAULT_LR_GRID, DISPLAY_NAMES, OPTIMIZERS
from .checkpoints import (
    CheckpointMismatch,
    load_learned_optimizer,
    read_checkpoint,
    resolve_checkpoint,
    split_arrays,
)
from .evaluate import BaselineRule, LearnedRule, rollout, run_experiments
from .evaluate import Experiment as ProtocolExperiment
from .stats import CI_METHOD

__all__ = [
    "Experiment", "README_BEGIN", "README_END", "add_parser", "cmd_reproduce", "experiments",
    "judge", "reproduce", "update_readme",
]

README_BEGIN = "<!-- reproduce:begin -->"
README_END = "<!-- reproduce:end -->"
NAMES = DISPLAY_NAMES


class ReproduceError(Exception):
    """A bad argument or checkpoint, found before any work (exit status 2)."""


# ---------------------------------------------------------------------------- experiments ---
@dataclass(frozen=True)
class Experiment:
    """One row of the results table."""

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
    runs, val = (2, 1) if quick else (20, 4)
    long_m = 4 * t_m if quick else 10 * t_m
    long_q = 5 * t_q if quick else 10 * t_q
    e = [
        Experiment("quadratic", f"quadratics, {t_q} steps", "quadratic", None, t_q,
                   128 if quick else 256, 128, grid, "every_step", _CLAIMS["quadratic"]),
        Experiment("mnist", f"MNIST sigmoid-20, {t_m} steps", "mnist", "sigmoid-20", t_m, runs,
                   val, mgrid, "final", _CLAIMS["mnist"]),
        Experiment("mnist-200", f"MNIST, same optimizer, {2 * t_m} steps", "mnist",
                   "sigmoid-20", 2 * t_m, runs, val, mgrid, "final", _CLAIMS["mnist-200"]),
        Experiment("mnist-40", "MNIST, 40 hidden units", "mnist", "sigmoid-40", t_m, runs, val,
                   mgrid, "final", _CLAIMS["mnist-40"]),
        Experiment("mnist-2layer", "MNIST, 2 hidden layers", "mnist", "sigmoid-20x2", t_m, runs,
                   val, mgrid, "final", _CLAIMS["mnist-2layer"]),
        Experiment("mnist-relu", "MNIST, ReLU", "mnist", "relu-20", t_m, runs, val, mgrid,
                   "fails", _CLAIMS["mnist-relu"]),
        Experiment("mnist-long", f"MNIST, long horizon ({long_m:,} steps)", "mnist",
                   "sigmoid-20", long_m, 2 if quick else 5, 1 if quick else 2,
                   mgrid[1:] if quick else DECADES[1:], "horizon", _CLAIMS["mnist-long"]),
        Experiment("quadratic-long", f"quadratics, long horizon ({long_q:,} steps)",
                   "quadratic", None, long_q, 128, 128, grid[1:] if quick else DECADES,
                   "horizon", _CLAIMS["quadratic-long"]),
    ]
    return e


RULES = {
    "every_step": "held if the learned optimizer's mean loss is below the per-step minimum of "
                  "the four tuned baselines' mean losses at every step t >= {check_from} "
                  "(of {steps})",
    "final": "held if the learned optimizer's mean final loss is below the best tuned "
             "baseline's (the lowest mean final loss among SGD, NAG, RMSprop, Adam)",
    "fails": "the paper's failure is reproduced if the best tuned baseline's mean final loss "
             "is below the learned optimizer's",
    "horizon": "a report: divergence = first step at or beyond the training horizon whose "
               "mean loss is non-finite or above twice the mean initial loss; 'behind from' = the "
               "step from which the learned optimizer's mean loss stays above the best tuned "
               "baseline's",
}


# ---------------------------------------------------------------------------------- rollouts ---
def build_problem(spec: dict, split: str):
    """A problem family from a checkpoint's problem configuration (+ ``dtype``, and for MNIST
    the ``optimizee`` of the experiment)."""
    from .problems import make_problem

    cfg = dict(spec)
    name, dtype = cfg.pop("name"), cfg.pop("dtype")
    if name == "mnist":
        return make_problem("mnist", cfg.pop("optimizee"), split=split, dtype=dtype, **cfg)
    return make_problem(name, variant=cfg.pop("variant", "paper"), dtype=dtype, **cfg)


def load_net(path: str, weights: str):
    """The learned optimizer of a checkpoint with its ``best`` (if any) or ``last`` weights."""
    return load_learned_optimizer(path, weights=weights)[0]


_CACHE: dict = {}


def run_job(job) -> np.ndarray:
    """One rollout: ``(rule, problem spec, split, seed, steps, checkpoint)`` -> losses of shape
    (runs in the instance, steps + 1), float64. Problems and networks are cached per process."""
    rule, spec, split, seed, steps, ckpt = job
    pkey = ("problem", json.dumps(spec, sort_keys=True), split)
    if pkey not in _CACHE:
        _CACHE[pkey] = build_problem(spec, split)
    problem = _CACHE[pkey]
    if rule[0] == "lstm":
        nkey = ("net", ckpt["path"], ckpt["weights"])
        if nkey not in _CACHE:
            _CACHE[nkey] = load_net(ckpt["path"], ckpt["weights"])
        update_rule = LearnedRule(_CACHE[nkey])
    else:
        update_rule = BaselineRule(rule[0], rule[1])
    (instance,) = problem.sample_runs([tuple(seed)])
    return np.ascontiguousarray(rollout(update_rule, instance, steps).T, dtype=np.float64)


def _init_worker():
    blas_threads(1)  # applied at once, for the worker's whole life


def _cost(job) -> float:
    rule, spec, _, _, steps, _ = job
    size = 1.0
    if spec["name"] == "mnist":
        size = 3.0 * sum(int(w) for w in re.findall(r"\d+", spec["optimizee"])) / 20
    return steps * size * (10.0 if rule[0] == "lstm" else 1.0)


def execute(jobs: dict, workers: int, log, label: str) -> dict:
    """Run ``{key: job}``; returns ``{key: losses}``. Longest jobs first (load balance)."""
    order = sorted(jobs, key=lambda k: -_cost(jobs[k]))
    out, started, last = {}, time.time(), 0.0

    def progress(done):
        nonlocal last
        now = time.time()
        if now - last >= 10 or done == len(order):
            last = now
            log(f"  {label}: {done}/{len(order)} rollouts, {now - started:.0f} s")

    if workers <= 1:
        for i, key in enumerate(order, 1):
            out[key] = run_job(jobs[key])
            progress(i)
        return out
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker) as pool:
        futures = {pool.submit(run_job, jobs[key]): key for key in order}
        try:
            for i, fut in enumerate(as_completed(futures), 1):
                out[futures[fut]] = fut.result()
                progress(i)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return out


def reproduce(exps: list, ckpts: dict, *, seed: int = 0, workers: int = 1, log=None) -> list:
    """Run the experiments through THE protocol (:func:`minigrad.l2l.evaluate.run_experiments`,
    one call per problem family, rollouts in ``workers`` processes); returns one result dict
    per experiment (``run_protocol``'s format, plus ``key``, ``title`` and ``verdict``).
    ``ckpts``: problem -> {"path", "weights", "meta"} of the learned optimizers."""
    log = log or (lambda msg: None)
    results = {}
    for family in sorted({e.problem for e in exps}):
        c = ckpts[family]
        spec = dict(c["meta"]["problem"], dtype=c["meta"].get("dtype", "float32"))
        ckpt = {"path": str(c["path"]), "weights": c["weights"]}
        mine = [e for e in exps if e.problem == family]
        protocol = {e.key: _protocol_experiment(e) for e in mine}

        def factory(pexp, split, spec=spec, family=family):
            return _build(spec, family, pexp.optimizee, split)

        def runner(requests, spec=spec, ckpt=ckpt, family=family):
            jobs = {key: (key[0], _with_optimizee(spec, family, pexp.optimizee), split, seed_,
                          steps, ckpt)
                    for key, pexp, split, seed_, steps in requests}
            return execute(jobs, workers, log, family)

        log(f"{family}: {len(mine)} experiment(s), rollouts in {workers} process(es)")
        out = run_experiments(list(protocol.values()), load_net(ckpt["path"], ckpt["weights"]),
                              factory, seed=seed, runner=runner)
        train_steps = c["meta"]["meta"]["steps"]
        for exp in mine:
            r = out[exp.key]
            res = {"key": exp.key, "title": exp.title, "problem": exp.problem,
                   "optimizee": exp.optimizee, "steps": exp.steps, "runs": exp.runs,
                   "val_runs": exp.val_runs, "seed": int(seed), "ci_method": CI_METHOD,
                   "lr_grid": [float(v) for v in exp.grid], "optimizers": list(OPTIMIZERS)}
            res.update({name: r[name] for name in OPTIMIZERS})
            res["paired"] = r["paired"]
            res["verdict"] = judge(exp, res, train_steps=train_steps)
            results[exp.key] = res
    return [results[e.key] for e in exps]


def _protocol_experiment(exp: Experiment) -> ProtocolExperiment:
    """The protocol's view of a row of the claims table."""
    return ProtocolExperiment(exp.key, exp.title, optimizee=exp.optimizee, steps=exp.steps,
                              runs=exp.runs, val_runs=exp.val_runs, grid=tuple(exp.grid),
                              dataset=exp.problem)


def _with_optimizee(spec: dict, family: str, optimizee) -> dict:
    return dict(spec, optimizee=optimizee) if family == "mnist" else dict(spec)


def _build(spec: dict, family: str, optimizee, split: str):
    key = ("problem", json.dumps(_with_optimizee(spec, family, optimizee), sort_keys=True), split)
    if key not in _CACHE:
        _CACHE[key] = build_problem(_with_optimizee(spec, family, optimizee), split)
    return _CACHE[key]


def _workers(info: dict) -> int:
    """Worker processes of a run (results written before ``--workers`` called it threads)."""
    return info.get("workers", info.get("threads"))


def _finite(x):
    return float(x) if x is not None and math.isfinite(x) else None


def _num(x) -> float:
    return math.inf if x is None else float(x)


def _overlap(a: dict, b: dict):
    """Whether the 95% CIs of two final losses overlap (None when one is unknown)."""
    ma, mb, ca, cb = a["final_loss"], b["final_loss"], a["final_ci95"], b["final_ci95"]
    if None in (ma, mb, ca, cb):
        return None
    return abs(ma - mb) <= ca + cb


def judge(exp: Experiment, res: dict, train_steps: int = 100) -> dict:
    """Whether the paper's claim held, by the rule of ``exp.kind`` (see :data:`RULES`)."""
    best = min(BASELINES, key=lambda b: (_num(res[b]["final_loss"]), BASELINES.index(b)))
    lstm, base = res["lstm"], res[best]
    v = {"kind": exp.kind, "rule": RULES[exp.kind].format(check_from=exp.check_from,
                                                          steps=exp.steps),
         "best_baseline": best, "best_lr": base["lr"], "ci_overlap": _overlap(lstm, base),
         "lstm_below_best": _num(lstm["final_loss"]) < _num(base["final_loss"])}
    overlap = {True: "95% CIs overlap", False: "95% CIs disjoint", None: "CI unknown"}[
        v["ci_overlap"]]
    ratio = _num(lstm["final_loss"]) / _num(base["final_loss"]) if base["final_loss"] else None
    v["final_ratio"] = _finite(ratio) if ratio is not None else None
    rel = f"final loss {_fmt(ratio, '.2f')}x the best tuned baseline's ({NAMES[best]}, " \
          f"lr {base['lr']:g}); {overlap}"
    if exp.kind == "every_step":
        lo = min(exp.check_from, exp.steps)
        floor = [min(_num(res[b]["curve"][t]) for b in BASELINES) for t in range(exp.steps + 1)]
        failing = [t for t in range(lo, exp.steps + 1) if not _num(lstm["curve"][t]) < floor[t]]
        v.update(held=not failing, failing_steps=failing)
        v["text"] = (f"held: below every tuned baseline at all steps {lo}-{exp.steps}; {rel}"
                     if not failing else
                     f"not held: not below at {len(failing)} of {exp.steps - lo + 1} steps "
                     f"(first: step {failing[0]}); {rel}")
    elif exp.kind == "final":
        v["held"] = v["lstm_below_best"]
        v["text"] = f"{'held' if v['held'] else 'not held'}: {rel}"
    elif exp.kind == "fails":
        v["held"] = not v["lstm_below_best"]
        v["text"] = (f"{'failure reproduced' if v['held'] else 'not reproduced (the learned '}"
                     f"{'' if v['held'] else 'optimizer wins)'}: {rel}")
    else:
        v.update(held=None, **_horizon(res, best, train_steps))
        v["text"] = v["report"] + f"; {rel}"
    return v


def _horizon(res: dict, best: str, train_steps: int) -> dict:
    """Where the learned optimizer's mean loss diverges (beyond the training horizon), bottoms
    out, and falls behind the best tuned baseline for good."""
    curve = np.array([_num(c) for c in res["lstm"]["curve"]])
    bcurve = np.array([_num(c) for c in res[best]["curve"]])
    steps = len(curve) - 1
    first = min(train_steps, steps)
    bad = np.flatnonzero(~np.isfinite(curve[first:]) | (curve[first:] > 2 * curve[0]))
    diverged_at = int(bad[0]) + first if bad.size else None
    low = int(np.argmin(np.where(np.isfinite(curve), curve, np.inf)))
    above = curve > bcurve
    behind_from = None
    if above[-1]:
        below = np.flatnonzero(~above)
        behind_from = int(below[-1]) + 1 if below.size else 0
    parts = [f"no divergence in {steps:,} steps" if diverged_at is None else
             f"diverges at step {diverged_at} (mean loss {_fmt(curve[diverged_at])} > twice the "
             f"initial {_fmt(curve[0])})",
             f"lowest mean loss {_fmt(curve[low])} at step {low}"]
    if train_steps < steps:
        parts.append(f"{_fmt(curve[train_steps])} at step {train_steps} (the training "
                     f"horizon), {_fmt(curve[-1])} at step {steps:,}")
    if np.isfinite(curve[-1]) and curve[-1] > 1.5 * curve[low]:
        parts.append(f"rises {curve[-1] / curve[low]:.1f}x from its lowest by the end")
    parts.append(f"behind the best tuned baseline from step {behind_from} on"
                 if behind_from is not None else "ends below the best tuned baseline")
    return {"diverged_at": diverged_at, "lowest_step": low, "behind_from": behind_from,
            "diverged_runs": res["lstm"]["diverged_runs"], "report": "; ".join(parts)}


# -------------------------------------------------------------------------------- reports ---
def _fmt(x, spec=".3g") -> str:
    if x is None or not math.isfinite(float(x)):
        return "diverged" if x is not None and not math.isfinite(float(x)) else "n/a"
    return format(float(x), spec)


def _cell(entry: dict, lr: bool = True) -> str:
    if entry["final_loss"] is None:
        s = f"diverged ({entry['diverged_runs']} runs)"
    else:
        s = f"{_fmt(entry['final_loss'])} ± {_fmt(entry['final_ci95'], '.2g')}"
    return s + (f" (lr {entry['lr']:g})" if lr and "lr" in entry else "")


def _verdict_word(v: dict, detail: bool = False) -> str:
    """The 'claim held?' cell; with ``detail``: whether the CIs overlap, or the horizon's
    divergence finding."""
    if v["held"] is None:
        return "report" + (f": {v['report'].split(';')[0]}" if detail else "")
    if v["kind"] == "fails":
        word = "**yes** (failure reproduced)" if v["held"] else "**no** (learned optimizer wins)"
    else:
        word = "**yes**" if v["held"] else "**no**"
    if detail and v["ci_overlap"] is not None:
        word += "; CIs overlap" if v["ci_overlap"] else "; CIs disjoint"
    return word


def figure_name(key: str) -> str:
    return f"l2l_{key}.png"


HEADLINE = "l2l_results.png"


def _draw_panel(ax, res: dict, train_steps: int | None, small: bool = False) -> None:
    """One experiment: mean loss per step (log scale) per optimizer with its 95% band."""
    from .plots import COLORS, LABELS

    for name in res["optimizers"]:
        e = res[name]
        curve = np.array([np.nan if c is None else c for c in e["curve"]], dtype=float)
        ci = np.array([np.nan if c is None else c for c in e["ci95"]], dtype=float)
        steps = np.arange(curve.size)
        label = LABELS.get(name, name) + (f" (lr {e['lr']:g})" if "lr" in e else "")
        ax.plot(steps, np.where(curve > 0, curve, np.nan), color=COLORS.get(name),
                lw=2.0 if name == "lstm" else 1.1, label=label)
        ok = np.isfinite(curve - ci) & np.isfinite(curve + ci)
        if ok.any():
            floor = np.nanmin(np.where(curve > 0, curve, np.nan)) * 1e-3
            ax.fill_between(steps[ok], np.maximum((curve - ci)[ok], floor), (curve + ci)[ok],
                            color=COLORS.get(name), alpha=0.18, lw=0)
    means = np.concatenate([np.array([np.nan if c is None else c for c in res[n]["curve"]],
                                     dtype=float) for n in res["optimizers"]])
    means = means[np.isfinite(means) & (means > 0)]
    if means.size:
        ax.set_ylim(means.min() / 2, means.max() * 2)
    if train_steps and train_steps < res["steps"]:
        ax.axvline(train_steps, color="0.4", ls="--", lw=0.8, label="training horizon")
    v = res["verdict"]
    mark = {True: "claim held", False: "claim NOT held", None: "report"}[v["held"]]
    if v["kind"] == "fails":
        mark = "failure reproduced" if v["held"] else "failure NOT reproduced"
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.yaxis.set_minor_formatter(NullFormatter())  # decade labels only
    ax.set_title(f"{res['title']}\n({res['runs']} test runs, 95% CI; {mark})",
                 fontsize=8.5 if small else 9.5)
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, which="major", alpha=0.25)
    ax.legend(fontsize=6 if small else 7.5, loc="upper right")


def draw_experiment(res: dict, path, train_steps: int | None, dpi: int = 110) -> None:
    """The paper-style figure of one experiment (PNG)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=dpi)
    _draw_panel(ax, res, train_steps)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.88)  # tight_layout: 2x slower
    _save_fig(fig, path)
    plt.close(fig)


def draw_headline(results: list, path, train_steps: dict, dpi: int = 100) -> None:
    """Every experiment in one figure (the README's headline), one panel each."""
    plt = _pyplot()
    cols = 4
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.2 * rows), dpi=dpi,
                             squeeze=False)
    for ax, res in zip(axes.flat, results):
        _draw_panel(ax, res, train_steps.get(res["problem"]), small=True)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    fig.suptitle("Learned LSTM optimizer vs tuned baselines: mean test loss, 95% CI bands "
                 "(dashed: the training horizon)", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.08, top=0.86, wspace=0.3, hspace=0.5)
    _save_fig(fig, path)
    plt.close(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save_fig(fig, path) -> None:
    with atomic_writer(path) as f:
        fig.savefig(f, format="png")


write_text = atomic_write_text


def results_table(results: list, compact: bool = False) -> list:
    if compact:
        head = ["Experiment", "Paper's claim", "LSTM (learned)", "Best tuned baseline",
                "Claim held?"]
    else:
        head = (["Experiment", "Paper's claim"] + [NAMES[n] for n in OPTIMIZERS]
                + ["Best tuned baseline", "Claim held?", "Verdict"])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        v = r["verdict"]
        best = f"{NAMES[v['best_baseline']]} (lr {v['best_lr']:g})"
        if compact:
            row = [r["title"], r["claim"], _cell(r["lstm"]),
                   f"{best}: {_cell(r[v['best_baseline']], lr=False)}",
                   _verdict_word(v, detail=True)]
        else:
            row = ([r["title"], r["claim"]] + [_cell(r[n]) for n in OPTIMIZERS]
                   + [best, _verdict_word(v), v["text"]])
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    return lines


def _ckpt_lines(ckpts: dict, root: Path) -> list:
    lines = ["| problem | file | meta-iterations (status) | weights | best validation | "
             "trained with |", "| --- | --- | --- | --- | --- | --- |"]
    for problem, c in ckpts.items():
        m = c["meta"]
        best = (m.get("validation") or {}).get("best")
        bv = f"{best[1]:.4g} at meta-iteration {best[0]}" if best else "none recorded"
        weights = c["weights"] if c["has_best"] or c["weights"] == "last" else "last (no best)"
        lines.append(f"| {problem} | `{_shown(c['path'])}` (SHA-256 `{c['sha256'][:12]}…`) "
                     f"| {m.get('iteration')} ({m.get('status', 'n/a')}) | {weights} | {bv} | "
                     f"`{m.get('command', 'n/a')}` |")
    return lines


def _rel(path, root: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), root.resolve())
    except ValueError:
        return str(path)


def _shown(path) -> str:
    """A checkpoint path as a reader can find it: the package's pretrained files by their path
    in the repository, others relative to the current folder when inside it."""
    from .checkpoints import PRETRAINED_DIR

    path = Path(path).resolve()
    if path.parent == PRETRAINED_DIR.resolve():
        return f"minigrad/l2l/pretrained/{path.name}"
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _tried(results: list, ckpts: dict) -> list:
    """What was tried, generated from the checkpoints, for the targets that were missed."""
    missed = [r for r in results if r["verdict"]["held"] is False]
    if not missed:
        return []
    lines = ["## Missed targets and what was tried", ""]
    lines.append("Missed: " + "; ".join(f"**{r['title']}** ({r['verdict']['text']})"
                                         for r in missed) + ".")
    lines.append("")
    for problem in sorted({r["problem"] for r in missed}):
        m = ckpts[problem]["meta"]
        val = m.get("validation") or {}
        hist = val.get("history") or []
        net, meta = m.get("net", {}), m.get("meta", {})
        lines.append(
            f"- The {problem} optimizer: `{m.get('command')}`; status '{m.get('status')}' at "
            f"{m.get('iteration')} meta-iterations ({(m.get('elapsed_s') or 0) / 3600:.1f} h "
            f"of training on a shared 2-core CPU); meta-lr "
            f"{meta.get('meta_lr')}, horizon {meta.get('steps')} in unrolls of "
            f"{meta.get('unroll')}, preprocessing {net.get('preprocess')} (p = {net.get('p')}), "
            f"output scale {net.get('output_scale')}, {net.get('num_layers')} LSTM layers of "
            f"{net.get('hidden_size')}. Weights selected on validation problems every "
            f"{val.get('every')} meta-iterations ({len(hist)} scores"
            + (f", best {val['best'][1]:.4g} at {val['best'][0]}" if val.get("best") else "")
            + ").")
    lines.append("- Baseline learning rates were tuned on validation problems only and the "
                 "learned optimizer's weights chosen on validation problems only; no test number "
                 "chose anything.")
    return lines + [""]


def render_results(results: list, ckpts: dict, info: dict, root: Path) -> str:
    held = [r for r in results if r["verdict"]["held"] is not None]
    n_held = sum(bool(r["verdict"]["held"]) for r in held)
    lines = ["# Results: reproducing Andrychowicz et al. (2016) on minigrad", "",
             f"Generated by `{info['command']}` on {info['date']} (repository commit "
             f"`{info.get('commit') or 'n/a'}`); do not edit by hand, rerun the command.", ""]
    if info["quick"]:
        lines += ["> **Quick mode** (`--quick`, for CI): short horizons, few runs, a 3-rate grid. "
                  "These numbers say nothing about the paper; run without `--quick`.", ""]
    lines += [f"**{n_held} of {len(held)} claims held** (the long-horizon rows are reports). "
              f"Each cell: mean final test loss ± 95% CI half-width over the test runs "
              f"(learning rate tuned on validation problems).", "",
              f"![all experiments](docs/img/{HEADLINE})", ""]
    lines += results_table(results) + [""]
    lines += ["## How a claim is judged", ""]
    lines += [f"- **{k}** ({', '.join(r['key'] for r in results if r['verdict']['kind'] == k)}"
              f"): {RULES[k].format(check_from=5, steps='T')}."
              for k in RULES if any(r["verdict"]["kind"] == k for r in results)]
    lines += ["- The best tuned baseline is the one with the lowest mean final test loss "
              "(so beating it means beating all four). 'CIs overlap': the 95% intervals of the "
              "learned optimizer's and the best baseline's mean final losses overlap.", ""]
    lines += ["## Protocol", "",
              "- Learned optimizers (shipped in `minigrad/l2l/pretrained/`, provenance in its "
              "README):", ""]
    lines += _ckpt_lines(ckpts, root) + [""]
    lines += [
        "- Baselines: SGD, NAG (momentum 0.9), RMSprop (0.99), Adam (0.9, 0.999); each "
        "learning rate tuned per experiment (horizon and architecture) on validation problems: "
        "seeds (seed, 2, k), MNIST validation digits; the rate with the lowest mean final loss "
        "wins. Reported on test problems: seeds (seed, 3, k), MNIST held-out test digits (never "
        "used in meta-training or tuning); all optimizers see the same test problems.",
        "- The MNIST loss is, as in the paper, the optimizee's own training loss: the "
        "cross-entropy of the minibatch of 128 the optimizer sees at that step, here drawn from "
        "the 1,000 held-out test digits (100 steps = 12.8 passes over them, so tuned baselines "
        "go lower than on the paper's 60,000 digits).",
        f"- Confidence intervals: {CI_METHOD}.", "",
        "| experiment | optimizee | steps | test runs | validation runs | lr grid |",
        "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r['key']} | {r['optimizee'] or r['problem']} | {r['steps']} | "
                     f"{r['runs']} | {r['val_runs']} | "
                     f"{', '.join(f'{v:g}' for v in r['lr_grid'])} |")
    lines += ["", "## Experiments", ""]
    for r in results:
        v = r["verdict"]
        lines += [f"### {r['title']}", "", f"Paper: {r['claim']}. Verdict: {v['text']}.", "",
                  f"![{r['key']}](docs/img/{figure_name(r['key'])})", "",
                  "Validation mean final loss per learning rate (tuned rate in bold):", ""]
        for name in BASELINES:
            e = r[name]
            cells = [(f"**{k}**: " if float(k) == e["lr"] else f"{k}: ")
                     + ("diverged" if val is None else _fmt(val))
                     for k, val in e["val_final_loss"].items()]
            lines.append(f"- {NAMES[name]}: " + ", ".join(cells))
        edge = [NAMES[n] for n in BASELINES if r[n]["lr"] in (min(r["lr_grid"]),
                                                             max(r["lr_grid"]))]
        if edge:
            lines.append(f"- at the edge of the grid: {', '.join(edge)} (a rate beyond it might "
                         "do better)")
        lines.append("")
    lines += _tried(results, ckpts)
    lines += ["## Cost", "",
              f"- wall time {info['wall_s']:.0f} s ({info['wall_s'] / 60:.1f} min), CPU time "
              f"{info['cpu_s']:.0f} s, {_workers(info)} worker process(es) on a machine with "
              f"{os.cpu_count()} cores (load average {info['load']:.1f} at the start)",
              f"- peak memory (ru_maxrss): main process {info['rss_main_mb']:.0f} MiB, largest "
              f"worker {info['rss_workers_mb']:.0f} MiB", ""]
    return "\n".join(lines)


def render_readme_section(results: list, info: dict, img_prefix: str, results_link: str,
                          ckpts: dict | None = None) -> str:
    held = [r for r in results if r["verdict"]["held"] is not None]
    n_held = sum(bool(r["verdict"]["held"]) for r in held)
    missed = [r["title"] for r in held if not r["verdict"]["held"]]
    lines = [f"![learned optimizer vs tuned baselines]({img_prefix}{HEADLINE})", ""]
    lines += results_table(results, compact=True) + [""]
    lines.append(f"**{n_held} of {len(held)} claims held.** "
                 + (f"Missed: {'; '.join(missed)}; [{results_link}]({results_link}) says what "
                    "was tried. " if missed else "")
                 + "Mean final test loss ± 95% CI over the test runs; every baseline's learning "
                 "rate tuned on validation problems, the learned optimizers' weights selected on "
                 "validation problems. Rules, all four baselines, per-experiment figures and "
                 f"the protocol: [{results_link}]({results_link}).")
    if ckpts:
        parts = []
        for problem, c in sorted(ckpts.items()):
            m = c["meta"]
            best = (m.get("validation") or {}).get("best")
            weights = c["weights"] if c["has_best"] else "last (no validation score yet)"
            parts.append(f"{problem} after {m.get('iteration')} meta-iterations (status "
                         f"'{m.get('status')}', {weights} weights"
                         + (f" from meta-iteration {best[0]}" if best and c["has_best"] else "")
                         + ")")
        lines += ["", "Learned optimizers used: " + "; ".join(parts) + "."]
    peak = max(info["rss_main_mb"], info["rss_workers_mb"])
    lines += ["", f"Produced by `{info['command']}`: {info['wall_s'] / 60:.0f} min wall with "
              f"{_workers(info)} worker process(es) on {os.cpu_count()} cores at load average "
              f"{info['load']:.1f}, {info['cpu_s'] / 60:.0f} min of CPU, peak memory "
              f"{peak:.0f} MiB."]
    return "\n".join(lines)


def update_readme(path, body: str) -> None:
    """Replace the text between :data:`README_BEGIN` and :data:`README_END` in ``path``."""
    path = Path(path)
    text = path.read_text()
    a, b = text.find(README_BEGIN), text.find(README_END)
    if a < 0 or b < a:
        raise ReproduceError(f"--readme {path}: no '{README_BEGIN}' ... '{README_END}' markers "
                             "(in this order) to write between")
    new = text[:a + len(README_BEGIN)] + "\n" + body.strip("\n") + "\n" + text[b:]
    write_text(path, new.rstrip("\n"))


# ------------------------------------------------------------------------------------ CLI ---
def add_parser(sub) -> argparse.ArgumentParser:
    r = sub.add_parser(
        "reproduce", help="run every experiment of the paper and write RESULTS.md and figures",
        description="Run every experiment (quadratics; MNIST 100 and 200 steps, 40 units, 2 "
                    "layers, ReLU; long horizons) with the pretrained optimizers against tuned "
                    "baselines, and write RESULTS.md, figures and JSON.")
    r.add_argument("--out", default=None,
                   help="folder for RESULTS.md, docs/img/*.png, docs/l2l_results.json "
                        "(default: the current folder; runs/reproduce-quick with --quick)")
    r.add_argument("--quick", action="store_true",
                   help="reduced for CI: short horizons, few runs, 3 learning rates")
    r.add_argument("--workers", type=int, default=1,
                   help="worker processes, one BLAS thread each (1; numbers do not depend on it)")
    r.add_argument("--seed", type=int, default=0, help="seed of the val/test problems (0)")
    r.add_argument("--quadratic-checkpoint", default="pretrained",
                   help="the quadratic optimizer: PATH or 'pretrained' (default)")
    r.add_argument("--mnist-checkpoint", default="pretrained",
                   help="the MNIST optimizer: PATH or 'pretrained' (default)")
    r.add_argument("--weights", choices=("best", "last"), default="best",
                   help="best-on-validation weights when the checkpoint has them, or the last")
    r.add_argument("--only", default=None,
                   help="comma-separated experiment keys to run (default: all)")
    r.add_argument("--readme", default=None,
                   help=f"also rewrite this README between {README_BEGIN} and {README_END}")
    r.add_argument("--replot", action="store_true",
                   help="only redraw the figures and rewrite RESULTS.md (and --readme) from the "
                        "docs/l2l_results.json of an earlier run under --out")
    r.add_argument("--no-progress", action="store_true", help="no progress messages")
    return r


def _load_ckpt(spec, problem, weights) -> dict:
    import hashlib

    try:
        path = resolve_checkpoint(spec, problem)
        arrays, meta = read_checkpoint(path, problem)
        load_net(str(path), weights)
    except (FileNotFoundError, CheckpointMismatch, ValueError, TypeError) as exc:
        raise ReproduceError(str(exc)) from None
    return {"path": str(path.resolve()), "weights": weights, "meta": meta,
            "has_best": bool(split_arrays(arrays, "best")),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _portable(path) -> str:
    """``path`` relative to the repository (or the package) when inside it: stored results
    must not carry the absolute paths of the machine that wrote them."""
    path = Path(path).resolve()
    for root in (Path(__file__).resolve().parents[2], Path(__file__).resolve().parents[1]):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return path.name


def _git_commit(cwd) -> str | None:
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def cmd_reproduce(args) -> int:
    try:
        return _reproduce(args)
    except ReproduceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _reproduce(args) -> int:
    t0, cpu0 = time.time(), _cpu_s()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    log = (lambda msg: None) if args.no_progress else (lambda m: print(m, file=sys.stderr))
    if args.workers < 1:
        raise ReproduceError(f"--workers must be >= 1, got {args.workers}")
    exps = experiments(args.quick)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = sorted(set(keys) - {e.key for e in exps})
        if unknown or not keys:
            raise ReproduceError(f"--only: unknown {unknown or 'empty list'}; expected some of "
                                 f"{', '.join(e.key for e in exps)}")
        exps = [e for e in exps if e.key in keys]
    out = Path(args.out if args.out is not None else
               ("runs/reproduce-quick" if args.quick else "."))
    readme = Path(args.readme) if args.readme else None
    if readme is not None:
        if not readme.is_file():
            raise ReproduceError(f"--readme {readme}: no such file")
        text = readme.read_text()
        if README_BEGIN not in text or README_END not in text:
            raise ReproduceError(f"--readme {readme}: no '{README_BEGIN}' ... '{README_END}' "
                                 "markers to write between")
    if args.replot:
        return _rerender(args, out, readme)
    problems = sorted({e.problem for e in exps})
    flags = {"quadratic": args.quadratic_checkpoint, "mnist": args.mnist_checkpoint}
    ckpts = {p: _load_ckpt(flags[p], p, args.weights) for p in problems}
    img = out / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    argv = getattr(args, "_argv", None)
    command = " ".join(["python -m minigrad.l2l"] + (sys.argv[1:] if argv is None else argv))
    log(f"reproduce: {len(exps)} experiments ({'quick' if args.quick else 'full'}), "
        f"{args.workers} worker(s) -> {out}")

    # one BLAS thread, as in every worker process: the numbers do not depend on --workers
    with blas_threads(1):
        results = reproduce(exps, ckpts, seed=args.seed, workers=args.workers, log=log)
    claims = {e.key: e.claim for e in exps}
    for r in results:
        r["claim"] = claims[r["key"]]
    kept = {p: {k: v for k, v in c.items() if k != "meta"} | {"path": _portable(c["path"])} | {
        "meta": {k: v for k, v in c["meta"].items()
                 if k not in ("curve", "final_losses", "optimizer")}}
        for p, c in ckpts.items()}
    payload = {"info": {"command": command, "quick": bool(args.quick),
                        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                        "commit": _git_commit(Path(__file__).parent), "workers": args.workers,
                        "load": load},
               "experiments": [asdict(e) for e in exps], "checkpoints": kept,
               "results": results}
    draw_figures(payload, img)
    self_ru = resource.getrusage(resource.RUSAGE_SELF)
    child_ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    payload["info"].update(wall_s=time.time() - t0, cpu_s=_cpu_s() - cpu0,
                           rss_main_mb=self_ru.ru_maxrss / 1024,
                           rss_workers_mb=child_ru.ru_maxrss / 1024)
    write_text(out / "docs" / "l2l_results.json", dump_payload(payload))
    write_reports(payload, out, readme)
    for r in results:
        print(f"{r['title']}: LSTM {_cell(r['lstm'])}; best baseline "
              f"{NAMES[r['verdict']['best_baseline']]} "
              f"{_cell(r[r['verdict']['best_baseline']])} -> {r['verdict']['text']}")
    wall = time.time() - t0
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(f"wrote {out / 'RESULTS.md'}, {img}/*.png, {out / 'docs' / 'l2l_results.json'}"
          + (f", {readme}" if readme else ""))
    print(f"wall time {wall:.1f} s ({wall / 60:.1f} min), CPU time {_cpu_s() - cpu0:.0f} s, "
          f"peak memory (ru_maxrss) {peak:.0f} MiB")
    return 0


def dump_payload(payload: dict) -> str:
    """The run as JSON: one line per experiment and optimizer, the per-step curves (for the
    figures) to 7 significant digits; every other number as computed."""
    def short(entry):
        return {k: ([v if v is None else float(f"{v:.7g}") for v in x]
                    if k in ("curve", "ci95") else x) for k, x in entry.items()}

    head = {k: v for k, v in payload.items() if k != "results"}
    lines = ["{", f' "info": {json.dumps(head["info"], allow_nan=False)},',
             f' "experiments": {json.dumps(head["experiments"], allow_nan=False)},',
             f' "checkpoints": {json.dumps(head["checkpoints"], allow_nan=False)},',
             ' "results": [']
    for i, res in enumerate(payload["results"]):
        top = {k: v for k, v in res.items() if k not in OPTIMIZERS}
        parts = [f'  {{"{k}": {json.dumps(v, allow_nan=False)}' if j == 0 else
                 f'   "{k}": {json.dumps(v, allow_nan=False)}' for j, (k, v) in
                 enumerate(list(top.items()) + [(n, short(res[n])) for n in OPTIMIZERS
                                                if n in res])]
        lines.append(",\n".join(parts) + ("}," if i < len(payload["results"]) - 1 else "}"))
    lines += [" ]", "}"]
    text = "\n".join(lines)
    json.loads(text)  # it parses
    return text


def draw_figures(payload: dict, img: Path) -> None:
    """One figure per experiment and the headline figure (every panel)."""
    results = payload["results"]
    train_steps = {p: c["meta"]["meta"]["steps"] for p, c in payload["checkpoints"].items()}
    dpi = 50 if payload["info"]["quick"] else 110
    for r in results:
        draw_experiment(r, img / figure_name(r["key"]), train_steps[r["problem"]], dpi=dpi)
    draw_headline(results, img / HEADLINE, train_steps, dpi=dpi)


def write_reports(payload: dict, out: Path, readme: Path | None) -> None:
    """RESULTS.md and (optionally) the README's results section, from a run's payload."""
    results, info = payload["results"], payload["info"]
    write_text(out / "RESULTS.md", render_results(results, payload["checkpoints"], info, out))
    if readme is not None:
        prefix = _rel(out / "docs" / "img", readme.parent) + "/"
        link = _rel(out / "RESULTS.md", readme.parent)
        update_readme(readme, render_readme_section(results, info, prefix, link,
                                                    payload["checkpoints"]))


def _rerender(args, out: Path, readme: Path | None) -> int:
    """--replot: figures, RESULTS.md and README section again from a run's JSON (no rollouts)."""
    src = out / "docs" / "l2l_results.json"
    if not src.is_file():
        raise ReproduceError(f"--replot: no {src} from an earlier run")
    payload = json.loads(src.read_text())
    draw_figures(payload, out / "docs" / "img")
    write_reports(payload, out, readme)
    print(f"rewrote {out / 'RESULTS.md'} and the figures from {src}"
          + (f" and {readme}" if readme else ""))
    return 0


def _cpu_s() -> float:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

