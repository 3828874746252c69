"""Section 6, exercise 05.2: the coordinatewise optimizer module, its reference (the library's
:class:`~minigrad.l2l.LSTMOptimizer`) and its check.

The learner writes a small :class:`~minigrad.nn.Module` with the constructor
``(hidden_size, num_layers, output_scale, preprocess)`` and a method
``update(grad, state) -> (delta, new_state)``: the gradient (n,) becomes an (n, input_size)
batch of rows, a stacked LSTM (``self.lstm``) steps once, a linear head (``self.head``) maps
each row's h to one number, and the output scale multiplies it. The check loads the library's
weights into it and compares updates, states and meta-gradients step by step.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.course.checks import Exercise, _LearnerError, register
from minigrad.l2l import LogAndSign, LSTMOptimizer


def library_optimizer_module(hidden_size: int = 20, num_layers: int = 2,
                             output_scale: float = 1.0, preprocess=None) -> LSTMOptimizer:
    """The library's coordinatewise optimizer with the exercise's constructor arguments
    (reference of exercise 05.2): ``preprocess`` None feeds the raw gradient (one input per
    coordinate), a :class:`~minigrad.l2l.LogAndSign` feeds its two inputs."""
    if preprocess is None:
        pre = {"preprocess": "identity"}
    else:
        pre = {"preprocess": "logsign", "p": preprocess.p}
    return LSTMOptimizer(**pre, hidden_size=hidden_size, num_layers=num_layers,
                         output_scale=output_scale)


_CASES = (  # (preprocess p or None, hidden, layers, output scale, coordinates n, steps, seed)
    (None, 5, 2, 0.5, 6, 3, 0),
    (5.0, 4, 1, 0.1, 7, 3, 1),
    (None, 3, 3, 2.0, 4, 2, 2),
)


def _gradients(n: int, steps: int, seed: int) -> list[np.ndarray]:
    """Gradients of very different sizes (1e-4 to 10), as a real optimizee's are."""
    rng = np.random.default_rng(100 + seed)
    return [(rng.standard_normal(n) * 10.0 ** rng.uniform(-4, 1, n)).astype(np.float32)
            for _ in range(steps)]


def _call(method, *args):
    """Call the learner's method; NotImplementedError means 'not done' (check's business),
    any other exception comes back as ``(None, message)``."""
    try:
        return method(*args), None
    except NotImplementedError as exc:
        raise _LearnerError(exc) from exc
    except Exception as exc:  # the learner's bug: describe it, with the likely cause
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"update raised {type(exc).__name__}{': ' + msg if msg else ''}"
        if isinstance(exc, (ValueError, IndexError)) and "shape" in msg.lower():
            text += (". Each coordinate is one ROW of the LSTM's batch: its input is "
                     "(n, input_size), e.g. (n, 1) for the raw gradient, not (1, n)")
        return None, text


def _state_shapes(state):
    try:
        return [tuple(tuple(t.shape) for t in layer) for layer in state]
    except TypeError:
        return None


def _names_problem(mod, lib) -> str | None:
    own = {name: tuple(p.shape) for name, p in mod.named_parameters()}
    want = {name: tuple(p.shape) for name, p in lib.named_parameters()}
    if own == want:
        return None
    if not own:
        return ("the module has no parameters: assign the LSTM and the head to attributes "
                "(self.lstm = nn.LSTM(...), self.head = nn.Linear(...)) so Module finds them")
    if set(own) != set(want):
        return (f"its parameters are {sorted(own)}, expected {sorted(want)} (name the LSTM "
                "self.lstm and the linear head self.head, with one LSTM of num_layers layers)")
    name = next(k for k in want if own[k] != want[k])
    text = f"parameter {name} has shape {own[name]}, expected {want[name]}"
    if name == "lstm.weight_ih_l0":
        text += (" (the LSTM reads ONE coordinate's inputs: input_size is 1 for the raw "
                 "gradient and preprocess.input_size with preprocessing, whatever n is)")
    elif name.startswith("head"):
        text += " (the head maps each row's hidden_size numbers to ONE number: Linear(H, 1))"
    return text


def _check_module(fn):
    """Checker of exercise 05.2: the learner's module with the library's weights loaded must
    give the library's updates, states and meta-gradients, step after step."""
    for p, hidden, layers, scale, n, steps, seed in _CASES:
        pre = None if p is None else LogAndSign(p)
        label = (f"{'raw gradient' if p is None else f'LogAndSign(p={p:g})'} input, "
                 f"{layers} layer(s) of {hidden} units, output scale {scale:g}, "
                 f"n = {n} coordinates, {steps} steps")
        mod = fn(hidden_size=hidden, num_layers=layers, output_scale=scale, preprocess=pre)
        lib = LSTMOptimizer(preprocess="identity" if p is None else "logsign",
                            **({} if p is None else {"p": p}), hidden_size=hidden,
                            num_layers=layers, output_scale=scale, seed=seed)
        if not isinstance(mod, nn.Module):
            yield label, (f"the class built a {type(mod).__name__}, expected a minigrad "
                          "nn.Module (class ...(nn.Module), super().__init__() first)")
            return
        problem = _names_problem(mod, lib)
        if problem is None:
            mod.load_state_dict(lib.state_dict())
            problem, totals = _steps_problem(mod, lib, n, steps, seed, hidden, scale)
            problem = problem or _meta_gradient_problem(mod, lib, *totals)
        if problem:
            yield label, problem
            return
        yield label, None


