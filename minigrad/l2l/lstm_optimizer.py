"""The learned optimizer m(grad, h; phi): one small LSTM shared by every coordinate.

For each coordinate j of the optimizee (all arrays flattened into one vector of N
coordinates, see :mod:`minigrad.l2l.flat`)::

    x_j           = preprocess(g_j)                     (2 numbers with LogAndSign, 1 without)
    h_j', state_j = LSTM(x_j, state_j; phi)             2 layers of 20 units (the paper's)
    delta_j       = scale * (w . h_j' + b)              linear head 20 -> 1, output scale
    theta_j      <- theta_j + delta_j

The LSTM's batch dimension is the coordinate index: the same weights phi for every
coordinate, a separate (h, c) for each. With ``num_layers=0`` there is no LSTM and the head
reads the preprocessed gradient directly (``delta = scale * (w . x + b)``), the official code's
"no hidden layers" sanity network.

Defaults follow the paper where it is specific: 2 layers of 20 units, LogAndSign with p = 10,
output scale 0.1 (MNIST; the quadratic uses no preprocessing and scale 1, see
:func:`net_defaults`). The paper does not state the initialisation; the default is the official
code's (``init="l2l"``: truncated normal weights and biases with std 1/sqrt(fan in), forget-gate
bias +1, zero initial state). ``head_init`` initialises the linear head on its own; with
``"zeros"`` the untrained optimizer takes no step at all (delta = 0 for every input), whatever
the seed, instead of steps whose size depends on the seed's draw (see the fast recipe in
:mod:`minigrad.l2l.recipes`).

First-order by default: ``update`` runs the fused LSTM cell (per layer and step one fused node
with a hand-written backward, plus the views that split its output into h and c).
``create_graph=True`` switches to the composed cell, so the gradient's own graph can be
differentiated through (second-order meta-gradients).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..grad_mode import no_grad
from ..nn import LSTM, Linear, Module
from ..nn.init import INIT_SCHEMES
from ..tensor import Tensor
from .paper import PAPER
from .preprocess import make_preprocess

__all__ = ["INITS", "LSTMOptimizer", "net_defaults"]

#: The initialisation schemes the optimizer's LSTM and head accept (nn.init's list).
INITS = INIT_SCHEMES

_DEFAULTS = {
    # the paper: LogAndSign and scale 0.1 for MNIST; no pre/post-processing for the quadratic;
    # the official sanity network (no hidden layers, zero init) for f(x) = x^2.
    "mnist": {"preprocess": "logsign", "p": PAPER.p, "output_scale": PAPER.mnist_output_scale},
    "quadratic": {"preprocess": "identity", "output_scale": 1.0},
    "square": {"preprocess": "identity", "output_scale": 1.0, "num_layers": 0, "init": "zeros"},
    # the paper's CIFAR optimizer: one LSTM for the conv kernels, one for the rest
    # (minigrad.l2l.grouped); LogAndSign with the paper's p and the MNIST output scale, as the
    # paper gives no other for CIFAR (the official code: k = 5, scale 0.01)
    "convnet": {"preprocess": "logsign", "p": PAPER.p, "output_scale": PAPER.mnist_output_scale,
                "groups": ["conv", "fc"]},
}


def net_defaults(problem: str) -> dict:
    """The paper's per-problem optimizer settings (everything else: :class:`LSTMOptimizer`).
    The convnet's include ``groups`` (one LSTM per parameter group): build it with
    :func:`minigrad.l2l.grouped.build_net`."""
    base = {"preprocess": "logsign", "p": PAPER.p, "hidden_size": PAPER.hidden_size,
            "num_layers": PAPER.num_layers, "output_scale": PAPER.mnist_output_scale,
            "init": "l2l", "forget_bias": PAPER.forget_bias}
    base.update(_DEFAULTS.get(problem, {}))
    return base


class LSTMOptimizer(Module):
    """The coordinatewise LSTM optimizer (see the module docstring).

    Parameters are ``lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0,
    ... , head.weight, head.bias`` (PyTorch's names).
    """

    def __init__(self, preprocess: str = "logsign", p: float | None = PAPER.p,
                 hidden_size: int = PAPER.hidden_size, num_layers: int = PAPER.num_layers,
                 output_scale: float = PAPER.mnist_output_scale, init: str = "l2l",
                 forget_bias: float = PAPER.forget_bias, seed: int = 0,
                 head_init: str | None = None, dtype=None, device=None):
        super().__init__()
        for what, scheme, allowed in (("init", init, INITS), ("head_init", head_init,
                                                               (None, *INITS))):
            if scheme not in allowed:
                raise ValueError(f"LSTMOptimizer: unknown {what} {scheme!r}; expected one of "
                                 f"{', '.join(INITS)}")
        if int(num_layers) < 0 or (int(num_layers) > 0 and int(hidden_size) < 1):
            raise ValueError(f"LSTMOptimizer: need num_layers >= 0 and hidden_size >= 1, got "
                             f"{num_layers}, {hidden_size}")
        self.pre = make_preprocess(preprocess, p)
        self.hidden_size, self.num_layers = int(hidden_size), int(num_layers)
        self.output_scale = float(output_scale)
        self.init, self.forget_bias, self.seed = init, float(forget_bias), int(seed)
        self.head_init = head_init  # None: the same scheme as the LSTM
        rng = np.random.default_rng(self.seed)
        n_in = self.pre.input_size
        if self.num_layers > 0:
            self.lstm = LSTM(n_in, self.hidden_size, self.num_layers, forget_bias=self.forget_bias,
                             fused=True, init=init, rng=rng, dtype=dtype, device=device)
            n_in = self.hidden_size
        else:
            self.lstm = None
        self.head = Linear(n_in, 1, init=head_init or init, rng=rng, dtype=dtype, device=device)

    # ----- configuration ---------------------------------------------------------------------
    def config(self) -> dict:
        """Everything needed to rebuild this network (stored in checkpoints)."""
        config = {"preprocess": self.pre.name, "hidden_size": self.hidden_size,
                  "num_layers": self.num_layers, "output_scale": self.output_scale,
                  "init": self.init, "forget_bias": self.forget_bias, "seed": self.seed}
        if hasattr(self.pre, "p"):  # only LogAndSign has an exponent
            config["p"] = self.pre.p
        if self.head_init is not None:  # absent from checkpoints written before the option
            config["head_init"] = self.head_init
        return config

    @property
    def dtype(self):
        return self.head.weight.dtype

    # ----- one step --------------------------------------------------------------------------
    def forward(self, x: Tensor, state=None, create_graph: bool = False):
        """From preprocessed inputs x (N, input_size) to ``(delta (N,), new_state)``."""
        if self.lstm is not None:
            # the fused cell has first derivatives only; second order needs the composed one
            h, state = self.lstm.step(x, state, fused=not create_graph)
        else:
            h, state = x, None
        out = self.head(h)
        n = out.shape[0]
        delta = ops.reshape(out, (n,))
        if self.output_scale != 1.0:
            delta = delta * self.output_scale
        return delta, state

    def update(self, g, state=None, create_graph: bool = False):
        """The update delta (N,) for gradient ``g`` (N,): an array (first order, a constant),
        or a Tensor with a graph when ``create_graph`` (second order). Returns a Tensor that
        depends on phi, and the new state."""
        x = self.pre(g)
        if not isinstance(x, Tensor):
            x = Tensor.from_array(x)
        return self.forward(x, state, create_graph=create_graph)

    def update_array(self, g, state=None):
        """Evaluation: ``(delta array (N,), new_state)`` without recording any graph."""
        with no_grad():
            delta, state = self.update(g, state)
        return delta.data, state

    def extra_repr(self) -> str:
        head = "" if self.head_init is None else f", head_init={self.head_init!r}"
        return (f"preprocess={self.pre!r}, output_scale={self.output_scale:g}, "
                f"init={self.init!r}{head}")
