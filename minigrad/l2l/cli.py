"""``python -m minigrad.l2l``: meta-train a learned optimizer, or evaluate one.

    python -m minigrad.l2l train --problem quadratic --meta-iters 1000 --out runs/quad.npz
    python -m minigrad.l2l train --problem mnist --out runs/mnist.npz --val-every 50
    python -m minigrad.l2l train --problem mnist --out runs/mnist.npz --resume --meta-iters 2000
    python -m minigrad.l2l train --problem convnet --dataset fashion-mnist --groups conv,fc
    python -m minigrad.l2l evaluate --problem mnist --checkpoint pretrained
    python -m minigrad.l2l evaluate --problem mnist --checkpoint runs/mnist.npz \\
        --optimizee sigmoid-20 --runs 50 --json results.json --plot curves.png

``train`` shows a progress bar with the optimizee's loss per run averaged over the horizon,
on the last 20 meta-iterations' training problems and at the latest validation, saves a
checkpoint every ``--checkpoint-every`` seconds, at the end, and on Ctrl-C or SIGTERM (then
exits with status 130 or 143), always atomically, holding the state after the last COMPLETE
meta-iteration (a save that fails is retried, and at the end goes to a fallback file it
names: :mod:`minigrad.l2l.training`); one ``train`` at a time per ``--out`` (a lock);
``--resume`` continues it exactly (same numbers as an uninterrupted run). With
``--val-every N`` the learned optimizer is scored every N meta-iterations on ``--val-runs``
validation problems (mean optimizee loss over steps 1..T) and the best weights are kept
beside the last ones (``evaluate`` uses them by default). A NaN/inf meta-loss stops training
with a message naming the iteration; the checkpoint keeps the last good weights (exit 1).

``--population K --population-minutes M`` starts K runs side by side (one process each, seeds
``SEED*K+i``) and lets the best on validation go on alone after M minutes
(:mod:`minigrad.l2l.population`).

``evaluate`` runs the protocol of :mod:`minigrad.l2l.evaluate` and prints a table (each
optimizer's tuned learning rate, marked when it sits at the edge of the grid, its mean final
loss with a 95% interval, and the paired verdict against the best baseline); ``--json`` and
``--plot`` also write the full results and the figure.
Every argument is checked, every checkpoint read and validated, and every file to write
probed, before any work starts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

from ..files import FileLocked, atomic_write_text, exclusive_lock, probe_writable
from ..threads import DEFAULT_THREADS, array_threads
from . import population
from .baselines import DISPLAY_NAMES, lr_grid
from .checkpoints import (
    CheckpointMismatch,
    load_learned_optimizer,
    read_checkpoint,
    restore_trainer,
)
from .evaluate import OPTIMIZERS, run_protocol
from .grouped import is_grouped, parse_groups
from .imitation import ImitationConfig
from .launch import base_config, build_trainer, recipe_flags, warm_start
from .lstm_optimizer import INITS, net_defaults
from .meta import HORIZON_WEIGHTS, META_DATA, META_OBJECTIVES
from .paper import PAPER
from .preprocess import PREPROCESSORS
from .problems import (
    CONVNET_DATASETS,
    OPTIMIZEE_HELP,
    PROBLEMS,
    parse_classes,
    parse_optimizee,
    problem_from_config,
)
from .recipes import RECIPES, get_recipe
from .reproduce import add_parser as add_reproduce_parser
from .reproduce import cmd_reproduce
from .sizes import RequestTooLarge, check_fits, protocol_bytes
from .training import VAL_METRICS, TrainingRun, merge_settings, resolve_run_settings

__all__ = ["main"]


class UsageError(Exception):
    """A bad argument or checkpoint, found before any work (exit status 2)."""


# ------------------------------------------------------------------------------ arguments ---
def _positive_int(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return v


def _non_negative_int(text):
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return v


def _positive_float(text):
    v = float(text)
    if not v > 0 or not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return v


def _non_negative_float(text):
    v = float(text)
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return v


def _average(text):
    v = float(text)
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return v


def _betas(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 2 or not all(0.0 <= v < 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"expected two numbers in [0, 1) as B1,B2, got {text}")
    return values


def _int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers as N1,N2,..., got {text}")
    return values


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1], got {text}")
    return value


def _classes(text):
    try:
        ids = parse_classes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return None if ids is None else list(ids)


def _groups(text):
    try:
        return parse_groups(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_problem_args(p):
    p.add_argument("--problem", required=True, help=f"one of {', '.join(PROBLEMS)}")
    p.add_argument("--optimizee", default=None,
                   help=f"MNIST optimizee: {OPTIMIZEE_HELP} (default: sigmoid-20, or the "
                        "checkpoint's)")
    p.add_argument("--variant", choices=("paper", "official"), default=None,
                   help="quadratic family: the paper's (Gaussian W, y; summed) or the official "
                        "code's (uniform; batch mean) (default: paper, or the checkpoint's)")
    p.add_argument("--dataset", choices=CONVNET_DATASETS, default=None,
                   help="convnet: the images (mnist: the shipped digits; fashion-mnist: Debian's "
                        "dataset-fashion-mnist or minigrad.data's folder; cifar10: the binary "
                        "batches in $MINIGRAD_CIFAR10) (default: mnist, or the checkpoint's)")
    p.add_argument("--classes", type=_classes, default=None,
                   help="convnet: only these classes, e.g. 0-4 or 0,2,4 (the output layer has one "
                        "unit per class; the paper's LSTM-sub trains on some classes and is "
                        "evaluated on others) (default: all ten, or the checkpoint's)")
    p.add_argument("--seed", type=int, default=None, help="seed of every random draw (0)")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help="threads for the array work: the learned optimizer's LSTM blocks run on "
                        "this many, each BLAS product on one; 0 leaves the libraries' defaults "
                        f"({DEFAULT_THREADS}: the products are small, and idle BLAS threads spin "
                        "on a busy machine)")


def _add_run_args(g):
    """``train``'s options for the run."""
    g.add_argument("--meta-iters", type=_positive_int, default=None,
                   help="train until this many meta-iterations (horizons) are done (1000, or "
                        "the checkpoint's)")
    g.add_argument("--minutes", type=_positive_float, default=None,
                   help="stop when the run's wall-clock time (all sessions, warm start, "
                        "validation and checkpoints included) reaches this many minutes; "
                        "without --meta-iters, the budget alone ends the run")
    g.add_argument("--out", default=None, help="checkpoint path (runs/l2l-PROBLEM.npz)")
    g.add_argument("--resume", action="store_true", help="continue the checkpoint at --out")
    g.add_argument("--force", action="store_true", help="overwrite an existing --out")
    g.add_argument("--reset-optimizer-state", action="store_true",
                   help="with --resume: start the meta-optimizer's Adam state afresh when the "
                        "checkpoint lacks it (an error otherwise; the log says so)")
    g.add_argument("--checkpoint-every", type=_positive_float, default=None,
                   help="seconds between checkpoints (120, or the checkpoint's)")
    g.add_argument("--log", default=None,
                   help="append one line per meta-iteration to this file (default: --out with "
                        "the suffix .log; '-' for none)")
    g.add_argument("--recipe", choices=tuple(RECIPES), default=None,
                   help="how to meta-train: " + "; ".join(r.describe() for r in RECIPES.values())
                        + ". Flags given as well override the recipe's value (default: paper, "
                          "or the checkpoint's)")
    g.add_argument("--processes", type=_positive_int, default=None,
                   help="processes sharing each unroll's coordinates (the recipe's: paper 1, "
                        "fast 2); the numbers agree to float32 rounding whatever the count")
    g.add_argument("--dtype", choices=("float32", "float64"), default=None, help="(float32)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--population", type=_positive_int, default=None,
                   help="a population start: K runs (seeds SEED*K+i), one process each, side by "
                        "side for --population-minutes, then the best on validation goes on "
                        "alone on --processes up to --minutes; each member's checkpoint and log "
                        "sit next to --out as NAME.member<i> (default: with --minutes, the "
                        "recipe's: paper 1, fast 2; without, 1)")
    g.add_argument("--population-minutes", type=_positive_float, default=None,
                   help="with --population: the members' share of the --minutes budget "
                        "(default: half of it)")


