"""``python -m minigrad.l2l reproduce``: every experiment of the paper that a CPU can carry,
with the pretrained optimizers, against tuned baselines, side by side with the paper's claims.

    python -m minigrad.l2l reproduce --workers 2             # the full run, into runs/reproduce
    python -m minigrad.l2l reproduce --quick                 # reduced: runs/reproduce-quick
    python -m minigrad.l2l reproduce --workers 2 --readme README.md   # the repository's results

This module is the command; the work lives where its name says: the experiments as data and
their claims in :mod:`~minigrad.l2l.claims`, running them through the one protocol in
:mod:`~minigrad.l2l.runner`, the verdicts in :mod:`~minigrad.l2l.verdicts`, RESULTS.md and the
README rows in :mod:`~minigrad.l2l.report`, the figures in :mod:`~minigrad.l2l.plots`.

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

Outputs, under ``--out``: ``RESULTS.md``, ``docs/img/l2l_<key>.png`` (one paper-style figure
per experiment: log scale, 95% bands), ``docs/img/l2l_results.png`` (every panel in one figure)
and ``docs/l2l_results.json`` (every curve and number). By default they go to
``runs/reproduce`` (``runs/reproduce-quick`` with ``--quick``), so trying the command never
overwrites the results shipped with the repository. ``--readme README.md`` asks for those: it
rewrites the part of the README between ``<!-- reproduce:begin -->`` and
``<!-- reproduce:end -->``, and without ``--out`` the files go beside that README (the
repository's ``RESULTS.md`` and ``docs/``). Wall time, CPU time and peak memory
(``ru_maxrss``) are printed at the end and written to RESULTS.md.

``--workers N`` runs the rollouts in N worker processes, each with one BLAS thread (the main
process too, when N = 1; see :mod:`minigrad.threads`); the numbers do not depend on N.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path

from ..files import file_digest
from ..threads import blas_threads
from .baselines import BASELINES, DISPLAY_NAMES
from .checkpoints import (
    CheckpointMismatch,
    read_checkpoint,
    resolve_checkpoint,
    split_arrays,
)
from .claims import PaperExperiment, experiments
from .plots import draw_figures, draw_training_curve, training_figure_name
from .report import (
    README_BEGIN,
    README_END,
    ReproduceError,
    _cell,
    dump_payload,
    update_readme,
    write_reports,
    write_text,
)
from .runner import load_net, reproduce
from .sizes import WORKER_BYTES, RequestTooLarge, check_fits, protocol_bytes
from .verdicts import judge

NAMES = DISPLAY_NAMES
#: Where ``reproduce`` writes without ``--out`` or ``--readme`` (git ignores runs/).
DEFAULT_OUT = "runs/reproduce"

__all__ = [
    "PaperExperiment", "README_BEGIN", "README_END", "add_parser", "cmd_reproduce",
    "experiments", "judge", "reproduce", "update_readme",
]


# ------------------------------------------------------------------------------------ CLI ---
def add_parser(sub) -> argparse.ArgumentParser:
    r = sub.add_parser(
        "reproduce", help="run every experiment of the paper and write RESULTS.md and figures",
        description="Run every experiment (quadratics; MNIST 100 and 200 steps, 40 units, 2 "
                    "layers, ReLU; long horizons) with the pretrained optimizers against tuned "
                    "baselines, and write RESULTS.md, figures and JSON.")
    r.add_argument("--out", default=None,
                   help="folder for RESULTS.md, docs/img/*.png, docs/l2l_results.json "
                        f"(default: {DEFAULT_OUT}, {DEFAULT_OUT}-quick with --quick; with "
                        "--readme, that README's folder)")
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
                   help=f"also rewrite this README between {README_BEGIN} and {README_END}; "
                        "without --out the results go beside it (the repository's own)")
    r.add_argument("--replot", action="store_true",
                   help="only redraw the figures and rewrite RESULTS.md (and --readme) from the "
                        "docs/l2l_results.json of an earlier run under --out")
    r.add_argument("--no-progress", action="store_true", help="no progress messages")
    return r


def output_folder(args) -> Path:
    """Where the results go: ``--out``; else beside ``--readme`` (the repository's results,
    asked for by naming its README); else ``runs/reproduce[-quick]``, never the checkout."""
    if args.out is not None:
        return Path(args.out)
    if args.readme:
        return Path(args.readme).parent
    return Path(DEFAULT_OUT + ("-quick" if args.quick else ""))


def _load_ckpt(spec, problem, weights) -> dict:
    try:
        path = resolve_checkpoint(spec, problem)
        arrays, meta = read_checkpoint(path, problem)
        load_net(str(path), weights)
    except (FileNotFoundError, CheckpointMismatch, ValueError, TypeError) as exc:
        raise ReproduceError(str(exc)) from None
    return {"path": str(path.resolve()), "weights": weights, "meta": meta,
            "has_best": bool(split_arrays(arrays, "best")),
            "sha256": file_digest(path)}


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


def _check_size(exps, workers: int) -> None:
    """ReproduceError if the experiments' loss curves and the worker processes cannot fit in
    the memory available (:mod:`minigrad.l2l.sizes`)."""
    need = workers * WORKER_BYTES + sum(
        protocol_bytes(steps=e.steps, runs=e.runs, val_runs=e.val_runs, baselines=len(BASELINES),
                       grid=len(e.grid)) for e in exps)
    try:
        check_fits(need, f"reproduce with {len(exps)} experiment(s) and {workers} worker "
                         "process(es)", "--workers (or run fewer experiments with --only)")
    except RequestTooLarge as exc:
        raise ReproduceError(str(exc)) from None


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
    exps = _selected_experiments(args)
    _check_size(exps, args.workers)
    out = output_folder(args)
    readme = _checked_readme(args)
    if args.replot:
        return _rerender(args, out, readme)
    flags = {"quadratic": args.quadratic_checkpoint, "mnist": args.mnist_checkpoint}
    ckpts = {p: _load_ckpt(flags[p], p, args.weights) for p in sorted({e.problem for e in exps})}
    img = out / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    log(f"reproduce: {len(exps)} experiments ({'quick' if args.quick else 'full'}), "
        f"{args.workers} worker(s) -> {out}")

    # one BLAS thread, as in every worker process: the numbers do not depend on --workers
    with blas_threads(1):
        results = reproduce(exps, ckpts, seed=args.seed, workers=args.workers, log=log)
    claims = {e.key: e.claim for e in exps}
    for r in results:
        r["claim"] = claims[r["key"]]
    payload = _payload(args, exps, ckpts, results, load)
    draw_figures(payload, img)
    for problem, c in ckpts.items():  # the meta-training curves (the checkpoints carry them)
        draw_training_curve(c["meta"], img / training_figure_name(problem),
                            title=f"meta-training of the {problem} optimizer")
    self_ru = resource.getrusage(resource.RUSAGE_SELF)
    child_ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    payload["info"].update(wall_s=time.time() - t0, cpu_s=_cpu_s() - cpu0,
                           rss_main_mb=self_ru.ru_maxrss / 1024,
                           rss_workers_mb=child_ru.ru_maxrss / 1024)
    write_text(out / "docs" / "l2l_results.json", dump_payload(payload))
    write_reports(payload, out, readme)
    _print_summary(results, out, img, readme, t0, cpu0)
    return 0


def _selected_experiments(args) -> list:
    """The experiments of the run (``--quick``), only those of ``--only`` when given."""
    exps = experiments(args.quick)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = sorted(set(keys) - {e.key for e in exps})
        if unknown or not keys:
            raise ReproduceError(f"--only: unknown {unknown or 'empty list'}; expected some of "
                                 f"{', '.join(e.key for e in exps)}")
        exps = [e for e in exps if e.key in keys]
    return exps


def _checked_readme(args) -> Path | None:
    """``--readme`` as a path, checked before any work: a file with the markers."""
    if not args.readme:
        return None
    readme = Path(args.readme)
    if not readme.is_file():
        raise ReproduceError(f"--readme {readme}: no such file")
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise ReproduceError(f"--readme {readme}: no '{README_BEGIN}' ... '{README_END}' "
                             "markers to write between")
    return readme


def _payload(args, exps: list, ckpts: dict, results: list, load: float) -> dict:
    """What ``docs/l2l_results.json`` holds (its ``info`` completed with the costs later):
    the command, the experiments, the checkpoints (portable paths, their metadata without the
    bulky curves) and the results."""
    argv = getattr(args, "_argv", None)
    command = " ".join(["python -m minigrad.l2l"] + (sys.argv[1:] if argv is None else argv))
    kept = {p: {k: v for k, v in c.items() if k != "meta"} | {"path": _portable(c["path"])} | {
        "meta": {k: v for k, v in c["meta"].items()
                 if k not in ("curve", "final_losses", "optimizer")}}
        for p, c in ckpts.items()}
    return {"info": {"command": command, "quick": bool(args.quick),
                     "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                     "commit": _git_commit(Path(__file__).parent), "workers": args.workers,
                     "load": load},
            "experiments": [asdict(e) for e in exps], "checkpoints": kept,
            "results": results}


def _print_summary(results: list, out: Path, img: Path, readme: Path | None, t0: float,
                   cpu0: float) -> None:
    """A line per experiment (its verdict), the files written, and what the run cost."""
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

