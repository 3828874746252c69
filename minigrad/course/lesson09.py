"""Lesson 09 (beyond the paper): paper vs official code, second order, what the LSTM learned.

Everything the notebook ``09_beyond_the_paper`` computes lives here, so it can be tested
headless (``tests/test_lesson09.py``):

1. the shipped learned optimizer (:func:`load_pretrained`);
2. the five switches between the paper and the official code, each measured:
   LogAndSign's exponent (:func:`official_log_and_sign`, the reference of exercise 09.1;
   :func:`mnist_gradient`, :func:`preprocessing_report`, :func:`plot_preprocessing`), the
   output scale (:func:`untrained_first_steps`), the quadratic family
   (:class:`FamilyProblem`, :data:`FAMILIES`, :func:`family_stats`, :func:`transfer`,
   :func:`plot_transfer`) and the extra loss term (:func:`loss_terms_demo`);
3. first- vs second-order meta-gradients (:func:`compare_meta_gradients`,
   :func:`order_race`, :func:`plot_order_race`);
4. the learned update as a function of the gradient history: synthetic sequences
   (:func:`gradient_sequence`), the hand-designed rules' steps (:func:`hand_designed_steps`,
   the reference of exercise 09.2), the LSTM's (:func:`learned_steps`,
   :func:`step_responses`, :func:`magnitude_response`), plots and the explorer
   :func:`make_sequence_explorer`;
5. a tiny meta-iteration on a GPU when CuPy finds one (:func:`gpu_meta_iteration`).

Every measurement is small enough for a notebook on a 2-core CPU: a handful of quadratic
functions (80 coordinates), unrolls of 20 steps, a few meta-iterations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from minigrad import ops
from minigrad.autograd import grad
from minigrad.backend import cupy_status, default_device, set_backend, to_device
from minigrad.course.checks import Case, Exercise, register
from minigrad.course.graphs import count_graph_nodes
from minigrad.course.widgets import Explorer
from minigrad.l2l import (
    BaselineRule,
    LearnedRule,
    LogAndSign,
    LSTMOptimizer,
    MetaConfig,
    MetaTrainer,
    make_problem,
    net_defaults,
    unroll,
)
from minigrad.l2l.checkpoints import load_pretrained
from minigrad.l2l.evaluate import SEED_TAGS
from minigrad.l2l.flat import Flattener
from minigrad.l2l.paper import OFFICIAL, PAPER
from minigrad.l2l.problems import QuadraticProblem
from minigrad.optim import update_rules as F
from minigrad.tensor import Tensor

__all__ = [
    "FAMILIES",
    "FUNCTIONS",
    "LR_GRID",
    "SEQUENCES",
    "ArrayRule",
    "FamilyInstance",
    "FamilyProblem",
    "compare_meta_gradients",
    "count_graph_nodes",
    "describe_pretrained",
    "family_losses",
    "family_stats",
    "gpu_meta_iteration",
    "gradient_sequence",
    "hand_designed_steps",
    "learned_steps",
    "load_pretrained",
    "loss_terms_demo",
    "magnitude_response",
    "make_rule",
    "make_sequence_explorer",
    "meta_gradient",
    "mnist_gradient",
    "official_log_and_sign",
    "order_race",
    "plot_magnitude_response",
    "plot_order_race",
    "plot_preprocessing",
    "plot_step_responses",
    "plot_transfer",
    "preprocessing_report",
    "quadratic_rollout",
    "step_responses",
    "transfer",
    "tune_lr",
    "untrained_first_steps",
]

# Eight functions of dimension 10 = 80 coordinates: every LSTM call here stays this small.
FUNCTIONS = 8

# ============================================================================================
# 1. The shipped learned optimizer


def describe_pretrained(info: dict) -> str:
    """One line: what the shipped optimizer is and how long it was trained."""
    net, prob = info["net"], info["problem"]
    return (f"{prob['name']} optimizer ({prob.get('variant', '')} family): "
            f"{net['num_layers']} x {net['hidden_size']} LSTM, preprocess={net['preprocess']}, "
            f"output scale {net['output_scale']:g}; {info['iteration']} meta-iterations "
            f"(status: {info['status']}), {info['weights']} weights")


# ============================================================================================
# 2. The switches between the paper and the official code
# --------------------------------------------------------------------------------------------
# 2.1 LogAndSign: p = 10 (paper) or k = 5 (official code)


def official_log_and_sign(g, k: float = 5.0):
    """The official code's LogAndSign, written with two clamps (reference of exercise 09.1)::

        first  = max(log|g| / k, -1)              (log 0 = -inf gives -1)
        second = clip(e^k g, -1, 1)

    returned as an array of shape ``g.shape + (2,)`` with ``g``'s dtype. (The official code
    adds float32's machine epsilon inside the log, which only matters for |g| < 1e-6, where
    the clamp wins anyway.) This is the paper's piecewise map with p = k: for
    |g| >= e^-k the log term is >= -1 and e^k |g| >= 1 is clipped to sign(g); below, the log
    term is clamped to -1 and e^k g stays in (-1, 1).
    """
    g = np.asarray(g)
    with np.errstate(divide="ignore"):
        first = np.maximum(np.log(np.abs(g)) / k, -1.0)
    second = np.clip(g * np.exp(k), -1.0, 1.0)
    return np.stack([first, second], axis=-1).astype(g.dtype, copy=False)


def _log_and_sign_cases():
    rng = np.random.default_rng(9)
    spread = (rng.choice([-1.0, 1.0], 12) * 10.0 ** rng.uniform(-9, 2, 12)).astype(np.float32)
    return [
        Case((np.array([0.5, -0.5, 2.0, 0.0]), 5.0), label="a few gradients, k = 5"),
        Case((np.array([1e-3, -1e-3, 1e-6, 0.1]), 5.0),
             label="small gradients, k = 5 (below e^-5 = 0.0067: the clamped branch)"),
        Case((np.array([1e-3, -1e-3, 1e-6, 0.1]), 10.0), label="the same gradients, p = 10"),
        Case((spread, 5.0), label="12 float32 gradients from 1e-9 to 100, k = 5"),
        Case((spread, 10.0), label="the same, p = 10"),
        Case((np.array([math.exp(-5.0), -math.exp(-5.0)]), 5.0),
             label="exactly at the boundary |g| = e^-k"),
    ]


def _same_dtype_compare(got, expected):
    from minigrad.course.checks import compare_values

    if isinstance(got, np.ndarray) and got.dtype != expected.dtype:
        return f"got dtype {got.dtype}, expected {expected.dtype} (keep g's dtype)"
    return compare_values(got, expected, rtol=1e-5, atol=1e-6)


register(Exercise(
    id="09.1", title="the official code's LogAndSign", reference=official_log_and_sign,
    cases=_log_and_sign_cases, compare=_same_dtype_compare,
    hint="Two clamps: np.maximum(np.log(np.abs(g)) / k, -1.0) (silence log(0) with "
         "np.errstate(divide='ignore')) and np.clip(np.exp(k) * g, -1.0, 1.0); stack them on "
         "a new last axis and keep g's dtype.",
))


def mnist_gradient(seed: int = 0) -> np.ndarray:
    """The gradient (15,910,) of the paper's MNIST MLP at its initial weights (instance
    ``seed`` of the training family, minibatch 0): what a learned optimizer sees first."""
    inst = make_problem("mnist").sample(seed)
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    leaves = flat.leaves(flat.flatten(arrays))
    loss = inst.loss(leaves, 0)
    g = flat.flatten([d.data for d in grad(loss, leaves)])
    return np.asarray(to_device(g, "cpu"))


def preprocessing_report(g, ps=(PAPER.p, OFFICIAL["p"])) -> dict:
    """For each exponent p: the fraction of coordinates on the clamped branch
    (|g| < e^-p, including the exact zeros), the fraction that are exactly zero, and the
    preprocessed inputs (N, 2) from minigrad's :class:`~minigrad.l2l.LogAndSign`."""
    g = np.asarray(g)
    out = {}
    for p in ps:
        out[float(p)] = {"clamped": float(np.mean(np.abs(g) < math.exp(-p))),
                         "zero": float(np.mean(g == 0)),
                         "inputs": LogAndSign(p)(g)}
    return out