def _add_validation_args(g):
    """``train``'s options for validation and the best weights."""
    g.add_argument("--val-every", type=_non_negative_int, default=None,
                   help="validate every N meta-iterations and keep the best weights (0: never, "
                        "or the checkpoint's)")
    g.add_argument("--val-runs", type=_positive_int, default=None,
                   help="validation problems (MNIST nets / quadratic batches) (16, or the "
                        "checkpoint's)")
    g.add_argument("--val-metric", choices=VAL_METRICS, default=None,
                   help="keep the weights with the lowest validation loss: the mean over steps "
                        "1..T, the final loss at step T, which the claims compare, or tail: the "
                        "mean over the horizon's last tenth, the final loss with less noise (the "
                        "recipe's: paper mean; or the checkpoint's)")


def _add_meta_args(g):
    """``train``'s options for meta-training."""
    g.add_argument("--steps", type=_positive_int, default=None, help=f"horizon T ({PAPER.steps})")
    g.add_argument("--unroll", type=_positive_int, default=None,
                   help=f"unroll length K ({PAPER.unroll})")
    g.add_argument("--unroll-doubling", type=_non_negative_int, default=None,
                   help="double the unroll length every N meta-iterations, up to the horizon "
                        "(a curriculum: many cheap meta-updates first, then longer unrolls "
                        "against truncation's short-horizon bias; paper: 0, fixed)")
    g.add_argument("--max-unroll", type=_non_negative_int, default=None,
                   help="with --unroll-doubling: the doubling stops at this length, so every "
                        "horizon keeps several meta-updates (0, the default: at the horizon)")
    g.add_argument("--meta-lr", type=_positive_float, default=None,
                   help=f"Adam lr on phi ({PAPER.meta_lr:g})")
    g.add_argument("--warmup-iters", type=_non_negative_int, default=None,
                   help="meta-iterations over which the meta lr ramps up linearly (paper: 0)")
    g.add_argument("--decay-iters", type=_non_negative_int, default=None,
                   help="then the meta lr halves every N meta-iterations (paper: 0, constant) "
                        "down to --min-lr-ratio of its peak")
    g.add_argument("--min-lr-ratio", type=_positive_float, default=None,
                   help="the decay's floor, a fraction of --meta-lr (the recipe's: "
                        f"fast {RECIPES['fast'].meta.get('min_lr_ratio', 0.1):g}; otherwise 0.1)")
    g.add_argument("--collapse-guard", action=argparse.BooleanOptionalAction, default=None,
                   help="roll back a collapse: once a horizon's mean loss has fallen below half "
                        "the first horizon's, two horizons in a row back above nine tenths of "
                        "it (the LSTM sent to chance by a meta-update; one alone is a transient) "
                        "restore the weights and Adam state from the start of the latest "
                        "horizon below half and halve the meta lr from there (paper: off)")
    g.add_argument("--collapse-rewarm", type=_non_negative_int, default=None, metavar="R",
                   help="with --collapse-guard: after a rollback, bring the halved meta lr back "
                        "to the schedule's linearly over R meta-iterations (default 0: it stays "
                        "halved)")
    g.add_argument("--meta-coordinates", type=_fraction, default=None, metavar="F",
                   help="backpropagate each horizon through a random fraction F of the "
                        "coordinates only, their terms scaled by 1/F: an unbiased estimate of "
                        "the first-order meta-gradient for a fraction of the backward's cost "
                        "(the other coordinates' LSTM runs forward only) (paper: 1, all)")
    g.add_argument("--meta-betas", type=_betas, default=None,
                   help=f"Adam's B1,B2 on phi (paper: {PAPER.betas[0]:g},{PAPER.betas[1]:g}); "
                        "a smaller B2 (e.g. 0.99, a memory of about 100 meta-updates) lets the "
                        "step size follow meta-gradients that grow or shrink as training goes")
    g.add_argument("--clip-grad-norm", type=_positive_float, default=None,
                   help="clip the meta-gradient's norm at this value (paper: no clipping)")
    g.add_argument("--average", type=_average, default=None,
                   help="keep a running average of the optimizer's weights, phi_avg <- a "
                        "phi_avg + (1 - a) phi after each meta-update (a in [0, 1); 0.99 "
                        "remembers about 100 meta-updates); validation and the best weights use "
                        "it (paper: 0, none)")
    g.add_argument("--second-order", action="store_true", default=None,
                   help="keep second derivatives (exact meta-gradient; slow)")
    g.add_argument("--imitation", action=argparse.BooleanOptionalAction, default=None,
                   help="start with the imitation warm start (minigrad.l2l.imitation: fit the "
                        "LSTM to Adam's updates first), or not (default: the recipe's choice)")


