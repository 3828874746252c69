"""``python -m minigrad.l2l reproduce`` end to end (``--quick`` on tiny checkpoints trained here),
its numbers against the evaluation protocol, the verdict rules, and the shipped checkpoints
with their provenance (scripts/ship_pretrained.py)."""

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

import minigrad.l2l.checkpoints as ckpt_module
import minigrad.l2l.cli as cli
import minigrad.l2l.plots as plots
import minigrad.l2l.reproduce as rep
import minigrad.l2l.runner as runner
from minigrad.l2l import make_problem, run_protocol
from minigrad.l2l.baselines import BASELINES, OPTIMIZERS
from minigrad.l2l.stats import paired_comparison
from minigrad.nn import load_checkpoint

REPO = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def ship():
    spec = importlib.util.spec_from_file_location("ship_pretrained",
                                                  REPO / "scripts" / "ship_pretrained.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Tiny training checkpoints (with validation, so with best.* weights): quadratic, MNIST."""
    d = tmp_path_factory.mktemp("ckpt")
    q, m = d / "quadratic.npz", d / "mnist.npz"
    common = ["--steps", "4", "--unroll", "2", "--val-every", "1", "--no-progress"]
    assert cli.main(["train", "--problem", "quadratic", "--meta-iters", "2", "--val-runs", "4",
                     "--out", str(q), *common]) == 0
    assert cli.main(["train", "--problem", "mnist", "--meta-iters", "1", "--val-runs", "1",
                     "--out", str(m), *common]) == 0
    return {"quadratic": q, "mnist": m}


def _ckpts(tiny):
    return {p: rep._load_ckpt(str(path), p, "best") for p, path in tiny.items()}


def test_quick_end_to_end_writes_every_file(tiny, tmp_path, capsys):
    readme = tmp_path / "README.md"
    before, after = "# Title\n\n## Results\n\n", "\n\n## Next section\nkept as is\n"
    readme.write_text(before + rep.README_BEGIN + "\nplaceholder\n" + rep.README_END + after)
    out = tmp_path / "out"
    rc = cli.main(["reproduce", "--quick", "--out", str(out), "--no-progress",
                   "--quadratic-checkpoint", str(tiny["quadratic"]),
                   "--mnist-checkpoint", str(tiny["mnist"]), "--readme", str(readme)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert re.search(r"wall time [\d.]+ s .* peak memory \(ru_maxrss\) \d+ MiB", printed)

    exps = rep.experiments(quick=True)
    assert {e.key for e in exps} == {"quadratic", "quadratic-long", "mnist", "mnist-200",
                                     "mnist-40", "mnist-2layer", "mnist-relu", "mnist-long"}
    for name in [plots.HEADLINE] + [plots.figure_name(e.key) for e in exps]:
        assert (out / "docs" / "img" / name).read_bytes()[:8] == PNG, name

    text = (out / "RESULTS.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for e in exps:
        row = [r for r in rows if r.startswith(f"| {e.title} |")]
        assert len(row) == 1, e.title
        cells = [c.strip() for c in row[0].strip("|").split("|")]
        assert len(cells) == 10
        for cell in cells[2:7]:  # the learned optimizer and the four baselines
            assert re.match(r"^(\d[\d.e+-]* ± [\d.e+-]+|diverged)", cell), cell
        assert cells[8] in {"**yes**", "**no**", "**yes** (failure reproduced)",
                            "**no** (learned optimizer wins)", "report"}
    assert "Quick mode" in text and "peak memory (ru_maxrss)" in text
    assert "wall time" in text

    payload = json.loads((out / "docs" / "l2l_results.json").read_text())
    for res in payload["results"]:
        check_verdict(res)

    new = readme.read_text()
    assert new.startswith(before + rep.README_BEGIN) and new.endswith(rep.README_END + after)
    assert "placeholder" not in new
    assert "out/docs/img/l2l_results.png" in new
    assert all(f"| {e.title} |" in new for e in exps)

    # --replot rebuilds the same reports from the JSON alone
    (out / "RESULTS.md").unlink()
    (out / "docs" / "img" / plots.HEADLINE).unlink()
    assert cli.main(["reproduce", "--quick", "--out", str(out), "--replot",
                     "--readme", str(readme)]) == 0
    assert (out / "RESULTS.md").read_text() == text and readme.read_text() == new
    assert (out / "docs" / "img" / plots.HEADLINE).read_bytes()[:8] == PNG
    for problem in ("quadratic", "mnist"):  # the meta-training curves, linked from RESULTS.md
        name = plots.training_figure_name(problem)
        assert (out / "docs" / "img" / name).read_bytes()[:8] == PNG
        assert f"docs/img/{name}" in text


def _num(x):
    return np.inf if x is None else x


def check_verdict(res):
    """The verdict in the JSON follows from the JSON's own numbers, by the stated rule."""
    v = res["verdict"]
    finals = {b: _num(res[b]["final_loss"]) for b in BASELINES}
    best = min(finals, key=finals.get)
    assert finals[v["best_baseline"]] == finals[best]
    assert v["best_lr"] == res[v["best_baseline"]]["lr"]
    if v["kind"] in ("final", "fails"):  # paired over the same test runs
        nan = float("nan")
        paired = paired_comparison([nan if x is None else x for x in res["lstm"]["finals"]],
                                   [nan if x is None else x for x in res[best]["finals"]])
        assert v["held"] is (paired["verdict"] == ("a" if v["kind"] == "final" else "b"))
    elif v["kind"] == "every_step":
        lstm = [_num(c) for c in res["lstm"]["curve"]]
        floor = [min(_num(res[b]["curve"][t]) for b in BASELINES) for t in range(len(lstm))]
        assert v["held"] is all(lstm[t] < floor[t] for t in range(5, len(lstm)))
    else:
        assert v["held"] is None and v["report"]
    for b in BASELINES:  # the tuned rate is the best on validation
        table = {float(k): _num(x) for k, x in res[b]["val_final_loss"].items()}
        assert table[res[b]["lr"]] == min(table.values())


def test_trying_it_never_writes_into_the_checkout(tiny, tmp_path, monkeypatch, capsys):
    """Without --out, results go to runs/reproduce[-quick] under the current folder; only
    --readme (naming the README to rewrite) or --out put them elsewhere."""
    monkeypatch.chdir(tmp_path)
    rc = cli.main(["reproduce", "--quick", "--only", "quadratic", "--no-progress",
                   "--quadratic-checkpoint", str(tiny["quadratic"])])
    assert rc == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    assert (tmp_path / "runs" / "reproduce-quick" / "RESULTS.md").is_file()
    assert (tmp_path / "runs" / "reproduce-quick" / "docs" / "img" / plots.HEADLINE).is_file()
    assert "runs/reproduce-quick/RESULTS.md" in capsys.readouterr().out

    def folder(*argv):
        return rep.output_folder(cli.build_parser().parse_args(["reproduce", *argv]))

    assert folder() == Path("runs/reproduce")
    assert folder("--quick") == Path("runs/reproduce-quick")
    assert folder("--readme", "README.md") == Path(".")
    assert folder("--readme", "docs/README.md", "--quick") == Path("docs")
    assert folder("--out", "x", "--readme", "README.md") == Path("x")


def test_numbers_equal_the_evaluation_protocol(tiny):
    """reproduce cuts short horizons out of long rollouts: its numbers must still be
    run_protocol's (the same tuning, the same test problems). Exactly for MNIST (one net per
    rollout either way); to float32 rounding for the quadratic, where run_protocol stacks two
    batches of functions into one array and reproduce runs them one at a time (a BLAS product
    over more rows may round differently)."""
    ckpts = _ckpts(tiny)
    base = rep.PaperExperiment("m3", "m3", "mnist", "sigmoid-20", 3, 2, 2, (0.01, 0.1, 1.0),
                               "final", "c")
    long = rep.PaperExperiment("m6", "m6", "mnist", "sigmoid-20", 6, 3, 1, (0.1, 1.0),
                               "horizon", "c")
    quad = rep.PaperExperiment("q", "q", "quadratic", None, 8, 150, 128, (0.001, 0.01, 0.1),
                               "every_step", "c")
    results = rep.reproduce([base, long, quad], ckpts, seed=1)
    for exp, res in zip([base, long, quad], results):
        meta = ckpts[exp.problem]["meta"]
        spec = dict(meta["problem"], dtype=meta["dtype"])
        if exp.optimizee:
            spec["optimizee"] = exp.optimizee
        net = rep.load_net(ckpts[exp.problem]["path"], "best")
        ref = run_protocol(net, runner.build_problem(spec, "val"),
                           runner.build_problem(spec, "test"),
                           steps=exp.steps, runs=exp.runs, val_runs=exp.val_runs, seed=1,
                           grid=exp.grid)
        for name in OPTIMIZERS:
            assert res[name].get("lr") == ref[name].get("lr"), (exp.key, name)
            for key in ("curve", "ci95", "final_loss", "summed_loss", "val_final_loss"):
                got, want = res[name].get(key), ref[name].get(key)
                if isinstance(got, dict):
                    got, want = list(got.values()), list(want.values())
                if exp.problem == "mnist":
                    assert got == want, (exp.key, name, key)
                else:
                    got, want = (np.array(v if isinstance(v, list) else [v], dtype=float)
                                 for v in (got, want))  # None (diverged) -> nan
                    np.testing.assert_allclose(got, want, rtol=1e-5, err_msg=f"{name} {key}")
        assert len(res["lstm"]["curve"]) == exp.steps + 1


def test_worker_processes_give_the_same_numbers(tiny):
    ckpts = _ckpts(tiny)
    spec = dict(ckpts["mnist"]["meta"]["problem"], dtype="float32")
    ck = {"path": ckpts["mnist"]["path"], "weights": "best"}
    jobs = {i: (rule, spec, "val", (0, 2, i), 3, ck)
            for i, rule in enumerate([("lstm",), ("adam", 0.01), ("nag", 0.1)])}
    one = runner.execute(jobs, 1, lambda m: None, "t")
    two = runner.execute(jobs, 2, lambda m: None, "t")
    for k in jobs:
        np.testing.assert_array_equal(one[k], two[k])
        assert one[k].shape == (1, 4)


def _result(lstm_curve, base_curves, ci=0.1, finals=None):
    """``finals``: {name: each test run's final loss} (default: 3 runs at the curve's end)."""
    finals = finals or {}

    def entry(curve, lr=None, name=None):
        e = {"curve": list(curve), "ci95": [ci] * len(curve), "final_loss": curve[-1],
             "final_ci95": ci, "diverged_runs": 0,
             "finals": finals.get(name, [curve[-1]] * 3)}
        if lr is not None:
            e["lr"] = lr
        return e

    res = {"lstm": entry(lstm_curve, name="lstm"), "optimizers": list(OPTIMIZERS)}
    for (name, curve), lr in zip(base_curves.items(), (0.1, 0.01, 0.03, 1.0)):
        res[name] = entry(curve, lr, name)
    return res


def _exp(kind, steps=10):
    return rep.PaperExperiment("k", "k", "mnist", "sigmoid-20", steps, 2, 1, (0.1,), kind, "c")


def test_verdict_rules():
    flat = [5.0] * 11
    bases = {"sgd": flat, "nag": [4.0] * 11, "rmsprop": flat, "adam": flat}
    lstm = [5.0, 4.5, 4.2, 4.1, 4.0] + [3.0] * 6
    v = rep.judge(_exp("every_step"), _result(lstm, bases))
    assert v["held"] and v["failing_steps"] == [] and v["best_baseline"] == "nag"
    assert v["ci_overlap"] is False  # |3 - 4| > 0.1 + 0.1
    lstm[7] = 4.0  # equal to NAG at step 7: not below
    v = rep.judge(_exp("every_step"), _result(lstm, bases))
    assert not v["held"] and v["failing_steps"] == [7]

    # final / fails: paired over the same runs; NAG is the best baseline (4.0 on every run)
    nag = [4.0, 4.1, 3.9]
    better = {"lstm": [3.9, 4.0, 3.8], "nag": nag}  # 0.1 lower on every run
    v = rep.judge(_exp("final"), _result([2.3] * 10 + [3.9], bases, finals=better))
    assert v["held"] and v["ci_overlap"] is True and v["best_lr"] == 0.01
    assert v["paired"]["verdict"] == "a" and v["paired"]["wins"] == 1.0
    worse = {"lstm": [4.1, 4.2, 4.0], "nag": nag}
    v = rep.judge(_exp("final"), _result([2.3] * 10 + [4.1], bases, finals=worse))
    assert not v["held"] and v["text"].startswith("not held")
    tie = {"lstm": [3.9, 4.2, 3.9], "nag": nag}  # lower on two runs, higher on one
    v = rep.judge(_exp("final"), _result([2.3] * 10 + [4.0], bases, finals=tie))
    assert not v["held"] and v["text"].startswith("tie, not held")
    assert v["paired"]["diff_ci95"][0] < 0 < v["paired"]["diff_ci95"][1]
    assert rep.judge(_exp("fails"), _result([2.3] * 10 + [4.1], bases, finals=worse))["held"]
    assert not rep.judge(_exp("fails"), _result([2.3] * 10 + [3.9], bases,
                                                finals=better))["held"]

    lstm = [2.0] + [1.0] * 150 + [None] * 50  # NaN from step 151 on
    bases = {b: [2.0] + [1.5] * 200 for b in BASELINES}
    v = rep.judge(_exp("horizon", 200), _result(lstm, bases), train_steps=100)
    assert v["held"] is None and v["diverged_at"] == 151 and v["behind_from"] == 151
    lstm = [2.0, 4.5] + [1.0] * 199  # a transient rise before the training horizon is no divergence
    v = rep.judge(_exp("horizon", 200), _result(lstm, bases), train_steps=100)
    assert v["diverged_at"] is None and v["behind_from"] is None
    assert "no divergence in 200 steps" in v["text"]


def test_errors_before_any_work(tiny, tmp_path, monkeypatch, capsys):
    def expect(argv, message):
        assert cli.main(["reproduce", "--out", str(tmp_path / "o"), *argv]) == 2
        err = capsys.readouterr().err
        assert message in err, err

    ok = ["--quadratic-checkpoint", str(tiny["quadratic"]), "--mnist-checkpoint",
          str(tiny["mnist"])]
    expect(["--only", "cifar", *ok], "--only: unknown ['cifar']")
    expect(["--quadratic-checkpoint", str(tiny["mnist"])], "trained on the 'mnist' problem")
    readme = tmp_path / "R.md"
    readme.write_text("# no markers\n")
    expect([*ok, "--readme", str(readme)], "no '<!-- reproduce:begin -->'")
    monkeypatch.setattr(ckpt_module, "PRETRAINED_DIR", tmp_path / "none")
    expect(["--only", "quadratic"], "no pretrained checkpoint shipped yet for quadratic")
    assert not (tmp_path / "o").exists()


def test_ship_pretrained_slims_and_records_provenance(ship, tiny, tmp_path):
    dest = tmp_path / "pretrained"
    assert ship.main([str(tiny["quadratic"]), str(tiny["mnist"]), "--dest", str(dest)]) == 0
    for problem, src in tiny.items():
        shipped = dest / f"{problem}.npz"
        assert shipped.stat().st_size < ship.MAX_BYTES
        arrays, meta = load_checkpoint(shipped)
        src_arrays, src_meta = load_checkpoint(src)
        assert any(k.startswith("optimizer.") for k in src_arrays)
        assert not any(k.startswith("optimizer.") for k in arrays) and "optimizer" not in meta
        for k in arrays:  # the weights are the training checkpoint's, untouched
            np.testing.assert_array_equal(arrays[k], src_arrays[k])
        assert any(k.startswith("best.") for k in arrays)
        assert meta["shipped"]["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
        record = json.loads((dest / f"{problem}.json").read_text())
        assert record["command"] == src_meta["command"]
        assert record["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()
        assert record["meta_iterations"] == src_meta["iteration"]
        assert record["training_curve"]["meta_iterations"] == len(src_meta["curve"])
        assert record["validation"]["best"] == src_meta["validation"]["best"]
        assert record["weights_used"] == "best" and record["seed"] == 0
        rep.load_net(str(shipped), "best")
    assert json.loads((dest / "mnist.json").read_text())["data"]["mnist_5k_sha256"]
    text = (dest / "README.md").read_text()
    assert "## mnist: `mnist.npz`" in text and "## quadratic: `quadratic.npz`" in text
    assert "- note:" not in text
    assert ship.main([str(tiny["mnist"]), "--dest", str(dest), "--full",
                      "--note", "a snapshot of a running run"]) == 0
    assert any(k.startswith("optimizer.") for k in load_checkpoint(dest / "mnist.npz")[0])
    assert json.loads((dest / "mnist.json").read_text())["note"] == "a snapshot of a running run"
    shipped = load_checkpoint(dest / "mnist.npz")[1]["shipped"]
    assert shipped["note"] == "a snapshot of a running run"
    assert "- note: a snapshot of a running run" in (dest / "README.md").read_text()


@pytest.mark.parametrize("problem", ["quadratic", "mnist"])
def test_the_shipped_checkpoints_match_their_provenance(problem):
    path = ckpt_module.PRETRAINED_DIR / f"{problem}.npz"
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), \
        "re-ship with scripts/ship_pretrained.py (the JSON must describe the shipped file)"
    assert path.stat().st_size < 1_000_000
    _, meta = load_checkpoint(path)
    assert meta["problem"]["name"] == problem and meta["shipped"]["slimmed"]
    rep.load_net(str(path), "best")
    assert f"## {problem}: `{problem}.npz`" in (path.parent / "README.md").read_text()
    assert make_problem(problem).config()["name"] == problem


def test_the_report_shows_the_note_a_shipped_file_carries(tmp_path):
    from minigrad.l2l import report

    meta = {"iteration": 3000, "status": "interrupted", "command": "python -m minigrad.l2l train",
            "validation": {"best": [2950, 0.2]}, "shipped": {"note": "paused for the release"}}
    ckpt = {"path": str(tmp_path / "m.npz"), "sha256": "0" * 64, "weights": "best",
            "has_best": True, "meta": meta}
    row = report._ckpt_lines({"mnist": ckpt}, tmp_path)[-1]
    assert "`python -m minigrad.l2l train`; paused for the release |" in row
    del meta["shipped"]
    assert "`python -m minigrad.l2l train` |" in report._ckpt_lines({"mnist": ckpt}, tmp_path)[-1]
