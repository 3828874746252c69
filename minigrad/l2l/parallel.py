"""Meta-training on several cores: each process runs the LSTM on its share of the coordinates.

Python threads share one interpreter lock, so the fused LSTM's block threads overlap only
inside NumPy calls (:mod:`minigrad.threads`). Processes do not share it. What splits cleanly
between processes is the coordinate axis, because in first-order meta-training every
coordinate's path to phi is its own::

    theta_{t,j} = theta_{0,j} + sum_{s<t} delta_{s,j}(phi)       delta_{s,j} from row j's LSTM
    dL/dphi     = sum_t g_t . d theta_t/d phi
                = sum over coordinates j of  sum_t g_{t,j} d theta_{t,j}/d phi

(g_t enters the LSTM as a constant, and row j's LSTM state depends only on row j's inputs.)
So process r runs the LSTM on rows R_r only, and its backward gives the r-th part of the sum
(with one LSTM per parameter group, :mod:`minigrad.l2l.grouped`, each group's LSTM on the rows
of R_r of its kind);
the parts add up to the single-process meta-gradient exactly, up to the order of float
additions. The optimizee needs the whole theta at every step: the processes send each other
their rows' updates delta_{t, R_r} (one small message per step and process), and each computes
the optimizee's loss and gradient on the whole theta itself (about 3% of a meta-iteration).

:class:`ParallelMetaTrainer` is a :class:`~minigrad.l2l.meta.MetaTrainer` whose unrolls are
split this way: the main process runs rows R_0 and holds phi and Adam; worker process r gets
phi at the start of each unroll and sends back its part of the gradient. The numbers are those
of the single-process trainer to float32 rounding (tested), and validation is split by problem
(:meth:`ParallelMetaTrainer.evaluate`), which gives exactly the single-process numbers.

The same sum makes a cheaper meta-gradient (``MetaConfig.meta_coordinates`` = f < 1, on one
process or several, with one LSTM or one per parameter group): each horizon draws a random
subset C of f N of the N coordinates (seeded by the horizon's seed), the LSTM runs on C with
its graph and on the other rows without one (forward only: no saved activations, no
backward; a coordinate keeps its group's LSTM either way), and each term of C is scaled by
N / |C|::

    estimate = (N / |C|) sum over j in C of  sum_t g_{t,j} d theta_{t,j}/d phi

Every coordinate is in C with probability |C| / N, so the estimate's mean over the draws is
the full meta-gradient (unbiased; tested exactly by averaging over every subset of a small
problem). The optimizee's trajectory, and so every loss and the meta-loss's value, is the
full one: only the backward is cut to a fraction.

Workers are started with ``spawn`` (safe beside threads) when first needed and stopped by
:meth:`ParallelMetaTrainer.close` (or at exit: they are daemons). They ignore Ctrl-C; the main
process handles it, and any interruption in the middle of an unroll restarts them, so a
resumed run never meets a worker half-way through an old unroll.
"""

from __future__ import annotations

import multiprocessing as mp
import signal

import numpy as np

from ..grad_mode import no_grad
from ..nn import detach_state
from ..tensor import Tensor
from .grouped import bind_net, build_net, subset_net
from .meta import (
    LossWithGradient,
    MetaTrainer,
    _loss_and_grad,
    log_of_segment_means,
    meta_term,
    segment_bounds,
)
from .problems import _entropy

#: The seed tag of a horizon's coordinate subset (the problems' tags are 1-3).
_TAG_SUBSET = 4

__all__ = ["ParallelMetaTrainer", "split_rows"]


def split_rows(n: int, parts: int) -> list[slice]:
    """``parts`` contiguous slices covering range(n), sizes differing by at most one."""
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def coordinate_subset(n: int, fraction: float, seed) -> np.ndarray | None:
    """The coordinates a horizon's meta-gradient flows through (``MetaConfig.
    meta_coordinates``): a boolean mask of n with round(fraction n) (at least one) True
    entries, drawn from ``seed`` (the horizon's); None when ``fraction`` is 1 (all)."""
    if fraction >= 1:
        return None
    chosen = np.random.default_rng(_entropy(seed) + [_TAG_SUBSET]).choice(
        n, max(1, round(fraction * n)), replace=False)
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    return mask


