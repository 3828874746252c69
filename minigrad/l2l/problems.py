"""Optimizee problems, written functionally so theta can be a graph tensor.

A *problem* is a family of functions; ``problem.sample(seed)`` draws one *instance* from it
(fresh data / W, y, and a fresh initial theta), the way each meta-training horizon starts
from a fresh problem. An instance offers

* ``init_params() -> list[array]``: the initial optimizee arrays theta_0 (fresh copies);
* ``loss(params, step) -> Tensor``: the scalar loss at optimizee step ``step`` for the given
  arrays (Tensors, possibly functions of the optimizer's weights phi);
* ``loss_and_runs(params, step) -> (Tensor, array)``: the same loss and, for reports, the
  loss of each independent run it contains, shape (R,). ``sample`` gives one run except for
  the quadratic, where every one of the B functions in the batch is a run (their loss
  ||W_b theta_b - y_b||^2 each). ``sample_runs(seeds)`` may stack several instances into one:
  the quadratic does, because every optimizer here acts coordinatewise, so optimizing a sum of
  independent problems is exactly optimizing each on its own.

Families
--------
:class:`QuadraticProblem`
    ``f(theta) = sum_b ||W_b theta_b - y_b||^2`` over a batch of B = 128 functions of
    dimension 10 (paper: W, y with IID N(0, 1) entries, the batch SUMMED). The official code's
    variant (``variant="official"``): W, y ~ U[0, 1) and the batch MEAN (so each function's
    gradient carries 1/B). theta_0 ~ N(0, 0.01^2) in both (the paper does not say; this is the
    official code's choice).
:class:`MnistProblem`
    An MLP 784 -> H1 -> ... -> 10 (sigmoid or relu hidden units), mean cross-entropy on a
    minibatch of 128 digits drawn WITH replacement, a new minibatch at every step (seeded by
    the instance seed and the step, so every optimizer sees the same batches). Weights and
    biases ~ N(0, 0.01^2). ``split`` picks the digits: ``train`` for meta-training, ``val``
    for tuning, ``test`` (held-out digits) for reported results. ``train_pool = N`` gives
    each TRAINING problem its own N digits, drawn without replacement from the training split
    by the instance seed (validation and test problems keep their whole split): with the
    default splits a validation or test net fits 1,000 digits, a training net 3,000, and 100
    steps take a net on 1,000 digits much further (a final loss several times lower), so a
    pool of 1,000 trains the optimizer on the regime it is judged in. ``param_scale = L``
    (Lv et al. 2017, "Learning Gradient Descent: Better Generalization and Longer Horizons")
    gives each TRAINING problem a random scale per weight, c = exp(u), u ~ U(-L, L): the
    optimizer steps theta while the net computes with w = c * theta, from theta_0 = w_0 / c
    (the same net at the start). The gradient it sees is c * dL/dw and its step moves w by
    c * delta, so the curvature along each coordinate is multiplied by c^2: one optimizer has
    to do well on many differently scaled versions of the same net.
:class:`ConvNetProblem`
    The paper's small convnet (its CIFAR experiment; the official code's ``cifar10`` problem)
    on ``mnist`` (the shipped digits), ``fashion-mnist`` or ``cifar10`` images, with the same
    train / validation / test discipline as MNIST. Its parameters come in two kinds, ``conv``
    and ``fc``, for an optimizer with one LSTM per kind (:mod:`minigrad.l2l.grouped`).
:class:`SquareProblem`
    ``f(x) = x^2`` from x = 1: the official code's sanity check.

Seeds are ints or tuples of ints; ``numpy.random.default_rng`` makes every draw from them,
so an instance is a pure function of (problem configuration, seed). Draws happen on the CPU;
an instance's arrays then live on the default device (NumPy, or CuPy with
``MINIGRAD_BACKEND=cupy``), so the same seed gives the same problem on either.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np

from .. import ops
from ..backend import as_dtype, default_device, get_default_dtype, to_device
from ..tensor import Tensor
from .paper import PAPER

__all__ = [
    "CONVNET_DATASETS", "ConvNetProblem", "MnistProblem", "OPTIMIZEE_HELP", "PROBLEMS",
    "QuadraticProblem", "SquareProblem", "make_problem", "parse_optimizee",
]

PROBLEMS = ("quadratic", "mnist", "square", "convnet")
OPTIMIZEE_HELP = ("sigmoid-20 (the paper's), sigmoid-40, sigmoid-20x2 (two hidden layers of 20), "
                  "relu-20; in general ACT-W (one hidden layer of W units), ACT-WxL (L layers "
                  "of W) or ACT-W1-W2-... (explicit widths), ACT in {sigmoid, relu}")
_TAG_INIT, _TAG_BATCH, _TAG_POOL, _TAG_SCALE = 1, 2, 3, 4


def _entropy(seed) -> list[int]:
    """A seed (int or tuple of ints) as a list of non-negative ints for SeedSequence."""
    if isinstance(seed, (int, np.integer)):
        seed = (seed,)
    out = [int(s) for s in seed]
    if not out or any(s < 0 for s in out):
        raise ValueError(f"seed must be a non-negative int or tuple of them, got {seed!r}")
    return out


def np_prod(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _rng(seed, *tags) -> np.random.Generator:
    return np.random.default_rng(_entropy(seed) + [int(t) for t in tags])


# ----------------------------------------------------------------------------- quadratic ---
class QuadraticProblem:
    """The paper's quadratic family (see the module docstring)."""

    name = "quadratic"
    VARIANTS = ("paper", "official")

    def __init__(self, dim: int = PAPER.quadratic_dim, batch: int = PAPER.quadratic_batch,
                 variant: str = "paper", init_std: float = PAPER.init_std, dtype=None):
        if variant not in self.VARIANTS:
            raise ValueError(f"quadratic: unknown variant {variant!r}; expected one of "
                             f"{', '.join(self.VARIANTS)}")
        if dim < 1 or batch < 1:
            raise ValueError(f"quadratic: dim and batch must be >= 1, got {dim}, {batch}")
        self.dim, self.batch, self.variant = int(dim), int(batch), variant
        self.init_std = float(init_std)
        self.dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()

    @property
    def runs_per_sample(self) -> int:
        """Each function of the batch is one run in reports."""
        return self.batch

    @property
    def reduction(self) -> str:
        return "sum" if self.variant == "paper" else "mean"

    def _draw(self, seed):
        rng = _rng(seed, _TAG_INIT)
        d, b = self.dim, self.batch
        if self.variant == "paper":
            w = rng.standard_normal((b, d, d))
            y = rng.standard_normal((b, d))
        else:
            w = rng.random((b, d, d))
            y = rng.random((b, d))
        theta = rng.normal(0.0, self.init_std, (b, d))
        return w, y, theta

    def sample(self, seed) -> QuadraticInstance:
        """One instance: B functions, theta of shape (B, dim)."""
        w, y, theta = self._draw(seed)
        return QuadraticInstance(w, y, theta, self.reduction, self.dtype, stacked=False)

    def sample_runs(self, seeds) -> list:
        """Independent instances for the given seeds, stacked into ONE instance (theta of shape
        (S, B, dim) for S seeds, S * B runs); part s equals ``sample(seeds[s])`` exactly."""
        draws = [self._draw(s) for s in seeds]
        w, y, theta = (np.stack(parts) for parts in zip(*draws))
        return [QuadraticInstance(w, y, theta, self.reduction, self.dtype, stacked=True)]

    def config(self) -> dict:
        return {"name": self.name, "dim": self.dim, "batch": self.batch,
                "variant": self.variant, "init_std": self.init_std}

    def describe(self) -> str:
        return f"{self.batch} x {self.dim}-dim quadratics ({self.variant} variant)"