def _add_meta_loss_args(g):
    """``train``'s options for what the meta-loss counts."""
    g.add_argument("--meta-data", choices=META_DATA, default=None,
                   help="what each f_t of the meta-loss is computed on: the step's minibatch "
                        "(paper: batch) or the training net's whole pool of digits (pool: no "
                        "minibatch noise in the meta-loss, and every hard digit counts at every "
                        "step; the optimizer still steps on minibatch gradients)")
    g.add_argument("--meta-tilt", type=_non_negative_float, default=None, metavar="TAU",
                   help="tilt each f_t of the meta-loss towards the digits the net still gets "
                        "wrong: (1/TAU) log mean_i exp(TAU l_i) over the minibatch's (or pool's) "
                        "cross-entropies l_i instead of their mean (paper: 0, the mean); the "
                        "optimizer still steps on the mean's gradient")
    g.add_argument("--meta-objective", choices=META_OBJECTIVES, default=None,
                   help="what each optimizee step adds to the meta-loss: its loss f_t (paper) or "
                        "log f_t (Wichrowska et al. 2017: every step counts by its relative "
                        "improvement, so the late, small losses weigh as much as the first); "
                        "logmean: the log of each unroll's mean f_t (scale-free across the "
                        "horizon without rewarding a loss that swings from step to step)")
    g.add_argument("--meta-segment", type=_non_negative_int, default=None, metavar="S",
                   help="with --meta-objective logmean: the log of the mean loss over segments "
                        "of S steps of the horizon (steps 1..S, S+1..2S, ...) rather than over "
                        "each unroll, so the late steps keep counting by their relative "
                        "improvement once the unrolls are as long as the horizon (default 0: "
                        "each unroll)")
    g.add_argument("--horizon-weights", choices=HORIZON_WEIGHTS, default=None,
                   help="how the meta-loss weighs the steps of a horizon: uniform (paper) or "
                        "linear, 2t / (T + 1) at step t (the last steps, whose loss the claims "
                        "compare, count most)")
    g.add_argument("--loss-terms", choices=("paper", "official"), default=None,
                   help="meta-loss terms per unroll: f(theta_1..K) (paper) or also f(theta_0) "
                        "(official code; changes only the reported value)")


def _add_optimizer_args(g):
    """``train``'s options for the learned optimizer."""
    g.add_argument("--preprocess", choices=PREPROCESSORS, default=None,
                   help="gradient preprocessing (MNIST: logsign; quadratic: identity)")
    g.add_argument("--p", type=_positive_float, default=None,
                   help=f"LogAndSign exponent ({PAPER.p:g})")
    g.add_argument("--output-scale", type=_positive_float, default=None,
                   help=f"update scale (MNIST {PAPER.mnist_output_scale:g}, quadratic 1)")
    g.add_argument("--hidden-size", type=_positive_int, default=None,
                   help=f"LSTM units ({PAPER.hidden_size})")
    g.add_argument("--layers", type=int, default=None, help=f"LSTM layers ({PAPER.num_layers})")
    g.add_argument("--init", choices=INITS, default=None, help="initialisation (l2l)")
    g.add_argument("--head-init", choices=INITS, default=None,
                   help="initialisation of the linear head alone (default: --init's; "
                        "zeros: the untrained optimizer takes no steps)")
    g.add_argument("--forget-bias", type=float, default=None,
                   help=f"forget-gate bias ({PAPER.forget_bias:+g})")
    g.add_argument("--groups", type=_groups, default=None,
                   help="one LSTM per parameter group, named by kind: conv,fc (the paper's for "
                        "the convnet: the conv kernels / everything else), or all: one LSTM for "
                        "every parameter (the paper's LSTM-merged)")


def _add_training_problem_args(g):
    """``train``'s options for the training problems."""
    g.add_argument("--train-pool", type=_positive_int, default=None,
                   help="MNIST: each training net fits its own N digits, drawn from the "
                        "training split by its seed (default: all 3,000); validation and test "
                        "nets fit their whole split of 1,000, so 1000 trains in their regime")
    g.add_argument("--param-scale", type=_positive_float, default=None, metavar="L",
                   help="MNIST: random scaling of the training nets (Lv et al. 2017): each "
                        "weight of a training net is scaled by its own exp(U(-L, L)), the "
                        "optimizer stepping the unscaled weight, so it meets every coordinate's "
                        "curvature times up to exp(2L); validation and test nets are not "
                        "scaled (default: off)")
    g.add_argument("--conv-channels", type=_int_list, default=None,
                   help="convnet: channels of each convolutional layer (16,16,16)")
    g.add_argument("--linear", type=_int_list, default=None,
                   help="convnet: widths of the hidden fully connected layers (32)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minigrad.l2l",
        description="Learning to learn by gradient descent by gradient descent, on minigrad.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="meta-train a learned optimizer",
                       description="Meta-train the coordinatewise LSTM optimizer. Options left "
                                   "out take the paper's values (or, with --resume, the "
                                   "checkpoint's).")
    _add_problem_args(t)
    _add_run_args(t.add_argument_group("the run"))
    _add_validation_args(t.add_argument_group("validation and the best weights"))
    _add_meta_args(t.add_argument_group("meta-training"))
    _add_meta_loss_args(t.add_argument_group("the meta-loss"))
    _add_optimizer_args(t.add_argument_group("the learned optimizer"))
    _add_training_problem_args(t.add_argument_group("the training problems"))

    e = sub.add_parser("evaluate", help="compare a learned optimizer with tuned baselines",
                       description="Tune each baseline's learning rate on validation problems, "
                                   "then run every optimizer on the same test problems.")
    _add_problem_args(e)
    e.add_argument("--checkpoint", default=None,
                   help="PATH of a trained optimizer, or 'pretrained' (the shipped one)")
    e.add_argument("--trained-on", default=None, metavar="PROBLEM",
                   help="transfer: the checkpoint is a learned optimizer of PROBLEM (one LSTM), "
                        "evaluated on --problem with that problem's defaults; e.g. --problem "
                        "convnet --trained-on mnist --checkpoint pretrained applies the MNIST "
                        "optimizer to the convnet (default: --problem)")
    e.add_argument("--weights", choices=("best", "last"), default="best",
                   help="the best-on-validation weights if the checkpoint has them, or the last")
    e.add_argument("--steps", type=_positive_int, default=100, help="optimizee steps (100)")
    e.add_argument("--runs", type=_positive_int, default=20,
                   help="test runs: MNIST nets or quadratic functions (20)")
    e.add_argument("--val-runs", type=_positive_int, default=None,
                   help="validation runs for tuning (default: --runs)")
    e.add_argument("--optimizers", default=",".join(OPTIMIZERS),
                   help=f"comma-separated subset of {','.join(OPTIMIZERS)}")
    e.add_argument("--lr-min", type=_positive_float, default=1e-4, help="grid start (1e-4)")
    e.add_argument("--lr-max", type=_positive_float, default=3.0, help="grid end (3)")
    e.add_argument("--json", default=None,
                   help="also write the full results (curves, every run's final loss) as JSON")
    e.add_argument("--plot", default=None, help="where to draw the loss curves (PNG)")
    e.add_argument("--no-progress", action="store_true", help="no progress messages")
    add_reproduce_parser(sub)
    b = sub.add_parser("bench", add_help=False,
                       help="time and memory of meta-training against PyTorch (runs "
                            "benchmarks/bench_meta.py of a source checkout; --help there)")
    b.add_argument("bench_args", nargs="*", help=argparse.SUPPRESS)
    return parser