def _subset_update(net, g_rows, state, subset):
    """The update of this process's rows, the LSTM run with its graph on the ``subset`` rows
    (a boolean mask) and without one on the rest (a grouped net's layout split the same way:
    :func:`~minigrad.l2l.grouped.subset_net`): ``(delta Tensor of the subset, delta of every
    row as an array, (state of the subset, state of the rest))``."""
    state_in, state_out = state if state is not None else (None, None)
    delta = np.zeros_like(g_rows)
    if subset.any():
        delta_in, state_in = subset_net(net, subset).update(g_rows[subset], state_in)
        delta[subset] = delta_in.data
    else:  # this process holds none of the subset: its rows give no gradient
        delta_in = Tensor.from_array(delta[:0])
    if not subset.all():
        with no_grad():
            delta_out, state_out = subset_net(net, ~subset).update(g_rows[~subset], state_out)
        delta[~subset] = delta_out.data
    return delta_in, delta, (state_in, state_out)


def unroll_rows(net, instance, flat, theta, state, t0: int, length: int, rows: slice,
                exchange, *, report: bool = True, meta_objective: str = "loss",
                step_weights=None, meta_data: str = "batch", meta_tilt: float = 0.0,
                meta_segment: int = 0, subset=None, scale: float = 1.0):
    """The first-order unroll of :func:`~minigrad.l2l.meta.unroll` (``method="tangent"``) on
    the coordinates ``rows`` only.

    ``exchange(delta_rows) -> delta`` returns the whole update (N,) given this process's part;
    ``state`` is this process's rows' LSTM state. Returns ``(meta_loss, theta_end, state_end,
    values)`` like ``unroll``; ``meta_loss`` carries this process's part of the meta-gradient
    and, if ``report``, the loss values (only one process reports them). ``subset`` (a
    boolean mask over ``rows``): the meta-gradient flows through those rows only, each term
    times ``scale`` (N over the subset's size across all processes, for an unbiased
    estimate); the state is then a pair (the subset's, the rest's).
    """
    loss, g = _loss_and_grad(instance, flat, theta, t0)
    theta = np.array(theta, copy=True)
    cur = Tensor.from_array(theta[rows] if subset is None else theta[rows][subset])
    terms, values = [], []
    for k in range(length):
        if subset is None:
            delta, state = net.update(g[rows], state)
            delta_all = delta.data
        else:
            delta, delta_all, state = _subset_update(net, g[rows], state, subset)
        cur = cur + delta
        theta += exchange(delta_all)
        loss, g = _loss_and_grad(instance, flat, theta, t0 + k + 1)
        if meta_data == "pool" or meta_tilt:  # the meta-loss counts the pool's (or the
            #                                      tilted) loss; the steps, g's
            loss, g_counted = _loss_and_grad(instance, flat, theta, t0 + k + 1,
                                             pool=meta_data == "pool", tilt=meta_tilt)
        else:
            g_counted = g
        g_meta = g_counted[rows] if subset is None else g_counted[rows][subset] * scale
        value, gradient = meta_term(loss.data, g_meta, meta_objective)
        if step_weights is not None:
            value, gradient = step_weights[k] * value, step_weights[k] * gradient
        terms.append(LossWithGradient.apply(cur, value=value if report else 0.0 * value,
                                            g=gradient))
        values.append(loss.item())
    if meta_objective == "logmean":  # every process has every f_t, so the same S
        meta_loss = log_of_segment_means(terms, values, step_weights,
                                         segment_bounds(t0, length, meta_segment))
        if not report:
            meta_loss = meta_loss - meta_loss.item()  # the value is reported once
    else:
        meta_loss = terms[0]
        for term in terms[1:]:
            meta_loss = meta_loss + term
    state = detach_state(state) if subset is None else tuple(detach_state(s) for s in state)
    return meta_loss, theta, state, values