def plot_preprocessing(g, report: dict):
    """Three panels: the gradient magnitudes with each e^-p threshold, and the histograms of
    the two preprocessed inputs for each p."""
    import matplotlib.pyplot as plt

    g = np.asarray(g)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    nz = np.abs(g[g != 0]).astype(np.float64)
    axes[0].hist(np.log10(nz), bins=60, color="0.6")
    for (p, r), c in zip(report.items(), colors):
        axes[0].axvline(-p / math.log(10), color=c, lw=2,
                        label=f"e^-{p:g}: {r['clamped']:.0%} below")
    axes[0].set(xlabel="log10 |g|   (exact zeros left out)", ylabel="coordinates",
                title=f"MNIST MLP gradient at init ({(g == 0).mean():.0%} exactly 0)")
    axes[0].legend(fontsize=8)
    for j, (name, rng) in enumerate([("first input: log|g|/p or -1", (-1.05, 0.05)),
                                     ("second input: sign(g) or e^p g", (-1.05, 1.05))]):
        ax = axes[j + 1]
        for (p, r), c in zip(report.items(), colors):
            ax.hist(r["inputs"][:, j], bins=60, range=rng, histtype="step", lw=1.8, color=c,
                    label=f"p = {p:g}")
        ax.set_yscale("log")
        ax.set(xlabel=name, title=name.split(":")[0])
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# 2.2 Output scale: 0.1 (paper) or 0.01 (official code)