def cmd_bench(bench_args: list) -> int:
    """Run ``benchmarks/bench_meta.py`` (outside the installed package: it holds the PyTorch
    reference and the targets) with the remaining arguments."""
    import runpy

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_meta.py"
    if not script.is_file():
        raise UsageError(f"bench: {script} is not here; the benchmark needs a source checkout "
                         "of the repository")
    module = runpy.run_path(str(script), run_name="bench_meta")
    return module["main"](list(bench_args))


# ---------------------------------------------------------------------------------- train ---
_NET_FLAGS = {"preprocess": "preprocess", "p": "p", "output_scale": "output_scale",
              "hidden_size": "hidden_size", "num_layers": "layers", "init": "init",
              "forget_bias": "forget_bias", "head_init": "head_init", "groups": "groups"}
_META_FLAGS = {"steps": "steps", "unroll": "unroll", "meta_lr": "meta_lr",
               "second_order": "second_order", "loss_terms": "loss_terms", "seed": "seed",
               "warmup_iters": "warmup_iters", "decay_iters": "decay_iters",
               "min_lr_ratio": "min_lr_ratio", "meta_objective": "meta_objective",
               "horizon_weights": "horizon_weights",
               "clip_grad_norm": "clip_grad_norm", "average": "average", "betas": "meta_betas",
               "unroll_doubling": "unroll_doubling", "max_unroll": "max_unroll",
               "meta_data": "meta_data",
               "meta_tilt": "meta_tilt", "collapse_guard": "collapse_guard",
               "collapse_rewarm": "collapse_rewarm",
               "meta_segment": "meta_segment", "meta_coordinates": "meta_coordinates"}
_PROBLEM_FLAGS = {"optimizee": "optimizee", "variant": "variant", "train_pool": "train_pool",
                  "param_scale": "param_scale",
                  "dataset": "dataset", "conv_channels": "conv_channels", "linear": "linear",
                  "classes": "classes"}


def _check_problem(args):
    if args.problem not in PROBLEMS:
        raise UsageError(f"unknown problem {args.problem!r}; expected one of {', '.join(PROBLEMS)}")
    if args.optimizee is not None:
        if args.problem != "mnist":
            raise UsageError(f"--optimizee applies to the mnist problem only, not {args.problem}")
        try:
            parse_optimizee(args.optimizee)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.variant is not None and args.problem != "quadratic":
        raise UsageError(f"--variant applies to the quadratic problem only, not {args.problem}")
    for flag in ("dataset", "conv_channels", "linear", "classes"):
        if getattr(args, flag, None) is not None and args.problem != "convnet":
            raise UsageError(f"--{flag.replace('_', '-')} applies to the convnet problem only, "
                             f"not {args.problem}")
    if getattr(args, "groups", None) and args.problem != "convnet":
        raise UsageError(f"--groups {','.join(args.groups)}: one LSTM per parameter group "
                         f"needs the convnet problem, not {args.problem}")


def _resolve_train_config(args, meta_ckpt, recipe):
    """Net/meta/problem configuration from the flags, the checkpoint (on resume), the
    recipe and the paper's defaults, in that order; a flag that contradicts the checkpoint is
    an error (:func:`~minigrad.l2l.training.merge_settings`)."""
    if args.train_pool is not None and args.problem != "mnist":
        raise UsageError(f"--train-pool applies to the mnist problem only, not {args.problem}")
    if args.param_scale is not None and args.problem != "mnist":
        raise UsageError(f"--param-scale applies to the mnist problem only, not {args.problem}")
    net, meta, problem, dtype = _stored_config(args.problem, meta_ckpt, recipe)
    conflicts, merged = [], []
    for values, names in ((net, _NET_FLAGS), (meta, _META_FLAGS), (problem, _PROBLEM_FLAGS),
                          ({"dtype": dtype}, {"dtype": "dtype"})):
        flags = {key: getattr(args, flag) for key, flag in names.items()}
        # a setting the checkpoint lacks counts as None, which a flag contradicts
        stored = None if meta_ckpt is None else {key: values.get(key) for key in names}
        values, _, changed = merge_settings(values, flags, stored, names)
        merged.append(values)
        conflicts += changed.values()
    if conflicts:
        raise UsageError(f"{args.out}: cannot resume with settings that differ from the "
                         f"checkpoint's: {'; '.join(conflicts)}. Leave them out to continue "
                         "with the checkpoint's, or train into a new --out")
    net, meta, problem, dtype = merged[0], merged[1], merged[2], merged[3]["dtype"]
    if net["num_layers"] < 0:
        raise UsageError(f"--layers must be >= 0, got {net['num_layers']}")
    if meta.get("unroll") and meta.get("steps") and meta["unroll"] > meta["steps"]:
        print(f"warning: --unroll {meta['unroll']} is longer than the horizon --steps "
              f"{meta['steps']}; each unroll is the whole horizon, so unroll "
              f"{meta['steps']} is used and recorded", file=sys.stderr)
        meta["unroll"] = meta["steps"]
    meta["seed"] = int(meta.get("seed") or 0)
    net["seed"] = meta["seed"]
    return net, meta, problem, dtype


