"""Behaviour unchanged: today's code computes the figures the code computed before the
redesign (``tests/reference_figures.py`` says how they were stored and why they do not depend
on the CPU): a short meta-training and an evaluation, on the quadratics and on MNIST, in
float64, compared to 1e-9 relative.

The figures are computed twice: in this process, with the BLAS kernel the machine picks, and in
a fresh process made to use another OpenBLAS kernel (``OPENBLAS_CORETYPE``). If a change made
the figures chaotic again (a setting where last-bit differences grow), the second run would
disagree on every machine, not only on a CPU nobody tested on.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reference_figures import compute

HERE = Path(__file__).parent
STORED = HERE / "data" / "reference_figures.json"
REL = 1e-9  # float64 rounding across BLAS kernels measured at 1e-15 (reference_figures.py)


def _compare(now, before, where="figures"):
    if isinstance(before, dict):
        assert sorted(now) == sorted(before), where
        for key in before:
            _compare(now[key], before[key], f"{where}.{key}")
    elif isinstance(before, list):
        assert len(now) == len(before), where
        for k, (a, b) in enumerate(zip(now, before)):
            _compare(a, b, f"{where}[{k}]")
    elif isinstance(before, float):
        assert now == pytest.approx(before, rel=REL, abs=1e-12), where
    else:
        assert now == before, where


@pytest.mark.slow
def test_same_numbers_as_before_the_redesign():
    _compare(compute(), json.loads(STORED.read_text()))


@pytest.mark.slow
def test_same_numbers_with_another_blas_kernel():
    # Sandybridge kernels (AVX, no FMA) run on every x86-64 CPU this project meets and differ
    # from both Haswell (AMD EPYC) and SkylakeX (AVX-512 Xeon) in their summation order.
    env = {**os.environ, "OPENBLAS_CORETYPE": "Sandybridge", "OPENBLAS_VERBOSE": "2"}
    done = subprocess.run([sys.executable, str(HERE / "reference_figures.py")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Sandybridge" in done.stdout + done.stderr, "OpenBLAS did not switch kernels"
    now = json.loads(done.stdout[done.stdout.index("{"):])
    _compare(now, json.loads(STORED.read_text()))
