"""Section 3: the environment, what this machine has (versions, cores, GPU)."""

from __future__ import annotations

import os
import platform

import numpy as np

import minigrad as mg
from minigrad import backend


def environment_report() -> dict:
    """What this kernel computes with: versions, backend, default device and dtype, CuPy.

    Keys: ``python``, ``numpy``, ``minigrad``, ``MINIGRAD_BACKEND`` (the environment variable,
    or None), ``device`` (``"cpu"`` or ``"cuda"``), ``array_module`` (``"numpy"`` or
    ``"cupy"``), ``dtype`` (the default dtype's name), ``cupy_usable`` and ``cupy_reason``
    (from :func:`minigrad.backend.cupy_status`).
    """
    usable, reason = backend.cupy_status()
    device = backend.default_device()
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "minigrad": mg.__version__,
        "MINIGRAD_BACKEND": os.environ.get("MINIGRAD_BACKEND"),
        "device": device,
        "array_module": "numpy" if device == "cpu" else "cupy",
        "dtype": str(backend.get_default_dtype()),
        "cupy_usable": usable,
        "cupy_reason": reason,
    }


def format_environment(report: dict | None = None) -> str:
    """The report as a few aligned lines for the notebook."""
    r = environment_report() if report is None else report
    where = "CuPy on the GPU" if r["device"] == "cuda" else "NumPy on the CPU"
    env = r["MINIGRAD_BACKEND"]
    lines = [
        f"Python      {r['python']}",
        f"NumPy       {r['numpy']}",
        f"minigrad    {r['minigrad']}",
        f"backend     {where} (default device {r['device']!r}, arrays from "
        f"{r['array_module']}); MINIGRAD_BACKEND is "
        + (f"{env!r}" if env is not None else "not set (so 'numpy')"),
        f"dtype       {r['dtype']} (new tensors; float64 where precision matters)",
        f"CuPy        {'usable' if r['cupy_usable'] else 'not usable'}: {r['cupy_reason']}",
    ]
    return "\n".join(lines)
