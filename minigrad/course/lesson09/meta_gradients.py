"""Sections 2.4 and 3: the meta-loss's terms (20 in the paper, 21 in the official code) and first-
against second-order meta-gradients.
"""

from __future__ import annotations

import time

import numpy as np

from minigrad.backend import to_device
from minigrad.course.graphs import count_graph_nodes
from minigrad.l2l import (
    LSTMOptimizer,
    MetaConfig,
    MetaTrainer,
    net_defaults,
    unroll,
)
from minigrad.l2l.evaluate import SEED_TAGS
from minigrad.l2l.flat import Flattener
from minigrad.tensor import Tensor

from ._shared import FUNCTIONS
from .quadratic_families import FamilyProblem

# --------------------------------------------------------------------------------------------
# 2.4 The meta-loss: 20 terms (paper) or 21 (official code: also f(theta_0))


def _param_grads(net) -> dict:
    return {n: np.array(to_device(p.grad.data, "cpu"), copy=True)
            for n, p in net.named_parameters()}


def loss_terms_demo(net=None, functions: int = FUNCTIONS, length: int = 20, seed: int = 0,
                    iterations: int = 2) -> dict:
    """The two meta-losses of one unroll, their meta-gradients, and two short meta-trainings.

    One unroll of ``length`` steps from theta_0 on instance ``(seed, 1, 0)`` of the paper's
    family: ``paper`` and ``official`` meta-loss values, ``f0`` = f(theta_0), ``grad_diff``
    (the largest difference between the two meta-gradients). Then ``iterations``
    meta-iterations (T = K = ``length``, meta-lr 1e-2) from the same seed with each setting:
    ``weights_diff`` (the largest difference between the trained weights).
    """
    net = net if net is not None else LSTMOptimizer(**net_defaults("quadratic"))
    inst = FamilyProblem("paper: Gaussian, summed", functions).sample((seed, SEED_TAGS["train"], 0))
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    values, grads = {}, {}
    for terms in ("paper", "official"):
        net.zero_grad()
        meta_loss, *_ = unroll(net, inst, flat, flat.flatten(arrays), None, 0, length,
                               loss_terms=terms)
        values[terms] = meta_loss.item()
        meta_loss.backward()
        grads[terms] = _param_grads(net)
    net.zero_grad()
    f0 = float(inst.loss([Tensor.from_array(arrays[0])]).item())
    trained = {}
    for terms in ("paper", "official"):
        fresh = LSTMOptimizer(**net_defaults("quadratic"))
        trainer = MetaTrainer(fresh, FamilyProblem("paper: Gaussian, summed", functions),
                              MetaConfig(steps=length, unroll=length, meta_lr=1e-2,
                                         loss_terms=terms, seed=seed))
        trainer.train(iterations)
        trained[terms] = fresh.state_dict()
    return {
        "paper": values["paper"], "official": values["official"], "f0": f0,
        "grad_diff": max(float(np.abs(grads["paper"][n] - grads["official"][n]).max())
                         for n in grads["paper"]),
        "weights_diff": max(float(np.abs(trained["paper"][n] - trained["official"][n]).max())
                            for n in trained["paper"]),
        "iterations": iterations,
    }



def meta_gradient(net, second_order: bool, functions: int = FUNCTIONS, length: int = 20,
                  seed: int = 0, family: str = "paper: Gaussian, summed") -> dict:
    """The meta-gradient of one unroll of ``length`` steps from theta_0 (instance
    ``(seed, 1, 0)`` of ``family``): ``loss``, ``grads`` (name -> array), ``vector`` (all of
    them, flattened), ``nodes`` (operations in the meta-loss graph) and ``seconds`` (forward
    plus backward, wall clock)."""
    inst = FamilyProblem(family, functions).sample((seed, SEED_TAGS["train"], 0))
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    net.zero_grad()
    start = time.perf_counter()
    meta_loss, *_ = unroll(net, inst, flat, flat.flatten(arrays), None, 0, length,
                           second_order=second_order)
    forward = time.perf_counter() - start
    nodes = count_graph_nodes(meta_loss)
    start = time.perf_counter()
    meta_loss.backward()
    seconds = forward + time.perf_counter() - start
    grads = _param_grads(net)
    net.zero_grad()
    return {"loss": meta_loss.item(), "grads": grads, "nodes": nodes, "seconds": seconds,
            "vector": np.concatenate([v.ravel() for v in grads.values()]).astype(np.float64)}


def _cosine(a, b) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")


def compare_meta_gradients(net, functions: int = FUNCTIONS, length: int = 20,
                           seed: int = 0) -> dict:
    """First- vs second-order meta-gradients of the same unroll (see :func:`meta_gradient`):
    ``cosine`` of the whole vectors, ``per_parameter`` cosines, ``norm_ratio`` (first /
    second), ``nodes`` and ``seconds`` of each."""
    first = meta_gradient(net, False, functions, length, seed)
    second = meta_gradient(net, True, functions, length, seed)
    return {
        "loss": (first["loss"], second["loss"]),
        "cosine": _cosine(first["vector"], second["vector"]),
        "per_parameter": {n: _cosine(first["grads"][n].ravel().astype(np.float64),
                                     second["grads"][n].ravel().astype(np.float64))
                          for n in first["grads"]},
        "norm_ratio": float(np.linalg.norm(first["vector"]) / np.linalg.norm(second["vector"])),
        "nodes": (first["nodes"], second["nodes"]),
        "seconds": (first["seconds"], second["seconds"]),
    }


def order_race(iterations: int = 8, functions: int = FUNCTIONS, steps: int = 20,
               unroll_length: int = 10, meta_lr: float = 1e-2, seed: int = 0,
               progress: bool = False) -> dict:
    """Meta-train two untrained optimizers from the same seed on the paper's quadratics, one
    with first-order and one with second-order meta-gradients; same problems in the same
    order. Per order: ``curve`` (mean optimizee loss over the horizon, per meta-iteration),
    ``seconds_per_iteration`` and ``net``."""
    out = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=2 * iterations, desc="first and second order")
    for name, second in (("first order", False), ("second order", True)):
        net = LSTMOptimizer(**net_defaults("quadratic"), seed=seed)
        trainer = MetaTrainer(net, FamilyProblem("paper: Gaussian, summed", functions),
                              MetaConfig(steps=steps, unroll=unroll_length, meta_lr=meta_lr,
                                         second_order=second, seed=seed))
        start = time.perf_counter()
        for _ in range(iterations):
            trainer.train_iteration()
            if bar is not None:
                bar.update(1)
        out[name] = {"curve": np.array(trainer.curve),
                     "seconds_per_iteration": (time.perf_counter() - start) / iterations,
                     "net": net}
    if bar is not None:
        bar.close()
    return out


def plot_order_race(result: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for (name, r), color in zip(result.items(), ["tab:blue", "tab:purple"]):
        ax.plot(np.arange(1, len(r["curve"]) + 1), r["curve"], "o-", color=color,
                label=f"{name} ({r['seconds_per_iteration']:.2f} s / meta-iteration here)")
    ax.set_yscale("log")
    ax.set(xlabel="meta-iteration", ylabel="mean loss over the horizon",
           title="Meta-training from the same seed on the same problems")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