class QuadraticInstance:
    """``sum over runs of [sum or mean over b] ||W_b theta_b - y_b||^2``."""

    def __init__(self, w, y, theta0, reduction, dtype, stacked):
        device = default_device()
        self.w = to_device(np.asarray(w, dtype=dtype), device)
        self.y = to_device(np.asarray(y, dtype=dtype)[..., None], device)  # (..., d, 1)
        self.theta0 = to_device(np.asarray(theta0, dtype=dtype), device)
        self.reduction = reduction
        self.stacked = stacked
        self.num_runs = int(np_prod(self.w.shape[:-2]))

    def init_params(self) -> list:
        return [self.theta0.copy()]

    def _per_function(self, theta):
        r = ops.matmul(self.w, ops.reshape(theta, theta.shape + (1,))) - self.y  # (..., B, d, 1)
        return ops.sum(r * r, axis=(-2, -1))                                    # (..., B)

    def _reduce(self, per_fn):
        per_batch = ops.sum(per_fn, axis=-1) if self.reduction == "sum" else ops.mean(per_fn, -1)
        return ops.sum(per_batch) if self.stacked else per_batch

    def loss(self, params, step=0) -> Tensor:
        per_fn = self._per_function(params[0])
        return self._reduce(per_fn)

    def loss_and_runs(self, params, step=0):
        """The loss and each function's own ||W_b theta_b - y_b||^2 (runs = functions)."""
        per_fn = self._per_function(params[0])
        return self._reduce(per_fn), per_fn.data.reshape(-1)

    def grad_arrays(self, theta):
        """The analytic gradient 2 W^T (W theta - y) (times 1/B for the mean), for checks."""
        r = self.w @ theta[..., None] - self.y
        g = 2.0 * self.w.swapaxes(-1, -2) @ r
        if self.reduction == "mean":
            g = g / self.w.shape[-3]
        return g[..., 0]


