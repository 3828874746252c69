"""Lesson 06 helpers: the MNIST gradient snapshots, LogAndSign (reference vs library, the
exercise 06.1 check with typical mistakes), the map explorer (headless) and the LSTM input
statistics with and without preprocessing."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.course import check, checks  # noqa: E402
from minigrad.course import lesson06 as L  # noqa: E402
from minigrad.l2l import LogAndSign  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def snapshots():
    return L.mnist_gradient_snapshots(steps=(0, 30))


# --------------------------------------------------------------------------------------------
# Gradient snapshots


def test_snapshots_hold_the_mlp_gradients(snapshots):
    assert sorted(snapshots) == [0, 30]
    init = snapshots[0]
    assert [a.shape for a in init.arrays] == [(784, 20), (20,), (20, 10), (10,)]
    assert init.flat.shape == (15_910,)
    assert init.loss == pytest.approx(math.log(10), abs=0.01)  # chance level at N(0, 0.01^2)
    assert snapshots[30].loss < 1.0
    # the snapshot at 0 is the gradient of the optimizee's own loss at theta_0
    from minigrad.l2l import Flattener, MnistProblem

    inst = MnistProblem("sigmoid-20").sample(0)
    arrays = inst.init_params()
    leaves = Flattener.like(arrays).leaves(Flattener.like(arrays).flatten(arrays))
    grads = mg.grad(inst.loss(leaves, 0), leaves)
    for a, b in zip(init.arrays, grads):  # float32; BLAS thread counts change the rounding
        np.testing.assert_allclose(a, b.data, rtol=1e-3, atol=1e-9)
    assert init.log10_magnitudes().size == int((init.flat != 0).sum())


def test_magnitude_table_and_histograms(snapshots):
    table = L.magnitude_table(snapshots[0]).splitlines()
    assert [row.split()[0] for row in table[1:]] == ["W1", "b1", "W2", "b2", "all"]
    assert table[-1].split()[1] == "15,910"
    fig = L.plot_gradient_histograms(snapshots)
    assert len(fig.axes) == 2
    assert "30 Adam steps" in fig.axes[1].get_title()


# --------------------------------------------------------------------------------------------
# LogAndSign and exercise 06.1


def test_reference_equals_the_library_and_the_formula():
    rng = np.random.default_rng(0)
    g = rng.choice([-1.0, 1.0], 500) * 10.0 ** rng.uniform(-15, 5, 500)
    g[:4] = [0.0, math.exp(-10), -math.exp(-10), 1e-300]
    for p in (1.0, 5.0, 10.0):
        ours, lib = L.log_and_sign(g, p), LogAndSign(p)(g)
        np.testing.assert_allclose(ours, lib, rtol=1e-12, atol=1e-300)
        np.testing.assert_array_equal(L.library_log_and_sign(g, p), lib)
        big = np.abs(g) >= math.exp(-p)
        np.testing.assert_allclose(ours[big, 0], np.log(np.abs(g[big])) / p, rtol=1e-12)
        assert (ours[~big, 0] == -1).all()
        np.testing.assert_allclose(ours[~big, 1], math.exp(p) * g[~big], rtol=1e-12)
        assert (ours[big, 1] == np.sign(g[big])).all()


def test_the_map_is_continuous_at_the_boundary():
    for p in (1.0, 5.0, 10.0):
        t = math.exp(-p)
        above, below = L.log_and_sign(np.array([t, t * (1 - 1e-12)]), p)
        np.testing.assert_allclose(above, below, atol=1e-9)
        np.testing.assert_allclose(above, [-1.0, 1.0], atol=1e-12)


def _verdict(capsys, fn):
    got = check("06.1", fn)
    return got, capsys.readouterr().out


def test_reference_passes(capsys):
    got, out = _verdict(capsys, L.log_and_sign)
    assert got is L.log_and_sign and out.startswith("✅") and "6/6" in out, out
    assert checks.results()["06.1"] == "passed"


def _variant(*, log=np.log, divide=True, clamp=True, small_second="linear", transpose=False):
    def attempt(g, p=10.0):
        g = np.asarray(g, dtype=np.float64)
        big = np.abs(g) >= math.exp(-p)
        with np.errstate(divide="ignore"):
            first = log(np.where(big | (not clamp), np.abs(g), 1.0)) / (p if divide else 1.0)
        if clamp:
            first = np.where(big, first, -1.0)
        second = np.where(big, np.sign(g),
                          math.exp(p) * g if small_second == "linear" else np.sign(g))
        out = np.stack([first, second], axis=-1)
        return out.T if transpose else out
    return attempt


@pytest.mark.parametrize("kwargs, expected", [
    ({"log": np.log10}, "uses log10"),
    ({"divide": False}, "log|g| / p"),
    ({"clamp": False}, "the constant -1"),
    ({"small_second": "sign"}, "e^p * g, not sign(g)"),
    ({"transpose": True}, "LAST axis"),
])
def test_typical_mistakes_fail_with_a_pointed_message(capsys, kwargs, expected):
    got, out = _verdict(capsys, _variant(**kwargs))
    assert got is L.library_log_and_sign
    assert out.startswith("❌") and expected in out and "Hint:" in out, out


def test_strict_comparison_catches_the_wrong_side_of_the_boundary(capsys):
    # '>' instead of '>=' is harmless exactly at e^-p (the map is continuous there), but
    # swapping the branches is not
    def swapped(g, p=10.0):
        g = np.asarray(g, dtype=np.float64)
        big = np.abs(g) < math.exp(-p)
        first = np.where(big, np.log(np.where(big, np.abs(g), 1.0)) / p, -1.0)
        return np.stack([first, np.where(big, np.sign(g), math.exp(p) * g)], axis=-1)

    got, out = _verdict(capsys, swapped)
    assert out.startswith("❌"), out


# --------------------------------------------------------------------------------------------
# The map for any p, and the explorer


def test_preprocessing_view(snapshots):
    v10 = L.preprocessing_view(10, snapshots[0])
    v5 = L.preprocessing_view(5, snapshots[0])
    assert v10["inputs"].shape == (15_910, 2)
    assert v10["threshold"] == pytest.approx(math.exp(-10))
    g = snapshots[0].flat
    assert v10["log_branch"] == pytest.approx(np.mean(np.abs(g) >= math.exp(-10)))
    assert v5["log_branch"] < v10["log_branch"]  # a larger threshold e^-5: fewer on the log side
    (lo0, hi0), (lo1, hi1) = v10["ranges"]
    assert lo0 == -1.0 and hi0 < 0 and -1 <= lo1 and hi1 <= 1
    # the drawn map: -1 then log|g|/p; 0 -> sign
    assert v10["magnitude"][0] == -1 and v10["magnitude"][-1] == pytest.approx(3 * math.log(10)
                                                                              / 10)
    assert v10["sign"][-1] == 1.0 and v10["sign"][0] == pytest.approx(math.exp(10) * 1e-14)
    fig = L.plot_preprocessing(v10)
    assert len(fig.axes) == 3


def test_preprocessing_view_uses_the_given_function(snapshots):
    calls = []

    def spy(g, p=10.0):
        calls.append(p)
        return L.log_and_sign(g, p)

    L.preprocessing_view(7.5, snapshots[0], spy)
    assert calls == [7.5, 7.5]


def test_explorer_follows_p_and_the_snapshot(snapshots):
    ex = L.make_preprocessing_explorer(snapshots, p=10.0)
    assert set(ex.controls) == {"p", "snapshot"}
    assert ex.result["p"] == 10.0 and ex.result["step"] == 0
    before = ex.result["log_branch"]
    ex.controls["p"].value = 5.0
    assert ex.result["p"] == 5.0 and ex.result["log_branch"] < before
    ex.controls["snapshot"].value = 30
    assert ex.result["step"] == 30
    np.testing.assert_allclose(ex.result["inputs"], L.log_and_sign(snapshots[30].flat, 5.0))


# --------------------------------------------------------------------------------------------
# With vs without preprocessing


def test_lstm_input_statistics(snapshots):
    stats = L.lstm_input_statistics(snapshots[0])
    ident, logs = stats["identity"], stats["logsign"]
    assert ident.inputs.shape == (15_910, 1) and logs.inputs.shape == (15_910, 2)
    np.testing.assert_allclose(ident.inputs[:, 0], snapshots[0].flat.astype(np.float32))
    assert ident.update.shape == logs.update.shape == (15_910,)
    # raw gradients barely move the gates; LogAndSign inputs move them by O(0.1)
    assert ident.gate_input_spread < 1e-3 * ident.gate_bias_scale
    assert logs.gate_input_spread > 0.05
    assert logs.update_spread > 100 * ident.update_spread
    table = L.statistics_table({0: stats}).splitlines()
    assert len(table) == 3 and table[1].split()[1] == "identity"
    fig = L.plot_lstm_inputs(stats)
    assert len(fig.axes) == 3


def test_gate_spread_is_measured_on_the_first_layer():
    snap = L.GradientSnapshot(0, [np.full(4, 0.5)], 1.0, names=("w",))
    stats = L.lstm_input_statistics(snap)
    # every coordinate gets the same input: no spread, identical updates
    assert stats["identity"].gate_input_spread == pytest.approx(0.0, abs=1e-12)
    assert stats["logsign"].update.std() == pytest.approx(0.0, abs=1e-9)
