"""Behaviour unchanged: today's code computes the figures the code computed before the
redesign (``tests/reference_figures.py`` says how they were stored), within float32 rounding:
a short meta-training run and an evaluation, on the quadratics and on MNIST."""

import json
from pathlib import Path

import pytest
from reference_figures import compute

STORED = Path(__file__).with_name("data") / "reference_figures.json"


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
        assert now == pytest.approx(before, rel=1e-5, abs=1e-7), where
    else:
        assert now == before, where


@pytest.mark.slow
def test_same_numbers_as_before_the_redesign():
    _compare(compute(), json.loads(STORED.read_text()))
