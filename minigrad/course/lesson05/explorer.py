"""Section 8: the meta-training explorer (unroll length, meta learning rate, hidden size)."""

from __future__ import annotations

import math

from minigrad.course.widgets import show_in

from .short_training import SHORT, LivePlot, MetaRun, plot_meta_curve, short_meta_training


class MetaTrainingExplorer:
    """Controls for a short meta-training and a live plot of its meta-loss (see
    :func:`make_meta_training_explorer`). ``controls``: name -> widget; ``button``: Run;
    ``output``: the plot; ``result``: the last :class:`MetaRun` (None before the first run);
    ``runs``: every run so far (the plot overlays the last few)."""

    def __init__(self, unroll=10, meta_lr=3e-2, hidden=20, iters=30, seed=0, keep=3,
                 live_every=1.5, reference=None):
        import ipywidgets as widgets

        self.controls = {
            "unroll": widgets.SelectionSlider(options=[1, 2, 5, 10, 20], value=unroll,
                                              description="unroll K",
                                              continuous_update=False),
            "meta_lr": widgets.SelectionSlider(
                options=[("1e-4", 1e-4), ("3e-4", 3e-4), ("1e-3", 1e-3), ("3e-3", 3e-3),
                         ("1e-2", 1e-2), ("3e-2", 3e-2), ("1e-1", 1e-1), ("3e-1", 3e-1)],
                value=meta_lr, description="meta lr", continuous_update=False),
            "hidden": widgets.SelectionSlider(options=[2, 5, 10, 20, 40], value=hidden,
                                              description="hidden", continuous_update=False),
            "iters": widgets.IntSlider(value=iters, min=10, max=100, step=10,
                                       description="iterations", continuous_update=False),
        }
        for w in self.controls.values():
            w.style = {"description_width": "80px"}
            w.layout = widgets.Layout(width="420px")
        self.seed, self.keep, self.live_every = int(seed), int(keep), float(live_every)
        self.reference = reference
        self.button = widgets.Button(description="Run meta-training", button_style="primary",
                                     icon="play", layout=widgets.Layout(width="200px"))
        self.button.on_click(lambda _b: self.run())
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.result: MetaRun | None = None
        self.runs: list[MetaRun] = []
        self._png: bytes | None = None
        self.pending = True
        for w in self.controls.values():
            w.observe(lambda _change: self._changed(), names="value")
        self.widget = widgets.VBox([
            widgets.HTML("<b>Meta-train an LSTM optimizer on quadratics</b> (horizon "
                         f"{SHORT['steps']} steps, {SHORT['batch']} functions per problem)"),
            *self.controls.values(), self.button, self.output])
        self._show_message()

    def values(self) -> dict:
        return {k: w.value for k, w in self.controls.items()}

    def _describe(self, v: dict) -> str:
        updates = math.ceil(SHORT["steps"] / v["unroll"])
        return (f"unroll K = {v['unroll']} ({updates} Adam step(s) on phi per horizon), "
                f"meta-lr {v['meta_lr']:g}, hidden size {v['hidden']}, {v['iters']} "
                "meta-iterations")

    def _show_message(self):
        from IPython.display import Image

        v = self.values()
        text = ("Settings: " + self._describe(v) + ". Press “Run meta-training” to train "
                "with them" + (" (the plot shows the last runs)." if self.runs else "."))
        self.message = text
        show_in(self.output, text + "\n", None if self._png is None else Image(data=self._png))

    def _changed(self):
        self.pending = True
        self._show_message()

    def run(self) -> MetaRun:
        """Meta-train with the current settings, redrawing the plot live; returns the run."""
        import io

        import matplotlib.pyplot as plt
        from IPython.display import Image

        v = self.values()
        show_in(self.output)
        live = LivePlot(settings={"unroll": v["unroll"], "meta_lr": v["meta_lr"],
                                  "hidden": v["hidden"]}, output=self.output,
                        every=self.live_every, reference=self.reference)
        self.button.disabled = True
        try:
            run = short_meta_training(v["unroll"], v["meta_lr"], v["hidden"], v["iters"],
                                      self.seed, callback=live)
        finally:
            self.button.disabled = False
        self.result, self.pending = run, False
        self.runs.append(run)
        shown = self.runs[-self.keep:]
        fig = plot_meta_curve(shown, self.reference, title=f"the last {len(shown)} run(s)")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        self._png = buf.getvalue()
        self.message = (f"Done: {self._describe(v)}; last 5 iterations: mean loss "
                        f"{run.curve[-5:].mean():.3g} per function over the horizon.")
        show_in(self.output, self.message + "\n", Image(data=self._png))
        return run

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def make_meta_training_explorer(**kwargs) -> MetaTrainingExplorer:
    """Sliders for the unroll length K, the meta learning rate and the LSTM's hidden size (and
    the number of meta-iterations); the button runs :func:`short_meta_training` with a live
    plot. Moving a slider only updates the message (nothing is trained until the button).
    ``reference=(value, label)`` draws a dashed level on every plot (e.g. tuned Adam's)."""
    return MetaTrainingExplorer(**kwargs)
