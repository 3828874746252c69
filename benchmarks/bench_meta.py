"""Meta-training cost, minigrad against PyTorch at its best (a benchmark, not a test).

    python benchmarks/bench_meta.py --results benchmarks/RESULTS.md     # the full table
    python -m minigrad.l2l bench ...                                    # the same, from a checkout

For each problem (the paper's quadratic family, 128 functions x 10 dims; the MNIST MLP
784-20-10 sigmoid) and each thread count, one META-ITERATION is measured: a fresh problem, a
horizon of T = 100 optimizee steps in unrolls of K = 20, each unroll ending with the
meta-gradient and one Adam step on phi (5 meta-updates). Both implementations do exactly the
same computation:

* the same problem instances (drawn by minigrad's problem classes from the same seeds, the
  same MNIST minibatch at every step), float32 end to end;
* the same learned optimizer: a 2-layer LSTM of 20 units, a linear head 20 -> 1 and the output
  scale, coordinatewise over every optimizee coordinate, started from the same weights (the
  PyTorch modules get minigrad's initial state dict, whose names are PyTorch's);
* the same preprocessing (LogAndSign, p = 10 for MNIST; none for the quadratic) and the same
  first-order cut (PyTorch: ``g_t.detach()``), the paper's meta-loss sum_t f(theta_t) and
  Adam (lr 1e-3) on phi.

The PyTorch side (``benchmarks/torch_reference.py``) is the plain implementation one would
write; minigrad's is :class:`~minigrad.l2l.meta.MetaTrainer` itself. PyTorch runs twice: as a
user runs it (``torch``) and with ``torch.set_flush_denormal(True)`` (``torch-ftz``: subnormal
floats flushed by the CPU, which removes the same slowdown minigrad removes in its fused LSTM
cell, see :mod:`minigrad.subnormals`). The targets judge minigrad against the BETTER of the two.
The first iteration's mean optimizee loss is printed for every side as a check that they
compute the same thing.

The floor: the matrix-product FLOPs of one meta-iteration (counted from the shapes, see
:func:`meta_iteration_flops`) divided by the rate NumPy's BLAS reaches on a large float32
product with the same thread count, measured in the same run. No implementation can beat it
(the elementwise work comes on top); ``x floor`` says how far each side is from it.

Each configuration runs in a FRESH child process, with the thread count fixed before NumPy or
PyTorch is imported (``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` in its environment, and
``torch.set_num_threads``), so its peak memory is its own:

* time: the median over ``--iters`` meta-iterations, after ``--warmup`` unmeasured ones, of
  the process CPU time (``time.process_time``; the primary figure: on a shared machine other
  programs' load inflates wall time far more) and of the wall time;
* memory: the peak resident set size of the child (``VmHWM`` in ``/proc/self/status``,
  or ``getrusage`` elsewhere), and its rise above the resident size once everything is
  imported and set up (what the meta-iterations themselves add).

PyTorch is needed only here and only on the PyTorch side; without it the minigrad figures are
printed alone. ``MINIGRAD_BACKEND=cupy`` runs the minigrad side on the GPU (the PyTorch side
too when ``torch.cuda`` works; wall time then matters, CPU time does not).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the repository, when run as a script

PROBLEMS = ("quadratic", "mnist")
IMPLS = ("minigrad", "torch", "torch-ftz")
#: minigrad / (the better PyTorch) at most, for (time, peak memory)
TARGETS = {"mnist": (0.5, 0.5), "quadratic": (0.7, 0.7)}
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_LIFETIME: list = []


# ------------------------------------------------------------------------------ arguments ---
def _int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _name_list(choices):
    def parse(text):
        names = [v.strip() for v in text.split(",") if v.strip()]
        bad = [n for n in names if n not in choices]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"expected some of {','.join(choices)}, got "
                                             f"{text!r}")
        return names
    return parse


def build_parser() -> argparse.ArgumentParser:
    b = argparse.ArgumentParser(prog="benchmarks/bench_meta.py",
                                description=__doc__.split("\n\n")[0])
    b.add_argument("--problems", type=_name_list(PROBLEMS), default=list(PROBLEMS),
                   help="comma-separated subset of quadratic,mnist (both)")
    b.add_argument("--threads", type=_int_list, default=[1, 2],
                   help="BLAS/PyTorch thread counts to measure, comma-separated (1,2)")
    b.add_argument("--impls", type=_name_list(IMPLS), default=list(IMPLS),
                   help="comma-separated subset of minigrad,torch,torch-ftz (all)")
    b.add_argument("--iters", type=int, default=None,
                   help="measured meta-iterations per configuration (quadratic 10, mnist 3)")
    b.add_argument("--warmup", type=int, default=1, help="unmeasured meta-iterations first (1)")
    b.add_argument("--no-lstm", dest="lstm", action="store_false",
                   help="skip benchmarks/bench_lstm.py (fused vs composed cell, memory of a "
                        "20-step unroll; run when this is a source checkout)")
    b.add_argument("--json", default=None, help="also write every measurement here (JSON)")
    b.add_argument("--results", default=None,
                   help="write the table (command, CPU, date, ratios, floor) here, e.g. "
                        "benchmarks/RESULTS.md")
    b.add_argument("--child", nargs=5, metavar=("IMPL", "PROBLEM", "THREADS", "ITERS", "WARMUP"),
                   help=argparse.SUPPRESS)
    return b


# ------------------------------------------------------------------------------- children ---
def _status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _peak_rss_bytes():
    peak = _status_kib("VmHWM")
    if peak is None:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return peak * 1024


def _rss_bytes():
    rss = _status_kib("VmRSS")
    return None if rss is None else rss * 1024


def _blas_threads():
    """What NumPy's BLAS actually uses (its thread counts, read through threadpoolctl)."""
    from minigrad.threads import blas_thread_counts

    return blas_thread_counts()


