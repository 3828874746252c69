"""The report of ``python -m minigrad.l2l reproduce``: RESULTS.md, the README's results
section and the JSON of every number, all written from the results (nothing typed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..files import atomic_write_text
from .baselines import BASELINES, DISPLAY_NAMES, OPTIMIZERS
from .claims import RULES
from .plots import HEADLINE, figure_name, training_figure_name
from .stats import CI_METHOD
from .verdicts import fmt_number as _fmt

NAMES = DISPLAY_NAMES
write_text = atomic_write_text


class ReproduceError(Exception):
    """A bad argument or checkpoint, found before any work (exit status 2)."""


def _workers(info: dict) -> int:
    """Worker processes of a run (results written before ``--workers`` called it threads)."""
    return info.get("workers", info.get("threads"))

README_BEGIN = "<!-- reproduce:begin -->"
README_END = "<!-- reproduce:end -->"


def _cell(entry: dict, lr: bool = True) -> str:
    if entry["final_loss"] is None:
        s = f"diverged ({entry['diverged_runs']} runs)"
    else:
        s = f"{_fmt(entry['final_loss'])} ± {_fmt(entry['final_ci95'], '.2g')}"
    return s + (f" (lr {entry['lr']:g})" if lr and "lr" in entry else "")


def _verdict_word(v: dict, detail: bool = False) -> str:
    """The 'claim held?' cell; with ``detail``: whether the CIs overlap, or the horizon's
    divergence finding."""
    if v["held"] is None:
        return "report" + (f": {v['report'].split(';')[0]}" if detail else "")
    if v["kind"] == "fails":
        word = "**yes** (failure reproduced)" if v["held"] else "**no** (learned optimizer wins)"
    else:
        word = "**yes**" if v["held"] else "**no**"
    if detail and v["ci_overlap"] is not None:
        word += "; CIs overlap" if v["ci_overlap"] else "; CIs disjoint"
    return word


def results_table(results: list, compact: bool = False) -> list:
    if compact:
        head = ["Experiment", "Paper's claim", "LSTM (learned)", "Best tuned baseline",
                "Claim held?"]
    else:
        head = (["Experiment", "Paper's claim"] + [NAMES[n] for n in OPTIMIZERS]
                + ["Best tuned baseline", "Claim held?", "Verdict"])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        v = r["verdict"]
        best = f"{NAMES[v['best_baseline']]} (lr {v['best_lr']:g})"
        if compact:
            row = [r["title"], r["claim"], _cell(r["lstm"]),
                   f"{best}: {_cell(r[v['best_baseline']], lr=False)}",
                   _verdict_word(v, detail=True)]
        else:
            row = ([r["title"], r["claim"]] + [_cell(r[n]) for n in OPTIMIZERS]
                   + [best, _verdict_word(v), v["text"]])
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    return lines


def _ckpt_lines(ckpts: dict, root: Path) -> list:
    lines = ["| problem | file | meta-iterations (status) | weights | best validation | "
             "trained with |", "| --- | --- | --- | --- | --- | --- |"]
    for problem, c in ckpts.items():
        m = c["meta"]
        best = (m.get("validation") or {}).get("best")
        bv = f"{best[1]:.4g} at meta-iteration {best[0]}" if best else "none recorded"
        weights = c["weights"] if c["has_best"] or c["weights"] == "last" else "last (no best)"
        lines.append(f"| {problem} | `{_shown(c['path'])}` (SHA-256 `{c['sha256'][:12]}…`) "
                     f"| {m.get('iteration')} ({m.get('status', 'n/a')}) | {weights} | {bv} | "
                     f"`{m.get('command', 'n/a')}`{_shipped_note(m)} |")
    return lines


def _shipped_note(meta: dict) -> str:
    """The context ``scripts/ship_pretrained.py --note`` recorded with the file, if any."""
    note = (meta.get("shipped") or {}).get("note")
    return f"; {note}" if note else ""


def _rel(path, root: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), root.resolve())
    except ValueError:
        return str(path)


def _shown(path) -> str:
    """A checkpoint path as a reader can find it: the package's pretrained files by their path
    in the repository, others relative to the current folder when inside it."""
    from .checkpoints import PRETRAINED_DIR

    path = Path(path).resolve()
    if path.parent == PRETRAINED_DIR.resolve():
        return f"minigrad/l2l/pretrained/{path.name}"
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _tried(results: list, ckpts: dict) -> list:
    """What was tried, generated from the checkpoints, for the targets that were missed."""
    missed = [r for r in results if r["verdict"]["held"] is False]
    if not missed:
        return []
    lines = ["## Missed targets and what was tried", ""]
    lines.append("Missed: " + "; ".join(f"**{r['title']}** ({r['verdict']['text']})"
                                         for r in missed) + ".")
    lines.append("")
    for problem in sorted({r["problem"] for r in missed}):
        m = ckpts[problem]["meta"]
        val = m.get("validation") or {}
        hist = val.get("history") or []
        net, meta = m.get("net", {}), m.get("meta", {})
        lines.append(
            f"- The {problem} optimizer: `{m.get('command')}`{_shipped_note(m)}; status "
            f"'{m.get('status')}' at "
            f"{m.get('iteration')} meta-iterations ({(m.get('elapsed_s') or 0) / 3600:.1f} h "
            f"of training on a shared 2-core CPU); meta-lr "
            f"{meta.get('meta_lr')}, horizon {meta.get('steps')} in unrolls of "
            f"{meta.get('unroll')}, preprocessing {net.get('preprocess')} (p = {net.get('p')}), "
            f"output scale {net.get('output_scale')}, {net.get('num_layers')} LSTM layers of "
            f"{net.get('hidden_size')}. Weights selected on validation problems every "
            f"{val.get('every')} meta-iterations ({len(hist)} scores"
            + (f", best {val['best'][1]:.4g} at {val['best'][0]}" if val.get("best") else "")
            + ").")
    lines.append("- Baseline learning rates were tuned on validation problems only and the "
                 "learned optimizer's weights chosen on validation problems only; no test number "
                 "chose anything.")
    return lines + [""]


def render_results(results: list, ckpts: dict, info: dict, root: Path) -> str:
    """RESULTS.md: the verdicts, how a claim is judged, the protocol, each experiment (with
    its validation tables), what was tried for the missed targets, and the run's cost."""
    lines = _summary_lines(results, info)
    lines += _rules_lines(results)
    lines += _protocol_lines(results, ckpts, root)
    lines += _experiment_lines(results)
    lines += _tried(results, ckpts)
    lines += _cost_lines(info)
    return "\n".join(lines)


