"""The stored measurements lessons 07 and 08 share (``lesson07_08_results.json``, beside this
file): written by ``scripts/make_lesson07_08_results.py`` (minutes of CPU), read by both
lessons and checked against the shipped checkpoint by the tests."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from minigrad.files import atomic_write_text

RESULTS_FORMAT = "minigrad.course.lesson07_08/1"
RESULTS_PATH = Path(__file__).resolve().parent / "lesson07_08_results.json"
GENERATOR = "scripts/make_lesson07_08_results.py"


def _rounded(obj, digits: int = 6):
    """Floats to ``digits`` significant digits (confidence half-widths to 4), non-finite to
    None, through dicts and lists."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _rounded(v, 4 if k in ("ci95", "final_ci95", "summed_ci95") else digits)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, digits) for v in obj]
    return obj


def save_results(payload: dict, path=RESULTS_PATH) -> Path:
    """Write ``payload`` as JSON (floats to 6 significant digits, non-finite as null),
    atomically."""
    path = Path(path)
    text = json.dumps(_rounded(payload), indent=1, allow_nan=False)
    # one line per list of numbers: a readable file of a few hundred kB instead of megabytes
    text = re.sub(r"\[\s*((?:-?[0-9.eE+]+|null)(?:,\s*(?:-?[0-9.eE+]+|null))*)\s*\]",
                  lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)
    return atomic_write_text(path, text)


def load_results(path=RESULTS_PATH) -> dict:
    """The stored results (see the module docstring); raises FileNotFoundError naming the
    command that writes them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no stored results at {path}; write them with "
                                f"`python {GENERATOR}` (minutes of CPU)")
    payload = json.loads(path.read_text())
    if payload.get("format") != RESULTS_FORMAT:
        raise ValueError(f"{path}: format {payload.get('format')!r}, expected "
                         f"{RESULTS_FORMAT!r}; regenerate it with `python {GENERATOR}`")
    return payload
