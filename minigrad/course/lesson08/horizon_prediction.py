"""Section 2, exercise 08.1: predict how the final-loss ratio moves from the training horizon
(step 100) to step 200, from the first 100 steps alone, then measure it.

The ratio is the learned optimizer's mean loss over the best tuned baseline's at one step. It
moves only when the two curves move differently. The baselines' learning rates were tuned for
the whole run, and a tuned baseline's loss falls by a roughly steady factor each time the number
of steps doubles (a straight line on log-log axes). The learned optimizer was meta-trained on
100-step runs: nothing in its training rewarded progress after step 100.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from minigrad.course.checks import Exercise, register
from minigrad.l2l import BASELINES
from minigrad.l2l.baselines import DISPLAY_NAMES

from ._shared import TRAIN_STEPS

__all__ = ["curves_until", "horizon_pace", "measured_ratio", "predict_ratio", "prediction_report"]

#: Where the prediction starts (the training horizon) and the step it is about.
PREDICT_FROM, PREDICT_TO = TRAIN_STEPS, 2 * TRAIN_STEPS

#: The stored experiments the check predicts: both go on to step 200 or beyond.
_CASES = ("mnist-200", "mnist-long")
_FACTOR = 2.5  # a prediction within this factor of the measurement passes


def curves_until(result: dict, step: int = PREDICT_FROM) -> dict:
    """The mean loss curves of a stored result up to ``step`` only: ``{name: array of the
    mean loss at steps 0..step}`` for "lstm" and the four baselines (NaN where a run diverged).
    What a prediction may look at."""
    return {name: np.array([np.nan if v is None else float(v)
                            for v in result[name]["curve"][:step + 1]])
            for name in ("lstm",) + BASELINES}


def measured_ratio(result: dict, step: int = PREDICT_TO) -> tuple[float, str]:
    """``(ratio, best)``: the learned optimizer's mean loss at ``step`` over that of the best
    baseline AT THAT STEP (``best``). At the last step it is the final-loss ratio."""
    at = {name: c[step] for name, c in curves_until(result, step).items()}
    best = min(BASELINES, key=lambda b: (at[b] if np.isfinite(at[b]) else math.inf,
                                         BASELINES.index(b)))
    return float(at["lstm"] / at[best]), best


def _per_doubling(curve: np.ndarray, now: int, to_step: int) -> float:
    """The curve's value at ``now`` carried on to ``to_step`` at its pace from now/2 to now,
    a steady factor per doubling of the step count."""
    return float(curve[now] * (curve[now] / curve[now // 2]) ** math.log2(to_step / now))


def predict_ratio(curves: dict, to_step: int) -> float:
    """Predicted ratio at ``to_step`` from the curves up to the training horizon (reference of
    exercise 08.1): each tuned baseline keeps falling by the factor it fell from step now/2 to
    step now, per doubling of the step count; the learned optimizer, past the horizon it was
    trained for, stays where it is."""
    now = len(curves["lstm"]) - 1
    best = min(_per_doubling(curves[b], now, to_step) for b in BASELINES)
    return float(curves["lstm"][now] / best)


def _per_step(curve: np.ndarray, now: int, to_step: int) -> float:
    """The same pace as :func:`_per_doubling`, but as a steady factor per STEP."""
    half = now // 2
    return float(curve[now] * (curve[now] / curve[half]) ** ((to_step - now) / (now - half)))


def _readings(curves: dict, to_step: int, measured: float) -> dict:
    """What other lines of reasoning predict, to say which one a failed prediction matches."""
    now = len(curves["lstm"]) - 1
    lstm = curves["lstm"]
    base_now = min(curves[b][now] for b in BASELINES)
    base_doubling = min(_per_doubling(curves[b], now, to_step) for b in BASELINES)
    base_step = min(_per_step(curves[b], now, to_step) for b in BASELINES)
    return {
        "kept": (lstm[now] / base_now,
                 f"that is the ratio at step {now}: it assumes both curves move together after "
                 "it. Ask of each curve what it was tuned or trained for"),
        "paced": (_per_doubling(lstm, now, to_step) / base_doubling,
                  f"you let the learned optimizer keep its own pace after step {now}, like the "
                  f"baselines. It was meta-trained on {now}-step runs: nothing in its training "
                  f"rewarded progress after step {now}"),
        "per_step": (lstm[now] / base_step,
                     "the baselines fall by a steady factor per DOUBLING of the step count (a "
                     "straight line on log-log axes), not per step: carried on per step, their "
                     "pace from step 50 to 100 would take them far lower than they go"),
        "upside_down": (1.0 / measured,
                        "upside down: the ratio is the learned optimizer's loss over the best "
                        "baseline's"),
    }


def _diagnose(pred: float, curves: dict, to_step: int, measured: float) -> str:
    readings = _readings(curves, to_step, measured)
    upside_down = readings.pop("upside_down")
    value, why = min(readings.values(), key=lambda r: abs(math.log(pred / r[0])))
    if abs(math.log(pred / value)) < math.log(1.3):
        return why
    if abs(math.log(pred / upside_down[0])) < math.log(1.6):
        return upside_down[1]
    return ("compare each curve's fall from step 50 to step 100: which of them can be expected "
            "to keep that pace, and which not?")


@functools.lru_cache(maxsize=1)
def _stored_results() -> dict:
    from minigrad.course.stored_results import load_results

    return load_results()["experiments"]


def _check_prediction(fn):
    """Checker of exercise 08.1: the prediction within a factor 2.5 of the measurement."""
    exps = _stored_results()
    for key in _CASES:
        result = exps[key]
        measured, best = measured_ratio(result, PREDICT_TO)
        label = (f"{result['title']}, from step {PREDICT_FROM} to {PREDICT_TO}: measured ratio "
                 f"{measured:.2f} (best baseline there: {DISPLAY_NAMES[best]})")
        curves = curves_until(result, PREDICT_FROM)
        pred = fn({k: v.copy() for k, v in curves.items()}, PREDICT_TO)
        try:
            pred = float(pred)
        except (TypeError, ValueError):
            yield label, f"expected one number, got {type(pred).__name__}"
            return
        if not math.isfinite(pred) or pred <= 0:
            yield label, f"expected a positive finite ratio, got {pred}"
            return
        if not measured / _FACTOR <= pred <= measured * _FACTOR:
            yield label, (f"you predicted {pred:.3g}, more than {_FACTOR:g} times off ("
                          + _diagnose(pred, curves, PREDICT_TO, measured) + ")")
            return
        yield label, None


register(Exercise(
    id="08.1",
    title="predict the ratio at twice the training horizon",
    reference=predict_ratio,
    checker=_check_prediction,
    hint="A ratio moves only when its two curves move differently after step 100, so predict "
         "each curve on its own. Ask what each was tuned or trained for: the baselines' "
         "learning rates were tuned for the whole run, and a tuned baseline's loss falls by "
         "about the same factor each time the number of steps doubles; the learned optimizer "
         "was meta-trained on 100-step runs only. Still stuck: the collapsed 'Hint 2' below "
         "the exercise.",
))


def horizon_pace(result: dict, from_step: int = PREDICT_FROM, to_step: int = PREDICT_TO) -> dict:
    """Each curve's pace from ``from_step // 2`` to ``from_step``, carried on per doubling to
    ``to_step``, against where it went: ``baselines`` ({name: (predicted, measured)}),
    ``baseline_error`` (the largest factor between the two), ``best`` (the best baseline at
    ``to_step``), and the learned optimizer's ``lstm_from``, ``lstm_to``, ``lstm_paced`` (where
    its own pace would have taken it), ``lstm_low`` and ``lstm_high`` (its lowest and highest
    mean loss after ``from_step``)."""
    curves = curves_until(result, to_step)
    early = {k: v[:from_step + 1] for k, v in curves.items()}
    baselines = {b: (_per_doubling(early[b], from_step, to_step), float(curves[b][to_step]))
                 for b in BASELINES}
    between = curves["lstm"][from_step + 1:to_step + 1]
    return {"baselines": baselines,
            "baseline_error": max(max(p / m, m / p) for p, m in baselines.values()),
            "best": measured_ratio(result, to_step)[1],
            "lstm_from": float(curves["lstm"][from_step]),
            "lstm_to": float(curves["lstm"][to_step]),
            "lstm_paced": _per_doubling(early["lstm"], from_step, to_step),
            "lstm_low": float(np.min(between)), "lstm_high": float(np.max(between))}


def prediction_report(prediction: float, result: dict, from_step: int = PREDICT_FROM,
                      to_step: int = PREDICT_TO) -> str:
    """Your prediction against the measurement, and where the gap comes from: each curve's
    pace carried on from ``from_step`` against where it went (:func:`horizon_pace`)."""
    measured, best = measured_ratio(result, to_step)
    pace = horizon_pace(result, from_step, to_step)
    predicted_best, measured_best = pace["baselines"][best]
    name = DISPLAY_NAMES[best]
    kept = pace["lstm_to"] > 2 * pace["lstm_paced"]
    return (
        f"predicted {prediction:.2f}, measured {measured:.2f} "
        f"({measured / prediction:.2f} times the prediction).\n"
        f"The baselines: each one's fall from step {from_step // 2} to {from_step}, carried on "
        f"per doubling, predicts its loss at step {to_step} to within a factor "
        f"{pace['baseline_error']:.2f} (the best there, {name}: {predicted_best:.3g} predicted, "
        f"{measured_best:.3g} measured).\n"
        f"The learned optimizer: {pace['lstm_from']:.3g} at step {from_step}, "
        f"{pace['lstm_to']:.3g} at step {to_step}; at its own pace it would have reached "
        f"{pace['lstm_paced']:.3g}. In between, its mean loss went up and down between "
        f"{pace['lstm_low']:.3g} and {pace['lstm_high']:.3g} (a factor "
        f"{pace['lstm_high'] / pace['lstm_low']:.0f}): "
        + ("past its training horizon it did not keep its own pace, and the ratio at one step "
           "depends on where in those swings the step falls.\n" if kept else
           "it kept about its own pace past its training horizon.\n")
        + f"Your ratio, times {name}'s measured loss, puts the learned optimizer at "
        f"{prediction * measured_best:.3g} at step {to_step}; it was at {pace['lstm_to']:.3g}."
    )
