"""Section 6: a short meta-training on small quadratics, its held-out comparison and live plots."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from minigrad.course.widgets import show_in
from minigrad.l2l import (
    BaselineRule,
    LearnedRule,
    LSTMOptimizer,
    QuadraticProblem,
    evaluate_rule,
    net_defaults,
    tune_lr,
)
from minigrad.l2l.evaluate import problem_seeds, summarize
from minigrad.threads import blas_threads

from .meta_training_loop import library_meta_train
from .optimizer_module import library_optimizer_module

#: The live run's problem: the paper's quadratic family with a smaller batch and horizon.
SHORT = {"steps": 20, "batch": 16}


@dataclass
class MetaRun:
    """What :func:`short_meta_training` returns.

    ``curve[i]``: the mean optimizee loss per function over the horizon (steps 1..T) in
    meta-iteration i (each iteration draws fresh problems); ``net``: the trained optimizer;
    ``settings``: the arguments of the run.
    """

    curve: np.ndarray
    net: LSTMOptimizer
    settings: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        s = self.settings
        if not {"unroll", "meta_lr", "hidden"} <= set(s):
            return "meta-training"
        return f"unroll {s['unroll']}, meta-lr {s['meta_lr']:g}, hidden {s['hidden']}"

    def smoothed(self, window: int = 5) -> np.ndarray:
        """Running mean of the last ``window`` points (the curve is noisy: fresh problems)."""
        c = np.log10(self.curve)
        out = np.array([c[max(0, i - window + 1): i + 1].mean() for i in range(len(c))])
        return 10.0 ** out


def short_meta_training(unroll: int = 10, meta_lr: float = 3e-2, hidden: int = 20,
                        iters: int = 40, seed: int = 0, steps: int = SHORT["steps"],
                        batch: int = SHORT["batch"], callback=None,
                        progress: bool = False, loop=None, module=None) -> MetaRun:
    """Meta-train a fresh coordinatewise LSTM optimizer on quadratics for ``iters``
    meta-iterations (horizon ``steps``, one Adam step on phi per ``unroll`` optimizee steps).

    The paper's quadratic family (10-dimensional, W and y Gaussian, no preprocessing, output
    scale 1) but ``batch`` functions per problem instead of 128 and a horizon of ``steps``
    instead of 100, so that a run takes seconds. ``callback(curve_so_far)`` is called after
    every meta-iteration (for live plots); ``progress`` shows a tqdm bar.

    ``loop`` is the meta-training loop (exercise 05.3's signature; default the library's,
    :func:`library_meta_train`) and ``module`` the optimizer class (exercise 05.2's signature;
    default the library's :class:`~minigrad.l2l.LSTMOptimizer`). A learner's module starts
    from the library's initial weights (loaded), so both runs start from the same phi; the
    returned ``net`` is always an ``LSTMOptimizer`` holding the trained weights (for the
    evaluation code, which needs its ``update_array``).
    """
    settings = {"unroll": int(unroll), "meta_lr": float(meta_lr), "hidden": int(hidden),
                "iters": int(iters), "seed": int(seed), "steps": int(steps), "batch": int(batch)}
    problem = QuadraticProblem(batch=batch)
    config = {**net_defaults("quadratic"), "hidden_size": int(hidden)}
    library_net = LSTMOptimizer(**config, seed=seed)
    net = library_net
    if module is not None and module is not library_optimizer_module:
        net = module(hidden_size=int(hidden), num_layers=config["num_layers"],
                     output_scale=config["output_scale"], preprocess=None)
        net.load_state_dict(library_net.state_dict())
    loop = library_meta_train if loop is None else loop
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=iters, desc="meta-training")

    def each_iteration(curve):
        curve = np.asarray(curve) / batch
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{curve[-1]:.3g}")
        if callback is not None:
            callback(curve)

    try:
        with blas_threads(1):
            curve = loop(net, problem, int(iters), steps=int(steps),
                         unroll=min(int(unroll), int(steps)), meta_lr=float(meta_lr),
                         seed=int(seed), callback=each_iteration)
    finally:
        if bar is not None:
            bar.close()
    if net is not library_net:
        library_net.load_state_dict(net.state_dict())
    return MetaRun(np.asarray(curve, dtype=np.float64) / batch, library_net, settings)


def describe_meta_run(loop, module) -> str:
    """One sentence: whose loop and whose optimizer module the live meta-training runs."""
    loop_text = ("the library's MetaTrainer (exercise 05.3 is not done or did not pass its "
                 "check, so the notebook fell back to it)" if loop is library_meta_train
                 else "your meta_train (exercise 05.3)")
    module_text = ("the library's LSTMOptimizer (exercise 05.2 is not done or did not pass "
                   "its check, so the notebook fell back to it)"
                   if module is library_optimizer_module
                   else "your CoordinatewiseLSTM (exercise 05.2), started from the library's "
                        "initial weights")
    return f"Meta-training with {loop_text}, on {module_text}."


def held_out_comparison(net, steps: int = SHORT["steps"], batch: int = SHORT["batch"],
                        runs: int = 64, seed: int = 0, grid=(0.03, 0.1, 0.3, 1.0)) -> dict:
    """The trained optimizer against Adam on HELD-OUT quadratics (test seeds never used in
    training), Adam's learning rate tuned on validation problems over ``grid``.

    Returns a dict shaped like :func:`~minigrad.l2l.run_protocol`'s (``"optimizers"``,
    ``"runs"``, ``"steps"``, and per optimizer ``curve``, ``ci95``, ``final_loss``,
    ``summed_loss``, ...; Adam's ``lr``), plus ``"losses"``: name -> array (runs, steps + 1).
    """
    problem = QuadraticProblem(batch=batch)
    val = problem_seeds(problem, seed, "val", runs)
    test = problem_seeds(problem, seed, "test", runs)
    with blas_threads(1):
        lr, table = tune_lr("adam", problem, val, steps, runs, grid)
        losses = {"lstm": evaluate_rule(lambda: LearnedRule(net), problem, test, steps, runs),
                  "adam": evaluate_rule(lambda: BaselineRule("adam", lr), problem, test, steps,
                                        runs)}
    out = {"optimizers": ["lstm", "adam"], "runs": int(runs), "steps": int(steps),
           "losses": losses}
    for name, value in losses.items():
        out[name] = summarize(value)
    out["adam"].update(lr=lr, val_final_loss=table)
    return out


def _draw_meta_curve(ax, runs, reference=None):
    ax.clear()
    for k, run in enumerate(runs):
        run = run if isinstance(run, MetaRun) else MetaRun(np.asarray(run), None)
        if run.curve.size == 0:
            continue
        it = np.arange(1, run.curve.size + 1)
        color = f"C{k}"
        ax.semilogy(it, run.curve, color=color, alpha=0.3, lw=1)
        ax.semilogy(it, run.smoothed(), color=color, lw=2, label=run.label + " (running mean)")
    if reference is not None:
        value, text = reference
        ax.axhline(value, color="tab:red", ls="--", lw=1.2, label=text)
    ax.set_xlabel("meta-iteration (a fresh batch of quadratics each)")
    ax.set_ylabel("mean loss over the horizon")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="upper right")


def plot_meta_curve(runs, reference=None, title: str = "meta-training on quadratics"):
    """The meta-loss curve(s): each iteration's mean loss per function over the horizon (thin)
    and a running mean (thick), log scale. ``runs``: MetaRun(s) or arrays; ``reference``:
    optional ``(value, label)`` drawn as a dashed line (e.g. tuned Adam)."""
    import matplotlib.pyplot as plt

    if isinstance(runs, (MetaRun, np.ndarray)):
        runs = [runs]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    _draw_meta_curve(ax, runs, reference)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


class LivePlot:
    """A plot redrawn while a loop runs: ``live(curve)`` redraws at most every ``every``
    seconds, ``live.finish(curve)`` draws the last state and closes the figure.

    In a notebook cell it updates one display (``display_id``); with ``output`` (an ipywidgets
    Output) it redraws inside the widget. ``draws`` counts the redraws.
    """

    def __init__(self, settings: dict | None = None, reference=None, output=None,
                 every: float = 3.0, title: str = "meta-training (live)"):
        import matplotlib.pyplot as plt

        self.settings, self.reference, self.output = settings, reference, output
        self.every, self.title = float(every), title
        self.fig, self.ax = plt.subplots(figsize=(7, 3.8))
        self.fig.subplots_adjust(left=0.11, right=0.97, bottom=0.14, top=0.92)
        plt.close(self.fig)  # drawn only through display(), never twice at the end of a cell
        self._handle, self._last, self.draws = None, -math.inf, 0

    def __call__(self, curve, force: bool = False):
        if not force and time.monotonic() - self._last < self.every:
            return
        run = MetaRun(np.asarray(curve), None, self.settings or {})
        _draw_meta_curve(self.ax, [run], self.reference)
        self.ax.set_title(f"{self.title}: {len(curve)} meta-iterations", fontsize=10)
        self._show()
        self.draws += 1
        self._last = time.monotonic()  # from the END of a draw: slow draws never pile up

    def _show(self):
        from IPython.display import display

        if self.output is not None:
            show_in(self.output, self.fig)
        elif self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)

    def finish(self, curve):
        self(curve, force=True)
