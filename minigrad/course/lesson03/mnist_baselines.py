"""Section 4: the paper's optimizee on real MNIST digits, trained by the hand-designed optimizers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.threads import blas_threads

from .update_rules import COLORS, OPTIMIZERS

_DATA: dict = {}


def mnist_data(seed: int = 0):
    """The 3,000 / 1,000 / 1,000 train / validation / test split of the 5,000 shipped digits."""
    if seed not in _DATA:
        from minigrad.data import mnist_splits

        _DATA[seed] = mnist_splits(seed=seed)
    return _DATA[seed]


def plot_digits(split, n: int = 12, seed: int = 0):
    """``n`` random digits of a split with their labels (28 x 28 grey images)."""
    import matplotlib.pyplot as plt

    idx = np.random.default_rng(seed).choice(len(split), size=n, replace=False)
    fig, axes = plt.subplots(1, n, figsize=(1.0 * n, 1.3))
    for ax, i in zip(np.atleast_1d(axes), idx):
        ax.imshow(split.images[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(str(int(split.labels[i])), fontsize=10)
        ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.8, wspace=0.1)
    return fig


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


def paper_baselines_on_mnist(lrs: dict | None = None, steps: int = 100, seed: int = 0,
                             live: LiveLossPlot | None = None, progress: bool = False) -> dict:
    """The paper's baselines on the MNIST MLP for ``steps`` steps each (its horizon: 100).

    All runs start from the same initial weights and see the same minibatches. ``live``: a
    :class:`LiveLossPlot` to draw into; ``progress``: one ``tqdm.auto`` bar over every step.
    Returns ``{name: train_mlp(...) result}``.
    """
    lrs = PAPER_MNIST_LRS if lrs is None else lrs
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * len(lrs), desc="baselines")
    runs = {}
    for name, lr in lrs.items():
        curve = live.curve(name) if live is not None else None

        def callback(step, loss, curve=curve, name=name):
            if curve is not None:
                curve(step, loss)
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix_str(f"{name}: loss {loss:.3f}")

        runs[name] = train_mlp(name, lr, steps=steps, seed=seed, callback=callback)
    if bar is not None:
        bar.close()
    if live is not None:
        live.finish()
    return runs
