"""Section 2: meta-training live and tiny, what it costs, and the shipped optimizer's record."""

from __future__ import annotations

import math
import time

import numpy as np

from minigrad.course.meta_loop import library_meta_train
from minigrad.l2l import LSTMOptimizer, MetaConfig, make_problem, net_defaults


def meta_train_live(iterations: int = 3, steps: int = 10, unroll: int = 5,
                    optimizee: str = "sigmoid-20", seed: int = 0, progress: bool = True,
                    loop=None) -> dict:
    """Meta-train a FRESH learned optimizer for a few meta-iterations with ``loop`` (exercise
    05.3's signature; default the library's :func:`~minigrad.course.meta_loop.
    library_meta_train`), timing each.

    The paper's setup (LSTM 2 x 20, LogAndSign p = 10, output scale 0.1, Adam lr 1e-3 on phi,
    the MNIST training digits), only with a short horizon: ``steps`` optimizee steps per
    meta-iteration in unrolls of ``unroll`` (the paper: 100 and 20). Returns ``curve`` (mean
    optimizee loss over each horizon), ``seconds`` per meta-iteration, ``seconds_per_step``
    (one optimizee step with its share of the backward pass), ``moved`` (largest change of
    each weight array of phi) and the trained ``net``.
    """
    net = LSTMOptimizer(**net_defaults("mnist"), seed=seed)
    start = {name: p.data.copy() for name, p in net.named_parameters()}
    problem = make_problem("mnist", optimizee, split="train")
    config = MetaConfig(steps=steps, unroll=unroll, seed=seed)
    loop = library_meta_train if loop is None else loop
    from tqdm.auto import tqdm

    bar = tqdm(total=iterations, desc="meta-training", unit="meta-it", disable=not progress)
    seconds, clock = [], [time.perf_counter()]

    def each_iteration(curve):
        now = time.perf_counter()
        seconds.append(now - clock[0])
        bar.update(1)
        bar.set_postfix(meta_loss=f"{float(curve[-1]):.4f}", s_per_it=f"{seconds[-1]:.1f}")
        clock[0] = time.perf_counter()

    try:
        curve = loop(net, problem, iterations, steps=steps, unroll=unroll,
                     meta_lr=config.meta_lr, seed=seed, callback=each_iteration)
    finally:
        bar.close()
    moved = {name: float(np.abs(p.data - start[name]).max())
             for name, p in net.named_parameters()}
    return {"curve": [float(c) for c in curve], "seconds": seconds,
            "seconds_per_step": float(np.sum(seconds) / (iterations * steps)),
            "moved": moved, "net": net, "config": config.to_dict(), "optimizee": optimizee}


def training_cost(seconds_per_step: float, steps: int = 100, iterations: int = 1000) -> dict:
    """What a full meta-training costs at ``seconds_per_step``: per meta-iteration (``steps``
    optimizee steps) and for ``iterations`` of them, in seconds and hours."""
    per_iteration = seconds_per_step * steps
    total = per_iteration * iterations
    return {"per_iteration_s": per_iteration, "total_s": total, "total_h": total / 3600.0,
            "steps": steps, "iterations": iterations}


def _running_mean(values, width):
    v = np.asarray(values, dtype=float)
    if v.size == 0 or width <= 1:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    out = np.empty_like(v)
    for i in range(v.size):
        lo = max(0, i + 1 - width)
        out[i] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def plot_meta_training(info: dict, live: dict | None = None):
    """The shipped optimizer's training curve (mean optimizee loss per meta-iteration, with a
    running mean and the validation scores) beside the live run's; returns the figure."""
    import matplotlib.pyplot as plt

    panels = 2 if live is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.6), squeeze=False)
    ax = axes[0, 0]
    curve = np.asarray(info["curve"], dtype=float)
    its = np.arange(1, curve.size + 1)
    width = max(1, curve.size // 20)
    if width > 1:
        ax.plot(its, curve, color="tab:orange", alpha=0.35, lw=0.8, label="per meta-iteration")
        ax.plot(its, _running_mean(curve, width), color="tab:orange", lw=2,
                label=f"running mean of {width}")
    else:
        ax.plot(its, curve, "o-", color="tab:orange", ms=3, label="per meta-iteration")
    if info.get("validation_history"):
        v = np.asarray(info["validation_history"], dtype=float)
        ax.plot(v[:, 0], v[:, 1], "o", color="k", ms=4, label="validation score")
    ax.axhline(math.log(10), color="gray", ls=":", lw=1, label="ln 10 (chance)")
    ax.set_xlabel("meta-iteration")
    ax.set_ylabel("mean optimizee loss over the horizon")
    ax.set_title(f"shipped optimizer: {info['iteration']} meta-iterations "
                 f"(T = {info['meta']['steps']})", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    if live is not None:
        ax = axes[0, 1]
        c = np.asarray(live["curve"], dtype=float)
        ax.plot(np.arange(1, c.size + 1), c, "o-", color="tab:orange")
        ax.axhline(math.log(10), color="gray", ls=":", lw=1)
        ax.set_xlabel("meta-iteration")
        ax.set_title(f"live: {len(c)} meta-iterations, T = {live['config']['steps']}, "
                     f"K = {live['config']['unroll']}", fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
