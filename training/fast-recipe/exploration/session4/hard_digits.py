"""Which digits keep a loss after 100 steps: the learned optimizer against NAG (lr 1).

    python training/fast-recipe/exploration/session4/hard_digits.py CHECKPOINT [NETS]

For the validation and the test digits: NETS nets trained 100 steps by each optimizer, then
every digit's cross-entropy under each final net, averaged over the nets. Prints the mean
loss over the pool, and how much of it the 10 and 30 hardest digits carry (their summed loss
/ 1,000), for each optimizer. Output beside it: hard_digits.txt.
"""

import sys

import numpy as np

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import BaselineRule, LearnedRule, problem_seeds
from minigrad.l2l.flat import Flattener
from minigrad.l2l.problems import make_problem


def per_digit_losses(rule, inst, steps=100):
    """Each digit's loss under the net ``rule`` trains on ``inst`` for ``steps`` steps."""
    import minigrad as mg

    params = inst.init_params()
    flat = Flattener.like(params)
    theta = rule.start(flat.flatten(params))
    for t in range(steps):
        ps = [mg.tensor(p, requires_grad=True) for p in flat.views(theta)]
        loss = inst.loss(ps, t)
        grads = mg.grad(loss, ps)
        theta = rule.step(theta, flat.flatten([g.numpy() for g in grads]))
    w = [np.asarray(p) for p in flat.views(theta)]
    h = inst.images
    for k in range(0, len(w), 2):
        h = h @ w[k] + w[k + 1]
        if k < len(w) - 2:
            h = 0.5 * (1 + np.tanh(h / 2))  # the sigmoid, without exp's overflow
    h = h - h.max(1, keepdims=True)
    logp = h - np.log(np.exp(h).sum(1, keepdims=True))
    return -logp[np.arange(len(inst.labels)), inst.labels]


def main(path, nets=8):
    net, _ = load_learned_optimizer(path, "mnist")
    for split in ("val", "test"):
        prob = make_problem("mnist", split=split)
        seeds = problem_seeds(make_problem("mnist", split="test"), 0, "test", nets)
        for name, make in (("lstm", lambda: LearnedRule(net)),
                           ("nag", lambda: BaselineRule("nag", 1.0))):
            losses = np.mean([per_digit_losses(make(), inst)
                              for inst in prob.sample_runs(seeds)], axis=0)
            top = np.sort(losses)[::-1]
            print(f"{split} {name}: mean {losses.mean():.4f}; hardest 10 carry "
                  f"{top[:10].sum() / len(top):.4f}, hardest 30 {top[:30].sum() / len(top):.4f}; "
                  f"the rest's mean {top[30:].mean():.4f}; hardest: "
                  f"{', '.join(str(i) for i in np.argsort(losses)[::-1][:8])}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
