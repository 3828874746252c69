"""Benchmark: composed vs fused LSTM cell at the learned optimizer's size (not a test).

Measures forward + backward of
  1. ONE LSTM step: batch 16,000 coordinates, input 2 (the preprocessed gradient), 20 units;
  2. a 20-step unroll of a 2-layer LSTM (20 units each), the learned optimizer's core, with a
     loss on every step's output (backpropagation through time over the whole unroll);
for the composed cell (primitive ops) and the fused cell (one node, hand-written backward),
and, when PyTorch is installed, torch.nn.LSTMCell on the CPU for reference.

Time: the median over repeats of this process's CPU time (``time.process_time``). On a shared
machine other programs' load does not inflate it, and with one thread it equals the wall time
on an idle machine; ``--wall`` measures wall-clock time instead.

Memory, two ways:
  * traced: the peak of NumPy's allocations during one run (``tracemalloc``), minigrad only;
  * RSS: the rise of the peak resident set size during one run, each variant in a fresh child
    process (Linux ``/proc``), comparable between minigrad and PyTorch.

    python benchmarks/bench_lstm.py                # one thread: the per-core figure
    python benchmarks/bench_lstm.py --threads 2 --repeats 7
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=16000)
    ap.add_argument("--hidden", type=int, default=20)
    ap.add_argument("--input", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    ap.add_argument("--no-rss", action="store_true", help="skip the child-process RSS runs")
    ap.add_argument("--rss-child", nargs=3, metavar=("VARIANT", "LAYERS", "STEPS"),
                    help=argparse.SUPPRESS)
    return ap.parse_args(argv)


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402


def make_inputs(steps):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((steps, ARGS.batch, ARGS.input)).astype(np.float32)
    weights = rng.standard_normal((steps, ARGS.batch, ARGS.hidden)).astype(np.float32)
    return xs, weights


def minigrad_runner(fused, layers, xs, weights):
    model = nn.LSTM(ARGS.input, ARGS.hidden, num_layers=layers, forget_bias=1.0,
                    fused=fused, seed=0)

    def run():
        """Forward through every step (a loss on each step's top output), then backward."""
        model.zero_grad()
        state, loss = None, None
        for t in range(xs.shape[0]):
            h, state = model.step(mg.Tensor(xs[t]), state)
            term = (h * mg.Tensor(weights[t])).sum()
            loss = term if loss is None else loss + term
        loss.backward()
        return loss.item()

    return run


def torch_runner(layers, xs, weights):
    import torch

    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(0)
    cells = [torch.nn.LSTMCell(ARGS.input if k == 0 else ARGS.hidden, ARGS.hidden)
             for k in range(layers)]
    txs, tws = torch.from_numpy(xs), torch.from_numpy(weights)

    def run():
        for c in cells:
            c.zero_grad()
        state, loss = [None] * layers, 0.0
        for t in range(txs.shape[0]):
            x = txs[t]
            for k, c in enumerate(cells):
                state[k] = c(x, state[k])
                x = state[k][0]
            loss = loss + (x * tws[t]).sum()
        loss.backward()
        return loss.item()

    return run


def runner(variant, layers, xs, weights):
    if variant == "torch":
        return torch_runner(layers, xs, weights)
    return minigrad_runner(variant == "fused", layers, xs, weights)


def time_it(fn):
    clock = time.perf_counter if ARGS.wall else time.process_time
    fn()  # warm-up
    times = []
    for _ in range(ARGS.repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def traced_peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_child(variant, layers, steps):
    """In a fresh process: run once (after a small warm-up at batch 64), print the rise of the
    peak RSS over the RSS before the run, in bytes."""
    xs, weights = make_inputs(steps)
    runner(variant, layers, xs[:, :64].copy(), weights[:, :64].copy())()  # load code paths
    run = runner(variant, layers, xs, weights)
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
        f.write("5")
    before = _status_kib("VmRSS")
    run()
    print((_status_kib("VmHWM") - before) * 1024)


def rss_peak(variant, layers, steps):
    if ARGS.no_rss or not os.path.exists("/proc/self/clear_refs"):
        return None
    cmd = [sys.executable, os.path.abspath(__file__), "--rss-child", variant, str(layers),
           str(steps), "--batch", str(ARGS.batch), "--hidden", str(ARGS.hidden),
           "--input", str(ARGS.input), "--threads", str(ARGS.threads)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return int(done.stdout.strip().splitlines()[-1])


def mib(n):
    return "      n/a" if n is None else f"{n / 2**20:7.1f} MiB"


def bench(title, layers, steps):
    xs, weights = make_inputs(steps)
    variants = ["composed", "fused"]
    if not ARGS.no_torch:
        try:
            import torch  # noqa: F401

            variants.append("torch")
        except ImportError:
            pass
    res = {}
    for v in variants:
        run = runner(v, layers, xs, weights)
        traced = None if v == "torch" else traced_peak(run)
        res[v] = (time_it(run), traced, rss_peak(v, layers, steps))
    print(f"{title}: batch {ARGS.batch}, input {ARGS.input}, hidden {ARGS.hidden}, "
          f"{layers} layer(s), {steps} step(s), forward+backward, {ARGS.threads} thread(s)")
    print(f"  {'':22s} {'time':>10s}   {'traced peak':>11s}   {'RSS peak rise':>13s}")
    names = {"composed": "minigrad composed", "fused": "minigrad fused",
             "torch": "torch.nn.LSTMCell"}
    for v, (t, traced, rss) in res.items():
        print(f"  {names[v]:22s} {t * 1e3:8.1f} ms   {mib(traced):>11s}   {mib(rss):>13s}")
    (tc, mc, rc), (tf, mf, rf) = res["composed"], res["fused"]
    line = f"  fused vs composed: {tc / tf:.2f}x faster, {mc / mf:.2f}x less traced memory"
    print(line + (f", {rc / rf:.2f}x less RSS" if rc and rf else ""))
    if "torch" in res:
        tt, _, rt = res["torch"]
        line = f"  fused vs PyTorch:  {tt / tf:.2f}x faster"
        print(line + (f", {rt / rf:.2f}x less RSS" if rt and rf else "")
              + "   (above 1: minigrad wins)")
    else:
        print("  (PyTorch not installed: no comparison with it)")
    print()


def main():
    if ARGS.rss_child:
        variant, layers, steps = ARGS.rss_child
        rss_child(variant, int(layers), int(steps))
        return
    clock = "wall-clock" if ARGS.wall else "CPU"
    print(f"numpy {np.__version__}, minigrad {mg.__version__}; median {clock} time of "
          f"{ARGS.repeats} runs\n")
    bench("one LSTM step", 1, 1)
    bench(f"{ARGS.steps}-step unroll", ARGS.layers, ARGS.steps)


if __name__ == "__main__":
    main()