def untrained_first_steps(g, ps=(PAPER.p, OFFICIAL["p"]),
                          scales=(PAPER.mnist_output_scale, OFFICIAL["mnist_output_scale"]),
                          seed: int = 0) -> dict:
    """The first update an UNTRAINED MNIST optimizer (LogAndSign(p), output scale s, the
    official initialisation, weights seed ``seed``) proposes for gradient ``g``.

    For each (p, s): ``median`` |step|, ``p10``/``p90`` of |step|, ``downhill`` (the fraction
    of the nonzero-gradient coordinates whose step has the sign of -g: 0.5 for a rule that
    ignores the gradient's sign) and ``mean`` step (a common drift shows as a mean of the
    median's size). The network runs once per p at scale 1; the scale multiplies its output
    (``delta = s (w.h + b)``), which the tests check against a network built with scale s.
    """
    g = np.asarray(g, dtype=np.float32)
    nz = g != 0
    out = {}
    for p in ps:
        net = LSTMOptimizer(preprocess="logsign", p=p, output_scale=1.0, seed=seed)
        raw, _ = net.update_array(g, None)
        raw = np.asarray(to_device(raw, "cpu"), dtype=np.float64)
        for s in scales:
            step = s * raw
            mag = np.abs(step)
            out[(float(p), float(s))] = {
                "median": float(np.median(mag)), "p10": float(np.percentile(mag, 10)),
                "p90": float(np.percentile(mag, 90)), "mean": float(step.mean()),
                "downhill": float(np.mean(np.sign(step[nz]) == -np.sign(g[nz]))),
            }
    return out


# --------------------------------------------------------------------------------------------
# 2.3 The quadratic family: Gaussian or uniform W, y; summed or batch-mean loss

#: family name -> (QuadraticProblem variant for the draws of W, y, theta_0; loss factor).
#: The batch mean over the official code's 128 functions gives each function's loss (and
#: gradient) the factor 1/128, whatever subset of the functions we run.
FAMILIES = {
    "paper: Gaussian, summed": ("paper", 1.0),
    "Gaussian, mean of 128": ("paper", 1.0 / 128),
    "uniform, summed": ("official", 1.0),
    "official: uniform, mean of 128": ("official", 1.0 / 128),
}


class FamilyInstance:
    """B quadratics ``f_b = ||W_b theta_b - y_b||^2`` optimized together on the loss
    ``factor * sum_b f_b`` (factor 1: the paper's sum; 1/128: the official batch mean).

    Same interface as the library's instances (``init_params``, ``loss``, ``loss_and_runs``);
    each run reports its own f_b, without the factor.
    """

    def __init__(self, w, y, theta0, factor: float):
        self.w, self.y, self.theta0 = w, y[..., None], theta0
        self.factor = float(factor)
        self.num_runs = int(np.prod(w.shape[:-2]))

    def init_params(self) -> list:
        return [self.theta0.copy()]

    def _per_function(self, theta):
        r = ops.matmul(self.w, ops.reshape(theta, theta.shape + (1,))) - self.y
        return ops.sum(r * r, axis=(-2, -1))

    def loss_and_runs(self, params, step=0):
        per = self._per_function(params[0])
        loss = ops.sum(per)
        return (loss * self.factor if self.factor != 1.0 else loss), per.data.reshape(-1)

    def loss(self, params, step=0) -> Tensor:
        return self.loss_and_runs(params, step)[0]

    def gradient(self, theta):
        """The gradient of the loss for the flat theta (N,): ``factor * 2 W^T (W theta - y)``,
        written out (no graph)."""
        r = self.w @ theta.reshape(self.theta0.shape)[..., None] - self.y
        return (2.0 * self.factor * (self.w.swapaxes(-1, -2) @ r)[..., 0]).reshape(-1)


