"""Sizes checked up front: the memory an ``evaluate`` or ``reproduce`` request needs, estimated
before any work, so that a request that cannot fit is refused with the flag to change instead
of failing with a MemoryError after minutes of work.

The estimates are deliberately rough upper bounds of what grows with the request:

* the protocol (:func:`~minigrad.l2l.evaluate.run_experiments`) keeps every loss curve it
  computes, (steps + 1) float64 values per run: each baseline at each learning rate of the
  grid on the validation runs, and each optimizer on the test runs; stacking and summarising
  them copies them, so three times that is counted;
* each worker process of ``reproduce`` holds Python, NumPy, minigrad and its rollouts: about
  :data:`WORKER_BYTES` (the whole of a full ``reproduce`` peaked at 110 MiB, README).

The memory available is the kernel's ``MemAvailable`` (``/proc/meminfo``), else the physical
memory; where neither can be read nothing is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["WORKER_BYTES", "RequestTooLarge", "available_memory", "check_fits",
           "human_bytes", "protocol_bytes"]

#: Bytes kept per optimizee loss: one float64, and room for two copies.
BYTES_PER_LOSS = 3 * 8
#: Memory of one ``reproduce`` worker process (Python, NumPy, minigrad, its rollouts).
WORKER_BYTES = 150 * 2**20


class RequestTooLarge(ValueError):
    """A request needs more memory than the machine has (the message names the flags)."""


def protocol_bytes(*, steps: int, runs: int, val_runs: int, baselines: int, grid: int,
                   learned: bool = True) -> int:
    """Estimated bytes of the loss curves one evaluation protocol keeps (module docstring)."""
    curves = baselines * grid * val_runs + (baselines + int(learned)) * runs
    return curves * (steps + 1) * BYTES_PER_LOSS


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation, or None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_fits(need: int, what: str, change: str, available: int | None = None) -> None:
    """Raise :class:`RequestTooLarge` if ``need`` bytes exceed the memory available: the
    message names the request (``what``), both sizes and the flags to ``change``."""
    available = available_memory() if available is None else available
    if available is not None and need > available:
        raise RequestTooLarge(f"{what} needs about {human_bytes(need)} of memory, more than the "
                              f"{human_bytes(available)} available; nothing was computed. "
                              f"Lower {change}")