# ----- the worker process ----------------------------------------------------------------------
def _worker_main(conn, rank: int, net_config: dict, dtype: str, problem_config: dict,
                 threads: int = 1):
    """A worker process, its array work on ``threads`` threads (:func:`~minigrad.threads.
    array_threads`; 1: one core's work, as a fresh process's BLAS would otherwise start a
    thread per core, competing with the other processes for the same cores)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    from ..threads import array_threads

    with array_threads(threads):
        _worker_loop(conn, rank, net_config, dtype, problem_config)


def _worker_loop(conn, rank: int, net_config: dict, dtype: str, problem_config: dict):
    """A worker's loop: answers ``horizon``, ``unroll``, ``evaluate``, ``threads`` and ``stop``
    messages."""
    from .evaluate import LearnedRule, evaluate_rule
    from .flat import Flattener
    from .problems import problem_from_config

    net = build_net(net_config, dtype=dtype)
    problems = {"train": problem_from_config(problem_config, split="train", dtype=dtype)}
    horizon = state = None
    while True:
        msg = conn.recv()
        kind = msg[0]
        if kind == "stop":
            return
        if kind == "threads":  # for checks: this process's BLAS thread counts
            from ..threads import blas_thread_counts

            conn.send(blas_thread_counts())
        if kind == "horizon":
            _, seed, parts, fraction = msg
            instance = problems["train"].sample(seed)
            flat = Flattener.like(instance.init_params())
            rows = split_rows(len(flat), parts)[rank]
            horizon, state = (instance, flat, rows, *_subset_of(len(flat), fraction, seed,
                                                               rows)), None
        elif kind == "unroll":
            (_, weights, theta, t0, length, objective, step_weights, meta_data, tilt,
             segment) = msg
            net.load_state_dict(weights)
            instance, flat, rows, subset, scale = horizon

            def exchange(part):
                conn.send(part)
                return conn.recv()

            meta_loss, _, state, _ = unroll_rows(bind_net(net, instance, flat, rows), instance,
                                                 flat, theta, state, t0, length,
                                                 rows, exchange, report=False,
                                                 meta_objective=objective,
                                                 step_weights=step_weights,
                                                 meta_data=meta_data, meta_tilt=tilt,
                                                 meta_segment=segment, subset=subset,
                                                 scale=scale)
            for p in net.parameters():
                p.grad = None
            if meta_loss.requires_grad:  # not when these rows hold none of the subset
                meta_loss.backward()
            conn.send([None if p.grad is None else p.grad.data for p in net.parameters()])
        elif kind == "evaluate":
            _, weights, split, seeds, steps = msg
            if split not in problems:
                problems[split] = problem_from_config(problem_config, split=split, dtype=dtype)
            net.load_state_dict(weights)
            conn.send(evaluate_rule(lambda: LearnedRule(net), problems[split], seeds, steps,
                                    len(seeds) * getattr(problems[split], "runs_per_sample", 1)))


def _subset_of(n: int, fraction: float, seed, rows: slice):
    """``(mask over rows, scale)`` of a horizon's :func:`coordinate_subset` for the process
    holding ``rows``; ``(None, 1.0)`` for all coordinates."""
    mask = coordinate_subset(n, fraction, seed)
    if mask is None:
        return None, 1.0
    return mask[rows], n / int(mask.sum())


class _SplitMetaLoss:
    """The meta-loss of a split unroll: ``item()`` is the whole value, ``backward()`` adds the
    workers' parts of the gradient to the main process's."""

    def __init__(self, trainer, local):
        self.trainer, self.local = trainer, local

    def item(self):
        return self.local.item()

    def backward(self):
        if self.local.requires_grad:  # not when these rows hold none of the subset
            self.local.backward()
        self.trainer._add_worker_grads()


class ParallelMetaTrainer(MetaTrainer):
    """A :class:`~minigrad.l2l.meta.MetaTrainer` whose unrolls run on ``processes`` processes
    (this one and ``processes - 1`` workers), each on its share of the coordinates.

    ``problem_config`` rebuilds the training problem in the workers
    (:func:`~minigrad.l2l.problems.problem_from_config`); first order only. ``worker_threads``:
    each worker's array threads (1; 0 leaves a fresh process's library defaults, one BLAS
    thread per core, which oversubscribes the cores: ``benchmarks/bench_processes.py``).
    """

    subsamples = True  # config.meta_coordinates < 1: see the module docstring

    def __init__(self, net, problem, config=None, *, processes: int = 2,
                 problem_config: dict | None = None, worker_threads: int = 1):
        super().__init__(net, problem, config)
        if int(processes) < 1:
            raise ValueError(f"ParallelMetaTrainer: processes must be >= 1, got {processes}")
        if self.config.second_order:
            raise ValueError("ParallelMetaTrainer: second-order meta-gradients need the whole "
                             "graph in one process; use MetaTrainer")
        if self.config.loss_terms != "paper":
            raise ValueError("ParallelMetaTrainer: supports loss_terms='paper' only")
        self.processes, self.worker_threads = int(processes), int(worker_threads)
        self.problem_config = dict(problem_config or problem.config())
        self._workers = []  # (process, connection) per worker

    # ----- the workers ------------------------------------------------------------------------
    def _start(self):
        if self._workers:
            return
        ctx = mp.get_context("spawn")
        for rank in range(1, self.processes):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, daemon=True,
                               args=(there, rank, self.net.config(), str(self.net.dtype),
                                     self.problem_config, self.worker_threads))
            proc.start()
            self._workers.append((proc, here))

    def close(self):
        """Stop the worker processes (they start again when needed)."""
        for proc, conn in self._workers:
            try:
                conn.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        self._workers = []

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def worker_blas_threads(self) -> list:
        """Each worker's BLAS thread counts (starting the workers if needed)."""
        self._start()
        self._send_all(("threads",))
        return [conn.recv() for _, conn in self._workers]

    def _send_all(self, msg):
        for _, conn in self._workers:
            conn.send(msg)

    # ----- meta-training ------------------------------------------------------------------------
    def train_iteration(self) -> float:
        try:
            return super().train_iteration()
        except BaseException:
            self.close()  # a worker may be half-way through an unroll: start afresh next time
            raise

    def start_horizon(self, seed):
        instance, flat, theta, state = super().start_horizon(seed)
        fraction = self.config.meta_coordinates
        if self.processes > 1:
            self._start()
            self._send_all(("horizon", seed, self.processes, fraction))
        rows = split_rows(len(flat), self.processes)[0]
        return (instance, flat, theta, state, rows,
                *_subset_of(len(flat), fraction, seed, rows))

    def run_unroll(self, horizon, theta, state, t0, length):
        instance, flat, _, _, rows, subset, scale = horizon
        weights = self.config.weights_for(t0, length)
        if self.processes > 1:
            self._send_all(("unroll", self.net.state_dict(), theta, t0, length,
                            self.config.meta_objective, weights, self.config.meta_data,
                            self.config.meta_tilt, self.config.meta_segment))
        meta_loss, theta, state, values = unroll_rows(
            bind_net(self.net, instance, flat, rows), instance, flat, theta, state, t0, length,
            rows, self._exchange, meta_objective=self.config.meta_objective,
            step_weights=weights, meta_data=self.config.meta_data,
            meta_tilt=self.config.meta_tilt, meta_segment=self.config.meta_segment,
            subset=subset, scale=scale)
        return _SplitMetaLoss(self, meta_loss), theta, state, values

    def _exchange(self, part):
        if not self._workers:
            return part
        # every worker sends its part, then waits for the whole: the main process receives
        # them all before it sends, so no send waits on a full pipe forever
        whole = np.concatenate([part] + [conn.recv() for _, conn in self._workers])
        for _, conn in self._workers:
            conn.send(whole)
        return whole

    def _add_worker_grads(self):
        for _, conn in self._workers:
            grads = conn.recv()
            for p, g in zip(self.params, grads):
                if g is None:
                    continue
                if p.grad is None:
                    p.grad = Tensor.from_array(np.array(g, copy=True))
                else:
                    p.grad.data += g

    # ----- evaluation split by problem ----------------------------------------------------------
    def evaluate(self, problem, split: str, seeds: list, steps: int, runs: int):
        """Losses (runs, steps + 1) of the current weights on the problems of ``seeds``, the
        problems shared out between the processes (same numbers as
        :func:`~minigrad.l2l.evaluate.evaluate_rule`)."""
        from .evaluate import LearnedRule, evaluate_rule

        if self.processes == 1 or len(seeds) < 2:
            return evaluate_rule(lambda: LearnedRule(self.net), problem, seeds, steps, runs)
        self._start()
        shares = [list(seeds[s]) for s in split_rows(len(seeds), self.processes)]
        weights = self.net.state_dict()
        for (_, conn), share in zip(self._workers, shares[1:]):
            conn.send(("evaluate", weights, split, share, steps))
        per = getattr(problem, "runs_per_sample", 1)
        parts = [evaluate_rule(lambda: LearnedRule(self.net), problem, shares[0], steps,
                               len(shares[0]) * per)]
        try:
            parts += [conn.recv() for _, conn in self._workers]
        except BaseException:
            self.close()
            raise
        return np.concatenate(parts, axis=0)[:runs]
