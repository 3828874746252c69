"""Time to win: how long meta-training takes, from a fresh LSTM, to beat tuned NAG on MNIST.

    python benchmarks/bench_time_to_win.py --out benchmarks/TIME_TO_WIN.md
    python benchmarks/bench_time_to_win.py --variants fast --seeds 0 --marks 1,2 --runs 10

For every variant (a recipe, possibly with some of its ideas switched off: the ablation) and
every training seed, the benchmark meta-trains with ``python -m minigrad.l2l train --minutes``
in stages: up to the first mark of the budget, then ``--resume`` up to the next, and so on. A
run resumed from its checkpoint continues exactly as if it had not stopped, and its clock
(``elapsed_s`` in the checkpoint: the warm start, every meta-iteration, validation and the
checkpoints, over all stages) is what the marks measure; the few seconds each stage's process
spends starting are not counted, and the table gives the stages' whole wall time beside it.

At every mark the run's best-on-validation weights so far are evaluated with the course's
MNIST protocol (``python -m minigrad.l2l evaluate --optimizers lstm,nag``): NAG's learning rate
tuned on validation runs, then ``--runs`` test runs (fresh nets, held-out digits) for both,
paired. A row WINS when the 95% interval of the paired difference learned - NAG lies below
zero. The evaluation is outside the clock. Every row is also paired against the shipped
optimizer (``minigrad/l2l/pretrained/mnist.npz``, 10,000 meta-iterations of the paper's recipe)
on the same test runs, evaluated once per work folder: the issue's 60-minute goal is a row
whose interval of learned - shipped does not lie above zero.

Everything runs in child processes on this machine; nothing else heavy should run meanwhile
(the budget is wall-clock time). The report names the CPU, the date and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

def _fast_ideas() -> dict:
    """Each idea of the fast recipe as ``train`` flags on top of the paper's recipe, read from
    the recipe itself (``minigrad.l2l.recipes``), so the ablation follows it."""
    sys.path.insert(0, str(REPO))
    from minigrad.l2l.recipes import get_recipe

    fast = get_recipe("fast")
    m = fast.meta
    ideas = {"schedule": (f"meta lr {m['meta_lr']:g}, warm-up and decay",
                          ["--meta-lr", f"{m['meta_lr']:g}", "--warmup-iters",
                           str(m["warmup_iters"]), "--decay-iters", str(m["decay_iters"]),
                           "--min-lr-ratio", f"{m['min_lr_ratio']:g}"]),
             "2 processes": ("two processes", ["--processes", str(fast.processes)])}
    if m.get("unroll", 20) != 20:
        ideas["short unrolls"] = (f"unrolls of {m['unroll']} steps", ["--unroll", str(m["unroll"])])
    if m.get("unroll_doubling"):
        ideas["unroll curriculum"] = (f"the unroll doubled every {m['unroll_doubling']} "
                                      "meta-iterations",
                                      ["--unroll-doubling", str(m["unroll_doubling"])]
                                      + (["--max-unroll", str(m["max_unroll"])]
                                         if m.get("max_unroll") else []))
    if m.get("meta_objective", "loss") != "loss":
        ideas["log objective"] = (f"the {m['meta_objective']} meta-loss",
                                  ["--meta-objective", m["meta_objective"]])
    if m.get("betas"):
        ideas["beta2"] = (f"Adam's beta2 {m['betas'][1]:g}",
                          ["--meta-betas", ",".join(f"{b:g}" for b in m["betas"])])
    if "output_scale" in fast.mnist_net:
        ideas["output scale"] = (f"output scale {fast.mnist_net['output_scale']:g}",
                                 ["--output-scale", f"{fast.mnist_net['output_scale']:g}"])
    if fast.mnist_problem.get("train_pool"):
        ideas["train pool"] = (f"training nets on {fast.mnist_problem['train_pool']} digits",
                               ["--train-pool", str(fast.mnist_problem["train_pool"])])
    if fast.mnist_problem.get("param_scale"):
        ideas["random scaling"] = (f"training nets' weights scaled by exp(U(-L, L)), L = "
                                   f"{fast.mnist_problem['param_scale']:g}",
                                   ["--param-scale", f"{fast.mnist_problem['param_scale']:g}"])
    if m.get("average"):
        ideas["average"] = (f"validation on a running average of the weights (a = "
                            f"{m['average']:g})", ["--average", f"{m['average']:g}"])
    if fast.net.get("head_init"):
        ideas["zero head"] = (f"the head initialised with {fast.net['head_init']}",
                              ["--head-init", fast.net["head_init"]])
    if m.get("meta_tilt"):
        ideas["tilted loss"] = (f"the meta-loss tilted towards hard digits (tau "
                                f"{m['meta_tilt']:g})", ["--meta-tilt", f"{m['meta_tilt']:g}"])
    if m.get("collapse_guard"):
        rewarm = m.get("collapse_rewarm", 0)
        ideas["collapse guard"] = (
            "a collapse rolled back and the meta lr halved" + (
                f", back to the schedule's over {rewarm} meta-iterations" if rewarm else ""),
            ["--collapse-guard"] + (["--collapse-rewarm", str(rewarm)] if rewarm else []))
    if m.get("meta_segment"):
        ideas["segments"] = (f"the log of the mean over segments of {m['meta_segment']} "
                             "steps", ["--meta-objective", "logmean",  # segments need it
                                       "--meta-segment", str(m["meta_segment"])])
    if m.get("meta_coordinates", 1.0) < 1:
        ideas["coordinates"] = (f"the meta-gradient through {m['meta_coordinates']:g} of the "
                                "coordinates", ["--meta-coordinates", f"{m['meta_coordinates']:g}"])
    if fast.population > 1:
        ideas["population"] = (f"a population start of {fast.population} runs (one process "
                               "each) for half the budget", ["--population",
                                                             str(fast.population)])
    if fast.val_metric != "mean":
        ideas[f"{fast.val_metric} val"] = (f"best weights by the {fast.val_metric} validation "
                                           "loss", ["--val-metric", fast.val_metric])
    return ideas


#: name -> (what it is, train flags). The ablation: each idea of the fast recipe alone on top
#: of the paper's recipe, the paper's and the imitation warm start, and all of them together.
VARIANTS = {
    "paper": ("the paper's recipe (meta lr 1e-3, fresh LSTM, one process)",
              ["--recipe", "paper"]),
    "paper+imitation": ("the paper's, after the imitation warm start",
                        ["--recipe", "paper", "--imitation"]),
    **{f"paper+{name}": (f"the paper's, with {what}", ["--recipe", "paper", *flags])
       for name, (what, flags) in _fast_ideas().items()},
    "fast": ("the fast recipe (all of its ideas)", ["--recipe", "fast"]),
    "fast+scale1": ("the fast recipe, each training net's weights randomly scaled by "
                    "exp(U(-1, 1)) (Lv et al. 2017) for an optimizer robust on nets unlike its "
                    "training nets", ["--recipe", "fast", "--param-scale", "1"]),
    "fast+imitation": ("the fast recipe after the imitation warm start",
                       ["--recipe", "fast", "--imitation"]),
    # candidates for the recipe, measured before it changes (session 5)
    "fast+tail val": ("the fast recipe, the best weights by the validation loss over the "
                      "horizon's last tenth", ["--recipe", "fast", "--val-metric", "tail"]),
    "fast+tail val+raw": ("the fast recipe, the best weights by the validation loss over the "
                          "horizon's last tenth, of the weights themselves rather than their "
                          "running average", ["--recipe", "fast", "--val-metric", "tail",
                                              "--average", "0"]),
    # session 6
    "fast+tail val+raw+guard": ("the same, a collapse rolled back to the start of the latest "
                                "good horizon and the meta lr halved",
                                ["--recipe", "fast", "--val-metric", "tail", "--average", "0",
                                 "--collapse-guard"]),
    "fast+tail val+raw+guard+seg10": ("the same, the meta-loss's log taken over segments of "
                                      "10 steps of the horizon",
                                      ["--recipe", "fast", "--val-metric", "tail", "--average",
                                       "0", "--collapse-guard", "--meta-segment", "10"]),
    "fast+tail val+raw+guard+seg10+coords25": (
        "the same, each horizon backpropagated through a quarter of the coordinates",
        ["--recipe", "fast", "--val-metric", "tail", "--average", "0", "--collapse-guard",
         "--meta-segment", "10", "--meta-coordinates", "0.25"]),
    # session 7
    "fast+tail val+raw+guard rewarm30+seg10+coords25": (
        "the same, the meta lr halved by a rollback coming back to the schedule's over 30 "
        "meta-iterations", ["--recipe", "fast", "--val-metric", "tail", "--average", "0",
                            "--collapse-guard", "--collapse-rewarm", "30", "--meta-segment",
                            "10", "--meta-coordinates", "0.25"]),
    # session 8
    "fast+tail val+raw+guard rewarm30+seg10+coords25+floor1e-3": (
        "the same, the meta lr's halvings stopping at 1e-3 (the paper's rate) instead of 1e-4",
        ["--recipe", "fast", "--val-metric", "tail", "--average", "0", "--collapse-guard",
         "--collapse-rewarm", "30", "--meta-segment", "10", "--meta-coordinates", "0.25",
         "--min-lr-ratio", "0.1"]),
    "fast+tail val+raw+guard rewarm30+seg10+coords25+floor1e-3+max20": (
        "the same, the unroll's doubling stopped at 20 steps, so every horizon keeps 5 "
        "meta-updates", ["--recipe", "fast", "--val-metric", "tail", "--average", "0",
                         "--collapse-guard", "--collapse-rewarm", "30", "--meta-segment", "10",
                         "--meta-coordinates", "0.25", "--min-lr-ratio", "0.1",
                         "--max-unroll", "20"]),
    # session 9
    "fast+tail val+raw+guard rewarm30+seg10+coords25+floor1e-3+pop2": (
        "the floor-of-1e-3 variant from a population start: two runs (one process each) for "
        "the first 5 minutes, then the better on validation on both processes",
        ["--recipe", "fast", "--val-metric", "tail", "--average", "0", "--collapse-guard",
         "--collapse-rewarm", "30", "--meta-segment", "10", "--meta-coordinates", "0.25",
         "--min-lr-ratio", "0.1", "--population", "2", "--population-minutes", "5"]),
    "fast+tail val+raw+guard rewarm30+seg10+coords25+floor1e-3+max20+pop2": (
        "the unroll-capped variant from the same population start",
        ["--recipe", "fast", "--val-metric", "tail", "--average", "0", "--collapse-guard",
         "--collapse-rewarm", "30", "--meta-segment", "10", "--meta-coordinates", "0.25",
         "--min-lr-ratio", "0.1", "--max-unroll", "20", "--population", "2",
         "--population-minutes", "5"]),
    "fast+tail val+raw+guard rewarm30+seg10+coords25+floor1e-3+max20+pool3000": (
        "the unroll-capped variant, each training net fitting the whole training split (3,000 "
        "digits, harder than the 1,000 the recipe draws) for an optimizer robust on harder "
        "nets", ["--recipe", "fast", "--val-metric", "tail", "--average", "0",
                 "--collapse-guard", "--collapse-rewarm", "30", "--meta-segment", "10",
                 "--meta-coordinates", "0.25", "--min-lr-ratio", "0.1", "--max-unroll", "20",
                 "--train-pool", "3000"]),
}


def _run(cmd, log):
    start = time.time()
    with open(log, "a") as f:
        f.write(f"$ {shlex.join(cmd)}\n")
        f.flush()
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited with {done.returncode}; see {log}")
    return time.time() - start


def _checkpoint_meta(path):
    sys.path.insert(0, str(REPO))
    from minigrad.nn import load_checkpoint

    return load_checkpoint(path)[1]


def shipped_finals(runs, workdir, python, log) -> list:
    """The shipped MNIST optimizer's final loss on each of the ``runs`` test runs (the ones
    every row is evaluated on), evaluated once and kept in ``workdir``."""
    result = workdir / f"shipped-{runs}runs.json"
    if not result.is_file():
        _run([python, "-m", "minigrad.l2l", "evaluate", "--problem", "mnist", "--checkpoint",
              "pretrained", "--optimizers", "lstm", "--runs", str(runs), "--json", str(result),
              "--no-progress"], log)
    return json.loads(result.read_text())["lstm"]["finals"]


def against_shipped(finals, shipped) -> dict:
    """The paired comparison of a row's test finals with the shipped optimizer's: its mean,
    learned - shipped with the 95% interval, and whether the row is not worse (the interval
    does not lie above zero)."""
    from minigrad.l2l.stats import paired_comparison

    paired = paired_comparison(finals, shipped)
    return {"shipped": paired["mean_b"], "diff": paired["mean_diff"], "ci": paired["diff_ci95"],
            "not_worse": paired["verdict"] != "b"}


def train_and_evaluate(variant, seed, marks, runs, workdir, python, log, done=None,
                       on_row=None):
    """Rows for one variant and seed: one per mark. ``done``: rows already measured (a
    resumed benchmark, None otherwise), whose marks are skipped; ``on_row(row)`` after each
    new one."""
    flags = VARIANTS[variant][1]
    out = workdir / f"{variant.replace(' ', '-').replace('+', '_')}-seed{seed}.npz"
    rows = [r for r in done or () if r["variant"] == variant and r["seed"] == seed]
    if done is not None and not rows and out.exists():
        raise SystemExit(f"--resume: {out} exists but no row of it was measured; move it "
                         "away (or run without --resume, which starts it afresh)")
    measured = {r["minutes"] for r in rows}
    wall = max((r["wall_s"] for r in rows), default=0.0)
    for minutes in marks:
        if minutes in measured:
            continue
        cmd = [python, "-m", "minigrad.l2l", "train", "--problem", "mnist", "--seed", str(seed),
               "--minutes", f"{minutes:g}", "--out", str(out), "--no-progress",
               "--log", str(out.with_suffix(".log"))]
        cmd += ["--resume"] if rows else [*flags, "--force", "--val-every", "25",
                                          "--val-runs", "16"]
        load = os.getloadavg()[0]  # other work on the machine shortens the budget's work
        wall += _run(cmd, log)
        load = max(load, os.getloadavg()[0])
        meta = _checkpoint_meta(out)
        result = out.with_name(out.stem + f"-{minutes:g}min.json")
        _run([python, "-m", "minigrad.l2l", "evaluate", "--problem", "mnist", "--checkpoint",
              str(out), "--optimizers", "lstm,nag", "--runs", str(runs), "--val-runs", "4",
              "--json", str(result), "--no-progress"], log)
        res = json.loads(result.read_text())
        paired = res["paired"]
        best = (meta.get("validation") or {}).get("best")
        rows.append({
            "variant": variant, "seed": seed, "minutes": minutes,
            "clock_s": meta["elapsed_s"], "wall_s": wall, "iterations": meta["iteration"],
            "best_at": best[0] if best else None, "best_val": best[1] if best else None,
            "lstm": res["lstm"]["final_loss"], "nag": res["nag"]["final_loss"],
            "nag_lr": res["nag"]["lr"], "diff": paired["mean_diff"], "ci": paired["diff_ci95"],
            "wins_share": paired["wins"], "win": paired["verdict"] == "a", "load": load,
            "vs_shipped": against_shipped(res["lstm"]["finals"],
                                          shipped_finals(runs, workdir, python, log))})
        print(f"{variant:18} seed {seed} {minutes:>5g} min: {meta['iteration']:>5} meta-iters, "
              f"learned {rows[-1]['lstm']:.4g} vs NAG {rows[-1]['nag']:.4g}, "
              f"{'WIN' if rows[-1]['win'] else 'no win'}", flush=True)
        if on_row is not None:
            on_row(rows[-1])
    return rows



def _ci(ci) -> str:
    return "undefined" if ci is None else f"[{ci[0]:.3g}, {ci[1]:.3g}]"


def _vs_shipped(entry) -> str:
    """A row's comparison with the shipped optimizer (rows measured before it existed: -)."""
    if entry is None:
        return "-"
    diff = "undefined" if entry["diff"] is None else f"{entry['diff']:+.3g}"
    return f"{diff} {_ci(entry['ci'])}" + (" **not worse**" if entry["not_worse"] else "")


