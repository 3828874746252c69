"""Both cores for meta-training: processes against threads (a benchmark, not a test).

    python benchmarks/bench_processes.py --iters 3

One MNIST meta-iteration of the paper's setup (T = 100 in unrolls of 20, 2x20 LSTM over the
15,910 coordinates of the sigmoid-20 MLP), timed in wall-clock seconds in three ways, in this
one run, from the same weights and on the same problems:

* ``1 process``: :class:`~minigrad.l2l.meta.MetaTrainer`, one thread;
* ``1 process, 2 threads``: the same with the fused LSTM cell's blocks on two threads
  (:func:`minigrad.threads.array_threads`; they share Python's interpreter lock);
* ``2 processes``: :class:`~minigrad.l2l.parallel.ParallelMetaTrainer`, each process running
  the LSTM on half of the coordinates, each on one thread;
* ``2 processes, the worker's BLAS at its default threads``: the same with the worker's BLAS
  left at a fresh process's default of a thread per core (``worker_threads=0``; how the
  workers ran before they were given one thread).

Each configuration does one unmeasured meta-iteration first (the workers' start, caches),
then ``--iters`` measured ones; the median is reported, with its ratio to ``1 process``.
Stop other work first: the cores must be quiet.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _time(make_trainer, iters, threads):
    from minigrad.l2l import LSTMOptimizer, make_problem, net_defaults
    from minigrad.threads import array_threads

    problem = make_problem("mnist", "sigmoid-20", split="train")
    net = LSTMOptimizer(**net_defaults("mnist"))
    trainer = make_trainer(net, problem)
    seconds = []
    try:
        with array_threads(threads):
            trainer.train_iteration()  # warm-up
            for _ in range(iters):
                t0 = time.perf_counter()
                trainer.train_iteration()
                seconds.append(time.perf_counter() - t0)
    finally:
        getattr(trainer, "close", lambda: None)()
    return statistics.median(seconds), trainer.curve


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iters", type=int, default=3, help="measured meta-iterations (3)")
    args = p.parse_args(argv)
    from minigrad.l2l import MetaTrainer
    from minigrad.l2l.parallel import ParallelMetaTrainer
    from minigrad.threads import cpu_model

    configs = [
        ("1 process", lambda n, pr: MetaTrainer(n, pr), 1),
        ("1 process, 2 threads", lambda n, pr: MetaTrainer(n, pr), 2),
        ("2 processes", lambda n, pr: ParallelMetaTrainer(n, pr, processes=2), 1),
        ("2 processes, the worker's BLAS at its default threads",
         lambda n, pr: ParallelMetaTrainer(n, pr, processes=2, worker_threads=0), 1),
    ]
    cpu = cpu_model()
    print(f"# {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"# command: python benchmarks/bench_processes.py --iters {args.iters}")
    base, curves = None, []
    print("| configuration | seconds per meta-iteration (median) | speed-up |")
    print("| --- | --- | --- |")
    for name, make, threads in configs:
        seconds, curve = _time(make, args.iters, threads)
        base = base or seconds
        curves.append(curve)
        print(f"| {name} | {seconds:.2f} | {base / seconds:.2f}x |", flush=True)
    spread = max(abs(a - b) / abs(b) for c in curves[1:] for a, b in zip(c, curves[0]))
    print(f"# the {len(configs)} computed the same mean losses to a relative {spread:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
