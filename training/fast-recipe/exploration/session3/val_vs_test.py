import numpy as np, sys
from minigrad.l2l.checkpoints import load_learned_optimizer
from minigrad.l2l.problems import make_problem
from minigrad.l2l.evaluate import LearnedRule, BaselineRule, evaluate_rule, problem_seeds
net, meta = load_learned_optimizer(sys.argv[1], "mnist")
for split in ["val", "test"]:
    prob = make_problem("mnist", split=split)
    for seed_use, label in [("val", "valseeds"), ("test", "testseeds")]:
        seeds = problem_seeds(prob, 0, seed_use, 48)
        L = evaluate_rule(lambda: LearnedRule(net), prob, seeds, 100, 48)
        N = evaluate_rule(lambda: BaselineRule("nag", 1.0), prob, seeds, 100, 48)
        print(split, label, "lstm first16 %.4f all48 %.4f | nag first16 %.4f all48 %.4f" % (L[:16, -1].mean(), L[:, -1].mean(), N[:16, -1].mean(), N[:, -1].mean()), flush=True)
