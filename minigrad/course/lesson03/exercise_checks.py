"""Section 5: the checks of the exercises (momentum, Nesterov and Adam steps)."""

from __future__ import annotations

import numpy as np

from minigrad.course.checks import Exercise, compare_values, register

from .update_rules import adam_rule, adam_step, momentum_rule, momentum_step


def _named_compare(names):
    """A compare for tuple results that names the entry that differs (param, m, v, ...)."""

    def compare(got, expected):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(expected)
            return (f"expected a tuple of {n} arrays ({', '.join(names)}), got "
                    f"{type(got).__name__}" + (f" of length {len(got)}"
                                               if isinstance(got, (tuple, list)) else ""))
        for name, g, e in zip(names, got, expected):
            problem = compare_values(g, e, rtol=1e-6, atol=1e-9)
            if problem:
                return f"{name}: {problem}"
        return None

    return compare


def _adam_diagnosis(fn_result, args, kwargs) -> str:
    """Name a classic Adam mistake when the learner's new param matches it."""
    p, g, m, v, t = args
    b1, b2 = kwargs.get("beta1", 0.9), kwargs.get("beta2", 0.999)
    lr, eps = kwargs.get("lr", 1e-3), kwargs.get("eps", 1e-8)
    m2 = b1 * m + (1 - b1) * g
    v2 = b2 * v + (1 - b2) * g * g
    variants = {
        "it matches Adam WITHOUT bias correction (divide m by 1 - beta1**t and v by "
        "1 - beta2**t)": p - lr * m2 / (np.sqrt(v2) + eps),
        "it matches the bias correction with t - 1 instead of t (t is already the number of "
        "this step, 1 for the first)": (
            p - lr * (m2 / (1 - b1 ** max(t - 1, 1e-3)))
            / (np.sqrt(v2 / (1 - b2 ** max(t - 1, 1e-3))) + eps)),
        "it matches a step with the OLD m and v (update the averages first, then step)": (
            p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)),
    }
    try:
        got = np.asarray(fn_result[0], dtype=np.float64)
    except (TypeError, ValueError, IndexError):
        return ""
    for text, value in variants.items():
        if got.shape == np.shape(value) and np.allclose(got, value, rtol=1e-6, atol=1e-9):
            return f" ({text})"
    return ""


def _copy_args(args):
    return tuple(None if a is None else (a.copy() if isinstance(a, np.ndarray) else a)
                 for a in args)


def _single_step_checks(fn, reference, cases, names, diagnose=None):
    """Yield (label, problem) for single calls; also check that inputs are left unchanged."""
    compare = _named_compare(names)
    for label, args, kwargs in cases:
        mine = _copy_args(args)
        got = fn(*mine, **kwargs)
        expected = reference(*_copy_args(args), **kwargs)
        problem = compare(got, expected)
        if problem and diagnose is not None:
            problem += diagnose(got, args, kwargs)
        if problem is None:
            for i, (a, b) in enumerate(zip(mine, args)):
                if isinstance(b, np.ndarray) and not np.array_equal(a, b):
                    problem = (f"argument {i} was modified in place; return new arrays "
                               "instead (e.g. `m = beta1 * m + ...`, not `m *= beta1`)")
                    break
        yield label, problem


def _multi_step_check(fn_rule, ref_rule, steps, seed, label):
    """Run both rules ``steps`` times on f(p) = sum(a p^2) / 2 feeding back their own state."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 20.0, size=6)
    p_mine = p_ref = rng.standard_normal(6)
    s_mine, s_ref = {}, {}
    for k in range(1, steps + 1):
        p_mine, s_mine = fn_rule(p_mine, a * p_mine, s_mine, 0.05)
        p_ref, s_ref = ref_rule(p_ref, a * p_ref, s_ref, 0.05)
        problem = compare_values(p_mine, p_ref, rtol=1e-6, atol=1e-9)
        if problem:
            return label, f"after step {k} of {steps}, the parameter: {problem}"
    return label, None


def _adam_checker(fn):
    rng = np.random.default_rng(301)
    p, g = rng.standard_normal(5), rng.standard_normal(5)
    z = np.zeros(5)
    m, v = 0.1 * rng.standard_normal(5), 0.1 * rng.random(5)
    w, gw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    cases = [
        ("first step (t = 1) from m = v = 0", (p, g, z, z, 1), {}),
        ("step t = 4 from given m, v with lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6",
         (p, g, m, v, 4), dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6)),
        ("a 3x4 weight matrix at t = 2", (w, gw, 0.5 * gw, 0.3 * gw * gw, 2), dict(lr=0.01)),
    ]
    yield from _single_step_checks(fn, adam_step, cases, ("new param", "m", "v"),
                                   _adam_diagnosis)
    yield _multi_step_check(adam_rule(fn), adam_rule(adam_step), 8, 302,
                            "8 steps in a row on a quadratic (lr 0.05)")


def _momentum_checker(fn):
    rng = np.random.default_rng(303)
    p, g, buf = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    cases = [
        ("first step (buf=None), heavy ball", (p, g, None, 0.1), {}),
        ("first step (buf=None), Nesterov", (p, g, None, 0.1), dict(nesterov=True)),
        ("later step, heavy ball, momentum 0.5", (p, g, buf, 0.1), dict(momentum=0.5)),
        ("later step, Nesterov, momentum 0.9", (p, g, buf, 0.1),
         dict(momentum=0.9, nesterov=True)),
    ]
    yield from _single_step_checks(fn, momentum_step, cases, ("new param", "new buf"))
    for nesterov in (False, True):
        kind = "Nesterov" if nesterov else "heavy ball"
        yield _multi_step_check(momentum_rule(fn, nesterov=nesterov),
                                momentum_rule(momentum_step, nesterov=nesterov), 8, 304,
                                f"8 steps in a row on a quadratic, {kind}")


register(
    Exercise(
        id="03.1",
        title="Adam step",
        reference=adam_step,
        checker=_adam_checker,
        hint="Update both running averages with this step's gradient first, then undo their "
             "start-at-zero bias (divide by 1 - beta**t) before dividing the first by the root "
             "of the second; return new arrays. Code: the notebook's Hint 2.",
    )
)

register(
    Exercise(
        id="03.2",
        title="momentum and Nesterov step",
        reference=momentum_step,
        checker=_momentum_checker,
        hint="The velocity is a decaying sum of past gradients that starts as the first "
             "gradient; heavy ball steps along the velocity, Nesterov along the velocity it is "
             "about to have (the look-ahead). Code: the notebook's Hint 2.",
    )
)
