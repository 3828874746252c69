"""The time-to-win benchmark (``benchmarks/bench_time_to_win.py``): every variant's flags are
ones ``train`` accepts, and the report says which row wins and the first winning mark. The
benchmark itself trains for minutes; nothing here runs it or asserts on time."""

from __future__ import annotations

import argparse
import runpy
from pathlib import Path

import pytest

from minigrad.l2l import cli
from minigrad.l2l.cli import build_parser
from minigrad.l2l.meta import MetaConfig
from minigrad.l2l.recipes import get_recipe

bench = runpy.run_path(str(Path(__file__).resolve().parent.parent / "benchmarks"
                           / "bench_time_to_win.py"), run_name="bench_time_to_win")


@pytest.mark.parametrize("variant", sorted(bench["VARIANTS"]))
def test_every_variant_is_a_valid_train_command(variant):
    args = build_parser().parse_args(["train", "--problem", "mnist",
                                      *bench["VARIANTS"][variant][1]])
    assert args.command == "train" and args.recipe in ("paper", "fast")
    # and the settings they resolve to are a valid configuration (an idea that needs another,
    # like segments the log-of-mean meta-loss, carries it in the ablation)
    _, meta, _, _ = cli._resolve_train_config(args, None, get_recipe(args.recipe))
    MetaConfig(**meta)


def _row(variant, seed, minutes, win, diff):
    return {"variant": variant, "seed": seed, "minutes": minutes, "clock_s": 60.0 * minutes,
            "wall_s": 60.0 * minutes + 5, "iterations": 10 * minutes, "best_at": 25,
            "best_val": 0.3, "lstm": 0.05, "nag": 0.06, "nag_lr": 1.0, "diff": diff,
            "ci": [diff - 0.01, diff + 0.01], "wins_share": 0.6, "win": win, "load": 2.3}


def test_report_marks_wins_and_the_first_winning_mark():
    rows = [_row("fast", 0, 2, False, 0.02), _row("fast", 0, 5, True, -0.02),
            _row("paper", 0, 2, False, 0.1), _row("paper", 0, 5, False, 0.05)]
    args = argparse.Namespace(runs=50, variants=["fast", "paper"], seeds=[0, 1],
                              marks=[2.0, 5.0, 10.0])
    text = bench["report"](rows, args, "python benchmarks/bench_time_to_win.py --seeds 0")
    assert "| fast | 0 | 5 | 5.0 | 5.1 | 50 | 0.3000 (25) | 0.05 | 0.06 (1) | -0.02 " in text
    assert text.count("| **win** | 2.3 |") == 1
    assert "- fast, seed 0: 5 min" in text and "- paper, seed 0: no win within 5 min" in text
    assert "- fast, seed 1: not measured yet" in text
    assert "python benchmarks/bench_time_to_win.py --seeds 0" in text


def test_unknown_variant_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench["main"](["--variants", "fastest"])
    assert "unknown variant" in capsys.readouterr().err


def test_report_only_renders_the_stored_rows_without_training(tmp_path):
    import json

    (tmp_path / "rows.json").write_text(json.dumps([_row("fast", 0, 2, True, -0.02)]))
    out = tmp_path / "report.md"
    assert bench["main"](["--variants", "fast", "--seeds", "0,1", "--marks", "2",
                          "--workdir", str(tmp_path), "--out", str(out), "--report-only"]) == 0
    text = out.read_text()
    assert "- fast, seed 0: 2 min" in text and "- fast, seed 1: not measured yet" in text
    assert not (tmp_path / "fast-seed1.npz").exists()
    assert f"It trains nothing: it reports the rows (`{tmp_path}/rows.json`)" in text


def test_each_row_is_paired_against_the_shipped_optimizer():
    shipped = [0.01, 0.02, 0.03, 0.04]
    worse = bench["against_shipped"]([0.05, 0.06, 0.08, 0.07], shipped)
    assert worse["diff"] == pytest.approx(0.04) and worse["not_worse"] is False
    assert worse["ci"][0] > 0 and worse["shipped"] == pytest.approx(0.025)
    tie = bench["against_shipped"]([0.02, 0.01, 0.04, 0.03], shipped)  # d = +-0.01: t(3) 3.18
    assert tie["not_worse"] is True and tie["ci"][0] < 0 < tie["ci"][1]
    rows = [dict(_row("fast", 0, 60, True, -0.03), vs_shipped=tie),
            dict(_row("fast", 1, 60, True, -0.03), vs_shipped=worse),
            _row("fast", 2, 10, True, -0.02)]  # measured before the column existed
    args = argparse.Namespace(runs=4, variants=["fast"], seeds=[0, 1, 2], marks=[60.0])
    lines = bench["report"](rows, args, "cmd").splitlines()
    table = [ln for ln in lines if ln.startswith("| fast |")]
    assert table[0].endswith("| +0 [-0.0184, 0.0184] **not worse** |")
    assert table[1].endswith(f"| +0.04 {bench['_ci'](worse['ci'])} |")
    assert table[2].endswith("| 2.3 | - |")


def test_every_idea_of_a_richer_recipe_alone_on_the_papers_is_a_valid_configuration(monkeypatch):
    """The ablation's rows for ideas the recipe does not use yet (segments, which need the
    log-of-mean meta-loss; the rewarm, which needs the guard; the cap on the unroll, which
    needs the doubling) each carry what they need, so the rows resolve when the recipe takes
    them."""
    from dataclasses import replace

    from minigrad.l2l import recipes
    fast = recipes.get_recipe("fast")
    richer = replace(fast, val_metric="tail", meta={
        **fast.meta, "average": 0, "meta_segment": 10, "meta_coordinates": 0.25,
        "collapse_guard": True, "collapse_rewarm": 30, "max_unroll": 20})
    monkeypatch.setitem(recipes.RECIPES, "fast", richer)
    ideas = bench["_fast_ideas"]()
    assert {"segments", "coordinates", "collapse guard", "tail val"} <= set(ideas)
    assert "--max-unroll" in ideas["unroll curriculum"][1]
    for name, (_, flags) in ideas.items():
        args = build_parser().parse_args(["train", "--problem", "mnist", "--recipe", "paper",
                                          *flags])
        _, meta, _, _ = cli._resolve_train_config(args, None, get_recipe("paper"))
        try:
            MetaConfig(**meta)
        except ValueError as exc:
            pytest.fail(f"the ablation's row paper+{name}: {exc}")