def _stored_config(problem_name, meta_ckpt, recipe):
    """``(net, meta, problem, dtype)`` before the flags: the recipe's on the paper's defaults,
    with the checkpoint's on top when resuming (its net, not the recipe's)."""
    net, meta, problem, dtype = base_config(problem_name, recipe)
    if meta_ckpt is not None:
        net = {**net_defaults(problem_name),
               **{k: v for k, v in meta_ckpt["net"].items() if k != "seed"}}
        net["groups"] = meta_ckpt["net"].get("groups", [])  # absent: one LSTM
        meta.update(meta_ckpt["meta"])
        problem.update(meta_ckpt["problem"])
        dtype = meta_ckpt.get("dtype", dtype)
    return net, meta, problem, dtype


def cmd_train(args) -> int:
    """``train``: check the problem, that ``--out`` and ``--log`` can be written, and take the
    run's lock, all before any work; then train (:func:`_train`)."""
    _check_problem(args)
    if args.population_minutes is not None and (args.population or 1) < 2:
        raise UsageError(f"--population-minutes {args.population_minutes:g} is the members' "
                         "share of a population start; give --population K (K >= 2) too")
    out = Path(args.out or f"runs/l2l-{args.problem}.npz")
    args.out = out
    log = args.log if args.log is not None else out.with_suffix(".log")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create its folder ({exc})") from None
    _check_writable({"--out": out, "--log": None if str(log) == "-" else log})
    command = " ".join(["python -m minigrad.l2l"] + (sys.argv[1:] if args._argv is None
                                                     else list(args._argv)))
    lock = out.with_name(f".{out.name}.lock")
    try:
        with exclusive_lock(lock, f"pid {os.getpid()}, started "
                                  f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {command}"):
            args.population = _population_size(args, out)
            if args.population > 1:
                code, processes = _population_start(args, out, log)
                if code != 0:
                    return code
                args = _continuation(args, processes)
            return _train(args, out)
    except FileLocked as exc:
        raise UsageError(f"--out {out}: another train is writing to it ({exc.owner}); wait "
                         "for it to end or stop it, or choose another --out") from None


def _check_writable(targets: dict) -> None:
    """UsageError unless every ``{flag: path}`` (None: not asked) can be written."""
    for flag, path in targets.items():
        if path is not None:
            try:
                probe_writable(path)
            except OSError as exc:
                raise UsageError(f"{flag} {path}: {exc.strerror}; nothing was computed. "
                                 f"Choose a folder you can write to") from None


def _population_size(args, out: Path) -> int:
    """How many runs start side by side: ``--population``, else the recipe's when there is a
    budget (``--minutes``); 1 once ``--out`` exists and is resumed (its run goes on)."""
    if args.resume and out.is_file():
        return 1
    if args.population is not None:
        return args.population
    first = population.member_path(out, 0)
    stored = read_checkpoint(first)[1] if args.resume and first.is_file() else None
    recipe = _resolve_recipe(args, stored)
    if recipe.population > 1 and args.minutes is None:
        print(f"note: the {recipe.name} recipe's population start needs a budget (--minutes); "
              "one run trains", file=sys.stderr)
        return 1
    return recipe.population


def _population_start(args, out: Path, log) -> tuple[int, int]:
    """``--population K``: train the K members side by side for ``--population-minutes`` (or
    resume them), then write the best on validation to ``out``
    (:mod:`minigrad.l2l.population`). Returns ``(status, processes)``: 0, or a member's exit
    status when one was stopped (130, 143: ``--resume`` continues the stage) or failed; and
    the processes the chosen member goes on with."""
    k, minutes = args.population, args.population_minutes
    if minutes is None and args.minutes is not None:
        minutes = args.population_minutes = population.SHARE * args.minutes
    if minutes is None or args.minutes is None or not minutes < args.minutes:
        raise UsageError(f"--population {k} needs --minutes (the budget) and "
                         f"--population-minutes below it (the members' share); got --minutes "
                         f"{args.minutes} and --population-minutes {minutes}")
    paths = [population.member_path(out, i) for i in range(k)]
    found = [p for p in paths if p.is_file()]
    if args.resume and not found:
        raise UsageError(f"--resume: there is no checkpoint at {out}, nor population members "
                         f"({paths[0].name}, ...) to resume")
    if found and not (args.resume or args.force):
        raise UsageError(f"{found[0]} already exists; pass --resume to continue the population, "
                         "--force to start it afresh, or choose another --out")
    stored = [read_checkpoint(p)[1] for p in found] if args.resume else []
    recipe = _resolve_recipe(args, stored[0] if stored else None)
    if not (stored or args.val_every or recipe.val_every):
        raise UsageError(f"--population {k}: the members are chosen by validation; give "
                         "--val-every (the recipe has no validation schedule)")
    seed = args.seed
    if seed is None and stored:  # a stage resumed without --seed: its members' training seed
        seed = (int(stored[0]["meta"]["seed"]) - paths.index(found[0])) // k
    seeds = population.member_seeds(seed or 0, k)
    members = [_member_args(args, i, seeds[i], paths[i], log) for i in range(k)]
    before = max((float(m.get("elapsed_s", 0.0)) for m in stored), default=0.0)
    print(f"population: {k} members (seeds {', '.join(map(str, seeds))}), one process each, "
          f"for {minutes:g} minutes: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    start = time.time()
    codes = population.run_members(_run_member, members)
    elapsed = before + time.time() - start
    for i, code in enumerate(codes):
        if code in (130, 143):
            print(f"population: member {i} stopped; --resume continues the population",
                  file=sys.stderr)
            return code, 0
        if code != 0:
            raise UsageError(f"population member {i} (seed {seeds[i]}, {paths[i]}) exited with "
                             f"status {code}; see its log {members[i].log}")
    _adopt_best(out, log, paths, seeds, minutes, elapsed, seed or 0)
    return 0, args.processes or recipe.processes


def _member_args(args, index: int, seed: int, path: Path, log):
    """The ``train`` arguments of population member ``index``: the run's, on one process,
    for the members' minutes, with its own seed, checkpoint and log."""
    member = argparse.Namespace(**vars(args))
    member.population, member.population_minutes = 1, None  # a member starts no population
    member.seed, member.out, member.processes = seed, path, 1
    member.minutes, member.no_progress = args.population_minutes, True
    member.validate_last = True
    member.log = str(population.member_log(log, index))
    member.resume = path.is_file() and args.resume
    member.force = not member.resume
    argv = sys.argv[1:] if args._argv is None else list(args._argv)
    member._argv = [*argv, f"(population member {index}: --seed {seed} --processes 1 "
                           f"--minutes {args.population_minutes:g} --out {path})"]
    return member


def _run_member(args) -> int:
    """A population member's ``train`` (in its own process)."""
    try:
        with array_threads(args.threads):
            return cmd_train(args)
    except UsageError as exc:
        print(f"error: population member {args.out}: {exc}", file=sys.stderr)
        return 2


def _adopt_best(out: Path, log, paths, seeds, minutes, elapsed, seed) -> None:
    """Write the member with the best validation score to ``out`` with the ``population``
    record, and its log to ``log``."""
    checkpoints = [read_checkpoint(p) for p in paths]
    metas = [meta for _, meta in checkpoints]
    try:
        chosen = population.choose_member(metas)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    record = {"seed": seed, "minutes": minutes, "elapsed_s": elapsed, "chosen": chosen,
              "members": [{"seed": s, "checkpoint": str(p), "iteration": m["iteration"],
                           "best": m["validation"]["best"], "elapsed_s": m.get("elapsed_s")}
                          for s, p, m in zip(seeds, paths, metas)]}
    log = None if str(log) == "-" else Path(log)
    member_log = population.member_log(log, chosen) if log is not None else None
    text = member_log.read_text() if member_log is not None and member_log.is_file() else ""
    arrays, meta = checkpoints[chosen]
    population.adopt_member(out, arrays, meta, record, elapsed, log, text)
    best = record["members"][chosen]["best"]
    print(f"population: member {chosen} (seed {seeds[chosen]}) chosen, best validation "
          f"{best[1]:.6g} at meta-iteration {best[0]} (the others: "
          + ", ".join(f"{m['best'][1]:.6g}" for i, m in enumerate(record["members"])
                      if i != chosen) + f"); it goes on in {out}", file=sys.stderr)


def _continuation(args, processes: int):
    """The arguments that resume the chosen member in ``--out`` on ``processes``, up to the
    whole budget."""
    cont = argparse.Namespace(**vars(args))
    cont.resume, cont.processes = True, processes
    return cont


def _train(args, out: Path) -> int:
    """``train``: open the checkpoint to resume (if any), resolve the settings, build or restore
    the trainer, record what the run is, warm-start it if the recipe says so, and run it."""
    ckpt_arrays, ckpt_meta = _open_for_training(args, out)
    chosen_by = (ckpt_meta or {}).get("population") or {}
    if chosen_by and args.seed is not None and args.seed == chosen_by.get("seed"):
        args.seed = None  # the population's training seed: its chosen member's seed goes on
    recipe = _resolve_recipe(args, ckpt_meta)
    settings, notes = _run_settings(args, recipe, ckpt_meta)
    if not out.parent.is_dir():
        out.parent.mkdir(parents=True, exist_ok=True)
    net_cfg, meta_cfg, prob_cfg, dtype = _resolve_train_config(args, ckpt_meta, recipe)
    stored = (ckpt_meta or {}).get("recipe") or {}
    processes = args.processes or stored.get("processes") or recipe.processes
    imitation = recipe.imitation
    if args.imitation is not None:
        imitation = (recipe.imitation or ImitationConfig()) if args.imitation else None
    try:
        trainer = build_trainer(args.problem, net_cfg, meta_cfg, prob_cfg, dtype, processes)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if trainer.config.second_order and args.problem == "mnist":
        print("warning: second-order meta-gradients on MNIST are very slow", file=sys.stderr)
    best, val_history, elapsed = _restore(args, out, trainer, ckpt_arrays, ckpt_meta, notes)
    val_problem = None
    if settings.val_every:
        val_problem = problem_from_config(trainer.problem.config(), split="val", dtype=dtype)
    extra = _provenance(args, recipe, processes, imitation, stored)
    if ckpt_meta is not None and ckpt_meta.get("population"):
        extra["population"] = ckpt_meta["population"]
    if ckpt_meta is not None and ckpt_meta.get("imitation"):
        extra["imitation"] = ckpt_meta["imitation"]
    elif imitation is not None and trainer.iteration == 0:
        if args.problem != "mnist":
            raise UsageError(f"--recipe {recipe.name}: its imitation warm start is written for "
                             f"the mnist problem, not {args.problem}")
        record = warm_start(trainer.net, trainer.problem, imitation, trainer.config.seed,
                            not args.no_progress)
        extra["imitation"] = record
        elapsed += record["seconds"]  # the warm start counts in the run's time
    log_path = args.log if args.log is not None else out.with_suffix(".log")
    run = TrainingRun(trainer, trainer.problem.config(), out, settings, val_problem=val_problem,
                      best=best, val_history=val_history, elapsed_s=elapsed, extra=extra,
                      log_path=None if str(log_path) == "-" else log_path,
                      progress=not args.no_progress)
    if args.reset_optimizer_state and ckpt_meta is not None:
        run.log(f"# --reset-optimizer-state: the meta-optimizer's Adam state starts afresh at "
                f"iteration {trainer.iteration}")
    try:
        code = run.run()
        if code == 0 and getattr(args, "validate_last", False):
            code = _validate_last(run, trainer)
        return 143 if code == 130 and run.stopped_by == signal.SIGTERM else code
    finally:
        close = getattr(trainer, "close", None)
        if close is not None:
            close()


def _validate_last(run, trainer) -> int:
    """A population member's last weights validated and saved (members are chosen by their
    best validation score, so their last meta-iterations count too): 0, 130 when stopped
    (the checkpoint then holds the run as it ended), 1 when the save failed."""
    if run.val_problem is None or (run.val_history
                                   and run.val_history[-1][0] == trainer.iteration):
        return 0
    try:
        with population.sigterm_interrupts():
            run.validate()
    except KeyboardInterrupt:
        return 130
    run.log(f"validation {trainer.iteration} (the population stage's last weights) val "
            f"{run.last_val['mean']:.6g} val_final {run.last_val['final']:.6g} val_tail "
            f"{run.last_val['tail']:.6g}" + (" best" if run.best_iteration() == trainer.iteration
                                             else ""))
    return 0 if run.save("done") else 1


def _open_for_training(args, out: Path):
    """``(arrays, meta)`` of the checkpoint ``--resume`` continues, or ``(None, None)`` for a
    new run (refusing to overwrite ``out`` without ``--force``)."""
    if args.resume:
        if not out.is_file():
            raise UsageError(f"--resume: there is no checkpoint at {out} to resume")
        try:
            return read_checkpoint(out, args.problem)
        except CheckpointMismatch as exc:
            raise UsageError(str(exc)) from None
    if out.exists() and not args.force:
        raise UsageError(f"{out} already exists; pass --resume to continue it, --force to "
                         "overwrite it, or choose another --out")
    return None, None


def _run_settings(args, recipe, ckpt_meta):
    """The run's :class:`~minigrad.l2l.training.RunSettings` and the notes on what a resumed
    run changed: the flags, else (a new run) the recipe's, else the checkpoint's."""
    flags = {"meta_iters": args.meta_iters, "val_every": args.val_every,
             "val_runs": args.val_runs, "checkpoint_every": args.checkpoint_every,
             "minutes": args.minutes, "val_metric": args.val_metric}
    if ckpt_meta is None:  # a new run: the recipe's settings where no flag is given
        flags = recipe_flags(recipe, flags)
    try:
        return resolve_run_settings(flags, ckpt_meta)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _restore(args, out: Path, trainer, ckpt_arrays, ckpt_meta, notes):
    """``(best, val_history, elapsed_s)``: restored from the checkpoint into ``trainer`` on
    ``--resume`` (printing the notes), nothing for a new run."""
    if ckpt_meta is None:
        return None, [], 0.0
    try:
        restored = restore_trainer(trainer, ckpt_arrays, ckpt_meta, path=out,
                                   reset_optimizer=args.reset_optimizer_state)
    except CheckpointMismatch as exc:
        raise UsageError(f"{exc}; pass --reset-optimizer-state to start the meta-optimizer "
                         "afresh from the checkpoint's weights") from None
    except ValueError as exc:
        raise UsageError(f"{out}: does not fit the configuration: {exc}") from None
    for note in notes:
        print(f"{out}: {note}", file=sys.stderr)
    return restored


def _provenance(args, recipe, processes, imitation, stored) -> dict:
    """What the checkpoint records of how the run was made: the command, the data and
    minigrad versions, and the recipe (on resume, the one it was started with, with this
    session's processes)."""
    argv = sys.argv[1:] if args._argv is None else list(args._argv)
    extra = {"command": " ".join(["python -m minigrad.l2l"] + argv),
             "data": _data_version(args.problem), "minigrad_version": _version(),
             "recipe": {"name": recipe.name, "processes": processes,
                        "imitation": None if imitation is None else imitation.to_dict()}}
    if stored:
        extra["recipe"] = dict(stored, processes=processes)
    return extra


def _resolve_recipe(args, ckpt_meta):
    """The recipe: ``--recipe``, or the checkpoint's on resume (a different one is an error),
    or the paper's."""
    stored = ((ckpt_meta or {}).get("recipe") or {}).get("name")
    if ckpt_meta is not None and args.recipe is not None and args.recipe != (stored or "paper"):
        raise UsageError(f"{args.out}: was trained with --recipe {stored or 'paper'}, cannot "
                         f"resume it with --recipe {args.recipe}; leave --recipe out")
    try:
        return get_recipe(args.recipe or stored or "paper")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _data_version(problem):
    if problem != "mnist":
        return None
    from ..data.mnist5k import MNIST_5K_CONTENT_SHA256

    return {"mnist_5k_sha256": MNIST_5K_CONTENT_SHA256, "splits": "mnist_splits(seed=0)"}


def _version():
    from .. import __version__

    return __version__


# ------------------------------------------------------------------------------- evaluate ---
def cmd_evaluate(args) -> int:
    """``evaluate``: check the request, load the learned optimizer, run the protocol
    (:func:`~minigrad.l2l.evaluate.run_protocol`), then write and print the results."""
    _check_problem(args)
    names = _evaluate_request(args)
    net, meta, dtype, prob_cfg = _evaluated_optimizer(args, names)
    try:
        val_problem = problem_from_config(prob_cfg, split="val", optimizee=args.optimizee,
                                           dtype=dtype)
        test_problem = problem_from_config(prob_cfg, split="test", optimizee=args.optimizee,
                                            dtype=dtype)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    seed = 0 if args.seed is None else args.seed
    # Progress on stderr; each optimizer's final loss is left to the table on stdout.
    log = (lambda msg: None) if args.no_progress else (
        lambda msg: None if ": final loss " in msg else print(msg, file=sys.stderr))
    log(f"evaluating on {test_problem.describe()}: {', '.join(names)}")
    result = run_protocol(net, val_problem, test_problem, steps=args.steps, runs=args.runs,
                          val_runs=args.val_runs, seed=seed,
                          grid=lr_grid(args.lr_min, args.lr_max), optimizers=names, log=log)
    result = {"problem": args.problem,
              "optimizee": getattr(test_problem, "optimizee", None),
              "problem_config": test_problem.config(),
              "checkpoint": None if meta is None else {
                  "path": str(args.checkpoint), "iteration": meta.get("iteration"),
                  "weights": args.weights, "trained_on": meta["problem"]["name"]}, **result}
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=1, allow_nan=False))
    if args.plot:
        from .plots import plot_curves

        plot_curves(result, args.plot)
    print(evaluation_table(result))
    written = [str(p) for p in (args.json, args.plot) if p]
    if written:
        print(f"wrote {' and '.join(written)}", file=sys.stderr)
    return 0


