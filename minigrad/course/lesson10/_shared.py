"""What several sections' figures share: the axes' finish, and the loss curves of an
evaluation (every optimizer's mean with its 95% band)."""

from __future__ import annotations


def finish(fig, ax, xlabel: str, ylabel: str, title: str, fontsize: float = 10,
           legend: float = 8):
    """Labels, title, a light grid, the legend; returns the laid-out figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=fontsize)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=legend)
    fig.tight_layout()
    return fig


def curves_figure(result: dict, title: str, ylabel: str):
    """Mean loss per step with 95% bands (log scale), every optimizer of an evaluation
    (:func:`minigrad.l2l.evaluate.run_protocol`'s result)."""
    import matplotlib.pyplot as plt

    from minigrad.l2l.plots import draw_mean_curves

    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    draw_mean_curves(ax, result)
    return finish(fig, ax, "optimizee step", ylabel,
                  f"{title}  ({result['runs']} test runs, 95% CI)", fontsize=9, legend=7)
