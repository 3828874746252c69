"""Benchmark: the fused LSTM cell's block size on one MNIST meta-iteration (not a test).

Runs one warm-up meta-iteration of the paper's MNIST setup, keeps the trainer's state, then
times the SAME next meta-iteration (restored each time) with each block size, alternating the
sizes over the repeats. Prints the best CPU time per size and its ratio to the first size
(the first should be one block: a size >= the 15,910 coordinates).

``--contend`` runs a memory-bound NumPy loop in another process meanwhile (on another core if
there is one), as when a long meta-training shares the machine with other work.

    python benchmarks/bench_blocks.py                          # 16384,2048,1024,512,256
    python benchmarks/bench_blocks.py --sizes 16384,512 --contend
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing as mp
import time


def _memory_hog(stop):
    import numpy as np

    a = np.ones(2**24, np.float32)  # 64 MB: far beyond any cache
    while not stop.is_set():
        a *= 1.0000001


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="16384,2048,1024,512,256")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--contend", action="store_true", help="a memory-bound process meanwhile")
    args = ap.parse_args(argv)
    sizes = [int(v) for v in args.sizes.split(",")]

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import minigrad.nn.fused_lstm as fused
    from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
    from minigrad.l2l.meta import MetaConfig, MetaTrainer
    from minigrad.l2l.problems import make_problem

    net = LSTMOptimizer(**net_defaults("mnist"), dtype="float32")
    problem = make_problem("mnist", "sigmoid-20", split="train", dtype="float32")
    trainer = MetaTrainer(net, problem, MetaConfig())
    trainer.train_iteration()
    snap = copy.deepcopy(trainer.snapshot())

    stop = mp.Event()
    hog = mp.Process(target=_memory_hog, args=(stop,), daemon=True) if args.contend else None
    if hog:
        hog.start()
    best = {}
    try:
        for _ in range(args.repeats):
            for size in sizes:
                fused.BLOCK = size
                trainer.restore(copy.deepcopy(snap))
                t = time.process_time()
                loss = trainer.train_iteration()
                dt = time.process_time() - t
                best[size] = min(best.get(size, dt), dt)
                print(f"block {size:6d}: {dt:6.2f} s CPU (mean loss {loss:.6f})", flush=True)
    finally:
        if hog:
            stop.set()
            hog.join()
    print(f"\nbest of {args.repeats}, {'with' if hog else 'without'} a competing process:")
    for size in sizes:
        print(f"  block {size:6d}: {best[size]:6.2f} s   ratio to block {sizes[0]}: "
              f"{best[size] / best[sizes[0]]:.2f}")


if __name__ == "__main__":
    main()