class FamilyProblem:
    """A quadratic family of :data:`FAMILIES` with ``functions`` functions per instance.

    ``sample(seed)`` draws W, y and theta_0 exactly as ``QuadraticProblem(batch=functions,
    variant=variant)`` does for that seed, and applies the family's loss factor. Usable by
    :class:`~minigrad.l2l.MetaTrainer` and :func:`~minigrad.l2l.evaluate_rule`.
    """

    def __init__(self, family: str = "paper: Gaussian, summed", functions: int = FUNCTIONS,
                 dtype="float32"):
        if family not in FAMILIES:
            raise ValueError(f"unknown quadratic family {family!r}; expected one of "
                             f"{', '.join(FAMILIES)}")
        self.family = family
        self.variant, self.factor = FAMILIES[family]
        self.functions = int(functions)
        self.base = QuadraticProblem(batch=self.functions, variant=self.variant, dtype=dtype)
        self.runs_per_sample = self.functions

    def sample(self, seed) -> FamilyInstance:
        inst = self.base.sample(seed)
        return FamilyInstance(inst.w, inst.y[..., 0], inst.theta0, self.factor)

    def sample_runs(self, seeds) -> list:
        return [self.sample(s) for s in seeds]

    def describe(self) -> str:
        return f"{self.functions} quadratics of dimension 10 ({self.family})"


def family_stats(functions: int = 128, seed: int = 0) -> dict:
    """Per family, over ``functions`` functions of one instance: the median |gradient|
    at theta_0 (with the family's factor), the median condition number of W, and the mean
    f_b(theta_0)."""
    out = {}
    for name in FAMILIES:
        prob = FamilyProblem(name, functions, dtype="float64")
        inst = prob.sample((seed, SEED_TAGS["val"], 0))
        theta = Tensor._make(inst.theta0, requires_grad=True)
        loss, per = inst.loss_and_runs([theta])
        (g,) = grad(loss, [theta])
        w = np.asarray(to_device(inst.w, "cpu"))
        out[name] = {"median_grad": float(np.median(np.abs(to_device(g.data, "cpu")))),
                     "median_cond": float(np.median(np.linalg.cond(w))),
                     "f0": float(np.mean(to_device(per, "cpu")))}
    return out


LR_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0)


class ArrayRule:
    """An update rule of :mod:`minigrad.optim.update_rules` (``fn(theta, g, state, lr, ...)``)
    in the ``start``/``step`` form of the library's update rules."""

    def __init__(self, fn: Callable, lr: float, **hyper):
        self.fn, self.lr, self.hyper = fn, float(lr), hyper

    def start(self, theta):
        self.state = {}
        return theta

    def step(self, theta, g):
        theta, self.state = self.fn(theta, g, self.state, self.lr, **self.hyper)
        return theta


def make_rule(name: str, lr: float = 0.0, net=None):
    """``"lstm"`` (the learned optimizer ``net``), ``"momentum"`` (heavy ball, 0.9) or a
    library baseline (``"adam"``, ``"sgd"``, ``"nag"``, ``"rmsprop"``) with rate ``lr``."""
    if name == "lstm":
        return LearnedRule(net)
    if name == "momentum":
        return ArrayRule(F.sgd, lr, momentum=0.9)
    return BaselineRule(name, lr)


def quadratic_rollout(rule, inst: FamilyInstance, steps: int) -> np.ndarray:
    """:func:`minigrad.l2l.rollout` for a :class:`FamilyInstance`, with the gradient written
    out, ``factor * 2 W^T (W theta - y)``, instead of taken by autograd (the same numbers up
    to float rounding, about ten times faster; the tests compare the two). Returns the
    losses, shape (steps + 1, functions); a non-finite loss ends the rollout (the remaining
    rows repeat it)."""
    shape = inst.theta0.shape
    theta = rule.start(inst.theta0.reshape(-1).copy())
    rows = []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            r = inst.w @ theta.reshape(shape)[..., None] - inst.y
            rows.append(np.asarray(to_device((r * r).sum(axis=(-2, -1)), "cpu"), np.float64))
            if not np.isfinite(rows[-1]).all():
                rows.extend([rows[-1]] * (steps - t))
                break
            if t < steps:
                theta = rule.step(theta, inst.gradient(theta))
    return np.stack(rows)


