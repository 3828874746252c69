"""Section 3: what filters learn. A small convnet trained briefly on the shipped digits, its
first-layer filters at a few moments of training, and what they respond to in one digit.

The net (:class:`SmallConvNet`) is the paper's convnet in miniature, built from minigrad's
layers: conv 5x5 -> batch norm -> ReLU -> max pool 2x2, twice, then a linear layer to the 10
classes. Its first layer starts from tiny random filters (N(0, 0.01^2); batch norm makes
their scale irrelevant), so whatever structure they show after training was learned.
"""

from __future__ import annotations

import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.course.widgets import Explorer
from minigrad.threads import blas_threads

from ._shared import finish

#: Training steps at which the first layer's filters are kept (and the last step).
SNAPSHOT_STEPS = (0, 10, 25, 50, 100, 200, 400)


class SmallConvNet(nn.Module):
    """conv 5x5 (1 -> c1, 'same') -> BN -> ReLU -> pool 2 -> conv 5x5 (c1 -> c2) -> BN -> ReLU
    -> pool 2 -> linear (c2 * 7 * 7 -> 10), for 28 x 28 digits of shape (N, 1, 28, 28)."""

    def __init__(self, channels=(8, 16), seed: int = 0):
        super().__init__()
        c1, c2 = channels
        rng = np.random.default_rng(seed)
        self.conv1 = nn.Conv2d(1, c1, 5, padding=2, bias=False, init="normal", std=0.01, rng=rng)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 5, padding=2, bias=False, rng=rng)
        self.bn2 = nn.BatchNorm2d(c2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(c2 * 7 * 7, 10, rng=rng)

    def features(self, x):
        """The first layer's feature maps after batch norm and ReLU, (N, c1, 28, 28)."""
        return mg.relu(self.bn1(self.conv1(x)))

    def forward(self, x):
        h = self.pool(self.features(x))
        h = self.pool(mg.relu(self.bn2(self.conv2(h))))
        return self.fc(mg.reshape(h, (h.shape[0], -1)))


def digits(split: str = "train"):
    """``(images (n, 1, 28, 28) float32 in [0, 1], labels)`` of a split of the shipped digits
    (3,000 / 1,000 / 1,000)."""
    from minigrad.data import mnist_splits

    part = getattr(mnist_splits(seed=0), split)
    return part.images.reshape(-1, 1, 28, 28), part.labels


def accuracy(model: SmallConvNet, images, labels, batch: int = 500) -> float:
    """Test accuracy in evaluation mode (batch norm's running statistics)."""
    model.eval()
    right = 0
    with mg.no_grad():
        for i in range(0, len(labels), batch):
            logits = model(mg.tensor(images[i:i + batch])).numpy()
            right += int((logits.argmax(axis=1) == labels[i:i + batch]).sum())
    model.train()
    return right / len(labels)


def train_small_convnet(steps: int = 400, batch_size: int = 32, lr: float = 0.01,
                        channels=(8, 16), seed: int = 0, progress: bool = True,
                        snapshot_steps=SNAPSHOT_STEPS) -> dict:
    """Train :class:`SmallConvNet` with Adam on minibatches of the training digits.

    Returns ``model``, ``losses`` (the minibatch loss per step), ``snapshots`` ({step: the
    first layer's filters (c1, 5, 5)} at ``snapshot_steps`` up to ``steps``, and at
    ``steps``), ``test_acc`` before and after (``init_acc``), ``seconds`` and ``steps``.
    """
    from tqdm.auto import tqdm

    from minigrad.data import mnist_splits

    train = mnist_splits(seed=0).train
    test_x, test_y = digits("test")
    model = SmallConvNet(channels, seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    sampler = train.sampler(batch_size, seed=seed)
    keep = sorted({s for s in snapshot_steps if s <= steps} | {int(steps)})
    snapshots = {0: model.conv1.weight.numpy()[:, 0].copy()}
    init_acc = accuracy(model, test_x, test_y)
    losses = []
    t0 = time.perf_counter()
    bar = tqdm(range(1, int(steps) + 1), desc="training the small convnet", disable=not progress)
    with blas_threads(1):
        for step in bar:
            x, y = next(sampler)
            loss = mg.cross_entropy(model(mg.tensor(x.reshape(-1, 1, 28, 28))), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step in keep:
                snapshots[step] = model.conv1.weight.numpy()[:, 0].copy()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    bar.close()
    seconds = time.perf_counter() - t0
    return {"model": model, "losses": np.array(losses), "snapshots": snapshots,
            "init_acc": init_acc, "test_acc": accuracy(model, test_x, test_y),
            "seconds": seconds, "steps": int(steps), "channels": tuple(channels)}


def filter_contrast(filters) -> np.ndarray:
    """How much structure each 5x5 filter has: the spread of its entries relative to the
    largest, std / max|w| per filter (about 0.58 for uniform noise, lower when a few entries
    stand out, and the same for a filter at any scale)."""
    f = np.asarray(filters, dtype=np.float64).reshape(len(filters), -1)
    return f.std(axis=1) / np.abs(f).max(axis=1)


def neighbour_correlation(filters) -> float:
    """The mean correlation between horizontally and vertically neighbouring entries of the
    filters: about 0 for independent random entries, positive for smooth strokes and edges."""
    f = np.asarray(filters, dtype=np.float64)
    f = f - f.mean(axis=(1, 2), keepdims=True)
    pairs = [(f[:, :, :-1], f[:, :, 1:]), (f[:, :-1, :], f[:, 1:, :])]
    num = sum(float((a * b).sum()) for a, b in pairs)
    den = sum(float(np.sqrt((a * a).sum() * (b * b).sum())) for a, b in pairs)
    return num / den


def plot_training(run: dict):
    """The minibatch loss per step (and a moving average of 20)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.0))
    losses = run["losses"]
    ax.plot(np.arange(1, losses.size + 1), losses, color="tab:blue", alpha=0.3, lw=0.8,
            label="minibatch loss")
    if losses.size >= 20:
        avg = np.convolve(losses, np.ones(20) / 20, mode="valid")
        ax.plot(np.arange(20, losses.size + 1), avg, color="tab:blue", lw=2,
                label="moving average of 20")
    return finish(fig, ax, "step", "cross-entropy",
                  f"small convnet, Adam: test accuracy {100 * run['init_acc']:.0f}% -> "
                  f"{100 * run['test_acc']:.1f}%")


def _show_filters(axes, filters):
    for ax, f in zip(axes, filters):
        m = float(np.abs(f).max()) or 1.0
        ax.imshow(f, cmap="RdBu_r", vmin=-m, vmax=m)
        ax.set_xticks([])
        ax.set_yticks([])


def plot_filters(snapshots: dict, steps=None):
    """One row of first-layer filters per training step in ``steps`` (default: every
    snapshot); each filter in its own colour scale (red positive, blue negative)."""
    import matplotlib.pyplot as plt

    steps = sorted(snapshots) if steps is None else list(steps)
    n = len(snapshots[steps[0]])
    fig, axes = plt.subplots(len(steps), n, figsize=(1.1 * n + 1.2, 1.15 * len(steps) + 0.3),
                             squeeze=False)
    for row, step in zip(axes, steps):
        _show_filters(row, snapshots[step])
        row[0].set_ylabel(f"step {step}", rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("first-layer filters (5x5), each in its own colour scale", fontsize=10)
    fig.tight_layout()
    return fig


def feature_maps(filters, image) -> np.ndarray:
    """The first layer's raw responses (before batch norm) to one digit ``image`` (28, 28):
    ``conv2d`` with each filter, 'same' padding, shape (c1, 28, 28)."""
    x = mg.tensor(np.asarray(image, np.float32).reshape(1, 1, 28, 28))
    w = mg.tensor(np.asarray(filters, np.float32)[:, None])
    return mg.conv2d(x, w, padding=2).numpy()[0]


def filters_view(run: dict, step: int, digit: int, images) -> dict:
    """What the explorer shows: the filters at the snapshot ``step``, their responses to test
    digit ``digit`` and their structure measures."""
    filters = run["snapshots"][step]
    return {"step": step, "digit": digit, "image": images[digit, 0], "filters": filters,
            "maps": feature_maps(filters, images[digit, 0]),
            "smoothness": neighbour_correlation(filters)}


def plot_filters_view(view: dict):
    """The digit, then each filter above its response map (red: the filter matches there)."""
    import matplotlib.pyplot as plt

    n = len(view["filters"])
    fig, axes = plt.subplots(2, n + 1, figsize=(1.25 * (n + 1) + 0.5, 3.4))
    axes[0, 0].imshow(view["image"], cmap="gray_r")
    axes[0, 0].set_title("digit", fontsize=9)
    axes[1, 0].axis("off")
    _show_filters(axes[0, 1:], view["filters"])
    for ax, m in zip(axes[1, 1:], view["maps"]):
        lim = float(np.abs(m).max()) or 1.0
        ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_xticks([])
    axes[0, 0].set_yticks([])
    axes[0, 1].set_title("filters", fontsize=9, loc="left")
    axes[1, 1].set_title("their responses", fontsize=9, loc="left")
    fig.suptitle(f"after {view['step']} training steps", fontsize=10)
    fig.tight_layout()
    return fig


def make_filters_explorer(run: dict, images=None) -> Explorer:
    """A slider over the training steps with kept filters and one over test digits; shows the
    filters at that step and their responses to the digit. Controls ``"step"``
    (SelectionSlider) and ``"digit"`` (IntSlider); ``result`` is :func:`filters_view`'s."""
    import ipywidgets as widgets

    images = digits("test")[0] if images is None else images
    steps = sorted(run["snapshots"])
    controls = {
        "step": widgets.SelectionSlider(options=steps, value=steps[-1],
                                        description="step", continuous_update=False),
        "digit": widgets.IntSlider(value=0, min=0, max=min(len(images), 50) - 1,
                                   description="test digit", continuous_update=False),
    }

    def compute(step, digit):
        return filters_view(run, step, digit, images)

    def render(view):
        print(f"step {view['step']}: neighbouring filter entries correlate by "
              f"{view['smoothness']:+.2f} (0 for noise)")
        return plot_filters_view(view)

    return Explorer(controls, compute, render, title="First-layer filters over training")
