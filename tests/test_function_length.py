"""No function in ``minigrad/`` is longer than about 60 lines unless it says why (issue 28).

A function's length is its lines from ``def`` to its last line, docstring included. One longer
than :data:`LIMIT` must be on :data:`ALLOWED`, and its docstring must say why it is long, in a
sentence that starts "Long because". Run this file as a script to list every function over the
limit, longest first.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "minigrad"
LIMIT = 60
#: Functions over the limit whose docstrings say why (path from the repository root :: name).
ALLOWED = {
    # figures drawn shape by shape: their coordinates read best in one place
    "minigrad/course/graphs.py::draw_dag",
    "minigrad/course/lesson00/paper_picture.py::draw_paper_picture",
    "minigrad/course/lesson04/gate_diagram.py::draw_lstm_cell",
    "minigrad/course/lesson05/computational_graph.py::draw_computational_graph",
    "minigrad/course/lesson05/coordinates_figure.py::draw_coordinates_as_rows",
}
WHY = "long because"


def functions(root: Path = PACKAGE, base: Path = ROOT):
    """``(key, line, length, docstring)`` of every function and method under ``root``;
    ``key`` is ``path::name``, the path from ``base`` (``path::Class.name`` for a method,
    ``path::outer.name`` for a nested function)."""
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(base).as_posix()
        yield from _walk(tree, rel, "")


def _walk(node, rel: str, prefix: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = prefix + child.name
            if not isinstance(child, ast.ClassDef):
                length = child.end_lineno - child.lineno + 1
                yield f"{rel}::{name}", child.lineno, length, ast.get_docstring(child) or ""
            yield from _walk(child, rel, name + ".")
        else:
            yield from _walk(child, rel, prefix)


def too_long(limit: int = LIMIT):
    return sorted((f for f in functions() if f[2] > limit), key=lambda f: -f[2])


def _where(key: str, line: int) -> str:
    return f"{key.split('::')[0]}:{line} {key.split('::')[1]}"


def test_no_function_over_the_limit_unless_it_says_why():
    long = too_long()
    offenders = [f"{_where(key, line)} ({n} lines)" for key, line, n, _ in long
                 if key not in ALLOWED]
    assert not offenders, (f"functions over {LIMIT} lines: shorten them, or add them to ALLOWED "
                           f"with a docstring sentence '{WHY.capitalize()} ...':\n  "
                           + "\n  ".join(offenders))
    silent = [_where(key, line) for key, line, _, doc in long
              if key in ALLOWED and WHY not in " ".join(doc.lower().split())]
    assert not silent, (f"allowed long functions whose docstring does not say why "
                        f"('{WHY.capitalize()} ...'):\n  " + "\n  ".join(silent))


def test_the_allow_list_holds_only_long_functions():
    long = {key for key, *_ in too_long()}
    stale = sorted(ALLOWED - long)
    assert not stale, ("ALLOWED names functions that are gone or no longer over "
                       f"{LIMIT} lines; remove them:\n  " + "\n  ".join(stale))


def test_the_check_measures_and_names_functions(tmp_path):
    src = tmp_path / "pkg"
    src.mkdir()
    body = "\n".join(f"        x{k} = {k}" for k in range(70))
    (src / "m.py").write_text(f'class C:\n    def f(self):\n        """Doc."""\n{body}\n\n'
                              "    def g(self):\n        def inner():\n            pass\n")
    found = {key: (line, n, doc) for key, line, n, doc in functions(src, tmp_path)}
    assert found["pkg/m.py::C.f"] == (2, 72, "Doc.")
    assert found["pkg/m.py::C.g"][:2] == (75, 3)
    assert found["pkg/m.py::C.g.inner"][:2] == (76, 2)


if __name__ == "__main__":
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else LIMIT
    for key, line, n, _ in too_long(limit):
        print(f"{n:4d}  {_where(key, line)}" + ("  (allowed)" if key in ALLOWED else ""))
