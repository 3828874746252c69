"""Section 4: the paper's convnet, its parameter groups, and the geometry of a stack of
convolutions (output sizes and receptive fields, with an explorer).

The convnet is :class:`minigrad.l2l.problems.ConvNetProblem` (the paper's CIFAR network, here on
the shipped digits): three convolutions of 16 channels, 5x5, each followed by batch norm, ReLU
and 2x2 max pooling, then a fully connected layer of 32 units and the output layer. Its
parameters come in two kinds, ``conv`` (the kernels) and ``fc`` (everything else), and the
paper's optimizer has one LSTM per kind.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.course.widgets import Explorer
from minigrad.l2l import make_problem

KIND_COLORS = {"conv": "tab:blue", "fc": "tab:orange"}


def paper_convnet(dataset: str = "mnist", split: str = "train", **settings):
    """The paper's convnet as an optimizee family (:class:`~minigrad.l2l.problems.ConvNetProblem`,
    the official code's settings unless ``settings`` change them)."""
    return make_problem("convnet", split=split, dataset=dataset, **settings)


def parameter_rows(problem) -> list[dict]:
    """One row per parameter array, in the order of the flat vector theta: ``name``,
    ``shape``, ``entries``, ``kind`` (which LSTM steps it) and ``start`` (its first coordinate
    in theta)."""
    rows, start = [], 0
    for name, shape, kind in zip(problem.names, problem.shapes, problem.kinds):
        n = int(np.prod(shape))
        rows.append({"name": name, "shape": tuple(shape), "entries": n, "kind": kind,
                     "start": start})
        start += n
    return rows


def group_sizes(problem) -> dict:
    """``{kind: number of coordinates}``."""
    out: dict = {}
    for row in parameter_rows(problem):
        out[row["kind"]] = out.get(row["kind"], 0) + row["entries"]
    return out


def parameter_table(problem) -> str:
    """The parameter arrays as a text table, with the totals per LSTM."""
    rows = parameter_rows(problem)
    lines = [f"{'array':<14}{'shape':<18}{'entries':>8}   LSTM"]
    for r in rows:
        lines.append(f"{r['name']:<14}{str(r['shape']):<18}{r['entries']:>8,}   {r['kind']}")
    sizes = group_sizes(problem)
    total = sum(sizes.values())
    lines.append(f"{'total':<14}{'':<18}{total:>8,}   "
                 + ", ".join(f"{k}: {v:,}" for k, v in sizes.items()))
    return "\n".join(lines)


