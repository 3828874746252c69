"""Section 5: a sequence task, the adding problem."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.tensor import Tensor
from minigrad.threads import blas_threads


def adding_problem(rng, batch: int, steps: int):
    """Inputs (T, B, 2): a value ~ U[0, 1) and a marker (1 at two random steps, else 0); the
    target (B, 1) is the sum of the two marked values. Predicting the mean, 1, gives MSE 1/6.
    """
    values = rng.random((steps, batch))
    markers = (rng.random((steps, batch)).argsort(axis=0) < 2).astype(np.float64)
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values * markers).sum(axis=0)[:, None].astype(np.float32)
    return x, y


class AddingModel(nn.Module):
    """An LSTM reading the sequence and a linear read-out of its last hidden state."""

    def __init__(self, hidden: int = 16, forget_bias: float = 1.0, seed: int = 0):
        super().__init__()
        self.lstm = nn.LSTM(2, hidden, forget_bias=forget_bias, seed=seed)
        self.head = nn.Linear(hidden, 1, seed=seed + 100)

    def forward(self, xs: Tensor, truncate: int | None = None):
        """Prediction (B, 1) for inputs (T, B, 2); with ``truncate=k`` the gradient flows
        back through the last k steps only (the state is detached k steps before the end)."""
        T = xs.shape[0]
        state = None
        for t in range(T):
            if truncate is not None and t == T - truncate:
                state = nn.detach_state(state)
            h, state = self.lstm.step(xs[t], state)
        return self.head(h)


def train_adding(steps: int = 10, hidden: int = 16, batches: int = 200, lr: float = 0.05,
                 batch_size: int = 64, seed: int = 0, forget_bias: float = 1.0,
                 truncate: int | None = None, callback: Callable | None = None,
                 progress: bool = False, test_size: int = 1000,
                 threads: int | None = 1) -> dict:
    """Train :class:`AddingModel` with Adam on fresh batches of the adding problem.

    ``truncate=k`` backpropagates through the last k steps only; BLAS runs on ``threads``
    threads (:func:`minigrad.threads.blas_threads`). Returns ``{"model",
    "losses" (per batch), "test_mse" (on ``test_size`` fresh sequences), "baseline_mse"
    (predicting the mean 1 on them)}``.
    """
    rng = np.random.default_rng(seed)
    model = AddingModel(hidden, forget_bias, seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    x_test, y_test = adding_problem(np.random.default_rng(10_000 + seed), test_size, steps)
    it = range(int(batches))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(it, desc="adding problem" + (f", k = {truncate}" if truncate else ""))
        it = bar
    losses = []
    with blas_threads(threads):
        for b in it:
            x, y = adding_problem(rng, batch_size, steps)
            loss = mg.mse_loss(model(mg.tensor(x), truncate), mg.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if callback is not None:
                callback(b + 1, losses[-1])
            if bar is not None and b % 10 == 0:
                bar.set_postfix(mse=f"{losses[-1]:.4f}")
        if bar is not None:
            bar.close()
        with mg.no_grad():
            test_mse = mg.mse_loss(model(mg.tensor(x_test)), mg.tensor(y_test)).item()
    return {"model": model, "losses": np.array(losses), "test_mse": test_mse,
            "baseline_mse": float(((y_test - 1.0) ** 2).mean()), "truncate": truncate}


def plot_adding(runs: dict, smooth: int = 10):
    """Training MSE (moving average) of one or more runs, with the predict-the-mean level."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for label, run in runs.items():
        v = run["losses"]
        k = min(smooth, len(v))
        avg = np.convolve(v, np.ones(k) / k, mode="valid")
        ax.semilogy(np.arange(k, len(v) + 1), avg, lw=2,
                    label=f"{label}: test MSE {run['test_mse']:.4f}")
    ax.axhline(1 / 6, color="k", ls=":", lw=1, label="predict the mean: 1/6")
    ax.set_xlabel("batch")
    ax.set_ylabel(f"training MSE (mean of {smooth})")
    ax.set_title("The adding problem")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.13, top=0.91)
    return fig
