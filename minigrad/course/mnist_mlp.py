"""The MNIST optimizee the course trains in more than one lesson: an MLP 784-20-10 on the
shipped digits, trained by a named optimizer, with loss curves that redraw while it trains.

Lesson 03 races the hand-designed optimizers on it (the paper's baselines); lesson 09 races the
shipped learned optimizer against Adam on it. Lesson helpers import it from here, since no lesson
helper imports another lesson's:

* :data:`OPTIMIZERS` (the hand-designed optimizers by name) and :data:`COLORS` (their colours in
  every plot, and the learned optimizer's);
* :func:`mnist_data` (the 3,000 / 1,000 / 1,000 split), :func:`evaluate`,
  :func:`make_optimizer` (a minigrad optimizer by name, ``"Learned"`` included);
* :func:`train_mlp`, the training loop, and :class:`LiveLossPlot`, its live loss curves;
* :data:`PAPER_MNIST_LRS`, the baselines' best learning rates.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.threads import blas_threads

__all__ = ["COLORS", "OPTIMIZERS", "PAPER_MNIST_LRS", "LiveLossPlot", "evaluate", "make_optimizer",
           "mnist_data", "train_mlp"]

#: The optimizers raced in lesson 03: the paper's baselines (SGD, NAG, RMSprop, Adam) and
#: plain momentum, each with PyTorch's (= Torch7's) default hyperparameters besides lr.
OPTIMIZERS = ("SGD", "Momentum", "NAG", "RMSprop", "Adam")
COLORS = {"SGD": "tab:gray", "Momentum": "tab:orange", "NAG": "tab:red", "RMSprop": "tab:green",
          "Adam": "tab:blue", "Learned": "tab:orange"}  # Learned: lesson 09, as l2l.plots' LSTM

_DATA: dict = {}


def mnist_data(seed: int = 0):
    """The 3,000 / 1,000 / 1,000 train / validation / test split of the 5,000 shipped digits."""
    if seed not in _DATA:
        from minigrad.data import mnist_splits

        _DATA[seed] = mnist_splits(seed=seed)
    return _DATA[seed]


def evaluate(model: nn.Module, split) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` of ``model`` on a data split (no graph recorded)."""
    with mg.no_grad():
        logits = model(mg.tensor(split.images))
        loss = mg.cross_entropy(logits, split.labels).item()
        acc = float((logits.numpy().argmax(axis=1) == split.labels).mean())
    return loss, acc


def make_optimizer(name: str, params, lr: float):
    """The minigrad optimizer ``name`` (one of :data:`OPTIMIZERS`, or ``"Learned"``: the
    shipped learned optimizer, :class:`minigrad.l2l.LearnedOptimizer`) over ``params``."""
    if name == "SGD":
        return optim.SGD(params, lr=lr)
    if name == "Momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "NAG":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "RMSprop":
        return optim.RMSprop(params, lr=lr)
    if name == "Adam":
        return optim.Adam(params, lr=lr)
    if name == "Learned":  # lesson 09: the shipped MNIST optimizer (lr unused: it has none)
        from minigrad.l2l import LearnedOptimizer

        return LearnedOptimizer(params)
    raise KeyError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


