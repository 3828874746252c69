"""The explorer pattern every lesson's widgets use.

An explorer is a few ipywidgets controls wired to a plain, tested function: on every change
(or on a button press, for anything slow) it calls ``compute(**control values)``, keeps the
return value in ``.result`` and draws it with ``render(result)`` into an Output widget. Tests
build explorers headless, set ``explorer.controls[name].value`` and read ``explorer.result``.

What an Output widget shows is set from the kernel with :func:`show_in` (its ``outputs``
trait), never captured with ``with output:`` and ``clear_output``. Captured output makes a
headless runner that stands in for the browser (nbclient, behind ``jupyter nbconvert
--execute``) send the widget's new state to the kernel on the shell socket while it waits on
that same socket for the cell's reply. jupyter_client sends through a blocking shadow of the
asyncio socket, which can swallow the wake-up for the reply: the reply then sits unread and the
run waits forever on an idle kernel (jupyter/nbclient#312). Lesson 07 hung that way in 2 of 30
headless runs; a notebook of 200 captured displays stalled on 10 cells.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

__all__ = ["Explorer", "show_in"]


def show_in(output, *items) -> None:
    """Make the ipywidgets Output ``output`` show ``items``, in order, and nothing else.

    A string is shown as printed text; anything else as ``display(item)`` would show it (a
    matplotlib figure as a PNG, which is then closed). ``show_in(output)`` empties it. Without a
    running IPython (a script, a test) items are kept as their ``repr``.
    """
    from IPython import get_ipython

    shell = get_ipython()
    outputs = []
    for item in items:
        if item is None or (isinstance(item, str) and not item):
            continue
        if isinstance(item, str):
            outputs.append({"output_type": "stream", "name": "stdout", "text": item})
            continue
        if shell is not None:
            data, metadata = shell.display_formatter.format(item)
        else:
            data, metadata = {"text/plain": repr(item)}, {}
        outputs.append({"output_type": "display_data", "data": data, "metadata": metadata})
        if hasattr(item, "savefig"):
            import matplotlib.pyplot as plt

            plt.close(item)
    output.outputs = tuple(outputs)


class Explorer:
    """An ipywidgets explorer: ``controls`` (name -> widget), ``output``, ``result``.

    ``update()`` recomputes ``result`` with ``compute(**values)`` (a plain, tested function)
    and redraws with ``render(result)`` into the Output widget; it runs once at construction
    and on every change of a control. Display it as the last expression of a cell.
    """

    def __init__(self, controls: dict, compute: Callable, render: Callable | None = None,
                 button: str | None = None, title: str | None = None):
        import ipywidgets as widgets

        self.controls = dict(controls)
        self.output = widgets.Output()
        self.result = None
        self._compute, self._render = compute, render
        self.button = None
        rows = [widgets.HTML(f"<b>{title}</b>")] if title else []
        rows += list(self.controls.values())
        if button:
            self.button = widgets.Button(description=button, button_style="primary")
            self.button.on_click(lambda _: self.update())
            rows.append(self.button)
        else:
            for w in self.controls.values():
                w.observe(lambda _change: self.update(), names="value")
        self.widget = widgets.VBox([*rows, self.output])
        self.update()

    def values(self) -> dict:
        return {k: w.value for k, w in self.controls.items()}

    def update(self):
        """Recompute and redraw. What ``render`` prints is shown above what it returns (a
        figure, or a list of things to show); without a running IPython it is printed too."""
        from IPython import get_ipython

        self.result = self._compute(**self.values())
        if self._render is None:
            return self.result
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            shown = self._render(self.result)
        text = printed.getvalue()
        if text and get_ipython() is None:
            print(text, end="")
        show_in(self.output, text, *(shown if isinstance(shown, (list, tuple)) else [shown]))
        return self.result

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
