"""Section 4: the paper's optimizee on real MNIST digits, trained by the hand-designed optimizers.

The optimizee itself (the data split, the training loop :func:`train_mlp`, the live loss curves
:class:`LiveLossPlot`, :data:`PAPER_MNIST_LRS`) is shared with lesson 09 and lives in
:mod:`minigrad.course.mnist_mlp`; this part adds what only lesson 03 shows.
"""

from __future__ import annotations

import numpy as np

from minigrad.course.mnist_mlp import PAPER_MNIST_LRS, LiveLossPlot, train_mlp


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
