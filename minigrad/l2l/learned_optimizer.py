"""The learned optimizer as a drop-in :class:`minigrad.optim.Optimizer`.

``opt = LearnedOptimizer(model.parameters())`` loads the shipped MNIST optimizer (or any
checkpoint of ``python -m minigrad.l2l train``) and is then used like SGD or Adam::

    opt.zero_grad(); loss.backward(); opt.step()

For each parameter group, every coordinate j of every parameter tensor (of any shape) is
one row of the LSTM's batch, in the order the group lists them (each tensor raveled)::

    g       = [p_1.grad.ravel(), p_2.grad.ravel(), ...]          (N,)
    delta_j, h_j = m(g_j, h_j; phi)                               the checkpoint's LSTM
    p_j    <- p_j + delta_j

with one LSTM state h_j (h and c of every layer) per coordinate, carried from step to step
(zeros at the first step and after :meth:`LearnedOptimizer.reset_state`). This is the update of
:class:`~minigrad.l2l.evaluate.LearnedRule` on the flat vector of
:class:`~minigrad.l2l.flat.Flattener`: with the parameters in the problem's order, the same
batch goes through the same LSTM, so the numbers are the same.

Each group may name its own checkpoint: one LSTM per parameter group (e.g. one for the
convolutional weights and one for the fully connected ones, as in the paper's CIFAR network).
A checkpoint that itself holds one LSTM per parameter group (``train --problem convnet``:
:mod:`minigrad.l2l.grouped`) needs each parameter group to say which of them steps it, by
the option ``lstm``::

    LearnedOptimizer([{"params": conv_kernels, "lstm": "conv"},
                      {"params": everything_else, "lstm": "fc"}], checkpoint="runs/cnn.npz",
                     problem="convnet")

(a group without ``lstm``, or naming an LSTM the checkpoint lacks, is an error naming the
checkpoint's groups; ``lstm`` with a one-LSTM checkpoint is an error too). The convnet's own
assignment, which the checkpoint records (``meta["net"]["assignment"]``), puts the
convolution kernels under ``conv`` and every other parameter, the biases and batch norm's
offsets included, under ``fc``.
Because the LSTM keeps a state per coordinate and every coordinate moves at every step, every
parameter must have a gradient at every step: a missing one is an error, not a skip.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..grad_mode import no_grad
from ..optim import Optimizer
from ..tensor import Tensor
from .checkpoints import load_learned_optimizer
from .flat import Flattener
from .grouped import GroupedLSTMOptimizer
from .lstm_optimizer import LSTMOptimizer

__all__ = ["LearnedOptimizer"]

_NAME = "LearnedOptimizer"


class LearnedOptimizer(Optimizer):
    """A learned LSTM optimizer (see the module docstring) with the usual optimizer interface.

    ``checkpoint``: ``"pretrained"`` (the shipped file for ``problem``), a checkpoint path, or
    an :class:`~minigrad.l2l.LSTMOptimizer` to use as it is. ``problem``: the family the
    checkpoint must have been trained on (a checkpoint of another one is refused).
    ``weights``: ``"best"`` (best on validation, the default) or ``"last"``. A parameter group
    (a dict) may set its own ``checkpoint``, ``problem`` and ``weights``, and with a checkpoint
    of one LSTM per parameter group must set ``lstm``, the name of the one that steps it.
    """

    def __init__(self, params, checkpoint="pretrained", problem: str = "mnist",
                 weights: str = "best", lstm: str | None = None):
        super().__init__(params, dict(checkpoint=checkpoint, problem=problem, weights=weights,
                                      lstm=lstm))
        loaded = {}
        self.nets = [self._net_for(group, loaded) for group in self.param_groups]
        for k, (group, net) in enumerate(zip(self.param_groups, self.nets)):
            for i, p in enumerate(group["params"]):
                _check_dtype("__init__", f"parameter {i} of group {k}", p.dtype, p.shape, net)
        self.reset_state()

    def _check_group(self, group):
        if group["weights"] not in ("best", "last"):
            raise ValueError(f"{_NAME}: weights must be 'best' or 'last', got "
                             f"{group['weights']!r}")

    @staticmethod
    def _net_for(group, loaded):
        """The group's LSTM (loaded once per checkpoint; of a checkpoint with one LSTM per
        parameter group, the one its ``lstm`` names); its ``checkpoint`` entry becomes a
        string (the path), so state dicts stay plain data."""
        spec = group["checkpoint"]
        if isinstance(spec, (LSTMOptimizer, GroupedLSTMOptimizer)):
            group["checkpoint"] = f"<{type(spec).__name__} given>"
            return _pick_lstm(spec, group, group["checkpoint"])
        key = (str(spec), group["problem"], group["weights"])
        if key not in loaded:
            loaded[key] = load_learned_optimizer(spec, group["problem"], group["weights"])
        net, meta = loaded[key]
        group["checkpoint"] = meta["path"]
        return _pick_lstm(net, group, meta["path"])

    def reset_state(self) -> None:
        """Forget every LSTM state (back to zeros) and the step counts: a fresh start."""
        self.lstm_state = [None] * len(self.param_groups)
        self.steps = [0] * len(self.param_groups)

    # ----- one step --------------------------------------------------------------------------
    def step(self) -> None:
        """theta <- theta + m(g, h; phi) for every group, in place on ``p.data``."""
        with no_grad():
            for k, group in enumerate(self.param_groups):
                flat, g = self._group_gradient(k, group)
                delta, self.lstm_state[k] = self.nets[k].update_array(g, self.lstm_state[k])
                for p, d in zip(group["params"], flat.views(delta)):
                    p.data += d
                self.steps[k] += 1

    def _group_gradient(self, k, group):
        """``(flattener, g)``: the group's gradients laid end to end, each checked."""
        grads = []
        for i, p in enumerate(group["params"]):
            what = f"parameter {i} of group {k} (shape {p.shape})"
            if p.grad is None:
                raise ValueError(
                    f"{_NAME}.step: {what} has no gradient (.grad is None). Call "
                    "loss.backward() before step(), and give the optimizer only parameters "
                    "the loss depends on: the LSTM moves every coordinate at every step")
            g = p.grad.data
            if tuple(g.shape) != tuple(p.shape):
                raise ValueError(f"{_NAME}.step: {what} has a gradient of shape {g.shape}")
            _check_dtype("step", f"the gradient of {what}", g.dtype, p.shape, self.nets[k])
            grads.append(g)
        flat = Flattener.like(grads)
        return flat, flat.flatten(grads)

    # ----- state dicts -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """PyTorch's layout. ``state[i]`` of parameter i holds ``step`` and, per LSTM layer l,
        ``h_l{l}`` and ``c_l{l}``: its coordinates' rows of the state, (numel, hidden_size)
        NumPy arrays (none before the first step)."""
        out = super().state_dict()  # the groups (self.state stays empty)
        index = 0
        for k, group in enumerate(self.param_groups):
            sizes = [int(np.prod(p.shape, dtype=np.int64)) for p in group["params"]]
            rows = _split_rows(self.lstm_state[k], sizes)
            for i in range(len(sizes)):
                if self.steps[k]:
                    out["state"][index + i] = dict(step=self.steps[k], **rows[i])
            index += len(sizes)
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the LSTM states and step counts saved by :meth:`state_dict` (checked: the
        numbers of groups and parameters, every array's shape). The group options stay this
        optimizer's own: the LSTMs are the ones it was built with."""
        _check_layout(state_dict, self.param_groups)
        saved, index = dict(state_dict["state"]), 0
        states, steps = [], []
        for k, group in enumerate(self.param_groups):
            entries = [saved.pop(index + i, saved.pop(str(index + i), None))
                       for i in range(len(group["params"]))]
            state, n = _group_state(k, group, entries, self.nets[k])
            states.append(state)
            steps.append(n)
            index += len(group["params"])
        if saved:
            raise ValueError(f"{_NAME}.load_state_dict: state for parameter(s) "
                             f"{sorted(saved)}, but there are only {index}")
        self.lstm_state, self.steps = states, steps