def draw_parameter_groups(problem, lstm_weights: int | None = None):
    """theta as one bar of coordinates, each array a segment coloured by its kind, and an arrow
    from each kind to its own LSTM (``lstm_weights``: the number of weights of one LSTM, shown
    in its box). Returns the figure; the segments have ``gid`` ``"array-NAME"``, the LSTM boxes
    ``"lstm-KIND"``."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    rows = parameter_rows(problem)
    total = sum(r["entries"] for r in rows)
    fig, ax = plt.subplots(figsize=(11, 3.3))
    for r in rows:
        x0, w = r["start"] / total, r["entries"] / total
        ax.add_patch(Rectangle((x0, 0.62), w, 0.14, fc=KIND_COLORS[r["kind"]], ec="white",
                               lw=0.6, gid=f"array-{r['name']}"))
        if w > 0.05:
            ax.text(x0 + w / 2, 0.69, f"{r['name']}\n{r['entries']:,}", ha="center",
                    va="center", fontsize=7.5, color="white")
    ax.text(0.0, 0.82, f"theta: the convnet's {total:,} parameters as one flat vector "
            "(small arrays too thin to label)", fontsize=9)
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    boxes = {}
    for k, kind in enumerate(kinds):
        cx = 0.25 + 0.5 * k
        n = sum(r["entries"] for r in rows if r["kind"] == kind)
        label = (f"LSTM '{kind}': its own weights"
                 + (f" ({lstm_weights:,})" if lstm_weights else "") + f"\n{n:,} coordinates "
                 f"= {n:,} batch rows")
        ax.add_patch(FancyBboxPatch((cx - 0.17, 0.06), 0.34, 0.2,
                                    boxstyle="round,pad=0.01,rounding_size=0.02",
                                    fc=KIND_COLORS[kind], alpha=0.25, ec=KIND_COLORS[kind],
                                    gid=f"lstm-{kind}"))
        ax.text(cx, 0.16, label, ha="center", va="center", fontsize=8.5)
        boxes[kind] = cx
    for r in rows:
        mid = (r["start"] + r["entries"] / 2) / total
        ax.add_patch(FancyArrowPatch((mid, 0.61), (boxes[r["kind"]], 0.27), arrowstyle="-|>",
                                     mutation_scale=8, lw=0.6, color=KIND_COLORS[r["kind"]],
                                     alpha=0.7))
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(0, 0.9)
    ax.axis("off")
    ax.set_title("each coordinate goes to the LSTM of its kind: conv kernels to one, "
                 "everything else to the other", fontsize=10)
    fig.tight_layout()
    return fig


# ============================================================================================
# The geometry of a stack of convolutions


def layer_geometry(size: int, layers) -> list[dict]:
    """Output size and receptive field after each layer of a stack, along one axis.

    ``layers``: dicts with ``kind`` ("conv" or "pool"), ``kernel``, ``stride``, ``padding``
    (default 0) and ``ceil`` (True: an incomplete last window still counts, as with
    TensorFlow's "same" pooling; default False, PyTorch's). The receptive field r (how many
    input pixels one output unit sees) and the jump j (input pixels between neighbouring
    units) grow as r <- r + (k - 1) j, j <- j s, from r = j = 1 at the input.
    Returns one dict per layer: ``kind``, ``kernel``, ``stride``, ``padding``, ``size``
    (output), ``receptive_field``, ``jump``; a size below 1 means the stack does not fit.
    """
    out, r, j, n = [], 1, 1, int(size)
    for layer in layers:
        k, s = int(layer["kernel"]), int(layer.get("stride", 1))
        p = int(layer.get("padding", 0))
        span = n + 2 * p - k
        n = (math.ceil(span / s) if layer.get("ceil") else span // s) + 1 if span >= 0 else 0
        r, j = r + (k - 1) * j, j * s
        out.append({"kind": layer["kind"], "kernel": k, "stride": s, "padding": p, "size": n,
                    "receptive_field": r, "jump": j})
    return out


def paper_convnet_layers(problem) -> list[dict]:
    """The layers of the convnet's convolutional part along one axis (conv k x k 'same',
    then 2x2 max pooling with TensorFlow's 'same' rounding), for :func:`layer_geometry`."""
    k = problem.kernel_size
    layers = []
    for _ in problem.conv_channels:
        layers.append({"kind": "conv", "kernel": k, "stride": 1, "padding": k // 2})
        layers.append({"kind": "pool", "kernel": 2, "stride": 2, "ceil": True})
    return layers


def geometry_table(size: int, geometry) -> str:
    lines = [f"{'layer':<16}{'output':>8}{'receptive field':>17}{'jump':>6}",
             f"{'input':<16}{size:>5}x{size:<2}{1:>17}{1:>6}"]
    for g in geometry:
        name = (f"conv {g['kernel']}x{g['kernel']}" if g["kind"] == "conv"
                else f"pool {g['kernel']}x{g['kernel']}")
        name += f" s{g['stride']}" + (f" p{g['padding']}" if g["padding"] else "")
        lines.append(f"{name:<16}{g['size']:>5}x{g['size']:<2}{g['receptive_field']:>17}"
                     f"{g['jump']:>6}")
    return "\n".join(lines)


def geometry_view(size: int, kernel: int, stride: int, padding: int, pool: bool,
                  layers: int) -> dict:
    """What the explorer computes: ``layers`` times (conv ``kernel`` x ``kernel`` with
    ``stride`` and ``padding``, then 2x2 max pooling if ``pool``), on a ``size`` x ``size``
    input. Also whether padding keeps the size (``same``: stride 1 and padding (k - 1) / 2),
    and ``fits`` (every layer has an output)."""
    stack = []
    for _ in range(int(layers)):
        stack.append({"kind": "conv", "kernel": kernel, "stride": stride, "padding": padding})
        if pool:
            stack.append({"kind": "pool", "kernel": 2, "stride": 2})
    geometry = layer_geometry(size, stack)
    fits = all(g["size"] >= 1 for g in geometry)
    return {"size": int(size), "geometry": geometry, "fits": fits,
            "same": stride == 1 and 2 * padding == kernel - 1,
            "out": geometry[-1]["size"] if geometry else size,
            "receptive_field": geometry[-1]["receptive_field"] if geometry else 1}


def plot_geometry(view: dict):
    """The input grid with the receptive field of the central output unit of the last layer
    shaded (cut at the image border; padding lies outside), beside the output grid."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n, out, r = view["size"], max(view["out"], 0), view["receptive_field"]
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(8.5, 4.0),
                                 gridspec_kw={"width_ratios": [1, 1]})
    a0.imshow(np.zeros((n, n)), cmap="Greys", vmin=0, vmax=1)
    if view["fits"] and out >= 1:
        # the first input pixel seen by output unit u along an axis is u * jump - (total
        # padding before it); shown here for the central unit
        jump = view["geometry"][-1]["jump"]
        offset = 0
        j = 1
        for g in view["geometry"]:
            offset += g["padding"] * j
            j *= g["stride"]
        u = (out - 1) // 2
        lo = u * jump - offset
        a0.add_patch(Rectangle((lo - 0.5, lo - 0.5), r, r, fc="tab:orange", alpha=0.45,
                               ec="tab:red", lw=2))
        a1.imshow(np.zeros((out, out)), cmap="Greys", vmin=0, vmax=1)
        a1.add_patch(Rectangle((u - 0.5, u - 0.5), 1, 1, fc="tab:red", ec="tab:red"))
        a1.set_title(f"output {out}x{out}: the red unit", fontsize=9)
    else:
        a1.text(0.5, 0.5, "the windows no longer fit:\nno output", ha="center", va="center",
                transform=a1.transAxes)
        a1.set_title("output", fontsize=9)
    a0.set_title(f"input {n}x{n}: what the red unit sees ({r}x{r} pixels)", fontsize=9)
    for ax in (a0, a1):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlim(-0.5 - max(n, 1) * 0.15, n - 0.5 + max(n, 1) * 0.15)
        ax.set_ylim(n - 0.5 + max(n, 1) * 0.15, -0.5 - max(n, 1) * 0.15)
    a1.set_xlim(-0.5, max(out, 1) - 0.5)
    a1.set_ylim(max(out, 1) - 0.5, -0.5)
    fig.tight_layout()
    return fig


def make_geometry_explorer(size: int = 28, kernel: int = 5, stride: int = 1, padding: int = 2,
                           pool: bool = True, layers: int = 3) -> Explorer:
    """Sliders for the input size, kernel, stride, padding and number of layers, and a pooling
    checkbox; prints each layer's output size and receptive field and draws what one output
    unit of the last layer sees. Controls ``size``, ``kernel``, ``stride``, ``padding``,
    ``pool``, ``layers``; ``result`` is :func:`geometry_view`'s."""
    import ipywidgets as widgets

    def slider(name, value, lo, hi):
        return widgets.IntSlider(value=value, min=lo, max=hi, description=name,
                                 continuous_update=False)

    controls = {
        "size": slider("input size", size, 8, 64),
        "kernel": slider("kernel", kernel, 1, 9),
        "stride": slider("stride", stride, 1, 4),
        "padding": slider("padding", padding, 0, 4),
        "pool": widgets.Checkbox(value=pool, description="2x2 max pool after each conv"),
        "layers": slider("layers", layers, 1, 4),
    }

    def render(view):
        print(geometry_table(view["size"], view["geometry"]))
        if not view["fits"]:
            print("The windows no longer fit: a layer has no output. Pad more, or use fewer "
                  "layers, a smaller kernel or a smaller stride.")
        elif view["same"]:
            print("Stride 1 and padding (kernel - 1) / 2: each convolution keeps the size.")
        return plot_geometry(view)

    return Explorer(controls, geometry_view, render,
                    title="Output size and receptive field of a stack of convolutions")
