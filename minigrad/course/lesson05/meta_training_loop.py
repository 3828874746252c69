"""Section 6, exercise 05.3: the outer meta-training loop, its reference (the library's
:class:`~minigrad.l2l.MetaTrainer`) and its check.

The learner writes ``meta_train(net, problem, iters, steps, unroll, meta_lr, seed, callback)``:
for each meta-iteration a fresh function (:func:`draw_function`), its horizon of ``steps``
optimizee steps cut into unrolls of ``unroll`` steps (:func:`unroll_steps` runs one unroll, as
exercise 05.1 did); after each unroll the meta-loss (the sum of the unroll's optimizee losses)
is backpropagated and Adam takes one step on phi; theta and the LSTM state carry over to the
next unroll, cut from the graph. The check runs it against ``MetaTrainer`` on tiny quadratics
with the same seeds and compares the curve and the trained weights.

:func:`draw_function`, :func:`unroll_steps` and the reference :func:`library_meta_train` live in
:mod:`minigrad.course.meta_loop`: lesson 07 runs the same loop on MNIST.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import nn, optim
from minigrad.course.checks import Exercise, _LearnerError, register
from minigrad.course.meta_loop import draw_function, library_meta_train, unroll_steps
from minigrad.function import GraphFreedError
from minigrad.l2l import LSTMOptimizer, QuadraticProblem


def _variant_meta_train(net, problem, iters, steps, unroll, meta_lr, seed, *, detach=True,
                        zero_grad=True, terms="all", update=True):
    """The loop with one typical mistake (to name it in a verdict)."""
    meta_opt = optim.Adam(net.parameters(), lr=meta_lr)
    curve = []
    for it in range(iters):
        f, theta = draw_function(problem, seed, it)
        state, total = None, 0.0
        for t0 in range(0, steps, unroll):
            k = min(unroll, steps - t0)
            losses, theta, state = unroll_steps(net, f, theta, state, k)
            meta_loss = losses[-1]
            if terms == "all":
                for loss in losses[:-1]:
                    meta_loss = meta_loss + loss
            if zero_grad:
                meta_opt.zero_grad()
            meta_loss.backward(retain_graph=not detach)
            if update:
                meta_opt.step()
            if detach:
                theta, state = theta.detach(), nn.detach_state(state)
            total += sum(loss.item() for loss in losses)
        curve.append(total / steps)
    return curve


_CASES = (  # (dim, batch, steps, unroll, iters, meta_lr, seed)
    (3, 2, 6, 3, 3, 0.01, 0),
    (2, 3, 7, 3, 2, 0.03, 1),
)

_VARIANTS = (
    ({"update": False}, "phi never changed: after meta_loss.backward(), call meta_opt.step() "
                        "(and zero_grad before the backward, not between it and the step)"),
    ({"zero_grad": False}, "the meta-gradients pile up from unroll to unroll: call "
                           "meta_opt.zero_grad() before each backward"),
    ({"terms": "last"}, "the meta-loss is only the unroll's LAST loss: sum all of them, "
                        "f(theta_t0+1) + ... + f(theta_t0+k)"),
    ({"detach": False}, "the gradient flows back into earlier unrolls (the graph grows with "
                        "every unroll): cut theta and the state between unrolls "
                        "(theta.detach(), nn.detach_state(state)) instead of retain_graph=True"),
)


def _check_net(seed):
    return LSTMOptimizer(preprocess="identity", hidden_size=4, num_layers=2, output_scale=1.0,
                         seed=seed, dtype="float64")


def _check_meta_train(fn):
    """Checker of exercise 05.3: the curve and the trained weights against MetaTrainer."""
    for dim, batch, steps, unroll, iters, meta_lr, seed in _CASES:
        problem = QuadraticProblem(dim=dim, batch=batch, dtype="float64")
        label = (f"{batch} quadratics of dimension {dim}, horizon {steps} in unrolls of "
                 f"{unroll}, {iters} meta-iterations")
        net = _check_net(seed)
        calls = []
        try:
            curve = fn(net, problem, iters, steps=steps, unroll=unroll, meta_lr=meta_lr,
                       seed=seed, callback=lambda c, calls=calls: calls.append(len(c)))
        except _LearnerError as err:
            if isinstance(err.exc, GraphFreedError):
                yield label, ("a backward reached the previous unroll's graph, already freed: "
                              "theta and the LSTM state still carry it. Cut both between "
                              "unrolls: theta.detach() and nn.detach_state(state)")
                return
            raise
        ref_net = _check_net(seed)
        want = np.array(library_meta_train(ref_net, problem, iters, steps, unroll, meta_lr, seed))
        try:
            got = np.asarray(curve, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            yield label, f"expected the curve, a list of floats, got {type(curve).__name__}"
            return
        if got.shape != (iters,):
            yield label, (f"the curve has {got.size} values, expected one per meta-iteration "
                          f"({iters})")
            return
        if calls != list(range(1, iters + 1)):
            yield label, ("call callback(np.array(curve)) once after every meta-iteration "
                          f"(it was called with curves of lengths {calls})")
            return
        if not np.allclose(got, want, rtol=1e-6, atol=1e-10):
            yield label, _diagnose(got, want, problem, iters, steps, unroll, meta_lr, seed)
            return
        for (name, p), q in zip(net.named_parameters(), ref_net.parameters()):
            if not np.allclose(p.numpy(), q.numpy(), rtol=1e-6, atol=1e-10):
                yield label, (f"the curve agrees but the trained {name} does not (max abs "
                              f"error {float(np.max(np.abs(p.numpy() - q.numpy()))):.3g}): "
                              "every unroll, the last one too, ends with an Adam step")
                return
        yield label, None


def _diagnose(got, want, problem, iters, steps, unroll, meta_lr, seed) -> str:
    i = int(np.argmax(~np.isclose(got, want, rtol=1e-6, atol=1e-10)))
    text = (f"meta-iteration {i + 1}: mean loss over the horizon {got[i]:.6g}, expected "
            f"{want[i]:.6g}")
    if np.allclose(got, want * steps, rtol=1e-6):
        return text + " (it is the SUM over the horizon: divide the total by steps)"
    for kwargs, why in _VARIANTS:
        curve = _variant_meta_train(_check_net(seed), problem, iters, steps, unroll, meta_lr,
                                    seed, **kwargs)
        if np.allclose(got, curve, rtol=1e-6, atol=1e-10):
            return f"{text}: {why}"
    if math.isclose(got[0], want[0], rel_tol=1e-6):
        return text + " (the first meta-iteration agrees: look at what carries over between them)"
    return text


register(Exercise(
    id="05.3",
    title="the meta-training loop",
    reference=library_meta_train,
    checker=_check_meta_train,
    hint="each unroll is one training step of phi: its meta-loss is the sum of its k optimizee "
         "losses, and one Adam step follows one backward, with the meta-gradient cleared "
         "before it. theta and the LSTM state carry their VALUES into the next unroll but not "
         "their graph (the truncation of lesson 04). Still stuck: the collapsed 'Hint 2' below "
         "the exercise.",
))