def _summary_lines(results: list, info: dict) -> list:
    held = [r for r in results if r["verdict"]["held"] is not None]
    n_held = sum(bool(r["verdict"]["held"]) for r in held)
    lines = ["# Results: reproducing Andrychowicz et al. (2016) on minigrad", "",
             f"Generated by `{info['command']}` on {info['date']} (repository commit "
             f"`{info.get('commit') or 'n/a'}`); do not edit by hand, rerun the command.", ""]
    if info["quick"]:
        lines += ["> **Quick mode** (`--quick`, for CI): short horizons, few runs, a 3-rate grid. "
                  "These numbers say nothing about the paper; run without `--quick`.", ""]
    lines += [f"**{n_held} of {len(held)} claims held** (the long-horizon rows are reports). "
              f"Each cell: mean final test loss ± 95% CI half-width over the test runs "
              f"(learning rate tuned on validation problems).", "",
              f"![all experiments](docs/img/{HEADLINE})", ""]
    return lines + results_table(results) + [""]


def _rules_lines(results: list) -> list:
    lines = ["## How a claim is judged", ""]
    lines += [f"- **{k}** ({', '.join(r['key'] for r in results if r['verdict']['kind'] == k)}"
              f"): {RULES[k].format(check_from=5, steps='T')}."
              for k in RULES if any(r["verdict"]["kind"] == k for r in results)]
    return lines + [
        "- The best tuned baseline is the one with the lowest mean final test loss "
        "(so beating it means beating all four). 'CIs overlap': the 95% intervals of the "
        "learned optimizer's and the best baseline's mean final losses overlap.", ""]


