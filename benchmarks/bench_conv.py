"""Benchmark: a training step of the paper's small convnet, minigrad vs PyTorch CPU (not a test).

The network of the paper's CIFAR-10 experiment (the official code's ``cifar10`` problem): three
blocks of 3x3 convolution (16 channels, padding 1), batch normalisation, ReLU and 2x2 max
pooling, then a linear layer of 32 units, ReLU and a linear layer to 10 logits, with the
cross-entropy loss. One step is forward, backward and a plain SGD update, on a batch of 128
images (28x28 with 1 channel by default, like MNIST; ``--size 32 --channels 3`` for CIFAR's).

Both libraries do the same work in the same process: the same float32 weights (minigrad's,
loaded into ``torch.nn`` by name), the same batch, the same thread count (BLAS threads for
NumPy, ``torch.set_num_threads`` for PyTorch). The two steps alternate, repeat after repeat, so
that a change of the machine's load falls on both; each repeat gives a ratio, and the printed
ratio is their median. Time is this process's CPU time (``time.process_time``), which other
programs' load does not inflate; ``--wall`` measures wall-clock time instead.

    python benchmarks/bench_conv.py                  # one thread, 9 repeats
    python benchmarks/bench_conv.py --threads 2 --repeats 15 --profile
"""

from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--size", type=int, default=28, help="image height and width")
    ap.add_argument("--channels", type=int, default=1, help="input channels")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    ap.add_argument("--profile", action="store_true",
                    help="also print where minigrad's step spends its time (cProfile)")
    return ap.parse_args(argv)


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minigrad as mg  # noqa: E402
from minigrad import nn, optim  # noqa: E402

CONV_CHANNELS, HIDDEN, CLASSES = (16, 16, 16), 32, 10


class ConvNet(nn.Module):
    """(conv 3x3 - batch norm - ReLU - max pool 2x2) x 3, linear 32, ReLU, linear 10."""

    def __init__(self, in_channels, size, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.blocks = nn.ModuleList()
        for c in CONV_CHANNELS:
            self.blocks.append(nn.ModuleList([nn.Conv2d(in_channels, c, 3, padding=1, rng=rng),
                                              nn.BatchNorm2d(c), nn.MaxPool2d(2)]))
            in_channels, size = c, size // 2
        self.fc1 = nn.Linear(in_channels * size * size, HIDDEN, rng=rng)
        self.fc2 = nn.Linear(HIDDEN, CLASSES, rng=rng)

    def forward(self, x):
        for conv, bn, pool in self.blocks:
            x = pool(bn(conv(x)).relu())
        return self.fc2(self.fc1(x.reshape(x.shape[0], -1)).relu())


def torch_convnet(ours):
    """The same network in torch.nn, holding ``ours``'s weights (the names match)."""
    import torch

    layers = []
    for conv, _, _ in ours.blocks:
        layers.append(torch.nn.Sequential(
            torch.nn.Conv2d(conv.in_channels, conv.out_channels, 3, padding=1),
            torch.nn.BatchNorm2d(conv.out_channels), torch.nn.MaxPool2d(2)))

    class TorchConvNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList(layers)
            self.fc1 = torch.nn.Linear(ours.fc1.in_features, HIDDEN)
            self.fc2 = torch.nn.Linear(HIDDEN, CLASSES)

        def forward(self, x):
            for conv, bn, pool in self.blocks:
                x = pool(torch.relu(bn(conv(x))))
            return self.fc2(torch.relu(self.fc1(x.flatten(1))))

    net = TorchConvNet()
    # ModuleList names its three layers 0, 1, 2, as torch.nn.Sequential does.
    net.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return net


def make_batch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((ARGS.batch, ARGS.channels, ARGS.size, ARGS.size))
    return x.astype(np.float32), rng.integers(0, CLASSES, ARGS.batch)


def minigrad_step_fn(x, y):
    model = ConvNet(ARGS.channels, ARGS.size)
    opt = optim.SGD(model.parameters(), lr=ARGS.lr)
    xt = mg.tensor(x)

    def step():
        opt.zero_grad()
        loss = mg.cross_entropy(model(xt), y)
        loss.backward()
        opt.step()
        return loss.item()

    return model, step


def torch_step_fn(model, x, y):
    import torch

    torch.set_num_threads(ARGS.threads)
    net = torch_convnet(model)
    params = list(net.parameters())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        # torch.optim.SGD's step without momentum, written out: torch.optim imports
        # torch._dynamo, which needs sympy, not installed with the CPU wheel alone.
        net.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(xt), yt)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= ARGS.lr * p.grad
        return loss.item()

    return step


def timed(fn):
    clock = time.perf_counter if ARGS.wall else time.process_time
    t0 = clock()
    fn()
    return clock() - t0


def main():
    x, y = make_batch()
    model, ours = minigrad_step_fn(x, y)
    try:
        theirs = torch_step_fn(model, x, y)  # built before our first step: the same weights
    except ImportError:
        theirs = None
    first = ours(), theirs() if theirs else None  # also the warm-up
    print(f"numpy {np.__version__}, minigrad {mg.__version__}, {ARGS.threads} thread(s); "
          f"batch {ARGS.batch} of {ARGS.channels}x{ARGS.size}x{ARGS.size}; convnet "
          f"{CONV_CHANNELS} conv, {HIDDEN} hidden; forward + backward + SGD step")
    if theirs is None:
        print("PyTorch is not installed: minigrad alone (pip install -e \".[bench]\")")
    else:
        import torch

        print(f"torch {torch.__version__}; first-step losses: minigrad {first[0]:.6f}, "
              f"PyTorch {first[1]:.6f}")
    ours_t, theirs_t = [], []
    for _ in range(ARGS.repeats):
        ours_t.append(timed(ours))
        if theirs:
            theirs_t.append(timed(theirs))
    clock = "wall-clock" if ARGS.wall else "CPU"
    print(f"median {clock} time of {ARGS.repeats} steps:")
    print(f"  minigrad {statistics.median(ours_t) * 1e3:8.1f} ms")
    if theirs:
        print(f"  PyTorch  {statistics.median(theirs_t) * 1e3:8.1f} ms")
        ratios = [a / b for a, b in zip(ours_t, theirs_t)]
        print(f"  minigrad / PyTorch: {statistics.median(ratios):.2f}x (median of the "
              f"{ARGS.repeats} paired ratios; range {min(ratios):.2f}-{max(ratios):.2f})")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if ARGS.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(lambda: [ours() for _ in range(3)])
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
