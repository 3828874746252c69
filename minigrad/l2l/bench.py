"""``python -m minigrad.l2l bench``: meta-training cost, minigrad against PyTorch (not a test).

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

The PyTorch side is the plain implementation one would write (``torch.nn.LSTMCell``,
``autograd.grad(loss, theta, retain_graph=True)`` for g_t); minigrad's is
:class:`~minigrad.l2l.meta.MetaTrainer` itself. The first iteration's mean optimizee loss is
printed for both as a check that they compute the same thing.

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

__all__ = ["add_bench_parser", "cmd_bench"]

PROBLEMS = ("quadratic", "mnist")
IMPLS = ("minigrad", "torch")
TARGETS = {"mnist": (1.0, 1.0), "quadratic": (1.5, 1.0)}  # (time, memory) ratios, issue 9
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


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


def add_bench_parser(sub) -> None:
    """Register the ``bench`` subcommand on the CLI's subparsers."""
    b = sub.add_parser("bench", help="time and memory of meta-training, minigrad vs PyTorch",
                       description=__doc__.split("\n\n")[1])
    b.add_argument("--problems", type=_name_list(PROBLEMS), default=list(PROBLEMS),
                   help="comma-separated subset of quadratic,mnist (both)")
    b.add_argument("--threads", type=_int_list, default=[1, 2],
                   help="BLAS/PyTorch thread counts to measure, comma-separated (1,2)")
    b.add_argument("--impls", type=_name_list(IMPLS), default=list(IMPLS),
                   help="comma-separated subset of minigrad,torch (both)")
    b.add_argument("--iters", type=int, default=None,
                   help="measured meta-iterations per configuration (quadratic 10, mnist 3)")
    b.add_argument("--warmup", type=int, default=1, help="unmeasured meta-iterations first (1)")
    b.add_argument("--no-lstm", dest="lstm", action="store_false",
                   help="skip benchmarks/bench_lstm.py (fused vs composed cell, memory of a "
                        "20-step unroll; run when this is a source checkout)")
    b.add_argument("--json", default=None, help="also write every measurement here (JSON)")
    b.add_argument("--child", nargs=5, metavar=("IMPL", "PROBLEM", "THREADS", "ITERS", "WARMUP"),
                   help=argparse.SUPPRESS)


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
    from ..threads import blas_thread_counts

    return blas_thread_counts()


def _minigrad_iteration_fn(problem_name, cfg=None):
    from .meta import MetaConfig, MetaTrainer
    from .optimizer import LSTMOptimizer, net_defaults
    from .problems import make_problem

    trainer = MetaTrainer(LSTMOptimizer(**net_defaults(problem_name)), make_problem(problem_name),
                          cfg or MetaConfig())
    return trainer.train_iteration, "cuda" if trainer.net.head.weight.device == "cuda" else "cpu"


