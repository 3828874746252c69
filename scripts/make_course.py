#!/usr/bin/env python3
"""Generate the learners' notebooks in course/ from the complete ones in solutions/.

Usage::

    python scripts/make_course.py            # (re)write course/
    python scripts/make_course.py --check    # exit 1, listing the files that are out of sync

The nbgrader conventions are followed, so an instructor can also grade with nbgrader:

* In code cells, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the BEGIN marker's indentation.
  In Markdown cells they become ``YOUR ANSWER HERE``. A solution region at the top level of a
  code cell is refused: its stub would raise and stop the notebook, and course notebooks must
  run top to bottom (they fall back on the reference implementations).
* The lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` are removed.
* Outputs and execution counts are cleared; ``# NBVAL_CHECK_OUTPUT`` lines and the
  ``nbval-check-output`` tag are dropped (there is no stored output left to compare with).
* Metadata is normalised (kernelspec python3, no machine-specific fields), so the same input
  always gives byte-identical output.

Markers are whole lines (surrounding whitespace allowed). Unbalanced or nested markers raise
:class:`MarkerError` naming the file, the cell and the line.

course/ ends up holding exactly the notebooks and images of solutions/: missing ones are
written, stale ones removed. Other files in course/ are left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "course"

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CHECK_OUTPUT_MARK = "# NBVAL_CHECK_OUTPUT"
CHECK_OUTPUT_TAG = "nbval-check-output"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"

#: Files mirrored from solutions/ to course/ (besides notebooks, which are transformed).
ASSET_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: "jupyter" carries ``source_hidden``: the check cells stay collapsed in the learner's copy.
KEPT_CELL_METADATA = ("tags", "nbgrader", "editable", "deletable", "jupyter")

_MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)


class MarkerError(ValueError):
    """Unbalanced, nested or misplaced exercise markers."""


def _marker(line: str) -> str | None:
    stripped = line.strip()
    return stripped if stripped in _MARKERS else None


def transform_source(source: str, cell_type: str = "code", where: str = "") -> str:
    """Return the learner's version of one cell's source.

    ``where`` (e.g. ``"solutions/03_x.ipynb, cell 7"``) prefixes error messages.
    """
    where = f"{where}: " if where else ""
    out: list[str] = []
    region = None  # (kind, line number of BEGIN)
    for lineno, line in enumerate(source.split("\n"), start=1):
        mark = _marker(line)
        if mark is None:
            if region is None:
                out.append(line)
            continue
        if mark in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if region is not None:
                raise MarkerError(
                    f"{where}line {lineno}: '{mark}' inside the '{region[0]}' opened on line "
                    f"{region[1]}; close it with its END marker first"
                )
            region = (mark, lineno)
            if mark == BEGIN_SOLUTION:
                indent = line[: len(line) - len(line.lstrip())]
                if cell_type == "code":
                    if not indent:
                        raise MarkerError(
                            f"{where}line {lineno}: '{BEGIN_SOLUTION}' at the top level of a code "
                            "cell; its stub would raise NotImplementedError and stop the course "
                            "notebook. Put the solution inside a function."
                        )
                    out.extend(indent + stub for stub in CODE_STUB)
                else:
                    out.append(indent + MARKDOWN_STUB)
            continue
        expected_begin = BEGIN_SOLUTION if mark == END_SOLUTION else BEGIN_HIDDEN
        if region is None or region[0] != expected_begin:
            opened = f" (the open region is '{region[0]}' from line {region[1]})" if region else ""
            raise MarkerError(f"{where}line {lineno}: '{mark}' without '{expected_begin}'{opened}")
        region = None
    if region is not None:
        raise MarkerError(f"{where}line {region[1]}: '{region[0]}' is never closed")
    if cell_type == "code":
        out = [line for line in out if line.strip() != CHECK_OUTPUT_MARK]
    return "\n".join(out)


def _cell_id(path_name: str, index: int) -> str:
    return hashlib.sha1(f"{path_name}:{index}".encode()).hexdigest()[:8]


def make_student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> str:
    """The learner's notebook for solution notebook ``nb``, serialised (deterministic)."""
    cells = []
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        source = transform_source(source, cell.cell_type, where)
        metadata = {k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata}
        if "tags" in metadata:
            metadata["tags"] = [t for t in metadata["tags"] if t != CHECK_OUTPUT_TAG]
            if not metadata["tags"]:
                del metadata["tags"]
        cell_id = cell.get("id") or _cell_id(name, index)
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(source, metadata=metadata)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(source, metadata=metadata)
        else:
            new = nbformat.v4.new_raw_cell(source, metadata=metadata)
        new["id"] = cell_id
        cells.append(new)
    out = nbformat.v4.new_notebook(
        cells=cells,
        metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
    )
    out.nbformat, out.nbformat_minor = 4, 5
    nbformat.validate(out)
    return nbformat.writes(out) + "\n"


def _synced_files(root: Path) -> set[Path]:
    """Relative paths of the notebooks and images under ``root`` (hidden folders skipped)."""
    if not root.is_dir():
        return set()
    found = set()
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if p.is_file() and (p.suffix == ".ipynb" or p.suffix.lower() in ASSET_SUFFIXES):
            found.add(rel)
    return found


def expected_course(solutions: Path = SOLUTIONS) -> dict[Path, bytes]:
    """What course/ should hold: relative path -> file content."""
    files = {}
    for rel in sorted(_synced_files(solutions)):
        src = solutions / rel
        if rel.suffix == ".ipynb":
            nb = nbformat.read(src, as_version=4)
            files[rel] = make_student_notebook(nb, str(src.relative_to(solutions.parent))).encode()
        else:
            files[rel] = src.read_bytes()
    return files


def out_of_sync(solutions: Path = SOLUTIONS, course: Path = COURSE) -> list[str]:
    """One line per file of course/ that differs from what would be generated."""
    want = expected_course(solutions)
    problems = []
    for rel, content in want.items():
        target = course / rel
        if not target.exists():
            problems.append(f"missing: {course.name}/{rel}")
        elif target.read_bytes() != content:
            problems.append(f"differs: {course.name}/{rel}")
    for rel in sorted(_synced_files(course) - set(want)):
        problems.append(f"not in {solutions.name}/: {course.name}/{rel}")
    return problems


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


def write_course(solutions: Path = SOLUTIONS, course: Path = COURSE) -> list[str]:
    """Bring course/ in sync; return what changed."""
    want = expected_course(solutions)
    changes = []
    for rel, content in want.items():
        target = course / rel
        if not target.exists() or target.read_bytes() != content:
            _write_atomic(target, content)
            changes.append(f"wrote {course.name}/{rel}")
    for rel in sorted(_synced_files(course) - set(want)):
        (course / rel).unlink()
        changes.append(f"removed {course.name}/{rel}")
        # Remove the folders this left empty (never course/ itself).
        parent = (course / rel).parent
        while parent != course and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report files out of sync")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--course", type=Path, default=COURSE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = out_of_sync(args.solutions, args.course)
            for line in problems:
                print(line)
            if problems:
                print(f"{len(problems)} file(s) out of sync; run: python scripts/make_course.py")
                return 1
            print("course/ is in sync with solutions/")
            return 0
        for line in write_course(args.solutions, args.course):
            print(line)
        return 0
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
