"""Meta-training: learn phi by gradient descent on the optimizee's losses.

One *horizon* (a meta-iteration) draws a fresh problem instance, starts from its theta_0 with
a zero LSTM state, and runs T optimizee steps in unrolls of K (paper: T = 100, K = 20). In each
unroll, starting from theta_0 (the previous unroll's end, cut from the graph)::

    g_0 = grad f_0(theta_0)                                   a constant
    for t = 0 .. K-1:
        delta_t, state = m(preprocess(g_t), state; phi)       graph through phi
        theta_{t+1}    = theta_t + delta_t
        loss_{t+1}     = f_{t+1}(theta_{t+1})                 graph through theta, so phi
        g_{t+1}        = grad loss_{t+1} wrt theta_{t+1}      a constant (first order)
    L(phi) = sum_{t=1..K} w_t loss_t                          (the paper's meta-loss)

``meta_objective="log"`` sums log loss_t instead (Wichrowska et al. 2017's mean log loss):
its gradient g_t / loss_t weighs every step by its relative improvement, so the late steps of
a horizon, whose losses are ten times smaller than the first ones', count as much as those.
``meta_objective="logmean"`` takes the log of each unroll's mean loss instead,
L = log((1/K) sum_t loss_t): still scale-free across the horizon (an unroll of losses near 0.05
counts as much as one near 2), but inside an unroll the steps are summed before the log, so a
step that falls far below its neighbours does not buy more than a step that rises above them
costs (the sum of logs rewards a loss that swings: by Jensen's inequality, the mean of log f
is below the log of the mean f by more the more f varies). ``meta_segment=S`` takes the log
over segments of S steps of the horizon (steps 1..S, S+1..2S, ...) instead of over whole
unrolls, L = sum_s log(mean_{t in s} loss_t): with unrolls as long as the horizon, the log of
the whole horizon's mean is dominated by its first steps (losses near 2 against a few
hundredths at the end), while segments keep the late steps counting by their relative
improvement and the meta-gradient still flows through the whole unroll.

then ``L.backward()`` and one Adam step on phi. theta_K and the LSTM state carry into the next
unroll with the gradient cut (truncated backpropagation through time).

First order (the paper's dashed edges): each g_t enters the LSTM as a constant, so no second
derivatives of f are needed; dL/dphi still flows through every theta_t and LSTM state.
``second_order=True`` keeps the graph of g_t (``create_graph=True``) and uses the composed LSTM
cell, giving the exact gradient of L (expensive; meant for the quadratic and for checks).

How the graph is built (:func:`unroll`, ``method``): by default each meta-loss term is one
:class:`LossWithGradient` node whose value is loss_t and whose gradient with respect to
theta_t is g_t, computed once on a fresh leaf; the literal transcription (``method="graph"``:
loss_t on the graph tensor theta_t, g_t = grad(loss_t, theta_t, retain_graph=True)) gives the
identical meta-gradient (tested bit for bit) but walks the growing unroll graph at every step.

``loss_terms="official"`` adds f_0(theta_0) to L as the official code does (21 terms per
unroll); it carries no gradient, so only the reported value changes. f_t is the loss at step t
of the horizon (for MNIST, on minibatch t).

``collapse_guard=True`` watches for the collapse a high meta learning rate can cause: one
meta-update sends the LSTM to an optimizer that takes no useful step, the horizon's mean loss
jumps back to chance (on MNIST from 0.47 to 2.30 in one meta-iteration) and the meta-gradient
there is too small (about 0.03) for training ever to leave it. Once a horizon's mean loss has
fallen below ``COLLAPSE_LEFT`` (one half) of the run's first horizon's, the guard keeps the
weights, Adam state and running average at the start of the latest such horizon. A horizon
whose mean loss rises above ``COLLAPSE_BACK`` (nine tenths) of the first's is a strike; after
``COLLAPSE_STRIKES`` (two) such horizons in a row the guard puts the kept state back and halves
the meta learning rate from there on (``lr_scale``; with ``collapse_rewarm=R`` the rate
climbs back to the schedule's over the next R meta-iterations, as in a warm-up, so that a run
that collapsed twice does not go on at a quarter of it). One strike alone is not a collapse: a
young optimizer's horizon may blow up once (mean 2.1, final loss 1.7) while its meta-gradient
is still large, and the next horizon recovers; a collapsed one stays at chance with a
meta-gradient of 0.03. The strikes, the kept state and ``lr_scale`` are in the checkpoint like
the rest of the run's state, so a resumed run rolls back exactly as one that never stopped.
The meta-iteration count, the problem sequence and the schedule go on: the collapsed horizons
stay in the curve, and ``rollbacks`` records ``[iteration, iteration rolled back to]``.

A meta-loss or meta-gradient that is not finite stops training with
:class:`MetaTrainingDiverged`; the trainer then holds the weights and Adam state from the end of
the last complete meta-iteration (it restores them).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import ops, optim
from ..autograd import grad
from ..backend import get_array_module, to_device
from ..function import Function
from ..nn import detach_state
from ..tensor import Tensor
from .checkpoints import RunState
from .evaluate import SEED_TAGS
from .flat import Flattener
from .grouped import bind_net
from .paper import PAPER

__all__ = ["HORIZON_WEIGHTS", "META_OBJECTIVES", "MetaConfig", "MetaTrainer",
           "MetaTrainingDiverged", "unroll"]

#: What one step adds to the meta-loss: f_t itself (the paper), or log f_t.
META_OBJECTIVES = ("loss", "log", "logmean")
#: What the meta-loss's f_t is computed on: the step's minibatch, or the net's whole pool.
META_DATA = ("batch", "pool")
#: How the steps of a horizon are weighted: all alike (the paper), or rising linearly.
HORIZON_WEIGHTS = ("uniform", "linear")
#: The collapse guard: a horizon whose mean loss is below COLLAPSE_LEFT times the run's first
#: horizon's has left chance; one above COLLAPSE_BACK times it afterwards is a strike, and
#: COLLAPSE_STRIKES strikes in a row are a collapse.
COLLAPSE_LEFT, COLLAPSE_BACK, COLLAPSE_STRIKES = 0.5, 0.9, 2


class MetaTrainingDiverged(RuntimeError):
    """The meta-loss or meta-gradient became NaN/inf (the message names the iteration)."""


@dataclass
class MetaConfig:
    """Meta-training settings (defaults: the paper's)."""

    steps: int = PAPER.steps          # horizon T
    unroll: int = PAPER.unroll        # unroll length K (one meta-update per unroll)
    meta_lr: float = PAPER.meta_lr    # Adam's learning rate on phi
    betas: tuple = PAPER.betas
    eps: float = PAPER.eps
    loss_terms: str = "paper"         # "paper": f(theta_1..K); "official": also f(theta_0)
    meta_objective: str = "loss"      # "loss": sum of f_t (paper); "log": sum of log f_t;
                                      # "logmean": log of each unroll's mean f_t
    step_weights: list | None = field(default=None)  # w_1..w_K (None: all 1)
    horizon_weights: str = "uniform"  # times "uniform" 1, or "linear" 2t / (T + 1), t = 1..T
    second_order: bool = False
    clip_grad_norm: float | None = None  # the paper and official code do not clip
    warmup_iters: int = 0             # meta lr ramps up linearly over these (0: none)
    decay_iters: int = 0              # then halves every decay_iters (0: constant) ...
    min_lr_ratio: float = 0.1         # ... down to this fraction of meta_lr
    average: float = 0.0              # a in phi_avg <- a phi_avg + (1 - a) phi (0: no average)
    unroll_doubling: int = 0          # the unroll length doubles every N meta-iterations, up
                                      # to the horizon (0: fixed at ``unroll``) ...
    max_unroll: int = 0               # ... or up to this length (0: the horizon)
    meta_data: str = "batch"          # what f_t in the meta-loss is computed on: the step's
                                      # minibatch (paper) or the net's whole pool of data
    meta_tilt: float = 0.0            # f_t tilted towards the digits the net gets wrong:
                                      # (1/tau) log mean exp(tau * l_i) (0: the mean, paper)
    collapse_guard: bool = False      # roll a collapse back to chance and halve the meta lr
    collapse_rewarm: int = 0          # ... then bring it back to the schedule's linearly over
                                      # this many meta-iterations (0: halved for good)
    meta_segment: int = 0             # logmean: the log over segments of S steps of the
                                      # horizon (0: over each unroll)
    meta_coordinates: float = 1.0     # the fraction of coordinates the meta-gradient flows
                                      # through, rescaled (1: all; < 1 needs the row-split
                                      # trainer, minigrad.l2l.parallel)
    seed: int = 0

    def __post_init__(self):
        if self.steps < 1 or self.unroll < 1:
            raise ValueError(f"MetaConfig: steps and unroll must be >= 1, got {self.steps}, "
                             f"{self.unroll}")
        if self.loss_terms not in ("paper", "official"):
            raise ValueError(f"MetaConfig: loss_terms must be 'paper' or 'official', got "
                             f"{self.loss_terms!r}")
        if self.horizon_weights not in HORIZON_WEIGHTS:
            raise ValueError(f"MetaConfig: horizon_weights must be one of "
                             f"{', '.join(HORIZON_WEIGHTS)}, got {self.horizon_weights!r}")
        if self.meta_objective not in META_OBJECTIVES:
            raise ValueError(f"MetaConfig: meta_objective must be one of "
                             f"{', '.join(META_OBJECTIVES)}, got {self.meta_objective!r}")
        if self.meta_objective != "loss" and self.loss_terms != "paper":
            raise ValueError(f"MetaConfig: meta_objective {self.meta_objective!r} takes "
                             "loss_terms='paper' only "
                             "(log f(theta_0) would be a constant)")
        if self.step_weights is not None:
            self.step_weights = [float(w) for w in self.step_weights]
            if len(self.step_weights) != self.unroll:
                raise ValueError(f"MetaConfig: step_weights has {len(self.step_weights)} "
                                 f"entries, expected unroll = {self.unroll}")
        self.betas = tuple(float(b) for b in self.betas)
        if not 0.0 <= self.average < 1.0:
            raise ValueError(f"MetaConfig: average must be in [0, 1), got {self.average}")
        if self.meta_data not in META_DATA:
            raise ValueError(f"MetaConfig: meta_data must be one of {', '.join(META_DATA)}, "
                             f"got {self.meta_data!r}")
        if self.meta_data != "batch" and self.loss_terms != "paper":
            raise ValueError("MetaConfig: meta_data 'pool' takes loss_terms='paper' only")
        if not (self.meta_tilt >= 0 and math.isfinite(self.meta_tilt)) or (
                self.meta_tilt and self.loss_terms != "paper"):
            raise ValueError(f"MetaConfig: meta_tilt must be finite and >= 0 and takes "
                             f"loss_terms='paper' only, got {self.meta_tilt!r} with "
                             f"{self.loss_terms!r}")
        if self.meta_segment < 0 or (self.meta_segment and self.meta_objective != "logmean"):
            raise ValueError(f"MetaConfig: meta_segment must be >= 0 and takes meta_objective "
                             f"'logmean', got {self.meta_segment} with "
                             f"{self.meta_objective!r}")
        if self.collapse_rewarm < 0 or (self.collapse_rewarm and not self.collapse_guard):
            raise ValueError(f"MetaConfig: collapse_rewarm must be >= 0 and takes "
                             f"collapse_guard=True, got {self.collapse_rewarm} with "
                             f"collapse_guard={self.collapse_guard}")
        if not 0 < self.meta_coordinates <= 1 or (self.meta_coordinates < 1
                                                    and self.second_order):
            raise ValueError(f"MetaConfig: meta_coordinates must be in (0, 1] and below 1 "
                             f"needs first order, got {self.meta_coordinates!r} with "
                             f"second_order={self.second_order}")
        self._check_schedules()

    def _check_schedules(self):
        """ValueError unless the schedules of the unroll and of the meta lr make sense."""
        if self.unroll_doubling < 0:
            raise ValueError(f"MetaConfig: unroll_doubling must be >= 0, got "
                             f"{self.unroll_doubling}")
        if self.max_unroll and (self.max_unroll < self.unroll or not self.unroll_doubling):
            raise ValueError(f"MetaConfig: max_unroll caps unroll_doubling's lengths, so it "
                             f"takes unroll_doubling > 0 and must be >= unroll, got "
                             f"max_unroll={self.max_unroll} with unroll={self.unroll} and "
                             f"unroll_doubling={self.unroll_doubling}")
        if self.unroll_doubling and self.step_weights is not None:
            raise ValueError("MetaConfig: step_weights fix the unroll's length; they cannot be "
                             "combined with unroll_doubling")
        if self.warmup_iters < 0 or self.decay_iters < 0 or not 0 < self.min_lr_ratio <= 1:
            raise ValueError(f"MetaConfig: need warmup_iters >= 0, decay_iters >= 0 and "
                             f"0 < min_lr_ratio <= 1, got {self.warmup_iters}, "
                             f"{self.decay_iters}, {self.min_lr_ratio}")

    def lr_at(self, iteration: int) -> float:
        """The meta learning rate of meta-iteration ``i = iteration`` (0-based): a linear
        warm-up over W = ``warmup_iters``, then a halving every D = ``decay_iters`` down to a
        floor r = ``min_lr_ratio``::

            lr_i = meta_lr * min(1, (i + 1) / W) * max(r, 0.5 ** (max(0, i - W) / D))

        (each factor 1 when its setting is 0: the paper's constant rate)."""
        lr = self.meta_lr
        if self.warmup_iters:
            lr *= min(1.0, (iteration + 1) / self.warmup_iters)
        if self.decay_iters:
            past = max(0, iteration - self.warmup_iters)
            lr *= max(self.min_lr_ratio, 0.5 ** (past / self.decay_iters))
        return lr

    def unroll_at(self, iteration: int) -> int:
        """The unroll length K_i of meta-iteration ``i = iteration`` (0-based): ``unroll``,
        doubled every N = ``unroll_doubling`` meta-iterations, at most the horizon T (or
        M = ``max_unroll`` when it is set)::

            K_i = min(T, M, unroll * 2 ** (i // N))

        A curriculum over the unroll (Chen et al. 2020): short unrolls give many cheap
        meta-updates while the optimizer is poor, and longer ones later remove the short-horizon
        bias of truncation (an optimizer meta-trained on K steps favours what pays within K
        steps). A cap M below T keeps several meta-updates per horizon for good, as the
        paper's fixed K = 20 does. N = 0: always ``unroll`` (the paper)."""
        if not self.unroll_doubling:
            return self.unroll
        cap = min(self.steps, self.max_unroll or self.steps)
        return min(cap, self.unroll * 2 ** (iteration // self.unroll_doubling))

    def weights_for(self, t0: int, length: int) -> list | None:
        """The weights of the meta-loss terms of the unroll over steps t0+1 .. t0+length:
        ``step_weights`` by position in the unroll, times the horizon weight of the step,
        2t / (T + 1) for ``horizon_weights="linear"`` (mean 1 over the horizon: its last steps,
        whose loss the claims compare, count about twice the average and its first ones
        almost nothing). None when all are 1 (the paper's)."""
        w = [1.0] * length if self.step_weights is None else list(self.step_weights[:length])
        if self.horizon_weights == "linear":
            w = [wk * 2.0 * (t0 + k + 1) / (self.steps + 1) for k, wk in enumerate(w)]
        return None if all(wk == 1.0 for wk in w) else w

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d


class LossWithGradient(Function):
    """A scalar node with the value f(theta) and the gradient g = grad f(theta) given.

    Forward returns ``value``; backward sends ``upstream * g`` to theta. Used as a meta-loss
    term it has exactly the gradient of f(theta_t) with respect to everything theta_t depends
    on (the chain rule needs only df/dtheta at theta_t, which is g_t), without keeping f's
    graph or walking it twice. See :func:`unroll`.
    """

    save_inputs = False

    @staticmethod
    def forward(ctx, theta, value, g):
        ctx.g = g
        return value

    @staticmethod
    def backward(ctx, upstream):
        return upstream * Tensor.from_array(ctx.g)


def meta_term(loss, g, objective: str = "loss"):
    """What one step adds to the meta-loss, as ``(value, gradient w.r.t. theta_t)`` for
    :class:`LossWithGradient`: ``(f_t, g_t)``, or for ``objective="log"``
    ``(log f_t, g_t / f_t)``. ``"logmean"`` adds f_t like ``"loss"``; :func:`log_of_mean`
    then takes the log of the unroll's sum."""
    if objective == "log":
        return get_array_module(loss).log(loss), g / loss
    return loss, g


def log_of_mean(summed, values, weights=None):
    """The unroll's meta-loss for ``meta_objective="logmean"`` from ``summed`` = sum_t w_t f_t
    (a Tensor carrying the gradient of that sum) and the values f_t: L = log(S / sum_t w_t)
    with S = sum_t w_t f_t. Since dL = dS / S, ``summed / S`` has L's gradient; a constant
    gives it L's value."""
    w = [1.0] * len(values) if weights is None else weights
    s = float(sum(wk * v for wk, v in zip(w, values)))
    return summed * (1.0 / s) + (math.log(s / sum(w)) - 1.0)


def segment_bounds(t0: int, length: int, segment: int = 0) -> list[tuple[int, int]]:
    """The unroll over steps t0+1 .. t0+length cut where the horizon's segments of
    ``segment`` steps end (steps 1..S, S+1..2S, ...): ``[(start, end), ...]`` index ranges
    into the unroll's steps. ``segment`` 0: the whole unroll, ``[(0, length)]``."""
    if not segment:
        return [(0, length)]
    bounds, k = [], 0
    while k < length:
        end = min(length, k + segment - (t0 + k) % segment)
        bounds.append((k, end))
        k = end
    return bounds


def log_of_segment_means(terms, values, weights, bounds):
    """The ``"logmean"`` meta-loss of an unroll's ``terms`` (Tensors carrying w_t f_t's
    gradient) and ``values`` f_t: sum over the segments ``bounds`` of :func:`log_of_mean`."""
    total = None
    for a, b in bounds:
        summed = terms[a]
        for term in terms[a + 1:b]:
            summed = summed + term
        part = log_of_mean(summed, values[a:b], None if weights is None else weights[a:b])
        total = part if total is None else total + part
    return total


def _loss_and_grad(instance, flat, theta, step, create_graph=False, pool=False, tilt=0.0):
    """f_step at ``theta`` (array (N,)) on fresh leaves: ``(loss Tensor, gradient (N,))``;
    with ``pool``, the loss on the net's whole pool of data instead of minibatch ``step``; with
    ``tilt`` > 0, the tilted loss (``instance.tilted_loss``) instead of the mean.

    The gradient is an array, or a Tensor with a graph when ``create_graph`` (second order).
    """
    def f(params):
        if tilt:
            return instance.tilted_loss(params, step, tilt, pool=pool)
        return instance.pool_loss(params) if pool else instance.loss(params, step)

    if create_graph:
        leaf = Tensor.from_array(theta, requires_grad=True)
        loss = f(flat.views(leaf))
        return loss, grad(loss, leaf, create_graph=True)
    leaves = flat.leaves(theta)
    loss = f(leaves)
    return loss, flat.flatten([g.data for g in grad(loss, leaves)])


def unroll(net, instance, flat: Flattener, theta, state, t0: int, length: int, *,
           step_weights=None, second_order: bool = False, loss_terms: str = "paper",
           method: str = "tangent", meta_objective: str = "loss", meta_data: str = "batch",
           meta_tilt: float = 0.0, meta_segment: int = 0, record=None):
    """One unroll of ``length`` optimizee steps from ``theta`` (array (N,)) and ``state``.

    Returns ``(meta_loss, theta_end, state_end, losses)``: the meta-loss Tensor (its graph
    reaches phi), theta after the unroll (array), the LSTM state cut from the graph, and the
    optimizee losses f(theta_1..theta_K) as floats. ``record``, if a list, receives each
    gradient g_0..g_{K-1} fed to the optimizer (arrays), for checks.

    Two ways to build the same first-order meta-loss (``method``):

    * ``"graph"`` (the direct transcription): loss_t = f(theta_t) is built on the graph tensor
      theta_t, and g_t = grad(loss_t, theta_t, retain_graph=True) is taken as a constant. Each
      grad call walks the whole graph behind theta_t (every earlier LSTM step), so an unroll
      of K steps costs O(K^2) graph visits.
    * ``"tangent"`` (default): f is evaluated on a fresh leaf holding theta_t's values, giving
      loss_t and g_t from a small graph; the meta-loss term is :class:`LossWithGradient`
      (value loss_t, gradient g_t w.r.t. theta_t). Its gradient is identical: the chain rule
      d f(theta_t)/d phi = g_t . d theta_t/d phi needs nothing of f but g_t.

    ``second_order=True`` always uses ``"graph"`` with ``create_graph=True``.

    ``meta_data="pool"``: each meta-loss term is the loss on the net's whole pool of data
    (``instance.pool_loss``) at theta_t, while the optimizer still steps on minibatch
    gradients; the losses returned are then the pool's. ``meta_tilt`` > 0: each term is the
    tilted loss (``instance.tilted_loss``) of the minibatch (or pool); the losses returned are
    the tilted ones.
    """
    if method not in ("tangent", "graph"):
        raise ValueError(f"unroll: method must be 'tangent' or 'graph', got {method!r}")
    net = bind_net(net, instance, flat)  # one LSTM per parameter group: which rows are which
    if second_order:
        method = "graph"
    loss, g = _loss_and_grad(instance, flat, theta, t0, create_graph=second_order)
    cur = Tensor.from_array(theta)  # theta_0: a constant for phi (the cut between unrolls)
    terms, values = [], []
    extra = loss.item() if loss_terms == "official" else 0.0
    for k in range(length):
        if record is not None:
            record.append(np.array(to_device(getattr(g, "data", g), "cpu"), copy=True))
        delta, state = net.update(g, state, create_graph=second_order)
        cur = cur + delta
        step = t0 + k + 1
        w = 1.0 if step_weights is None else step_weights[k]
        loss, term, g = _step_term(instance, flat, cur, step, w, method, meta_objective,
                                   second_order, need_grad=k < length - 1,
                                   pool=meta_data == "pool", tilt=meta_tilt)
        values.append(loss.item())
        terms.append(term)
    meta_loss = _meta_loss(terms, values, step_weights, method, meta_objective,
                           segment_bounds(t0, length, meta_segment))
    if extra:
        meta_loss = meta_loss + extra
    return meta_loss, cur.data, detach_state(state), values


def _step_term(instance, flat, cur, step, w, method, meta_objective, second_order, need_grad,
               pool=False, tilt=0.0):
    """Step ``step`` of an unroll (see :func:`unroll`): ``(loss, term, g)``, the loss the
    meta-loss counts at ``cur`` = theta_t (minibatch ``step``'s, or with ``pool`` the whole
    pool's), its weighted meta-loss term, and the minibatch gradient g_t to feed the optimizer
    next (None on the graph path when ``need_grad`` is false)."""
    if method == "tangent":
        loss, g = _loss_and_grad(instance, flat, cur.data, step)
        counted, g_counted = _loss_and_grad(instance, flat, cur.data, step, pool=pool,
                                            tilt=tilt) if pool or tilt else (loss, g)
        value, gradient = meta_term(counted.data, g_counted, meta_objective)
        if w != 1.0:  # weighted inside the node, as the parallel trainer does
            value, gradient = w * value, w * gradient
        return counted, LossWithGradient.apply(cur, value=value, g=gradient), g
    params = flat.views(cur)
    loss = instance.loss(params, step)
    counted = term = (instance.tilted_loss(params, step, tilt, pool=pool) if tilt else
                      instance.pool_loss(params) if pool else loss)
    if meta_objective == "log":
        term = ops.log(counted)
    g = None
    if need_grad:
        g = grad(loss, cur, retain_graph=True, create_graph=second_order)
        g = g if second_order else g.data
    return counted, (term if w == 1.0 else term * w), g


def _meta_loss(terms, values, step_weights, method, meta_objective, bounds):
    """The unroll's meta-loss from its terms: their sum, or for ``"logmean"`` the sum over the
    segments ``bounds`` of the log of their weighted mean (on the tangent path through
    :func:`log_of_segment_means`, which needs the ``values``)."""
    if meta_objective == "logmean" and method != "graph":
        return log_of_segment_means(terms, values, step_weights, bounds)
    if meta_objective != "logmean":
        bounds = [(0, len(terms))]
    meta_loss = None
    for a, b in bounds:
        part = terms[a]
        for term in terms[a + 1:b]:
            part = part + term
        if meta_objective == "logmean":
            w = step_weights[a:b] if step_weights is not None else [1.0] * (b - a)
            part = ops.log(part * (1.0 / sum(w)))
        meta_loss = part if meta_loss is None else meta_loss + part
    return meta_loss


class MetaTrainer:
    """Meta-trains ``net`` on ``problem`` (a family with ``sample(seed)``).

    ``train_iteration()`` runs one horizon (one meta-iteration: ceil(T/K) Adam steps) on the
    problem drawn from seed ``(config.seed, 1, iteration)``, so the sequence of problems is a
    function of the seed alone and resuming from a checkpoint continues it exactly.
    """

    #: Whether :meth:`run_unroll` can backpropagate through a subset of the coordinates
    #: (``config.meta_coordinates`` < 1): the row-split trainer of :mod:`minigrad.l2l.parallel`.
    subsamples = False

    def __init__(self, net, problem, config: MetaConfig | None = None):
        self.net, self.problem = net, problem
        self.config = config or MetaConfig()
        c = self.config
        if c.meta_coordinates < 1 and not self.subsamples:
            raise ValueError(f"MetaConfig: meta_coordinates {c.meta_coordinates:g} needs the "
                             f"row-split trainer (minigrad.l2l.parallel.ParallelMetaTrainer, "
                             f"also on one process); {type(self).__name__} backpropagates "
                             f"through every coordinate")
        if c.meta_data == "pool" and not hasattr(problem.sample(0), "pool_loss"):
            raise ValueError(f"MetaConfig: meta_data 'pool' needs a problem whose nets have a "
                             f"pool of data (the MNIST MLP), not {problem.describe()}")
        self.params = net.parameters()
        self.meta_opt = optim.Adam(self.params, lr=c.meta_lr, betas=c.betas, eps=c.eps)
        self.iteration = 0
        self.curve: list[float] = []  # mean optimizee loss over the horizon, per iteration
        self.final_losses: list[float] = []  # f_T(theta_T) at the end of each horizon
        self.last_grad_norm = math.nan  # the last meta-iteration's largest meta-gradient norm
        # the running average of phi (config.average > 0), starting at the initial weights
        self.averaged = self.net.state_dict() if c.average else None
        # the collapse guard (config.collapse_guard): the factor on the meta lr, the weights to
        # roll back to (None until a horizon has left chance), the horizons at chance in a row
        # since then and the rollbacks so far
        self.lr_scale, self.guard_state, self.strikes, self.rollbacks = 1.0, None, 0, []

    def problem_seed(self, iteration: int) -> tuple:
        return (int(self.config.seed), SEED_TAGS["train"], int(iteration))

    # ----- snapshots (last good weights) ------------------------------------------------------
    def snapshot(self) -> RunState:
        """A copy of the run's state: what a checkpoint stores and :meth:`restore` puts
        back (:class:`~minigrad.l2l.checkpoints.RunState`)."""
        return RunState.of(self)

    def restore(self, state: RunState) -> None:
        state.put(self)

    # ----- the running average of phi -----------------------------------------------------------
    def update_average(self) -> None:
        """After a meta-update: phi_avg <- a phi_avg + (1 - a) phi, a = ``config.average``
        (Polyak averaging; a = 0.99 remembers about the last 100 meta-updates). A high meta
        learning rate makes phi noisy from one unroll to the next; the average keeps the
        progress and smooths the noise."""
        a = self.config.average
        for name, p in self.net.named_parameters():
            avg = self.averaged[name]
            avg *= a
            avg += (1.0 - a) * p.numpy()

    @contextmanager
    def evaluation_weights(self):
        """Inside the block ``net`` holds the weights to evaluate and keep: the running
        average when there is one, else phi itself; phi is back afterwards."""
        if self.averaged is None:
            yield self.net
            return
        phi = self.net.state_dict()
        self.net.load_state_dict(self.averaged)
        try:
            yield self.net
        finally:
            self.net.load_state_dict(phi)

    # ----- one meta-iteration -----------------------------------------------------------------
    def train_iteration(self) -> float:
        """One horizon; returns its mean optimizee loss (1/T) sum_{t=1..T} f_t(theta_t)."""
        snap = self.snapshot()
        try:
            mean = self._horizon(snap)
        except KeyboardInterrupt:
            self.restore(snap)  # an interrupted horizon leaves no trace
            raise
        if self.config.collapse_guard:
            self.guard_collapse(snap, mean)
        return mean

    def guard_collapse(self, start: RunState, mean: float) -> bool:
        """The collapse guard after a horizon that began at ``start`` with mean loss ``mean``
        (see the module docstring): keep ``start`` if the horizon has left chance; count a
        strike if it is back at chance, and at the ``COLLAPSE_STRIKES``-th in a row roll back
        to the kept state and halve ``lr_scale``. True if it rolled back."""
        first = self.curve[0]
        if mean < COLLAPSE_LEFT * first:
            self.guard_state = start.weights_only()
        if mean <= COLLAPSE_BACK * first or self.guard_state is None:
            self.strikes = 0
            return False
        self.strikes += 1
        if self.strikes < COLLAPSE_STRIKES:
            return False
        self.guard_state.put_weights(self)
        self.lr_scale = 0.5 * self.lr_factor(self.iteration - 1)  # half the collapsed rate
        self.strikes = 0
        # [the iteration that made the collapse, the iteration whose start it went back to]
        self.rollbacks.append([self.iteration, self.guard_state.iteration + 1])
        return True

    def lr_factor(self, iteration: int | None = None) -> float:
        """The collapse guard's factor on the scheduled meta lr of the horizon that starts
        after ``iteration`` meta-iterations (default: the next): the ``lr_scale`` the latest
        rollback left, which stays, or with ``collapse_rewarm`` R climbs back to 1 linearly,
        ``s + (1 - s) min(1, n / R)`` n meta-iterations after the rollback."""
        rewarm, s = self.config.collapse_rewarm, self.lr_scale
        if not rewarm or not self.rollbacks or s >= 1.0:
            return s
        since = (self.iteration if iteration is None else iteration) - self.rollbacks[-1][0]
        return s + (1.0 - s) * min(1.0, since / rewarm)

    def start_horizon(self, seed):
        """Draw the problem instance of ``seed``; returns the horizon's starting point
        ``(instance, flat, theta_0, state)`` (the LSTM state None: zeros)."""
        instance = self.problem.sample(seed)
        arrays = instance.init_params()
        flat = Flattener.like(arrays)
        return instance, flat, flat.flatten(arrays), None

    def run_unroll(self, horizon, theta, state, t0: int, length: int):
        """One unroll of the horizon (see :func:`unroll`): ``(meta_loss, theta, state,
        values)``. A subclass may spread it over processes (:mod:`minigrad.l2l.parallel`)."""
        c = self.config
        instance, flat = horizon[0], horizon[1]
        return unroll(self.net, instance, flat, theta, state, t0, length,
                      step_weights=c.weights_for(t0, length),
                      second_order=c.second_order, loss_terms=c.loss_terms,
                      meta_objective=c.meta_objective, meta_data=c.meta_data,
                      meta_tilt=c.meta_tilt, meta_segment=c.meta_segment)

    def _horizon(self, snap) -> float:
        c = self.config
        for group in self.meta_opt.param_groups:
            group["lr"] = c.lr_at(self.iteration) * self.lr_factor()
        horizon = self.start_horizon(self.problem_seed(self.iteration))
        theta, state = horizon[2], horizon[3]
        total, t, u, norms = 0.0, 0, 0, []
        while t < c.steps:
            k = min(c.unroll_at(self.iteration), c.steps - t)
            meta_loss, theta, state, values = self.run_unroll(horizon, theta, state, t, k)
            value = meta_loss.item()
            if not math.isfinite(value):
                self.restore(snap)
                raise MetaTrainingDiverged(
                    f"meta-training stopped at iteration {snap.iteration + 1} (unroll "
                    f"{u + 1}): the meta-loss is {value}; kept the weights from the end of "
                    f"iteration {snap.iteration}")
            self.meta_opt.zero_grad()
            meta_loss.backward()
            del meta_loss
            bad = [n for n, p in self.net.named_parameters()
                   if p.grad is not None and not np.isfinite(p.grad.data).all()]
            if bad:
                self.restore(snap)
                raise MetaTrainingDiverged(
                    f"meta-training stopped at iteration {snap.iteration + 1} (unroll "
                    f"{u + 1}): non-finite meta-gradient for {', '.join(bad)}; kept the weights "
                    f"from the end of iteration {snap.iteration}")
            norms.append(optim.clip_grad_norm_(self.params, c.clip_grad_norm)
                         if c.clip_grad_norm else optim.grad_norm(self.params))
            self.meta_opt.step()
            if self.averaged is not None:
                self.update_average()
            total += sum(values)
            t += k
            u += 1
        mean = total / c.steps
        self.iteration += 1
        self.curve.append(mean)
        self.final_losses.append(values[-1])
        self.last_grad_norm = max(norms)  # the largest meta-gradient norm, before clipping
        return mean

    def train(self, iterations: int, callback=None) -> list[float]:
        """Run meta-iterations until ``self.iteration == iterations``; returns the curve."""
        while self.iteration < iterations:
            value = self.train_iteration()
            if callback is not None:
                callback(self, value)
        return self.curve
