"""Lesson 10 helpers: the convolution exercises (references against loops and central
differences, checks with pointed hints for typical mistakes), the small convnet's filters and
their explorer, the paper's convnet and its parameter groups, output sizes and receptive fields
and their explorer, the live two-LSTM meta-training and race (tiny settings), the stored-results
loader with and without a file, and the notebook's exercise cells in both trees."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

from minigrad.course import check, checks  # noqa: E402
from minigrad.course import lesson10 as L  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TINY = L.LiveSettings(conv_channels=(2,), linear=(4,), batch_size=8, steps=4, unroll=2,
                      meta_lr=3e-3, iterations=2)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------
# The references, against the definition written as loops


def _loop_conv(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = L.out_size(h, kh, stride, padding), L.out_size(wd, kw, stride, padding)
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.einsum("ncuv,ocuv->no", patch, w) + b
    return y


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2)])
def test_references_match_the_definition(stride, padding):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 2)), \
        rng.standard_normal(4)
    np.testing.assert_allclose(L.library_conv2d(x, w, b, stride, padding),
                               _loop_conv(x, w, b, stride, padding), rtol=1e-12, atol=1e-12)
    cols = L.library_im2col(x, (3, 2), stride, padding)
    oh, ow = L.out_size(8, 3, stride, padding), L.out_size(7, 2, stride, padding)
    assert cols.shape == (2, 3 * 3 * 2, oh * ow)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # column p*OW + q is the window at (p, q), entries in the order (c, u, v)
    np.testing.assert_array_equal(cols[1, :, ow + 1],
                                  xp[1, :, stride:stride + 3, stride:stride + 2].ravel())


def test_the_weight_gradient_reference_is_the_central_difference():
    gc = L.weight_gradient_check(L.library_conv2d, L.library_weight_grad)
    assert gc["entries"] == 108
    assert gc["rel_numeric"] < 1e-7 and gc["rel_autograd"] == 0.0
    assert gc["analytic"].shape == gc["numeric"].shape == (4, 3, 3, 3)


def test_weight_gradient_check_catches_a_wrong_gradient():
    gc = L.weight_gradient_check(L.library_conv2d,
                                 lambda *a, **k: 2 * L.library_weight_grad(*a, **k))
    assert gc["rel_numeric"] > 0.5


def test_out_size():
    assert L.out_size(32, 5, 2, 1) == 15  # the quiz's first question
    assert L.out_size(28, 5, 1, 2) == 28
    assert L.out_size(4, 3) == 2


# --------------------------------------------------------------------------------------------
# The exercises' checks


def _im2col(x, kernel, stride=1, padding=0, rows=(1, 4, 5)):
    """im2col; ``rows``: the axes of the windows (N, C, OH, OW, kh, kw) that make the rows,
    in order ((c, u, v) is right)."""
    kh, kw = kernel
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, *rows, 2, 3).reshape(n, c * kh * kw, oh * ow)


def _conv(x, w, b, stride=1, padding=0):
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    y = w.reshape(o, -1) @ _im2col(x, (kh, kw), stride, padding) + b[:, None]
    return y.reshape(n, o, L.out_size(h, kh, stride, padding), L.out_size(wd, kw, stride,
                                                                           padding))


def _wgrad(x, g, kernel, stride=1, padding=0):
    n, o = g.shape[:2]
    cols = _im2col(x, kernel, stride, padding)
    return (g.reshape(n, o, -1) @ cols.transpose(0, 2, 1)).sum(0).reshape(o, x.shape[1],
                                                                          *kernel)


@pytest.mark.parametrize("exercise, fn, checks_passed", [
    ("10.1", _im2col, 6), ("10.2", _conv, 4), ("10.3", _wgrad, 4)])
def test_right_answers_pass(capsys, exercise, fn, checks_passed):
    assert check(exercise, fn) is fn
    out = capsys.readouterr().out
    assert out.startswith("✅") and f"{checks_passed}/{checks_passed}" in out, out
    assert checks.results()[exercise] == "passed"


def _rows_ijc(x, kernel, stride=1, padding=0):
    return _im2col(x, kernel, stride, padding, rows=(4, 5, 1))


def _per_image(x, g, kernel, stride=1, padding=0):
    n, o = g.shape[:2]
    return g.reshape(n, o, -1) @ _im2col(x, kernel, stride, padding).transpose(0, 2, 1)


@pytest.mark.parametrize("exercise, fn, expected", [
    ("10.1", lambda x, k, stride=1, padding=0: _im2col(x, k, stride, padding).transpose(0, 2, 1),
     "rows and columns swapped"),
    ("10.1", lambda x, k, stride=1, padding=0: _im2col(x, k, 1, padding),
     "keep one window in 2"),
    ("10.1", lambda x, k, stride=1, padding=0: _im2col(x, k, stride, 0),
     "the shape without padding"),
    ("10.1", _rows_ijc, "the rows are in the order (i, j, c)"),
    ("10.2", lambda x, w, b, stride=1, padding=0: _conv(x, w[:, :, ::-1, ::-1], b, stride,
                                                        padding),
     "the kernel flipped"),
    ("10.2", lambda x, w, b, stride=1, padding=0: _conv(x, w, 0 * b, stride, padding),
     "add the bias"),
    ("10.2", lambda x, w, b, stride=1, padding=0: _conv(x, w, b, stride, padding).reshape(
        x.shape[0], w.shape[0], -1), "reshape the product"),
    ("10.3", _per_image, "sum them over the batch"),
    ("10.3", lambda x, g, k, stride=1, padding=0: _wgrad(x, g, k, stride, padding) / len(x),
     "not their mean"),
    ("10.3", lambda x, g, k, stride=1, padding=0: _wgrad(x, g, k, stride, padding).reshape(
        g.shape[1], -1), "reshape (O, C*kh*kw)"),
])
def test_typical_mistakes_fail_with_a_pointed_message(capsys, exercise, fn, expected):
    got = check(exercise, fn)
    out = capsys.readouterr().out
    assert got is checks.get_exercise(exercise).reference
    assert out.startswith("❌") and expected in out and "Hint:" in out, out
    assert "Continuing with the reference implementation." in out


def test_a_stub_falls_back_and_says_so(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for exercise in ("10.1", "10.2", "10.3"):
        assert check(exercise, stub) is checks.get_exercise(exercise).reference
        out = capsys.readouterr().out
        assert "not done yet" in out and "continuing with the reference" in out


def test_hints_give_the_idea_not_the_code():
    for exercise in ("10.1", "10.2", "10.3"):
        hint = checks.get_exercise(exercise).hint
        assert "Hint 2" in hint
        assert "transpose(" not in hint and "reshape(" not in hint and ".sum(" not in hint


def test_draw_im2col_outlines_the_window_and_its_column():
    fig = L.draw_im2col(size=4, kernel=3, stride=1, padding=1, window=5)
    left, right = fig.axes
    assert len(left.patches) == 1 and len(right.patches) == 1
    assert "16 columns" in right.get_title().replace("\n", " ")
    # the learner's im2col draws the picture when given
    calls = []
    L.draw_im2col(im2col=lambda *a, **k: calls.append(1) or L.library_im2col(*a, **k))
    assert calls == [1]


# --------------------------------------------------------------------------------------------
# What filters learn


@pytest.fixture(scope="module")
def small_run():
    return L.train_small_convnet(steps=30, batch_size=16, channels=(4, 4), progress=False,
                                 snapshot_steps=(0, 10, 20))


def test_small_convnet_trains_and_keeps_snapshots(small_run):
    assert sorted(small_run["snapshots"]) == [0, 10, 20, 30]
    assert all(f.shape == (4, 5, 5) for f in small_run["snapshots"].values())
    assert small_run["losses"].shape == (30,)
    assert small_run["losses"][-10:].mean() < small_run["losses"][:3].mean()
    assert 0 <= small_run["init_acc"] <= 1 and small_run["test_acc"] > small_run["init_acc"]
    assert small_run["model"].training  # back in training mode after the evaluation
    assert len(L.plot_training(small_run).axes) == 1
    fig = L.plot_filters(small_run["snapshots"], steps=[0, 30])
    assert len(fig.axes) == 2 * 4


def test_structure_measures():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((200, 5, 5))
    assert abs(L.neighbour_correlation(noise)) < 0.05
    ramp = np.tile(np.linspace(-1, 1, 5), (3, 5, 1)) * np.array([1, 2, -3])[:, None, None]
    assert L.neighbour_correlation(ramp) > 0.4
    assert L.filter_contrast(ramp * 10) == pytest.approx(L.filter_contrast(ramp))


def test_feature_maps_are_the_convolution_of_the_digit():
    rng = np.random.default_rng(1)
    f, img = rng.standard_normal((3, 5, 5)), rng.random((28, 28))
    maps = L.filters.feature_maps(f, img)
    expected = L.library_conv2d(img[None, None], f[:, None], np.zeros(3), 1, 2)[0]
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-4)


def test_filters_explorer_follows_its_sliders(small_run):
    ex = L.make_filters_explorer(small_run)
    assert set(ex.controls) == {"step", "digit"}
    assert ex.result["step"] == 30 and ex.result["digit"] == 0
    ex.controls["step"].value = 0
    np.testing.assert_array_equal(ex.result["filters"], small_run["snapshots"][0])
    before = ex.result["maps"].copy()
    ex.controls["digit"].value = 3
    assert ex.result["digit"] == 3 and not np.allclose(ex.result["maps"], before)
    assert ex.output.outputs  # drawn


# --------------------------------------------------------------------------------------------
# The paper's convnet


def test_the_paper_convnet_and_its_groups():
    problem = L.paper_convnet()
    rows = L.parameter_rows(problem)
    sizes = L.group_sizes(problem)
    assert sizes == {"conv": 400 + 2 * 6400, "fc": 21_882 - 13_200}
    assert sum(r["entries"] for r in rows) == 21_882  # the quiz's last question says so
    assert [r["name"] for r in rows if r["kind"] == "conv"] == [
        "conv1.weight", "conv2.weight", "conv3.weight"]
    assert rows[-1]["start"] + rows[-1]["entries"] == 21_882
    table = L.parameter_table(problem)
    assert "21,882" in table and "conv: 13,200" in table
    net = L.two_lstm_optimizer(problem)
    assert net.groups == ("conv", "fc")
    assert L.weights_per_group(net) == {"conv": 5301, "fc": 5301}
    fig = L.draw_parameter_groups(problem, lstm_weights=5301)
    gids = {p.get_gid() for p in fig.axes[0].patches}
    assert {"lstm-conv", "lstm-fc"} <= gids
    assert {f"array-{r['name']}" for r in rows} <= gids


def test_layer_geometry_of_the_paper_convnet():
    geometry = L.layer_geometry(28, L.paper_convnet_layers(L.paper_convnet()))
    assert [g["size"] for g in geometry] == [28, 14, 14, 7, 7, 4]
    assert [g["receptive_field"] for g in geometry] == [5, 6, 14, 16, 32, 36]
    assert [g["jump"] for g in geometry] == [1, 2, 2, 4, 4, 8]
    text = L.geometry_table(28, geometry)
    assert text.splitlines()[1].split()[0] == "input" and "4x4" in text


def test_receptive_field_of_stacked_3x3_convolutions():
    conv3 = {"kind": "conv", "kernel": 3, "stride": 1}
    assert L.layer_geometry(10, [conv3, conv3])[-1]["receptive_field"] == 5  # the quiz's
    assert L.layer_geometry(3, [conv3, conv3])[-1]["size"] == 0  # no longer fits


def test_geometry_explorer_follows_its_controls():
    ex = L.make_geometry_explorer()
    assert set(ex.controls) == {"size", "kernel", "stride", "padding", "pool", "layers"}
    assert ex.result["out"] == 3 and ex.result["fits"]  # floor pooling: 28 -> 14 -> 7 -> 3
    assert ex.result["same"]
    ex.controls["pool"].value = False
    assert ex.result["out"] == 28 and ex.result["receptive_field"] == 13
    ex.controls["stride"].value = 2
    assert not ex.result["same"] and ex.result["out"] == 4
    ex.controls["size"].value = 8
    ex.controls["kernel"].value = 9
    ex.controls["padding"].value = 0
    assert not ex.result["fits"]
    assert ex.output.outputs


def test_plot_geometry_marks_the_receptive_field():
    view = L.geometry_view(28, 3, 1, 1, False, 2)
    fig = L.plot_geometry(view)
    rect = fig.axes[0].patches[0]
    assert rect.get_width() == 5 and rect.get_x() == pytest.approx(13 - 2 - 0.5)


# --------------------------------------------------------------------------------------------
# Two LSTMs, live


@pytest.fixture(scope="module")
def tiny_live():
    return L.meta_train_two_lstms(TINY, val_every=1, val_runs=1, progress=False)


def test_live_meta_training_runs_and_reports(tiny_live):
    assert tiny_live["iterations"] == 2 and len(tiny_live["curve"]) == 2
    assert [v[0] for v in tiny_live["validation"]] == [0, 1, 2]
    assert all(math.isfinite(v[1]) and math.isfinite(v[2]) for v in tiny_live["validation"])
    assert set(tiny_live["moved"]) == {"conv", "fc"}
    assert all(m > 0 for m in tiny_live["moved"].values())
    assert tiny_live["net"].groups == ("conv", "fc")
    assert len(L.plot_live(tiny_live).axes) == 1


def test_validation_losses_are_deterministic(tiny_live):
    problem = L.live_problem("val", TINY)
    a = L.validation_losses(tiny_live["net"], problem, runs=2, steps=3)
    b = L.validation_losses(tiny_live["net"], problem, runs=2, steps=3)
    assert a.shape == (2, 4)
    np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def tiny_race(tiny_live):
    return L.race_live(tiny_live["net"], TINY, runs=3, val_runs=1, grid=(0.1, 1.0))


def test_race_against_tuned_baselines(tiny_race):
    assert tiny_race["optimizers"] == ["lstm", "sgd", "nag", "rmsprop", "adam"]
    assert tiny_race["paired"]["runs"] == 3
    table = L.race_table(tiny_race)
    assert "SGD" in table and "Adam" in table and "LSTM (learned)" in table
    words = L.describe_race(tiny_race)
    assert any(v in words for v in ("the learned optimizer is ahead", "the tuned baseline is "
                                    "ahead", "not distinguishable", "undefined"))
    assert len(L.plot_race(tiny_race).axes) == 1


@pytest.mark.parametrize("interval, words", [
    ([-0.3, -0.1], "the learned optimizer is ahead"),
    ([0.1, 0.3], "the tuned baseline is ahead"),
    ([-0.1, 0.1], "not distinguishable")])
def test_describe_race_reads_the_interval(tiny_race, interval, words):
    result = json.loads(json.dumps(tiny_race))
    result["paired"]["diff_ci95"] = interval
    result["paired"]["mean_diff"] = sum(interval) / 2
    assert words in L.describe_race(result)


# --------------------------------------------------------------------------------------------
# Stored results


def _evaluation(tiny_race) -> dict:
    """A real evaluation, laid out as `evaluate --problem convnet --json` writes it."""
    return {"problem": "convnet", "optimizee": None,
            "problem_config": L.live_problem("test", TINY).config(),
            "checkpoint": {"path": "x.npz", "iteration": 7, "weights": "best"}, **tiny_race}


def test_no_results_file_says_so_plainly(tmp_path):
    assert L.load_convnet_results(tmp_path / "absent.json") is None
    text = L.describe_stored(None)
    assert text == L.NOT_YET and text.startswith("No stored results yet")
    assert re.findall(r"\d+", text) == ["5"]  # section 5; no number is made up


def test_the_shipped_tree_has_no_results_yet_or_valid_ones():
    stored = L.load_convnet_results()
    assert stored is None or stored["problem"] == "convnet"
    assert L.RESULTS_PATH.parent == Path(L.__file__).parent


def test_a_results_file_is_loaded_described_and_drawn(tmp_path, tiny_race):
    path = tmp_path / "convnet_results.json"
    path.write_text(json.dumps(_evaluation(tiny_race), allow_nan=False))
    stored = L.load_convnet_results(path)
    text = L.describe_stored(stored)
    assert "The paper's convnet (conv 2, fc 4)" in text and "3 test runs of 4 steps" in text
    assert "7 meta-iterations" in text and "paired over the same 3 test runs" in text
    assert len(L.plot_stored(stored).axes) == 1
    assert L.check_against_checkpoint(stored, {"iteration": 7, "weights": "best"}) is None
    problem = L.check_against_checkpoint(stored, {"iteration": 9, "weights": "best"})
    assert "7 meta-iterations" in problem and "9" in problem


@pytest.mark.parametrize("change, message", [
    ({"problem": "mnist"}, "expected 'convnet'"),
    ({"optimizers": ["sgd"]}, "expected 'lstm' and tuned baselines"),
    ({"lstm": {"curve": []}}, "no statistics for 'lstm'"),
])
def test_a_malformed_results_file_is_an_error_naming_it(tmp_path, tiny_race, change, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**_evaluation(tiny_race), **change}))
    with pytest.raises(ValueError, match=message) as err:
        L.load_convnet_results(path)
    assert str(path) in str(err.value)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        L.load_convnet_results(path)


def test_no_shipped_checkpoint_is_none_not_an_error():
    from minigrad.l2l.checkpoints import PRETRAINED_DIR

    shipped = L.shipped_checkpoint()
    assert (shipped is None) == (not (PRETRAINED_DIR / "convnet.npz").is_file())


# --------------------------------------------------------------------------------------------
# The notebook


def _cells(tree: str) -> list:
    return nbformat.read(REPO / tree / "10_convnet.ipynb", as_version=4).cells


def test_exercise_cells_are_stubs_in_the_course_and_solved_in_the_solutions():
    for name in ("im2col", "conv2d_forward", "conv2d_weight_grad"):
        sol = [c.source for c in _cells("solutions") if c.source.startswith(f"def {name}(")]
        course = [c.source for c in _cells("course") if c.source.startswith(f"def {name}(")]
        assert len(sol) == len(course) == 1
        assert "### BEGIN SOLUTION" in sol[0]
        assert "raise NotImplementedError()" in course[0] and "BEGIN SOLUTION" not in course[0]


def test_check_cells_are_collapsed_and_tagged():
    asserts = [c for c in _cells("course") if c.cell_type == "code"
               and c.source.lstrip().startswith("assert")]
    assert asserts
    for c in asserts:
        assert c.metadata.get("jupyter", {}).get("source_hidden") is True
        assert "check" in c.metadata.get("tags", [])


def test_each_check_is_followed_by_a_collapsed_hint_2():
    cells = _cells("solutions")
    for i, c in enumerate(cells):
        if c.cell_type == "code" and 'check("10.' in c.source:
            assert cells[i + 1].source.startswith("<details>\n<summary><b>Hint 2</b>")