def _torch_iteration_fn(problem_name, threads, cfg=None):
    """The PyTorch reference: one meta-iteration per call (see the module docstring).

    ``cfg`` (a :class:`MetaConfig`, default the paper's) sets the horizon, unroll and Adam."""
    try:
        import torch
    except ImportError:
        raise SystemExit("bench: PyTorch is not installed (pip install torch==2.13.0, CPU "
                         "build): the PyTorch side of the comparison cannot run") from None
    import math

    import numpy as np

    from ..backend import to_device
    from .meta import MetaConfig, MetaTrainer
    from .optimizer import LSTMOptimizer, net_defaults
    from .problems import make_problem

    torch.set_num_threads(threads)
    device = "cuda" if os.environ.get("MINIGRAD_BACKEND") == "cupy" and \
        torch.cuda.is_available() else "cpu"
    cfg = cfg or MetaConfig()
    defaults = net_defaults(problem_name)
    ref = LSTMOptimizer(**defaults)  # the same initial weights as minigrad's side
    problem = make_problem(problem_name)
    seeds = MetaTrainer(ref, problem, cfg)  # only for its problem_seed()
    H = ref.hidden_size
    cells = torch.nn.ModuleList(
        torch.nn.LSTMCell(ref.pre.input_size if k == 0 else H, H) for k in range(ref.num_layers))
    head = torch.nn.Linear(H, 1)
    with torch.no_grad():
        sd = {k: np.asarray(to_device(v, "cpu")) for k, v in ref.state_dict().items()}
        for k, cell in enumerate(cells):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(torch.from_numpy(sd[f"lstm.{name}_l{k}"]))
        head.weight.copy_(torch.from_numpy(sd["head.weight"]))
        head.bias.copy_(torch.from_numpy(sd["head.bias"]))
    cells.to(device)
    head.to(device)
    params = list(cells.parameters()) + list(head.parameters())
    meta_opt = torch.optim.Adam(params, lr=cfg.meta_lr, betas=cfg.betas, eps=cfg.eps)
    scale = ref.output_scale
    p = float(defaults["p"])
    logsign = defaults["preprocess"] == "logsign"

    def t(a):
        return torch.from_numpy(np.asarray(to_device(a, "cpu"))).to(device)

    def preprocess(g):
        if not logsign:
            return g.unsqueeze(1)
        mag = g.abs()
        big = mag >= math.exp(-p)
        first = torch.where(big, torch.log(torch.where(big, mag, torch.ones_like(mag))) / p,
                            torch.full_like(g, -1.0))
        second = torch.where(big, torch.sign(g), g * math.exp(p))
        return torch.stack([first, second], dim=1)

    def net(g, state):
        x, new = preprocess(g), []
        for cell, s in zip(cells, state):
            h, c = cell(x, s)
            new.append((h, c))
            x = h
        return head(x).squeeze(1) * scale, new

    def make_loss(instance):
        if problem_name == "quadratic":
            w, y = t(instance.w), t(instance.y)[..., 0]
            shape = tuple(instance.theta0.shape)

            def loss(theta, step):
                r = torch.matmul(w, theta.view(shape).unsqueeze(-1)).squeeze(-1) - y
                return (r * r).sum()
            return loss, t(instance.theta0).reshape(-1)
        arrays = instance.init_params()
        shapes = [tuple(a.shape) for a in arrays]
        sizes = [int(np.prod(s)) for s in shapes]

        def loss(theta, step):
            x, labels = instance.batch(step)
            h, parts = t(x), torch.split(theta, sizes)
            ps = [q.view(s) for q, s in zip(parts, shapes)]
            for k in range(0, len(ps), 2):
                h = h @ ps[k] + ps[k + 1]
                if k + 2 < len(ps):
                    h = torch.sigmoid(h)
            return torch.nn.functional.cross_entropy(h, t(labels).long())
        return loss, torch.cat([t(a).reshape(-1) for a in arrays])

    def grad_at(f, theta, step):
        leaf = theta.detach().requires_grad_(True)
        return torch.autograd.grad(f(leaf, step), leaf)[0]

    state = {"iteration": 0}

    def iteration():
        instance = problem.sample(seeds.problem_seed(state["iteration"]))
        f, theta = make_loss(instance)
        hidden = [None] * len(cells)
        total, t0 = 0.0, 0
        while t0 < cfg.steps:
            k_len = min(cfg.unroll, cfg.steps - t0)
            g = grad_at(f, theta, t0)
            cur, terms = theta, []
            for k in range(k_len):
                delta, hidden = net(g, hidden)
                cur = cur + delta
                loss = f(cur, t0 + k + 1)
                terms.append(loss)
                if k < k_len - 1:  # the first-order cut: g_t enters the LSTM as a constant
                    g = torch.autograd.grad(loss, cur, retain_graph=True)[0].detach()
            meta_loss = torch.stack(terms).sum()
            meta_opt.zero_grad()
            meta_loss.backward()
            meta_opt.step()
            total += float(sum(v.item() for v in terms))
            theta = cur.detach()
            hidden = [(h.detach(), c.detach()) for h, c in hidden]
            t0 += k_len
        state["iteration"] += 1
        return total / cfg.steps

    return iteration, device


def run_child(impl, problem_name, threads, iters, warmup) -> dict:
    """Measure one configuration in this (fresh) process; returns the record."""
    if impl == "torch":
        fn, device = _torch_iteration_fn(problem_name, threads)
    else:
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
    if impl == "torch":
        import torch

        return int(torch.cuda.max_memory_allocated())
    import cupy

    return int(cupy.get_default_memory_pool().total_bytes())


