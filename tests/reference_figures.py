"""Figures that pin down minigrad's numbers across refactorings (not a test module).

``compute()`` runs a short meta-training and an evaluation of the paper's two problems with
fixed seeds and returns their numbers. ``tests/data/reference_figures.json`` holds what the
code computed BEFORE the redesign (commit b12426b), written by

    git worktree add /tmp/before b12426b
    PYTHONPATH=/tmp/before python tests/reference_figures.py > tests/data/reference_figures.json

and ``tests/test_reference_figures.py`` checks that today's code computes the same within
float32 rounding.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def compute() -> dict:
    from threadpoolctl import threadpool_limits

    # the package's public names, the same before and after the redesign
    from minigrad.l2l import (
        LSTMOptimizer,
        MetaConfig,
        MetaTrainer,
        make_problem,
        net_defaults,
        run_protocol,
    )

    out = {}
    with threadpool_limits(1):
        for name, optimizee, iters, splits, runs, grid in (
            ("quadratic", None, 3, ("train", "train", "train"), 128, (0.01, 0.1)),
            ("mnist", "sigmoid-20", 2, ("train", "val", "test"), 2, (0.1, 1.0)),
        ):
            def problem(split, name=name, optimizee=optimizee):
                if name == "mnist":
                    return make_problem(name, optimizee, split=split, dtype="float32")
                return make_problem(name, dtype="float32")

            net = LSTMOptimizer(**net_defaults(name), dtype="float32")
            trainer = MetaTrainer(net, problem(splits[0]), MetaConfig(steps=20, unroll=10))
            trainer.train(iters)
            out[f"{name}_train"] = {
                "curve": trainer.curve, "final_losses": trainer.final_losses,
                "weight_abs_sums": {n: float(np.abs(p.data).sum())
                                    for n, p in net.named_parameters()}}
            res = run_protocol(net, problem(splits[1]), problem(splits[2]), steps=20,
                               runs=runs, val_runs=runs, seed=0, grid=grid)
            out[f"{name}_eval"] = {k: {"final_loss": res[k]["final_loss"],
                                       "lr": res[k].get("lr")} for k in res["optimizers"]}
    return out


if __name__ == "__main__":
    json.dump(compute(), sys.stdout, indent=1)
    print()
