"""The best (running-average) weights against the last (raw) ones, on validation.

    python training/fast-recipe/exploration/session5/average_or_last.py CKPT@SEED ...

Each checkpoint's best and last weights on the 16 validation nets of the run's own seed (the
ones its training validated on): the tail (steps 91-100) and final validation losses.
"""

import sys

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.problems import make_problem
from minigrad.l2l.training import validation_metrics


def main(specs):
    prob = make_problem("mnist", split="val")
    for spec in specs:
        path, seed = spec.split("@")
        out = []
        for weights in ("best", "last"):
            net, _ = load_learned_optimizer(path, "mnist", weights=weights)
            seeds = problem_seeds(prob, int(seed), "val", 16)
            scores = validation_metrics(evaluate_rule(lambda net=net: LearnedRule(net), prob,
                                                      seeds, 100, 16))
            out.append(f"{weights} tail {scores['tail']:.4f} final {scores['final']:.4f}")
        print(path, "; ".join(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
