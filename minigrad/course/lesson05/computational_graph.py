"""Section 4: the paper's computational graph (its Figure 2), dashed edges included."""

from __future__ import annotations


def draw_computational_graph(steps: int = 3, show_cut: bool = True):
    """The graph used to compute the meta-gradient, after the paper's Figure 2.

    Top row: the optimizee (theta_t -> f -> f_t, theta_t + g_t -> theta_{t+1}); bottom row: the
    optimizer m with its state h_t. The edges from f to grad_t are DASHED when ``show_cut``:
    no gradient flows along them (second derivatives of f are dropped). Returns the figure.

    Long because it draws the graph shape by shape, and the positions of the rows and steps read
    best together.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(3.0 * steps + 1.4, 4.4))
    dx = 3.0
    y_loss, y_f, y_theta, y_m = 3.55, 2.55, 1.55, 0.0
    names = [f"t-{steps - 1 - k}" if k < steps - 1 else "t" for k in range(steps)]
    names = [n.replace("t-0", "t") for n in names]

    def box(x, y, text, color, w=0.9, h=0.55):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                    boxstyle="round,pad=0.04,rounding_size=0.12",
                                    fc=color, ec="k", lw=1.0, zorder=2))
        ax.text(x, y, text, ha="center", va="center", fontsize=12, zorder=3)

    def circle(x, y, text):
        ax.add_patch(plt.Circle((x, y), 0.2, fc="white", ec="k", lw=1.0, zorder=2))
        ax.text(x, y, text, ha="center", va="center", fontsize=12, zorder=3)

    def arrow(x0, y0, x1, y1, dashed=False, color="k", rad=0.0):
        ax.add_patch(FancyArrowPatch(
            (x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=13, lw=1.3, color=color,
            linestyle=(0, (4, 3)) if dashed else "-", shrinkA=0, shrinkB=0,
            connectionstyle=f"arc3,rad={rad}", zorder=1))

    def label(x, y, text, **kw):
        ax.text(x, y, text, ha="center", va="center", fontsize=12, **kw)

    cut = "tab:red" if show_cut else "k"
    for k in range(steps):
        x = 0.6 + k * dx  # where theta_t sits
        t = names[k]
        xf, xp = x + 0.7, x + 1.9  # the column of f and m, and the (+) node
        label(x, y_theta, rf"$\theta_{{{t}}}$")
        box(xf, y_f, "f", "#dbe9f6")
        arrow(x + 0.15, y_theta + 0.2, xf - 0.2, y_f - 0.3)
        label(xf, y_loss + 0.05, rf"$f_{{{t}}}$")
        arrow(xf, y_f + 0.3, xf, y_loss - 0.2)
        # f -> grad_t -> m: the dashed (cut) edge
        arrow(xf, y_f - 0.3, xf, y_m + 0.3, dashed=show_cut, color=cut)
        label(xf - 0.3, 0.95, rf"$\nabla_{{{t}}}$", color=cut)
        box(xf, y_m, "m", "#fde2c8")
        # h_t into m (from the previous m, or from the left)
        x0 = x - 0.55 if k == 0 else x - dx + 1.15
        arrow(x0, y_m, xf - 0.45, y_m)
        label((x0 + xf - 0.45) / 2, y_m + 0.3, rf"$h_{{{t}}}$")
        # theta_t -> (+) <- g_t, then (+) -> theta_{t+1}
        circle(xp, y_theta, "+")
        arrow(x + 0.3, y_theta, xp - 0.2, y_theta)
        arrow(xf + 0.45, y_m + 0.15, xp - 0.08, y_theta - 0.2)
        label(xp + 0.25, 0.72, rf"$g_{{{t}}}$")
        arrow(xp + 0.2, y_theta, x + dx - 0.35, y_theta)
    x_end = 0.6 + steps * dx
    label(x_end + 0.05, y_theta, r"$\theta_{t+1}$")
    arrow(x_end - dx + 1.15, y_m, x_end - 0.35, y_m)
    label(x_end + 0.05, y_m, r"$h_{t+1}$")
    ax.text(-0.3, y_loss + 0.6, r"meta-loss $\mathcal{L}(\phi) = \sum_t w_t f_t$ "
            "(the whole trajectory counts)", fontsize=11, va="center")
    ax.text(-0.75, y_f, "optimizee", rotation=90, va="center", fontsize=11, color="0.35")
    ax.text(-0.75, y_m, "optimizer", rotation=90, va="center", fontsize=11, color="0.35")
    if show_cut:
        ax.text(x_end + 0.4, y_loss + 0.6, "dashed: no gradient flows back (" + r"$\nabla_t$"
                " is a constant)", color=cut, fontsize=10, ha="right", va="center")
    ax.set_xlim(-0.85, x_end + 0.45)
    ax.set_ylim(-0.45, y_loss + 0.85)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
    return fig
