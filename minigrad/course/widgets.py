"""The explorer pattern every lesson's widgets use.

An explorer is a few ipywidgets controls wired to a plain, tested function: on every change
(or on a button press, for anything slow) it calls ``compute(**control values)``, keeps the
return value in ``.result`` and draws it with ``render(result)`` into an Output widget. Tests
build explorers headless, set ``explorer.controls[name].value`` and read ``explorer.result``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Explorer"]


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
        from IPython.display import clear_output, display

        self.result = self._compute(**self.values())
        if self._render is None:
            return self.result
        import matplotlib.pyplot as plt

        with self.output:
            clear_output(wait=True)
            shown = self._render(self.result)
            for item in shown if isinstance(shown, (list, tuple)) else [shown]:
                if item is None:
                    continue
                display(item)
                if hasattr(item, "savefig"):
                    plt.close(item)
        return self.result

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
