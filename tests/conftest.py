"""Shared pytest setup for the unit tests.

* ``@pytest.mark.gpu`` tests skip, with CuPy's own reason, where no GPU works.
* notebook cells (nbval) and browser tests are marked ``slow``.
* ``rng``: a seeded NumPy generator (every random draw goes through an explicit seed).
* ``make_course``: the scripts/make_course.py module, for testing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    # Executing the notebooks (nbval) and driving a browser take minutes in all: both are
    # `slow`, so `bash scripts/test.sh -m "not slow"` is the quick check while working.
    for item in items:
        if str(getattr(item, "path", "")).endswith(".ipynb") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    from minigrad.backend import cupy_status

    usable, reason = cupy_status()
    if not usable:
        skip = pytest.mark.skip(reason=f"needs a working GPU: {reason}")
        for item in gpu_items:
            item.add_marker(skip)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def make_course():
    spec = importlib.util.spec_from_file_location(
        "make_course", REPO / "scripts" / "make_course.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
