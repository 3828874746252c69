"""Section 4: what the LSTM learned, its update as a function of the gradient history, against
momentum and Adam.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.backend import default_device, to_device
from minigrad.course.widgets import Explorer

SEQUENCES = ("constant", "alternating", "growing", "decaying", "noisy", "zero")


def gradient_sequence(kind: str, scale: float = 1.0, steps: int = 30, seed: int = 0):
    """A synthetic gradient sequence g_0..g_{steps-1} (float64) for one coordinate:

    ``constant`` s; ``alternating`` s (-1)^t (bouncing across a valley); ``growing``
    s 1.1^t (a slope getting steeper: diverging); ``decaying`` s 0.9^t (converging);
    ``noisy`` s (1 + n_t), n_t ~ N(0, 1) from ``seed``; ``zero`` all 0.
    """
    t = np.arange(steps, dtype=np.float64)
    if kind == "constant":
        g = np.ones(steps)
    elif kind == "alternating":
        g = (-1.0) ** t
    elif kind == "growing":
        g = 1.1**t
    elif kind == "decaying":
        g = 0.9**t
    elif kind == "noisy":
        g = 1.0 + np.random.default_rng(seed).standard_normal(steps)
    elif kind == "zero":
        g = np.zeros(steps)
    else:
        raise ValueError(f"unknown gradient sequence {kind!r}; expected one of "
                         f"{', '.join(SEQUENCES)}")
    return float(scale) * g


def hand_designed_steps(grads, momentum_lr: float, adam_lr: float, momentum: float = 0.9,
                        betas=(0.9, 0.999), eps: float = 1e-8) -> dict:
    """The steps Delta theta_t that heavy-ball momentum and Adam take when they receive the
    gradients ``grads`` (shape (T,) or (T, N)) one after the other (lesson 03's
    formulas). Returns ``{"momentum": (T, ...), "adam": (T, ...)}``, float64::

        momentum:  b_1 = g_1,  b_t = mu b_{t-1} + g_t,          step_t = -lr b_t
        Adam:      m_t = beta1 m_{t-1} + (1 - beta1) g_t,  v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
                   step_t = -lr (m_t / (1 - beta1^t)) / (sqrt(v_t / (1 - beta2^t)) + eps)

    (t counts from 1; m_0 = v_0 = 0.) These are PyTorch's formulas, and minigrad's.
    """
    grads = np.asarray(grads, dtype=np.float64)
    b1, b2 = betas
    buf = m = v = None
    mom, adam = [], []
    for t, g in enumerate(grads, start=1):
        buf = g.copy() if buf is None else momentum * buf + g
        mom.append(-momentum_lr * buf)
        m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
        v = (1 - b2) * g * g if v is None else b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        adam.append(-adam_lr * m_hat / (np.sqrt(v_hat) + eps))
    shape = grads.shape
    return {"momentum": np.array(mom).reshape(shape), "adam": np.array(adam).reshape(shape)}


def learned_steps(net, grads) -> np.ndarray:
    """The steps the learned optimizer proposes when it receives ``grads`` (T,) or (T, N)
    one after the other, from its zero state: float64 of the same shape. Each column is one
    coordinate; the optimizer treats them independently (coordinatewise), so many sequences
    run as one batch."""
    grads = np.asarray(grads, dtype=np.float64)
    cols = grads.reshape(grads.shape[0], -1).astype(net.dtype)
    state, out = None, []
    for g in cols:
        delta, state = net.update_array(to_device(np.ascontiguousarray(g), default_device()),
                                        state)
        out.append(np.asarray(to_device(delta, "cpu"), dtype=np.float64))
    return np.array(out).reshape(grads.shape)


def step_responses(net, kind: str = "alternating", scale: float = 1.0, steps: int = 30,
                   momentum_lr: float = 0.01, adam_lr: float = 0.1, seed: int = 0) -> dict:
    """For one synthetic sequence (:func:`gradient_sequence`): ``grads`` and the steps of
    ``lstm``, its ``odd`` part (m(g) - m(-g)) / 2 (what flips with the gradient's sign), its
    ``even`` part (m(g) + m(-g)) / 2 (a drift the gradient's sign does not decide; zero for
    momentum and Adam), ``momentum`` and ``adam``."""
    g = gradient_sequence(kind, scale, steps, seed)
    both = learned_steps(net, np.stack([g, -g], axis=1))
    hand = hand_designed_steps(g, momentum_lr, adam_lr)
    return {"kind": kind, "scale": float(scale), "grads": g, "lstm": both[:, 0],
            "odd": (both[:, 0] - both[:, 1]) / 2, "even": (both[:, 0] + both[:, 1]) / 2,
            "momentum": hand["momentum"], "adam": hand["adam"],
            "lrs": {"momentum": momentum_lr, "adam": adam_lr}}


_STYLE = {"lstm": ("tab:blue", "-", "learned (LSTM)"),
          "odd": ("tab:blue", ":", "learned: odd part"),
          "even": ("tab:cyan", "--", "learned: even part (drift)"),
          "momentum": ("tab:orange", "-", "momentum 0.9"),
          "adam": ("tab:red", "-", "Adam")}


def plot_step_responses(responses, show=("lstm", "odd", "even", "momentum", "adam"),
                        grads: bool = True):
    """Proposed steps, one column per sequence, with the gradients above them when
    ``grads`` (otherwise the column titles name the sequences)."""
    import matplotlib.pyplot as plt

    responses = responses if isinstance(responses, (list, tuple)) else [responses]
    n = len(responses)
    width = max(3.4 * n + 0.6, 7.0)
    if grads:
        fig, axes = plt.subplots(2, n, figsize=(width, 5.2), squeeze=False,
                                 sharex="col", gridspec_kw={"height_ratios": [1, 1.6]})
        tops, bottoms = axes[0], axes[1]
    else:
        fig, axes = plt.subplots(1, n, figsize=(width, 3.4), squeeze=False)
        tops, bottoms = [None] * n, axes[0]
    for top, bottom, r in zip(tops, bottoms, responses):
        title = f"{r['kind']} gradient (scale {r['scale']:g})"
        if top is not None:
            top.bar(np.arange(len(r["grads"])), r["grads"], color="0.55", width=0.8)
            top.axhline(0, color="k", lw=0.6)
            top.set_title(title)
        else:
            bottom.set_title(title)
        for key in show:
            color, ls, label = _STYLE[key]
            if key in ("momentum", "adam"):
                label = f"{label} (lr {r['lrs'][key]:g})"
            bottom.plot(r[key], color=color, ls=ls, lw=1.8, label=label)
        bottom.axhline(0, color="k", lw=0.6)
        bottom.set_xlabel("step t")
        bottom.grid(alpha=0.3)
    if grads:
        tops[0].set_ylabel("gradient g_t")
    bottoms[0].set_ylabel("proposed step Δθ_t")
    bottoms[0].legend(fontsize=7.5, loc="best")
    fig.tight_layout()
    return fig


def magnitude_response(net, scales=None, after: int = 10, momentum_lr: float = 0.01,
                       adam_lr: float = 0.1) -> dict:
    """The step each rule proposes at step ``after`` (0-based) of a CONSTANT gradient s, for
    every s in ``scales`` (default 10^-3 .. 10^2): ``lstm``, ``odd``, ``even``, ``momentum``,
    ``adam`` (arrays over the scales). Momentum's grows in proportion to s (with
    sum_{k<=after} mu^k as the factor); Adam's is about -lr whatever s."""
    scales = np.logspace(-3, 2, 26) if scales is None else np.asarray(scales, dtype=np.float64)
    g = np.ones((after + 1, 1)) * scales[None, :]
    both = learned_steps(net, np.concatenate([g, -g], axis=1))
    k = len(scales)
    hand = hand_designed_steps(g, momentum_lr, adam_lr)
    return {"scales": scales, "after": after, "lstm": both[after, :k],
            "odd": (both[after, :k] - both[after, k:]) / 2,
            "even": (both[after, :k] + both[after, k:]) / 2,
            "momentum": hand["momentum"][after], "adam": hand["adam"][after],
            "lrs": {"momentum": momentum_lr, "adam": adam_lr}}


