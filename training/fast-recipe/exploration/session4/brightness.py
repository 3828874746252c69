"""Is the test split's difficulty for a learned optimizer its brightness?

    python training/fast-recipe/exploration/session4/brightness.py CHECKPOINT

The learned optimizer and NAG (lr 1) on 16 nets of the validation and of the test digits,
with every image scaled by 0.9, 1 and 1.1 (the test digits are slightly brighter: mean
squared norm 90.2 against 88.0 for the validation digits). Output beside it: brightness.txt.
"""

import sys

import numpy as np

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import BaselineRule, LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.problems import make_problem


def scaled(split, scale):
    """The MNIST family on ``split`` with its images multiplied by ``scale``."""
    prob = make_problem("mnist", split=split)
    sample = prob.sample

    def scaled_sample(seed):
        inst = sample(seed)
        inst.images = inst.images * np.float32(scale)
        return inst

    prob.sample = scaled_sample
    return prob


def main(path):
    net, _ = load_learned_optimizer(path, "mnist")
    seeds = problem_seeds(make_problem("mnist", split="test"), 0, "test", 16)
    for split in ("val", "test"):
        for scale in (0.9, 1.0, 1.1):
            prob = scaled(split, scale)
            lstm = evaluate_rule(lambda: LearnedRule(net), prob, seeds, 100, 16)[:, -1]
            nag = evaluate_rule(lambda: BaselineRule("nag", 1.0), prob, seeds, 100, 16)[:, -1]
            print(f"{split} digits x {scale}: lstm {lstm.mean():.4f} nag {nag.mean():.4f} "
                  f"ratio {lstm.mean() / nag.mean():.2f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
