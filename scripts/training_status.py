"""Where a long meta-training run stands: STATUS.md and a curve figure beside its checkpoint.

    python scripts/training_status.py training/mnist-paper/checkpoint.npz

reads the checkpoint that ``python -m minigrad.l2l train`` keeps writing (every setting, the
curve, the validation history, the time so far) and writes, next to it,

* ``STATUS.md``: the command that started the run and the one that resumes it, the status,
  meta-iterations done, time and seconds per meta-iteration, the training curve in blocks of
  100 meta-iterations, and every validation score (the best one marked);
* ``curve.png``: training loss (mean optimizee loss over the horizon, per meta-iteration, and
  its running mean over 50) and validation loss against meta-iteration.

Nothing in them is typed by hand; the snapshot committed with them is the checkpoint itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minigrad.files import atomic_write_text  # noqa: E402
from minigrad.l2l.checkpoints import read_checkpoint  # noqa: E402
from minigrad.l2l.plots import draw_training_curve  # noqa: E402

BLOCK = 100


def _first_command(path: Path) -> str | None:
    """The command of the first '# start' line of the run's log (train.log beside it)."""
    log = path.with_name("train.log")
    if not log.is_file():
        return None
    with open(log) as f:
        for line in f:
            if line.startswith("# start") and ": python -m" in line:
                return line.split(": ", 1)[1].strip()
    return None


def render(path: Path, meta: dict) -> str:
    curve, history = meta["curve"], meta["validation"]["history"]
    it = meta["iteration"]
    hours = meta.get("elapsed_s", 0.0) / 3600
    per = meta.get("elapsed_s", 0.0) / max(it, 1)
    best = min(history, key=lambda r: r[1]) if history else None
    run = meta.get("run", {})
    resume = (f"taskset -c 0 python -m minigrad.l2l train --problem {meta['problem']['name']} "
              f"--resume --out {path} --log {path.with_name('train.log')} --threads 1")
    lines = [
        f"# Meta-training run `{path.parent.name}`",
        "",
        f"Written by `python scripts/training_status.py {path}` from the checkpoint; do not "
        "edit by hand.",
        "",
        f"- first started with: `{_first_command(path) or meta.get('command', '?')}`",
        f"- last (re)started with: `{meta.get('command', '?')}`",
        (f"- resume with: `{resume}` (every setting comes from the checkpoint)"
         if meta.get("status") != "done" else
         f"- train further with: `{resume} --meta-iters N` (N above {it:,}; every other "
         "setting comes from the checkpoint)"),
        f"- status: **{meta.get('status', '?')}** after {it:,} of {run.get('meta_iters', '?'):,} "
        f"meta-iterations; {hours:.2f} h of training ({per:.1f} s per meta-iteration, "
        "validation included)",
        f"- meta learning rate {meta['meta']['meta_lr']:g}; validation every "
        f"{meta['validation']['every']} meta-iterations on {meta['validation']['runs']} problems",
    ]
    if best:
        so_far = "" if meta.get("status") == "done" else " so far"
        lines.append(f"- best validation score{so_far}: **{best[1]:.4f}** at meta-iteration "
                     f"{best[0]} (the weights kept as `best`)")
    lines += ["", "![training and validation curves](curve.png)", "",
              f"Training curve (mean optimizee loss over the horizon, averaged over blocks of "
              f"{BLOCK} meta-iterations):", "", "| meta-iterations | mean loss |", "| --- | --- |"]
    for start in range(0, len(curve), BLOCK):
        part = curve[start:start + BLOCK]
        lines.append(f"| {start + 1}-{start + len(part)} | {sum(part) / len(part):.4f} |")
    if history:
        lines += ["", "Validation (mean optimizee loss over steps 1..T on the validation "
                  "problems; lower is better):", "", "| meta-iteration | score |", "| --- | --- |"]
        for i, v in history:
            lines.append(f"| {i} | {v:.4f}{' (best)' if best and i == best[0] else ''} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", type=Path)
    args = ap.parse_args(argv)
    _, meta = read_checkpoint(args.checkpoint)
    atomic_write_text(args.checkpoint.with_name("STATUS.md"), render(args.checkpoint, meta))
    draw_training_curve(meta, args.checkpoint.with_name("curve.png"))
    print(f"{args.checkpoint}: {meta.get('status')} at meta-iteration {meta['iteration']}")


if __name__ == "__main__":
    main()
