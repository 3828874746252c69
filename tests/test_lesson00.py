"""Lesson 00 helpers: the course map, the paper picture, the environment report, exercise 00.1
and the learning-rate explorer."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import backend  # noqa: E402
from minigrad.course import check  # noqa: E402
from minigrad.course import lesson00 as L  # noqa: E402
from minigrad.course.lesson00 import Lesson  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------
# The course map


def test_eleven_lessons_in_order_each_building_only_on_earlier_ones():
    numbers = [les.number for les in L.LESSONS]
    assert numbers == [f"{i:02d}" for i in range(11)]
    assert len({les.filename for les in L.LESSONS}) == 11
    for les in L.LESSONS:
        assert all(dep < les.number for dep in les.builds_on), les
    assert {les.part for les in L.LESSONS} == {1, 2}
    assert [les.number for les in L.LESSONS if les.part == 1] == ["00", "01", "02", "03", "04"]


def test_every_lesson_notebook_that_exists_is_on_the_map():
    on_map = {les.filename for les in L.LESSONS}
    for tree in ("solutions", "course"):
        for path in sorted((REPO / tree).glob("[0-9][0-9]_*.ipynb")):
            assert path.name in on_map, f"{tree}/{path.name} is missing from lesson00.LESSONS"


def test_the_notebook_shows_the_current_course_table():
    nb = nbformat.read(REPO / "solutions" / "00_welcome.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert L.course_map_markdown() in markdown


def test_course_map_markdown_links_each_notebook():
    table = L.course_map_markdown().splitlines()
    assert table[0] == "| Lesson | What you learn | Builds on |"
    assert len(table) == 2 + 11
    assert "| [05 Learning to learn](05_learning_to_learn.ipynb) |" in table[7]
    assert table[7].endswith("| 03, 04 |")


def test_lesson_layers_are_longest_paths_and_refuse_forward_references():
    layers = L.lesson_layers()
    assert layers["00"] == 0 and layers["02"] == 2
    assert layers["03"] == layers["04"] == 3
    assert layers["05"] == 4 and layers["07"] == 6 and layers["09"] == 8
    assert layers["10"] == layers["08"] == 7
    bad = (Lesson("00", "a", "A", "x", ("01",)), Lesson("01", "b", "B", "y"))
    with pytest.raises(ValueError, match="lesson 00 builds on '01'"):
        L.lesson_layers(bad)


def test_course_map_draws_a_box_per_lesson_and_forward_arrows():
    fig = L.draw_course_map()
    ax = fig.axes[0]
    boxes = {p.get_gid(): p for p in ax.patches if isinstance(p, FancyBboxPatch)}
    assert set(boxes) == {f"lesson-{les.number}" for les in L.LESSONS}
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    expected = {f"edge-{d}-{les.number}" for les in L.LESSONS for d in les.builds_on}
    assert {a.get_gid() for a in arrows} == expected
    texts = [t.get_text() for t in ax.texts]
    for les in L.LESSONS:
        assert any(t.startswith(les.number + "\n") for t in texts)
    for arrow in arrows:  # every arrow goes right, from a lesson to a later one
        _, src, dst = arrow.get_gid().split("-")
        assert boxes[f"lesson-{dst}"].get_x() > boxes[f"lesson-{src}"].get_x(), arrow.get_gid()


# --------------------------------------------------------------------------------------------
# The paper in one picture


@pytest.mark.parametrize("steps", [1, 3])
def test_paper_picture_dashes_exactly_the_gradient_edges(steps):
    fig = L.draw_paper_picture(steps=steps)
    ax = fig.axes[0]
    arrows = {p.get_gid(): p for p in ax.patches if isinstance(p, FancyArrowPatch)}
    dashed = {gid for gid, p in arrows.items() if p.get_linestyle() != "-"}
    assert dashed == {f"theta{t}->grad{t}" for t in range(steps)}
    for t in range(steps):
        # the update path, the LSTM state and the meta-loss terms are all solid
        for gid in (f"grad{t}->m{t}", f"m{t}->plus{t}", f"theta{t}->plus{t}",
                    f"plus{t}->theta{t + 1}", f"theta{t + 1}->f{t + 1}", f"f{t + 1}->L"):
            assert gid in arrows and gid not in dashed
    assert "h0->m0" in arrows and f"m{steps - 1}->h{steps}" in arrows
    texts = " ".join(t.get_text() for t in ax.texts)
    assert r"\mathcal{L}(\phi)" in texts and r"$\theta_0$" in texts
    assert rf"$f(\theta_{steps})$" in texts and r"$f(\theta_0)$" not in texts


def test_paper_picture_needs_a_step():
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        L.draw_paper_picture(steps=0)


# --------------------------------------------------------------------------------------------
# The environment


def test_environment_report_matches_the_backend():
    r = L.environment_report()
    assert r["device"] == backend.default_device()
    assert r["array_module"] == {"cpu": "numpy", "cuda": "cupy"}[r["device"]]
    assert r["dtype"] == str(mg.get_default_dtype())
    assert r["numpy"] == np.__version__ and r["minigrad"] == mg.__version__
    assert (r["cupy_usable"], r["cupy_reason"]) == mg.cupy_status()
    text = L.format_environment(r)
    assert r["cupy_reason"] in text and f"dtype       {r['dtype']}" in text


def test_format_environment_names_the_gpu_and_the_variable():
    fake = {"python": "3.11.0", "numpy": "2.0", "minigrad": "0.1.0", "MINIGRAD_BACKEND": "cupy",
            "device": "cuda", "array_module": "cupy", "dtype": "float32", "cupy_usable": True,
            "cupy_reason": "CuPy 14.2 on 1 GPU(s)"}
    text = L.format_environment(fake)
    assert "CuPy on the GPU (default device 'cuda', arrays from cupy)" in text
    assert "MINIGRAD_BACKEND is 'cupy'" in text
    assert "CuPy        usable: CuPy 14.2 on 1 GPU(s)" in text
    fake.update(MINIGRAD_BACKEND=None, device="cpu", array_module="numpy", cupy_usable=False,
                cupy_reason="CuPy is not installed")
    text = L.format_environment(fake)
    assert "NumPy on the CPU" in text and "not set (so 'numpy')" in text
    assert "not usable: CuPy is not installed" in text


@pytest.mark.skipif(mg.cupy_status()[0], reason="CuPy works here, so asking for it succeeds")
def test_the_demonstrated_error_says_why_and_changes_nothing():
    before = backend.default_device()
    with pytest.raises(mg.BackendError) as err:
        mg.set_backend("cupy")
    assert mg.cupy_status()[1] in str(err.value)
    assert backend.default_device() == before


# --------------------------------------------------------------------------------------------
# Exercise 00.1 and what its check prints


def test_square_reference_passes(capsys):
    assert check("00.1", L.square) is L.square
    assert capsys.readouterr().out.startswith("✅ Exercise 00.1 (square a number): passed 4/4")


def test_wrong_square_fails_with_the_first_bad_case_and_the_hint(capsys):
    def square_wrong(x):
        return 2 * x

    assert check("00.1", square_wrong) is L.square
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 00.1 (square a number): check 1, square_wrong(3): got 6, "
                          "expected 9")
    assert "Hint: x squared is x times x" in out and "reference implementation" in out
    assert "'Hint 2'" in out and "x * x" not in out  # the idea first; code only in Hint 2


# --------------------------------------------------------------------------------------------
# Gradient descent on x^2


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.3, 0.5, 0.77, 1.0, 1.1])
@pytest.mark.parametrize("x0", [1.0, -2.5])
def test_gradient_descent_path_is_the_geometric_sequence(lr, x0):
    xs = L.gradient_descent_path(lr, steps=15, x0=x0)
    assert xs.dtype == np.float64 and xs.shape == (16,)
    assert np.allclose(xs, (1 - 2 * lr) ** np.arange(16) * x0, rtol=1e-12, atol=1e-15)


def test_gradient_descent_path_edges():
    assert np.array_equal(L.gradient_descent_path(0.3, steps=0, x0=2.0), [2.0])
    assert np.all(L.gradient_descent_path(0.3, steps=5, x0=0.0) == 0.0)
    with pytest.raises(ValueError, match="steps must be >= 0, got -1"):
        L.gradient_descent_path(0.1, steps=-1)


@pytest.mark.parametrize(
    "lr, regime",
    [(0.0, "stays put"), (-0.1, "diverges monotonically"), (0.2, "converges monotonically"),
     (0.5, "converges in one step"), (0.5 + 1e-12, "converges in one step"),
     (0.7, "converges, oscillating"), (1.0, "oscillates forever"),
     (0.01 * 100, "oscillates forever"), (1.05, "diverges, oscillating")],
)
def test_lr_regime_on_x_squared(lr, regime):
    assert L.lr_regime(lr) == regime


def test_lr_regime_agrees_with_the_iterates():
    for lr in np.linspace(0.01, 1.1, 111):
        xs = L.gradient_descent_path(lr, steps=30)
        regime = L.lr_regime(lr)
        shrinks = abs(xs[-1]) < abs(xs[0])
        assert shrinks == regime.startswith("converges"), (lr, regime)
        oscillates = bool(np.any(xs[1:] < 0))
        assert oscillates == (("oscillat" in regime) and regime != "converges in one step"), lr


def test_lr_regime_scales_with_the_curvature():
    assert L.lr_regime(0.25, curvature=4.0) == "converges in one step"
    assert L.lr_regime(0.25, curvature=10.0) == "diverges, oscillating"
    assert L.lr_regime(0.25, curvature=1.0) == "converges monotonically"


def test_plot_lr_regimes_has_one_panel_per_rate():
    fig = L.plot_lr_regimes(lrs=(0.1, 1.0), steps=6)
    assert len(fig.axes) == 2
    assert fig.axes[1].get_title() == "lr = 1\noscillates forever"
    line = [ln for ln in fig.axes[0].lines if len(ln.get_xdata()) == 7][0]
    assert np.allclose(line.get_ydata(), 0.8 ** np.arange(7))


def test_plot_lr_path_handles_an_exact_zero():
    fig = L.plot_lr_path(L._lr_result(0.5, 10, 1.0))
    assert "f = 0 exactly" in " ".join(t.get_text() for t in fig.axes[1].texts)
    fig = L.plot_lr_path(L._lr_result(1.1, 50, 1.0))  # diverging: the parabola widens
    assert fig.axes[0].get_xlim()[1] > 1e3


# --------------------------------------------------------------------------------------------
# The explorer (headless: observers fire synchronously)


def test_lr_explorer_recomputes_when_the_sliders_move(capsys):
    ex = L.make_lr_explorer(lr=0.1, steps=20)
    assert set(ex.controls) == {"lr", "steps"}
    assert ex.controls["lr"].continuous_update is False
    first = ex.result
    assert first["regime"] == "converges monotonically"
    assert np.allclose(first["xs"], 0.8 ** np.arange(21))
    assert "lr = 0.10" in capsys.readouterr().out

    ex.controls["lr"].value = 0.9
    res = ex.result
    assert res is not first and res["lr"] == pytest.approx(0.9)
    assert res["regime"] == "converges, oscillating"
    assert np.allclose(res["xs"], (-0.8) ** np.arange(21))
    assert np.allclose(res["fs"], res["xs"] ** 2)
    out = capsys.readouterr().out
    assert "lr = 0.90" in out and "converges, oscillating" in out

    ex.controls["lr"].value = ex.controls["lr"].max  # the browser test presses End
    assert ex.result["regime"] == "diverges, oscillating"
    assert abs(ex.result["xs"][-1]) > 1

    ex.controls["steps"].value = 5
    assert ex.result["steps"] == 5 and len(ex.result["xs"]) == 6
    assert ex.output is not None and ex.widget.children[-1] is ex.output
