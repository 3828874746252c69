"""scripts/time_lessons.py: it times a real notebook and writes the README's run-time block."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def time_lessons():
    spec = importlib.util.spec_from_file_location(
        "time_lessons", REPO / "scripts" / "time_lessons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(lessons):
    return {"command": "python scripts/time_lessons.py --readme README.md",
            "date": "2026-01-01 00:00 UTC", "cpu": "Some CPU", "cores": 2, "commit": "abc",
            "load_average": 0.5, "lessons": lessons}


def test_block_replaces_only_what_lies_between_the_markers(time_lessons, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{time_lessons.BEGIN}\nold table\n"
                      f"{time_lessons.END}\n\nafter\n")
    block = time_lessons.readme_block(_record({"00_welcome": {"cpu_s": 2.4, "wall_s": 3.6}}))
    time_lessons.rewrite_readme(readme, block)
    text = readme.read_text()
    assert "old table" not in text
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert "| 00_welcome | 4 s | 2 s |" in text  # wall first: what a learner waits
    assert "python scripts/time_lessons.py --readme README.md" in text and "Some CPU" in text


def test_a_readme_without_the_block_is_refused(time_lessons, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no block here\n")
    with pytest.raises(SystemExit, match="lesson-times:begin"):
        time_lessons.rewrite_readme(readme, "x")
    assert readme.read_text() == "# no block here\n"


def test_the_committed_readme_has_the_block_the_script_wrote(time_lessons):
    record = json.loads((REPO / "docs" / "lesson_times.json").read_text())
    assert set(record["lessons"]) == {p.stem for p in (REPO / "solutions").glob("*.ipynb")}
    assert time_lessons.readme_block(record) in (REPO / "README.md").read_text()


def test_times_a_notebook_in_a_fresh_kernel(time_lessons, tmp_path):
    """A notebook that burns about 0.3 s of CPU in its kernel: the CPU time counts the kernel
    and the front end (this process), the wall time the kernel's start too, and the notebook
    file is left as it was."""
    path = tmp_path / "burn.ipynb"
    nb = new_notebook(cells=[new_code_cell(
        "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3:\n    pass")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    before = path.read_bytes()
    t = time_lessons.time_notebook(path)
    assert t["kernel_cpu_s"] >= 0.3 and t["cpu_s"] >= t["kernel_cpu_s"]
    assert t["wall_s"] >= 0.3 + 0.2  # the kernel's start is part of the wait
    assert path.read_bytes() == before


def test_a_busy_machine_is_refused(time_lessons, monkeypatch, capsys):
    monkeypatch.setattr(time_lessons.os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    with pytest.raises(SystemExit):
        time_lessons.main(["--readme", "README.md"])
    assert "busy (load average 3.0)" in capsys.readouterr().err


def test_an_added_lesson_keeps_its_own_measurement(time_lessons):
    """--add: a lesson written after the last full measurement joins the table with its own
    date and load average, and the note under the table says so."""
    full = _record({"00_welcome": {"cpu_s": 2.4, "wall_s": 3.6},
                    "02_b": {"cpu_s": 1.0, "wall_s": 2.0}})
    measured = {"command": "python scripts/time_lessons.py --readme README.md --add "
                           "solutions/01_a.ipynb --busy-ok",
                "date": "2026-02-02 00:00 UTC", "cpu": "Other CPU", "load_average": 3.2,
                "commit": "def"}
    record = time_lessons.add_to_record(full, {"01_a": {"cpu_s": 9.0, "wall_s": 30.0}},
                                        measured)
    assert list(record["lessons"]) == ["00_welcome", "01_a", "02_b"]
    assert record["date"] == full["date"] and "measured" not in record["lessons"]["00_welcome"]
    assert record["lessons"]["01_a"]["measured"]["load_average"] == 3.2
    block = time_lessons.readme_block(record)
    assert "| 01_a * | 30 s | 9 s |" in block and "| 00_welcome | 4 s | 2 s |" in block
    assert "Measured later, on its own: 01_a by `python scripts/time_lessons.py" in block
    assert "on 2026-02-02 00:00 UTC (Other CPU, load average 3.2 at the start)" in block
    # measured again with everything: the note goes
    assert "Measured later" not in time_lessons.readme_block(full)


def test_add_needs_notebooks(time_lessons, capsys, monkeypatch):
    monkeypatch.setattr(time_lessons.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    with pytest.raises(SystemExit):
        time_lessons.main(["--add"])
    assert "--add needs the notebooks" in capsys.readouterr().err
