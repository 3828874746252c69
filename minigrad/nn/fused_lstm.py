"""The fused LSTM cell: one graph node whose forward and backward are written on arrays.

This is the hot path of the course: the learned optimizer runs a 2-layer LSTM on a batch of
about 16,000 coordinates at every step of every unroll. The composed cell
(:func:`minigrad.nn.functional.lstm_cell`) records 20 graph nodes per step, each with its own
temporaries; this one records 5: one fused node, which keeps only what the hand-written
backward needs and runs every elementwise operation in place on large contiguous blocks, and
the four cheap views (``getitem``, ``transpose``) that hand out h' and c'.

The math (PyTorch's LSTM, gates in the order i, f, g, o)::

    a = [x, h] [W_ih, W_hh]^T + b_ih + b_hh            a = (a_i, a_f, a_g, a_o), each H wide
    i = sigma(a_i)   f = sigma(a_f)   g = tanh(a_g)   o = sigma(a_o)
    c' = f * c + i * g
    h' = o * tanh(c')

Backward, given dL/dh' and dL/dc' (and writing s' = s (1 - s) for a sigmoid s)::

    dL/dc'_total = dL/dc' + dL/dh' * o * (1 - tanh(c')^2)
    da_o = dL/dh' * tanh(c') * o (1 - o)
    da_i = dL/dc'_total * g * i (1 - i)
    da_f = dL/dc'_total * c * f (1 - f)
    da_g = dL/dc'_total * i * (1 - g^2)
    dL/dc = dL/dc'_total * f
    dL/d[x, h] = da [W_ih, W_hh]      dL/dW_ih = da^T x     dL/dW_hh = da^T h
    dL/db_ih = dL/db_hh = sum over the batch of da

Layout. Internally everything is FEATURE-MAJOR: the gates are one (4H, B) array, so each gate
is a contiguous (H, B) block and every elementwise pass runs over contiguous memory; the
matrix products are ``(4H, K) @ (K, B)``, good shapes for BLAS. The cell's outputs h' and c'
are the two halves of one (2, H, B) array, handed out as (B, H) *transposed views*: values and
shapes are the ordinary ones, and when they come back in as the next step's h and c their
transposes are contiguous again, so nothing is copied from step to step.

What backward keeps (per step, B rows): the activated gates (4H), tanh(c') (H), the new
(h', c') (2H: the outputs themselves, alive anyway), and references to x, h and c (alive
anyway): 7H floats per row, about as much as the composed cell and PyTorch's CPU LSTMCell.
Keeping tanh(c') saves backward one exponential per entry of c' (a few percent of an unroll;
``benchmarks/bench_lstm.py`` times the cell).

Blocks. On the CPU the B coordinates are processed in blocks of :data:`BLOCK` columns: each
block's gates, gradients and states fit in the core's L2 cache, so the forty-odd elementwise
passes of a step read cache instead of memory. The blocks are independent except for the
weight gradients, which are summed over them.

Subnormal floats. Each block runs with the CPU's flush-to-zero mode on where the CPU has one
(x86-64 Linux), and backward flushes its arrays where it has not
(:mod:`minigrad.subnormals` says why both).

Speed and memory: ``python benchmarks/bench_lstm.py`` times this cell against the composed
one and PyTorch's CPU LSTMCell, and measures their memory; ``benchmarks/PROFILE.md`` says
where a meta-iteration's time goes (the matrix products, the exponentials, the elementwise
passes).

Only first derivatives: backward is written on arrays, so it cannot be differentiated again.
With ``create_graph=True`` it raises; use the composed cell for second derivatives.
"""

from __future__ import annotations

import contextlib

from ..backend import get_array_module
from ..function import Function
from ..grad_mode import is_grad_enabled
from ..ops import getitem, transpose
from ..subnormals import cpu_flush_to_zero, flush_subnormals_
from ..tensor import Tensor
from ..threads import map_blocks, worker_count
from .functional import check_lstm_shapes

__all__ = ["FusedLSTMCellFunction", "fused_lstm_cell", "zero_state_like"]


def _errstate(xp):
    """Silence NumPy's overflow warning for exp(large) = inf, which is intended here:
    1 / (1 + inf) = 0 is the correct limit of the sigmoid. (CuPy never warns.)"""
    if hasattr(xp, "errstate"):
        return xp.errstate(over="ignore")
    return contextlib.nullcontext()