def _evaluate_request(args) -> list:
    """The optimizers ``evaluate`` compares, after checking that the request is valid, fits
    in memory and can write its outputs (UsageError otherwise)."""
    names = [n.strip() for n in args.optimizers.split(",") if n.strip()]
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown or not names:
        raise UsageError(f"--optimizers: unknown {unknown or 'empty list'}; expected some of "
                         f"{','.join(OPTIMIZERS)}")
    if args.lr_min > args.lr_max:
        raise UsageError(f"--lr-min {args.lr_min} is above --lr-max {args.lr_max}")
    baselines, grid = [n for n in names if n != "lstm"], lr_grid(args.lr_min, args.lr_max)
    try:
        check_fits(protocol_bytes(steps=args.steps, runs=args.runs,
                                  val_runs=args.val_runs or args.runs, baselines=len(baselines),
                                  grid=len(grid), learned="lstm" in names),
                   f"evaluate --steps {args.steps} --runs {args.runs} over {len(grid)} "
                   f"learning rates", "--runs, --val-runs or --steps, or narrow --lr-min/--lr-max")
    except RequestTooLarge as exc:
        raise UsageError(str(exc)) from None
    for target in (args.json, args.plot):
        if target is not None and not Path(target).resolve().parent.is_dir():
            raise UsageError(f"cannot write {target}: its folder does not exist")
    _check_writable({"--json": args.json, "--plot": args.plot})
    return names


