"""Computational graphs drawn for reading (lessons 01, 02 and 09).

* :func:`layered_layout` and :func:`draw_dag`: lay out any directed acyclic graph in columns
  by depth and draw it, value nodes as boxes and op nodes as rounded boxes (lesson 01's scalar
  engine, lesson 02's Tensors);
* :func:`graph_of`: the nodes of the graph behind a minigrad Tensor, inputs first (an
  iterative post-order walk, like the engine's own topological sort, but one that also lists
  leaves and says clearly when the graph was already freed).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["count_graph_nodes", "draw_dag", "graph_of", "layered_layout"]


def layered_layout(nodes: list, parents: Callable, sweeps: int = 4) -> dict:
    """Positions ``{id(node): (layer, row)}`` for a DAG given in topological order.

    A non-leaf node's layer is the length of the longest path from a leaf to it, so every
    edge goes left to right; a leaf sits one layer before its first use (constants then appear
    next to where they are used). Rows inside a layer are ordered by the mean row of each
    node's neighbours (the barycentre heuristic, which reduces crossings), a few sweeps, and
    centred on 0.
    """
    layer, users = {}, {}
    for n in nodes:
        ps = list(parents(n))
        layer[id(n)] = 1 + max(layer[id(p)] for p in ps) if ps else 0
        for p in ps:
            users.setdefault(id(p), []).append(n)
    for n in nodes:
        if not list(parents(n)) and id(n) in users:
            layer[id(n)] = min(layer[id(u)] for u in users[id(n)]) - 1
    by_layer: dict[int, list] = {}
    for n in nodes:
        by_layer.setdefault(layer[id(n)], []).append(n)
    row = {}
    for members in by_layer.values():
        for i, n in enumerate(members):
            row[id(n)] = float(i)
    for _ in range(sweeps):
        for k in sorted(by_layer):
            members = by_layer[k]

            def key(n):
                near = [row[id(p)] for p in parents(n)] + [row[id(u)] for u in users.get(id(n), [])]
                return float(np.mean(near)) if near else row[id(n)]

            members.sort(key=key)
            m = len(members)
            for i, n in enumerate(members):
                row[id(n)] = i - (m - 1) / 2
    return {id(n): (layer[id(n)], -row[id(n)]) for n in nodes}


def draw_dag(
    nodes: list,
    parents: Callable,
    text: Callable,
    op: Callable,
    ax=None,
    title: str | None = None,
    highlight: Callable | None = None,
    x_gap: float = 2.6,
    y_gap: float = 1.25,
    op_style: str = "circle,pad=0.25",
):
    """Draw a DAG left to right: a box per node (``text(node)``), a circle per operation.

    ``op(node)`` is the operation's symbol (``""`` for a leaf, which gets no circle);
    ``parents(node)`` lists the inputs; ``nodes`` is in topological order. ``highlight(node)``
    may return a box colour; ``op_style`` is the matplotlib box style of the operations (a
    circle for short symbols, ``"round,pad=0.3"`` for names). Returns the figure.

    Long because the layout, the boxes, the circles and the edges share its coordinates: split,
    each part would take them all as arguments.
    """
    import matplotlib.pyplot as plt

    pos = layered_layout(nodes, parents)
    k_min = min(p[0] for p in pos.values())
    n_layers = 1 + max(p[0] for p in pos.values()) - k_min
    rows = [p[1] for p in pos.values()]
    height = max(rows) - min(rows) + 1
    if ax is None:
        width = 0.85 * x_gap * n_layers + 0.4
        fig = plt.figure(figsize=(min(width, 18), 0.78 * y_gap * height + 0.9))
        ax = fig.add_axes((0.0, 0.0, 1.0, 0.92 if title else 1.0))
    fig = ax.figure

    def xy(n):
        k, r = pos[id(n)]
        return (k - k_min) * x_gap, r * y_gap

    op_dx = 0.5 * x_gap  # where an op's circle sits, left of its result box
    for n in nodes:
        x, y = xy(n)
        if not op(n):
            continue
        ox = x - op_dx
        ax.plot([ox, x], [y, y], color="0.35", lw=1.2, zorder=1)
        ps = list(parents(n))
        for j, p in enumerate(ps):
            px, py = xy(p)
            span = (x - px) / x_gap
            bend = 0.0 if span <= 1.01 else (0.12 if py >= y else -0.12)
            uses = ps.count(p)
            if uses > 1:  # an input used twice (x * x) gets one arrow per use
                bend = 0.25 * (2 * ps[: j + 1].count(p) - 1 - uses)
            ax.annotate(
                "",
                xy=(ox, y),
                xytext=(px, py),
                arrowprops=dict(arrowstyle="-|>", color="0.35", lw=1.1, shrinkA=0, shrinkB=9,
                                connectionstyle=f"arc3,rad={bend}"),
                zorder=1,
            )
        ax.text(
            ox, y, op(n), ha="center", va="center", fontsize=8, zorder=3,
            bbox=dict(boxstyle=op_style, fc="#fde9c9", ec="#c58a2c"),
        )
    for n in nodes:
        x, y = xy(n)
        colour = (highlight(n) if highlight else None) or ("#dbe9f6" if op(n) else "#e2f0d9")
        ax.text(
            x, y, text(n), ha="center", va="center", fontsize=8, family="monospace", zorder=4,
            bbox=dict(boxstyle="round,pad=0.35", fc=colour, ec="0.4"),
        )
    xs = [xy(n)[0] for n in nodes]
    ys = [xy(n)[1] for n in nodes]
    ax.set_xlim(min(xs) - 0.5 * x_gap, max(xs) + 0.5 * x_gap)
    ax.set_ylim(min(ys) - 0.6 * y_gap, max(ys) + 0.6 * y_gap)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def graph_of(t: Tensor) -> list:
    """Nodes of the graph that made ``t``, inputs first: Function nodes and leaf Tensors.

    Edges are ``node.next``: for each input of an op, the Function that made it, the leaf
    Tensor itself, or None for an input that needs no gradient (a constant), which is left out.
    The walk is iterative, like :func:`minigrad.autograd.backward`'s.
    """
    root = t._ctx if t._ctx is not None else t
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for p in _parents(node):
            if id(p) not in seen:
                stack.append((p, False))
    return order


def count_graph_nodes(*outputs: Tensor) -> int:
    """Number of operations (Function nodes) recorded in the graph behind ``outputs``, each
    counted once however many outputs share it."""
    ops = {id(n) for t in outputs if t._ctx is not None for n in graph_of(t)
           if not isinstance(n, Tensor)}
    return len(ops)


def _parents(node) -> list:
    if isinstance(node, Tensor):
        return []
    if getattr(node, "_released", False):
        raise RuntimeError(
            "graph_of: this graph was already freed by a backward pass; draw it before calling "
            "backward (or pass retain_graph=True)"
        )
    return [p for p in node.next if p is not None]
