"""The meta-training benchmark (``benchmarks/bench_meta.py``, also ``python -m minigrad.l2l
bench``): the PyTorch reference computes the same thing as minigrad (with and without flushing
subnormals), records, ratios against the better PyTorch, the floor and RESULTS.md are well
formed, bad arguments and an unusable GPU backend fail before any work. Nothing here asserts on
time."""

from __future__ import annotations

import importlib.util
import math
import runpy
from pathlib import Path

import pytest

from minigrad.l2l.cli import main

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"


class _Module:
    def __init__(self, path):
        self.__dict__.update(runpy.run_path(str(path), run_name=path.stem))


bench = _Module(BENCH_DIR / "bench_meta.py")

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

    torch_reference = _Module(BENCH_DIR / "torch_reference.py")
    cfg = MetaConfig(steps=6, unroll=3, meta_lr=1e-2)
    mg_fn, _ = bench._minigrad_iteration_fn(problem, cfg)
    th_fn, _ = torch_reference.torch_iteration_fn(problem, threads=1, cfg=cfg)
    ftz_fn, _ = torch_reference.torch_iteration_fn(problem, threads=1, cfg=cfg,
                                                   flush_denormal=True)
    try:
        for _ in range(3):
            a, b, c = mg_fn(), th_fn(), ftz_fn()
            assert a == pytest.approx(b, rel=1e-3), (a, b)
            assert c == pytest.approx(b, rel=1e-3), (c, b)
    finally:
        import torch

        torch.set_flush_denormal(False)


def test_ratios_against_the_better_pytorch_and_verdicts():
    def rec(impl, cpu, rss):
        return {"impl": impl, "problem": "mnist", "threads": 1, "device": "cpu",
                "cpu_s": [cpu, cpu], "wall_s": [2 * cpu], "first_loss": 2.3,
                "peak_rss": rss, "setup_rss": rss // 2, "peak_gpu": None}

    rows = bench._ratios([rec("minigrad", 1.0, 400), rec("torch", 4.0, 1000),
                          rec("torch-ftz", 2.0, 900)])
    assert len(rows) == 1
    r = rows[0]
    assert r["best_torch"] == "torch-ftz"
    assert r["time"] == pytest.approx(0.5) and r["torch"] == pytest.approx(0.25)
    assert r["memory"] == pytest.approx(400 / 900)
    lines = bench._ratio_lines(rows)
    assert "met" in lines[-1] and "NOT" not in lines[-1]
    slow = bench._ratios([rec("minigrad", 1.5, 400), rec("torch", 4.0, 1000),
                          rec("torch-ftz", 2.0, 900)])
    assert "NOT met" in bench._ratio_lines(slow)[-1]  # 0.75 of the better PyTorch > 0.5
    failed = {"impl": "torch", "problem": "mnist", "threads": 1, "error": "boom"}
    assert bench._ratios([rec("minigrad", 1.0, 400), failed]) == []
    assert "failed: boom" in "\n".join(bench._table([failed], ["torch"]))
    text = bench.results_markdown([rec("minigrad", 1.0, 400 * 2**20)], rows,
                                  {("mnist", 1): 0.25}, "python benchmarks/bench_meta.py", "today")
    assert "| mnist | 1 | minigrad | 1.00 | 2.00 | 400 | 4.0 |" in text
    assert "| mnist | 1 | 0.25 | 0.50 | 0.50 | 0.44 | <= 0.5, <= 0.5 | yes |" in text


def test_floor_counts_the_lstm_and_the_optimizee():
    flops = bench.meta_iteration_flops("mnist")
    n, H = 15910, 20
    lstm_forward = 100 * 2 * 4 * H * ((2 + H + 1) + (H + H + 1)) * n
    assert lstm_forward < flops < 6 * lstm_forward  # forward, backward, head and the MLP
    assert bench.meta_iteration_flops("quadratic") < flops / 10
    assert bench.matmul_gflops(n=256, repeats=1) > 0


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
