"""Section 1: the course map, the lessons and what each one builds on."""

from __future__ import annotations

from dataclasses import dataclass


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
           "the course map, the paper in one picture, your backend, how exercises are checked "
           "(00.1: `square`), a first widget"),
    Lesson("01", "autograd_from_scratch", "Autograd from scratch",
           "derivatives, the chain rule and computational graphs; you build a scalar "
           "reverse-mode engine (01.1-01.4: the backwards of `*` and tanh, an iterative "
           "topological order, the backward pass)", ("00",)),
    Lesson("02", "tensors_and_gradients", "Tensors and gradients",
           "minigrad's Tensor and Function, broadcasting in backward, `grad` vs `backward`, "
           "`no_grad`/`detach`, gradient checks in float64 (02.1-02.4: `sum_to` and the "
           "backwards of division, sigmoid and sum)", ("01",)),
    Lesson("03", "modules_and_optimizers", "Modules and optimizers",
           "Module, Linear, MLP; SGD, NAG, RMSprop and Adam from their formulas, raced; an MLP "
           "on real MNIST digits (03.1: an Adam step; 03.2: momentum and Nesterov steps)",
           ("02",)),
    Lesson("04", "rnn_lstm_bptt", "RNNs, LSTMs and BPTT",
           "recurrent nets, (truncated) backpropagation through time, vanishing and exploding "
           "gradients, the LSTM cell (04.1: its forward; 04.2: the truncated-BPTT loop)",
           ("02",)),
    Lesson("05", "learning_to_learn", "Learning to learn",
           "the optimizer as an LSTM: coordinatewise, the meta-loss over the whole trajectory, "
           "meta-training on quadratics (05.1: the unrolled meta-loss; 05.2: the coordinatewise "
           "optimizer module; 05.3: the meta-training loop)", ("03", "04"), part=2),
    Lesson("06", "gradient_preprocessing", "Gradient preprocessing",
           "gradients spanning many orders of magnitude and the paper's log-and-sign inputs "
           "(06.1: LogAndSign)", ("05",), part=2),
    Lesson("07", "mnist", "MNIST",
           "a learned optimizer for an MLP on digits, against tuned baselines on held-out data "
           "(07.1: the MLP's loss from one flat vector; 07.2: picking the learning rate); "
           "then you train your own", ("03", "06"), part=2),
    Lesson("08", "generalisation", "Generalisation",
           "longer horizons, wider and deeper nets, and ReLU, where the learned optimizer fails "
           "(08.1: predict the ratio to the best baseline at 200 steps)", ("07",), part=2),
    Lesson("09", "beyond_the_paper", "Beyond the paper",
           "paper vs official code, first- vs second-order meta-gradients, what the LSTM "
           "learned, GPUs (09.1: the second-order meta-gradient; 09.2: predict W2's gradient "
           "ratio under ReLU)", ("08",), part=2),
    Lesson("10", "convnet", "Convolutions and a learned optimizer for a convnet",
           "convolution as im2col and one matrix product, what a convnet's filters learn, the "
           "paper's convnet and its two-LSTM optimizer, meta-trained live and raced against "
           "tuned baselines (10.1: im2col; 10.2: the forward pass; 10.3: the weight gradient)",
           ("07",), part=2),
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
        title, size = textwrap.fill(les.title, 14), 8.5
        if title.count("\n") > 2:  # a long title: smaller, in wider lines, to fit its box
            title, size = textwrap.fill(les.title, 19), 7.5
        ax.text(x, y, f"{les.number}\n{title}", ha="center", va="center", fontsize=size,
                linespacing=1.2 if size < 8.5 else 1.25)
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