def _tanh_into(c, out, xp):
    """out = tanh(c) = 2 / (1 + exp(-2c)) - 1 (exp is NumPy's cheapest transcendental)."""
    xp.multiply(c, -2.0, out=out)
    with _errstate(xp):
        xp.exp(out, out=out)
    out += 1.0
    xp.reciprocal(out, out=out)
    out *= 2.0
    out -= 1.0
    return out


def _as_feature_major(a, xp):
    """``a.T`` for a (B, n) array, made C-contiguous (a free view when ``a`` came from here)."""
    t = a.T
    return t if t.flags.c_contiguous else xp.ascontiguousarray(t)


#: Coordinates (columns of the (4H, B) gate block) handled at a time on the CPU. A block of
#: 512 keeps the gates, their gradients and the states of one block (about 0.6 MB at H = 20)
#: in the core's L2 cache through the forty-odd elementwise passes of a step, instead of
#: streaming 6 MB arrays from memory for each pass. The gain is small on an idle machine and
#: large while another process competes for memory bandwidth: measure it with
#: ``python benchmarks/bench_blocks.py`` and ``--contend`` (it prints the ratios).
BLOCK = 512


def _default_block(B: int, xp) -> int:
    """The block size when the caller gives none: the whole batch on a GPU (each block is a
    few kernel launches) and for a small batch (the quadratics' 1,280 coordinates fit the
    cache whole); :data:`BLOCK` on one thread; on worker threads two blocks per thread, since
    NumPy holds the GIL between its calls, and small blocks on 2 threads were slower than one
    thread (``python benchmarks/bench_meta.py --threads 1,2`` times a meta-iteration with this
    choice; ``benchmarks/bench_blocks.py`` compares block sizes)."""
    if xp.__name__ != "numpy" or B <= 4 * BLOCK:
        return B
    n = worker_count()
    return BLOCK if n == 1 else max(BLOCK, -(-B // (2 * n)))


def _blocks(B: int, block: int):
    """Column slices [0, block), [block, 2 block), ... covering range(B)."""
    return [slice(j, min(j + block, B)) for j in range(0, B, block)]


class FusedLSTMCellFunction(Function):
    """One LSTM step as one graph node (see the module docstring for the math and layout).

    Inputs: x (B, I), h (B, H), c (B, H), w_ih (4H, I), w_hh (4H, H) and, when ``bias`` is
    True, b_ih (4H,), b_hh (4H,). Output: one (2, H, B) array holding h'^T and c'^T.
    Parameter ``block``: coordinates per block (see :data:`BLOCK`); the result does not depend
    on it beyond float rounding of the weight gradients' sums.

    Activations. Every gate is computed from ONE exponential per entry: sigma(a) =
    1 / (1 + e^-a), and tanh(a) = 2 sigma(2a) - 1. The signs and the factor 2 are folded into
    the (small) stacked weight matrix, so the matrix product yields the exponent directly and
    the whole (4H, n) block goes through a single exp, +1, 1/x.
    """

    save_inputs = False

    @staticmethod
    def forward(ctx, x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, block=None):
        xp = get_array_module(x)
        B, In = x.shape
        H = w_hh.shape[1]
        K = In + H
        bias = b_ih is not None
        # s * [W_ih, W_hh, b_ih + b_hh] (4H, K+1), with s = -1 on the rows of i, f, o and -2
        # on the rows of g, so that the product with [x^T; h^T; 1] gives the exponents.
        w = xp.empty((4 * H, K + bias), x.dtype)
        w[:, :In] = w_ih
        w[:, In:K] = w_hh
        if bias:
            xp.add(b_ih, b_hh, out=w[:, K])
        w *= -1.0
        w[2 * H : 3 * H] *= 2.0
        c_t = _as_feature_major(c, xp)
        out = xp.empty((2, H, B), x.dtype)
        if block is None:
            block = _default_block(B, xp)
        done = map_blocks(_in_cpu_flush_mode(
            lambda cols: _forward_block(w, x[cols], h[cols], c_t[:, cols], out[:, :, cols], xp)),
            _blocks(B, block))
        gates, tanh_c = [g for g, _ in done], [t for _, t in done]
        ctx.x, ctx.h, ctx.c_t, ctx.w_ih, ctx.w_hh = x, h, c_t, w_ih, w_hh
        ctx.gates, ctx.tanh_c, ctx.bias, ctx.block = gates, tanh_c, bias, block
        return out

    @staticmethod
    def backward(ctx, grad):
        if is_grad_enabled():
            raise RuntimeError(
                "fused_lstm_cell: its backward is written on arrays and cannot be "
                "differentiated again (create_graph=True was asked). Use the composed cell "
                "instead: LSTM(..., fused=False) / LSTMCell(..., fused=False) or "
                "minigrad.nn.functional.lstm_cell"
            )
        ctx._check_alive()
        xp = get_array_module(grad.data)
        need = [n is not None for n in ctx.next]
        w_ih, w_hh = ctx.w_ih, ctx.w_hh
        H, B = ctx.c_t.shape
        In = w_ih.shape[1]
        dt = grad.data.dtype
        # Results: dL/d[x, h] (K, B), dL/dc (H, B), and the weight gradients summed over blocks.
        w_t = xp.concatenate([w_ih, w_hh], axis=1).T.copy()  # (K, 4H), small
        dxh = xp.empty((In + H, B), dt) if (need[0] or need[1]) else None
        dc_prev = xp.empty((H, B), dt) if need[2] else None
        want_db = ctx.bias and (need[5] or need[6])

        def block_backward(item):
            k, cols = item
            da = _backward_block(ctx.gates[k], ctx.tanh_c[k], ctx.c_t[:, cols],
                                 grad.data[:, :, cols],
                                 None if dc_prev is None else dc_prev[:, cols], xp)
            if dxh is not None:
                flush_subnormals_(xp.matmul(w_t, da, out=dxh[:, cols]))
            # Two products rather than one against [x, h]: OpenBLAS is much faster on these
            # (4H, n) @ (n, 20) shapes than on (4H, n) @ (n, 40), and no concatenation is kept.
            return (xp.matmul(da, ctx.x[cols]) if need[3] else None,
                    xp.matmul(da, ctx.h[cols]) if need[4] else None,
                    da.sum(axis=1) if want_db else None)

        # the blocks' weight gradients, summed in block order whatever thread computed them
        parts = map_blocks(_in_cpu_flush_mode(block_backward),
                           enumerate(_blocks(B, ctx.block)))
        dw_ih = _sum_in_order([p[0] for p in parts], w_ih.shape, dt, xp) if need[3] else None
        dw_hh = _sum_in_order([p[1] for p in parts], w_hh.shape, dt, xp) if need[4] else None
        db = _sum_in_order([p[2] for p in parts], (4 * H,), dt, xp) if want_db else None
        dx = dxh[:In].T if need[0] else None
        dh_prev = dxh[In:].T if need[1] else None
        grads = [dx, dh_prev, None if dc_prev is None else dc_prev.T, dw_ih, dw_hh]
        if ctx.bias:
            # Two arrays, not one shared: an in-place change to one .grad must not touch the other.
            grads += [db if need[5] else None,
                      (db.copy() if need[5] else db) if need[6] else None]
        return tuple(None if a is None else Tensor.from_array(a) for a in grads)


def _in_cpu_flush_mode(fn):
    """``fn`` run with the CPU's flush-to-zero mode on in whatever thread runs it (the mode
    belongs to a thread; see :func:`minigrad.subnormals.cpu_flush_to_zero`): no subnormal
    arithmetic in the block's elementwise work nor in its matrix products."""
    def run(item):
        with cpu_flush_to_zero():
            return fn(item)
    return run


def _sum_in_order(arrays, shape, dtype, xp):
    total = xp.zeros(shape, dtype)
    for a in arrays:
        total += a
    return total


def _forward_block(w, x, h, c_t, out, xp):
    """The forward step for one block of n coordinates: x (n, I), h (n, H), c_t = c^T (H, n);
    writes h'^T, c'^T into ``out`` (2, H, n) and returns the activated gates (4H, n) and
    tanh(c') (H, n) that backward needs."""
    n, In = x.shape
    H = c_t.shape[0]
    K = In + H
    xh = xp.empty((w.shape[1], n), x.dtype)  # [x^T; h^T; 1]
    xh[:In] = x.T
    xh[In:K] = h.T
    if w.shape[1] > K:
        xh[K] = 1.0
    gates = xp.matmul(w, xh)  # the exponents, (4H, n)
    with _errstate(xp):
        xp.exp(gates, out=gates)
    gates += 1.0
    xp.reciprocal(gates, out=gates)  # sigma(a) for i, f, o; sigma(2 a_g) in the g rows
    i, f, g, o = gates[:H], gates[H : 2 * H], gates[2 * H : 3 * H], gates[3 * H :]
    g *= 2.0
    g -= 1.0  # tanh(a_g)
    h_new, c_new = out[0], out[1]
    xp.multiply(f, c_t, out=c_new)
    xp.multiply(i, g, out=h_new)  # h_new is scratch here
    c_new += h_new
    tanh_c = _tanh_into(c_new, xp.empty_like(xh[:H]), xp)
    xp.multiply(o, tanh_c, out=h_new)
    return gates, tanh_c


def _backward_block(gates, tanh_c, c_t, grad, dc_prev, xp):
    """Backward of one block: ``grad`` (2, H, n) holds dL/dh'^T and dL/dc'^T. Writes dL/dc^T
    into ``dc_prev`` (if not None) and returns dL/d(pre-activation gates) (4H, n).

    Subnormal floats (|x| < 1.2e-38 in float32) make every multiplication that touches them many
    times slower on x86 CPUs (see minigrad.subnormals). They reach this cell from saturated
    optimizee units, so the incoming gradient is flushed (on a copy: the array may be held
    elsewhere), and so is every gradient computed here.
    """
    H = tanh_c.shape[0]
    g_in = flush_subnormals_(grad.copy())
    dh = g_in[0]
    i, f, g, o = gates[:H], gates[H : 2 * H], gates[2 * H : 3 * H], gates[3 * H :]
    da = xp.empty_like(gates)  # dL/d(pre-activation gates), (4H, n)
    da_if, da_i, da_f = da[: 2 * H], da[:H], da[H : 2 * H]
    da_g, da_o = da[2 * H : 3 * H], da[3 * H :]
    dc = g_in[1]  # dL/dc'_total, accumulated in place of dL/dc' (our copy)
    # da_o = dh * tanh(c') * o (1 - o)
    xp.multiply(o, o, out=da_o)
    xp.subtract(o, da_o, out=da_o)
    da_o *= tanh_c
    da_o *= dh
    # dc = dL/dc'_total = dc_in + dh * o * (1 - tanh(c')^2)   (dh is ours: used as scratch)
    xp.multiply(tanh_c, tanh_c, out=da_i)  # da_i is scratch until its turn below
    xp.subtract(1.0, da_i, out=da_i)
    da_i *= o
    dh *= da_i
    dc += dh
    # da_i = dc * g * i (1 - i);  da_f = dc * c * f (1 - f)
    if_ = gates[: 2 * H]
    xp.multiply(if_, if_, out=da_if)
    xp.subtract(if_, da_if, out=da_if)
    da_if.reshape(2, H, -1)[...] *= dc
    da_i *= g
    da_f *= c_t
    # da_g = dc * i * (1 - g^2)
    xp.multiply(g, g, out=da_g)
    xp.subtract(1.0, da_g, out=da_g)
    da_g *= dc
    da_g *= i
    flush_subnormals_(da)
    if dc_prev is not None:
        # dL/dc = dc * f
        xp.multiply(dc, f, out=dc_prev)
        flush_subnormals_(dc_prev)
    return da


def zero_state_like(x: Tensor, hidden_size: int) -> Tensor:
    """A zero (B, H) state for input ``x`` (B, I), laid out as the fused cell likes it."""
    return Tensor.from_array(x.xp.zeros((hidden_size, x.shape[0]), x.dtype).T)


def fused_lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, block=None):
    """One LSTM step ``(h', c')`` computed by a single fused graph node (first derivatives).

    Same signature, math and results (to float rounding) as
    :func:`minigrad.nn.functional.lstm_cell`; ``h`` and ``c`` may be None for a zero state.
    The returned h' and c' are (B, H) views of one (2, H, B) array (see the module docstring).
    """
    check_lstm_shapes("fused_lstm_cell", x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    H = weight_hh.shape[1]
    h = zero_state_like(x, H) if h is None else h
    c = zero_state_like(x, H) if c is None else c
    if (bias_ih is None) != (bias_hh is None):
        raise ValueError("fused_lstm_cell: give both bias_ih and bias_hh, or neither")
    inputs = [x, h, c, weight_ih, weight_hh]
    if bias_ih is not None:
        inputs += [bias_ih, bias_hh]
    hc = FusedLSTMCellFunction.apply(*inputs, block=block)
    return transpose(getitem(hc, 0)), transpose(getitem(hc, 1))
