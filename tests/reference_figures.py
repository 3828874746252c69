"""Figures that pin down minigrad's numbers across refactorings (not a test module).

``compute()`` runs a short meta-training and an evaluation of the paper's two problems with
fixed seeds and returns their numbers. ``tests/data/reference_figures.json`` holds what the
code computed BEFORE the redesign (commit b12426b), written by

    git worktree add /tmp/before b12426b
    PYTHONPATH=/tmp/before python tests/reference_figures.py > tests/data/reference_figures.json

and ``tests/test_reference_figures.py`` checks that today's code computes the same.

The figures must not depend on the CPU. NumPy's OpenBLAS picks its matrix kernels by CPU
(Haswell kernels on AMD EPYC, SkylakeX on an AVX-512 Xeon) and NumPy its SIMD loops, so the
last bits of every product differ from one machine to the next. Two choices keep those bits
from growing into different figures:

* **float64**: a last-bit difference is 1e-16 relative, not 1e-7;
* **no chaotic setting**: the MNIST baselines are tuned over learning rates (0.01, 0.1). The
  grid (0.1, 1.0) stored before made RMSprop pick lr 1.0, a chaotic run on the sigmoid MLP:
  even in float64 its final loss moved by 1.2% between two OpenBLAS kernels of one machine
  (1.2541 against 1.4985 in float32 on AMD against Intel).

Measured on AMD EPYC (2026-12-06) with the OpenBLAS kernels ``OPENBLAS_CORETYPE=Haswell``,
``Sandybridge`` and ``Prescott`` and with NumPy's AVX2 loops switched off
(``NPY_DISABLE_CPU_FEATURES=X86_V3``): every figure agrees within 1e-15 relative, against the
test's tolerance of 1e-9, so a kernel on a CPU we do not have (SkylakeX) would need to amplify
its rounding a million times more than any of these before the test noticed; the test itself
recomputes the figures under a second kernel to keep that true.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def compute(dtype: str = "float64") -> dict:
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
            ("mnist", "sigmoid-20", 2, ("train", "val", "test"), 2, (0.01, 0.1)),
        ):
            def problem(split, name=name, optimizee=optimizee):
                if name == "mnist":
                    return make_problem(name, optimizee, split=split, dtype=dtype)
                return make_problem(name, dtype=dtype)

            net = LSTMOptimizer(**net_defaults(name), dtype=dtype)
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
    json.dump(compute(*sys.argv[1:]), sys.stdout, indent=1)
    print()
