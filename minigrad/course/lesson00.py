"""Lesson 00 (welcome): the course map, the paper in one picture, the environment, the first
exercise and the first explorer.

Contents:

* :data:`LESSONS`, the ten lessons with one line each and what each builds on;
  :func:`course_map_markdown` (the table the notebook shows) and :func:`draw_course_map`;
* :func:`draw_paper_picture`: the paper's computational graph (its Figure 2) for a few steps:
  optimizee parameters ``theta_t``, their gradients, the LSTM optimizer ``m`` with state
  ``h_t`` and update ``g_t``, and the meta-loss summing ``f(theta_t)``; the edges no gradient
  flows along are dashed;
* :func:`environment_report` and :func:`format_environment`: versions, the backend, the default
  device and dtype, whether CuPy works here and why not;
* exercise 00.1 (``square``), whose check the notebook also shows failing on purpose;
* gradient descent on ``f(x) = x^2``: :func:`gradient_descent_path` (the gradient comes from
  minigrad's autograd), :func:`lr_regime`, :func:`plot_lr_regimes`, :func:`plot_lr_path` and the
  explorer :func:`make_lr_explorer`.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad import backend
from minigrad.course.checks import Case, Exercise, register
from minigrad.course.widgets import Explorer

__all__ = [
    "LESSONS",
    "Lesson",
    "course_map_markdown",
    "draw_course_map",
    "draw_paper_picture",
    "environment_report",
    "format_environment",
    "gradient_descent_path",
    "lesson_layers",
    "lr_regime",
    "make_lr_explorer",
    "plot_lr_path",
    "plot_lr_regimes",
    "square",
]

# ============================================================================================
# 1. The course map


@dataclass(frozen=True)
class Lesson:
    """One lesson: ``number`` ("03"), ``slug`` (file name stem after the number), ``title``,
    one line on what you learn, and the numbers of the lessons it builds on."""

    number: str
    slug: str
    title: str
    line: str
    builds_on: tuple[str, ...] = ()
    part: int = 1

    @property
    def filename(self) -> str:
        return f"{self.number}_{self.slug}.ipynb"


LESSONS: tuple[Lesson, ...] = (
    Lesson("00", "welcome", "Welcome",
           "the course map, the paper in one picture, your backend, how exercises are checked, "
           "a first widget"),
    Lesson("01", "autograd_from_scratch", "Autograd from scratch",
           "derivatives, the chain rule and computational graphs; you build a scalar "
           "reverse-mode engine", ("00",)),
    Lesson("02", "tensors_and_gradients", "Tensors and gradients",
           "minigrad's Tensor and Function, broadcasting in backward, `grad` vs `backward`, "
           "`no_grad`/`detach`, gradient checks in float64", ("01",)),
    Lesson("03", "modules_and_optimizers", "Modules and optimizers",
           "Module, Linear, MLP; SGD, NAG, RMSprop and Adam from their formulas, raced; an MLP "
           "on real MNIST digits", ("02",)),
    Lesson("04", "rnn_lstm_bptt", "RNNs, LSTMs and BPTT",
           "recurrent nets, (truncated) backpropagation through time, vanishing and exploding "
           "gradients, the LSTM cell", ("02",)),
    Lesson("05", "learning_to_learn", "Learning to learn",
           "the optimizer as an LSTM: coordinatewise, the meta-loss over the whole trajectory, "
           "meta-training on quadratics", ("03", "04"), part=2),
    Lesson("06", "gradient_preprocessing", "Gradient preprocessing",
           "gradients spanning many orders of magnitude and the paper's log-and-sign inputs",
           ("05",), part=2),
    Lesson("07", "mnist", "MNIST",
           "a learned optimizer for an MLP on digits, against tuned baselines on held-out data",
           ("03", "06"), part=2),
    Lesson("08", "generalisation", "Generalisation",
           "longer horizons, wider and deeper nets, and ReLU, where the learned optimizer fails",
           ("07",), part=2),
    Lesson("09", "beyond_the_paper", "Beyond the paper",
           "paper vs official code, first- vs second-order meta-gradients, what the LSTM "
           "learned, GPUs", ("08",), part=2),
)

PART_NAMES = {1: "Part 1: the engine", 2: "Part 2: learning to learn"}
PART_COLORS = {1: "#dbe9f6", 2: "#fde3c8"}


def course_map_markdown(lessons=LESSONS) -> str:
    """The course table in Markdown: lesson (a link to its notebook), what you learn, builds on."""
    rows = ["| Lesson | What you learn | Builds on |", "| --- | --- | --- |"]
    for les in lessons:
        after = ", ".join(les.builds_on) if les.builds_on else "nothing but Python and NumPy"
        rows.append(f"| [{les.number} {les.title}]({les.filename}) | {les.line} | {after} |")
    return "\n".join(rows)


def lesson_layers(lessons=LESSONS) -> dict[str, int]:
    """Column of each lesson in the map: 0 for none, else 1 + the largest column it builds on."""
    by_number = {les.number: les for les in lessons}
    layers: dict[str, int] = {}
    for les in lessons:  # lessons only build on earlier ones
        for dep in les.builds_on:
            if dep not in layers:
                raise ValueError(f"lesson {les.number} builds on {dep!r}, which is not before it "
                                 f"in the list (known: {', '.join(by_number)})")
        layers[les.number] = 1 + max((layers[d] for d in les.builds_on), default=-1)
    return layers


def _course_positions(lessons=LESSONS) -> dict[str, tuple[float, float]]:
    layers = lesson_layers(lessons)
    columns: dict[int, list[str]] = {}
    for number, layer in layers.items():
        columns.setdefault(layer, []).append(number)
    pos = {}
    for layer, numbers in columns.items():
        n = len(numbers)
        for i, number in enumerate(numbers):
            pos[number] = (float(layer), (n - 1) / 2 - i)
    return pos


def draw_course_map(lessons=LESSONS, figsize=(13, 3.6)):
    """The lessons as boxes, left to right, an arrow from each lesson to those built on it.

    Arrows between neighbouring columns run from box side to box side; longer ones arc from
    box top to box top over the lessons between. Each box is a ``FancyBboxPatch`` with
    ``gid="lesson-NN"``, each arrow a ``FancyArrowPatch`` with ``gid="edge-NN-MM"``.
    Returns the Figure.
    """
    import textwrap

    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    pos = _course_positions(lessons)
    fig, ax = plt.subplots(figsize=figsize)
    half_w, half_h = 0.40, 0.30
    for les in lessons:
        x, y = pos[les.number]
        ax.add_patch(FancyBboxPatch((x - half_w, y - half_h), 2 * half_w, 2 * half_h,
                                    boxstyle="round,pad=0.0,rounding_size=0.08",
                                    fc=PART_COLORS[les.part], ec="#555555",
                                    gid=f"lesson-{les.number}"))
        title = textwrap.fill(les.title, 14)
        ax.text(x, y, f"{les.number}\n{title}", ha="center", va="center", fontsize=8.5,
                linespacing=1.25)
    for les in lessons:
        x1, y1 = pos[les.number]
        for dep in les.builds_on:
            x0, y0 = pos[dep]
            if x1 - x0 <= 1:
                start, end, rad = (x0 + half_w, y0), (x1 - half_w, y1), 0.0
            else:
                start, end, rad = (x0 + 0.15, y0 + half_h), (x1, y1 + half_h), -0.25
            ax.add_patch(FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={rad}",
                                         arrowstyle="-|>", mutation_scale=12, color="#444444",
                                         lw=1.1, shrinkA=1, shrinkB=1,
                                         gid=f"edge-{dep}-{les.number}"))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.4 - half_h, max(ys) + 1.0 + half_h)
    ax.axis("off")
    ax.legend(handles=[Patch(fc=PART_COLORS[p], ec="#555555", label=name)
                       for p, name in PART_NAMES.items()],
              loc="upper left", fontsize=8.5, frameon=False, ncol=2)
    ax.set_title("The course map: an arrow from a lesson to the lessons that build on it",
                 fontsize=10)
    fig.tight_layout()
    return fig


# ============================================================================================
# 2. The paper in one picture


def draw_paper_picture(steps: int = 3, figsize=(12, 5.6)):
    """The paper's computational graph (its Figure 2) unrolled over ``steps`` optimizee steps.

    Top row, the optimizee: parameters ``theta_t`` and their losses ``f(theta_t)``; the update
    ``theta_{t+1} = theta_t + g_t``. Bottom row, the optimizer: one LSTM ``m`` (weights ``phi``,
    shared by every step) reads the gradient ``grad_t = df/dtheta(theta_t)`` and its state
    ``h_t``, and outputs the update ``g_t`` and the next state ``h_{t+1}``. The meta-loss
    ``L(phi) = sum_t w_t f(theta_t)`` sums the losses along the trajectory.

    The meta-gradient ``dL/dphi`` flows back along every solid edge; the dashed edges (from
    ``theta_t`` to its gradient) carry none: second derivatives of ``f`` are dropped.
    Returns the Figure; every edge is a ``FancyArrowPatch`` whose ``gid`` names it
    (``"theta1->grad1"``, ...).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    if steps < 1:
        raise ValueError(f"draw_paper_picture: steps must be >= 1, got {steps}")
    fig, ax = plt.subplots(figsize=figsize)
    dx = 3.0
    y_loss, y_theta, y_grad, y_m, y_meta = 2.7, 1.5, 0.35, -1.0, 4.0
    blue, orange, grey = "#1f5fa8", "#c8620a", "#555555"
    m_half = 0.52  # half the width of an "m (LSTM, phi)" box, in data units
    nodes = {}

    def node(name, x, y, text, fc, shape="round", fontsize=11):
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3,
                bbox=dict(boxstyle=f"{shape},pad=0.35", fc=fc, ec=grey), gid=f"node-{name}")
        nodes[name] = (x, y)

    def edge(a, b, dashed=False, color=grey, rad=0.0, label=None, label_xy=None, shrink=16,
             start=None, end=None):
        """An arrow from node a to node b (centre to centre, shrunk by ``shrink`` points),
        or between the given points (shrunk by 2 points)."""
        shrink_a = 2 if start is not None else shrink
        shrink_b = 2 if end is not None else shrink
        start = nodes[a] if start is None else start
        end = nodes[b] if end is None else end
        arrow = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13,
                                connectionstyle=f"arc3,rad={rad}", color=color, lw=1.4,
                                linestyle=(0, (4, 3)) if dashed else "-", shrinkA=shrink_a,
                                shrinkB=shrink_b, zorder=2, gid=f"{a}->{b}")
        ax.add_patch(arrow)
        if label:
            lx, ly = label_xy
            ax.text(lx, ly, label, fontsize=10, color=color, ha="center", va="center")
        return arrow

    # Optimizee: theta_0 .. theta_T, a "+" between consecutive ones, a loss above each theta_t.
    for t in range(steps + 1):
        x = t * dx
        node(f"theta{t}", x, y_theta, rf"$\theta_{t}$", "#dbe9f6")
        if t >= 1:
            node(f"f{t}", x, y_loss, rf"$f(\theta_{t})$", "#eeeeee", fontsize=10)
    # Optimizer: one LSTM box per step, the same weights phi.
    for t in range(steps):
        x = t * dx
        node(f"grad{t}", x + 0.9, y_grad, rf"$\nabla_{t}$", "#ffffff", shape="circle",
             fontsize=10)
        node(f"m{t}", x + 1.5, y_m, r"$m$ (LSTM, $\phi$)", "#fde3c8", shape="square", fontsize=10)
        node(f"plus{t}", x + 1.5, y_theta, r"$+$", "#ffffff", shape="circle", fontsize=11)
    node("h0", -1.0, y_m, r"$h_0$", "#ffffff", shape="circle", fontsize=10)
    node(f"h{steps}", (steps - 1) * dx + 3.2, y_m, rf"$h_{steps}$", "#ffffff", shape="circle",
         fontsize=10)
    node("L", steps * dx / 2 + 0.75, y_meta,
         r"meta-loss $\mathcal{L}(\phi) = \sum_{t=1}^{T} w_t\, f(\theta_t)$", "#f3f3f3",
         fontsize=11)

    for t in range(steps):
        x = t * dx
        edge(f"theta{t}", f"grad{t}", dashed=True)
        edge(f"grad{t}", f"m{t}", color=orange)
        edge(f"theta{t}", f"plus{t}", color=blue)
        edge(f"m{t}", f"plus{t}", color=orange, label=rf"$g_{t}$", label_xy=(x + 1.75, 0.5))
        edge(f"plus{t}", f"theta{t + 1}", color=blue)
        edge(f"theta{t + 1}", f"f{t + 1}", color=blue)
        lx, fx = nodes["L"][0], nodes[f"f{t + 1}"][0]
        into_l = (lx + 0.9 * np.tanh((fx - lx) / 2), y_meta - 0.32)
        edge(f"f{t + 1}", "L", color=grey, end=into_l, label=rf"$w_{t + 1}$",
             label_xy=((fx + into_l[0]) / 2 + (0.3 if into_l[0] <= fx else -0.3),
                       (y_loss + y_meta) / 2 + 0.1))
        src = "h0" if t == 0 else f"m{t - 1}"
        from_x = nodes[src][0] + (0.2 if t == 0 else m_half)
        edge(src, f"m{t}", color=orange, label=rf"$h_{t}$",
             start=(from_x, y_m), end=(x + 1.5 - m_half, y_m),
             label_xy=((from_x + x + 1.5 - m_half) / 2, y_m + 0.25))
    last = f"m{steps - 1}"
    edge(last, f"h{steps}", color=orange, start=(nodes[last][0] + m_half, y_m))

    ax.text(-1.65, y_theta, "optimizee", rotation=90, va="center", ha="center", fontsize=10,
            color=blue)
    ax.text(-1.65, y_m, "optimizer", rotation=90, va="center", ha="center", fontsize=10,
            color=orange)
    ax.set_xlim(-2.0, steps * dx + 0.7)
    ax.set_ylim(-1.9, 4.6)
    ax.axis("off")
    ax.legend(handles=[
        Line2D([], [], color=grey, lw=1.4, label="gradient of the meta-loss flows back"),
        Line2D([], [], color=grey, lw=1.4, linestyle=(0, (4, 3)),
               label=r"no gradient flows ($\nabla_t$ is treated as an input: "
                     "no second derivatives)"),
    ], loc="lower center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=9, frameon=False)
    ax.set_title(r"One optimizer $m$ proposes every update: "
                 r"$\theta_{t+1} = \theta_t + g_t$,  $[g_t, h_{t+1}] = m(\nabla_t, h_t; \phi)$",
                 fontsize=11)
    fig.tight_layout()
    return fig


# ============================================================================================
# 3. The environment


def environment_report() -> dict:
    """What this kernel computes with: versions, backend, default device and dtype, CuPy.

    Keys: ``python``, ``numpy``, ``minigrad``, ``MINIGRAD_BACKEND`` (the environment variable,
    or None), ``device`` (``"cpu"`` or ``"cuda"``), ``array_module`` (``"numpy"`` or
    ``"cupy"``), ``dtype`` (the default dtype's name), ``cupy_usable`` and ``cupy_reason``
    (from :func:`minigrad.backend.cupy_status`).
    """
    usable, reason = backend.cupy_status()
    device = backend.default_device()
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "minigrad": mg.__version__,
        "MINIGRAD_BACKEND": os.environ.get("MINIGRAD_BACKEND"),
        "device": device,
        "array_module": "numpy" if device == "cpu" else "cupy",
        "dtype": str(backend.get_default_dtype()),
        "cupy_usable": usable,
        "cupy_reason": reason,
    }