def family_losses(name: str, problem: FamilyProblem, seed, steps: int = 100, lr: float = 0.0,
                  net=None) -> np.ndarray:
    """Losses (functions, steps + 1) of a fresh rule ``name`` (see :func:`make_rule`) on
    instance ``seed`` of ``problem``."""
    return quadratic_rollout(make_rule(name, lr, net), problem.sample(seed), steps).T


def tune_lr(name: str, problem: FamilyProblem, steps: int = 100, seed: int = 0,
            grid=LR_GRID):
    """The learning rate of ``grid`` with the lowest mean final loss of ``name`` ("adam",
    "momentum", ...) on validation instance ``(seed, 2, 0)`` of ``problem``; diverged runs
    count as +inf. Returns ``(lr, {lr: mean final loss})``."""
    table = {}
    for lr in grid:
        final = family_losses(name, problem, (seed, SEED_TAGS["val"], 0), steps, lr)[:, -1]
        table[float(lr)] = float(final.mean()) if np.isfinite(final).all() else math.inf
    best = min(table, key=lambda lr: (table[lr], lr))
    return best, table


def transfer(net, steps: int = 100, functions: int = FUNCTIONS, seed: int = 0,
             grid=LR_GRID, progress: bool = False) -> dict:
    """The learned optimizer ``net`` and Adam on test instance ``(seed, 3, 0)`` of every
    family in :data:`FAMILIES`, ``functions`` functions each, ``steps`` steps.

    Adam's learning rate is tuned (:func:`tune_lr`) on each family; per family: ``lstm`` and
    ``adam`` (losses (functions, steps + 1), each function's own f_b) and ``adam_lr``.
    """
    names = list(FAMILIES)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(names, desc="families")
    out = {}
    for name in names:
        prob = FamilyProblem(name, functions)
        lr = tune_lr("adam", prob, steps, seed, grid)[0]
        test = (seed, SEED_TAGS["test"], 0)
        out[name] = {"lstm": family_losses("lstm", prob, test, steps, net=net),
                     "adam": family_losses("adam", prob, test, steps, lr), "adam_lr": lr}
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


