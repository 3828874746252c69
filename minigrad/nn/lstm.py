"""LSTM modules: a single cell, a multi-layer LSTM, and the state helpers for truncated BPTT.

Parameters follow ``torch.nn.LSTMCell`` / ``torch.nn.LSTM`` exactly (names, shapes, gate order
i, f, g, o), so a state dict converts to and from PyTorch by name alone:

=====================  ============  =========================================
name                   shape         meaning
=====================  ============  =========================================
``weight_ih[_lk]``     (4H, I_k)     input-to-gates weights [W_ii; W_if; W_ig; W_io]
``weight_hh[_lk]``     (4H, H)       hidden-to-gates weights [W_hi; W_hf; W_hg; W_ho]
``bias_ih[_lk]``       (4H,)         input-side gate biases
``bias_hh[_lk]``       (4H,)         hidden-side gate biases
=====================  ============  =========================================

(``I_0`` is the input size, ``I_k = H`` for the layers above.)

Initialisation (``init=``):

* ``"pytorch"`` (default): every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), as in PyTorch.
* ``"l2l"``: the official L2L code's (Sonnet 1's LSTM default): Sonnet keeps ONE gate matrix
  for the concatenation [x, h], so every weight AND bias entry is drawn from a truncated normal
  (redrawn beyond 2 std) with std = 1/sqrt(I + H), the fan-in of that matrix.
* ``"normal"`` (N(0, std^2)), ``"xavier"``, ``"kaiming"``, ``"zeros"``: as in
  :mod:`minigrad.nn.init`, with fan-in the input width of each matrix and fan-out 4H.

``forget_bias`` (the official code uses +1, Sonnet's default): after initialisation, the
constant ``forget_bias`` is ADDED to the forget-gate entries of ``bias_ih``, i.e.
``bias_ih[H:2H] += forget_bias`` (``bias_hh`` is untouched, so the total forget-gate bias
b_ih + b_hh moves by exactly ``forget_bias``). Sonnet instead adds the constant inside the
forward pass, ``sigmoid(a_f + forget_bias)``, with the learnable bias starting from its initial
draw; the two are the same function of the inputs and have the same gradients, so they train
identically. Draws happen in the order weight_ih, weight_hh, bias_ih, bias_hh, layer by layer.
"""

from __future__ import annotations

import math

from .. import backend
from ..ops import getitem, stack
from ..tensor import Tensor, zeros
from . import init as _init
from .functional import lstm_cell
from .module import Module
from .parameter import Parameter

__all__ = ["LSTM", "LSTMCell", "detach_state"]

#: The initialisation schemes (one list, :data:`minigrad.nn.init.INIT_SCHEMES`).
LSTM_INITS = _init.INIT_SCHEMES


def _lstm_params(input_size, hidden_size, bias, forget_bias, init, rng, std, dtype, device):
    """Initial (weight_ih, weight_hh, bias_ih, bias_hh) as Parameters (biases None if no bias)."""
    if init not in LSTM_INITS:
        raise ValueError(f"unknown LSTM init {init!r}; expected one of {', '.join(LSTM_INITS)}")
    if not bias and forget_bias:
        raise ValueError("forget_bias needs bias=True (it is added to bias_ih)")
    In, H = int(input_size), int(hidden_size)
    if In <= 0 or H <= 0:
        raise ValueError(f"LSTM sizes must be positive, got input_size={In}, hidden_size={H}")

    def draw(shape, fan_in, is_bias):
        if init == "pytorch":
            return _init.uniform(rng, shape, 1.0 / math.sqrt(H))
        if init == "l2l":
            return _init.truncated_normal(rng, shape, 1.0 / math.sqrt(In + H))
        if is_bias:
            return _init.init_bias(init, rng, shape, fan_in, std)
        return _init.init_weight(init, rng, shape, fan_in, 4 * H, std)

    arrays = [draw((4 * H, In), In, False), draw((4 * H, H), H, False)]
    if bias:
        b_ih, b_hh = draw((4 * H,), In, True), draw((4 * H,), H, True)
        b_ih[H : 2 * H] += forget_bias
        arrays += [b_ih, b_hh]
    dt = backend.as_dtype(dtype)
    device = device or backend.default_device()
    params = [Parameter(backend.to_device(a.astype(dt), device)) for a in arrays]
    return tuple(params) if bias else (params[0], params[1], None, None)


def _cell(fused):
    """The step function: the composed cell, or the fused one. The fused module is imported
    only when asked for, so the composed LSTM needs nothing from the fast path."""
    if not fused:
        return lstm_cell
    from .fused_lstm import fused_lstm_cell

    return fused_lstm_cell