def _spawn(impl, problem_name, threads, iters, warmup):
    env = dict(os.environ)
    for var in _THREAD_VARS:
        env[var] = str(threads)
    cmd = [sys.executable, "-m", "minigrad.l2l", "bench", "--child", impl, problem_name,
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


def _ratios(records, clock="cpu_s"):
    """minigrad / PyTorch for every (problem, threads) measured with both; ``clock`` is the
    primary time ("cpu_s", or "wall_s" on a GPU), the one judged against the targets."""
    by = {(r["problem"], r["threads"], r["impl"]): r for r in records if "error" not in r}
    rows = []
    for (prob, thr, impl), m in by.items():
        tref = by.get((prob, thr, "torch"))
        if impl != "minigrad" or tref is None:
            continue
        rise_m = m["peak_rss"] - (m["setup_rss"] or 0)
        rise_t = tref["peak_rss"] - (tref["setup_rss"] or 0)
        rows.append({"problem": prob, "threads": thr, "clock": clock,
                     "time": _ratio(_median(m[clock]), _median(tref[clock])),
                     "cpu": _ratio(_median(m["cpu_s"]), _median(tref["cpu_s"])),
                     "wall": _ratio(_median(m["wall_s"]), _median(tref["wall_s"])),
                     "peak_rss": _ratio(m["peak_rss"], tref["peak_rss"]),
                     "memory": (_ratio(m["peak_gpu"], tref["peak_gpu"])
                                if m.get("peak_gpu") and tref.get("peak_gpu")
                                else _ratio(m["peak_rss"], tref["peak_rss"])),
                     "rss_rise": _ratio(rise_m, rise_t),
                     "target": TARGETS[prob]})
    return rows


def _ratio_lines(rows):
    head = (f"{'problem':10s} {'thr':>3s} {'CPU time':>9s} {'wall time':>9s} {'peak RSS':>9s} "
            f"{'RSS rise':>9s}   targets (time, memory)")
    lines = [head, "-" * len(head)]
    for r in rows:
        tt, tm = r["target"]
        ok = r["time"] <= tt and r["memory"] <= tm
        lines.append(f"{r['problem']:10s} {r['threads']:3d} {r['cpu']:9.2f} {r['wall']:9.2f} "
                     f"{r['peak_rss']:9.2f} {r['rss_rise']:9.2f}   <= {tt:g}, <= {tm:g}: "
                     f"{'met' if ok else 'NOT met'}"
                     + ("" if r["clock"] == "cpu_s" else
                        f" (judged: time {r['time']:.2f}, memory {r['memory']:.2f})"))
    return lines


def _check_backend():
    """Fail clearly, before any work, when MINIGRAD_BACKEND=cupy cannot work here."""
    if os.environ.get("MINIGRAD_BACKEND", "numpy").strip().lower() != "cupy":
        return "cpu"
    from ..backend import cupy_status

    ok, reason = cupy_status()
    if not ok:
        raise SystemExit(f"bench: MINIGRAD_BACKEND=cupy was asked but CuPy cannot work here: "
                         f"{reason}")
    return "cuda"


def _run_lstm_bench(threads):
    script = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "bench_lstm.py")
    script = os.path.abspath(script)
    if not os.path.exists(script):
        print("(benchmarks/bench_lstm.py is not here: the fused-cell benchmark needs a source "
              "checkout)")
        return
    for n in threads:
        print(f"\n== fused vs composed LSTM cell, {n} thread(s): {script}", flush=True)
        subprocess.run([sys.executable, script, "--threads", str(n)], check=False)


def cmd_bench(args) -> int:
    if args.child:
        impl, prob, threads, iters, warmup = args.child
        rec = run_child(impl, prob, int(threads), int(iters), int(warmup))
        print(json.dumps(rec))
        return 0
    device = _check_backend()
    if "torch" in args.impls:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            print("bench: PyTorch is not installed: measuring minigrad alone (pip install "
                  "torch==2.13.0 for the comparison)", file=sys.stderr)
            args.impls = [i for i in args.impls if i != "torch"]
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
    records = []
    for prob in args.problems:
        iters = args.iters or (10 if prob == "quadratic" else 3)
        for n in args.threads:
            for impl in args.impls:
                print(f"  running {prob}, {n} thread(s), {impl} ({iters} iterations) ...",
                      flush=True)
                records.append(_spawn(impl, prob, n, iters, args.warmup))
    print()
    print("\n".join(_table(records, args.impls)))
    rows = _ratios(records, "wall_s" if device == "cuda" else "cpu_s")
    if rows:
        judged = ("wall time and peak GPU memory (peak RSS where a side ran on the CPU)"
                  if device == "cuda" else "CPU time and peak RSS")
        print(f"\nratios minigrad / PyTorch (below 1: minigrad is faster / leaner; the targets "
              f"judge {judged})")
        print("\n".join(_ratio_lines(rows)))
    if args.json:
        from ..files import atomic_write_text

        atomic_write_text(args.json, json.dumps({"records": records, "ratios": rows}, indent=1))
    if args.lstm:
        _run_lstm_bench(args.threads)
    failed = [r for r in records if "error" in r]
    return 1 if failed else 0
