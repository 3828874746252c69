"""Section 2: a figure of a network's parameters becoming the LSTM's batch rows."""

from __future__ import annotations

#: The small network drawn: name -> (rows, columns, colour).
NETWORK = {"W1": (3, 2, "#9ecae1"), "b1": (3, 1, "#fdae6b"), "W2": (1, 3, "#a1d99b"),
           "b2": (1, 1, "#dadaeb")}


def draw_coordinates_as_rows(hidden_shown: int = 6):
    """A 2-3-1 network's parameters (W1, b1, W2, b2: n = 13 numbers) flattened into one
    vector, whose n coordinates become the n ROWS of the optimizer LSTM's batch: the gradient
    is an (n, 1) input, each layer's state (h, c) is (n, H), the head gives an (n, 1) step.
    One LSTM (the same phi) reads every row. ``hidden_shown`` columns stand for the H units.
    Returns the figure.

    Long because it draws the figure square by square, and the positions of the columns read
    best together."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    n = sum(r * c for r, c, _ in NETWORK.values())
    fig, ax = plt.subplots(figsize=(11.5, 5.2))
    cell = 0.32  # the side of one number's square
    top = 0.6 + n * cell  # the top of the columns

    def square(x, y, color, w=cell, h=cell, **kw):
        ax.add_patch(Rectangle((x, y), w, h, fc=color, ec="k", lw=0.6, **kw))

    def arrow(x0, y0, x1, y1, text=None, dy=0.25):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=14,
                                     lw=1.4, color="k"))
        if text:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + dy, text, ha="center", va="bottom",
                    fontsize=9)

    # 1. The network's parameters, each array drawn as its grid of numbers
    ax.text(1.1, top + 0.55, "a network's parameters", ha="center", fontsize=11,
            weight="bold")
    y = top - 0.2
    colors = []
    for name, (rows, cols, color) in NETWORK.items():
        y -= rows * cell
        for r in range(rows):
            for c in range(cols):
                square(0.3 + c * cell, y + (rows - 1 - r) * cell, color)
        ax.text(0.3 + cols * cell + 0.15, y + rows * cell / 2, f"{name} ({rows}×{cols})"
                if cols > 1 else f"{name} ({rows},)", va="center", fontsize=9)
        colors += [color] * (rows * cols)
        y -= 0.45
    arrow(2.3, top / 2 + 0.3, 3.3, top / 2 + 0.3, "flatten:\nn = 13\nnumbers")

    # 2. The gradient, one coordinate per row: the LSTM's input (n, 1)
    x_in = 3.9
    for i, color in enumerate(colors):
        square(x_in, top - (i + 1) * cell, color)
        ax.text(x_in - 0.12, top - (i + 0.5) * cell, str(i + 1), ha="right", va="center",
                fontsize=7, color="0.35")
    ax.text(x_in + cell / 2, top + 0.1, "∇f\n(n, 1)", ha="center", va="bottom", fontsize=10)

    # 3. The LSTM's batch: each layer's state, one row per coordinate
    x0 = x_in + 1.0
    width = hidden_shown * cell
    for layer in range(2):
        xl = x0 + layer * (width + 0.9)
        for i, color in enumerate(colors):
            for j in range(hidden_shown):
                square(xl + j * cell, top - (i + 1) * cell, color, alpha=0.55)
        ax.text(xl + width / 2, top + 0.1, f"layer {layer + 1}: h, c\n(n, H)", ha="center",
                va="bottom", fontsize=10)
        arrow((x_in + cell + 0.05) if layer == 0 else (xl - 0.85), top - n * cell / 2,
              xl - 0.05, top - n * cell / 2)
    x_out = x0 + 2 * (width + 0.9)
    arrow(x_out - 0.85, top - n * cell / 2, x_out - 0.05, top - n * cell / 2)
    for i, color in enumerate(colors):
        square(x_out, top - (i + 1) * cell, color)
    ax.text(x_out + cell / 2, top + 0.1, "step g\n(n, 1)", ha="center", va="bottom",
            fontsize=10)

    # 4. One set of weights for every row
    box_x, box_w = x0 - 0.2, x_out + cell + 0.2 - (x0 - 0.2)
    ax.add_patch(FancyBboxPatch((box_x, -0.55), box_w, 0.75, boxstyle="round,pad=0.05",
                                fc="#fff5eb", ec="tab:orange", lw=1.2))
    ax.text(box_x + box_w / 2, -0.18, "ONE LSTM and head: the same weights φ for every row;\n"
            "row i has its own state and sees only coordinate i's gradients", ha="center",
            va="center", fontsize=9)
    ax.annotate("", xy=(box_x + box_w / 2, 0.55), xytext=(box_x + box_w / 2, 0.22),
                arrowprops={"arrowstyle": "-|>", "color": "tab:orange", "lw": 1.2})

    # 5. Back to the network
    ax.text(x_out + 0.6, top - n * cell / 2, "θ ← θ + g,\nreshaped back\ninto W1, b1,\nW2, b2",
            va="center", fontsize=9)
    ax.set_xlim(0, x_out + 2.0)
    ax.set_ylim(-0.8, top + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("Coordinatewise: a network's n parameters are the n rows of the optimizer "
                 "LSTM's batch", fontsize=11)
    fig.tight_layout()
    return fig
