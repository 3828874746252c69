"""Engine overhead and throughput against raw NumPy (a benchmark, not a test).

    python benchmarks/bench_engine.py [--repeat 5]

Prints, for the same computation done with minigrad tensors and with plain NumPy arrays:

* per-node overhead on tiny arrays (a chain of 10,000 multiplications of a 0-d array,
  forward, and forward + backward), in microseconds per node and as a ratio;
* throughput on large arrays: an elementwise chain on 1,000,000 floats and a chain of
  512x512 matmuls (forward + backward), as a ratio minigrad / NumPy.

The NumPy reference for backward is the hand-written chain rule of the same chain, so the
ratio is the price of the engine, not of the arithmetic. Timings are the median of repeats of
this process's CPU time (``time.process_time``: other programs' load on a shared machine does
not inflate it); ``--wall`` measures wall-clock time instead.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import minigrad as mg

CLOCK = time.process_time


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return statistics.median(times)


def tiny_chain(n):
    def engine_forward():
        x = mg.tensor(np.array(1.0), requires_grad=True)
        y = x
        for _ in range(n):
            y = y * 1.0001
        return x, y

    def engine_both():
        x, y = engine_forward()
        y.backward()

    def numpy_forward():
        y = np.array(1.0)
        for _ in range(n):
            y = y * 1.0001
        return y

    def numpy_both():
        numpy_forward()
        g = np.array(1.0)
        for _ in range(n):
            g = g * 1.0001

    return engine_forward, numpy_forward, engine_both, numpy_both


def elementwise_chain(size, depth, rng):
    x0 = rng.standard_normal(size).astype(np.float32)

    def engine():
        x = mg.tensor(x0, requires_grad=True)
        y = x
        for _ in range(depth):
            y = (y * 0.9).tanh() + x
        y.sum().backward()

    def numpy_ref():
        ys, y = [], x0
        for _ in range(depth):
            t = np.tanh(y * np.float32(0.9))
            ys.append(t)
            y = t + x0
        g = np.ones_like(x0)
        gx = np.zeros_like(x0)
        for t in reversed(ys):
            gx += g
            g = g * (1 - t * t) * np.float32(0.9)
        gx += g

    return engine, numpy_ref


def matmul_chain(n, depth, rng):
    ws = [(rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32) for _ in range(depth)]
    x0 = rng.standard_normal((n, n)).astype(np.float32)

    def engine():
        params = [mg.tensor(w, requires_grad=True) for w in ws]
        y = mg.tensor(x0)
        for w in params:
            y = y @ w
        y.sum().backward()

    def numpy_ref():
        acts, y = [], x0
        for w in ws:
            acts.append(y)
            y = y @ w
        g = np.ones_like(y)
        for w, a in zip(reversed(ws), reversed(acts)):
            _ = a.T @ g
            g = g @ w.T

    return engine, numpy_ref


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.process_time
    rng = np.random.default_rng(0)
    rows = []
    n = 10_000
    ef, nf, eb, nb = tiny_chain(n)
    te, tn = median_time(ef, args.repeat), median_time(nf, args.repeat)
    rows.append(("tiny chain, forward", te / n * 1e6, tn / n * 1e6, "us/node"))
    te, tn = median_time(eb, args.repeat), median_time(nb, args.repeat)
    rows.append(("tiny chain, forward+backward", te / n * 1e6, tn / n * 1e6, "us/node"))
    e, r = elementwise_chain(1_000_000, 10, rng)
    rows.append(("elementwise 1e6 x 10, fwd+bwd", median_time(e, args.repeat) * 1e3,
                 median_time(r, args.repeat) * 1e3, "ms"))
    e, r = matmul_chain(512, 8, rng)
    rows.append(("matmul 512^2 x 8, fwd+bwd", median_time(e, args.repeat) * 1e3,
                 median_time(r, args.repeat) * 1e3, "ms"))
    print(f"{'case':34s} {'minigrad':>12s} {'numpy':>12s} {'ratio':>8s}")
    for name, a, b, unit in rows:
        print(f"{name:34s} {a:9.2f} {unit:<3s}{b:8.2f} {unit:<3s} {a / b:7.2f}x")


if __name__ == "__main__":
    main()
