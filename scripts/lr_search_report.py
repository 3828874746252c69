"""Summarise a meta learning rate search: one short ``train`` run per rate, compared on
validation (the paper chose its meta learning rate by random search on validation problems).

    python scripts/lr_search_report.py runs/search/mnist-lr*.npz \
        --out training/mnist-paper/LR_SEARCH.md

Each checkpoint must come from ``python -m minigrad.l2l train ... --meta-lr RATE --val-every N``
with the same problem, seed and validation settings. Validation score: mean optimizee loss over
steps 1..T on the validation problems (lower is better). Two rules are reported:

* ``final`` (the default): the lowest score at the END of the search budget, i.e. what a rate
  sustains. The long run is many times longer than the search, so a rate whose score rises
  again after an early dip is a poor bet for it;
* ``best``: the lowest score seen at any validation.

Ties go to the smaller rate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minigrad.files import atomic_write_text  # noqa: E402
from minigrad.l2l.checkpoints import read_checkpoint  # noqa: E402


def summarise(paths, rule: str = "final") -> tuple[str, float]:
    rows = []
    for path in paths:
        _, meta = read_checkpoint(path)
        history = meta["validation"]["history"]
        if not history:
            raise SystemExit(f"{path}: no validation history (train with --val-every)")
        best_it, best = min(history, key=lambda r: r[1])
        curve = meta["curve"]
        rows.append({"path": path, "lr": meta["meta"]["meta_lr"], "iters": meta["iteration"],
                     "history": history, "best": best, "best_it": best_it, "curve": curve,
                     "final": history[-1][1], "final_it": history[-1][0],
                     "seconds": meta.get("elapsed_s", 0.0), "command": meta.get("command", ""),
                     "status": meta.get("status", "")})
    rows.sort(key=lambda r: r["lr"])
    by_rule = {name: min(rows, key=lambda r, n=name: (r[n], r["lr"])) for name in ("final", "best")}
    chosen = by_rule[rule]
    its = sorted({it for r in rows for it, _ in r["history"]})
    lines = [
        "# Meta learning rate search (MNIST, paper configuration)",
        "",
        "Written by `python scripts/lr_search_report.py " + " ".join(str(p) for p in paths)
        + "`; do not edit by hand.",
        "",
        "Each rate: one run of `python -m minigrad.l2l train --problem mnist` with everything "
        "else at the paper's defaults (2x20 LSTM, LogAndSign p = 10, output scale 0.1, "
        "sigmoid-20 MLP, batch 128, T = 100 in unrolls of 20, first order), seed 0. "
        "Validation score: mean optimizee loss over steps 1..100 on the validation problems "
        "(fresh MLPs, validation digits); 2.303 = ln 10 is chance.",
        "",
        "| meta lr | " + " | ".join(f"val @ {it}" for it in its)
        + " | best val (iteration) | mean train loss, last 50 | seconds / meta-iteration |",
        "| --- | " + " | ".join("---" for _ in its) + " | --- | --- | --- |",
    ]
    for r in rows:
        hist = dict((it, v) for it, v in r["history"])
        cells = [f"{hist[it]:.4f}" if it in hist else "" for it in its]
        tail = r["curve"][-50:]
        per_it = r["seconds"] / max(r["iters"], 1)
        mark = " **(chosen)**" if r is chosen else ""
        lines.append(f"| {r['lr']:g}{mark} | " + " | ".join(cells)
                     + f" | {r['best']:.4f} ({r['best_it']}) | {sum(tail) / len(tail):.4f} | "
                     f"{per_it:.1f} |")
    final, best = by_rule["final"], by_rule["best"]
    lines += [
        "",
        f"Rule `final` (lowest score at the end of the budget): **{final['lr']:g}** "
        f"({final['final']:.4f} at meta-iteration {final['final_it']}).",
        f"Rule `best` (lowest score at any validation): **{best['lr']:g}** ({best['best']:.4f} "
        f"at meta-iteration {best['best_it']}).",
        "",
        f"Chosen by rule `{rule}`: meta learning rate **{chosen['lr']:g}**.",
        "",
        "Seconds per meta-iteration include validation and were measured while two searches "
        "shared the machine's two cores (one each).",
        "",
        "Commands:",
        "",
    ]
    lines += [f"- `{r['command']}` ({r['status']})" for r in rows]
    return "\n".join(lines) + "\n", chosen["lr"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rule", choices=("final", "best"), default="final")
    ap.add_argument("--note", default=None, help="a paragraph added to the report")
    args = ap.parse_args(argv)
    text, lr = summarise(args.checkpoints, args.rule)
    if args.note:
        text += "\n" + args.note.strip() + "\n"
    atomic_write_text(args.out, text)
    print(f"wrote {args.out}; chosen meta learning rate {lr:g}")


if __name__ == "__main__":
    main()