def _protocol_lines(results: list, ckpts: dict, root: Path) -> list:
    lines = ["## Protocol", "",
             "- Learned optimizers (shipped in `minigrad/l2l/pretrained/`, provenance in its "
             "README):", ""]
    lines += _ckpt_lines(ckpts, root) + [""]
    lines += ["- Their meta-training (mean optimizee loss over the horizon per meta-iteration, "
              "and the validation scores the weights were chosen by):", ""]
    lines += [f"  ![meta-training of the {p} optimizer](docs/img/{training_figure_name(p)})"
              for p in sorted(ckpts)] + [""]
    lines += [
        "- Baselines: SGD, NAG (momentum 0.9), RMSprop (0.99), Adam (0.9, 0.999); each "
        "learning rate tuned per experiment (horizon and architecture) on validation problems: "
        "seeds (seed, 2, k), MNIST validation digits; the rate with the lowest mean final loss "
        "wins. Reported on test problems: seeds (seed, 3, k), MNIST held-out test digits (never "
        "used in meta-training or tuning); all optimizers see the same test problems.",
        "- The MNIST loss is, as in the paper, the optimizee's own training loss: the "
        "cross-entropy of the minibatch of 128 the optimizer sees at that step, here drawn from "
        "the 1,000 held-out test digits (100 steps = 12.8 passes over them, so tuned baselines "
        "go lower than on the paper's 60,000 digits).",
        f"- Confidence intervals: {CI_METHOD}.", "",
        "| experiment | optimizee | steps | test runs | validation runs | lr grid |",
        "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r['key']} | {r['optimizee'] or r['problem']} | {r['steps']} | "
                     f"{r['runs']} | {r['val_runs']} | "
                     f"{', '.join(f'{v:g}' for v in r['lr_grid'])} |")
    return lines


def _experiment_lines(results: list) -> list:
    lines = ["", "## Experiments", ""]
    for r in results:
        v = r["verdict"]
        lines += [f"### {r['title']}", "", f"Paper: {r['claim']}. Verdict: {v['text']}.", "",
                  f"![{r['key']}](docs/img/{figure_name(r['key'])})", "",
                  "Validation mean final loss per learning rate (tuned rate in bold):", ""]
        for name in BASELINES:
            e = r[name]
            cells = [(f"**{k}**: " if float(k) == e["lr"] else f"{k}: ")
                     + ("diverged" if val is None else _fmt(val))
                     for k, val in e["val_final_loss"].items()]
            lines.append(f"- {NAMES[name]}: " + ", ".join(cells))
        edge = [NAMES[n] for n in BASELINES if r[n]["lr"] in (min(r["lr_grid"]),
                                                             max(r["lr_grid"]))]
        if edge:
            lines.append(f"- at the edge of the grid: {', '.join(edge)} (a rate beyond it might "
                         "do better)")
        lines.append("")
    return lines


def _cost_lines(info: dict) -> list:
    return ["## Cost", "",
            f"- wall time {info['wall_s']:.0f} s ({info['wall_s'] / 60:.1f} min), CPU time "
            f"{info['cpu_s']:.0f} s, {_workers(info)} worker process(es) on a machine with "
            f"{os.cpu_count()} cores (load average {info['load']:.1f} at the start)",
            f"- peak memory (ru_maxrss): main process {info['rss_main_mb']:.0f} MiB, largest "
            f"worker {info['rss_workers_mb']:.0f} MiB", ""]


