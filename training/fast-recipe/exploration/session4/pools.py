"""A learned optimizer and NAG (lr 1) on several pools of 1,000 digits.

    python training/fast-recipe/exploration/session4/pools.py CHECKPOINT [NETS] [POOLS]

The validation and test splits are ONE pool of 1,000 digits each, shared by every net of the
split, so more nets do not average out how hard the pool is. This draws POOLS pools of 1,000
digits from the training split (``train_pool``; pool k is drawn by seed 10**6 + k, not a seed
meta-training uses) and runs NETS nets on each, and the validation and test pools beside them:
the mean final loss of each optimizer and their ratio per pool.
"""

import sys

import numpy as np

from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.evaluate import BaselineRule, LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.problems import MnistInstance, make_problem


def pool_problem(base, pool_seed):
    """The training split's family, every net on the same pool (drawn by ``pool_seed``)."""
    fixed = base.sample(pool_seed)

    class Pool:
        name, runs_per_sample = base.name, 1

        def sample(self, seed):
            inst = base.sample(seed)
            return MnistInstance(inst.params0, fixed.images, fixed.labels, base.activation,
                                 inst.batch_size, seed)

        def sample_runs(self, seeds):
            return [self.sample(s) for s in seeds]

    return Pool()


def main(path, nets=16, pools=6):
    net, _ = load_learned_optimizer(path, "mnist")
    train = make_problem("mnist", split="train", train_pool=1000)
    rows = [("val", make_problem("mnist", split="val")),
            ("test", make_problem("mnist", split="test"))]
    rows += [(f"train pool {k}", pool_problem(train, 10 ** 6 + k)) for k in range(pools)]
    ratios = []
    for name, prob in rows:
        seeds = problem_seeds(make_problem("mnist", split="test"), 0, "test", nets)
        lstm = evaluate_rule(lambda: LearnedRule(net), prob, seeds, 100, nets)[:, -1]
        nag = evaluate_rule(lambda: BaselineRule("nag", 1.0), prob, seeds, 100, nets)[:, -1]
        ratios.append(lstm.mean() / nag.mean())
        print(f"{name:13s} lstm {lstm.mean():.4f}  nag {nag.mean():.4f}  ratio "
              f"{ratios[-1]:.2f}  lstm lower in {np.mean(lstm < nag):.0%}", flush=True)
    print(f"train pools: ratio mean {np.mean(ratios[2:]):.2f}, min {min(ratios[2:]):.2f}, "
          f"max {max(ratios[2:]):.2f}")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