def _pick_lstm(net, group, where):
    """The LSTM of ``net`` that steps ``group``: ``net`` itself (one LSTM), or for one LSTM
    per parameter group the one named by the group's ``lstm``."""
    name = group["lstm"]
    if not isinstance(net, GroupedLSTMOptimizer):
        if name is not None:
            raise ValueError(f"{_NAME}: a parameter group asks for the LSTM {name!r}, but "
                             f"{where} holds one LSTM for every parameter; leave 'lstm' out")
        return net
    groups = ", ".join(repr(g) for g in net.groups)
    if name is None:
        raise ValueError(
            f"{_NAME}: {where} holds one LSTM per parameter group ({groups}); give each "
            "parameter group an 'lstm' entry naming the one that steps it, e.g. "
            "[{'params': conv_kernels, 'lstm': 'conv'}, {'params': others, 'lstm': 'fc'}]")
    if name not in net.groups:
        raise ValueError(f"{_NAME}: a parameter group asks for the LSTM {name!r}, but {where} "
                         f"has LSTMs for {groups} only")
    return net.net(name)


def _check_layout(state_dict, groups):
    where = f"{_NAME}.load_state_dict"
    saved = state_dict.get("param_groups") if hasattr(state_dict, "get") else None
    if saved is None or "state" not in state_dict:
        raise ValueError(f"{where}: expected a dict with 'state' and 'param_groups'")
    if len(saved) != len(groups):
        raise ValueError(f"{where}: {len(saved)} parameter group(s) saved, this optimizer has "
                         f"{len(groups)}")
    for k, (s, own) in enumerate(zip(saved, groups)):
        if len(s["params"]) != len(own["params"]):
            raise ValueError(f"{where}: group {k} saved {len(s['params'])} parameters, this "
                             f"one has {len(own['params'])}")


