"""Section 5: take it home. The shipped MNIST optimizer as a drop-in optimizer
(:class:`minigrad.l2l.LearnedOptimizer`) on lesson 03's MLP, raced live against Adam.

Both runs start from the same initial weights and see the same minibatches
(:func:`minigrad.course.mnist_mlp.train_mlp`); what differs is only the line
``opt = ...``. The race reports the minibatch loss the optimizers see (the quantity the
learned optimizer was meta-trained to make small over 100 steps) and, after the race, the loss
and accuracy on the 1,000 test digits, which neither saw.
"""

from __future__ import annotations

import numpy as np

from minigrad.course.mnist_mlp import PAPER_MNIST_LRS, LiveLossPlot, train_mlp

__all__ = ["RACE_STEPS", "race", "race_reading", "race_summary"]

#: Twice the horizon the optimizer was meta-trained on (100 steps).
RACE_STEPS = 200


def race(activation: str = "sigmoid", steps: int = RACE_STEPS, init: str = "normal",
         adam_lr: float = PAPER_MNIST_LRS["Adam"], seed: int = 0, show: bool = True) -> dict:
    """Adam (lr ``adam_lr``) and the learned optimizer train the MLP 784-20-10 with
    ``activation`` for ``steps`` steps, drawn live. ``init="normal"`` draws the weights from
    N(0, 0.01^2), as the meta-training problems did; ``"pytorch"`` is lesson 03's default.
    Returns ``{"Adam": ..., "Learned": ...}``, each :func:`train_mlp`'s result."""
    live = LiveLossPlot(every=50, show=show,
                        title=f"MLP 784-20-10, {activation}, init {init}: Adam vs learned")
    runs = {name: train_mlp(name, lr, steps=steps, activation=activation, init=init, seed=seed,
                            callback=live.curve(name))
            for name, lr in (("Adam", adam_lr), ("Learned", 0.0))}
    live.finish()
    return runs


def race_summary(runs: dict, at: int = 100, window: int = 10) -> dict:
    """Per optimizer: the mean minibatch loss over the ``window`` steps up to step ``at`` and
    up to the last step, and the test loss and accuracy after the last step."""
    out = {}
    for name, r in runs.items():
        losses = r["losses"]
        out[name] = {"at": float(np.mean(losses[at - window:at])),
                     "last": float(np.mean(losses[-window:])), "steps": len(losses),
                     "test_loss": r["test_loss"], "test_acc": r["test_acc"]}
    return out


def race_reading(summary: dict, at: int = 100) -> str:
    """The race in words, computed from :func:`race_summary`'s numbers."""
    a, m = summary["Adam"], summary["Learned"]

    def cmp(x, y):
        return "lower" if x < y else "higher"

    return (f"Minibatch loss at step {at}: learned {m['at']:.3f}, {cmp(m['at'], a['at'])} than "
            f"Adam's {a['at']:.3f} ({m['at'] / a['at']:.2f}x). At step {m['steps']}: "
            f"{m['last']:.3f} against {a['last']:.3f}. On the test digits after "
            f"{m['steps']} steps: loss {m['test_loss']:.3f} against Adam's {a['test_loss']:.3f} "
            f"({cmp(m['test_loss'], a['test_loss'])}), accuracy {m['test_acc']:.1%} against "
            f"{a['test_acc']:.1%}.")