# --------------------------------------------------------------------------------- square ---
class SquareProblem:
    """``f(x) = x^2`` from ``x_0 = 1`` (a scalar): the official code's sanity problem."""

    name = "square"
    runs_per_sample = 1

    def __init__(self, x0: float = 1.0, dtype=None):
        self.x0 = float(x0)
        self.dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()

    def sample(self, seed=0) -> SquareInstance:
        return SquareInstance(self.x0, self.dtype)

    def sample_runs(self, seeds) -> list:
        return [self.sample(s) for s in seeds]

    def config(self) -> dict:
        return {"name": self.name, "x0": self.x0}

    def describe(self) -> str:
        return f"f(x) = x^2 from x = {self.x0:g}"


class SquareInstance:
    num_runs = 1

    def __init__(self, x0, dtype):
        self.x0 = to_device(np.asarray(x0, dtype=dtype), default_device())

    def init_params(self) -> list:
        return [self.x0.copy()]

    def loss_and_runs(self, params, step=0):
        loss = self.loss(params, step)
        return loss, loss.data.reshape(1)

    def loss(self, params, step=0) -> Tensor:
        (x,) = params
        return x * x


# ---------------------------------------------------------------------------------- MNIST ---
_OPTIMIZEE_RE = re.compile(r"^(sigmoid|relu)-(\d+)(?:x(\d+)|((?:-\d+)*))$")


def parse_optimizee(spec: str) -> tuple[str, tuple[int, ...]]:
    """``"sigmoid-20"`` -> ("sigmoid", (20,)); ``"sigmoid-20x2"`` -> ("sigmoid", (20, 20));
    ``"relu-40-20"`` -> ("relu", (40, 20)). See :data:`OPTIMIZEE_HELP`."""
    m = _OPTIMIZEE_RE.match(str(spec).strip().lower())
    if not m:
        raise ValueError(f"unknown optimizee {spec!r}; expected {OPTIMIZEE_HELP}")
    act, first, layers, rest = m.groups()
    if layers is not None:
        widths = [int(first)] * int(layers)
    else:
        widths = [int(first)] + [int(w) for w in rest.split("-") if w]
    if not widths or any(w < 1 for w in widths):
        raise ValueError(f"optimizee {spec!r}: needs at least one hidden layer of >= 1 unit")
    return act, tuple(widths)


@functools.lru_cache(maxsize=4)
def _splits(data_seed: int, dtype_name: str):
    from ..data import mnist_splits

    return mnist_splits(seed=data_seed, dtype=dtype_name)


@functools.lru_cache(maxsize=8)
def _split_on_device(data_seed: int, dtype_name: str, split: str, device: str):
    part = getattr(_splits(data_seed, dtype_name), split)
    return to_device(part.images, device), to_device(part.labels, device)


class MnistProblem:
    """The MNIST MLP family (see the module docstring)."""

    name = "mnist"
    SPLITS = ("train", "val", "test")
    runs_per_sample = 1

    def __init__(self, optimizee: str = PAPER.mnist_optimizee, split: str = "train",
                 batch_size: int = PAPER.batch_size, init_std: float = PAPER.init_std,
                 data_seed: int = 0, train_pool: int | None = None,
                 param_scale: float | None = None, dtype=None):
        self.activation, self.hidden = parse_optimizee(optimizee)
        if split not in self.SPLITS:
            raise ValueError(f"mnist: unknown split {split!r}; expected one of "
                             f"{', '.join(self.SPLITS)}")
        if train_pool is not None and int(train_pool) < 1:
            raise ValueError(f"mnist: train_pool must be a number of digits >= 1, got "
                             f"{train_pool}")
        self.train_pool = None if train_pool is None else int(train_pool)
        if param_scale is not None and not 0 < float(param_scale) <= 10:
            raise ValueError(f"mnist: param_scale is the spread L of the scales exp(U(-L, L)), "
                             f"a number in (0, 10]; got {param_scale}")
        self.param_scale = None if param_scale is None else float(param_scale)
        self.optimizee = optimizee
        self.split = split
        self.batch_size = int(batch_size)
        self.init_std = float(init_std)
        self.data_seed = int(data_seed)
        self.dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        self.sizes = (784,) + self.hidden + (10,)

    def data(self):
        """(images, labels) of this problem's split (float images in [0, 1]), on the default
        device."""
        return _split_on_device(self.data_seed, self.dtype.name, self.split, default_device())

    def sample(self, seed) -> MnistInstance:
        rng = _rng(seed, _TAG_INIT)
        params = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            for shape in ((fan_in, fan_out), (fan_out,)):
                p = rng.normal(0.0, self.init_std, shape).astype(self.dtype)
                params.append(to_device(p, default_device()))
        images, labels = self.data()
        if self.train_pool is not None and self.split == "train":
            if self.train_pool > len(labels):
                raise ValueError(f"mnist: train_pool {self.train_pool} is larger than the "
                                 f"training split ({len(labels)} digits)")
            pool = _rng(seed, _TAG_POOL).choice(len(labels), self.train_pool, replace=False)
            pool = to_device(pool, default_device())
            images, labels = images[pool], labels[pool]
        scales = None
        if self.param_scale is not None and self.split == "train":
            scale_rng = _rng(seed, _TAG_SCALE)
            scales = [to_device(np.exp(scale_rng.uniform(-self.param_scale, self.param_scale,
                                                          p.shape)).astype(self.dtype),
                                default_device()) for p in params]
            params = [p / c for p, c in zip(params, scales)]
        return MnistInstance(params, images, labels, self.activation, self.batch_size, seed,
                             scales)

    def sample_runs(self, seeds) -> list:
        return [self.sample(s) for s in seeds]

    def config(self) -> dict:
        config = {"name": self.name, "optimizee": self.optimizee,
                  "batch_size": self.batch_size, "init_std": self.init_std,
                  "data_seed": self.data_seed}
        if self.train_pool is not None:
            config["train_pool"] = self.train_pool
        if self.param_scale is not None:
            config["param_scale"] = self.param_scale
        return config

    def describe(self) -> str:
        arch = "-".join(str(s) for s in self.sizes)
        pool = (f" ({self.train_pool} per problem)"
                if self.train_pool is not None and self.split == "train" else "")
        if self.param_scale is not None and self.split == "train":
            pool += f", weights randomly scaled by exp(U(-{self.param_scale:g}, "
            pool += f"{self.param_scale:g}))"
        return f"MNIST MLP {arch} ({self.activation}), {self.split} digits{pool}"


