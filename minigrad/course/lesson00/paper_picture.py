"""Section 2: the paper in one picture."""

from __future__ import annotations

import numpy as np


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

    Long because it draws the figure shape by shape, and the positions of the shapes read best
    together, as in the paper's figure.
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
