"""One checkpoint's best weights and NAG (lr 1) on two sets of 16 validation nets.

    python training/fast-recipe/exploration/session5/val_seeds.py CKPT

The validation nets of seeds 0 and 2 (the same 1,000 validation digits, other initialisations
and minibatches): mean final loss of each. Shows how much the final loss on 16 nets depends
on which 16.
"""

import sys

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import BaselineRule, LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.problems import make_problem


def main(path):
    net, _ = load_learned_optimizer(path, "mnist")
    prob = make_problem("mnist", split="val")
    for seed in (0, 2):
        seeds = problem_seeds(prob, seed, "val", 16)
        learned = evaluate_rule(lambda: LearnedRule(net), prob, seeds, 100, 16)[:, -1]
        nag = evaluate_rule(lambda: BaselineRule("nag", 1.0), prob, seeds, 100, 16)[:, -1]
        print(f"validation nets of seed {seed}: learned {learned.mean():.4f} nag {nag.mean():.4f}",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
