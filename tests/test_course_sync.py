"""course/ is generated from solutions/ by scripts/make_course.py; check both the sync and the
transformation itself."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

REPO = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------
# The committed tree


def test_course_is_in_sync_with_solutions(make_course):
    problems = make_course.out_of_sync()
    assert not problems, (
        "course/ is not what scripts/make_course.py generates from solutions/:\n  "
        + "\n  ".join(problems)
        + "\nRun: .venv/bin/python scripts/make_course.py"
    )


def test_there_are_lessons(make_course):
    assert (REPO / "solutions" / "00_welcome.ipynb").exists()
    assert set(make_course.expected_course()) == {
        p.relative_to(REPO / "course") for p in (REPO / "course").glob("*.ipynb")
    }


@pytest.mark.parametrize("path", sorted((REPO / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_solutions_are_committed_executed(path):
    nb = nbformat.read(path, as_version=4)
    unexecuted = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.execution_count is None
    ]
    assert not unexecuted, (
        f"{path.name}: code cells {unexecuted} have not been executed; run "
        "jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=120 "
        f"solutions/{path.name}"
    )


# --------------------------------------------------------------------------------------------
# The transformation of one cell


def test_solution_region_becomes_stub_with_the_markers_indentation(make_course):
    src = (
        "def f(x):\n"
        "    y = 2\n"
        "    if x:\n"
        "        ### BEGIN SOLUTION\n"
        "        return x * y\n"
        "        ### END SOLUTION\n"
        "    return 0"
    )
    assert make_course.transform_source(src) == (
        "def f(x):\n"
        "    y = 2\n"
        "    if x:\n"
        "        # YOUR CODE HERE\n"
        "        raise NotImplementedError()\n"
        "    return 0"
    )


def test_stub_raises_not_implemented(make_course):
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    namespace = {}
    exec(make_course.transform_source(src), namespace)
    with pytest.raises(NotImplementedError):
        namespace["f"](1)


def test_hidden_tests_are_removed(make_course):
    src = "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n### END HIDDEN TESTS\nx = 3"
    assert make_course.transform_source(src) == "assert f(1) == 1\nx = 3"


def test_markdown_solution_becomes_answer_placeholder(make_course):
    src = "Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    assert make_course.transform_source(src, "markdown") == "Why?\n\nYOUR ANSWER HERE"


def test_check_output_marker_is_dropped_but_other_nbval_markers_stay(make_course):
    assert make_course.transform_source("# NBVAL_CHECK_OUTPUT\nprint(1)") == "print(1)"
    src = "# NBVAL_RAISES_EXCEPTION\n1 / 0"
    assert make_course.transform_source(src) == src


def test_text_that_merely_mentions_a_marker_is_kept(make_course):
    src = 'print("### BEGIN SOLUTION")  # not a marker line'
    assert make_course.transform_source(src) == src


@pytest.mark.parametrize(
    "src, message",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1", "line 2: '### BEGIN SOLUTION' is never"),
        ("def f():\n    return 1\n    ### END SOLUTION", "line 3: '### END SOLUTION' without"),
        ("### END HIDDEN TESTS", "line 1: '### END HIDDEN TESTS' without '### BEGIN HIDDEN"),
        (
            "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n",
            "line 3: '### BEGIN SOLUTION' inside the '### BEGIN SOLUTION' opened on line 2",
        ),
        (
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n### END HIDDEN TESTS",
            "line 4: '### END HIDDEN TESTS' without '### BEGIN HIDDEN TESTS' (the open region",
        ),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "line 1: '### BEGIN SOLUTION' at the top"),
    ],
)
def test_bad_markers_raise_with_the_line(make_course, src, message):
    with pytest.raises(make_course.MarkerError) as err:
        make_course.transform_source(src, where="solutions/x.ipynb, cell 4")
    assert str(err.value).startswith("solutions/x.ipynb, cell 4: ")
    assert message in str(err.value)


# --------------------------------------------------------------------------------------------
# Whole notebooks and the course/ folder


def _solution_notebook():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            new_code_cell(
                "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
                execution_count=1,
                metadata={"tags": ["nbval-check-output", "keep-me"], "scrolled": True},
            ),
            new_code_cell(
                "assert f(1) == 1",
                metadata={"tags": ["check"], "jupyter": {"source_hidden": True}},
            ),
            new_code_cell(
                "print(f(2))", execution_count=2, outputs=[new_output("stream", text="2\n")]
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": "3.11.7"},
            "widgets": {"state": {}},
        },
    )
    return nb


def test_notebook_is_cleared_normalised_and_deterministic(make_course):
    solution = _solution_notebook()
    text = make_course.make_student_notebook(copy.deepcopy(solution), "x.ipynb")
    assert text == make_course.make_student_notebook(solution, "x.ipynb")
    assert text.endswith("}\n")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata == {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert code[0].metadata == {"tags": ["keep-me"]}
    assert code[1].metadata == {"tags": ["check"], "jupyter": {"source_hidden": True}}
    assert "raise NotImplementedError()" in code[0].source
    assert len({c.id for c in nb.cells}) == 4


def test_error_names_file_and_cell(make_course):
    nb = _solution_notebook()
    nb.cells[2].source = "x = 1\n### END SOLUTION"
    with pytest.raises(make_course.MarkerError, match=r"^x\.ipynb, cell 2: line 2: "):
        make_course.make_student_notebook(nb, "x.ipynb")


def test_write_course_mirrors_solutions(make_course, tmp_path, capsys):
    solutions, course = tmp_path / "solutions", tmp_path / "course"
    (solutions / "img").mkdir(parents=True)
    nbformat.write(_solution_notebook(), solutions / "01_a.ipynb")
    (solutions / "img" / "fig.png").write_bytes(b"\x89PNG fake")
    (solutions / "notes.txt").write_text("not mirrored")
    (course / "old").mkdir(parents=True)
    (course / "old" / "99_removed.ipynb").write_text("{}")
    (course / "README.md").write_text("left alone")
    args = ["--solutions", str(solutions), "--course", str(course)]

    assert make_course.main([*args, "--check"]) == 1
    report = capsys.readouterr().out
    assert "missing: course/01_a.ipynb" in report
    assert "not in solutions/: course/old/99_removed.ipynb" in report

    assert make_course.main(args) == 0
    assert (course / "img" / "fig.png").read_bytes() == b"\x89PNG fake"
    assert not (course / "old").exists()
    assert not (course / "notes.txt").exists()
    assert (course / "README.md").read_text() == "left alone"
    assert "YOUR CODE HERE" in (course / "01_a.ipynb").read_text()
    assert make_course.main([*args, "--check"]) == 0

    (course / "01_a.ipynb").write_text((course / "01_a.ipynb").read_text() + " ")
    assert make_course.main([*args, "--check"]) == 1
    assert "differs: course/01_a.ipynb" in capsys.readouterr().out


def test_main_reports_marker_errors(make_course, tmp_path, capsys):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nb = _solution_notebook()
    nb.cells[1].source = "def f():\n    ### BEGIN SOLUTION\n    return 1"
    nbformat.write(nb, solutions / "02_bad.ipynb")
    code = make_course.main(["--solutions", str(solutions), "--course", str(tmp_path / "c")])
    assert code == 2
    err = capsys.readouterr().err
    assert "solutions/02_bad.ipynb, cell 1: line 2: '### BEGIN SOLUTION' is never closed" in err
