"""Meta-training recipes: the paper's, and a faster one built from later work.

A recipe is everything about HOW the learned optimizer is meta-trained: the meta learning
rate and its schedule, the meta-loss, gradient clipping, an imitation warm start, how many
processes share the work, and a few settings of the optimizer (its head's initialisation and
output scale) and of the training problems (how many digits each training net fits). The
optimizer's architecture, the test problems and the evaluation are the same whatever the
recipe, so optimizers trained by two recipes are compared on the same test runs.

``paper`` (the default everywhere): Adam on phi at the constant rate 1e-3, no clipping, a
freshly initialised LSTM, one process: :data:`~minigrad.l2l.paper.PAPER`.

``fast``: ideas from later work, each an option of ``train`` that is off by default:

* the meta-loss is the log of the mean loss over each segment of 10 steps of the horizon
  (``--meta-objective logmean --meta-segment 10``; the sum of log f_t, ``log``, is Wichrowska
  et al. 2017's): a horizon's losses fall from 2.3 to a few hundredths, so in the sum of f_t
  its first steps outweigh its last many times over, while a log counts each segment by its
  relative improvement;
* the best weights are those with the lowest validation loss over the horizon's last tenth
  (``--val-metric tail``): the final loss the claims compare, estimated on ten times as many
  minibatches as the last step alone; the weights themselves, not a running average (which
  did worse on test in every check);
* a meta learning rate ten times the paper's, warmed up (without the warm-up a high rate can
  leave the LSTM at chance) and halved every 30 meta-iterations down to the paper's 1e-3
  (``--warmup-iters``, ``--decay-iters``, ``--min-lr-ratio``), Adam's beta2 at 0.99
  (``--meta-betas``);
* the meta-gradient backpropagated through a random quarter of the coordinates of each
  horizon, scaled by 4 (``--meta-coordinates 0.25``): an unbiased estimate (in first order each
  coordinate's path to phi is its own) for about two thirds of the time per meta-iteration;
* a collapse back to chance (two horizons in a row) rolled back to the last good weights, with
  the meta lr halved and brought back to the schedule's over 30 meta-iterations
  (``--collapse-guard --collapse-rewarm 30``);
* unrolls of 10 steps at first, doubled every 40 meta-iterations up to the horizon
  (``--unroll 10 --unroll-doubling 40``; Chen et al. 2020's curriculum): short unrolls give
  many cheap meta-updates while the optimizer is poor, and with unrolls of 10 throughout every
  run got worse after about 50 meta-iterations (short-horizon bias: what pays within 10 steps
  is not what pays at step 100);
* a linear head initialised to zeros (``--head-init zeros``), so that the untrained optimizer
  takes no step at all: with the paper's initialisation the size of the first steps depends on
  the seed's draw, and a draw whose steps blow the optimizee up (the loss rising from 2.3 to 5
  or 15) teaches meta-training to shrink every step to nothing, where it can stay at chance;
  from zero the head first learns its weights from the meta-gradient, then the LSTM;
* on MNIST, an output scale of 0.5 instead of the paper's 0.1 (``--output-scale``): the
  shipped optimizer's steps are 4-10 times larger than a young one's, and a larger scale
  reaches them sooner (1.0 left the LSTM at chance);
* on MNIST, each training net fits its own 1,000 digits of the training split
  (``--train-pool 1000``), as every validation and test net fits its split's 1,000: 100 steps
  on 1,000 digits reach losses several times lower than on 3,000, and that late regime is
  the one the optimizer is judged in;
* both cores (:mod:`minigrad.l2l.parallel`);
* with a budget (``--minutes``), a population start (``--population 2``,
  :mod:`minigrad.l2l.population`): two runs with two seeds, one process each, for the first
  half of the budget, then the better on validation goes on alone on both processes. A fresh
  LSTM sometimes never leaves chance, or falls behind in its first minutes and stays behind;
  two starts for the price of one core each leave the budget's second half to the better one.
  It is the command line's: :func:`minigrad.l2l.launch.train_recipe` (lesson 07's live run)
  trains one run.

The imitation warm start of :mod:`minigrad.l2l.imitation` (Chen et al. 2020) is one flag
away (``--imitation``); it did not pay. The recipe's values are still being tuned:
``benchmarks/bench_time_to_win.py`` measures it (each idea alone and all together, against
the paper's recipe in the same run), and ``training/fast-recipe/STATUS.md`` says where that
stands.

``python -m minigrad.l2l train --recipe fast`` starts from the recipe; any flag given as well
(``--meta-lr``, ``--processes``, ...) overrides that one setting. The checkpoint stores the
recipe's name and the settings used, so ``--resume``, ``evaluate`` and ``reproduce`` read
them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .imitation import ImitationConfig
from .paper import PAPER

__all__ = ["RECIPES", "Recipe", "get_recipe"]


@dataclass(frozen=True)
class Recipe:
    """How to meta-train (see the module docstring)."""

    name: str
    summary: str
    meta: dict = field(default_factory=dict)   # MetaConfig settings that differ from the paper
    net: dict = field(default_factory=dict)    # LSTMOptimizer settings that differ from them
    mnist_net: dict = field(default_factory=dict)      # on MNIST only: net settings, and
    mnist_problem: dict = field(default_factory=dict)  # problem settings (e.g. train_pool)
    imitation: ImitationConfig | None = None   # warm start by imitation, or none
    processes: int = 1                         # processes sharing each unroll's coordinates
    val_every: int = 0                         # validation every N meta-iterations (0: the
    val_runs: int = 16                         # run's own setting) on this many problems
    val_metric: str = "mean"                   # the best weights: lowest mean or final loss
    population: int = 1                        # runs side by side for half of a budget (CLI)

    def describe(self) -> str:
        parts = [f"meta lr {self.meta.get('meta_lr', PAPER.meta_lr):g}"]
        if self.meta.get("warmup_iters"):
            parts.append(f"warm-up {self.meta['warmup_iters']} meta-iterations")
        if self.meta.get("decay_iters"):
            parts.append(f"halved every {self.meta['decay_iters']} down to "
                         f"{self.meta.get('min_lr_ratio', 0.1):g}x")
        if self.meta.get("unroll", PAPER.unroll) != PAPER.unroll:
            parts.append(f"unrolls of {self.meta['unroll']} steps")
        objective = self.meta.get("meta_objective", "loss")
        if objective != "loss":
            parts.append("meta-loss: " + ("log of each unroll's mean f_t"
                                          if objective == "logmean" else f"sum of {objective} f_t"))
        if self.meta.get("meta_segment"):
            parts.append(f"the log over segments of {self.meta['meta_segment']} steps")
        if self.meta.get("meta_coordinates", 1.0) < 1:
            parts.append(f"the meta-gradient through {self.meta['meta_coordinates']:g} of the "
                         "coordinates")
        if self.meta.get("collapse_guard"):
            parts.append("a collapse rolled back with the meta lr halved" + (
                f", back to the schedule's over {self.meta['collapse_rewarm']} meta-iterations"
                if self.meta.get("collapse_rewarm") else ""))
        if self.val_metric != "mean":
            parts.append(f"best weights by the {self.val_metric} validation loss")
        if self.net.get("head_init"):
            parts.append(f"the head initialised with {self.net['head_init']}")
        if "output_scale" in self.mnist_net:
            parts.append(f"output scale {self.mnist_net['output_scale']:g} on MNIST")
        if self.mnist_problem.get("train_pool"):
            parts.append(f"each MNIST training net on {self.mnist_problem['train_pool']} "
                         "digits")
        if self.mnist_problem.get("param_scale"):
            parts.append(f"each MNIST training net's weights randomly scaled by exp(U(-L, L)), "
                         f"L = {self.mnist_problem['param_scale']:g}")
        if self.meta.get("average"):
            parts.append(f"validation on a running average of the weights "
                         f"(a = {self.meta['average']:g})")
        if self.meta.get("meta_data", "batch") != "batch":
            parts.append(f"the meta-loss on each net's {self.meta['meta_data']} of data")
        if self.meta.get("unroll_doubling"):
            parts.append(f"the unroll doubled every {self.meta['unroll_doubling']} "
                         "meta-iterations" + (f" up to {self.meta['max_unroll']} steps"
                                              if self.meta.get("max_unroll") else ""))
        if self.meta.get("betas"):
            parts.append("Adam's betas {:g}, {:g}".format(*self.meta["betas"]))
        if self.meta.get("clip_grad_norm"):
            parts.append(f"meta-gradient clipped at norm {self.meta['clip_grad_norm']:g}")
        if self.imitation is not None:
            i = self.imitation
            parts.append(f"imitation of {i.teacher} (lr {i.teacher_lr:g}) on {i.problems} "
                         f"problems")
        parts.append(f"{self.processes} process{'es' if self.processes > 1 else ''}")
        if self.population > 1:
            parts.append(f"with a budget, a population start of {self.population} runs for its "
                         "first half")
        return f"{self.name}: {self.summary} ({', '.join(parts)})"


PAPER_RECIPE = Recipe("paper", "the paper's meta-training")

FAST_RECIPE = Recipe(
    "fast",
    "a higher meta learning rate with warm-up and decay to the paper's rate, unrolls of 10 "
    "doubled every 40 meta-iterations, the log of the mean loss over segments of 10 steps, "
    "Adam's beta2 0.99, the meta-gradient through a random quarter of the coordinates, a "
    "collapse rolled back, the weights chosen by the validation loss over the horizon's last "
    "tenth, a zero-initialised head with output scale 0.5, training nets on 1,000 digits "
    "each, on both cores, from a population start of two runs",
    net={"head_init": "zeros"},
    mnist_net={"output_scale": 0.5},
    mnist_problem={"train_pool": 1000},
    meta={"meta_lr": 1e-2, "warmup_iters": 30, "decay_iters": 30, "min_lr_ratio": 0.1,
          "unroll": 10, "unroll_doubling": 40, "meta_objective": "logmean", "meta_segment": 10,
          "betas": [0.9, 0.99], "meta_coordinates": 0.25, "collapse_guard": True,
          "collapse_rewarm": 30},
    processes=2,
    val_every=25,
    val_runs=16,
    val_metric="tail",
    population=2,
)

#: The recipes by name (``--recipe``).
RECIPES = {r.name: r for r in (PAPER_RECIPE, FAST_RECIPE)}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ValueError naming the known ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; expected one of {', '.join(RECIPES)}") from None
