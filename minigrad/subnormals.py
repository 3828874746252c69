"""Subnormal floats: what they are, why they are slow, and how minigrad removes them.

A float32 has 8 exponent bits; the smallest *normal* positive value is
``finfo(float32).tiny = 2**-126 ~ 1.2e-38``. Below it, down to ``2**-149 ~ 1.4e-45``, lie the
*subnormal* (denormal) numbers: the exponent is stuck at its minimum and precision drains out of
the mantissa. On x86 CPUs a multiplication or division whose input or output is subnormal falls
off the fast path into a microcode assist that costs on the order of a hundred cycles, so an
array operation over a block where a few percent of the entries are subnormal can run several
times slower than the same operation over normal numbers.

Where they come from in this course. Meta-training the learned optimizer on the MNIST MLP pushes
some hidden sigmoid units into saturation; their gradients (and so some coordinates of the
optimizee gradient g_t) become 1e-30 or smaller. The meta-gradient flowing back through the
coordinatewise LSTM for those coordinates is of the same size, and multiplying it by gate
derivatives such as o (1 - o) lands below 1.2e-38: once the optimizer has moved, a few
percent of the entries reaching the fused LSTM cell's backward are subnormal
(``count_subnormals`` counts them; ``tests/test_subnormals.py`` shows the count without
flushing), and that backward then takes most of a meta-iteration's time
(``benchmarks/profile_meta.py`` compares the two).

What we do about it. Two standard remedies exist:

* the CPU's flush-to-zero / denormals-are-zero modes (what ``torch.set_flush_denormal(True)``
  sets): a per-thread control register, not reachable from NumPy, different on every
  architecture, and not inherited by BLAS threads created earlier;
* flushing the values to zero in the arrays where they are produced (this module).

minigrad flushes explicitly, in the one place where it pays: the fused LSTM cell's backward
(:mod:`minigrad.nn.fused_lstm`) flushes the gradient it receives and every gradient it computes.
That keeps the hot loop free of subnormals on every CPU, for NumPy and CuPy alike, and leaves the
rest of the engine exact. Changing a value below 1.2e-38 to 0 is a change far below float32's
rounding of any number the meta-gradient is made of (its sums are dominated by normal entries).

``keep_subnormals()`` turns the flushing off inside a ``with`` block, to measure the cliff
(``python -m minigrad.l2l bench`` and the tests use it).
"""

from __future__ import annotations

import contextlib

from .backend import get_array_module

__all__ = ["count_subnormals", "flush_enabled", "flush_subnormals_", "keep_subnormals"]

_state = {"flush": True}


def flush_enabled() -> bool:
    """Whether :func:`flush_subnormals_` flushes (True unless inside :func:`keep_subnormals`)."""
    return _state["flush"]


@contextlib.contextmanager
def keep_subnormals():
    """Inside this block, :func:`flush_subnormals_` leaves arrays unchanged (the slow, exact
    arithmetic on subnormals): for measuring the cliff and for tests."""
    previous = _state["flush"]
    _state["flush"] = False
    try:
        yield
    finally:
        _state["flush"] = previous


def flush_subnormals_(a):
    """Set the subnormal entries of the floating array ``a`` to zero, in place; return ``a``.

    ``a[0 < |a| < tiny] = 0`` with ``tiny = finfo(a.dtype).tiny`` (zeros stay zeros, so the
    mask is simply ``|a| < tiny``). Costs two passes over ``a`` and a boolean temporary.
    """
    if not _state["flush"]:
        return a
    xp = get_array_module(a)
    tiny = xp.finfo(a.dtype).tiny
    xp.copyto(a, 0, where=xp.abs(a) < tiny)
    return a


def count_subnormals(a) -> int:
    """The number of subnormal entries (``0 < |a| < tiny``) of a floating array."""
    xp = get_array_module(a)
    mag = xp.abs(a)
    return int(xp.count_nonzero((mag > 0) & (mag < xp.finfo(a.dtype).tiny)))