def train_mlp(optimizer: str = "Adam", lr: float = 0.01, steps: int = 300,
              batch_size: int = 128, hidden=(20,), activation: str = "sigmoid",
              init: str = "pytorch", seed: int = 0, callback: Callable | None = None,
              progress: bool = False, threads: int | None = 1) -> dict:
    """Train an MLP 784-hidden-10 on the MNIST training split with minibatches.

    ``callback(step, loss)`` is called after every step (e.g. a :class:`LiveLossPlot` curve);
    ``progress`` shows a ``tqdm.auto`` bar. Batches are drawn with replacement from the
    training split (the official code's sampling) with seed ``seed``, which also seeds the
    weights. BLAS runs on ``threads`` threads meanwhile (:func:`minigrad.threads.blas_threads`).
    Returns
    ``{"model", "losses" (minibatch loss per step), "test_loss", "test_acc", "init_test_acc",
    "optimizer", "lr"}``.
    """
    data = mnist_data()
    model = nn.MLP(784, list(hidden), 10, activation=activation, init=init, seed=seed)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    sampler = data.train.sampler(batch_size, seed=seed)
    _, init_acc = evaluate(model, data.test)
    losses = []
    steps_iter = range(int(steps))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(steps_iter, desc=f"{optimizer} lr {lr:g}", leave=True)
        steps_iter = bar
    with blas_threads(threads):
        for step in steps_iter:
            x, y = next(sampler)
            loss = mg.cross_entropy(model(mg.tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if callback is not None:
                callback(step + 1, losses[-1])
            if bar is not None and step % 10 == 0:
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if bar is not None:
        bar.close()
    test_loss, test_acc = evaluate(model, data.test)
    return {"model": model, "losses": np.array(losses), "test_loss": test_loss,
            "test_acc": test_acc, "init_test_acc": init_acc, "optimizer": optimizer,
            "lr": float(lr)}


class LiveLossPlot:
    """Training-loss curves that redraw themselves in the notebook while training runs.

    ``live.curve(name)`` returns a ``callback(step, loss)`` for one run (pass it to
    :func:`train_mlp`); every ``every`` steps the figure is redrawn in place (an IPython display
    handle), and :meth:`finish` draws the final state. Each curve shows the minibatch losses
    (faint) and their moving average over ``smooth`` steps. With ``show=False`` nothing is
    displayed (tests).
    """

    def __init__(self, every: int = 25, title: str = "training loss", show: bool = True,
                 smooth: int = 10):
        import matplotlib.pyplot as plt

        self.every, self.smooth, self.show = int(every), int(smooth), show
        self.data: dict = {}  # name -> (steps, losses, raw line, average line)
        self.fig, self.ax = plt.subplots(figsize=(7.5, 3.6))
        self.ax.set_xlabel("step")
        self.ax.set_ylabel("cross-entropy (minibatch)")
        self.ax.set_title(title)
        self.ax.axhline(math.log(10), color="k", ls=":", lw=1, label="chance: ln 10")
        self.ax.set_ylim(0, 2.6)
        self.ax.grid(True, alpha=0.3)
        self.fig.subplots_adjust(left=0.09, right=0.97, bottom=0.14, top=0.9)
        self.handle = None
        self.redraws = 0
        if show:
            from IPython.display import display

            self.handle = display(self.fig, display_id=True)
        plt.close(self.fig)

    def curve(self, name: str) -> Callable:
        """A new curve called ``name``; returns its ``callback(step, loss)``."""
        c = COLORS.get(name)
        (raw,) = self.ax.plot([], [], color=c, alpha=0.25, lw=1)
        (avg,) = self.ax.plot([], [], color=c, lw=2, label=name)
        self.ax.legend(fontsize=8, loc="upper right")
        self.data[name] = ([], [], raw, avg)

        def callback(step: int, loss: float) -> None:
            self.data[name][0].append(step)
            self.data[name][1].append(loss)
            if step % self.every == 0:
                self.redraw()

        return callback

    def redraw(self) -> None:
        xmax, ymax = 10, 2.6
        for steps, losses, raw, avg in self.data.values():
            if not losses:
                continue
            s, v = np.array(steps), np.array(losses)
            raw.set_data(s, v)
            k = min(self.smooth, len(v))
            avg.set_data(s[k - 1:], np.convolve(v, np.ones(k) / k, mode="valid"))
            xmax, ymax = max(xmax, s[-1]), max(ymax, float(v.max()) * 1.05)
        self.ax.set_xlim(0, xmax)
        self.ax.set_ylim(0, ymax)
        self.redraws += 1
        if self.handle is not None:
            self.handle.update(self.fig)

    def finish(self) -> None:
        self.redraw()


#: The baselines' best learning rates for the MNIST MLP in a PyTorch reproduction of the paper
#: (AdrienLE/learning_by_grad_by_grad_repro, grid from 1 to 1e-5).
PAPER_MNIST_LRS = {"SGD": 1.0, "NAG": 1.0, "RMSprop": 0.01, "Adam": 0.03}
