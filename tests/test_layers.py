"""Imports only point down, and nothing imports in a circle.

Every module of the ``minigrad`` package is parsed with ``ast``; every import counts, at module
level and inside functions. The layers, from the bottom up (CONTRIBUTING.md draws them):

    backend   backend, files, threads, subnormals
    tensor    tensor
    function  grad_mode, function
    autograd  autograd
    ops       ops/*, and the package itself (``import minigrad`` re-exports backend..ops)
    nn/optim  nn/*, optim/*, testing
    data      data/*
    l2l       l2l/*
    course    course/*

A module may import from its own layer or any layer below it, never above; the import graph
has no cycle; and no lesson helper (``course/lessonNN.py``, or the package ``course/lessonNN/``
with one file per part of the lesson) imports another lesson's.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "minigrad"

LAYERS = [
    ("backend", ("minigrad.backend", "minigrad.files", "minigrad.threads",
                 "minigrad.subnormals")),
    ("tensor", ("minigrad.tensor",)),
    ("function", ("minigrad.grad_mode", "minigrad.function")),
    ("autograd", ("minigrad.autograd",)),
    ("ops", ("minigrad.ops", "minigrad")),
    ("nn/optim", ("minigrad.nn", "minigrad.optim", "minigrad.testing")),
    ("data", ("minigrad.data",)),
    ("l2l", ("minigrad.l2l",)),
    ("course", ("minigrad.course",)),
]


def layer_of(module: str) -> int:
    best, length = None, -1
    for k, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > length:
                best, length = k, len(p)
    if best is None:
        raise AssertionError(f"{module}: in no layer; add it to LAYERS in {__file__}")
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(imported minigrad module, line) for every import in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for a in node.names:
                sub = f"{target}.{a.name}"
                found.append((sub if a.name != "*" and is_module(sub) else target, node.lineno))
    return [(m, line) for m, line in found if m == "minigrad" or m.startswith("minigrad.")]


FILES = sorted(ROOT.rglob("*.py"))
GRAPH = {module_name(f): imports_of(f) for f in FILES}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_imports_point_down(path):
    me = module_name(path)
    mine = layer_of(me)
    upward = [f"line {line}: {target} ({LAYERS[layer_of(target)][0]})"
              for target, line in GRAPH[me] if layer_of(target) > mine]
    assert not upward, f"{me} ({LAYERS[mine][0]}) imports from a higher layer: {upward}"


def _lesson(module: str) -> str | None:
    """``minigrad.course.lessonNN`` for a lesson helper or any part of it, else None."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["minigrad", "course"] and parts[2].startswith("lesson"):
        return ".".join(parts[:3])
    return None


def test_no_lesson_helper_imports_another_lesson():
    found = sorted(f"{me} imports {target} (line {line})" for me, edges in GRAPH.items()
                   if _lesson(me) for target, line in edges
                   if _lesson(target) and _lesson(target) != _lesson(me))
    assert not found, found


def test_no_import_cycles():
    edges = {me: sorted({t for t, _ in targets if t in GRAPH and t != me})
             for me, targets in GRAPH.items()}
    # a package's __init__ importing its own submodules is how packages are built; a
    # submodule importing its package back is a cycle
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_a_lesson_part_belongs_to_its_lesson():
    assert _lesson("minigrad.course.lesson05.meta_loss") == "minigrad.course.lesson05"
    assert _lesson("minigrad.course.lesson05") == "minigrad.course.lesson05"
    assert _lesson("minigrad.course.checks") is None and _lesson("minigrad.l2l") is None
