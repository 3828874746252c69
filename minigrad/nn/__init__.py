"""Neural-network building blocks: modules, layers, LSTMs, initialisation, checkpoints.

* :class:`Module` / :class:`Parameter` / :class:`ModuleList`: named parameters, state dicts.
* :class:`Linear`, :class:`MLP`: with PyTorch's initialisation by default (``init=`` others).
* :class:`Conv2d`, :class:`MaxPool2d`, :class:`BatchNorm2d`: layers for convolutional networks,
  with PyTorch's state-dict names (BatchNorm2d's running statistics are buffers).
* :class:`LSTMCell`, :class:`LSTM`: PyTorch's parameter names and gate order; ``fused=True``
  uses the fast one-node cell, ``fused=False`` the composed one. :func:`detach_state` cuts
  the gradient between chunks of truncated backpropagation through time.
* :func:`save_checkpoint` / :func:`load_checkpoint`: ``.npz`` files, no pickle.
* :mod:`minigrad.nn.functional`: ``linear``, ``lstm_cell``, ``conv2d``, ``max_pool2d``,
  ``batch_norm``; :mod:`minigrad.nn.fused_lstm`:
  ``fused_lstm_cell`` (imported only when a fused cell is used).
* :mod:`minigrad.nn.init`: the initialisation schemes.
"""

from . import functional, init
from .conv import BatchNorm2d, Conv2d, MaxPool2d
from .linear import MLP, Linear
from .lstm import LSTM, LSTMCell, detach_state
from .module import IncompatibleKeys, Module, ModuleList, StateDictError
from .parameter import Parameter
from .serialization import CheckpointError, load_checkpoint, save_checkpoint

__all__ = [
    "LSTM", "MLP", "BatchNorm2d", "CheckpointError", "Conv2d", "IncompatibleKeys", "LSTMCell",
    "Linear", "MaxPool2d", "Module", "ModuleList", "Parameter", "StateDictError",
    "detach_state", "functional", "init", "load_checkpoint", "save_checkpoint",
]
