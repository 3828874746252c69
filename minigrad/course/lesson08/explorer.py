"""The explorer: pick a problem and a horizon."""

from __future__ import annotations

import math

from minigrad.course.widgets import Explorer
from minigrad.l2l import BASELINES
from minigrad.l2l.baselines import DISPLAY_NAMES
from minigrad.l2l.plots import plot_result
from minigrad.l2l.verdicts import fmt_number as _fmt

from ._shared import TRAIN_STEPS


def curves_at(results: dict, key: str, horizon: int) -> dict:
    """The state of experiment ``key`` at step ``horizon`` (clipped to its length): mean loss
    of the learned optimizer and of the best tuned baseline AT THAT STEP, their ratio, and
    who is ahead. ``result`` is the experiment's stored result (for plotting)."""
    res = results[key]
    horizon = max(1, min(int(horizon), int(res["steps"])))

    def at(name):
        v = res[name]["curve"][horizon]
        return math.inf if v is None else float(v)

    best = min(BASELINES, key=lambda b: (at(b), BASELINES.index(b)))
    lstm, base = at("lstm"), at(best)
    ratio = lstm / base if base and math.isfinite(base) else math.nan
    return {"key": key, "title": res["title"], "horizon": horizon, "steps": int(res["steps"]),
            "lstm": lstm, "best": best, "best_loss": base, "ratio": ratio,
            "ahead": "learned" if lstm < base else "baseline", "result": res}


def _render_curves(state: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 3.9))
    mark = TRAIN_STEPS if state["horizon"] > TRAIN_STEPS else None
    plot_result(state["result"], ax=ax, max_step=state["horizon"], mark_step=mark)
    ax.set_title(f"{state['title']}, first {state['horizon']} steps: learned "
                 f"{_fmt(state['lstm'], '.3f')} vs {DISPLAY_NAMES[state['best']]} "
                 f"{_fmt(state['best_loss'], '.3f')} (ratio {_fmt(state['ratio'], '.2f')})",
                 fontsize=8)
    return fig


def make_generalisation_explorer(results: dict, key: str = "mnist-200",
                                 horizon: int = 200) -> Explorer:
    """Pick a stored experiment (architecture, horizon, dataset) and a horizon; see the mean
    loss curves up to that step and who is ahead there.

    Controls: ``"key"`` (Dropdown of the stored experiments), ``"horizon"`` (IntSlider 10 to
    1,000, ``continuous_update=False``; clipped to the experiment's length). ``result``:
    :func:`curves_at`'s dict.
    """
    import ipywidgets as widgets

    longest = max(int(r["steps"]) for r in results.values())
    step = 10 if longest >= 100 else 1
    controls = {
        "horizon": widgets.IntSlider(value=max(step, min(horizon, longest)), min=step,
                                     max=longest, step=step, description="horizon",
                                     continuous_update=False),
        "key": widgets.Dropdown(options=[(r["title"], k) for k, r in results.items()],
                                value=key, description="problem",
                                layout=widgets.Layout(width="420px")),
    }
    return Explorer(controls, lambda horizon, key: curves_at(results, key, horizon),
                    _render_curves, title="The MNIST optimizer away from home")
