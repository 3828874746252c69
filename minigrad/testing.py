"""Gradient checking: compare the engine's gradients with central differences.

For a function f of inputs x and a fixed random weighting w of its output, the scalar
L(x) = sum(w * f(x)) has, for every input entry x_i,

    dL/dx_i  ~=  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)        (error O(eps^2))

This is only trustworthy in float64 (float32 rounding at eps = 1e-6 swamps the difference), so
:func:`gradcheck` insists on float64 inputs. Entries are compared by the relative error
|a - n| / max(|a|, |n|, atol / rtol); the worst entry is reported on failure (CS231n's recipe).
Kinks (relu at 0, abs at 0, max with ties) give false alarms: keep inputs away from them.
"""

from __future__ import annotations

import numpy as np

from .autograd import grad
from .tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "numerical_grad"]


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree (the message names the worst entry)."""


def _scalarize(out: Tensor, weights):
    return (out * weights).sum() if out.size != 1 or out.ndim else out


def numerical_grad(fn, inputs, weights=None, eps=1e-6):
    """Central-difference gradient of sum(weights * fn(*inputs)) for each input (arrays)."""
    grads = []
    for x in inputs:
        g = np.zeros(x.shape)
        # Perturb x's own array in place, entry by entry, then restore it. (A reshape of a
        # non-contiguous array would be a copy, and perturbing it would change nothing.)
        for i in np.ndindex(*x.shape):
            old = x.data[i].item()
            x.data[i] = old + eps
            plus = _scalarize(fn(*inputs), weights).item()
            x.data[i] = old - eps
            minus = _scalarize(fn(*inputs), weights).item()
            x.data[i] = old
            g[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def _compare(name, analytic, numeric, atol, rtol):
    worst = None
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        a = np.zeros_like(n) if a is None else np.asarray(a, dtype=np.float64)
        err = np.abs(a - n)
        ok = err <= atol + rtol * np.abs(n)
        if not ok.all():
            rel = err / np.maximum(np.maximum(np.abs(a), np.abs(n)), atol / rtol)
            i = np.unravel_index(np.argmax(np.where(ok, -1.0, rel)), n.shape)
            cand = (rel[i], k, i, a[i], n[i], int((~ok).sum()), n.size)
            worst = cand if worst is None or cand[0] > worst[0] else worst
    if worst is not None:
        rel, k, i, a, n, bad, total = worst
        where = tuple(int(v) for v in i)
        raise GradcheckError(
            f"{name}: {bad}/{total} entries of input {k} disagree; worst at index {where}: "
            f"analytic {a:.8g} vs numerical {n:.8g} (relative error {rel:.3g})"
        )


def _check_inputs(inputs):
    inputs = list(inputs)
    for k, x in enumerate(inputs):
        if not isinstance(x, Tensor) or x.dtype != np.float64 or not x.requires_grad:
            raise TypeError(
                f"gradcheck: input {k} must be a float64 Tensor with requires_grad=True "
                "(central differences are meaningless in float32)"
            )
        if x.device != "cpu":
            raise TypeError("gradcheck: run it on CPU tensors (.to('cpu'))")
    return inputs


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0) -> bool:
    """Check ``grad`` of ``fn(*inputs)`` against central differences; raise on mismatch.

    ``fn`` returns a Tensor of any shape; its output is weighted by fixed random weights so
    every output entry is tested. Returns True when the check passes.
    """
    inputs = _check_inputs(inputs)
    out = fn(*inputs)
    rng = np.random.default_rng(seed)
    weights = Tensor(rng.standard_normal(out.shape), dtype="float64")
    scalar = _scalarize(out, weights)
    if scalar.requires_grad:
        analytic = grad(scalar, inputs, allow_unused=True)
        analytic = [None if g is None else g.numpy() for g in analytic]
    else:  # the output is a constant as far as the engine knows: its gradient is zero
        analytic = [None] * len(inputs)
    numeric = numerical_grad(fn, inputs, weights, eps)
    _compare("gradcheck", analytic, numeric, atol, rtol)
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=1) -> bool:
    """Check second derivatives: gradcheck of x -> sum(v * d/dx sum(w * fn(x))).

    The first derivative is built with ``create_graph=True`` and differentiated again, so this
    tests every op's backward as a differentiable function.
    """
    inputs = _check_inputs(inputs)
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    weights = Tensor(rng.standard_normal(out.shape), dtype="float64")
    vs = [Tensor(rng.standard_normal(x.shape), dtype="float64") for x in inputs]

    def first_derivative(*xs):
        gs = grad(_scalarize(fn(*xs), weights), list(xs), create_graph=True, allow_unused=True)
        total = None
        for g, v in zip(gs, vs):
            if g is not None:
                term = (g * v).sum()
                total = term if total is None else total + term
        if total is None:  # fn does not depend on the inputs at all
            return Tensor(np.zeros(()), dtype="float64")
        # A first derivative cut from the graph is returned as the constant it is: its
        # numerical derivative then disagrees with the zero the engine reports, and the
        # check fails, as it must.
        return total

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
