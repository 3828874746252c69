"""Where one MNIST meta-iteration's time goes (a profile, not a test).

    python benchmarks/profile_meta.py --out benchmarks/PROFILE.md

One warm-up meta-iteration of the paper's MNIST setup (so the optimizer has moved, as in real
training; ``--checkpoint PATH`` starts from a trained optimizer's weights instead, e.g. the
long run's ``training/mnist-paper/checkpoint.npz``), then the SAME next meta-iteration is timed
in each configuration, with every category measured by wrapping the functions that do that
work:

* LSTM matrix products / LSTM elementwise: every NumPy call inside the fused LSTM cell (the
  cell receives a timing proxy in place of the ``numpy`` module), split into ``matmul`` and the
  rest (exp, reciprocal, products, sums, copies);
* subnormal flush: :func:`minigrad.subnormals.flush_subnormals_` inside the cell;
* LSTM cell, Python: the cell's forward and backward minus the three above (slicing, blocks,
  allocation of its arrays);
* LogAndSign: the gradient preprocessing;
* optimizee loss and gradient: the MLP's forward and backward at every step;
* meta-optimizer: Adam's step on the LSTM's weights;
* graph bookkeeping, head and the rest: whatever else (building the graph, the head, the
  backward walk, the ops that carry gradients between nodes).

Configurations: ``before`` = subnormals kept, the cell in one block and N BLAS threads (the
state before the subnormal fix, the blocks and the block threads), ``after`` = the defaults
with ``--threads N`` (the cell's blocks in the CPU's flush-to-zero mode where it has one, see
:mod:`minigrad.subnormals`); N = 1 and 2.
Wrapping adds a little time per call; the categories are what matters, not the total.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TIMES: dict = defaultdict(float)


def _timed(category, fn):
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[category] += time.perf_counter() - t
    return wrapper


class _TimingNumpy:
    """Stands in for the ``numpy`` module inside the fused cell; times each call."""

    def __init__(self, np):
        self._np = np
        self.__name__ = "numpy"

    def __getattr__(self, name):
        value = getattr(self._np, name)
        if not callable(value) or isinstance(value, type):
            return value
        category = "LSTM matrix products" if name == "matmul" else "LSTM elementwise"
        return _timed(category, value)


@contextlib.contextmanager
def _instrumented():
    import numpy as np

    import minigrad.l2l.meta as meta
    import minigrad.nn.fused_lstm as fused
    from minigrad import optim
    from minigrad.l2l.preprocess import LogAndSign

    proxy = _TimingNumpy(np)
    saved = (fused.get_array_module, fused.flush_subnormals_, fused.FusedLSTMCellFunction.forward,
             fused.FusedLSTMCellFunction.backward, LogAndSign._array, meta._loss_and_grad,
             optim.Adam.step)
    fused.get_array_module = lambda *a: proxy
    fused.flush_subnormals_ = _timed("subnormal flush", saved[1])
    fused.FusedLSTMCellFunction.forward = staticmethod(_timed("LSTM cell", saved[2]))
    fused.FusedLSTMCellFunction.backward = staticmethod(_timed("LSTM cell", saved[3]))
    LogAndSign._array = _timed("LogAndSign", saved[4])
    meta._loss_and_grad = _timed("optimizee loss and gradient", saved[5])
    optim.Adam.step = _timed("meta-optimizer (Adam)", saved[6])
    try:
        yield
    finally:
        (fused.get_array_module, fused.flush_subnormals_, fused.FusedLSTMCellFunction.forward,
         fused.FusedLSTMCellFunction.backward, LogAndSign._array, meta._loss_and_grad,
         optim.Adam.step) = saved


CATEGORIES = ("LSTM matrix products", "LSTM elementwise", "subnormal flush", "LSTM cell, Python",
              "LogAndSign", "optimizee loss and gradient", "meta-optimizer (Adam)",
              "graph bookkeeping, head and the rest")


def profile(trainer, snap, *, before: bool, threads: int) -> dict:
    import minigrad.nn.fused_lstm as fused
    from minigrad.subnormals import keep_subnormals
    from minigrad.threads import array_threads, blas_threads

    block = fused.BLOCK
    fused.BLOCK = 1 << 30 if before else block
    TIMES.clear()
    trainer.restore(copy.deepcopy(snap))
    try:
        # before: BLAS threads only (there was no block pool); after: --threads as today
        threading = blas_threads(threads) if before else array_threads(threads)
        exact = keep_subnormals() if before else contextlib.nullcontext()
        with threading, exact, _instrumented():
            t0, c0 = time.perf_counter(), time.process_time()
            trainer.train_iteration()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        fused.BLOCK = block
    parts = dict(TIMES)
    inner = sum(parts.get(k, 0.0) for k in ("LSTM matrix products", "LSTM elementwise",
                                            "subnormal flush"))
    parts["LSTM cell, Python"] = max(parts.pop("LSTM cell", 0.0) - inner, 0.0)
    parts["graph bookkeeping, head and the rest"] = max(wall - sum(parts.values()), 0.0)
    return {"wall": wall, "cpu": cpu, "parts": parts}


def main(argv=None):
    from minigrad.threads import cpu_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default=None, help="write the table here (Markdown)")
    ap.add_argument("--checkpoint", default=None,
                    help="start from this trained optimizer's last weights (default: fresh "
                         "weights and one warm-up meta-iteration)")
    args = ap.parse_args(argv)
    threads = [int(v) for v in args.threads.split(",")]

    from minigrad.l2l.checkpoints import load_learned_optimizer
    from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
    from minigrad.l2l.meta import MetaConfig, MetaTrainer
    from minigrad.l2l.problems import make_problem
    from minigrad.threads import blas_threads

    if args.checkpoint:
        net, _ = load_learned_optimizer(args.checkpoint, "mnist", "last")
        start = f"the last weights of `{args.checkpoint}`, then one warm-up meta-iteration"
    else:
        net = LSTMOptimizer(**net_defaults("mnist"), dtype="float32")
        start = "fresh weights and one warm-up meta-iteration"
    trainer = MetaTrainer(net, make_problem("mnist", "sigmoid-20", split="train",
                                            dtype="float32"), MetaConfig())
    with blas_threads(1):
        trainer.train_iteration()  # warm-up: the optimizer moves
    snap = copy.deepcopy(trainer.snapshot())
    results = {}
    for n in threads:
        for before in (True, False):
            key = (("before" if before else "after"), n)
            results[key] = profile(trainer, snap, before=before, threads=n)
            print(f"{key[0]:6s} {n} thread(s): {results[key]['wall']:.2f} s wall, "
                  f"{results[key]['cpu']:.2f} s CPU", flush=True)
    cols = [(k, n) for n in threads for k in ("before", "after")]
    lines = ["# Where one MNIST meta-iteration's time goes", "",
             "Written by `python benchmarks/profile_meta.py " + " ".join(
                 sys.argv[1:] if argv is None else argv) + "` on "
             + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
             + "; do not edit by hand. CPU: " + cpu_model() + ". Seconds per category in the "
             "same meta-iteration (the paper's MNIST setup; start: " + start + "); with 2 "
             "threads a category adds up the time of every thread, so the categories can "
             "exceed the wall time (the rest is then shown as 0). "
             "`before`: subnormals kept, the fused cell in one block, and N BLAS threads (the "
             "code before the subnormal fix, the blocks and the block threads); `after`: "
             "today's defaults (`--threads N`). The module docstring says how each category is "
             "measured.", "",
             "| category | " + " | ".join(f"{k}, {n} thr" for k, n in cols) + " |",
             "| --- | " + " | ".join("---" for _ in cols) + " |"]
    for cat in CATEGORIES:
        lines.append(f"| {cat} | " + " | ".join(
            f"{results[c]['parts'].get(cat, 0.0):.2f}" for c in cols) + " |")
    lines.append("| **total (wall)** | " + " | ".join(f"**{results[c]['wall']:.2f}**"
                                                       for c in cols) + " |")
    lines.append("| total (CPU) | " + " | ".join(f"{results[c]['cpu']:.2f}" for c in cols)
                 + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        from minigrad.files import atomic_write_text

        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
