"""A cheaper meta-gradient: the fraction of coordinates backpropagated (a benchmark, not a test).

    python benchmarks/bench_meta_coordinates.py --fractions 1,0.5,0.25,0.1 --iters 3

One MNIST meta-iteration of the fast recipe's settings (its optimizer and training nets, the
logmean meta-loss; T = 100 in unrolls of ``--unroll``, 10 at the start of a run and 100 at its
end), timed in wall-clock seconds for each fraction F of the 15,910 coordinates the
meta-gradient flows through (``--meta-coordinates F``; the LSTM runs forward only, without a
graph, on the rest), in this one run, from the same weights and on the same problems, on
``--processes`` processes. Each fraction does one unmeasured meta-iteration first (the
workers' start, caches), then ``--iters`` measured ones; the median is reported with its
ratio to F = 1 (all coordinates, what the recipe does now). Stop other work first: the cores
must be quiet.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _time(fraction: float, unroll: int, processes: int, iters: int) -> float:
    from minigrad.l2l.launch import base_config, build_trainer
    from minigrad.l2l.recipes import get_recipe

    net, meta, problem, dtype = base_config("mnist", get_recipe("fast"))
    meta = {**meta, "unroll": unroll, "unroll_doubling": 0, "meta_coordinates": fraction}
    trainer = build_trainer("mnist", net, meta, problem, dtype, processes=processes)
    seconds = []
    try:
        trainer.train_iteration()  # warm-up
        for _ in range(iters):
            t0 = time.perf_counter()
            trainer.train_iteration()
            seconds.append(time.perf_counter() - t0)
    finally:
        getattr(trainer, "close", lambda: None)()
    return statistics.median(seconds)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fractions", default="1,0.5,0.25,0.1",
                   help="fractions of the coordinates, the first the reference (1,0.5,0.25,0.1)")
    p.add_argument("--unroll", type=int, default=100, help="unroll length (100)")
    p.add_argument("--processes", type=int, default=1, help="processes (1)")
    p.add_argument("--iters", type=int, default=3, help="measured meta-iterations (3)")
    args = p.parse_args(argv)
    from minigrad.threads import array_threads

    fractions = [float(f) for f in args.fractions.split(",")]
    print(f"MNIST meta-iteration, fast recipe, unrolls of {args.unroll}, "
          f"{args.processes} process(es), median of {args.iters}:")
    with array_threads(1):
        times = {f: _time(f, args.unroll, args.processes, args.iters) for f in fractions}
    ref = times[fractions[0]]
    for f, s in times.items():
        print(f"  meta-coordinates {f:<5g} {s:6.2f} s   {s / ref:5.2f}x of F = {fractions[0]:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
