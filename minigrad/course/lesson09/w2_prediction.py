"""Section 5, exercise 09.2: predict how much smaller the output layer's gradients are with ReLU
hidden units than with sigmoid ones, then measure it.

For the paper's MLP 784-20-10 the gradient of the output weights is
``dL/dW2 = h^T delta``: the hidden activations h (batch, 20) times the output errors
delta = (softmax(z) - onehot(y)) / batch (batch, 10). At the initial weights (all drawn from
N(0, 0.01^2)) the outputs are nearly uniform in both networks, so delta is nearly the same;
what differs is h. A sigmoid unit sits at sigmoid(0) = 0.5; a ReLU unit is max(0, z) with z
small, about half of the time 0.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.autograd import grad
from minigrad.backend import to_device
from minigrad.course.checks import Exercise, register
from minigrad.l2l import Flattener, make_problem

__all__ = ["predict_w2_ratio", "w2_measurement", "w2_report"]


def predict_w2_ratio(h_sigmoid, h_relu) -> float:
    """Predicted median |dL/dW2| with ReLU over that with sigmoid (reference of exercise
    09.2): W2's gradient is the hidden activation times the output error, the error is about
    the same in both networks, so the ratio is that of the typical activations."""
    return float(np.mean(h_relu) / np.mean(h_sigmoid))


def _cpu(a) -> np.ndarray:
    return np.asarray(to_device(a, "cpu"), dtype=np.float64)


def w2_measurement(seed: int = 0, w1_scale: float = 1.0) -> dict:
    """One minibatch of 128 digits through the MLP 784-20-10 with the same initial weights and
    sigmoid or ReLU hidden units (W1 multiplied by ``w1_scale``). Returns, per activation, the
    hidden activations ``h`` (128, 20) and the median |dL/dW2| (autograd), and ``ratio``
    (ReLU over sigmoid)."""
    out = {}
    for act in ("sigmoid", "relu"):
        inst = make_problem("mnist", f"{act}-20").sample((seed, 9, 0))
        arrays = inst.init_params()
        arrays[0] = arrays[0] * w1_scale
        x, _ = inst.batch(0)
        z = _cpu(x) @ _cpu(arrays[0]) + _cpu(arrays[1])
        h = 1.0 / (1.0 + np.exp(-z)) if act == "sigmoid" else np.maximum(z, 0.0)
        flat = Flattener.like(arrays)
        leaves = flat.leaves(flat.flatten(arrays))
        g_w2 = _cpu(grad(inst.loss(leaves, 0), leaves)[2].data)
        out[act] = {"h": h, "median_w2": float(np.median(np.abs(g_w2)))}
    out["ratio"] = out["relu"]["median_w2"] / out["sigmoid"]["median_w2"]
    return out


def _within(pred: float, measured: float, factor: float = 2.5) -> bool:
    return measured / factor <= pred <= measured * factor


_CASES = ((0, 1.0), (1, 1.0), (2, 3.0))  # (seed, W1 multiplied by)


def _diagnose(pred: float, m: dict) -> str:
    hs, hr = m["sigmoid"]["h"], m["relu"]["h"]
    slope = float(np.mean(hs * (1 - hs)) / np.mean(hr > 0))  # sigmoid' against ReLU'
    if math.isclose(pred, 1.0, rel_tol=0.05):
        return ("a ratio of 1 says the hidden units do not matter, but W2's gradient is the "
                "activation h times the output error")
    slopes = (slope, 1 / slope, 4.0, 0.25)  # 0.25: sigmoid's largest slope, ReLU's is 1
    if any(math.isclose(pred, s, rel_tol=0.1) for s in slopes):
        return ("that is the ratio of the activations' slopes; a slope enters the gradient of "
                "the weights BELOW the hidden layer (W1), not of W2, which sees h itself")
    if math.isclose(pred, 1 / m["ratio"], rel_tol=0.6):
        return "upside down: the ratio asked for is ReLU over sigmoid"
    return "compare the typical size of h in the two networks"


def _check_prediction(fn):
    """Checker of exercise 09.2: the prediction within a factor 2.5 of the measurement."""
    for seed, scale in _CASES:
        m = w2_measurement(seed, scale)
        label = (f"network seed {seed}, W1 x {scale:g}: measured ratio {m['ratio']:.3f}")
        pred = fn(m["sigmoid"]["h"].copy(), m["relu"]["h"].copy())
        try:
            pred = float(pred)
        except (TypeError, ValueError):
            yield label, f"expected one number, got {type(pred).__name__}"
            return
        if not _within(pred, m["ratio"]):
            yield label, (f"you predicted {pred:.3g}, more than 2.5 times off ("
                          + _diagnose(pred, m) + ")")
            return
        yield label, None


register(Exercise(
    id="09.2",
    title="predict the ReLU/sigmoid ratio of W2's gradients",
    reference=predict_w2_ratio,
    checker=_check_prediction,
    hint="Write W2's gradient with the chain rule: which quantity of the hidden layer does it "
         "multiply the output error by, and how large is that quantity for a sigmoid unit and "
         "for a ReLU unit whose input is close to 0?",
))


def w2_report(prediction: float, m: dict) -> str:
    """Your prediction against the measurement, and where the gap comes from."""
    hs, hr = m["sigmoid"]["h"], m["relu"]["h"]
    rms = float(np.sqrt(np.mean(hr**2)) / np.sqrt(np.mean(hs**2)))
    return (f"predicted {prediction:.3f}, measured {m['ratio']:.3f} "
            f"({m['ratio'] / prediction:.2f} times the prediction). "
            f"{np.mean(hr == 0):.0%} of the ReLU activations are exactly 0, and the others vary "
            f"from digit to digit, while every sigmoid unit sits near 0.5 "
            f"(spread {hs.std():.4f}). With h nearly constant, the sigmoid gradient "
            f"h^T delta is 0.5 times the batch sum of the errors, where errors of opposite sign "
            f"cancel; a varying h cancels less. The ratio of root-mean-square activations, "
            f"which treats h and delta as independent, gives {rms:.3f}.")