def plot_transfer(result: dict, label: str = "learned (paper family)"):
    """One panel per family: the mean loss of the learned optimizer and of tuned Adam,
    divided by the mean loss at theta_0 (so the families' scales compare)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(result), figsize=(3.3 * len(result), 3.2), sharey=True)
    for ax, (name, r) in zip(np.atleast_1d(axes), result.items()):
        f0 = r["adam"][:, 0].mean()
        for key, color, lab in [("lstm", "tab:blue", label),
                                ("adam", "tab:red", f"Adam (lr {r['adam_lr']:g})")]:
            curve = np.where(np.isfinite(r[key]), r[key], np.nan).mean(axis=0) / f0
            ax.plot(curve, color=color, label=lab)
        ax.set_yscale("log")
        ax.set(title=name, xlabel="step")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("mean loss / mean loss at step 0")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


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
    f0 = float(inst.loss([Tensor._make(arrays[0])]).item())
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


# ============================================================================================
# 3. First- vs second-order meta-gradients


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


# ============================================================================================
# 4. What the LSTM learned: its update as a function of the gradient history

SEQUENCES = ("constant", "alternating", "growing", "decaying", "noisy", "zero")


def gradient_sequence(kind: str, scale: float = 1.0, steps: int = 30, seed: int = 0):
    """A synthetic gradient sequence g_0..g_{steps-1} (float64) for one coordinate:

    ``constant`` s; ``alternating`` s (-1)^t (bouncing across a valley); ``growing``
    s 1.1^t (a slope getting steeper: diverging); ``decaying`` s 0.9^t (converging);
    ``noisy`` s (1 + n_t), n_t ~ N(0, 1) from ``seed``; ``zero`` all 0.
    """
    t = np.arange(steps, dtype=np.float64)
    if kind == "constant":
        g = np.ones(steps)
    elif kind == "alternating":
        g = (-1.0) ** t
    elif kind == "growing":
        g = 1.1**t
    elif kind == "decaying":
        g = 0.9**t
    elif kind == "noisy":
        g = 1.0 + np.random.default_rng(seed).standard_normal(steps)
    elif kind == "zero":
        g = np.zeros(steps)
    else:
        raise ValueError(f"unknown gradient sequence {kind!r}; expected one of "
                         f"{', '.join(SEQUENCES)}")
    return float(scale) * g


def hand_designed_steps(grads, momentum_lr: float, adam_lr: float, momentum: float = 0.9,
                        betas=(0.9, 0.999), eps: float = 1e-8) -> dict:
    """The steps Delta theta_t that heavy-ball momentum and Adam take when they receive the
    gradients ``grads`` (shape (T,) or (T, N)) one after the other (reference of exercise
    09.2). Returns ``{"momentum": (T, ...), "adam": (T, ...)}``, float64::

        momentum:  b_1 = g_1,  b_t = mu b_{t-1} + g_t,          step_t = -lr b_t
        Adam:      m_t = beta1 m_{t-1} + (1 - beta1) g_t,  v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
                   step_t = -lr (m_t / (1 - beta1^t)) / (sqrt(v_t / (1 - beta2^t)) + eps)

    (t counts from 1; m_0 = v_0 = 0.) These are PyTorch's formulas, and minigrad's.
    """
    grads = np.asarray(grads, dtype=np.float64)
    b1, b2 = betas
    buf = m = v = None
    mom, adam = [], []
    for t, g in enumerate(grads, start=1):
        buf = g.copy() if buf is None else momentum * buf + g
        mom.append(-momentum_lr * buf)
        m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
        v = (1 - b2) * g * g if v is None else b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        adam.append(-adam_lr * m_hat / (np.sqrt(v_hat) + eps))
    shape = grads.shape
    return {"momentum": np.array(mom).reshape(shape), "adam": np.array(adam).reshape(shape)}


def _hand_designed_cases():
    rng = np.random.default_rng(4)
    return [
        Case((np.ones(5), 0.1, 0.1), label="a constant gradient 1 for 5 steps, both lr 0.1"),
        Case((np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0]), 0.05, 0.2),
             label="an alternating gradient"),
        Case((1e-3 * 1.1 ** np.arange(8), 0.5, 0.01), label="a small, growing gradient"),
        Case((rng.standard_normal(12), 0.03, 0.1), {"momentum": 0.5, "betas": (0.8, 0.99)},
             label="12 random gradients, momentum 0.5, betas (0.8, 0.99)"),
        Case((rng.standard_normal((6, 3)), 0.1, 0.1), label="6 steps of 3 coordinates at once"),
    ]


register(Exercise(
    id="09.2", title="momentum's and Adam's steps for a gradient sequence",
    reference=hand_designed_steps, cases=_hand_designed_cases, rtol=1e-7, atol=1e-10,
    hint="Loop over the gradients with t = 1, 2, ...; keep the velocity b (start: b = g) and "
         "Adam's m and v (start: 0); the step is -lr * b for momentum and "
         "-lr * m_hat / (sqrt(v_hat) + eps) for Adam, with m_hat = m / (1 - beta1**t) and "
         "v_hat = v / (1 - beta2**t). Return both as arrays of the gradients' shape.",
))


def learned_steps(net, grads) -> np.ndarray:
    """The steps the learned optimizer proposes when it receives ``grads`` (T,) or (T, N)
    one after the other, from its zero state: float64 of the same shape. Each column is one
    coordinate; the optimizer treats them independently (coordinatewise), so many sequences
    run as one batch."""
    grads = np.asarray(grads, dtype=np.float64)
    cols = grads.reshape(grads.shape[0], -1).astype(net.dtype)
    state, out = None, []
    for g in cols:
        delta, state = net.update_array(to_device(np.ascontiguousarray(g), default_device()),
                                        state)
        out.append(np.asarray(to_device(delta, "cpu"), dtype=np.float64))
    return np.array(out).reshape(grads.shape)


def step_responses(net, kind: str = "alternating", scale: float = 1.0, steps: int = 30,
                   momentum_lr: float = 0.01, adam_lr: float = 0.1, seed: int = 0) -> dict:
    """For one synthetic sequence (:func:`gradient_sequence`): ``grads`` and the steps of
    ``lstm``, its ``odd`` part (m(g) - m(-g)) / 2 (what flips with the gradient's sign), its
    ``even`` part (m(g) + m(-g)) / 2 (a drift the gradient's sign does not decide; zero for
    momentum and Adam), ``momentum`` and ``adam``."""
    g = gradient_sequence(kind, scale, steps, seed)
    both = learned_steps(net, np.stack([g, -g], axis=1))
    hand = hand_designed_steps(g, momentum_lr, adam_lr)
    return {"kind": kind, "scale": float(scale), "grads": g, "lstm": both[:, 0],
            "odd": (both[:, 0] - both[:, 1]) / 2, "even": (both[:, 0] + both[:, 1]) / 2,
            "momentum": hand["momentum"], "adam": hand["adam"],
            "lrs": {"momentum": momentum_lr, "adam": adam_lr}}


_STYLE = {"lstm": ("tab:blue", "-", "learned (LSTM)"),
          "odd": ("tab:blue", ":", "learned: odd part"),
          "even": ("tab:cyan", "--", "learned: even part (drift)"),
          "momentum": ("tab:orange", "-", "momentum 0.9"),
          "adam": ("tab:red", "-", "Adam")}


def plot_step_responses(responses, show=("lstm", "odd", "even", "momentum", "adam"),
                        grads: bool = True):
    """Proposed steps, one column per sequence, with the gradients above them when
    ``grads`` (otherwise the column titles name the sequences)."""
    import matplotlib.pyplot as plt

    responses = responses if isinstance(responses, (list, tuple)) else [responses]
    n = len(responses)
    width = max(3.4 * n + 0.6, 7.0)
    if grads:
        fig, axes = plt.subplots(2, n, figsize=(width, 5.2), squeeze=False,
                                 sharex="col", gridspec_kw={"height_ratios": [1, 1.6]})
        tops, bottoms = axes[0], axes[1]
    else:
        fig, axes = plt.subplots(1, n, figsize=(width, 3.4), squeeze=False)
        tops, bottoms = [None] * n, axes[0]
    for top, bottom, r in zip(tops, bottoms, responses):
        title = f"{r['kind']} gradient (scale {r['scale']:g})"
        if top is not None:
            top.bar(np.arange(len(r["grads"])), r["grads"], color="0.55", width=0.8)
            top.axhline(0, color="k", lw=0.6)
            top.set_title(title)
        else:
            bottom.set_title(title)
        for key in show:
            color, ls, label = _STYLE[key]
            if key in ("momentum", "adam"):
                label = f"{label} (lr {r['lrs'][key]:g})"
            bottom.plot(r[key], color=color, ls=ls, lw=1.8, label=label)
        bottom.axhline(0, color="k", lw=0.6)
        bottom.set_xlabel("step t")
        bottom.grid(alpha=0.3)
    if grads:
        tops[0].set_ylabel("gradient g_t")
    bottoms[0].set_ylabel("proposed step Δθ_t")
    bottoms[0].legend(fontsize=7.5, loc="best")
    fig.tight_layout()
    return fig


def magnitude_response(net, scales=None, after: int = 10, momentum_lr: float = 0.01,
                       adam_lr: float = 0.1) -> dict:
    """The step each rule proposes at step ``after`` (0-based) of a CONSTANT gradient s, for
    every s in ``scales`` (default 10^-3 .. 10^2): ``lstm``, ``odd``, ``even``, ``momentum``,
    ``adam`` (arrays over the scales). Momentum's grows in proportion to s (with
    sum_{k<=after} mu^k as the factor); Adam's is about -lr whatever s."""
    scales = np.logspace(-3, 2, 26) if scales is None else np.asarray(scales, dtype=np.float64)
    g = np.ones((after + 1, 1)) * scales[None, :]
    both = learned_steps(net, np.concatenate([g, -g], axis=1))
    k = len(scales)
    hand = hand_designed_steps(g, momentum_lr, adam_lr)
    return {"scales": scales, "after": after, "lstm": both[after, :k],
            "odd": (both[after, :k] - both[after, k:]) / 2,
            "even": (both[after, :k] + both[after, k:]) / 2,
            "momentum": hand["momentum"][after], "adam": hand["adam"][after],
            "lrs": {"momentum": momentum_lr, "adam": adam_lr}}


