"""Constants the parts of this lesson share."""

from __future__ import annotations

from minigrad.l2l.baselines import DECADES
from minigrad.l2l.evaluate import Experiment

#: The horizon the shipped optimizer was meta-trained for.
TRAIN_STEPS = 100

EXPERIMENTS = (
    Experiment("mnist-200", "200 steps (trained for 100)", steps=200),
    Experiment("mnist-40", "40 hidden units (trained on 20)", optimizee="sigmoid-40"),
    Experiment("mnist-2layer", "2 hidden layers (trained on 1)", optimizee="sigmoid-20x2"),
    Experiment("mnist-relu", "ReLU units (trained on sigmoid)", optimizee="relu-20"),
    Experiment("mnist-long", "1,000 steps (trained for 100)", steps=1000, runs=2, val_runs=1,
               grid=DECADES),
    Experiment("sweep-10", "10 hidden units", optimizee="sigmoid-10"),
    Experiment("sweep-10x2", "2 hidden layers of 10", optimizee="sigmoid-10x2"),
    Experiment("sweep-40x2", "2 hidden layers of 40", optimizee="sigmoid-40x2"),
    Experiment("fashion", "Fashion-MNIST (trained on MNIST digits)", dataset="fashion-mnist"),
)

#: What the paper reports for each experiment (lesson 07's "mnist" included).
CLAIMS = {
    "mnist": "beats all baselines by a clear margin",
    "mnist-200": "still best",
    "mnist-40": "still best",
    "mnist-2layer": "still best",
    "mnist-relu": "FAILS: the baselines win",
    "mnist-long": "not in the paper (Open-L2O: it blows up far beyond its training horizon)",
    "sweep-10": "degrades gradually away from the training architecture",
    "sweep-10x2": "degrades gradually away from the training architecture",
    "sweep-40x2": "degrades gradually away from the training architecture",
    "fashion": "not in the paper",
}

#: (hidden units, hidden layers) -> experiment key; (20, 1) is the training architecture.
SWEEP = {(10, 1): "sweep-10", (20, 1): "mnist", (40, 1): "mnist-40",
         (10, 2): "sweep-10x2", (20, 2): "mnist-2layer", (40, 2): "sweep-40x2"}
