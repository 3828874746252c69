#!/usr/bin/env python3
"""Measure how long each lesson notebook takes to run, and write it down (not a test).

    python scripts/time_lessons.py --readme README.md          # every notebook in solutions/
    python scripts/time_lessons.py solutions/07_mnist.ipynb    # some, printed only
    python scripts/time_lessons.py --readme README.md --add solutions/10_convnet.ipynb
                                                               # a new lesson, into the table

Each notebook runs top to bottom in a fresh kernel (nbclient, this Python environment, its own
folder as the working directory, one BLAS thread as the test command uses), on a copy: the
notebook file is not touched. Measured per notebook, as a learner waits: the wall time from
the moment the kernel is asked to start to the end of the last cell (kernel start included),
and the CPU time of everything the run used: the kernel process (user + system, read from the
operating system when the kernel has exited) plus this process, which plays the front end
(nbclient sending cells and collecting outputs). Run it on a quiet machine: the wall time
grows with any other load, so the load average at the start is recorded, and a busy machine
(load above 0.5) is refused unless ``--busy-ok``.

Writes ``docs/lesson_times.json`` (the figures with the date, CPU, commit, load average and
this command) and, with ``--readme``, rewrites the table between ``<!-- lesson-times:begin -->``
and ``<!-- lesson-times:end -->``. ``--add`` times only the notebooks given and adds them to the
figures already in ``docs/lesson_times.json`` (a lesson written after the last full
measurement): each added lesson keeps its own date, load average, commit and command, and the
README's note under the table names them, so a reader sees which figures were measured when.
The README's lesson table gives reading times only (an estimate by the authors); the run times
are these, measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minigrad.files import atomic_write_text  # noqa: E402
from minigrad.threads import cpu_model  # noqa: E402

BEGIN, END = "<!-- lesson-times:begin -->", "<!-- lesson-times:end -->"
JSON_PATH = ROOT / "docs" / "lesson_times.json"


def _cpu(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _run_cpu() -> float:
    """CPU seconds of this process and its reaped children (the kernels) so far."""
    return _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)


def time_notebook(path: Path, timeout: int = 120) -> dict:
    """Run ``path`` in a fresh kernel; return its wall and CPU seconds (kernel and client,
    see the module docstring), and the kernel's alone (``kernel_cpu_s``). A cell that
    runs longer than ``timeout`` seconds fails (nbclient's per-cell timeout; the slowest cell
    of the course took 12.6 s)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    cpu0, kernel0, t0 = _run_cpu(), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    client.execute()  # starts the kernel, runs every cell, shuts the kernel down and reaps it
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 1), "cpu_s": round(_run_cpu() - cpu0, 1),
            "kernel_cpu_s": round(_cpu(resource.RUSAGE_CHILDREN) - kernel0, 1)}



def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def readme_block(record: dict) -> str:
    rows = ["| Lesson | runs in (wall, kernel start included) | CPU |", "| --- | --- | --- |"]
    added = []
    for name, t in record["lessons"].items():
        mark = " *" if "measured" in t else ""
        rows.append(f"| {name}{mark} | {t['wall_s']:.0f} s | {t['cpu_s']:.0f} s |")
        if "measured" in t:
            m = t["measured"]
            added.append(f"{name} by `{m['command']}` on {m['date']} ({m['cpu']}, load average "
                         f"{m['load_average']:.1f} at the start)")
    note = ""
    if added:
        note = (" \\* Measured later, on its own: " + "; ".join(added) + ". A load average "
                "above 0.5 means other work shared the cores: that wall time is longer than a "
                "learner's on a quiet machine.")
    return "\n".join([
        BEGIN,
        *rows,
        "",
        f"Measured by `{record['command']}` on {record['date']} ({record['cpu']}, "
        f"{record['cores']} cores, load average {record['load_average']:.1f} at the start; "
        "each notebook top to bottom in a fresh kernel, one BLAS thread). The CPU time is the "
        "kernel's and the front end's together; the wall time grows when the machine is busy "
        "with other work." + note,
        END,
    ])


def add_to_record(record: dict, timed: dict, measured: dict) -> dict:
    """``record`` (the full measurement) with the lessons of ``timed`` ({stem: figures})
    added or replaced, each carrying ``measured`` (its own date, CPU, load average, commit and
    command); the lessons in the order of their file names."""
    lessons = dict(record["lessons"])
    for name, t in timed.items():
        lessons[name] = {**t, "measured": dict(measured)}
    return {**record, "lessons": dict(sorted(lessons.items()))}


def rewrite_readme(readme: Path, block: str) -> None:
    text = readme.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme}: no {BEGIN} ... {END} block to rewrite")
    atomic_write_text(readme, text[:start] + block + text[end + len(END):])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path,
                    help="notebooks to time (default: every solutions/*.ipynb)")
    ap.add_argument("--readme", type=Path, default=None,
                    help="also rewrite this README's lesson-times block (needs all notebooks)")
    ap.add_argument("--json", type=Path, default=JSON_PATH, help="where to write the figures")
    ap.add_argument("--busy-ok", action="store_true",
                    help="measure even if the load average is above 0.5 (figures then say so)")
    ap.add_argument("--add", action="store_true",
                    help="time only the notebooks given and add them to the figures already in "
                         "--json (a new lesson), each with its own date and load average")
    args = ap.parse_args(argv)
    if os.getloadavg()[0] > 0.5 and not args.busy_ok:
        ap.error(f"the machine is busy (load average {os.getloadavg()[0]:.1f}): a learner's "
                 "wait is measured on a quiet machine; stop other work or pass --busy-ok")
    paths = args.notebooks or sorted((ROOT / "solutions").glob("*.ipynb"))
    if args.add and not args.notebooks:
        ap.error("--add needs the notebooks to time and add")
    if args.readme and args.notebooks and not args.add:
        ap.error("--readme rewrites the whole table: time every notebook (give none), or add "
                 "new ones with --add")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the kernels inherit it
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    command = "python scripts/time_lessons.py" + (f" --readme {args.readme}" if args.readme
                                                   else "")
    if args.add:
        command += " --add" + "".join(f" {os.path.relpath(p.resolve(), ROOT)}"
                                      for p in args.notebooks)
    if args.busy_ok:
        command += " --busy-ok"
    record = {
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(), "cores": os.cpu_count(), "commit": _commit(),
        "load_average": round(os.getloadavg()[0], 2), "lessons": {},
    }
    for path in paths:
        t = time_notebook(path.resolve())
        record["lessons"][path.stem] = t
        print(f"{path.stem:32s} {t['cpu_s']:6.1f} s CPU {t['wall_s']:6.1f} s wall", flush=True)
    if args.add:
        full = json.loads(args.json.read_text())
        measured = {k: record[k] for k in ("command", "date", "cpu", "load_average", "commit")}
        record = add_to_record(full, record["lessons"], measured)
    elif args.notebooks:
        return 0
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.json, json.dumps(record, indent=1) + "\n")
    print(f"wrote {os.path.relpath(args.json, ROOT)}")
    if args.readme:
        rewrite_readme(args.readme, readme_block(record))
        print(f"rewrote the lesson-times block of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
