"""Ship a meta-training checkpoint as the package's pretrained optimizer, with its provenance.

    python scripts/ship_pretrained.py runs/pretrained/quadratic.npz runs/pretrained/mnist.npz
    python scripts/ship_pretrained.py runs/pretrained/mnist.npz --full   # keep Adam's state too

For each checkpoint written by ``python -m minigrad.l2l train`` this

1. reads it (``read_checkpoint``: format, configuration and weights checked) and rebuilds the
   learned optimizer from its own configuration, so a file that cannot be used is never shipped;
2. writes ``minigrad/l2l/pretrained/<problem>.npz`` atomically. By default it is SLIMMED to
   what evaluation needs: the last weights ``net.*`` and the best-on-validation weights
   ``best.*`` (when validation ran) with every metadata entry; the meta-optimizer's Adam state
   (``optimizer.*``, only needed to ``--resume`` training) is dropped. ``--full`` keeps it.
   The metadata gains a ``shipped`` entry: source path and SHA-256, time, repository commit,
   whether it was slimmed. A shipped file must stay under 1 MB (the package carries it);
3. writes ``minigrad/l2l/pretrained/<problem>.json``: the exact training command, the
   network / meta-training / problem configuration, seed, data version, status, meta-iterations
   and time, a summary of the training curve (mean optimizee loss per meta-iteration, averaged
   over ten equal blocks), the validation history and the selected weights;
4. regenerates ``minigrad/l2l/pretrained/README.md`` from every JSON there.

Nothing here is typed by hand: rerun the script after retraining. ``--dest`` writes elsewhere
(tests use it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minigrad.files import atomic_write_bytes, atomic_write_text, file_digest  # noqa: E402
from minigrad.l2l.checkpoints import (  # noqa: E402
    PRETRAINED_DIR,
    CheckpointMismatch,
    load_learned_optimizer,
    read_checkpoint,
    split_arrays,
)
from minigrad.nn import save_checkpoint  # noqa: E402

MAX_BYTES = 1_000_000


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def curve_summary(curve, blocks: int = 10) -> dict:
    """First, last and lowest value of the training curve and its mean over ``blocks`` equal
    consecutive blocks of meta-iterations (fewer when the curve is shorter)."""
    vals = [float(v) for v in curve]
    if not vals:
        return {"meta_iterations": 0}
    finite = [v for v in vals if math.isfinite(v)]
    n = len(vals)
    k = min(blocks, n)
    edges = [round(i * n / k) for i in range(k + 1)]
    block_means = []
    for a, b in zip(edges[:-1], edges[1:]):
        part = [v for v in vals[a:b] if math.isfinite(v)]
        block_means.append({"iterations": [a + 1, b],
                            "mean": sum(part) / len(part) if part else None})
    low = min(range(n), key=lambda i: vals[i] if math.isfinite(vals[i]) else math.inf)
    return {"meta_iterations": n, "first": vals[0], "last": vals[-1],
            "min": min(finite) if finite else None, "min_at": low + 1,
            "block_means": block_means}


def check_usable(arrays, meta, path) -> None:
    """Load the optimizer the way every user of the file will (both weight sets)."""
    for weights in ("last", "best"):
        try:
            load_learned_optimizer(path, weights=weights)
        except CheckpointMismatch as exc:
            raise SystemExit(f"error: {exc}") from None


def provenance(meta: dict, shipped_path: Path, weights: str, note: str | None = None) -> dict:
    val = meta.get("validation") or {}
    problem = meta["problem"]
    data = meta.get("data")
    if data is None and problem.get("name") == "quadratic":
        data = ("synthetic: the problem of meta-iteration i is drawn from seed (seed, 1, i); "
                "validation problems from (seed, 2, k)")
    return {
        "problem": problem.get("name"),
        "file": shipped_path.name,
        "sha256": file_digest(shipped_path),
        "bytes": shipped_path.stat().st_size,
        "command": meta.get("command"),
        "seed": meta.get("meta", {}).get("seed"),
        "status": meta.get("status"),
        "meta_iterations": meta.get("iteration"),
        "training_seconds": meta.get("elapsed_s"),
        "dtype": meta.get("dtype"),
        "net": meta.get("net"),
        "meta": meta.get("meta"),
        "problem_config": problem,
        "data": data,
        "minigrad_version": meta.get("minigrad_version"),
        "weights_used": weights,
        "validation": {"every": val.get("every"), "runs": val.get("runs"),
                       "best": val.get("best"), "history": val.get("history", [])},
        "training_curve": curve_summary(meta.get("curve", [])),
        "shipped": meta.get("shipped"),
        "note": note,
    }


def _fmt(v, spec=".4g"):
    return "n/a" if v is None else format(v, spec)


def render_readme(records: list) -> str:
    lines = [
        "# Pretrained learned optimizers",
        "",
        "Generated by `scripts/ship_pretrained.py` from the training checkpoints; do not edit "
        "by hand. `python -m minigrad.l2l evaluate --checkpoint pretrained` and "
        "`python -m minigrad.l2l reproduce` use these files. Each `<problem>.json` holds the "
        "full provenance (configuration, curve summary, validation history).",
        "",
    ]
    for r in records:
        best = r["validation"].get("best")
        ship = r.get("shipped") or {}
        lines += [
            f"## {r['problem']}: `{r['file']}`",
            "",
            f"- trained with: `{r['command']}`",
            *([f"- note: {r['note']}"] if r.get("note") else []),
            f"- status: {r['status']} after {r['meta_iterations']} meta-iterations "
            f"({_fmt((r['training_seconds'] or 0) / 60, '.0f')} min of training), seed "
            f"{r['seed']}, {r['dtype']}",
            f"- weights used by default: **{r['weights_used']}**"
            + (f" (best validation score {best[1]:.4g} at meta-iteration {best[0]}; validation "
               f"every {r['validation']['every']} meta-iterations on {r['validation']['runs']} "
               "problems, score = mean optimizee loss over steps 1..T)" if best else
               " (no validation score was recorded yet)"),
            f"- optimizer network: {json.dumps(r['net'], sort_keys=True)}",
            f"- meta-training: {json.dumps(r['meta'], sort_keys=True)}",
            f"- problem: {json.dumps(r['problem_config'], sort_keys=True)}",
            f"- data: {json.dumps(r['data'], sort_keys=True) if isinstance(r['data'], dict) else r['data']}",  # noqa: E501
            f"- file: {r['bytes']:,} bytes, SHA-256 `{r['sha256']}`; shipped "
            f"{ship.get('at', 'n/a')} from `{ship.get('source', 'n/a')}` (SHA-256 "
            f"`{ship.get('source_sha256', 'n/a')}`), repository commit "
            f"`{ship.get('git_commit') or 'n/a'}`, "
            + ("slimmed (Adam state dropped)" if ship.get("slimmed") else "full"),
            "",
        ]
        c = r["training_curve"]
        if c.get("meta_iterations"):
            lines += ["Training curve (mean optimizee loss over the horizon, per meta-iteration):",
                      "",
                      "| meta-iterations | mean loss |", "| --- | --- |"]
            lines += [f"| {b['iterations'][0]}-{b['iterations'][1]} | {_fmt(b['mean'])} |"
                      for b in c["block_means"]]
            lines += ["", f"First {_fmt(c['first'])}, last {_fmt(c['last'])}, lowest "
                      f"{_fmt(c['min'])} (meta-iteration {c['min_at']}).", ""]
        hist = r["validation"].get("history") or []
        if hist:
            lines += ["Validation: " + ", ".join(f"{int(i)}: {v:.4g}" for i, v in hist), ""]
    return "\n".join(lines)


write_text = atomic_write_text


def ship(source: Path, dest: Path, *, full: bool = False, weights: str = "best",
         note: str | None = None) -> dict:
    try:
        arrays, meta = read_checkpoint(source)
    except (FileNotFoundError, CheckpointMismatch) as exc:
        raise SystemExit(f"error: {exc}") from None
    check_usable(arrays, meta, source)
    problem = meta["problem"]["name"]
    if not full:
        arrays = {k: v for k, v in arrays.items() if k.startswith(("net.", "best."))}
        meta = {k: v for k, v in meta.items() if k != "optimizer"}
    if weights == "last":
        arrays = {k: v for k, v in arrays.items() if not k.startswith("best.")}
    used = "best" if split_arrays(arrays, "best") else "last"
    meta["shipped"] = {
        "source": os.path.relpath(source.resolve(), ROOT) if source.resolve().is_relative_to(
            ROOT) else str(source),
        "source_sha256": file_digest(source),
        "at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(),
        "slimmed": not full,
        "weights_used": used,
        "by": "scripts/ship_pretrained.py",
        **({"note": note} if note else {}),
    }
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{problem}.npz"
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder) / target.name
        save_checkpoint(tmp, arrays, meta)
        size = os.path.getsize(tmp)
        if size >= MAX_BYTES:
            raise SystemExit(f"error: {source}: the shipped file would be {size:,} bytes; the "
                             f"limit is {MAX_BYTES:,} (drop --full?)")
        read_checkpoint(tmp, problem)  # it reads back
        atomic_write_bytes(target, tmp.read_bytes())
    record = provenance(meta, target, used, note)
    write_text(dest / f"{problem}.json", json.dumps(record, indent=1, sort_keys=True))
    return record


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="+", type=Path,
                    help="training checkpoints (python -m minigrad.l2l train --out ...)")
    ap.add_argument("--dest", type=Path, default=PRETRAINED_DIR,
                    help=f"where to ship them ({os.path.relpath(PRETRAINED_DIR, ROOT)})")
    ap.add_argument("--full", action="store_true",
                    help="keep the meta-optimizer state (so training can be resumed)")
    ap.add_argument("--weights", choices=("best", "last"), default="best",
                    help="ship the best-on-validation weights beside the last (best), or only "
                         "the last")
    ap.add_argument("--note", default=None,
                    help="one line of context for the README (e.g. where the run's log lives)")
    args = ap.parse_args(argv)
    for src in args.checkpoints:
        r = ship(src, args.dest, full=args.full, weights=args.weights, note=args.note)
        best = r["validation"].get("best")
        print(f"shipped {src} -> {args.dest / r['file']} ({r['bytes']:,} bytes; "
              f"{r['meta_iterations']} meta-iterations, status {r['status']}, weights "
              f"{r['weights_used']}" + (f", best validation {best[1]:.4g} at {best[0]}"
                                        if best else "") + ")")
    records = [json.loads(p.read_text()) for p in sorted(args.dest.glob("*.json"))]
    write_text(args.dest / "README.md", render_readme(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
