#!/usr/bin/env python3
"""Write the stored results of lessons 07 and 08: minigrad/course/lesson07_08_results.json.

Usage::

    python scripts/make_lesson07_08_results.py            # the full run (tens of CPU minutes)
    python scripts/make_lesson07_08_results.py --quick --out /tmp/r.json   # tiny, for tests

It runs the evaluation protocol of lesson 07 (:func:`minigrad.course.lesson07.run_experiments`,
which is :mod:`minigrad.l2l.evaluate`'s protocol with its seeds) with the SHIPPED MNIST learned
optimizer (``--checkpoint pretrained``, its best-on-validation weights when it has them) on
lesson 07's experiment (the paper's MNIST figure: sigmoid-20, 100 steps, 10 test runs, every
baseline tuned over 1e-4 ... 3 on 4 validation runs) and lesson 08's (200 steps, 40 units,
2 layers, ReLU, 1,000 steps, a width/depth sweep, Fashion-MNIST when its files are on this
machine), and writes every curve with its 95% interval, the tuned learning rates, and the
provenance: the checkpoint's SHA-256 and meta-iterations, this command, the date, the git
commit, the BLAS threads, the load average, wall and CPU time.

The notebooks load the file, refuse it when the shipped checkpoint has a different SHA-256
(then run this script again), and recompute a piece of it live. Why stored at all: one step of
the learned optimizer over the MLP's ~16k coordinates is an LSTM batch of ~16k rows (lesson 07
measures its cost live), and these experiments take thousands of them, plus the baselines'
learning-rate grids; the script prints its own wall and CPU time.

NumPy's BLAS runs with one thread here (``minigrad.threads.blas_threads(1)``, as the
l2l command line does): the matrices are small, and on a busy 2-core machine BLAS threads cost
more than they save. The numbers do not depend on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _cpu_s() -> float:
    s = resource.getrusage(resource.RUSAGE_SELF)
    return s.ru_utime + s.ru_stime


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _rel(path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def quick(exp):
    """A tiny version of an experiment (a few steps, 2 runs, 2 rates) for tests."""
    steps = 8 if exp.steps > 100 else 4
    return replace(exp, steps=steps, runs=2, val_runs=1, grid=(0.01, 0.1))


def main(argv=None) -> int:
    from minigrad.course import lesson07 as L7
    from minigrad.course import lesson08 as L8
    from minigrad.threads import blas_thread_counts, blas_threads

    with blas_threads(1):
        return _main(L7, L8, blas_thread_counts, argv)


def _main(L7, L8, blas_thread_counts, argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(L7.RESULTS_PATH), help="JSON file to write")
    parser.add_argument("--checkpoint", default="pretrained",
                        help="the MNIST learned optimizer: 'pretrained' (default) or a PATH")
    parser.add_argument("--weights", choices=("best", "last"), default="best")
    parser.add_argument("--quick", action="store_true", help="tiny experiments (for tests)")
    parser.add_argument("--only", default=None, help="comma-separated experiment keys")
    parser.add_argument("--seed", type=int, default=0, help="seed of the val/test problems")
    args = parser.parse_args(argv)

    t0, cpu0 = time.time(), _cpu_s()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    net, info = L7.load_pretrained("mnist", args.checkpoint, args.weights)
    exps = list(L7.EXPERIMENTS) + list(L8.EXPERIMENTS)
    if args.only:
        keys = {k.strip() for k in args.only.split(",") if k.strip()}
        unknown = keys - {e.key for e in exps}
        if unknown:
            parser.error(f"--only: unknown {sorted(unknown)}; expected some of "
                         f"{', '.join(e.key for e in exps)}")
        exps = [e for e in exps if e.key in keys]
    if args.quick:
        exps = [quick(e) for e in exps]
    fashion_ok, fashion_where = L8.fashion_available()
    if not fashion_ok:
        print(f"Fashion-MNIST is not on this machine, skipping it: {fashion_where}",
              file=sys.stderr)
        exps = [e for e in exps if e.dataset != "fashion-mnist"]

    factory = L8.problem_factory(info["problem"], info["dtype"])
    print(f"{len(exps)} experiments with {info['path']} ({info['weights']} weights, "
          f"{info['iteration']} meta-iterations)", file=sys.stderr)
    results = L7.run_experiments(exps, net, factory, seed=args.seed,
                                 log=lambda m: print(m, file=sys.stderr))

    from minigrad import __version__
    from minigrad.data.mnist5k import MNIST_5K_CONTENT_SHA256
    from minigrad.l2l.stats import CI_METHOD

    command = "python scripts/make_lesson07_08_results.py" + "".join(
        f" {a}" for a in (sys.argv[1:] if argv is None else argv))
    payload = {
        "format": L7.RESULTS_FORMAT,
        "generated_by": "scripts/make_lesson07_08_results.py",
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": _git_commit(),
        "minigrad_version": __version__,
        "quick": bool(args.quick),
        "checkpoint": {"spec": args.checkpoint, "path": _rel(info["path"]),
                       "sha256": info["sha256"], "weights": info["weights"],
                       "iteration": info["iteration"], "status": info["status"],
                       "command": info["command"]},
        "data": {"mnist_5k_sha256": MNIST_5K_CONTENT_SHA256,
                 "fashion_mnist": {"available": fashion_ok, "where": fashion_where,
                                   "split": "official test file, stratified 5,000 val / "
                                            "5,000 test (seed 0)"}},
        "seed": args.seed,
        "ci_method": CI_METHOD,
        "blas_threads": blas_thread_counts(),
        "load_average": load,
        "wall_s": time.time() - t0,
        "cpu_s": _cpu_s() - cpu0,
        "experiments": results,
    }
    path = L7.save_results(payload, args.out)
    print(f"wrote {path} ({path.stat().st_size:,} bytes); wall {payload['wall_s']:.0f} s, CPU "
          f"{payload['cpu_s']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