def format_environment(report: dict | None = None) -> str:
    """The report as a few aligned lines for the notebook."""
    r = environment_report() if report is None else report
    where = "CuPy on the GPU" if r["device"] == "cuda" else "NumPy on the CPU"
    env = r["MINIGRAD_BACKEND"]
    lines = [
        f"Python      {r['python']}",
        f"NumPy       {r['numpy']}",
        f"minigrad    {r['minigrad']}",
        f"backend     {where} (default device {r['device']!r}, arrays from "
        f"{r['array_module']}); MINIGRAD_BACKEND is "
        + (f"{env!r}" if env is not None else "not set (so 'numpy')"),
        f"dtype       {r['dtype']} (new tensors; float64 where precision matters)",
        f"CuPy        {'usable' if r['cupy_usable'] else 'not usable'}: {r['cupy_reason']}",
    ]
    return "\n".join(lines)


# ============================================================================================
# 4. Exercise 00.1


def square(x):
    """Return ``x ** 2`` for a number or an array."""
    return x * x


def _square_cases():
    rng = np.random.default_rng(0)
    return [
        Case((3,)),
        Case((-2.5,)),
        Case((np.arange(4.0),)),
        Case((rng.standard_normal((2, 3)),), label="square(a random 2x3 array)"),
    ]


