"""A quick test score: learned optimizer(s) against NAG (lr 1) on the 50 test runs.

    python training/fast-recipe/exploration/session5/quick_test.py CKPT[:best|:last] ...

The evaluation's test runs (seed 0) and NAG at lr 1, the rate ``evaluate`` tunes on validation
for this problem (so no tuning here: a quick look, not the protocol). Prints the mean final
loss, the paired difference with its 95% interval (Student t, 49 degrees of freedom), the mean
over the last tenth of the horizon, and how often the learned optimizer is lower.
"""

import sys

import numpy as np

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import BaselineRule, LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.problems import make_problem
from minigrad.l2l.training import validation_metrics

T_975_49 = 2.0096  # Student t quantile, 49 degrees of freedom


def main(specs):
    prob = make_problem("mnist", split="test")
    seeds = problem_seeds(prob, 0, "test", 50)
    nag = evaluate_rule(lambda: BaselineRule("nag", 1.0), prob, seeds, 100, 50)
    for spec in specs:
        path, _, weights = spec.partition(":")
        net, _ = load_learned_optimizer(path, "mnist", weights=weights or "best")
        learned = evaluate_rule(lambda net=net: LearnedRule(net), prob, seeds, 100, 50)
        d = learned[:, -1] - nag[:, -1]
        h = T_975_49 * d.std(ddof=1) / np.sqrt(len(d))
        verdict = "WIN" if d.mean() + h < 0 else "tie" if d.mean() - h <= 0 else "LOSS"
        print(f"{path}:{weights or 'best'} test final {learned[:, -1].mean():.4f} "
              f"(nag {nag[:, -1].mean():.4f}) diff {d.mean():+.4f} [{d.mean() - h:+.4f}, "
              f"{d.mean() + h:+.4f}] {verdict}; tail {validation_metrics(learned)['tail']:.4f} "
              f"(nag {validation_metrics(nag)['tail']:.4f}); lower in {np.mean(d < 0):.0%}",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
