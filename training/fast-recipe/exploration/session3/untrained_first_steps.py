"""How far the UNTRAINED learned optimizer moves an MNIST MLP, per seed and head initialisation.

    python training/fast-recipe/exploration/session3/untrained_first_steps.py

For seeds 0-7: 100 steps of a freshly initialised LSTM optimizer on 8 training-digit nets,
with the paper's head ("l2l"), its bias zeroed, the whole head zeroed, or the head scaled by
0.1; prints the mean and final loss (2.303 is chance). Output: untrained_first_steps.txt.
"""

from minigrad.l2l.evaluate import LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
from minigrad.l2l.problems import MnistProblem


def make_net(seed: int, variant: str) -> LSTMOptimizer:
    net = LSTMOptimizer(**net_defaults("mnist"), seed=seed)
    head = net.head
    if variant in ("zero-bias", "zero-head"):
        head.bias.data[...] = 0
    if variant == "zero-head":
        head.weight.data[...] = 0
    if variant == "small-head":
        head.bias.data[...] *= 0.1
        head.weight.data[...] *= 0.1
    return net


def main():
    prob = MnistProblem(split="train")
    seeds = problem_seeds(prob, 99, "val", 8)
    for seed in range(8):
        for variant in ("l2l", "zero-bias", "zero-head", "small-head"):
            net = make_net(seed, variant)
            losses = evaluate_rule(lambda net=net: LearnedRule(net), prob, seeds, 100, 8)
            print(seed, variant, f"bias {float(net.head.bias.data[0]):+.3f}",
                  f"mean {losses.mean():.3f} final {losses[:, -1].mean():.3f}", flush=True)


if __name__ == "__main__":
    main()