class MnistInstance:
    """One MLP with its initial weights; minibatch ``step`` is a pure function of the seed.
    With ``scales`` (one array per parameter) the net computes with ``scales[k] * params[k]``
    (``MnistProblem``'s ``param_scale``)."""

    num_runs = 1

    def __init__(self, params, images, labels, activation, batch_size, seed, scales=None):
        self.params0 = params
        self.scales = scales
        self.images, self.labels = images, labels
        self.device = default_device()
        self.act = ops.sigmoid if activation == "sigmoid" else ops.relu
        self.batch_size = batch_size
        self.seed = seed
        self._cache = (None, None)

    def init_params(self) -> list:
        return [p.copy() for p in self.params0]

    def batch(self, step: int):
        """The minibatch (x, y) at optimizee step ``step`` (drawn with replacement)."""
        if self._cache[0] != step:
            idx = _rng(self.seed, _TAG_BATCH, step).integers(0, len(self.labels), self.batch_size)
            idx = to_device(idx, self.device)
            self._cache = (step, (self.images[idx], self.labels[idx]))
        return self._cache[1]

    def loss(self, params, step=0) -> Tensor:
        """The mean cross-entropy on minibatch ``step``: what the optimizee steps on."""
        return self._cross_entropy(params, *self.batch(step))

    def pool_loss(self, params) -> Tensor:
        """The mean cross-entropy on every digit the net fits (its pool): what a minibatch loss
        estimates, without the minibatch's noise (``MetaConfig.meta_data="pool"``)."""
        return self._cross_entropy(params, self.images, self.labels)

    def tilted_loss(self, params, step=0, tilt: float = 1.0, pool: bool = False) -> Tensor:
        """The tilted cross-entropy (Li et al. 2021, "Tilted Empirical Risk Minimization") on
        minibatch ``step`` (or with ``pool`` the whole pool), for ``MetaConfig.meta_tilt``:

            (1 / tau) log( (1/n) sum_i exp(tau * l_i) ),   l_i the cross-entropy of digit i.

        tau -> 0 gives the mean; a larger tau weighs each digit by exp(tau * l_i), so the
        digits the net still gets wrong count more (the gradient is the softmax(tau * l) mix of
        the digits' gradients). Computed as m + (1/tau) log mean exp(tau (l_i - m)), m = max l_i.
        """
        x, y = (self.images, self.labels) if pool else self.batch(step)
        logp = ops.log_softmax(self._logits(params, x), axis=1)
        per_digit = -logp[logp.xp.arange(len(y)), y]
        m = float(per_digit.data.max())
        return ops.log(ops.mean(ops.exp((per_digit - m) * tilt))) * (1.0 / tilt) + m

    def _logits(self, params, x) -> Tensor:
        if self.scales is not None:
            params = [p * c for p, c in zip(params, self.scales)]
        h = Tensor.from_array(x)
        n_layers = len(params) // 2
        for k in range(n_layers):
            h = ops.matmul(h, params[2 * k]) + params[2 * k + 1]
            if k < n_layers - 1:
                h = self.act(h)
        return h

    def _cross_entropy(self, params, x, y) -> Tensor:
        return ops.cross_entropy(self._logits(params, x), y)

    def loss_and_runs(self, params, step=0):
        loss = self.loss(params, step)
        return loss, loss.data.reshape(1)

    def param_kinds(self) -> list:
        """Every array of an MLP is fully connected (kind ``fc``), so an optimizer with one LSTM
        per kind steps them all with its ``fc`` LSTM (:mod:`minigrad.l2l.grouped`)."""
        return ["fc"] * len(self.params0)


