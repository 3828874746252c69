import numpy as np, sys
from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
from minigrad.l2l.problems import MnistProblem
from minigrad.l2l.evaluate import LearnedRule, evaluate_rule, problem_seeds
prob = MnistProblem(split="train")
seeds = problem_seeds(prob, 99, "val", 8)
for seed in range(8):
    for variant in ["l2l", "zero-bias", "zero-head", "small-head"]:
        net = LSTMOptimizer(**net_defaults("mnist"), seed=seed)
        if variant == "zero-bias":
            net.head.bias.data[...] = 0
        elif variant == "zero-head":
            net.head.bias.data[...] = 0; net.head.weight.data[...] = 0
        elif variant == "small-head":
            net.head.bias.data[...] *= 0.1; net.head.weight.data[...] *= 0.1
        L = evaluate_rule(lambda: LearnedRule(net), prob, seeds, 100, 8)
        print(seed, variant, f"bias {float(net.head.bias.data[0]):+.3f}", f"mean {L.mean():.3f} final {L[:, -1].mean():.3f}", flush=True)