def _check_dtype(op, what, dtype, shape, net):
    if np.dtype(str(dtype)) != np.dtype(str(net.dtype)):
        raise TypeError(f"{_NAME}.{op}: {what} is {dtype}, but the learned optimizer's LSTM "
                        f"runs in {net.dtype}; give it {net.dtype} parameters (e.g. "
                        f"model.float()) or a checkpoint of that dtype")


def _split_rows(state, sizes):
    """Per parameter, ``{"h_l0": rows, "c_l0": rows, ...}`` of a group's LSTM state."""
    out = [{} for _ in sizes]
    if not state:
        return out
    offsets = np.cumsum([0] + sizes)
    for layer, (h, c) in enumerate(state):
        for name, t in ((f"h_l{layer}", h), (f"c_l{layer}", c)):
            a = np.asarray(backend.to_device(t.data, "cpu"))
            for i, entry in enumerate(out):
                entry[name] = a[offsets[i]:offsets[i + 1]].copy()
    return out


def _group_state(k, group, entries, net):
    """A group's ``(lstm_state, steps)`` rebuilt from its parameters' saved entries."""
    where = f"{_NAME}.load_state_dict: group {k}"
    if all(e is None for e in entries):
        return None, 0
    if any(e is None for e in entries):
        raise ValueError(f"{where} has state for some parameters only; the LSTM steps them "
                         "all together")
    steps = {int(np.asarray(e["step"])) for e in entries}
    if len(steps) != 1:
        raise ValueError(f"{where}: its parameters were saved at different steps {steps}")
    if net.lstm is None:
        return None, steps.pop()
    layers = []
    for layer in range(net.num_layers):
        pair = []
        for name in (f"h_l{layer}", f"c_l{layer}"):
            pair.append(_rows(where, name, entries, group["params"], net))
        layers.append(tuple(pair))
    return layers, steps.pop()


def _rows(where, name, entries, params, net):
    """One state array of the group: the parameters' rows stacked, laid out (H, N) underneath
    as the fused cell makes them."""
    parts = []
    for i, (e, p) in enumerate(zip(entries, params)):
        want = (int(np.prod(p.shape, dtype=np.int64)), net.hidden_size)
        if name not in e or tuple(np.shape(e[name])) != want:
            got = tuple(np.shape(e[name])) if name in e else "nothing"
            raise ValueError(f"{where}, parameter {i}: state {name!r} has shape {got}, "
                             f"expected {want} (numel, hidden_size)")
        parts.append(np.asarray(e[name], dtype=str(net.dtype)))
    block = np.ascontiguousarray(np.concatenate(parts).T)
    return Tensor.from_array(backend.to_device(block, net.head.weight.device).T)
