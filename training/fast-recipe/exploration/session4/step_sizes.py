"""How big the steps of NAG (lr 1) and of learned optimizers are, on the test digits.

    python training/fast-recipe/exploration/session4/step_sizes.py CHECKPOINT [CHECKPOINT ...]

For 8 test nets: the mean final loss, the root-mean-square step over the 15,910 coordinates
at steps 1, 10, 25, 50, 75 and 100, and the cosine between the step and -g (1: plain
gradient descent; near 0: a sign-like update). Output beside it: step_sizes.txt.
"""

import sys

import numpy as np

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import BaselineRule, LearnedRule, problem_seeds, rollout
from minigrad.l2l.problems import make_problem

AT = (0, 9, 24, 49, 74, 99)


class Recorded:
    """An update rule that records each step's size and its cosine with -g."""

    def __init__(self, rule):
        self.rule, self.cosine, self.size = rule, [], []

    def start(self, theta):
        return self.rule.start(theta)

    def step(self, theta, g):
        before = theta.copy()
        theta = self.rule.step(theta, g)
        d = theta - before
        self.size.append(float(np.sqrt((d * d).mean())))
        self.cosine.append(float((d * -g).sum() / (np.linalg.norm(d) * np.linalg.norm(g)
                                                   + 1e-30)))
        return theta


def main(paths):
    prob = make_problem("mnist", split="test")
    seeds = problem_seeds(prob, 0, "test", 8)
    rules = {"nag lr 1": lambda: BaselineRule("nag", 1.0)}
    for path in paths:
        net, _ = load_learned_optimizer(path, "mnist")
        rules[path] = lambda net=net: LearnedRule(net)
    for name, make in rules.items():
        sizes, cosines, finals = [], [], []
        for inst in prob.sample_runs(seeds):
            rec = Recorded(make())
            finals.append(rollout(rec, inst, 100)[-1].mean())
            sizes.append(rec.size)
            cosines.append(rec.cosine)
        s, c = np.mean(sizes, 0), np.mean(cosines, 0)
        print(f"{name}: final {np.mean(finals):.4f}; rms step at t = 1, 10, 25, 50, 75, 100: "
              + " ".join(f"{s[i]:.2e}" for i in AT) + "; cos(step, -g): "
              + " ".join(f"{c[i]:.2f}" for i in AT), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