def _minigrad_iteration_fn(problem_name, cfg=None):
    from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
    from minigrad.l2l.meta import MetaConfig, MetaTrainer
    from minigrad.l2l.problems import make_problem

    trainer = MetaTrainer(LSTMOptimizer(**net_defaults(problem_name)), make_problem(problem_name),
                          cfg or MetaConfig())
    return trainer.train_iteration, "cuda" if trainer.net.head.weight.device == "cuda" else "cpu"


def run_child(impl, problem_name, threads, iters, warmup) -> dict:
    """Measure one configuration in this (fresh) process; returns the record."""
    if impl.startswith("torch"):
        sys.path.insert(0, HERE)
        from torch_reference import torch_iteration_fn

        fn, device = torch_iteration_fn(problem_name, threads,
                                        flush_denormal=impl == "torch-ftz")
    elif impl == "floor":
        return {"impl": impl, "threads": threads, "gflops": matmul_gflops(), "problem": None}
    else:
        from minigrad.threads import array_threads

        # for this child's whole life (kept referenced: a dropped context would close itself)
        _LIFETIME.append(array_threads(threads).__enter__())
        fn, device = _minigrad_iteration_fn(problem_name)
    rss_setup = _rss_bytes()
    first = None
    cpu, wall = [], []
    for k in range(warmup + iters):
        c0, w0 = time.process_time(), time.perf_counter()
        value = fn()
        c1, w1 = time.process_time(), time.perf_counter()
        first = value if first is None else first
        if k >= warmup:
            cpu.append(c1 - c0)
            wall.append(w1 - w0)
    return {"impl": impl, "problem": problem_name, "threads": threads, "device": device,
            "cpu_s": cpu, "wall_s": wall, "first_loss": first,
            "peak_rss": _peak_rss_bytes(), "setup_rss": rss_setup,
            "peak_gpu": _peak_gpu_bytes(impl, device), "blas_threads": _blas_threads()}


def _peak_gpu_bytes(impl, device):
    """GPU memory at its peak: PyTorch's allocator peak, or the bytes CuPy's pool holds (it
    keeps every block it ever needed at once, so its size is the peak). None on the CPU."""
    if device != "cuda":
        return None
    if impl.startswith("torch"):
        import torch

        return int(torch.cuda.max_memory_allocated())
    import cupy

    return int(cupy.get_default_memory_pool().total_bytes())