# -------------------------------------------------------------------------------- convnet ---
CONVNET_DATASETS = ("mnist", "fashion-mnist", "cifar10")
#: Batch normalisation's epsilon: Sonnet's default (the official code's networks), not
#: PyTorch's 1e-5.
CONVNET_BN_EPS = 1e-3
_IMAGE_SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def _load_cifar10():
    try:
        from ..data.cifar10 import load_cifar10
    except ImportError as exc:
        raise ValueError(f"convnet: the cifar10 data set needs minigrad.data.cifar10 "
                         f"(load_cifar10), which this installation lacks ({exc})") from None
    return load_cifar10()


@functools.lru_cache(maxsize=2)
def _convnet_data(dataset: str, data_seed: int) -> dict:
    """``{split: (uint8 images (n, C, H, W), int64 labels (n,))}`` on the CPU.

    * ``mnist``: the 5,000 shipped digits, split 3,000 / 1,000 / 1,000 as for the MLP
      (:func:`~minigrad.data.mnist_splits`);
    * ``fashion-mnist``: the official training file less a stratified, seeded validation
      sample of 10,000, and the official test file (:func:`~minigrad.data.idx_splits`);
    * ``cifar10``: the same for CIFAR-10's 50,000 training and 10,000 test images
      (``minigrad.data.cifar10.load_cifar10``: ``$MINIGRAD_CIFAR10`` or the data folder).
    """
    from ..data import idx_splits, mnist_splits, stratified_indices

    if dataset == "mnist":
        splits = mnist_splits(seed=data_seed, normalize=None)
    elif dataset == "fashion-mnist":
        splits = idx_splits("fashion-mnist", val_size=10000, seed=data_seed, normalize=None)
    else:
        train_x, train_y, test_x, test_y = _load_cifar10()
        train_y, test_y = np.asarray(train_y, np.int64), np.asarray(test_y, np.int64)
        tr, va = stratified_indices(train_y, (len(train_y) - 10000, 10000), data_seed)
        parts = {"train": (train_x[tr], train_y[tr]), "val": (train_x[va], train_y[va]),
                 "test": (test_x, test_y)}
        return {k: (np.ascontiguousarray(x.reshape((-1,) + _IMAGE_SHAPES[dataset])), y)
                for k, (x, y) in parts.items()}
    shape = _IMAGE_SHAPES[dataset]
    return {name: (np.ascontiguousarray(part.images.reshape((-1,) + shape)),
                   part.labels.astype(np.int64))
            for name, part in zip(("train", "val", "test"), splits)}


@functools.lru_cache(maxsize=6)
def _convnet_split_on_device(dataset: str, data_seed: int, split: str, device: str,
                             classes: tuple | None = None):
    """The split on ``device``; with ``classes``, only their images, labelled 0..n-1 in the
    order of ``classes``."""
    images, labels = _convnet_data(dataset, data_seed)[split]
    if classes is not None:
        keep = np.isin(labels, classes)
        relabel = np.full(10, -1, dtype=np.int64)
        relabel[list(classes)] = np.arange(len(classes))
        images, labels = np.ascontiguousarray(images[keep]), relabel[labels[keep]]
    return to_device(images, device), to_device(labels, device)


def parse_classes(values) -> tuple | None:
    """A subset of the ten classes: ``None`` (all of them), a sequence of class ids, or text
    such as ``"0-4"`` or ``"0,2,4"``; returns the sorted ids as a tuple (None for all ten).
    ValueError for an id outside 0..9, a repeat, or fewer than two classes."""
    if values is None:
        return None
    if isinstance(values, str):
        ids = []
        for part in values.split(","):
            first, _, last = part.strip().partition("-")
            try:
                ids += list(range(int(first), int(last) + 1)) if last else [int(first)]
            except ValueError:
                raise ValueError(f"convnet: classes must be ids 0-9 such as '0-4' or "
                                 f"'0,2,4', got {values!r}") from None
        values = ids
    ids = [int(v) for v in values]
    if len(set(ids)) != len(ids) or len(ids) < 2 or not all(0 <= v <= 9 for v in ids):
        raise ValueError(f"convnet: classes must be two or more different ids in 0..9, got "
                         f"{values!r}")
    ids = tuple(sorted(ids))
    return None if ids == tuple(range(10)) else ids


def _int_tuple(values, what: str, minimum: int) -> tuple:
    if isinstance(values, (int, np.integer)):
        values = (values,)
    out = tuple(int(v) for v in values)
    if any(v < minimum for v in out):
        raise ValueError(f"convnet: {what} must be >= {minimum}, got {out}")
    return out


