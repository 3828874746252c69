"""Section 4: a diagram of the LSTM cell and its four gates (PyTorch's order i, f, g, o)."""

from __future__ import annotations

#: The four gates: name -> (x position, nonlinearity, colour, what it decides).
GATES = {
    "f": (2.6, "σ", "#fcbba1", "forget gate:\nkeep how much of c?"),
    "i": (4.3, "σ", "#c6dbef", "input gate:\nwrite how much?"),
    "g": (5.7, "tanh", "#c7e9c0", "candidate:\nwrite what?"),
    "o": (7.6, "σ", "#dadaeb", "output gate:\nshow how much?"),
}


def draw_lstm_cell():
    """The LSTM step drawn as data flow: the cell state c runs along the top, changed only by a
    multiplication (forget gate) and an addition (input gate times candidate); h_{t-1} and x_t
    feed the four gates through one matrix product a = W_ih x_t + W_hh h_{t-1} + b; the output
    gate and tanh(c_t) give h_t. Returns the figure.

    Long because it draws the cell shape by shape, and the positions of the rows and gates read
    best together."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(10.5, 5.6))
    y_c, y_mix, y_gate, y_bus, y_h = 4.2, 3.2, 2.0, 0.9, 0.3

    def arrow(x0, y0, x1, y1, color="k", lw=1.4):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=13,
                                     lw=lw, color=color, shrinkA=0, shrinkB=0, zorder=1))

    def line(xs, ys, color="k", lw=1.4):
        ax.plot(xs, ys, color=color, lw=lw, zorder=1, solid_capstyle="round")

    def op(x, y, text):
        ax.add_patch(plt.Circle((x, y), 0.24, fc="white", ec="k", lw=1.2, zorder=3))
        ax.text(x, y, text, ha="center", va="center", fontsize=13, zorder=4)

    def box(x, y, text, color, w=0.9, h=0.55):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                    boxstyle="round,pad=0.03,rounding_size=0.1",
                                    fc=color, ec="k", lw=1.0, zorder=3))
        ax.text(x, y, text, ha="center", va="center", fontsize=12, zorder=4)

    # the cell state: c_{t-1} -> (x f) -> (+ i*g) -> c_t
    x_mul_f, x_add, x_tanh_c, x_mul_o = 2.6, 5.0, 8.6, 7.6
    arrow(0.3, y_c, x_mul_f - 0.24, y_c, color="tab:red", lw=2.2)
    arrow(x_mul_f + 0.24, y_c, x_add - 0.24, y_c, color="tab:red", lw=2.2)
    arrow(x_add + 0.24, y_c, 10.2, y_c, color="tab:red", lw=2.2)
    ax.text(0.2, y_c + 0.3, r"$c_{t-1}$", fontsize=13, color="tab:red")
    ax.text(9.9, y_c + 0.3, r"$c_t$", fontsize=13, color="tab:red")
    op(x_mul_f, y_c, "×")
    op(x_add, y_c, "+")

    # h_{t-1} and x_t join into one input for the four gate pre-activations
    ax.text(0.0, y_h - 0.05, r"$h_{t-1}$", fontsize=13, va="center")
    ax.text(1.05, -0.55, r"$x_t$", fontsize=13, ha="center")
    line([0.6, 1.5], [y_h, y_h])
    line([1.05, 1.05], [-0.3, y_h])
    line([1.5, 1.5], [y_h, y_bus])
    line([1.5, x_mul_o], [y_bus, y_bus])
    ax.text(1.6, y_bus - 0.35, r"$a = W_{ih}\,x_t + W_{hh}\,h_{t-1} + b$, cut into four blocks",
            fontsize=10, va="center")
    for name, (x, fn, color, _what) in GATES.items():
        arrow(x, y_bus, x, y_gate - 0.28)
        box(x, y_gate, fn, color)
        ax.text(x - 0.55, y_gate, f"${name}_t$", ha="right", va="center", fontsize=12)
    for x, _, _, what in GATES.values():
        ax.text(x + 0.08, (y_bus + y_gate) / 2 - 0.1, what, fontsize=8, color="0.3",
                ha="left", va="center")

    # f multiplies the old cell state; i * g is added
    arrow(x_mul_f, y_gate + 0.28, x_mul_f, y_c - 0.24)
    x_ig = (GATES["i"][0] + GATES["g"][0]) / 2
    op(x_ig, y_mix, "×")
    line([GATES["i"][0], GATES["i"][0], x_ig - 0.24], [y_gate + 0.28, y_mix, y_mix])
    line([GATES["g"][0], GATES["g"][0], x_ig + 0.24], [y_gate + 0.28, y_mix, y_mix])
    arrow(x_ig + 0.1, y_mix + 0.22, x_add - 0.1, y_c - 0.22)

    # h_t = o * tanh(c_t)
    line([x_tanh_c, x_tanh_c], [y_c, y_c - 0.5])
    box(x_tanh_c, y_mix, "tanh", "#f0f0f0", w=0.8, h=0.45)
    op(x_mul_o, y_mix - 0.05 + 0.0, "×")
    line([x_tanh_c, x_tanh_c], [y_c, y_mix + 0.23])
    arrow(x_tanh_c - 0.4, y_mix, x_mul_o + 0.24, y_mix - 0.05)
    arrow(x_mul_o, y_gate + 0.28, x_mul_o, y_mix - 0.29)
    line([x_mul_o + 0.17, 9.6, 9.6], [y_mix - 0.2, y_mix - 0.9, y_h])
    arrow(9.6, y_h, 10.2, y_h)
    ax.text(10.25, y_h, r"$h_t$", fontsize=13, va="center")

    ax.text(5.2, 5.05, r"$c_t = f_t \odot c_{t-1} + i_t \odot g_t \qquad "
            r"h_t = o_t \odot \tanh(c_t)$", ha="center", fontsize=12)
    ax.text(5.2, 4.65, "the cell state (red) is changed only by × and +: the gradient along "
            "it is multiplied by f_t at each step", ha="center", fontsize=9, color="tab:red")
    ax.set_xlim(-0.2, 10.8)
    ax.set_ylim(-0.8, 5.4)
    ax.axis("off")
    fig.tight_layout()
    return fig
