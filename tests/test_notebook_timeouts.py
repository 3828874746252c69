"""No notebook run can hang: every runner in the repository has a per-cell timeout, and every
documented way to execute a notebook gives one."""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = None


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python >= 3.11")
def test_nbval_runs_every_cell_with_a_timeout():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    addopts = config["tool"]["pytest"]["ini_options"]["addopts"]
    given = [a for a in addopts if a.startswith("--nbval-cell-timeout=")]
    assert given, f"pyproject.toml's pytest addopts give nbval no cell timeout: {addopts}"
    seconds = float(given[0].split("=", 1)[1])
    assert 30 <= seconds <= 600, seconds  # a hang fails in minutes, a slow cell still passes


def test_documented_notebook_executions_have_a_cell_timeout():
    commands = []
    for name in ("README.md", "CONTRIBUTING.md", "tests/test_course_sync.py"):
        text = (REPO / name).read_text()
        commands += [(name, m.group(0)) for m in
                     re.finditer(r"nbconvert[^`\n]*--execute[^`\n]*", text)]
    assert commands, "no documented nbconvert --execute command found"
    missing = [c for c in commands if "--ExecutePreprocessor.timeout=" not in c[1]]
    assert not missing, missing


def test_time_lessons_fails_a_cell_that_runs_past_its_timeout(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "time_lessons", REPO / "scripts" / "time_lessons.py")
    time_lessons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(time_lessons)
    from nbclient.exceptions import CellTimeoutError

    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("import time\ntime.sleep(60)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "sleeps.ipynb"
    nbformat.write(nb, path)
    t0 = time.perf_counter()
    with pytest.raises(CellTimeoutError, match="time.sleep"):
        time_lessons.time_notebook(path, timeout=2)
    assert time.perf_counter() - t0 < 45
