"""Grad mode: whether ops record the graph.

Inside :func:`no_grad` ops compute their results and record nothing (evaluation, optimizer
updates); :func:`enable_grad` turns recording back on inside such a block. One flag for the
process: minigrad's graph building is single-threaded.
"""

from __future__ import annotations

import contextlib

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

_state = {"enabled": True}


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad` (ops then record no graph)."""
    return _state["enabled"]


@contextlib.contextmanager
def set_grad_enabled(flag: bool):
    """Context manager: record the graph inside the block if ``flag``, not otherwise."""
    previous = _state["enabled"]
    _state["enabled"] = bool(flag)
    try:
        yield
    finally:
        _state["enabled"] = previous


def no_grad():
    """Context manager: ops inside it record no graph (evaluation, optimizer updates)."""
    return set_grad_enabled(False)


def enable_grad():
    """Context manager: record the graph again inside a :func:`no_grad` block."""
    return set_grad_enabled(True)