def report(rows, args, command) -> str:
    from minigrad.threads import cpu_model

    lines = [
        "# Time to win: meta-training until the learned optimizer beats tuned NAG (MNIST)",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{cpu_model()}, {os.cpu_count()} cores; do not edit by hand, rerun the command."
        + (f" It trains nothing: it reports the rows (`{args.workdir}/rows.json`) that the "
           f"commands in `{args.workdir}/bench.log` measured, each run's log beside it."
           if getattr(args, "report_only", False) else ""),
        "",
        "Each row: a variant trained from a fresh LSTM with one training seed, its "
        "best-on-validation weights at that mark of its wall-clock budget (the run's own clock:"
        " warm start, meta-iterations, validation and checkpoints; `wall` adds the stages' "
        "process starts), evaluated on "
        f"{args.runs} paired test runs against NAG tuned on validation (100 steps, sigmoid-20 "
        "MLP, held-out digits). **win**: the 95% interval of learned - NAG lies below zero.",
        "",
        "Variants: " + "; ".join(f"`{v}`: {VARIANTS[v][0]}" for v in args.variants) + ".",
        "",
        "`best val (at)`: the validation score the weights were chosen by (16 validation nets "
        "every 25 meta-iterations; the mean loss over the 100 steps, or, where the variant "
        "chooses by them, the final loss or the mean over steps 91-100) and its meta-iteration. "
        "`load`: the machine's 1-minute load average before and after the stage, the larger "
        "(the run itself adds about its process count; more means other work shared the cores "
        "and the budget bought fewer meta-iterations). `learned - shipped`: paired against "
        "the shipped optimizer (10,000 meta-iterations of the paper's recipe) on the same test "
        "runs; **not worse** when its interval does not lie above zero (the 60-minute goal).",
        "",
        "| variant | seed | minutes | clock (min) | wall (min) | meta-iterations | best val "
        "(at) | learned | NAG (lr) | learned - NAG [95% CI] | learned lower in | win | load "
        "| learned - shipped [95% CI] |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        best = "-" if r["best_val"] is None else f"{r['best_val']:.4f} ({r['best_at']})"
        lines.append(
            f"| {r['variant']} | {r['seed']} | {r['minutes']:g} | {r['clock_s'] / 60:.1f} | "
            f"{r['wall_s'] / 60:.1f} | {r['iterations']} | {best} | {r['lstm']:.4g} | "
            f"{r['nag']:.4g} ({r['nag_lr']:g}) | {r['diff']:+.3g} {_ci(r['ci'])} | "
            f"{r['wins_share']:.0%} | {'**win**' if r['win'] else 'no'} | "
            f"{'-' if r.get('load') is None else format(r['load'], '.1f')} | "
            f"{_vs_shipped(r.get('vs_shipped'))} |")
    lines += ["", "First mark at which each variant and seed wins:", ""]
    for v in args.variants:
        for s in args.seeds:
            mine = [r for r in rows if r["variant"] == v and r["seed"] == s]
            first = next((r["minutes"] for r in mine if r["win"]), None)
            if not mine:
                verdict = "not measured yet"
            elif first is not None:
                verdict = f"{first:g} min"
            else:
                verdict = f"no win within {max(r['minutes'] for r in mine):g} min"
            lines.append(f"- {v}, seed {s}: {verdict}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma-separated, of: {', '.join(VARIANTS)}")
    p.add_argument("--seeds", default="0,1,2", help="training seeds (0,1,2)")
    p.add_argument("--marks", default="2,5,10", help="minutes at which to evaluate (2,5,10)")
    p.add_argument("--runs", type=int, default=50, help="paired test runs (50)")
    p.add_argument("--workdir", default="runs/time-to-win", help="checkpoints and logs")
    p.add_argument("--out", default=None, help="write the report here (Markdown)")
    p.add_argument("--resume", action="store_true",
                   help="keep the rows already measured in --workdir (rows.json) and continue "
                        "each run from its checkpoint to the marks not yet measured")
    p.add_argument("--report-only", action="store_true",
                   help="write the report from the rows already measured in --workdir "
                        "(rows.json), training nothing")
    args = p.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; expected some of {', '.join(VARIANTS)}")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.marks = sorted(float(m) for m in args.marks.split(","))
    workdir = (REPO / args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "bench.log"
    sys.path.insert(0, str(REPO))
    from minigrad.files import atomic_write_text

    stored = workdir / "rows.json"
    done = None
    if args.resume or args.report_only:
        done = json.loads(stored.read_text()) if stored.is_file() else []
    rows = list(done or [])
    command = "python benchmarks/bench_time_to_win.py " + shlex.join(argv or sys.argv[1:])

    def save(row):  # after every mark: a stopped benchmark loses no measured row
        rows.append(row)
        atomic_write_text(stored, json.dumps(rows, indent=1))
        if args.out:
            atomic_write_text(args.out, report(rows, args, command.strip()))

    for variant in [] if args.report_only else args.variants:
        for seed in args.seeds:
            train_and_evaluate(variant, seed, args.marks, args.runs, workdir, sys.executable,
                               log, done=done, on_row=save)
    text = report(rows, args, command.strip())
    print(text)
    if args.out:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
