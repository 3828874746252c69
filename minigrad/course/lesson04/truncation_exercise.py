"""Section 6, exercise 04.2: the truncated-BPTT loop, its check.

The learner writes ``truncated_losses(lstm, xs, k, loss_fn)`` (reference:
:func:`~minigrad.course.lesson04.truncated_bptt.truncated_losses`). The check runs it and the
reference on the same LSTM and inputs, and compares the losses (the values: detaching keeps
them), which inputs each loss's gradient reaches (the cut), and the weight gradient.
"""

from __future__ import annotations

import numpy as np

from minigrad import grad
from minigrad.course.checks import Exercise, register
from minigrad.tensor import Tensor

from .truncated_bptt import reach_matrix, truncated_losses, truncation_setup

_CASES = (  # (k, T, hidden, batch, seed)
    (3, 9, 4, 2, 0),
    (4, 10, 3, 3, 1),  # the last chunk is shorter
    (1, 4, 3, 2, 2),
    (6, 5, 3, 2, 3),   # k > T: one chunk, full BPTT
)


def _reset_loop(lstm, xs, k, loss_fn):
    """A typical mistake: every chunk starts from a ZERO state instead of a detached one."""
    losses, state = [], None
    for start in range(0, len(xs), k):
        state = None
        for x in xs[start:start + k]:
            h, state = lstm.step(x, state)
            losses.append(loss_fn(h))
    return losses


def _pattern(M) -> np.ndarray:
    return M > 0


def _diagnose_reach(got, want, k) -> str:
    T = got.shape[0]
    full = np.tril(np.ones((T, T), dtype=bool))
    every_step = np.eye(T, dtype=bool)
    s = int(np.argmax((got != want).any(axis=1)))
    reached = np.flatnonzero(got[s])
    where = (f"the loss at step {s + 1} gets a gradient from inputs "
             f"{', '.join(str(t + 1) for t in reached) or 'none'}; expected "
             f"{', '.join(str(t + 1) for t in np.flatnonzero(want[s]))}")
    if np.array_equal(got, full):
        return where + (": the gradient crosses the chunk borders, so the state was never cut: "
                        "detach it (nn.detach_state) at the start of every chunk")
    if np.array_equal(got, every_step) and k > 1:
        return where + ": the state is cut at EVERY step; cut it only where a chunk starts"
    return where + (f": each loss must reach back exactly to the start of its own chunk "
                    f"(chunks start at steps 1, {k + 1}, {2 * k + 1}, ...)")


def _check_truncated_losses(fn):
    for k, T, hidden, batch, seed in _CASES:
        label = f"T = {T} steps in chunks of k = {k}, hidden size {hidden}, batch {batch}"
        lstm, xs, loss_fn = truncation_setup(T, hidden, batch, seed)
        got = fn(lstm, xs, k, loss_fn)
        if not isinstance(got, (list, tuple)) or not all(isinstance(x, Tensor) for x in got):
            yield label, (f"expected a list of loss Tensors, one per step, got "
                          f"{type(got).__name__}")
            return
        if len(got) != T:
            yield label, (f"got {len(got)} losses, expected {T}: one loss_fn(h) after EVERY "
                          "step, not only at the ends of the chunks")
            return
        ref_lstm, ref_xs, ref_loss_fn = truncation_setup(T, hidden, batch, seed)
        want = truncated_losses(ref_lstm, ref_xs, k, ref_loss_fn)
        values = np.array([x.item() for x in got])
        ref_values = np.array([x.item() for x in want])
        if not np.allclose(values, ref_values, rtol=1e-9, atol=1e-12):
            s = int(np.argmax(~np.isclose(values, ref_values, rtol=1e-9, atol=1e-12)))
            text = f"the loss at step {s + 1} is {values[s]:.6g}, expected {ref_values[s]:.6g}"
            r_lstm, r_xs, r_loss_fn = truncation_setup(T, hidden, batch, seed)
            reset = np.array([x.item() for x in _reset_loop(r_lstm, r_xs, k, r_loss_fn)])
            if np.allclose(values, reset, rtol=1e-9, atol=1e-12):
                text += (": each chunk starts from a zero state. Detaching keeps the state's "
                         "VALUES (only its graph goes): carry nn.detach_state(state) over")
            yield label, text
            return
        M, ref_M = _pattern(reach_matrix(got, xs)), _pattern(reach_matrix(want, ref_xs))
        if not np.array_equal(M, ref_M):
            yield label, _diagnose_reach(M, ref_M, k)
            return
        total, ref_total = got[0], want[0]
        for a, b in zip(got[1:], want[1:]):
            total, ref_total = total + a, ref_total + b
        params, ref_params = lstm.parameters(), ref_lstm.parameters()
        mine = grad(total, params, allow_unused=True)
        ref = grad(ref_total, ref_params)
        for (name, _), a, b in zip(lstm.named_parameters(), mine, ref):
            a = np.zeros_like(b.numpy()) if a is None else a.numpy()
            if not np.allclose(a, b.numpy(), rtol=1e-9, atol=1e-12):
                yield label, (f"the weight gradient for {name} differs: every step must run "
                              "through lstm.step on the state carried over")
                return
        yield label, None


register(Exercise(
    id="04.2",
    title="truncated BPTT loop",
    reference=truncated_losses,
    checker=_check_truncated_losses,
    hint="the state has two parts: its values (what the LSTM remembers) and its graph (how a "
         "gradient travels back). Between chunks keep the first and cut the second, once per "
         "chunk, before its first step; a loss after every step. Still stuck: the collapsed "
         "'Hint 2' below the exercise.",
))