register(
    Exercise(
        id="00.1",
        title="square a number",
        reference=square,
        cases=_square_cases,
        hint="Multiply x by itself: `x * x` works for numbers and NumPy arrays alike.",
    )
)


# ============================================================================================
# 5. Gradient descent on f(x) = x^2, and the learning rate


def gradient_descent_path(lr: float, steps: int = 20, x0: float = 1.0) -> np.ndarray:
    """Iterates ``x_0, ..., x_steps`` of gradient descent on ``f(x) = x^2``.

    ``x_{k+1} = x_k - lr * f'(x_k)``, where ``f'(x_k)`` is computed by minigrad's autograd
    (``minigrad.grad``, in float64 on the CPU). Since ``f'(x) = 2x``, the iterates are
    ``x_k = (1 - 2 lr)^k x_0``. Returns a float64 array of length ``steps + 1``.
    """
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"gradient_descent_path: steps must be >= 0, got {steps}")
    xs = [float(x0)]
    for _ in range(steps):
        x = mg.tensor(xs[-1], requires_grad=True, dtype="float64", device="cpu")
        fx = x * x
        dfdx = mg.grad(fx, x)
        xs.append(xs[-1] - lr * dfdx.item())
    return np.asarray(xs, dtype=np.float64)


def lr_regime(lr: float, curvature: float = 2.0, tol: float = 1e-9) -> str:
    """How gradient descent with step ``lr`` behaves on ``f(x) = curvature / 2 * x^2``.

    Each step multiplies x by ``r = 1 - lr * curvature`` (``curvature = f''``; 2 for ``x^2``):

    * ``0 < r < 1``  (0 < lr < 1/c): "converges monotonically";
    * ``r = 0``      (lr = 1/c):     "converges in one step";
    * ``-1 < r < 0`` (1/c < lr < 2/c): "converges, oscillating";
    * ``r = -1``     (lr = 2/c):     "oscillates forever";
    * ``r < -1``     (lr > 2/c):     "diverges, oscillating";
    * ``r = 1``      (lr = 0):       "stays put";  ``r > 1`` (lr < 0): "diverges monotonically".
    """
    r = 1.0 - lr * curvature
    if abs(r) <= tol:
        return "converges in one step"
    if abs(r - 1) <= tol:
        return "stays put"
    if abs(r + 1) <= tol:
        return "oscillates forever"
    if r > 1:
        return "diverges monotonically"
    if r > 0:
        return "converges monotonically"
    if r > -1:
        return "converges, oscillating"
    return "diverges, oscillating"