def _evaluated_optimizer(args, names):
    """``(net, meta, dtype, problem_config)``: the learned optimizer of ``--checkpoint`` (None
    when ``lstm`` is not among ``names``) and the problem to evaluate on: the checkpoint's
    (``--problem``'s defaults for a transfer, ``--trained-on``), with ``--variant``,
    ``--dataset`` and ``--classes`` applied."""
    net, meta, dtype = None, None, "float32"
    prob_cfg = {"name": args.problem}
    source = args.trained_on or args.problem
    if source not in PROBLEMS:
        raise UsageError(f"--trained-on {source!r}: unknown problem; expected one of "
                         f"{', '.join(PROBLEMS)}")
    if args.trained_on is not None and "lstm" not in names:
        raise UsageError("--trained-on names the learned optimizer's problem; add 'lstm' to "
                         "--optimizers")
    if "lstm" in names:
        if args.checkpoint is None:
            raise UsageError("--checkpoint PATH|pretrained is needed to evaluate the learned "
                             "optimizer (or leave 'lstm' out of --optimizers)")
        try:
            net, meta = load_learned_optimizer(args.checkpoint, source, args.weights)
        except (FileNotFoundError, CheckpointMismatch) as exc:
            raise UsageError(str(exc)) from None
        if source != args.problem and is_grouped(net):
            raise UsageError(f"--trained-on {source}: {args.checkpoint} has one LSTM per "
                             f"parameter group ({', '.join(net.groups)}), which fit only "
                             f"{source}'s parameters; a transfer needs a one-LSTM optimizer")
        dtype = meta.get("dtype", "float32")
        if source == args.problem:
            prob_cfg = dict(meta["problem"])
    if args.variant is not None:
        prob_cfg["variant"] = args.variant
    prob_cfg.setdefault("variant", "paper")
    prob_cfg.setdefault("optimizee", PAPER.mnist_optimizee)
    if args.problem != "mnist":
        prob_cfg.pop("optimizee", None)
    if args.problem != "quadratic":
        prob_cfg.pop("variant", None)
    if args.dataset is not None:  # e.g. a convnet optimizer trained on MNIST, on CIFAR-10
        prob_cfg["dataset"] = args.dataset
    if getattr(args, "classes", None) is not None:  # LSTM-sub: tested on other classes
        prob_cfg["classes"] = args.classes
    return net, meta, dtype, prob_cfg