def _spawn(impl, problem_name, threads, iters, warmup):
    env = dict(os.environ)
    for var in _THREAD_VARS:
        env[var] = str(threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", impl, str(problem_name),
           str(threads), str(iters), str(warmup)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"impl": impl, "problem": problem_name, "threads": threads,
                "error": " | ".join(tail) or f"exit status {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------- report ---
def _median(xs):
    return statistics.median(xs) if xs else float("nan")


def _mib(n):
    return "n/a" if n is None else f"{n / 2**20:.0f} MiB"


def _ratio(a, b):
    return a / b if a is not None and b else float("nan")


def _table(records, impls):
    lines = []
    gpu = any(r.get("peak_gpu") is not None for r in records)
    head = (f"{'problem':10s} {'thr':>3s} {'impl':9s} {'CPU s/it':>9s} {'wall s/it':>9s} "
            f"{'peak RSS':>9s} {'rise':>9s} {'1st-iter loss':>14s}"
            + (f" {'peak GPU':>9s}" if gpu else ""))
    lines += [head, "-" * len(head)]
    for r in records:
        if "error" in r:
            lines.append(f"{r['problem']:10s} {r['threads']:3d} {r['impl']:9s} "
                         f"failed: {r['error']}")
            continue
        rise = None if r["setup_rss"] is None else r["peak_rss"] - r["setup_rss"]
        label = r["impl"] + ("/gpu" if r.get("device") == "cuda" else "")
        lines.append(f"{r['problem']:10s} {r['threads']:3d} {label:9s} "
                     f"{_median(r['cpu_s']):9.3f} {_median(r['wall_s']):9.3f} "
                     f"{_mib(r['peak_rss']):>9s} {_mib(rise):>9s} {r['first_loss']:14.6g}"
                     + (f" {_mib(r.get('peak_gpu')):>9s}" if gpu else ""))
    return lines


def _better_torch(by, prob, thr, clock):
    """The PyTorch record with the lower median time for (problem, threads), or None."""
    cands = [by[(prob, thr, impl)] for impl in ("torch", "torch-ftz") if (prob, thr, impl) in by]
    return min(cands, key=lambda r: _median(r[clock])) if cands else None


def _ratios(records, clock="cpu_s"):
    """minigrad / PyTorch for every (problem, threads) measured with both: against each PyTorch
    run and against the better one (``time`` and ``memory``, judged against the targets);
    ``clock`` is the primary time ("cpu_s" at 1 thread, "wall_s" with more threads or on a
    GPU)."""
    by = {(r["problem"], r["threads"], r["impl"]): r for r in records if "error" not in r}
    rows = []
    for (prob, thr, impl), m in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if impl != "minigrad":
            continue
        clk = clock if clock == "wall_s" or thr == 1 else "wall_s"
        best = _better_torch(by, prob, thr, clk)
        if best is None:
            continue
        row = {"problem": prob, "threads": thr, "clock": clk, "best_torch": best["impl"],
               "time": _ratio(_median(m[clk]), _median(best[clk])),
               "memory": (_ratio(m["peak_gpu"], best["peak_gpu"])
                          if m.get("peak_gpu") and best.get("peak_gpu")
                          else _ratio(m["peak_rss"], min(by[(prob, thr, i)]["peak_rss"]
                                      for i in ("torch", "torch-ftz") if (prob, thr, i) in by))),
               "target": TARGETS[prob]}
        for impl_t in ("torch", "torch-ftz"):
            t = by.get((prob, thr, impl_t))
            row[impl_t] = None if t is None else _ratio(_median(m[clk]), _median(t[clk]))
        rows.append(row)
    return rows


def _fmt_ratio(x):
    return "n/a" if x is None or x != x else f"{x:.2f}"


def _ratio_lines(rows):
    head = (f"{'problem':10s} {'thr':>3s} {'clock':>5s} {'/torch':>7s} {'/ftz':>7s} "
            f"{'/best':>7s} {'memory':>7s}   targets (time, memory)")
    lines = [head, "-" * len(head)]
    for r in rows:
        tt, tm = r["target"]
        ok = r["time"] <= tt and r["memory"] <= tm
        lines.append(f"{r['problem']:10s} {r['threads']:3d} {r['clock'][:-2]:>5s} "
                     f"{_fmt_ratio(r.get('torch')):>7s} {_fmt_ratio(r.get('torch-ftz')):>7s} "
                     f"{_fmt_ratio(r['time']):>7s} {_fmt_ratio(r['memory']):>7s}   "
                     f"<= {tt:g}, <= {tm:g}: {'met' if ok else 'NOT met'}")
    return lines


# ------------------------------------------------------------------------------------ floor ---
def matmul_gflops(n: int = 2048, repeats: int = 3) -> float:
    """The float32 matrix-product rate NumPy's BLAS reaches here (GFLOP/s, best of
    ``repeats`` products of two n x n matrices), with this process's thread count."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up the thread pool
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2.0 * n**3 / best / 1e9


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def meta_iteration_flops(problem_name: str) -> float:
    """Matrix-product FLOPs of one meta-iteration of the paper's setup (a multiply-add = 2).

    Per optimizee step t: the coordinatewise LSTM over N coordinates, layer l with input
    size I_l and H units, forward 2 * 4H * (I_l + H + 1) * N, backward 2 * 4H * (I_l + H) * N
    for the weight gradients plus 2 * (I_l + H) * 4H * N for the input and state gradients
    (layer 0 needs no input gradient: 2 * H * 4H * N); the head 20 -> 1, forward and backward;
    and the optimizee's loss and gradient (the MNIST MLP: forward and backward products of a
    minibatch of 128; the quadratics: 2 * 3 * dim^2 per function). T = 100 steps, plus one
    gradient at the start of each of the 5 unrolls.
    """
    from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
    from minigrad.l2l.problems import make_problem

    net = LSTMOptimizer(**net_defaults(problem_name))
    problem = make_problem(problem_name)
    instance = problem.sample((0, 1, 0))
    params = instance.init_params()
    n = sum(int(p.size) for p in params)
    H, sizes = net.hidden_size, [net.pre.input_size] + [net.hidden_size] * net.num_layers
    lstm = 0.0
    for k in range(net.num_layers):
        i = sizes[k]
        lstm += 2 * 4 * H * (i + H + 1) * n  # forward
        lstm += 2 * 4 * H * (i + H) * n  # weight gradients
        lstm += 2 * (i + H if k > 0 else H) * 4 * H * n  # input and state gradients
    head = 3 * 2 * H * n
    if problem_name == "mnist":
        shapes = [p.shape for p in params[0::2]]
        fwd = sum(2 * 128 * a * b for a, b in shapes)
        loss = 3 * fwd  # forward, weight gradients, hidden gradients (an upper bound)
    else:
        dim = params[0].shape[-1]
        loss = 3 * 2 * dim * dim * problem.batch
    steps, unrolls = 100, 5
    return steps * (lstm + head + loss) + unrolls * loss


# ---------------------------------------------------------------------------------- results ---

def results_markdown(records, rows, floors, command: str, date: str) -> str:
    """``benchmarks/RESULTS.md``: every measurement, the ratios and the distance from the
    floor, with the command, the CPU and the date (written by this script, never by hand)."""
    import numpy as np

    from minigrad.threads import cpu_model

    lines = ["# Meta-training benchmark: minigrad against PyTorch at its best", "",
             f"Written by `{command}` on {date}; do not edit by hand. CPU: {cpu_model()}, "
             f"{os.cpu_count()} cores, NumPy {np.__version__}.", "",
             "One meta-iteration = T = 100 optimizee steps in unrolls of 20 with 5 Adam "
             "meta-updates (the paper's setup); median over the measured iterations after the "
             "warm-up; each configuration in a fresh process. `torch` is PyTorch as a user runs "
             "it, `torch-ftz` PyTorch with `torch.set_flush_denormal(True)`. Time: CPU seconds "
             "at 1 thread, wall seconds with more. Floor: the meta-iteration's matrix-product "
             "FLOPs divided by the large-product rate NumPy's BLAS reached in the same run.", "",
             "| problem | threads | side | CPU s | wall s | peak RSS MiB | x floor |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        if "error" in r or r["impl"] == "floor":
            continue
        clk = "cpu_s" if r["threads"] == 1 else "wall_s"
        floor = floors.get((r["problem"], r["threads"]))
        x = _median(r[clk]) / floor if floor else float("nan")
        lines.append(f"| {r['problem']} | {r['threads']} | {r['impl']} | "
                     f"{_median(r['cpu_s']):.2f} | {_median(r['wall_s']):.2f} | "
                     f"{r['peak_rss'] / 2**20:.0f} | {x:.1f} |")
    lines += ["", "Floors: " + "; ".join(
        f"{p} at {t} thread(s) {v:.2f} s" for (p, t), v in sorted(floors.items())), "",
        "Ratios minigrad / PyTorch (below 1: minigrad faster or leaner); `best` is the "
        "better PyTorch run, which the targets judge:", "",
        "| problem | threads | / torch | / torch-ftz | / best (time) | memory / best | target "
        "(time, memory) | met |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        tt, tm = r["target"]
        ok = r["time"] <= tt and r["memory"] <= tm
        lines.append(f"| {r['problem']} | {r['threads']} | {_fmt_ratio(r.get('torch'))} | "
                     f"{_fmt_ratio(r.get('torch-ftz'))} | {_fmt_ratio(r['time'])} | "
                     f"{_fmt_ratio(r['memory'])} | <= {tt:g}, <= {tm:g} | "
                     f"{'yes' if ok else '**no**'} |")
    return "\n".join(lines) + "\n"


def _check_backend():
    """Fail clearly, before any work, when MINIGRAD_BACKEND=cupy cannot work here."""
    if os.environ.get("MINIGRAD_BACKEND", "numpy").strip().lower() != "cupy":
        return "cpu"
    from minigrad.backend import cupy_status

    ok, reason = cupy_status()
    if not ok:
        raise SystemExit(f"bench: MINIGRAD_BACKEND=cupy was asked but CuPy cannot work here: "
                         f"{reason}")
    return "cuda"


def _run_lstm_bench(threads):
    script = os.path.join(HERE, "bench_lstm.py")
    for n in threads:
        print(f"\n== fused vs composed LSTM cell, {n} thread(s): {script}", flush=True)
        subprocess.run([sys.executable, script, "--threads", str(n)], check=False)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        impl, prob, threads, iters, warmup = args.child
        rec = run_child(impl, None if prob == "None" else prob, int(threads), int(iters),
                        int(warmup))
        print(json.dumps(rec))
        return 0
    device = _check_backend()
    if any(i.startswith("torch") for i in args.impls):
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            print("bench: PyTorch is not installed: measuring minigrad alone (pip install "
                  "torch==2.13.0 for the comparison)", file=sys.stderr)
            args.impls = [i for i in args.impls if not i.startswith("torch")]
    if not args.impls:
        print("bench: nothing to measure", file=sys.stderr)
        return 2
    primary = ("on a GPU wall time is the primary figure (CPU time only counts the host)."
               if device == "cuda" else
               "CPU time (time.process_time) is the primary figure, wall time is shown too\n"
               "(on a shared machine other programs' load inflates wall time, not CPU time).")
    print(f"minigrad meta-training benchmark on {device}: one meta-iteration = T = 100 steps in "
          f"unrolls of 20 with 5 Adam meta-updates; each configuration in a fresh process.\n"
          f"Time: median over the measured iterations after {args.warmup} warm-up "
          f"iteration(s); {primary}\nMemory: peak resident set size of the process, and its "
          f"rise over the size after setup.\n", flush=True)
    records, floors = [], {}
    for n in args.threads:
        rate = _spawn("floor", None, n, 1, 0).get("gflops")
        for prob in args.problems:
            if rate:
                floors[(prob, n)] = meta_iteration_flops(prob) / (rate * 1e9)
        print(f"  BLAS float32 product rate with {n} thread(s): {rate:.1f} GFLOP/s" if rate
              else f"  BLAS rate with {n} thread(s): failed", flush=True)
    for prob in args.problems:
        iters = args.iters or (10 if prob == "quadratic" else 3)
        for n in args.threads:
            for impl in args.impls:
                print(f"  running {prob}, {n} thread(s), {impl} ({iters} iterations) ...",
                      flush=True)
                records.append(_spawn(impl, prob, n, iters, args.warmup))
    print()
    print("\n".join(_table(records, args.impls)))
    if floors:
        print("\nfloor (matrix-product FLOPs / BLAS rate): " + "; ".join(
            f"{p} {t} thread(s) {v:.2f} s" for (p, t), v in sorted(floors.items())))
    rows = _ratios(records, "wall_s" if device == "cuda" else "cpu_s")
    if rows:
        judged = ("wall time and peak GPU memory (peak RSS where a side ran on the CPU)"
                  if device == "cuda" else "CPU time and peak RSS")
        print(f"\nratios minigrad / PyTorch (below 1: minigrad is faster / leaner; the targets "
              f"judge {judged})")
        print("\n".join(_ratio_lines(rows)))
    if args.json:
        from minigrad.files import atomic_write_text

        atomic_write_text(args.json, json.dumps({"records": records, "ratios": rows}, indent=1))
    if args.results:
        import datetime as dt

        from minigrad.files import atomic_write_text

        command = "python benchmarks/bench_meta.py " + " ".join(
            sys.argv[1:] if argv is None else argv)
        date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        atomic_write_text(args.results, results_markdown(records, rows, floors, command, date))
        print(f"\nwrote {args.results}")
    if args.lstm:
        _run_lstm_bench(args.threads)
    failed = [r for r in records if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