class LSTMCell(Module):
    """One LSTM layer for one time step: ``h, c = cell(x, state)``.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool
        Use ``bias_ih`` and ``bias_hh``.
    forget_bias : float
        Added to the forget-gate part of ``bias_ih`` at initialisation (module docstring).
    fused : bool
        Use the fused cell (one fused node, hand-written backward, first derivatives only)
        instead of the composed one (primitive ops, any order of derivatives). Same values.
        May be changed at any time (``cell.fused = False``).
    rng, seed
        Where every random draw comes from (a Generator or an int; default seed 0).
    init : str, keyword-only
        ``"pytorch"`` (default) or ``"l2l"`` (and others, see the module docstring); ``std``
        is the standard deviation of ``"normal"``.
    dtype, device
        Of the parameters (default float32 on the default device).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 forget_bias: float = 0.0, fused: bool = True, rng=None, *,
                 init: str = "pytorch", seed=None, std: float = 0.01, dtype=None, device=None):
        super().__init__()
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.forget_bias, self.fused, self.init = float(forget_bias), bool(fused), init
        rng = _init.as_rng(rng, seed)
        w_ih, w_hh, b_ih, b_hh = _lstm_params(
            input_size, hidden_size, bias, forget_bias, init, rng, std, dtype, device)
        self.weight_ih, self.weight_hh = w_ih, w_hh
        self.bias_ih, self.bias_hh = b_ih, b_hh

    def forward(self, x: Tensor, state=None):
        """``(h', c')`` for input x (B, I) and ``state`` = (h, c), each (B, H), or None (zeros)."""
        h, c = (None, None) if state is None else state
        return _cell(self.fused)(x, h, c, self.weight_ih, self.weight_hh,
                                 self.bias_ih, self.bias_hh)

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}, "
                f"forget_bias={self.forget_bias}, fused={self.fused}, init={self.init!r}")


class LSTM(Module):
    """A stack of ``num_layers`` LSTM layers; layer k's input is layer k-1's h.

    Parameters are named as in ``torch.nn.LSTM``: ``weight_ih_l0, weight_hh_l0, bias_ih_l0,
    bias_hh_l0, weight_ih_l1, ...``. The state is a list with one ``(h, c)`` pair per layer
    (each (B, H)); ``None`` anywhere means zeros.

    * ``lstm.step(x, state)`` -> ``(h_top, new_state)`` for ONE time step, x of shape (B, I):
      the form a learned optimizer uses (one step per optimizee step).
    * ``lstm(xs, state)`` -> ``(outputs, new_state)`` over a sequence xs of shape (T, B, I);
      outputs (T, B, H) are the top layer's h at every step.

    For truncated backpropagation through time, carry ``detach_state(new_state)`` into the next
    chunk. Signature: ``LSTM(input_size, hidden_size, num_layers=1, forget_bias=0.0,
    fused=True, rng=None, *, bias=True, init="pytorch", seed=None, std=0.01, dtype=None,
    device=None)``; the arguments mean what they mean in :class:`LSTMCell`.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 forget_bias: float = 0.0, fused: bool = True, rng=None, *,
                 bias: bool = True, init: str = "pytorch", seed=None, std: float = 0.01,
                 dtype=None, device=None):
        super().__init__()
        if int(num_layers) < 1:
            raise ValueError(f"LSTM: num_layers must be >= 1, got {num_layers}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.bias = int(num_layers), bool(bias)
        self.forget_bias, self.fused, self.init = float(forget_bias), bool(fused), init
        rng = _init.as_rng(rng, seed)
        for k in range(self.num_layers):
            in_k = self.input_size if k == 0 else self.hidden_size
            params = _lstm_params(in_k, hidden_size, bias, forget_bias, init, rng, std,
                                  dtype, device)
            for name, p in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), params):
                if p is not None:
                    setattr(self, f"{name}_l{k}", p)

    def layer_parameters(self, k: int):
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer k (biases None if no bias)."""
        return tuple(getattr(self, f"{n}_l{k}", None)
                     for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def zero_state(self, batch_size: int, dtype=None, device=None):
        """A state of zeros: a list of ``(h, c)`` Tensors (B, H), one pair per layer."""
        dt = dtype if dtype is not None else self.weight_hh_l0.dtype
        shape = (int(batch_size), self.hidden_size)
        return [(zeros(shape, dt, device), zeros(shape, dt, device))
                for _ in range(self.num_layers)]

    def step(self, x: Tensor, state=None, fused: bool | None = None):
        """One time step through every layer: ``(h_top, new_state)``. ``fused`` chooses the
        cell for this call (default: the module's ``fused``); second derivatives need the
        composed cell (``fused=False``)."""
        if state is None:
            state = [None] * self.num_layers
        if len(state) != self.num_layers:
            raise ValueError(
                f"LSTM.step: state has {len(state)} layer(s), expected {self.num_layers}"
            )
        cell = _cell(self.fused if fused is None else fused)
        new_state = []
        for k, s in enumerate(state):
            h, c = (None, None) if s is None else s
            h, c = cell(x, h, c, *self.layer_parameters(k))
            new_state.append((h, c))
            x = h
        return x, new_state

    def forward(self, xs: Tensor, state=None):
        """Run over a sequence xs (T, B, I): ``(outputs (T, B, H), new_state)``."""
        if xs.ndim != 3:
            raise ValueError(f"LSTM: input must have shape (T, B, input_size), got {xs.shape}")
        outputs = []
        for t in range(xs.shape[0]):
            h, state = self.step(getitem(xs, t), state)
            outputs.append(h)
        return stack(outputs, axis=0), state

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, forget_bias={self.forget_bias}, fused={self.fused}, "
                f"init={self.init!r}")


def detach_state(state):
    """The same state cut off from the graph (for truncated backpropagation through time).

    Accepts a Tensor, an ``(h, c)`` pair, a list of pairs (an :class:`LSTM` state), or None;
    returns the same structure of detached Tensors sharing the same arrays. Gradients of a loss
    computed after the cut stop at the detached tensors and never reach earlier chunks.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple):
        return tuple(detach_state(s) for s in state)
    if isinstance(state, list):
        return [detach_state(s) for s in state]
    raise TypeError(
        f"detach_state: expected a Tensor, a tuple/list of them or None, got {type(state).__name__}"
    )
