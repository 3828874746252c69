"""Running the experiments: the protocol (:func:`minigrad.l2l.evaluate.run_experiments`) per
problem family, its rollouts computed in worker processes (each with one BLAS thread; the
numbers do not depend on how many)."""

from __future__ import annotations

import json
import re
import time

import numpy as np

from ..threads import blas_threads
from .baselines import OPTIMIZERS
from .checkpoints import (
    load_learned_optimizer,
)
from .claims import PaperExperiment
from .evaluate import BaselineRule, Experiment, LearnedRule, rollout, run_experiments
from .stats import CI_METHOD
from .verdicts import judge

__all__ = ["build_problem", "execute", "load_net", "reproduce", "run_job"]

_CACHE: dict = {}


def build_problem(spec: dict, split: str):
    """A problem family from a checkpoint's problem configuration (+ ``dtype``, and for MNIST
    the ``optimizee`` of the experiment)."""
    from .problems import problem_from_config

    return problem_from_config(spec, split=split)


def load_net(path: str, weights: str):
    """The learned optimizer of a checkpoint with its ``best`` (if any) or ``last`` weights."""
    return load_learned_optimizer(path, weights=weights)[0]


def _problem(spec: dict, split: str):
    """:func:`build_problem`, once per process for each (spec, split)."""
    key = ("problem", json.dumps(spec, sort_keys=True), split)
    if key not in _CACHE:
        _CACHE[key] = build_problem(spec, split)
    return _CACHE[key]


def run_job(job) -> np.ndarray:
    """One rollout: ``(rule, problem spec, split, seed, steps, checkpoint)`` -> losses of shape
    (runs in the instance, steps + 1), float64. Problems and networks are cached per process."""
    rule, spec, split, seed, steps, ckpt = job
    problem = _problem(spec, split)
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


def _protocol_experiment(exp: PaperExperiment) -> Experiment:
    """The protocol's view of a row of the claims table."""
    return Experiment(exp.key, exp.title, optimizee=exp.optimizee, steps=exp.steps,
                      runs=exp.runs, val_runs=exp.val_runs, grid=tuple(exp.grid),
                      dataset=exp.problem)


def _with_optimizee(spec: dict, family: str, optimizee) -> dict:
    return dict(spec, optimizee=optimizee) if family == "mnist" else dict(spec)


def _build(spec: dict, family: str, optimizee, split: str):
    return _problem(_with_optimizee(spec, family, optimizee), split)