def plot_magnitude_response(res: dict):
    """|step| against the constant gradient s, log-log; the learned optimizer's odd part
    (its response to the gradient) and even part (drift) apart."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for key in ("odd", "even", "momentum", "adam"):
        color, ls, label = _STYLE[key]
        if key in ("momentum", "adam"):
            label = f"{label} (lr {res['lrs'][key]:g})"
        ax.plot(res["scales"], np.abs(res[key]), color=color, ls=ls, lw=2, marker=".",
                label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="constant gradient s", ylabel=f"|step| at step {res['after']}",
           title=f"Step size after {res['after']} steps of the same gradient")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def make_sequence_explorer(net, momentum_lr: float = 0.01, adam_lr: float = 0.1,
                           kind: str = "alternating", log_scale: float = 0.0,
                           steps: int = 30) -> Explorer:
    """Choose a gradient sequence and see the learned optimizer's steps next to momentum's
    and Adam's (:func:`step_responses`).

    Controls: ``"kind"`` (Dropdown of :data:`SEQUENCES`), ``"log_scale"`` (log10 of the
    sequence's scale), ``"steps"``, ``"parts"`` (Checkbox: show the learned step's odd and
    even parts), ``"log_momentum_lr"`` and ``"log_adam_lr"``. ``result`` is the dict of
    :func:`step_responses`.
    """
    import ipywidgets as widgets

    style = {"description_width": "130px"}
    wide = widgets.Layout(width="430px")

    def slider(value, lo, hi, step, label):
        return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=label,
                                   continuous_update=False, readout_format=".2f", style=style,
                                   layout=wide)

    controls = {
        "kind": widgets.Dropdown(options=list(SEQUENCES), value=kind, description="sequence",
                                 style=style),
        "log_scale": slider(log_scale, -3.0, 2.0, 0.25, "log10 scale"),
        "steps": widgets.IntSlider(value=steps, min=5, max=80, step=5, description="steps",
                                   continuous_update=False, style=style, layout=wide),
        "parts": widgets.Checkbox(value=True, description="show the odd and even parts"),
        "log_momentum_lr": slider(round(math.log10(momentum_lr), 2), -4.0, 0.5, 0.25,
                                  "log10 lr momentum"),
        "log_adam_lr": slider(round(math.log10(adam_lr), 2), -4.0, 0.5, 0.25,
                              "log10 lr Adam"),
    }

    def compute(kind, log_scale, steps, parts, log_momentum_lr, log_adam_lr):
        return step_responses(net, kind, 10.0**log_scale, steps, 10.0**log_momentum_lr,
                              10.0**log_adam_lr)

    def render(result):
        show = ("lstm", "odd", "even", "momentum", "adam") if controls["parts"].value else \
            ("lstm", "momentum", "adam")
        return plot_step_responses([result], show=show)

    return Explorer(controls, compute, render,
                    title="Feed the optimizers a gradient sequence and compare their steps")


# ============================================================================================
# 5. On a GPU


def gpu_meta_iteration(functions: int = FUNCTIONS, steps: int = 10, unroll_length: int = 5,
                       seed: int = 0) -> dict:
    """One meta-iteration on the GPU when CuPy can use one, and the same on the CPU.

    Returns ``{"ran": False, "reason": ...}`` when CuPy cannot be used (nothing else is
    done), else ``ran``, ``reason``, ``gpu_loss`` and ``cpu_loss`` (the iteration's mean
    optimizee loss on each: the same problem, weights and seed, so they agree up to float32
    rounding), ``gpu_seconds`` and ``cpu_seconds``. The default backend is restored after.
    """
    ok, reason = cupy_status()
    if not ok:
        return {"ran": False, "reason": reason}
    previous = "numpy" if default_device() == "cpu" else "cupy"
    out = {"ran": True, "reason": reason}
    try:
        for backend, device in (("cupy", "gpu"), ("numpy", "cpu")):
            set_backend(backend)
            net = LSTMOptimizer(**net_defaults("quadratic"), seed=seed,
                                device=default_device())
            trainer = MetaTrainer(net, FamilyProblem("paper: Gaussian, summed", functions),
                                  MetaConfig(steps=steps, unroll=unroll_length, seed=seed))
            start = time.perf_counter()
            out[f"{device}_loss"] = trainer.train_iteration()
            out[f"{device}_seconds"] = time.perf_counter() - start
    finally:
        set_backend(previous)
    return out