def plot_magnitude_response(res: dict):
    """|step| against the constant gradient s, log-log; the learned optimizer's odd part
    (its response to the gradient) and even part (drift) apart."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for key in ("odd", "even", "momentum", "adam"):
        color, ls, label = _STYLE[key]
        if key in ("momentum", "adam"):
            label = f"{label} (lr {res['lrs'][key]:g})"
        ax.plot(res["scales"], np.abs(res[key]), color=color, ls=ls, lw=2, marker=".",
                label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="constant gradient s", ylabel=f"|step| at step {res['after']}",
           title=f"Step size after {res['after']} steps of the same gradient")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def make_sequence_explorer(net, momentum_lr: float = 0.01, adam_lr: float = 0.1,
                           kind: str = "alternating", log_scale: float = 0.0,
                           steps: int = 30) -> Explorer:
    """Choose a gradient sequence and see the learned optimizer's steps next to momentum's
    and Adam's (:func:`step_responses`).

    Controls: ``"kind"`` (Dropdown of :data:`SEQUENCES`), ``"log_scale"`` (log10 of the
    sequence's scale), ``"steps"``, ``"parts"`` (Checkbox: show the learned step's odd and
    even parts), ``"log_momentum_lr"`` and ``"log_adam_lr"``. ``result`` is the dict of
    :func:`step_responses`.
    """
    import ipywidgets as widgets

    style = {"description_width": "130px"}
    wide = widgets.Layout(width="430px")

    def slider(value, lo, hi, step, label):
        return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=label,
                                   continuous_update=False, readout_format=".2f", style=style,
                                   layout=wide)

    controls = {
        "kind": widgets.Dropdown(options=list(SEQUENCES), value=kind, description="sequence",
                                 style=style),
        "log_scale": slider(log_scale, -3.0, 2.0, 0.25, "log10 scale"),
        "steps": widgets.IntSlider(value=steps, min=5, max=80, step=5, description="steps",
                                   continuous_update=False, style=style, layout=wide),
        "parts": widgets.Checkbox(value=True, description="show the odd and even parts"),
        "log_momentum_lr": slider(round(math.log10(momentum_lr), 2), -4.0, 0.5, 0.25,
                                  "log10 lr momentum"),
        "log_adam_lr": slider(round(math.log10(adam_lr), 2), -4.0, 0.5, 0.25,
                              "log10 lr Adam"),
    }

    def compute(kind, log_scale, steps, parts, log_momentum_lr, log_adam_lr):
        return step_responses(net, kind, 10.0**log_scale, steps, 10.0**log_momentum_lr,
                              10.0**log_adam_lr)

    def render(result):
        show = ("lstm", "odd", "even", "momentum", "adam") if controls["parts"].value else \
            ("lstm", "momentum", "adam")
        return plot_step_responses([result], show=show)

    return Explorer(controls, compute, render,
                    title="Feed the optimizers a gradient sequence and compare their steps")
