"""The meta-training benchmark (``python -m minigrad.l2l bench``) and the BLAS thread setting:
the PyTorch reference computes the same thing as minigrad, records and ratios are well formed,
bad arguments and an unusable GPU backend fail before any work. Nothing here asserts on time."""

from __future__ import annotations

import importlib.util
import math

import pytest

from minigrad.l2l import bench
from minigrad.l2l.cli import main

HAS_TORCH = importlib.util.find_spec("torch") is not None


def test_minigrad_child_record_is_complete():
    rec = bench.run_child("minigrad", "quadratic", 1, iters=1, warmup=0)
    assert rec["impl"] == "minigrad" and rec["problem"] == "quadratic"
    assert len(rec["cpu_s"]) == len(rec["wall_s"]) == 1 and rec["cpu_s"][0] > 0
    assert rec["peak_rss"] > 0 and math.isfinite(rec["first_loss"])
    assert rec["setup_rss"] is None or rec["setup_rss"] <= rec["peak_rss"]


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (benchmark-only dependency)")
@pytest.mark.parametrize("problem", ["quadratic", "mnist"])
def test_torch_reference_computes_the_same_meta_iterations(problem):
    """Same problems, same initial weights, same preprocessing and first-order cut: the mean
    optimizee loss of each meta-iteration agrees to float32 rounding, also after the Adam
    meta-updates (short horizons here: 6 steps in unrolls of 3, 2 meta-updates each)."""
    from minigrad.l2l import MetaConfig

    cfg = MetaConfig(steps=6, unroll=3, meta_lr=1e-2)
    mg_fn, _ = bench._minigrad_iteration_fn(problem, cfg)
    th_fn, _ = bench._torch_iteration_fn(problem, threads=1, cfg=cfg)
    for _ in range(3):
        a, b = mg_fn(), th_fn()
        assert a == pytest.approx(b, rel=1e-3), (a, b)


def test_ratios_and_verdicts_from_records():
    def rec(impl, cpu, rss):
        return {"impl": impl, "problem": "mnist", "threads": 1, "device": "cpu",
                "cpu_s": [cpu, cpu], "wall_s": [2 * cpu], "first_loss": 2.3,
                "peak_rss": rss, "setup_rss": rss // 2, "peak_gpu": None}

    rows = bench._ratios([rec("minigrad", 1.0, 400), rec("torch", 2.0, 1000)])
    assert len(rows) == 1
    r = rows[0]
    assert r["cpu"] == pytest.approx(0.5) and r["peak_rss"] == pytest.approx(0.4)
    assert r["rss_rise"] == pytest.approx(200 / 500)
    assert "met" in bench._ratio_lines(rows)[-1] and "NOT" not in bench._ratio_lines(rows)[-1]
    slow = bench._ratios([rec("minigrad", 3.0, 400), rec("torch", 2.0, 1000)])
    assert "NOT met" in bench._ratio_lines(slow)[-1]
    failed = {"impl": "torch", "problem": "mnist", "threads": 1, "error": "boom"}
    assert bench._ratios([rec("minigrad", 1.0, 400), failed]) == []
    assert "failed: boom" in "\n".join(bench._table([failed], ["torch"]))


@pytest.mark.parametrize("argv", [
    ["bench", "--threads", "0"], ["bench", "--threads", "x"], ["bench", "--problems", "cifar"],
    ["bench", "--impls", "jax"],
])
def test_bad_bench_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "expected" in capsys.readouterr().err


def test_cupy_backend_that_cannot_work_fails_clearly(monkeypatch):
    from minigrad.backend import cupy_status

    if cupy_status()[0]:
        pytest.skip("CuPy works here: nothing to refuse")
    monkeypatch.setenv("MINIGRAD_BACKEND", "cupy")
    with pytest.raises(SystemExit, match="MINIGRAD_BACKEND=cupy .* CuPy cannot work here"):
        bench._check_backend()
