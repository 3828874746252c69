"""A learned optimizer and NAG (lr 1) on the validation digits and on the test digits.

    python training/fast-recipe/exploration/session3/val_vs_test.py CHECKPOINT

For each split of digits, 48 nets drawn with the validation seeds and with the test seeds
(the mean final loss of the first 16 and of all 48). Output of run a2: val_vs_test.txt.
"""

import sys

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import BaselineRule, LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.problems import make_problem


def main(path):
    net, _ = load_learned_optimizer(path, "mnist")
    for split in ("val", "test"):
        prob = make_problem("mnist", split=split)
        for use in ("val", "test"):
            seeds = problem_seeds(prob, 0, use, 48)
            lstm = evaluate_rule(lambda: LearnedRule(net), prob, seeds, 100, 48)[:, -1]
            nag = evaluate_rule(lambda: BaselineRule("nag", 1.0), prob, seeds, 100, 48)[:, -1]
            print(f"{split} digits, {use} seeds: lstm first16 {lstm[:16].mean():.4f} all48 "
                  f"{lstm.mean():.4f} | nag first16 {nag[:16].mean():.4f} all48 "
                  f"{nag.mean():.4f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
