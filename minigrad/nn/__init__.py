"""Neural-network building blocks: modules, layers, LSTMs, initialisation, checkpoints.

* :class:`Module` / :class:`Parameter` / :class:`ModuleList`: named parameters, state dicts.
* :class:`Linear`, :class:`MLP`: with PyTorch's initialisation by default (``init=`` others).
* :class:`LSTMCell`, :class:`LSTM`: PyTorch's parameter names and gate order; ``fused=True``
  uses the fast one-node cell, ``fused=False`` the composed one. :func:`detach_state` cuts
  the gradient between chunks of truncated backpropagation through time.
* :func:`save_checkpoint` / :func:`load_checkpoint`: ``.npz`` files, no pickle.
* :mod:`minigrad.nn.functional`: ``linear``, ``lstm_cell``; :mod:`minigrad.nn.fused_lstm`:
  ``fused_lstm_cell`` (imported only when a fused cell is used).
* :mod:`minigrad.nn.init`: the initialisation schemes.
"""

from . import functional, init
from .linear import MLP, Linear
from .lstm import LSTM, LSTMCell, detach_state
from .module import IncompatibleKeys, Module, ModuleList, StateDictError
from .parameter import Parameter
from .serialization import CheckpointError, load_checkpoint, save_checkpoint

__all__ = [
    "LSTM", "MLP", "CheckpointError", "IncompatibleKeys", "LSTMCell", "Linear", "Module",
    "ModuleList", "Parameter", "StateDictError", "detach_state", "functional", "init",
    "load_checkpoint", "save_checkpoint",
]
