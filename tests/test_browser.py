"""The lessons in a real browser (issue 10): JupyterLab renders them and their widgets respond.

For every course/*.ipynb (found when the tests are collected, so new lessons are included
automatically): start JupyterLab on 127.0.0.1 with throw-away settings, open the notebook in
headless Chromium (Debian's ``chromium``, driven by Playwright for Python; no browser
download), wait for the kernel to be connected and idle, run all cells, and assert

* no error output and no traceback on stderr, in any cell;
* every cell that displays widgets renders them (which cells: the executed twin in
  solutions/, or the source for ``make_..._explorer(...)`` / ``interact...(...)`` calls);
* every explorer (a widget cell with a control) changes its output when one control moves
  (slider: focus the handle, press End; else a dropdown, toggle, radio, checkbox or button);
* what a notebook's panels need beyond that (:data:`INTERACTIONS`): lesson 07's training
  panel, set to its smallest budget, trains when Train is clicked and says what it trained;
  lesson 00's quiz, answered wrong and then right, explains both answers.

A screenshot per notebook goes to the test's tmp dir and, when MINIGRAD_SCREENSHOT_DIR is set,
there too. Run: ``.venv/bin/pytest -m browser -s`` (``-s`` prints timings per notebook).
Where Chromium or Playwright is missing the tests skip with the reason; with CI=true they fail.

The checking logic itself is tested on scratch notebooks made in a temporary directory: one
that must pass (a slider + Output explorer, an ``interactive_output`` explorer with a plot, a
dropdown, a tqdm bar) and one that must produce the expected problems.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
from pathlib import Path

import nbformat
import pytest
from browser_helpers import (
    CHROMIUM_ARGS,
    LabServer,
    answer_quiz,
    check_notebook,
    expected_widget_cells,
    find_chromium,
    in_ci,
    missing_browser_reason,
    press_slider_and_click,
)

REPO = Path(__file__).resolve().parent.parent
COURSE_NOTEBOOKS = sorted((REPO / "course").glob("[0-9]*.ipynb"))
VIEWPORT = {"width": 1280, "height": 960}


# --------------------------------------------------------------------------------------------
# Fixtures: one Chromium for the module, one JupyterLab per notebook tree, a fresh page each.


@pytest.fixture(scope="module")
def browser():
    reason = missing_browser_reason()
    if reason:
        if in_ci():
            pytest.fail(f"CI=true, so the browser test must run, but: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=find_chromium(), args=CHROMIUM_ARGS, timeout=120_000
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def course_server(browser, tmp_path_factory):
    server = LabServer(REPO, tmp_path_factory.mktemp("jupyterlab-course"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser_context(browser):
    # One context for the module: its HTTP cache makes JupyterLab load faster after the first
    # page. Each notebook still gets its own page and its own (reset) workspace.
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        page.close()


def _publish_screenshot(shot: Path) -> None:
    target = os.environ.get("MINIGRAD_SCREENSHOT_DIR")
    if target and shot.exists():
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / shot.name)


def _timing_line(report) -> str:
    t = report.timings
    parts = [f"{k} {v:.1f} s" for k, v in t.items()]
    return (
        f"[browser] {report.path}: {', '.join(parts)}; {report.widget_views} widget view(s), "
        f"{len(report.explorers_checked)} explorer(s) responded"
    )


# --------------------------------------------------------------------------------------------
# The course notebooks

#: What a notebook's panels need beyond the generic checks, after "run all" (stem -> action):
#: lesson 07's training panel trains only when its button is clicked, so set the smallest
#: budget and click Train; it must draw its curve and say what it trained. Lesson 00's quiz
#: is answered (wrong, then right) and must explain each answer.
def _answer_lesson00_quiz(page, relpath):
    """Lesson 00's quiz, question 2 (gradient descent on x² with α = 0.75): a wrong answer
    first, whose feedback must say why it is wrong, then the right one."""
    ok, wrong = answer_quiz(page, relpath, "It diverges.", "1 − 2α = −0.5")
    if not ok:
        return ok, wrong
    ok, right = answer_quiz(page, relpath, "It converges, and x changes sign at every step.",
                            "✅ Right.")
    return ok, f"{wrong}; then {right}"


INTERACTIONS = {
    "00_welcome": _answer_lesson00_quiz,
    "07_mnist": lambda page, relpath: press_slider_and_click(
        page, relpath, "Train", key="Home", done_text="Trained"),
}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("notebook", COURSE_NOTEBOOKS, ids=lambda p: p.stem)
def test_course_notebook_in_jupyterlab(notebook, course_server, page, tmp_path):
    original = notebook.read_bytes()
    expect = expected_widget_cells(notebook, REPO / "solutions" / notebook.name)
    shot = tmp_path / f"{notebook.stem}.png"
    interaction = None
    try:
        report = check_notebook(page, course_server, f"course/{notebook.name}", expect, shot)
        act = INTERACTIONS.get(notebook.stem)
        if act is not None and not report.problems:
            ok, interaction = act(page, f"course/{notebook.name}")
            if not ok:
                report.problems.append(interaction)
    finally:
        course_server.shutdown_kernels()
        _publish_screenshot(shot)
        if notebook.read_bytes() != original:  # cannot happen (read-only server); be sure
            notebook.write_bytes(original)
            pytest.fail(f"{notebook} was modified during the browser test; restored it")
    print(_timing_line(report))
    for line in report.explorers_checked:
        print(f"[browser]   {line}")
    if interaction is not None:
        print(f"[browser]   {interaction}")
    assert not report.problems, report.describe()
    assert shot.stat().st_size > 10_000, f"screenshot {shot} looks empty"


# --------------------------------------------------------------------------------------------
# The checker on scratch notebooks (so the widget logic runs before lessons have explorers)

GOOD_CELLS = [
    ("markdown", "# Scratch lesson\nA slider explorer, an interactive_output plot, a dropdown."),
    (
        "code",
        "import ipywidgets as widgets\n"
        "from IPython.display import display\n"
        "\n"
        "\n"
        "def make_square_explorer():\n"
        "    slider = widgets.IntSlider(value=2, min=0, max=9, continuous_update=False)\n"
        "    out = widgets.Output()\n"
        "\n"
        "    def show(change=None):\n"
        "        out.clear_output(wait=True)\n"
        "        with out:\n"
        "            print(f'{slider.value} squared is {slider.value ** 2}')\n"
        "\n"
        "    slider.observe(show, 'value')\n"
        "    show()\n"
        "    box = widgets.VBox([slider, out])\n"
        "    box.controls = {'n': slider}\n"
        "    return box",
    ),
    ("code", "make_square_explorer()"),
    (
        "code",
        "%matplotlib inline\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "\n"
        "freq = widgets.FloatSlider(value=1.0, min=0.5, max=3.0, continuous_update=False)\n"
        "\n"
        "\n"
        "def plot(freq):\n"
        "    x = np.linspace(0, 2 * np.pi, 200)\n"
        "    plt.figure(figsize=(4, 2))\n"
        "    plt.plot(x, np.sin(freq * x))\n"
        "    plt.show()\n"
        "\n"
        "\n"
        "display(freq, widgets.interactive_output(plot, {'freq': freq}))",
    ),
    (
        "code",
        "choice = widgets.Dropdown(options=['sgd', 'adam', 'lstm'], value='sgd')\n"
        "shown = widgets.Output()\n"
        "\n"
        "\n"
        "def show_choice(change):\n"
        "    shown.clear_output(wait=True)\n"
        "    with shown:\n"
        "        print('optimizer:', change['new'])\n"
        "\n"
        "\n"
        "choice.observe(show_choice, 'value')\n"
        "shown.append_stdout('optimizer: sgd')\n"
        "display(widgets.HBox([choice, shown]))",
    ),
    ("code", "from tqdm.auto import tqdm\n\nfor _ in tqdm(range(3)):\n    pass"),
    ("code", "print('done')"),
]

BAD_CELLS = [
    (
        "code",
        "import ipywidgets as widgets\n"
        "\n"
        "\n"
        "def make_dead_explorer():\n"
        "    slider = widgets.IntSlider(value=3, max=9)  # nothing observes it\n"
        "    out = widgets.Output()\n"
        "    out.append_stdout('always the same')\n"
        "    return widgets.VBox([slider, out])\n"
        "\n"
        "\n"
        "def make_missing_explorer():\n"
        "    return None\n"
        "\n"
        "\n"
        "def make_emptying_explorer():\n"
        "    slider = widgets.IntSlider(value=3, max=9)\n"
        "    out = widgets.Output()\n"
        "    out.append_stdout('shown until the slider moves')\n"
        "    slider.observe(lambda change: out.clear_output(), 'value')\n"
        "    return widgets.VBox([slider, out])",
    ),
    ("code", "make_dead_explorer()"),
    ("code", "make_missing_explorer()"),
    ("code", "make_emptying_explorer()"),
    ("code", "raise ValueError('scratch failure on purpose')"),
    ("code", "make_dead_explorer()  # never runs: not judged"),
]


def _write_notebook(path: Path, cells) -> Path:
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(make(source))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["kernelspec"]["language"] = "python"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def scratch_server(browser, tmp_path_factory):
    root = tmp_path_factory.mktemp("scratch-notebooks")
    _write_notebook(root / "good.ipynb", GOOD_CELLS)
    _write_notebook(root / "bad.ipynb", BAD_CELLS)
    server = LabServer(root, tmp_path_factory.mktemp("jupyterlab-scratch"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.mark.browser
@pytest.mark.slow
def test_checker_passes_a_notebook_with_working_explorers(scratch_server, page, tmp_path):
    nb_path = scratch_server.root_dir / "good.ipynb"
    expect = expected_widget_cells(nb_path)
    assert expect.explorer_cells == [2, 3], "the source rule should find both explorer calls"
    shot = tmp_path / "good.png"
    try:
        report = check_notebook(page, scratch_server, "good.ipynb", expect, shot)
    finally:
        scratch_server.shutdown_kernels()
    print(_timing_line(report))
    assert not report.problems, report.describe()
    checked = "\n".join(report.explorers_checked)
    assert len(report.explorers_checked) == 3, checked  # slider, interactive_output, dropdown
    assert "cell 3" in checked and "slider" in checked and "dropdown" in checked, checked
    assert report.widget_views >= 4, report.widget_views  # 3 explorers + the tqdm bar
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


@pytest.mark.browser
def test_server_refuses_to_write_notebooks(scratch_server):
    nb_path = scratch_server.root_dir / "good.ipynb"
    original = nb_path.read_bytes()
    model = {"type": "file", "format": "text", "content": "overwritten"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        scratch_server.api("PUT", "api/contents/good.ipynb", model)
    assert refused.value.code == 403
    assert nb_path.read_bytes() == original


@pytest.mark.browser
@pytest.mark.slow
def test_checker_reports_errors_and_broken_explorers(scratch_server, page, tmp_path):
    expect = expected_widget_cells(scratch_server.root_dir / "bad.ipynb")
    assert expect.explorer_cells == [1, 2, 3, 5]
    try:
        report = check_notebook(page, scratch_server, "bad.ipynb", expect, tmp_path / "bad.png")
    finally:
        scratch_server.shutdown_kernels()
    problems = report.describe()
    print(problems)
    assert len(report.problems) == 4, problems
    assert any("cell 5" in p and "ValueError: scratch failure" in p for p in report.problems), (
        problems
    )
    assert any("cell 4" in p and "output emptied" in p for p in report.problems), problems
    assert any(
        "cell 2" in p and "did not change" in p and "slider End" in p for p in report.problems
    ), problems
    assert any("cell 3" in p and "rendered none" in p for p in report.problems), problems


# --------------------------------------------------------------------------------------------
# Which cells must show widgets (no browser needed)


def test_widget_cells_come_from_the_executed_twin(tmp_path):
    view = {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                     "text/plain": ["VBox()"]}}  # fmt: skip
    course = _write_notebook(
        tmp_path / "course.ipynb",
        [("code", "explorer = make_lr_explorer()"), ("code", "explorer"), ("code", "bar()")],
    )
    twin = json.loads(course.read_text())
    twin["cells"][1]["outputs"] = [view]
    twin["cells"][2]["outputs"] = [view]  # e.g. a tqdm bar: a widget, not an explorer
    (tmp_path / "twin.ipynb").write_text(json.dumps(twin))

    from_twin = expected_widget_cells(course, tmp_path / "twin.ipynb")
    assert from_twin.widget_cells == [1, 2]
    assert from_twin.explorer_cells == []  # the cell that builds it displays nothing
    from_source = expected_widget_cells(course)
    assert from_source.widget_cells == [0] and from_source.explorer_cells == [0]
    no_twin = expected_widget_cells(course, tmp_path / "missing.ipynb")
    assert no_twin.widget_cells == [0]


@pytest.mark.parametrize(
    "source, is_explorer",
    [
        ("make_race_explorer(steps=50)", True),
        ("ex = lesson03.make_lr_explorer()\nex", True),
        ("interact(f, x=(0, 10))", True),
        ("widgets.interactive_output(plot, {'a': a})", True),
        ("def make_race_explorer(steps):\n    return None", False),
        ("explorer.controls['lr'].value = 0.1", False),
        ("print('interactive explorers come later')", False),
    ],
)
def test_explorer_calls_are_recognised(tmp_path, source, is_explorer):
    nb = _write_notebook(tmp_path / "n.ipynb", [("code", source)])
    assert expected_widget_cells(nb).explorer_cells == ([0] if is_explorer else [])
