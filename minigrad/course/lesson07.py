"""Lesson 07 (MNIST): the paper's MNIST experiment, from the optimizee to the figure.

Contents:

* the optimizee: :func:`mlp_loss` (reference of exercise 07.1: the MLP's loss as a function of
  ONE flat parameter vector, the way the coordinatewise optimizer sees it), :func:`show_digits`;
* meta-training, live and tiny: :func:`meta_train_live`, :func:`training_cost`,
  :func:`plot_meta_training`; the shipped optimizer: :func:`load_pretrained`;
* the evaluation protocol: :func:`pick_best_lr` (reference of exercise 07.2), :class:`Experiment`,
  :func:`run_experiments` (what ``scripts/make_lesson07_08_results.py`` runs to write the
  stored results), :func:`load_results` / :func:`check_provenance`, :func:`spot_check`,
  :func:`compare_final`, :func:`plot_result`, :func:`results_table`;
* the explorer :func:`make_race_explorer` over :func:`race`.

Why stored results. On a 2-core laptop one step of the learned optimizer over the MLP's 15,910
coordinates costs about 30 ms of CPU (an LSTM batch of 15,910 rows), a hand-designed optimizer's
step about 2 ms. The paper's figure needs tuned baselines (a grid of learning rates on
validation problems) and many test runs: minutes of CPU, more than a notebook cell should take.
So ``scripts/make_lesson07_08_results.py`` runs the protocol below with the shipped optimizer
and writes :data:`RESULTS_PATH` (curves, 95% intervals, tuned learning rates, the checkpoint's
SHA-256, the command, the time it took). The notebooks check that file against the shipped
checkpoint and recompute a piece of it live.

The protocol (:func:`run_experiments`) is :mod:`minigrad.l2l.evaluate`'s, with the same seeds,
so the MNIST rows equal ``python -m minigrad.l2l evaluate --problem mnist --checkpoint
pretrained --optimizee ARCH --steps T --runs R --val-runs V``: every baseline gets the learning
rate of its grid with the lowest mean final loss on VALIDATION problems (validation digits,
seeds ``(0, 2, k)``), then every optimizer runs on the same TEST problems (held-out digits, seeds
``(0, 3, k)``). Rollouts are pure functions of (optimizer, problem, seed), and a shorter run is
the start of a longer one, so each distinct rollout is computed once at the longest horizon
asked of it.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.course.checks import Case, Exercise, register
from minigrad.course.widgets import Explorer
from minigrad.files import atomic_write_text
from minigrad.l2l import (
    BASELINES,
    DEFAULT_LR_GRID,
    BaselineRule,
    LearnedRule,
    LSTMOptimizer,
    MetaConfig,
    MetaTrainer,
    make_problem,
    net_defaults,
    rollout,
)
from minigrad.l2l.baselines import DECADES, DISPLAY_NAMES, OPTIMIZERS
from minigrad.l2l.checkpoints import load_pretrained
from minigrad.l2l.evaluate import (
    SEED_TAGS,
    Experiment,
    RolloutCache,
    best_baseline,
    compare_final,
    finite_or_none,
    pick_lr,
)
from minigrad.l2l.evaluate import run_experiments as _run_experiments
from minigrad.l2l.plots import COLORS, plot_result
from minigrad.l2l.problems import mnist_problem_factory
from minigrad.l2l.verdicts import fmt_number as _fmt
from minigrad.tensor import Tensor

__all__ = [
    "DECADES",
    "EXPERIMENTS",
    "Experiment",
    "NAMES",
    "OPTIMIZERS",
    "RESULTS_FORMAT",
    "RESULTS_PATH",
    "RolloutCache",
    "at_grid_edge",
    "best_baseline",
    "check_provenance",
    "compare_final",
    "describe_comparison",
    "experiment_of",
    "load_pretrained",
    "load_results",
    "make_race_explorer",
    "meta_train_live",
    "mlp_loss",
    "mnist_problem_factory",
    "pick_best_lr",
    "plot_race",
    "plot_meta_training",
    "plot_result",
    "race",
    "results_table",
    "run_experiments",
    "save_results",
    "show_digits",
    "spot_check",
    "heldout_problem",
    "training_cost",
]

#: How the lessons name the optimizers (the library's names).
NAMES = DISPLAY_NAMES
RESULTS_FORMAT = "minigrad.course.lesson07_08/1"
RESULTS_PATH = Path(__file__).with_name("lesson07_08_results.json")
GENERATOR = "scripts/make_lesson07_08_results.py"
#: How many steps of test run 0 a stored result keeps (spot checks and races use them).
RUN0_STEPS = 100


# ============================================================================================
# 1. The optimizee


def mlp_loss(theta, x, y, sizes=(784, 20, 10), activation="sigmoid"):
    """Mean cross-entropy of the MLP whose weights and biases are laid end to end in ``theta``.

    ``theta``: a Tensor of shape (N,) holding ``W1 (784 x 20), b1 (20), W2 (20 x 10), b2 (10)``
    row-major, one after the other (N = 15,910 for the paper's 784-20-10 net), as
    :class:`minigrad.l2l.Flattener` lays them out. ``x``: (B, 784) images, ``y``: (B,) integer
    labels. Hidden layers use ``activation`` ("sigmoid" or "relu"); the last layer is linear.
    Built from minigrad operations, so ``mg.grad(mlp_loss(theta, x, y), theta)`` is the
    gradient the learned optimizer reads, one coordinate per entry of theta.
    """
    act = {"sigmoid": mg.sigmoid, "relu": mg.relu}[activation]
    needed = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if theta.shape != (needed,):
        raise ValueError(f"mlp_loss: sizes {tuple(sizes)} need {needed} parameters, theta has "
                         f"shape {theta.shape}")
    h, start = x, 0
    layers = len(sizes) - 1
    for k in range(layers):
        fan_in, fan_out = sizes[k], sizes[k + 1]
        w = mg.reshape(theta[start:start + fan_in * fan_out], (fan_in, fan_out))
        start += fan_in * fan_out
        b = theta[start:start + fan_out]
        start += fan_out
        h = mg.matmul(h, w) + b
        if k < layers - 1:
            h = act(h)
    return mg.cross_entropy(h, y)


def _mlp_case(sizes, seed, batch=16):
    rng = np.random.default_rng(seed)
    n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    theta = rng.normal(0.0, 0.5, n)
    x = rng.random((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], batch)
    return theta, x, y


_MLP_CASES = [
    ((784, 20, 10), "sigmoid", 0, "the paper's 784-20-10 sigmoid net"),
    ((6, 4, 3), "sigmoid", 1, "a 6-4-3 sigmoid net"),
    ((6, 4, 3), "relu", 2, "a 6-4-3 relu net"),
    ((5, 4, 3, 2), "sigmoid", 3, "a 5-4-3-2 net with two hidden layers"),
]


def _mlp_loss_checker(fn):
    for sizes, act, seed, label in _MLP_CASES:
        theta, x, y = _mlp_case(sizes, seed)
        mine = mg.tensor(theta, dtype="float64", requires_grad=True)
        ref = mg.tensor(theta, dtype="float64", requires_grad=True)
        got = fn(mine, x, y, sizes, act)
        expected = mlp_loss(ref, x, y, sizes, act)
        if not isinstance(got, Tensor):
            yield label, (f"returned {type(got).__name__}, expected a minigrad Tensor (build the "
                          "loss from mg operations, so it can be differentiated)")
            continue
        if got.shape != ():
            yield label, f"the loss has shape {got.shape}, expected a scalar (shape ())"
            continue
        if not np.isclose(got.item(), expected.item(), rtol=1e-6, atol=1e-9):
            yield label, f"loss {got.item():.6f}, expected {expected.item():.6f}"
            continue
        try:
            g = mg.grad(got, mine)
        except Exception as exc:  # the learner's graph does not reach theta
            yield label, (f"could not differentiate the loss with respect to theta "
                          f"({type(exc).__name__}: {exc})")
            continue
        g_ref = mg.grad(expected, ref)
        if not np.allclose(g.numpy(), g_ref.numpy(), rtol=1e-5, atol=1e-10):
            k = int(np.argmax(np.abs(g.numpy() - g_ref.numpy())))
            yield label, (f"the loss is right but its gradient differs at theta[{k}] "
                          f"({g.numpy()[k]:.4g} vs {g_ref.numpy()[k]:.4g}): check the order "
                          "W1, b1, W2, b2 and the reshape of each weight matrix")
            continue
        yield label, None


register(Exercise(
    id="07.1", title="the MLP's loss from one flat parameter vector", reference=mlp_loss,
    checker=_mlp_loss_checker,
    hint="Walk through theta with an offset: for each layer take fan_in * fan_out entries, "
         "mg.reshape them to (fan_in, fan_out), then the next fan_out entries are the bias; "
         "h = mg.matmul(h, w) + b, the activation on every layer but the last, and "
         "mg.cross_entropy(h, y) at the end.",
))


def show_digits(images, labels, n: int = 16, cols: int = 8, title: str | None = None,
                classes=None):
    """``n`` images (rows of 784 pixels) tiled into one picture, each with its label above it
    (one ``imshow``: fast). ``classes`` names the labels. Returns the figure."""
    import matplotlib.pyplot as plt

    n = min(n, len(labels))
    rows = math.ceil(n / cols)
    pad = 10  # pixels above each image for its label
    mosaic = np.zeros((rows * (28 + pad), cols * 30))
    fig, ax = plt.subplots(figsize=(1.05 * cols, 1.25 * rows + (0.3 if title else 0)))
    for k in range(n):
        r, c = divmod(k, cols)
        top, left = r * (28 + pad) + pad, c * 30 + 1
        mosaic[top:top + 28, left:left + 28] = np.asarray(images[k], dtype=float).reshape(28, 28)
        name = classes[int(labels[k])] if classes is not None else int(labels[k])
        ax.text(left + 14, top - 2, str(name), ha="center", va="bottom", fontsize=8)
    ax.imshow(mosaic, cmap="gray_r", interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# ============================================================================================
# 2. Meta-training: live and tiny, and the shipped optimizer


def meta_train_live(iterations: int = 3, steps: int = 10, unroll: int = 5,
                    optimizee: str = "sigmoid-20", seed: int = 0, progress: bool = True) -> dict:
    """Meta-train a FRESH learned optimizer for a few meta-iterations, timing each.

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
    trainer = MetaTrainer(net, problem, config)
    seconds = []
    from tqdm.auto import tqdm

    bar = tqdm(range(iterations), desc="meta-training", unit="meta-it", disable=not progress)
    for _ in bar:
        t0 = time.perf_counter()
        value = trainer.train_iteration()
        seconds.append(time.perf_counter() - t0)
        bar.set_postfix(meta_loss=f"{value:.4f}", s_per_it=f"{seconds[-1]:.1f}")
    bar.close()
    moved = {name: float(np.abs(p.data - start[name]).max())
             for name, p in net.named_parameters()}
    return {"curve": list(trainer.curve), "seconds": seconds,
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


# ============================================================================================
# 3. The evaluation protocol


#: The reference of exercise 07.2 is the library's rule (:func:`minigrad.l2l.evaluate.pick_lr`):
#: the lowest MEAN final validation loss, +inf for a rate with a diverged run, ties to the
#: smaller rate.
pick_best_lr = pick_lr


def _pick_cases():
    nan, inf = float("nan"), float("inf")
    return [
        Case(({0.01: [0.9, 1.1], 0.03: [0.5, 0.7], 0.1: [0.8, 0.6]},),
             label="three rates, two runs each"),
        Case(({0.1: [0.2, 2.0, 0.2], 0.3: [0.5, 0.5, 0.5]},),
             label="a rate with a good median but a bad run (the mean decides)"),
        Case(({0.3: [0.1, nan], 1.0: [0.4, 0.5], 3.0: [inf, 0.01]},),
             label="rates whose runs diverged (nan, inf)"),
        Case(({1e-3: [0.5], 3e-3: [0.5], 1e-2: [0.7]},), label="a tie (the smaller rate wins)"),
        Case(({0.3: np.array([0.4, 0.41]), 0.03: np.array([0.45, 0.39])},),
             label="NumPy arrays of finals, keys not sorted"),
    ]


register(Exercise(
    id="07.2", title="pick the learning rate on validation problems", reference=pick_best_lr,
    cases=_pick_cases,
    hint="Score each lr by the mean of its final losses, +inf if any of them is not finite "
         "(np.isfinite(...).all()); return min(table, key=lambda lr: (score(lr), lr)) so ties "
         "go to the smaller rate.",
))



#: Lesson 07's experiment: the paper's MNIST figure (sigmoid-20, 100 steps).
EXPERIMENTS = (
    Experiment("mnist", "MNIST, 784-20-10 sigmoid, 100 steps", runs=10, val_runs=4),
)


def at_grid_edge(result: dict, name: str) -> bool:
    """Whether baseline ``name``'s tuned rate is the smallest or largest of the grid (then a
    better rate may lie outside it)."""
    grid = [float(v) for v in result["grid"]]
    return len(grid) > 1 and result[name]["lr"] in (min(grid), max(grid))


# ----- the stored results ---------------------------------------------------------------------


def _rounded(obj, digits: int = 6):
    """Floats to ``digits`` significant digits (confidence half-widths to 4), non-finite to
    None, through dicts and lists."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _rounded(v, 4 if k in ("ci95", "final_ci95", "summed_ci95") else digits)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, digits) for v in obj]
    return obj


def save_results(payload: dict, path=RESULTS_PATH) -> Path:
    """Write ``payload`` as JSON (floats to 6 significant digits, non-finite as null),
    atomically."""
    path = Path(path)
    text = json.dumps(_rounded(payload), indent=1, allow_nan=False)
    # one line per list of numbers: a readable file of a few hundred kB instead of megabytes
    text = re.sub(r"\[\s*((?:-?[0-9.eE+]+|null)(?:,\s*(?:-?[0-9.eE+]+|null))*)\s*\]",
                  lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)
    return atomic_write_text(path, text)


def load_results(path=RESULTS_PATH) -> dict:
    """The stored results (see the module docstring); raises FileNotFoundError naming the
    command that writes them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no stored results at {path}; write them with "
                                f"`python {GENERATOR}` (minutes of CPU)")
    payload = json.loads(path.read_text())
    if payload.get("format") != RESULTS_FORMAT:
        raise ValueError(f"{path}: format {payload.get('format')!r}, expected "
                         f"{RESULTS_FORMAT!r}; regenerate it with `python {GENERATOR}`")
    return payload


def check_provenance(results: dict, info: dict) -> str | None:
    """None when ``results`` were computed with the checkpoint ``info`` describes (same
    SHA-256 and weights), else what differs and how to fix it."""
    ck = results.get("checkpoint", {})
    if ck.get("sha256") == info["sha256"] and ck.get("weights") == info["weights"]:
        return None
    return (f"the stored results were computed with checkpoint {str(ck.get('sha256'))[:12]} "
            f"({ck.get('weights')} weights, {ck.get('iteration')} meta-iterations), but the "
            f"one loaded is {info['sha256'][:12]} ({info['weights']} weights, "
            f"{info['iteration']} meta-iterations). Regenerate them: `python {GENERATOR}`")


def experiment_of(result: dict) -> Experiment:
    """The :class:`Experiment` a stored result was computed for."""
    return Experiment(**{k: (tuple(v) if k == "grid" else v) for k, v in result.items()
                         if k in Experiment.__dataclass_fields__})


def heldout_problem(result: dict):
    """The MNIST test problem family of a stored result (its optimizee and settings)."""
    return mnist_problem_factory(result.get("problem_config"))(experiment_of(result), "test")


def spot_check(net, result: dict, steps: int = 20, optimizer: str = "lstm",
               problem=None) -> dict:
    """Recompute test run 0 of a stored ``result`` LIVE for ``steps`` steps and compare.

    ``problem``: the test problem family (default: the result's MNIST one). Returns ``live``
    and ``stored`` (losses at steps 0..steps) and ``max_rel_err`` between them.
    """
    steps = min(int(steps), int(result["steps"]), len(result[optimizer]["run0"]) - 1)
    problem = heldout_problem(result) if problem is None else problem
    seed = (int(result.get("seed", 0)), SEED_TAGS["test"], 0)  # test run 0
    rule = (LearnedRule(net) if optimizer == "lstm"
            else BaselineRule(optimizer, result[optimizer]["lr"]))
    live = rollout(rule, problem.sample(seed), steps)[:, 0].astype(np.float64)
    stored = np.array([np.nan if v is None else v for v in result[optimizer]["run0"][:steps + 1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(live - stored) / np.maximum(np.abs(stored), 1e-12)
    return {"live": live, "stored": stored, "steps": steps,
            "max_rel_err": float(np.nanmax(rel)) if np.isfinite(rel).any() else math.nan}


# ----- reading a result -----------------------------------------------------------------------


def describe_comparison(cmp: dict) -> str:
    """One sentence that says what the numbers say (whatever they are)."""
    name = NAMES[cmp["best"]]
    words = {"lower": "LOWER than", "higher": "HIGHER than",
             "indistinguishable": "not distinguishable from"}[cmp["verdict"]]
    f = {k: _fmt(cmp[k], ".3f") for k in ("lstm_final", "lstm_ci95", "best_final", "best_ci95",
                                          "diff_ci95")}
    return (f"Learned optimizer: final loss {f['lstm_final']} ± {f['lstm_ci95']}; best tuned "
            f"baseline {name} (lr {cmp['best_lr']:g}): {f['best_final']} ± {f['best_ci95']} "
            f"(95% CIs, {cmp['runs']} runs). Paired difference {_fmt(cmp['diff'], '+.3f')} ± "
            f"{f['diff_ci95']}: the learned optimizer's final loss is {words} the best "
            f"baseline's (ratio {_fmt(cmp['ratio'], '.2f')}).")


def results_table(result: dict) -> str:
    """A text table: per optimizer its learning rate, mean final loss ± 95% CI, and mean loss
    summed over steps 1..T (the meta-objective)."""
    lines = [f"{'optimizer':<16}{'lr':>8}{'final loss':>22}{'summed loss':>22}"]
    for name in OPTIMIZERS:
        e = result[name]
        lr = f"{e['lr']:g}" if "lr" in e else "-"
        lines.append(f"{NAMES[name]:<16}{lr:>8}"
                     f"{_fmt(e['final_loss'], '.3f') + ' ± ' + _fmt(e['final_ci95'], '.3f'):>22}"
                     f"{_fmt(e['summed_loss'], '.1f') + ' ± ' + _fmt(e['summed_ci95'], '.1f'):>22}")
    return "\n".join(lines)


# ============================================================================================
# 4. The explorer: one held-out run, your optimizer against the learned one


def race(optimizer: str, lr: float, result: dict, steps: int | None = None,
         problem=None) -> dict:
    """Run ``optimizer`` (sgd/nag/rmsprop/adam) with learning rate ``lr`` LIVE on test run 0
    of ``result``'s experiment; return its losses beside the stored learned optimizer's and the
    same optimizer's at its tuned rate (both test run 0).

    Keys: ``steps``, ``live``, ``lstm``, ``tuned``, ``tuned_lr``, ``final`` (live final loss),
    ``lstm_final``, ``tuned_final``, ``beats_lstm`` (the live run ends strictly below the
    learned one; False when it diverged).
    """
    if optimizer not in BASELINES:
        raise ValueError(f"race: unknown optimizer {optimizer!r}; expected one of "
                         f"{', '.join(BASELINES)}")
    stored_steps = min(int(result["steps"]), len(result["lstm"]["run0"]) - 1)
    steps = stored_steps if steps is None else min(int(steps), stored_steps)
    if problem is None:
        problem = heldout_problem(result)
    seed = (int(result.get("seed", 0)), SEED_TAGS["test"], 0)  # test run 0
    live = rollout(BaselineRule(optimizer, lr), problem.sample(seed), steps)[:, 0]

    def stored(name):
        return np.array([np.nan if v is None else v for v in result[name]["run0"][:steps + 1]])

    lstm, tuned = stored("lstm"), stored(optimizer)
    final = float(live[-1])
    return {"optimizer": optimizer, "lr": float(lr), "steps": steps, "live": live,
            "lstm": lstm, "tuned": tuned, "tuned_lr": result[optimizer]["lr"], "final": final,
            "lstm_final": float(lstm[-1]), "tuned_final": float(tuned[-1]),
            "beats_lstm": bool(np.isfinite(final) and final < lstm[-1])}


def plot_race(res: dict, ax=None):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 3.8))
    else:
        fig = ax.figure
    steps = np.arange(res["steps"] + 1)
    name = NAMES[res["optimizer"]]
    ax.plot(steps, res["lstm"], color=COLORS["lstm"], lw=2.2, label="LSTM (learned)")
    ax.plot(steps, res["tuned"], color=COLORS[res["optimizer"]], lw=1.2, ls="--",
            label=f"{name}, tuned lr {res['tuned_lr']:g}")
    live = np.where(np.isfinite(res["live"]) & (res["live"] > 0), res["live"], np.nan)
    ax.plot(steps[:live.size], live, color="k", lw=1.5, label=f"{name}, your lr {res['lr']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("optimizee step")
    ax.set_ylabel("loss (held-out run 0)")
    final = "diverged" if not np.isfinite(res["final"]) else f"{res['final']:.3f}"
    ax.set_title(f"{name} lr {res['lr']:g}: final {final}; learned {res['lstm_final']:.3f}",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    return fig


def make_race_explorer(result: dict, optimizer: str = "adam", lr: float | None = None,
                       steps: int | None = None, problem=None) -> Explorer:
    """Pick a baseline and its learning rate; see it run live on held-out run 0 against the
    learned optimizer (and against itself at its tuned rate).

    Controls: ``"optimizer"`` (Dropdown), ``"lr"`` (SelectionSlider over 1e-4 ... 3, log
    spaced; ``continuous_update=False``). ``result``: :func:`race`'s dict.
    """
    import ipywidgets as widgets

    grid = [float(v) for v in DEFAULT_LR_GRID]
    lr = result[optimizer]["lr"] if lr is None else float(lr)
    if lr not in grid:
        grid = sorted(set(grid) | {lr})
    controls = {
        "optimizer": widgets.Dropdown(options=[(NAMES[b], b) for b in BASELINES],
                                      value=optimizer, description="optimizer"),
        "lr": widgets.SelectionSlider(options=[(f"{v:g}", v) for v in grid], value=lr,
                                      description="learning rate", continuous_update=False,
                                      style={"description_width": "initial"},
                                      layout=widgets.Layout(width="420px")),
    }
    problem_cache = {}

    def compute(optimizer, lr):
        if "problem" not in problem_cache:
            problem_cache["problem"] = heldout_problem(result) if problem is None else problem
        return race(optimizer, lr, result, steps=steps, problem=problem_cache["problem"])

    return Explorer(controls, compute, plot_race,
                    title="Your optimizer against the learned one (held-out run 0, live)")


def run_experiments(experiments, net, factory: Callable, *, seed: int = 0, cache=None,
                    log: Callable | None = None, pick: Callable = pick_best_lr) -> dict:
    """The evaluation protocol (:func:`minigrad.l2l.evaluate.run_experiments`, the one every
    caller uses) with ``pick`` choosing each baseline's rate (exercise 07.2's function); each
    entry also keeps ``run0``, test run 0's losses at steps 0..min(T, 100), enough for spot
    checks and races and small for long horizons."""
    return _run_experiments(experiments, net, factory, seed=seed, cache=cache, log=log,
                            pick=pick, entry_hook=_keep_run0)


def _keep_run0(entry: dict, losses: np.ndarray) -> None:
    entry["run0"] = [finite_or_none(v) for v in losses[0, :RUN0_STEPS + 1]]
