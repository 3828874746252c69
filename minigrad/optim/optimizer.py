"""Optimizer: the common machinery (parameter groups, state, state dicts) of every optimizer.

An optimizer holds a list of parameter groups, each a dict ``{"params": [...], **hyper}``;
``step()`` applies the update rule to every parameter whose ``.grad`` is not None, IN PLACE on
``p.data`` and without recording a graph. The rules themselves live in
:mod:`minigrad.optim.update_rules` as pure functions on arrays.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import backend
from ..grad_mode import no_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "flatten_state_dict", "unflatten_state_dict"]


class Optimizer:
    """Base class. Subclasses set ``defaults`` (hyperparameters) and ``_rule`` (the function
    from :mod:`minigrad.optim.update_rules`)."""

    _rule = None  # set by subclasses: (param, grad, state, **hyper) -> (new_param, new_state)

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors (e.g. "
                "model.parameters()) or of dicts, got a single Tensor"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # id(param) -> dict (PyTorch's per-parameter state)
        seen = set()
        for group in groups:
            group = dict(group)
            ps = group["params"]
            ps = [ps] if isinstance(ps, Tensor) else list(ps)
            for k, p in enumerate(ps):
                if not isinstance(p, Tensor):
                    raise TypeError(f"{type(self).__name__}: parameter {k} is a "
                                    f"{type(p).__name__}, expected a Tensor")
                if not p.requires_grad:
                    raise ValueError(f"{type(self).__name__}: parameter {k} (shape {p.shape}) "
                                     "does not require grad")
                if id(p) in seen:
                    raise ValueError(f"{type(self).__name__}: a parameter appears twice")
                seen.add(id(p))
            unknown = set(group) - set(defaults) - {"params"}
            if unknown:
                raise TypeError(f"{type(self).__name__}: unknown option(s) {sorted(unknown)}")
            for key, value in defaults.items():
                group.setdefault(key, value)
            group["params"] = ps
            self._check_group(group)
            self.param_groups.append(group)

    def _check_group(self, group):
        if group["lr"] < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']}")

    def _params(self):
        for group in self.param_groups:
            yield from group["params"]

    def zero_grad(self) -> None:
        """Set ``.grad`` of every parameter to None."""
        for p in self._params():
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient (in place on ``p.data``)."""
        rule = type(self)._rule
        with no_grad():
            for group in self.param_groups:
                hyper = {k: v for k, v in group.items() if k != "params"}
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    if grad.shape != p.shape:
                        raise ValueError(f"{type(self).__name__}.step: gradient of shape "
                                         f"{grad.shape} for a parameter of shape {p.shape}")
                    new, state = rule(p.data, grad, self.state.get(id(p), {}), **hyper)
                    p.data[...] = new
                    self.state[id(p)] = state

    # ----- state dicts ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        """PyTorch's layout: ``{"state": {index: {name: value}}, "param_groups": [...]}``.

        Parameters are numbered in order over all groups; a group lists its indices under
        ``"params"``. Arrays are NumPy copies; step counters are ints.
        """
        index, state, groups = 0, {}, []
        for group in self.param_groups:
            g = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            g["params"] = []
            for p in group["params"]:
                s = self.state.get(id(p))
                if s:
                    state[index] = {
                        k: (np.array(backend.to_device(v, "cpu"), copy=True)
                            if hasattr(v, "shape") else v)
                        for k, v in s.items()
                    }
                g["params"].append(index)
                index += 1
            groups.append(g)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (checked first)."""
        name = type(self).__name__
        groups = state_dict.get("param_groups") if hasattr(state_dict, "get") else None
        if groups is None or "state" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups'")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: {len(groups)} parameter group(s) "
                             f"saved, this optimizer has {len(self.param_groups)}")
        params = list(self._params())
        for k, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"{name}.load_state_dict: group {k} saved "
                                 f"{len(saved['params'])} parameters, this one has "
                                 f"{len(own['params'])}")
        new_state = {}
        for key, s in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, but there "
                                 f"are only {len(params)}")
            p = params[i]
            entry = {}
            for k, v in s.items():
                if hasattr(v, "shape") and np.ndim(v) > 0:
                    if tuple(v.shape) != tuple(p.shape):
                        raise ValueError(f"{name}.load_state_dict: state '{k}' of parameter {i} "
                                         f"has shape {tuple(v.shape)}, the parameter {p.shape}")
                    v = backend.to_device(np.asarray(v), p.device).astype(p.dtype)
                elif hasattr(v, "shape"):
                    v = v.item()
                entry[k] = v
            new_state[id(p)] = entry
        for saved, own in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    own[k] = copy.deepcopy(v)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__}("]
        for k, group in enumerate(self.param_groups):
            hyper = ", ".join(f"{a}={b}" for a, b in group.items() if a != "params")
            lines.append(f"  group {k}: {len(group['params'])} params, {hyper}")
        return "\n".join(lines) + "\n)"


def flatten_state_dict(state_dict: dict, prefix: str = "optimizer.") -> tuple[dict, dict]:
    """Split an optimizer state dict into ``(arrays, metadata)`` for a ``.npz`` checkpoint.

    ``arrays`` maps ``"{prefix}{index}.{name}"`` to every state array (step counters become
    0-d int arrays); ``metadata`` holds the JSON-able ``param_groups``. Inverse:
    :func:`unflatten_state_dict`. Use with :func:`minigrad.nn.save_checkpoint`.
    """
    arrays = {}
    for index, entry in state_dict["state"].items():
        for k, v in entry.items():
            arrays[f"{prefix}{index}.{k}"] = np.asarray(v)
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
              for g in state_dict["param_groups"]]
    return arrays, {"param_groups": groups}


def unflatten_state_dict(arrays: dict, metadata: dict, prefix: str = "optimizer.") -> dict:
    """Rebuild the state dict from :func:`flatten_state_dict`'s output (other keys ignored)."""
    state = {}
    for key, v in arrays.items():
        if not key.startswith(prefix):
            continue
        index, _, name = key[len(prefix):].partition(".")
        v = np.asarray(v)
        state.setdefault(int(index), {})[name] = v.item() if v.ndim == 0 else v
    groups = []
    for g in metadata["param_groups"]:
        g = dict(g)
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    return {"state": state, "param_groups": groups}