def _lr_result(lr: float, steps: int, x0: float) -> dict:
    xs = gradient_descent_path(lr, steps, x0)
    return {"lr": float(lr), "steps": int(steps), "x0": float(x0), "xs": xs, "fs": xs**2,
            "factor": 1.0 - 2.0 * lr, "regime": lr_regime(lr)}


def _describe(res: dict) -> str:
    return (f"lr = {res['lr']:.2f}: each step multiplies x by 1 - 2·lr = {res['factor']:+.2f}, "
            f"so gradient descent {res['regime']}; after {res['steps']} steps "
            f"x = {res['xs'][-1]:.4g}, f(x) = {res['fs'][-1]:.4g}")


def plot_lr_path(res: dict, axes=None):
    """Two panels for one run (a dict from the explorer): the iterates on the parabola, and
    ``f(x_k)`` against the step on a log scale. Returns the Figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    else:
        fig = axes[0].figure
    xs, fs = res["xs"], res["fs"]
    ax = axes[0]
    reach = max(1.2 * float(np.max(np.abs(xs))), 1.2)
    grid = np.linspace(-reach, reach, 200)
    ax.plot(grid, grid**2, color="#bbbbbb", lw=1.5, label="f(x) = x²")
    ax.plot(xs, fs, "-o", color="#1f5fa8", ms=3.5, lw=1, label="x₀, x₁, ...")
    ax.plot(xs[:1], fs[:1], "s", color="k", ms=6, label="start")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(f"lr = {res['lr']:.2f}: {res['regime']}", fontsize=10)
    ax.legend(fontsize=8, loc="upper center")
    ax = axes[1]
    k = np.arange(len(fs))
    positive = fs[fs > 0]
    floor = max(min(float(positive.min()) if positive.size else 1.0, 1e-2) / 10, 1e-20)
    ax.semilogy(k, np.maximum(fs, floor), "-o", color="#c8620a", ms=3)
    if np.any(fs == 0):
        ax.text(0.98, 0.5, "f = 0 exactly (drawn at the bottom)", transform=ax.transAxes,
                ha="right", fontsize=8, color="#c8620a")
    ax.axhline(fs[0], color="#999999", lw=0.8, ls="--")
    ax.set_ylim(bottom=floor / 2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step k")
    ax.set_ylabel("f(x_k)  (log scale)")
    ax.set_title("loss along the way (dashed: the start)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_lr_regimes(lrs=(0.1, 0.5, 0.85, 1.0, 1.05), steps: int = 12, x0: float = 1.0):
    """One small panel per learning rate: the iterates ``x_k`` against ``k``, titled with the
    regime (:func:`lr_regime`). Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(lrs), figsize=(2.5 * len(lrs), 2.7), sharey=True,
                             squeeze=False)
    for ax, lr in zip(axes[0], lrs):
        xs = gradient_descent_path(lr, steps, x0)
        ax.axhline(0, color="k", lw=0.6)
        ax.plot(np.arange(steps + 1), xs, "-o", ms=3, lw=1.2, color="#1f5fa8")
        ax.set_title(f"lr = {lr:g}\n{lr_regime(lr)}", fontsize=9)
        ax.set_xlabel("step k")
        ax.set_ylim(-3.2, 3.2)
    axes[0, 0].set_ylabel("x_k")
    fig.suptitle("Gradient descent on f(x) = x²:  x_k = (1 − 2·lr)^k · x₀", fontsize=10)
    fig.tight_layout()
    return fig


def make_lr_explorer(lr: float = 0.1, steps: int = 20, x0: float = 1.0) -> Explorer:
    """A learning-rate slider (and a steps slider) for gradient descent on ``f(x) = x^2``.

    Controls: ``"lr"`` (FloatSlider, 0.01 to 1.10) and ``"steps"`` (IntSlider, 1 to 50).
    ``result`` is a dict: ``lr``, ``steps``, ``x0``, ``xs`` (the iterates, from
    :func:`gradient_descent_path`), ``fs = xs**2``, ``factor = 1 - 2 lr`` and ``regime``
    (:func:`lr_regime`). The output shows one line of text and :func:`plot_lr_path`.
    """
    import ipywidgets as widgets

    controls = {
        "lr": widgets.FloatSlider(value=lr, min=0.01, max=1.1, step=0.01, description="lr",
                                  continuous_update=False, readout_format=".2f"),
        "steps": widgets.IntSlider(value=steps, min=1, max=50, description="steps",
                                   continuous_update=False),
    }

    def compute(lr, steps):
        return _lr_result(lr, steps, x0)

    def render(res):
        print(_describe(res))
        return plot_lr_path(res)

    return Explorer(controls, compute, render,
                    title="Gradient descent on f(x) = x²: move the learning rate")