def render_readme_section(results: list, info: dict, img_prefix: str, results_link: str,
                          ckpts: dict | None = None) -> str:
    held = [r for r in results if r["verdict"]["held"] is not None]
    n_held = sum(bool(r["verdict"]["held"]) for r in held)
    missed = [r["title"] for r in held if not r["verdict"]["held"]]
    lines = [f"![learned optimizer vs tuned baselines]({img_prefix}{HEADLINE})", ""]
    lines += results_table(results, compact=True) + [""]
    lines.append(f"**{n_held} of {len(held)} claims held.** "
                 + (f"Missed: {'; '.join(missed)}; [{results_link}]({results_link}) says what "
                    "was tried. " if missed else "")
                 + "Mean final test loss ± 95% CI over the test runs; every baseline's learning "
                 "rate tuned on validation problems, the learned optimizers' weights selected on "
                 "validation problems. Rules, all four baselines, per-experiment figures and "
                 f"the protocol: [{results_link}]({results_link}).")
    if ckpts:
        parts = []
        for problem, c in sorted(ckpts.items()):
            m = c["meta"]
            best = (m.get("validation") or {}).get("best")
            weights = c["weights"] if c["has_best"] else "last (no validation score yet)"
            parts.append(f"{problem} after {m.get('iteration')} meta-iterations (status "
                         f"'{m.get('status')}', {weights} weights"
                         + (f" from meta-iteration {best[0]}" if best and c["has_best"] else "")
                         + ")")
        lines += ["", "Learned optimizers used: " + "; ".join(parts) + "."]
    peak = max(info["rss_main_mb"], info["rss_workers_mb"])
    lines += ["", f"Produced by `{info['command']}`: {info['wall_s'] / 60:.0f} min wall with "
              f"{_workers(info)} worker process(es) on {os.cpu_count()} cores at load average "
              f"{info['load']:.1f}, {info['cpu_s'] / 60:.0f} min of CPU, peak memory "
              f"{peak:.0f} MiB."]
    return "\n".join(lines)


def update_readme(path, body: str) -> None:
    """Replace the text between :data:`README_BEGIN` and :data:`README_END` in ``path``."""
    path = Path(path)
    text = path.read_text()
    a, b = text.find(README_BEGIN), text.find(README_END)
    if a < 0 or b < a:
        raise ReproduceError(f"--readme {path}: no '{README_BEGIN}' ... '{README_END}' markers "
                             "(in this order) to write between")
    new = text[:a + len(README_BEGIN)] + "\n" + body.strip("\n") + "\n" + text[b:]
    write_text(path, new.rstrip("\n"))


def dump_payload(payload: dict) -> str:
    """The run as JSON: one line per experiment and optimizer, the per-step curves (for the
    figures) to 7 significant digits; every other number as computed."""
    def short(entry):
        return {k: ([v if v is None else float(f"{v:.7g}") for v in x]
                    if k in ("curve", "ci95") else x) for k, x in entry.items()}

    head = {k: v for k, v in payload.items() if k != "results"}
    lines = ["{", f' "info": {json.dumps(head["info"], allow_nan=False)},',
             f' "experiments": {json.dumps(head["experiments"], allow_nan=False)},',
             f' "checkpoints": {json.dumps(head["checkpoints"], allow_nan=False)},',
             ' "results": [']
    for i, res in enumerate(payload["results"]):
        top = {k: v for k, v in res.items() if k not in OPTIMIZERS}
        parts = [f'  {{"{k}": {json.dumps(v, allow_nan=False)}' if j == 0 else
                 f'   "{k}": {json.dumps(v, allow_nan=False)}' for j, (k, v) in
                 enumerate(list(top.items()) + [(n, short(res[n])) for n in OPTIMIZERS
                                                if n in res])]
        lines.append(",\n".join(parts) + ("}," if i < len(payload["results"]) - 1 else "}"))
    lines += [" ]", "}"]
    text = "\n".join(lines)
    json.loads(text)  # it parses
    return text


def write_reports(payload: dict, out: Path, readme: Path | None) -> None:
    """RESULTS.md and (optionally) the README's results section, from a run's payload."""
    results, info = payload["results"], payload["info"]
    write_text(out / "RESULTS.md", render_results(results, payload["checkpoints"], info, out))
    if readme is not None:
        prefix = _rel(out / "docs" / "img", readme.parent) + "/"
        link = _rel(out / "RESULTS.md", readme.parent)
        update_readme(readme, render_readme_section(results, info, prefix, link,
                                                    payload["checkpoints"]))