def _loss(mean, half=None) -> str:
    if mean is None:
        return "diverged"
    return f"{mean:.3g}" + ("" if half is None else f" ± {half:.2g}")


def evaluation_table(result: dict) -> str:
    """``evaluate``'s result for a reader: one row per optimizer (tuned learning rate, marked
    ``*`` at the edge of the grid, where the best rate may lie beyond it; mean final test
    loss ± the half-width of its 95% interval), then the paired verdict."""
    grid = result["lr_grid"]
    lo, hi = min(grid), max(grid)
    rows, edge = [("optimizer", "tuned lr", "final loss ± 95% CI")], False
    for name in result["optimizers"]:
        entry = result[name]
        lr = "-"
        if "lr" in entry:
            at_edge = len(grid) > 1 and any(math.isclose(entry["lr"], g) for g in (lo, hi))
            edge |= at_edge
            lr = f"{entry['lr']:g}" + (" *" if at_edge else "")
        rows.append((DISPLAY_NAMES[name], lr, _loss(entry["final_loss"], entry["final_ci95"])))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"final test loss after {result['steps']} steps, mean over {result['runs']} runs; "
             f"baselines' learning rates tuned on {result['val_runs']} validation runs over "
             f"{lo:g} ... {hi:g}", ""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if edge:
        lines.append(f"* at the edge of the grid ({lo:g} ... {hi:g}): the best rate may lie "
                     "beyond it; widen --lr-min / --lr-max to see")
    paired = result.get("paired")
    if paired:
        base = DISPLAY_NAMES[paired["baseline"]]
        ci = paired["diff_ci95"]
        diff = "undefined" if paired["mean_diff"] is None else f"{paired['mean_diff']:.3g}"
        interval = ("undefined (a run diverged)" if ci is None
                    else f"[{ci[0]:.3g}, {ci[1]:.3g}]")
        verdict = {"a": "the learned optimizer is lower (better)",
                   "b": f"{base} is lower (better)",
                   "tie": "indistinguishable"}[paired["verdict"]]
        lines += ["", f"paired over the same {paired['runs']} test runs, learned - {base} (the "
                      f"best tuned baseline): mean {diff}, 95% interval {interval}; learned "
                      f"lower in {paired['wins']:.0%} of runs: {verdict}"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- main ---
def main(argv=None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    if raw[:1] == ["bench"]:  # every further argument is the benchmark's own
        try:
            return cmd_bench(raw[1:])
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    args._argv = None if argv is None else list(argv)
    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "reproduce": cmd_reproduce}
    threads = getattr(args, "threads", None) if args.command in ("train", "evaluate") else None
    try:
        if threads is not None and threads < 0:
            raise UsageError(f"--threads must be >= 0, got {threads}")
        with array_threads(threads):
            return commands[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
