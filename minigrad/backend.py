"""Array backends: NumPy by default, CuPy as a drop-in replacement.

Every op in minigrad is written once against an array module ``xp`` obtained with
:func:`get_array_module` (the Chainer idiom), so the same code runs on NumPy arrays on the CPU
and on CuPy arrays on a GPU.

Selecting a backend
-------------------
``MINIGRAD_BACKEND`` (read when minigrad is imported, changeable with :func:`set_backend`):

* ``numpy`` (default): CPU arrays.
* ``cupy``: GPU arrays. If CuPy is not installed, or is installed but finds no usable GPU or
  driver, this raises :class:`BackendError` saying which; there is no silent fallback.
* ``auto``: CuPy when a GPU actually works, otherwise NumPy.

Devices are named ``"cpu"`` (NumPy) and ``"cuda"`` (CuPy).
"""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "BackendError",
    "DTYPES",
    "as_dtype",
    "cupy_status",
    "default_device",
    "device_of",
    "get_array_module",
    "get_default_dtype",
    "get_xp",
    "set_backend",
    "set_default_dtype",
    "to_device",
]

#: Floating dtypes a Tensor may hold, by name.
DTYPES = {"float32": np.float32, "float64": np.float64}

BACKENDS = ("numpy", "cupy", "auto")


class BackendError(RuntimeError):
    """A backend was asked for that cannot work here (the message says why)."""


_state = {"device": "cpu", "dtype": np.dtype(np.float32)}


def cupy_status() -> tuple[bool, str]:
    """Return ``(usable, reason)`` for CuPy on this machine, without raising.

    ``reason`` distinguishes "not installed", "no GPU/driver" and "works".
    """
    try:
        import cupy  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the machine
        return False, (
            f"CuPy is not installed ({exc}). Install it with `pip install -e \".[cuda12]\"` "
            "(or the cupy wheel matching your CUDA version)."
        )
    try:
        if not cupy.is_available():
            return False, (
                "CuPy is installed but no usable GPU was found (cupy.is_available() is False: "
                "no NVIDIA GPU, or the CUDA driver is missing or too old)."
            )
        cupy.zeros(1).sum().item()
    except Exception as exc:  # pragma: no cover - needs a broken GPU setup
        return False, f"CuPy is installed but the GPU does not work: {type(exc).__name__}: {exc}"
    return True, f"CuPy {cupy.__version__} on {cupy.cuda.runtime.getDeviceCount()} GPU(s)"


def _require_cupy():
    ok, reason = cupy_status()
    if not ok:
        raise BackendError(f"the 'cupy' backend was requested but cannot be used: {reason}")
    import cupy

    return cupy


def set_backend(name: str) -> str:
    """Select the default device for new tensors: ``"numpy"``, ``"cupy"`` or ``"auto"``.

    Returns the device now in use (``"cpu"`` or ``"cuda"``).
    """
    name = str(name).strip().lower()
    if name not in BACKENDS:
        raise BackendError(
            f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)} "
            "(set MINIGRAD_BACKEND or call minigrad.set_backend)"
        )
    if name == "numpy":
        _state["device"] = "cpu"
    elif name == "cupy":
        _require_cupy()
        _state["device"] = "cuda"
    else:
        _state["device"] = "cuda" if cupy_status()[0] else "cpu"
    return _state["device"]


def default_device() -> str:
    """The device new tensors are created on (``"cpu"`` or ``"cuda"``)."""
    return _state["device"]


def get_xp(device: str | None = None):
    """The array module for ``device`` (default: the current default device)."""
    device = default_device() if device is None else _check_device(device)
    if device == "cpu":
        return np
    return _require_cupy()


def _check_device(device: str) -> str:
    if device not in ("cpu", "cuda"):
        raise BackendError(f"unknown device {device!r}; expected 'cpu' (NumPy) or 'cuda' (CuPy)")
    return device


def get_array_module(*arrays):
    """Return ``numpy`` or ``cupy`` according to the arrays given (Chainer's idiom).

    Objects that are not arrays (Python scalars, None) are ignored. Tensors are looked through.
    """
    for a in arrays:
        a = getattr(a, "data", a) if not isinstance(a, np.ndarray) else a
        if type(a).__module__.startswith("cupy"):
            import cupy

            return cupy
    return np


def device_of(array) -> str:
    """``"cuda"`` for a CuPy array, ``"cpu"`` otherwise."""
    return "cuda" if type(array).__module__.startswith("cupy") else "cpu"


def to_device(array, device: str):
    """Copy ``array`` to ``device`` (no copy if it is already there)."""
    device = _check_device(device)
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return _require_cupy().asarray(array)


def as_dtype(dtype) -> np.dtype:
    """Normalise a dtype given by name or object; only float32 and float64 are allowed."""
    if dtype is None:
        return _state["dtype"]
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise TypeError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
        return np.dtype(DTYPES[dtype])
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"unsupported dtype {dt}; minigrad tensors are float32 or float64")
    return dt


def get_default_dtype() -> np.dtype:
    """The dtype of new tensors (float32 unless changed)."""
    return _state["dtype"]


def set_default_dtype(dtype) -> None:
    """Set the dtype of new tensors: ``"float32"`` (default) or ``"float64"``."""
    _state["dtype"] = as_dtype(dtype)


set_backend(os.environ.get("MINIGRAD_BACKEND", "numpy"))
