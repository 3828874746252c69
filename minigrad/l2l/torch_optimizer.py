"""The learned optimizer in PyTorch: a ``torch.optim.Optimizer`` running a minigrad checkpoint.

``LearnedTorchOptimizer(model.parameters())`` loads the shipped MNIST optimizer (or any
checkpoint of ``python -m minigrad.l2l train``) into :class:`TorchLSTMOptimizer`, a
``torch.nn.Module`` with the same layers under the same names (``torch.nn.LSTM``'s
``lstm.weight_ih_l0, ...`` in PyTorch's gate order i, f, g, o, and ``head.weight``,
``head.bias``), so the weights load by name alone. Each step is
:class:`~minigrad.l2l.learned_optimizer.LearnedOptimizer`'s, in PyTorch::

    g       = [p_1.grad.ravel(), p_2.grad.ravel(), ...]          (N,) per parameter group
    x       = preprocess(g)                                       LogAndSign(p) or identity
    h, c    = LSTM(x, (h, c))                                     one state row per coordinate
    p      <- p + output_scale * (head.weight . h_top + head.bias)

PyTorch is an optional extra (``pip install -e ".[bench]"``, torch 2.13 CPU); importing this
module without it raises ImportError saying so. ``minigrad.l2l`` itself never imports it.
"""

from __future__ import annotations

import math

try:
    import torch
except ImportError as exc:  # tested by hiding torch
    raise ImportError(
        "minigrad.l2l.torch_optimizer needs PyTorch, an optional extra: install it with "
        "`.venv/bin/pip install -e \".[bench]\"` (torch 2.13, CPU build) or any torch from "
        f"pytorch.org; minigrad.l2l.LearnedOptimizer runs without it ({exc})") from exc

import numpy as np

from ..backend import to_device
from .checkpoints import load_learned_optimizer
from .lstm_optimizer import LSTMOptimizer

__all__ = ["LearnedTorchOptimizer", "TorchLSTMOptimizer"]

_NAME = "LearnedTorchOptimizer"


class TorchLSTMOptimizer(torch.nn.Module):
    """A minigrad :class:`~minigrad.l2l.LSTMOptimizer` as a ``torch.nn.Module``: the same
    layers, names, preprocessing and output scale; built by :meth:`from_minigrad`."""

    def __init__(self, input_size, hidden_size, num_layers, output_scale, p=None):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size, num_layers) if num_layers else None
        self.head = torch.nn.Linear(hidden_size if num_layers else input_size, 1)
        self.output_scale, self.p = float(output_scale), p

    @classmethod
    def from_minigrad(cls, net: LSTMOptimizer) -> TorchLSTMOptimizer:
        """The same network with ``net``'s weights, loaded by name, in ``net``'s dtype."""
        module = cls(net.pre.input_size, net.hidden_size, net.num_layers, net.output_scale,
                     getattr(net.pre, "p", None))
        weights = {k: torch.from_numpy(np.array(to_device(v, "cpu")))
                   for k, v in net.state_dict().items()}
        module.to(weights["head.weight"].dtype).load_state_dict(weights)
        return module.requires_grad_(False)

    def preprocess(self, g):
        """(N,) -> (N, 2) with LogAndSign: (log|g|/p, sign g) where |g| >= e^-p, else
        (-1, e^p g); (N,) -> (N, 1) without preprocessing."""
        if self.p is None:
            return g.unsqueeze(1)
        mag = g.abs()
        big = mag >= math.exp(-self.p)
        first = torch.where(big, torch.log(torch.where(big, mag, torch.ones_like(mag))) / self.p,
                            torch.full_like(g, -1.0))
        second = torch.where(big, torch.sign(g), g * math.exp(self.p))
        return torch.stack([first, second], dim=1)

    def forward(self, g, state=None):
        """``(delta (N,), new_state)`` for gradients g (N,); ``state`` is ``(h, c)``, each
        (num_layers, N, hidden_size), or None (zeros)."""
        x = self.preprocess(g)
        if self.lstm is not None:
            out, state = self.lstm(x.unsqueeze(0), state)
            x = out[0]
        return self.head(x).squeeze(1) * self.output_scale, state


