"""minigrad/course/widgets.py: explorers show their output by setting the Output widget's
``outputs`` from the kernel, never by capturing (``with output:`` + ``clear_output``), which
can hang a headless run (the module docstring says why)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from minigrad.course.widgets import Explorer, show_in

REPO = Path(__file__).resolve().parent.parent


def _square_explorer():
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def render(n):
        print(f"n = {n}")
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, n])
        return fig

    return Explorer({"n": widgets.IntSlider(value=3, min=0, max=9)}, lambda n: n, render)


def test_explorer_puts_what_render_prints_and_returns_in_its_output(capsys):
    ex = _square_explorer()
    text, figure = ex.output.outputs
    assert text == {"output_type": "stream", "name": "stdout", "text": "n = 3\n"}
    assert figure["output_type"] == "display_data" and "Figure" in figure["data"]["text/plain"]
    assert capsys.readouterr().out == "n = 3\n"  # without IPython it is printed as well

    ex.controls["n"].value = 7
    assert ex.result == 7
    assert [o.get("text") for o in ex.output.outputs] == ["n = 7\n", None]  # replaced


def test_show_in_replaces_and_empties():
    import ipywidgets as widgets

    out = widgets.Output()
    show_in(out, "first\n", None, "")
    assert out.outputs == ({"output_type": "stream", "name": "stdout", "text": "first\n"},)
    show_in(out, 42)
    assert out.outputs == ({"output_type": "display_data", "data": {"text/plain": "42"},
                            "metadata": {}},)
    show_in(out)
    assert out.outputs == ()


def test_no_course_helper_captures_output_into_a_widget():
    """``with <...output...>:`` or ``clear_output(...)`` anywhere in minigrad/course is the
    pattern that hung lesson 07 under nbconvert; use widgets.show_in."""
    found = []
    for path in sorted((REPO / "minigrad" / "course").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.With):
                for item in node.items:
                    if "output" in ast.unparse(item.context_expr).lower():
                        found.append(f"{path.name}:{node.lineno} with {ast.unparse(item)}")
            elif isinstance(node, ast.Call) and "clear_output" in ast.unparse(node.func):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}()")
    assert not found, found


@pytest.mark.slow
def test_a_headless_run_never_has_to_write_to_the_kernel(tmp_path):
    """Run explorers and a live plot in a real kernel under nbclient (what ``jupyter nbconvert
    --execute`` uses): nbclient never has to stand in for an Output widget (the stand-in is what
    sends on the shell socket mid-cell), and the widget's stored state holds the figure as PNG
    and the printed text."""
    from nbclient import NotebookClient

    cells = [
        "%matplotlib inline\nimport ipywidgets as widgets\nimport matplotlib.pyplot as plt\n"
        "import numpy as np\nfrom minigrad.course.widgets import Explorer\n"
        "from minigrad.course.lesson05 import LivePlot",
        "def render(n):\n    print(f'n = {n}')\n    fig, ax = plt.subplots()\n"
        "    ax.plot([0, 1], [0, n])\n    return fig\n"
        "ex = Explorer({'n': widgets.IntSlider(value=3, max=9)}, lambda n: n, render)\nex",
        "ex.controls['n'].value = 5",
        "ex.controls['n'].value = 6\nex.result",
        "live = LivePlot(output=widgets.Output(), every=0)\nlive(np.array([3.0, 2.0]))\n"
        "live.finish(np.array([3.0, 2.0, 1.0]))\nlive.output",
    ]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    hooks = []

    class Client(NotebookClient):
        def register_output_hook(self, msg_id, hook):
            hooks.append(msg_id)
            super().register_output_hook(msg_id, hook)

    client = Client(nb, timeout=120, kernel_name="python3",
                    resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    assert hooks == [], f"nbclient stood in for an Output widget {len(hooks)} time(s)"
    assert nb.cells[3].outputs[0]["data"]["text/plain"] == "6"
    outputs = [s["outputs"] for s in client.widget_state.values()
               if s.get("_model_name") == "OutputModel"]
    assert len(outputs) == 2
    shown, live = outputs
    assert shown[0] == {"output_type": "stream", "name": "stdout", "text": "n = 6\n"}
    assert "image/png" in shown[1]["data"] and "image/png" in live[0]["data"]
