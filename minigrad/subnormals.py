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

What we do about it. Two standard remedies exist, and minigrad uses both, in the one place
where it pays: the fused LSTM cell (:mod:`minigrad.nn.fused_lstm`).

* Flushing the values to zero in the arrays (:func:`flush_subnormals_`): the cell's backward
  flushes the gradient it receives and every gradient it computes. Portable (every CPU, NumPy
  and CuPy alike), but it costs passes over the arrays, and it cannot reach inside a matrix
  product: a product of normal but tiny numbers (a 1e-36 gradient times a 0.1 weight) has
  subnormal partial sums, and BLAS then runs several times slower.
* The CPU's flush-to-zero (FTZ: results below ``tiny`` become 0) and denormals-are-zero (DAZ:
  subnormal inputs are read as 0) modes, bits 15 and 6 of the x86 SSE/AVX control register
  MXCSR (what ``torch.set_flush_denormal(True)`` sets). They cost nothing per operation and
  reach inside BLAS, but they belong to one thread, NumPy has no switch for them, and they
  exist only on some architectures. :func:`cpu_flush_to_zero` sets them for the duration of a
  ``with`` block in the calling thread, through the C library's ``fegetenv``/``fesetenv``
  (ctypes, on x86-64 Linux), and restores the previous mode after. The cell enters it in every
  thread that runs its blocks (BLAS runs there too: one BLAS thread inside the blocks, see
  :mod:`minigrad.threads`); where the mode is on, :func:`flush_subnormals_` has nothing left to
  do and returns at once. Where it is unavailable (other CPUs, other systems, a GPU), the
  array flush does the whole job.

Both change only values below 1.2e-38 to 0: a change far below float32's rounding of any number
the meta-gradient is made of (its sums are dominated by normal entries); the tests compare.

``keep_subnormals()`` turns both off inside a ``with`` block, to measure the cliff
(``benchmarks/profile_meta.py`` and the tests use it).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import platform
import sys
import threading

from .backend import get_array_module

__all__ = ["count_subnormals", "cpu_flush_to_zero", "cpu_mode_available", "flush_enabled",
           "flush_subnormals_", "keep_subnormals"]

_state = {"flush": True}
_thread = threading.local()  # .cpu: the CPU mode is on in this thread (inside cpu_flush_to_zero)

# MXCSR bits: FTZ (flush results to zero) and DAZ (read subnormal inputs as zero).
_FTZ_DAZ = (1 << 15) | (1 << 6)
# glibc's x86-64 fenv_t: the x87 environment (28 bytes), then MXCSR (4 bytes).
_FENV_WORDS, _MXCSR_WORD = 8, 7


def _load_fenv():
    """The C library's fegetenv/fesetenv where MXCSR is reachable through them, else None."""
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        get, put = libm.fegetenv, libm.fesetenv
    except (OSError, AttributeError):
        return None
    env = (ctypes.c_uint32 * _FENV_WORDS)()
    if get(env) != 0:
        return None
    before = env[_MXCSR_WORD]
    trial = (ctypes.c_uint32 * _FENV_WORDS)(*env)
    trial[_MXCSR_WORD] = before | _FTZ_DAZ
    check = (ctypes.c_uint32 * _FENV_WORDS)()
    works = put(trial) == 0 and get(check) == 0 and check[_MXCSR_WORD] & _FTZ_DAZ == _FTZ_DAZ
    put(env)  # as it was
    return (get, put) if works else None


_FENV = _load_fenv()


def cpu_mode_available() -> bool:
    """Whether :func:`cpu_flush_to_zero` can set the CPU's FTZ/DAZ modes here."""
    return _FENV is not None


@contextlib.contextmanager
def cpu_flush_to_zero():
    """Inside this block the calling thread runs with the CPU's flush-to-zero and
    denormals-are-zero modes on (x86-64 Linux); the previous mode is restored on exit, also
    after an exception. Yields True when the mode is on, False when it is unavailable here or
    turned off by :func:`keep_subnormals` (then nothing changes). Nests."""
    if _FENV is None or not _state["flush"] or getattr(_thread, "cpu", False):
        yield bool(getattr(_thread, "cpu", False))
        return
    get, put = _FENV
    saved = (ctypes.c_uint32 * _FENV_WORDS)()
    get(saved)
    mode = (ctypes.c_uint32 * _FENV_WORDS)(*saved)
    mode[_MXCSR_WORD] |= _FTZ_DAZ
    put(mode)
    _thread.cpu = True
    try:
        yield True
    finally:
        _thread.cpu = False
        put(saved)


def flush_enabled() -> bool:
    """Whether :func:`flush_subnormals_` flushes (True unless inside :func:`keep_subnormals`)."""
    return _state["flush"]


@contextlib.contextmanager
def keep_subnormals():
    """Inside this block, :func:`flush_subnormals_` leaves arrays unchanged and
    :func:`cpu_flush_to_zero` leaves the CPU's mode alone (the slow, exact arithmetic on
    subnormals): for measuring the cliff and for tests."""
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

    Nothing to do (``a`` is returned as it is) when the calling thread is inside
    :func:`cpu_flush_to_zero`: there the CPU reads subnormals as zero and produces none, so
    the arrays computed in it hold none, and an input that does is read as zeros.
    """
    if not _state["flush"] or getattr(_thread, "cpu", False):
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
