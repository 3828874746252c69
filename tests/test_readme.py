"""The README as a newcomer reads it: its commands run in the course's environment, and its
layout section lists every script and benchmark there is."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
# Blocks written by commands (the results section, the run-time table) quote the command that
# wrote them, as it was typed; everything else is the README's own.
GENERATED = re.compile(r"<!-- (reproduce|lesson-times):begin -->.*?<!-- \1:end -->", re.S)


def _layout() -> str:
    section = README.split("## Repository layout", 1)[1]
    return section.split("```", 2)[1]


def test_layout_lists_every_script_and_benchmark():
    layout = _layout()
    files = [p for folder in ("scripts", "benchmarks") for p in sorted((REPO / folder).iterdir())
             if p.suffix in (".py", ".sh")]
    missing = [f"{p.parent.name}/{p.name}" for p in files if p.name not in layout]
    assert not missing, f"README's layout section does not list {missing}"


def test_commands_use_the_course_environment():
    """`python -m minigrad.l2l`, `python scripts/...` or `pip install` typed without the venv
    fail on a fresh machine (the system's python lacks the dependencies)."""
    text = GENERATED.sub("", README)
    bare = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        activated = "source .venv/bin/activate" in block
        for line in block.splitlines():
            command = line.split("#", 1)[0]
            if re.search(r"(^|[\s=])(python3?|pip|pytest|jupyter) ", command) and not activated:
                bare.append(line.strip())
    # in prose: a script, a module with a subcommand, or an install
    bare += [m for m in re.findall(r"`([^`]*)`", text)
             if re.match(r"(\w+=\S+ )*(python3? (-m \S+ \S|scripts/|benchmarks/)|pip install)", m)]
    assert not bare, bare
