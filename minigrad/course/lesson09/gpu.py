"""Section 5: one meta-iteration on a GPU through CuPy, or the reason it cannot run here."""

from __future__ import annotations

import time

from minigrad.backend import cupy_status, default_device, set_backend
from minigrad.l2l import (
    LSTMOptimizer,
    MetaConfig,
    MetaTrainer,
    net_defaults,
)

from ._shared import FUNCTIONS
from .quadratic_families import FamilyProblem


def gpu_meta_iteration(functions: int = FUNCTIONS, steps: int = 10, unroll_length: int = 5,
                       seed: int = 0) -> dict:
    """One meta-iteration on the GPU when CuPy can use one, and the same on the CPU.

    Returns ``{"ran": False, "reason": ...}`` when CuPy cannot be used (nothing else is
    done), else ``ran``, ``reason``, ``gpu_loss`` and ``cpu_loss`` (the iteration's mean
    optimizee loss on each: the same problem, weights and seed, so they agree up to float32
    rounding), ``gpu_seconds`` and ``cpu_seconds``. The default backend is restored after.
    """
    ok, reason = cupy_status()
    if not ok:
        return {"ran": False, "reason": reason}
    previous = "numpy" if default_device() == "cpu" else "cupy"
    out = {"ran": True, "reason": reason}
    try:
        for backend, device in (("cupy", "gpu"), ("numpy", "cpu")):
            set_backend(backend)
            net = LSTMOptimizer(**net_defaults("quadratic"), seed=seed,
                                device=default_device())
            trainer = MetaTrainer(net, FamilyProblem("paper: Gaussian, summed", functions),
                                  MetaConfig(steps=steps, unroll=unroll_length, seed=seed))
            start = time.perf_counter()
            out[f"{device}_loss"] = trainer.train_iteration()
            out[f"{device}_seconds"] = time.perf_counter() - start
    finally:
        set_backend(previous)
    return out
