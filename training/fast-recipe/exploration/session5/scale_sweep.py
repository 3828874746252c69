"""Are a young optimizer's steps too small? Its output scale multiplied at test time.

    python training/fast-recipe/exploration/session5/scale_sweep.py CKPT [FACTORS] [RUNS] [VAL_SEED]

For each factor c (default 1,1.25,1.5,2): the learned optimizer with output scale c times its
own, on 16 validation nets (seed VAL_SEED, default 0) and RUNS (default 50) test runs (the
evaluation's seeds): mean, median and 95th percentile of the final loss, the mean over the
last tenth of the horizon, and NAG (lr 1) on the same runs.
"""

import sys

import numpy as np

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import BaselineRule, LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.problems import make_problem
from minigrad.l2l.training import validation_metrics


def losses(make_rule, split, runs, seed):
    prob = make_problem("mnist", split=split)
    seeds = problem_seeds(prob, seed, "test" if split == "test" else "val", runs)
    return evaluate_rule(make_rule, prob, seeds, 100, runs)


def line(name, losses):
    f = losses[:, -1]
    return (f"{name}: final {f.mean():.4f} median {np.median(f):.4f} "
            f"p95 {np.percentile(f, 95):.4f} tail {validation_metrics(losses)['tail']:.4f}")


def main(path, factors="1,1.25,1.5,2", runs=50, val_seed=0):
    net, _ = load_learned_optimizer(path, "mnist")
    base = net.output_scale
    for split, n, seed in (("val", 16, int(val_seed)), ("test", int(runs), 0)):
        nag = losses(lambda: BaselineRule("nag", 1.0), split, n, seed)
        print(split, line("nag", nag), flush=True)
        for c in (float(x) for x in factors.split(",")):
            net.output_scale = base * c
            f = losses(lambda: LearnedRule(net), split, n, seed)
            print(split, line(f"lstm x{c:g}", f), f"paired {np.mean(f[:, -1] - nag[:, -1]):+.4f}",
                  flush=True)
        net.output_scale = base


if __name__ == "__main__":
    main(*sys.argv[1:])
