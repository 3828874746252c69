"""Section 3: drawing a Value graph, its data and gradients on every node."""

from __future__ import annotations

from minigrad.course.graphs import draw_dag

from .value import Value, topo_order

_OP_SYMBOLS = {"+": "+", "*": "×", "**": "**", "tanh": "tanh", "exp": "exp", "log": "log",
               "relu": "relu"}


def draw_graph(root: Value, ax=None, show_grad: bool = True, title: str | None = None,
               max_nodes: int = 60):
    """Draw the graph that computed ``root``: each Value's label, data and (optionally) grad.

    Refuses graphs of more than ``max_nodes`` Values (a drawing that size is unreadable).
    """
    nodes = topo_order(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {len(nodes)} nodes; drawing more than {max_nodes} is "
            "unreadable (pass max_nodes=... to insist)"
        )

    def text(n):
        lines = [n.label] if n.label else []
        lines.append(f"data {n.data:.4f}")
        if show_grad:
            lines.append(f"grad {n.grad:.4f}")
        return "\n".join(lines)

    def op(n):
        if n.is_leaf:
            return ""
        if n._op == "**":
            return f"**{n._aux:g}"
        return _OP_SYMBOLS.get(n._op, n._op)

    return draw_dag(nodes, lambda n: n._prev, text, op, ax=ax, title=title)