class ConvNetProblem:
    """The paper's small convnet (its CIFAR experiment), as the official code's ``cifar10``
    problem builds it (Sonnet's ``ConvNet2D`` and ``MLP``)::

        per conv layer i:  conv k x k, stride 1, "same" padding (+ bias)
                           -> batch norm (offset beta only) -> ReLU -> max pool 2x2, stride 2
        flatten -> per hidden linear layer: linear (+ bias) -> batch norm (beta) -> ReLU
                -> linear to 10 classes -> mean cross-entropy on the minibatch

    Defaults: conv channels (16, 16, 16), kernel 5, linear layers (32,), batch norm on, batch
    128 (the official code's). A new minibatch at every step, drawn WITH replacement from the
    split by (instance seed, step), as for the MNIST MLP; images are ``p / 255`` (the official
    code's scaling, no mean subtraction). Every weight and bias ~ N(0, 0.01^2) (the official
    code's initialiser for the convnet, as for the MLP); every beta starts at 0.

    Choices the paper leaves open, and how they are made here:

    * **Batch norm has no scale gamma** (Sonnet's default, ``scale=False``), eps 1e-3
      (Sonnet's, :data:`CONVNET_BN_EPS`). The conv biases stay as in the official code,
      although batch norm subtracts them out again (their gradient is zero up to rounding).
    * **The optimizee is always in training mode**: every loss, in meta-training and in
      evaluation alike, normalises with the statistics of its own minibatch (as the official
      code's network does during its 100 steps). No running statistics are kept, so a loss is
      a pure function of (theta, seed, step), like the MLP's; the reported loss is that
      minibatch loss.
    * **Pooling**: "same" pooling as in TensorFlow (a map of odd size gets one more row or
      column of output: 7 -> 4 on 28 x 28 images). After the ReLU every entry is >= 0, so the
      zero padding added at the bottom and right never changes a maximum.
    * **Parameter kinds** (for one LSTM per kind): ``conv`` holds the convolution kernels
      only; ``fc`` everything else, the conv biases and every beta included: the official
      code's assignment (``conv_vars`` / ``fc_vars`` of its ``cifar`` configuration).
    * **Splits**: ``train`` for meta-training, ``val`` for tuning, ``test`` for reported
      results. MNIST: the shipped digits (3,000 / 1,000 / 1,000); Fashion-MNIST and CIFAR-10:
      10,000 stratified images of the official training file for ``val`` (seed
      ``data_seed``), the rest for ``train``, the official test file for ``test``.
    * Linear weights are (fan_in, fan_out) as in :class:`MnistProblem`; conv kernels are
      (out, in, k, k) in PyTorch's layout, and the flattening is channel-first (NCHW), a
      permutation of the official NHWC one.
    * **A subset of the classes** (``classes``, e.g. ``(0, 1, 2, 3, 4)``; the paper's
      LSTM-sub is trained on some classes and tested on others): each split keeps only the
      images of those classes, labelled 0..n-1 in their order, and the output layer has n
      units. None: all ten.
    """

    name = "convnet"
    SPLITS = ("train", "val", "test")
    runs_per_sample = 1

    def __init__(self, dataset: str = "mnist", split: str = "train",
                 conv_channels=(16, 16, 16), linear=(32,), batch_norm: bool = True,
                 kernel_size: int = 5, batch_size: int = PAPER.batch_size,
                 init_std: float = PAPER.init_std, data_seed: int = 0, classes=None,
                 dtype=None):
        if dataset not in CONVNET_DATASETS:
            raise ValueError(f"convnet: unknown dataset {dataset!r}; expected one of "
                             f"{', '.join(CONVNET_DATASETS)}")
        if split not in self.SPLITS:
            raise ValueError(f"convnet: unknown split {split!r}; expected one of "
                             f"{', '.join(self.SPLITS)}")
        self.conv_channels = _int_tuple(conv_channels, "conv_channels", 1)
        self.linear = _int_tuple(linear, "linear", 1)
        if not self.conv_channels:
            raise ValueError("convnet: needs at least one convolutional layer")
        self.kernel_size = int(kernel_size)
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"convnet: kernel_size must be odd and >= 1 (\"same\" padding), "
                             f"got {kernel_size}")
        self.batch_norm = bool(batch_norm)
        self.batch_size = int(batch_size)
        if self.batch_size < (2 if self.batch_norm else 1):
            raise ValueError(f"convnet: batch_size must be >= 2 with batch norm (>= 1 "
                             f"without), got {batch_size}")
        self.dataset, self.split = dataset, split
        self.classes = parse_classes(classes)
        self.num_classes = 10 if self.classes is None else len(self.classes)
        self.init_std = float(init_std)
        self.data_seed = int(data_seed)
        self.dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        self.image_shape = _IMAGE_SHAPES[dataset]
        self.shapes, self.names, self.kinds = self._layout()
        self.data()  # load (and check) the data now: a missing data set is an early error

    def _layout(self):
        """``(shapes, names, kinds)`` of the parameter arrays, in the order of ``params``."""
        shapes, names, kinds = [], [], []

        def add(name, shape, kind):
            names.append(name)
            shapes.append(tuple(int(d) for d in shape))
            kinds.append(kind)

        c, h, w = self.image_shape
        k = self.kernel_size
        for i, out in enumerate(self.conv_channels, start=1):
            add(f"conv{i}.weight", (out, c, k, k), "conv")
            add(f"conv{i}.bias", (out,), "fc")
            if self.batch_norm:
                add(f"conv{i}.bn.bias", (out,), "fc")
            c, h, w = out, -(-h // 2), -(-w // 2)
        fan_in = c * h * w
        widths = self.linear + (self.num_classes,)
        for j, out in enumerate(widths, start=1):
            add(f"fc{j}.weight", (fan_in, out), "fc")
            add(f"fc{j}.bias", (out,), "fc")
            if self.batch_norm and j < len(widths):
                add(f"fc{j}.bn.bias", (out,), "fc")
            fan_in = out
        return shapes, names, kinds

    def param_groups(self) -> dict:
        """``{kind: [parameter names]}``: which arrays each kind holds."""
        out: dict = {}
        for name, kind in zip(self.names, self.kinds):
            out.setdefault(kind, []).append(name)
        return out

    def data(self):
        """(uint8 images (n, C, H, W), labels) of this problem's split, on the default device."""
        return _convnet_split_on_device(self.dataset, self.data_seed, self.split,
                                        default_device(), self.classes)

    def sample(self, seed) -> ConvNetInstance:
        rng = _rng(seed, _TAG_INIT)
        params = []
        for name, shape in zip(self.names, self.shapes):
            if ".bn." in name:
                p = np.zeros(shape, dtype=self.dtype)
            else:
                p = rng.normal(0.0, self.init_std, shape).astype(self.dtype)
            params.append(to_device(p, default_device()))
        images, labels = self.data()
        return ConvNetInstance(self, params, images, labels, seed)

    def sample_runs(self, seeds) -> list:
        return [self.sample(s) for s in seeds]

    def config(self) -> dict:
        return {"name": self.name, "dataset": self.dataset,
                "conv_channels": list(self.conv_channels), "linear": list(self.linear),
                "batch_norm": self.batch_norm, "kernel_size": self.kernel_size,
                "batch_size": self.batch_size, "init_std": self.init_std,
                "data_seed": self.data_seed,
                "classes": None if self.classes is None else list(self.classes)}

    def describe(self) -> str:
        conv = "-".join(str(c) for c in self.conv_channels)
        fc = "-".join(str(w) for w in self.linear + (self.num_classes,))
        bn = "batch norm" if self.batch_norm else "no batch norm"
        subset = ("" if self.classes is None else
                  f" of classes {','.join(str(c) for c in self.classes)}")
        return (f"convnet (conv {conv}, {self.kernel_size}x{self.kernel_size}; fc {fc}; {bn}) "
                f"on {self.dataset}, {self.split} images{subset}")


class ConvNetInstance:
    """One convnet with its initial weights; minibatch ``step`` is a pure function of the seed.
    The loss reads the parameters as a list of arrays (views of the flat theta), in the
    problem's order; batch norm always uses the minibatch's statistics (training mode)."""

    num_runs = 1

    def __init__(self, problem: ConvNetProblem, params, images, labels, seed):
        self.problem = problem
        self.params0 = params
        self.images, self.labels = images, labels
        self.device = default_device()
        self.seed = seed
        self._cache = (None, None)

    def init_params(self) -> list:
        return [p.copy() for p in self.params0]

    def param_kinds(self) -> list:
        """``conv`` or ``fc`` for each array (see :class:`ConvNetProblem`)."""
        return list(self.problem.kinds)

    def batch(self, step: int):
        """The minibatch (x (B, C, H, W) floats in [0, 1], y) at optimizee step ``step``."""
        if self._cache[0] != step:
            n = len(self.labels)
            idx = _rng(self.seed, _TAG_BATCH, step).integers(0, n, self.problem.batch_size)
            idx = to_device(idx, self.device)
            dtype = self.problem.dtype
            x = self.images[idx].astype(dtype) / dtype.type(255)
            self._cache = (step, (x, self.labels[idx]))
        return self._cache[1]

    def loss(self, params, step=0) -> Tensor:
        prob = self.problem
        x, y = self.batch(step)
        h = Tensor.from_array(x)
        it = iter(p if isinstance(p, Tensor) else Tensor.from_array(p) for p in params)
        for _ in prob.conv_channels:
            w, b = next(it), next(it)
            h = ops.conv2d(h, w, b, padding=prob.kernel_size // 2)
            if prob.batch_norm:
                h = ops.batch_norm(h, bias=next(it), training=True, eps=CONVNET_BN_EPS)
            h = _max_pool_same(ops.relu(h))
        h = ops.reshape(h, (h.shape[0], -1))
        hidden = len(prob.linear)
        for j in range(hidden + 1):
            w, b = next(it), next(it)
            h = ops.matmul(h, w) + b
            if j < hidden:
                if prob.batch_norm:
                    h = ops.batch_norm(h, bias=next(it), training=True, eps=CONVNET_BN_EPS)
                h = ops.relu(h)
        return ops.cross_entropy(h, y)

    def loss_and_runs(self, params, step=0):
        loss = self.loss(params, step)
        return loss, loss.data.reshape(1)


def _max_pool_same(h):
    """2 x 2 max pooling, stride 2, with TensorFlow's "same" padding: an odd height or width
    gets a zero row or column at the bottom or right first (``h`` >= 0 after the ReLU, so a
    maximum never changes)."""
    n, c, height, width = h.shape
    if height % 2:
        h = ops.concatenate([h, Tensor.from_array(h.xp.zeros((n, c, 1, width), h.dtype))], 2)
        height += 1
    if width % 2:
        h = ops.concatenate([h, Tensor.from_array(h.xp.zeros((n, c, height, 1), h.dtype))],
                            3)
    return ops.max_pool2d(h, 2)


# ------------------------------------------------------------------------------- registry ---
def make_problem(name: str, optimizee: str | None = None, *, split: str = "train",
                 variant: str = "paper", dtype=None, **kwargs):
    """Build a problem family by name: ``quadratic``, ``mnist``, ``square`` or ``convnet``.

    ``optimizee`` applies to MNIST only (default ``sigmoid-20``); ``variant`` to the quadratic;
    ``split`` to MNIST and the convnet (``train``/``val``/``test``; the quadratic draws its
    val/test problems from different seeds instead). Extra keyword arguments go to the
    problem's constructor.
    """
    if name == "quadratic":
        if optimizee not in (None, "", "quadratic"):
            raise ValueError(f"the quadratic problem has no optimizee choice (got {optimizee!r})")
        return QuadraticProblem(variant=variant, dtype=dtype, **kwargs)
    if name == "mnist":
        return MnistProblem(optimizee or PAPER.mnist_optimizee, split=split, dtype=dtype, **kwargs)
    if name == "square":
        return SquareProblem(dtype=dtype, **kwargs)
    if name == "convnet":
        if optimizee not in (None, "", "convnet"):
            raise ValueError(f"the convnet problem has no optimizee choice (got {optimizee!r}); "
                             "its settings are dataset, conv_channels, linear, ...")
        return ConvNetProblem(split=split, dtype=dtype, **kwargs)
    raise ValueError(f"unknown problem {name!r}; expected one of {', '.join(PROBLEMS)}")


#: The settings a problem family takes from a configuration (what ``config()`` stores).
CONFIG_KEYS = {"quadratic": ("dim", "batch", "init_std", "variant"),
               "mnist": ("optimizee", "batch_size", "init_std", "data_seed", "train_pool",
                         "param_scale"),
               "square": ("x0",),
               "convnet": ("dataset", "conv_channels", "linear", "batch_norm", "kernel_size",
                           "batch_size", "init_std", "data_seed", "classes")}


def problem_from_config(config: dict, *, split: str = "train", optimizee: str | None = None,
                        dtype=None):
    """THE way back from a stored configuration (a problem's ``config()``, as checkpoints and
    results keep it) to the problem family: ``split`` for MNIST and the convnet, ``optimizee``
    to change the MLP (MNIST only), ``dtype`` (default: the configuration's ``dtype`` if it
    has one). Unknown keys are an error naming them."""
    cfg = dict(config)
    name = cfg.pop("name", None)
    if name not in CONFIG_KEYS:
        raise ValueError(f"problem_from_config: unknown problem {name!r}; expected one of "
                         f"{', '.join(CONFIG_KEYS)}")
    stored_dtype = cfg.pop("dtype", None)
    dtype = stored_dtype if dtype is None else dtype
    unknown = sorted(set(cfg) - set(CONFIG_KEYS[name]))
    if unknown:
        raise ValueError(f"problem_from_config: {name} takes {', '.join(CONFIG_KEYS[name])}; "
                         f"got also {', '.join(unknown)}")
    if name == "mnist":
        if optimizee is not None:
            cfg["optimizee"] = optimizee
        return make_problem("mnist", cfg.pop("optimizee", None), split=split, dtype=dtype, **cfg)
    if optimizee is not None:
        raise ValueError(f"problem_from_config: an optimizee applies to mnist only, not {name}")
    if name == "convnet":
        return make_problem("convnet", split=split, dtype=dtype, **cfg)
    if name == "quadratic":
        return make_problem("quadratic", variant=cfg.pop("variant", "paper"), dtype=dtype, **cfg)
    return make_problem(name, dtype=dtype, **cfg)


def mnist_problem_factory(problem_config: dict | None = None, dtype="float32") -> Callable:
    """``factory(experiment, split)``: the MNIST MLP family of the experiment's optimizee on
    ``split``, with the checkpoint's problem settings (batch size, init std, data seed)."""
    cfg = dict(problem_config or {"name": "mnist"}, name="mnist")

    def factory(exp, split: str):
        if exp.dataset != "mnist":
            raise ValueError(f"mnist_problem_factory: experiment {exp.key!r} is on "
                             f"{exp.dataset!r}, not mnist")
        return problem_from_config(cfg, split=split, optimizee=exp.optimizee, dtype=dtype)

    return factory