class LearnedTorchOptimizer(torch.optim.Optimizer):
    """A learned LSTM optimizer as a ``torch.optim.Optimizer`` (see the module docstring).

    Arguments as :class:`~minigrad.l2l.LearnedOptimizer`'s: ``checkpoint`` ("pretrained", a
    path, or a minigrad ``LSTMOptimizer``), ``problem`` (the family it must be trained on),
    ``weights`` ("best" or "last"); a parameter group may set its own. ``state[p]`` holds
    ``step`` and ``h``, ``c``: the rows of p's coordinates, (num_layers, numel, hidden_size),
    so ``state_dict`` / ``load_state_dict`` resume exactly. Every parameter needs a gradient
    at every step.
    """

    def __init__(self, params, checkpoint="pretrained", problem: str = "mnist",
                 weights: str = "best"):
        super().__init__(params, dict(checkpoint=checkpoint, problem=problem, weights=weights))
        loaded = {}
        self.nets = [self._net_for(group, loaded) for group in self.param_groups]
        for k, (group, net) in enumerate(zip(self.param_groups, self.nets)):
            for i, p in enumerate(group["params"]):
                _check_dtype("__init__", f"parameter {i} of group {k}", p.dtype, net)

    @staticmethod
    def _net_for(group, loaded):
        spec = group["checkpoint"]
        if isinstance(spec, LSTMOptimizer):
            group["checkpoint"] = "<LSTMOptimizer given>"
            return TorchLSTMOptimizer.from_minigrad(spec)
        key = (str(spec), group["problem"], group["weights"])
        if key not in loaded:
            net, meta = load_learned_optimizer(spec, group["problem"], group["weights"])
            if not isinstance(net, LSTMOptimizer):  # one LSTM per parameter group
                raise ValueError(
                    f"LearnedTorchOptimizer: {meta['path']} holds one LSTM per parameter group "
                    f"({', '.join(net.groups)}); the PyTorch adapter takes one-LSTM checkpoints "
                    "only (minigrad.l2l.LearnedOptimizer takes both)")
            loaded[key] = TorchLSTMOptimizer.from_minigrad(net), meta["path"]
        group["checkpoint"] = loaded[key][1]
        return loaded[key][0]

    def reset_state(self) -> None:
        """Forget every LSTM state (back to zeros) and step count: a fresh start."""
        self.state.clear()

    def load_state_dict(self, state_dict) -> None:
        """``torch.optim.Optimizer.load_state_dict``, then every LSTM state's shape checked
        against this optimizer's parameters and LSTMs."""
        super().load_state_dict(state_dict)
        for k, (group, net) in enumerate(zip(self.param_groups, self.nets)):
            for i, p in enumerate(group["params"]):
                _check_state(k, i, p, self.state.get(p, {}), net)

    @torch.no_grad()
    def step(self, closure=None):
        """p <- p + m(g, h; phi) for every group; returns ``closure()`` when given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for k, (group, net) in enumerate(zip(self.param_groups, self.nets)):
            params = group["params"]
            g = torch.cat([self._grad(k, i, p).reshape(-1) for i, p in enumerate(params)])
            delta, state = net(g, self._group_state(k, params))
            sizes = [p.numel() for p in params]
            rows = zip(*(t.split(sizes, dim=1) for t in state)) if state else [()] * len(sizes)
            for p, d, hc in zip(params, delta.split(sizes), rows):
                p.add_(d.view_as(p))
                st = self.state[p]
                st["step"] = st.get("step", 0) + 1
                st.update(zip(("h", "c"), (t.clone() for t in hc)))
        return loss

    def _grad(self, k, i, p):
        what = f"parameter {i} of group {k} (shape {tuple(p.shape)})"
        if p.grad is None:
            raise ValueError(
                f"{_NAME}.step: {what} has no gradient (.grad is None). Call loss.backward() "
                "before step(), and give the optimizer only parameters the loss depends on: "
                "the LSTM moves every coordinate at every step")
        _check_dtype("step", f"the gradient of {what}", p.grad.dtype, self.nets[k])
        return p.grad

    def _group_state(self, k, params):
        """The group's ``(h, c)``, its parameters' rows concatenated, or None at the start."""
        have = [("h" in self.state[p]) for p in params]
        if not any(have):
            return None
        if not all(have):
            raise ValueError(f"{_NAME}.step: group {k} has an LSTM state for some parameters "
                             "only (a partial load_state_dict?); the LSTM steps them together")
        return tuple(torch.cat([self.state[p][n] for p in params], dim=1) for n in ("h", "c"))


def _check_state(k, i, p, state, net):
    if net.lstm is None or "h" not in state:
        return
    want = (net.lstm.num_layers, p.numel(), net.lstm.hidden_size)
    for name in ("h", "c"):
        got = tuple(state[name].shape) if name in state else "nothing"
        if got != want:
            raise ValueError(f"{_NAME}.load_state_dict: state {name!r} of parameter {i} of group "
                             f"{k} has shape {got}, expected {want} (num_layers, numel, "
                             "hidden_size)")


def _check_dtype(op, what, dtype, net):
    want = net.head.weight.dtype
    if dtype != want:
        raise TypeError(f"{_NAME}.{op}: {what} is {dtype}, but the learned optimizer's LSTM "
                        f"runs in {want}; give it {want} parameters (e.g. model.float())")