def _steps_problem(mod, lib, n, steps, seed, hidden, scale):
    """Run the learner's module and the library's side by side for ``steps`` steps:
    ``(problem, (total, ref_total))``, the first step's problem (None: none) and each one's
    weighted sum of its updates, whose gradients :func:`_meta_gradient_problem` compares."""
    grads = _gradients(n, steps, seed)
    weights = np.random.default_rng(seed).standard_normal((steps, n)).astype(np.float32)
    state, ref_state, total, ref_total = None, None, None, None
    for t, g in enumerate(grads):
        out, error = _call(mod.update, g.copy(), state)
        if error:
            return f"step {t + 1}: {error}", None
        ref_delta, ref_new = lib.update(g.copy(), ref_state)
        problem = _step_problem(out, ref_delta, ref_new, t, n, hidden, scale, lib, g)
        if problem:
            return problem, None
        delta, new_state = out
        term = (delta * mg.tensor(weights[t])).sum()
        ref_term = (ref_delta * mg.tensor(weights[t])).sum()
        total = term if total is None else total + term
        ref_total = ref_term if ref_total is None else ref_total + ref_term
        state, ref_state = new_state, ref_new
    return None, (total, ref_total)


def _step_problem(out, ref_delta, ref_new, t, n, hidden, scale, lib, g) -> str | None:
    """What is wrong with the learner's step ``t`` (``out`` = ``(delta, new_state)``) against
    the library's ``(ref_delta, ref_new)``; None if nothing."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return f"update should return a pair (delta, new_state), got {type(out).__name__}"
    delta, new_state = out
    if not isinstance(delta, mg.Tensor):
        return (f"delta is a {type(delta).__name__}, expected a minigrad Tensor: keep the "
                "graph back to phi (no .data, .numpy() or no_grad), the meta-gradient needs it")
    if tuple(delta.shape) != (n,):
        return (f"step {t + 1}: delta has shape {tuple(delta.shape)}, expected ({n},), one "
                "step per coordinate: reshape the head's (n, 1) output to (n,)")
    got, want = delta.numpy(), ref_delta.numpy()
    if not np.allclose(got, want, rtol=1e-4, atol=1e-6):
        return f"step {t + 1}: " + _diagnose_delta(got, want, scale, lib, g, t)
    shapes, ref_shapes = _state_shapes(new_state), _state_shapes(ref_new)
    if shapes is None:
        return (f"step {t + 1}: update returned {type(new_state).__name__} as the new state, "
                "so the state is not carried: return the state self.lstm.step gives back (a "
                "list of (h, c) pairs, one per layer)")
    if shapes != ref_shapes:
        return (f"step {t + 1}: the new state's shapes are {shapes}, expected {ref_shapes}: "
                "return the state lstm.step gives back, one (h, c) pair per layer, each "
                f"(n, hidden_size) = ({n}, {hidden})")
    return None


def _meta_gradient_problem(mod, lib, total, ref_total) -> str | None:
    """Whether the gradients of the weighted updates with respect to the weights (what the
    meta-gradient needs) are the library's; None if they are."""
    if not total.requires_grad:
        return ("the updates have no graph back to phi: compute them with minigrad ops on the "
                "module's parameters (no .data, .numpy() or no_grad)")
    mine = mg.grad(total, mod.parameters(), allow_unused=True)
    ref = mg.grad(ref_total, lib.parameters())
    for (name, _), a, b in zip(lib.named_parameters(), mine, ref):
        a = np.zeros_like(b.numpy()) if a is None else a.numpy()
        if not np.allclose(a, b.numpy(), rtol=1e-4, atol=1e-6):
            return (f"the updates' gradient with respect to {name} differs (max abs error "
                    f"{float(np.max(np.abs(a - b.numpy()))):.3g}): every step must run "
                    "through the module's own LSTM and head")
    return None


def _diagnose_delta(got, want, scale, lib, g, t) -> str:
    """Name the typical mistake behind a wrong update, if it is one of them."""
    err = float(np.max(np.abs(got - want)))
    text = f"delta differs from the library's (max abs error {err:.3g})"
    if scale != 1.0 and np.allclose(got * scale, want, rtol=1e-4, atol=1e-6):
        return text + (f": it is the head's output without the output scale (multiply by "
                       f"output_scale = {scale:g})")
    if scale != 1.0 and np.allclose(got, want * scale, rtol=1e-4, atol=1e-6):
        return text + ": the output scale is applied twice"
    if t > 0:
        fresh, _ = lib.update(g.copy(), None)
        if np.allclose(got, fresh.numpy(), rtol=1e-4, atol=1e-6):
            return text + (": it equals the update from a ZERO state, so the state is not "
                           "carried: feed the state you were given to self.lstm.step and "
                           "return the new one")
    if t == 0:
        return text + (": already at the first step, from the zero state (check the input: the "
                       "raw gradient as an (n, 1) column, or preprocess(grad); and the head)")
    return text


register(Exercise(
    id="05.2",
    title="the coordinatewise optimizer module",
    reference=library_optimizer_module,
    checker=_check_module,
    hint="the n coordinates are the n rows of ONE batch: the LSTM reads one coordinate's "
         "inputs (1 raw number, or preprocess.input_size), so its input is (n, input_size) "
         "and each layer's state (n, hidden_size). The same LSTM and head serve every row; the "
         "head's (n, 1) output, times the output scale, is the step; the state you return is "
         "where the next call starts. Still stuck: the collapsed 'Hint 2' below the exercise.",
))
