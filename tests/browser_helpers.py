"""Drive JupyterLab in headless Chromium for tests/test_browser.py.

* :class:`LabServer` starts ``jupyter lab`` on 127.0.0.1 (a free port, no token, every Jupyter,
  IPython and matplotlib directory in a temporary folder, autosave off so no notebook on disk
  is ever rewritten) and stops it with everything it started, kernels included.
* :func:`check_notebook` opens one notebook in a browser page, waits for its kernel to be
  connected and idle, runs all cells, and returns a :class:`NotebookReport` listing every
  problem found: error outputs, tracebacks on stderr, widgets that did not render, explorers
  whose output does not change when one of their controls moves.
* :func:`expected_widget_cells` reads from the notebook JSON which cells must show widgets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

# Flags that keep headless Chromium off the network and quiet (COURSE_NOTES.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--mute-audio",
]

# A cell whose source calls one of these builds an explorer: it must render at least one
# control, and moving one must change its output. `def make_x_explorer(` does not count.
EXPLORER_CALL = re.compile(
    r"^(?!\s*def\s).*(?:\b\w*explorer\w*|\binteract(?:_manual)?|\binteractive(?:_output)?)\s*\(",
    re.MULTILINE,
)

# JupyterLab settings written into the temporary settings directory.
LAB_SETTINGS = {
    # Never write a notebook back to disk: the browser runs the repository's own files.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # Keep every cell in the DOM so widgets far down the notebook render and can be found.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # No news or update pop-ups (no network, and they would cover the screenshot).
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}

# Server configuration (in the temporary JUPYTER_CONFIG_DIR): a contents manager that refuses
# to write, so no notebook of the repository can be changed by the browser, whatever it does.
SERVER_CONFIG = """\
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web


class ReadOnlyContentsManager(AsyncLargeFileManager):
    async def save(self, model, path=""):
        raise web.HTTPError(403, f"the browser test does not write files ({path})")

    async def delete_file(self, path):
        raise web.HTTPError(403, f"the browser test does not delete files ({path})")

    async def rename_file(self, old_path, new_path):
        raise web.HTTPError(403, f"the browser test does not rename files ({old_path})")


c.ServerApp.contents_manager_class = ReadOnlyContentsManager
"""


# --------------------------------------------------------------------------------------------
# What is installed


def find_chromium() -> str | None:
    """Path of the Chromium binary: $MINIGRAD_CHROMIUM, else chromium on PATH, else None."""
    explicit = os.environ.get("MINIGRAD_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def missing_browser_reason() -> str | None:
    """Why the browser test cannot run here, or None when Chromium and Playwright are there."""
    reasons = []
    if find_chromium() is None:
        reasons.append(
            "Chromium is not installed (Debian: `apt-get install -y chromium`; "
            "or set MINIGRAD_CHROMIUM to its path)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("Playwright for Python is not installed (`pip install playwright`)")
    return "; ".join(reasons) or None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


# --------------------------------------------------------------------------------------------
# The JupyterLab server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Linux /proc; [] elsewhere). Kernels run in their own
    session, so killing the server's process group does not reach them."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class LabServer:
    """``jupyter lab`` serving ``root_dir``, with all its state under ``tmp_dir``.

    Use as a context manager, or call :meth:`start` and then :meth:`stop` in a ``finally``.
    """

    def __init__(self, root_dir: Path, tmp_dir: Path, startup_timeout: float = 120.0):
        self.root_dir = Path(root_dir).resolve()
        self.tmp_dir = Path(tmp_dir)
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path = self.tmp_dir / "jupyter-lab.log"

    # -- setup
    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        dirs = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "settings",
            "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
            "IPYTHONDIR": "ipython",
            "MPLCONFIGDIR": "matplotlib",
        }
        for var, name in dirs.items():
            path = self.tmp_dir / name
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        env.pop("JUPYTER_TOKEN", None)
        return env

    def _write_settings(self) -> None:
        (self.tmp_dir / "config" / "jupyter_server_config.py").write_text(SERVER_CONFIG)
        for plugin, values in LAB_SETTINGS.items():
            path = self.tmp_dir / "settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def _command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--PasswordIdentityProvider.hashed_password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={self.tmp_dir / 'settings'}",
            f"--LabApp.workspaces_dir={self.tmp_dir / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.news_url=",
            # checkpoints (written when a notebook opens) go to the temporary folder too
            f"--FileCheckpoints.checkpoint_dir={self.tmp_dir / 'checkpoints'}",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    # -- lifecycle
    def start(self) -> LabServer:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        self._write_settings()
        last_error = None
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self._command(),
                    cwd=self.root_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                self._wait_ready()
                return self
            except RuntimeError as exc:
                last_error = exc
                self.stop()
                if "address already in use" not in self.log_tail().lower():
                    break
        raise last_error

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with status {self.proc.returncode} while starting; "
                    f"log tail:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(
            f"jupyter lab did not answer on port {self.port} within {self.startup_timeout:.0f} s; "
            f"log tail:\n{self.log_tail()}"
        )

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def notebook_url(self, relpath: str, workspace: str) -> str:
        """Open ``relpath`` in its own fresh workspace (``?reset`` drops any saved layout)."""
        ws = re.sub(r"[^A-Za-z0-9_-]", "-", workspace)
        return self.url(f"lab/workspaces/{ws}/tree/{quote(relpath)}?reset")

    def api(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url(path), data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every session and kernel (one notebook's kernel must not outlive it)."""
        try:
            for session in self.api("GET", "api/sessions"):
                self.api("DELETE", f"api/sessions/{session['id']}")
            for kernel in self.api("GET", "api/kernels"):
                self.api("DELETE", f"api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError, ValueError):
            pass

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the server, its kernels and anything else it started; safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            self.shutdown_kernels()
        family = _descendants(proc.pid)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = []
            for pid in [proc.pid, *family]:
                try:
                    os.kill(pid, sig)
                    alive.append(pid)
                except (ProcessLookupError, PermissionError):
                    pass
            if not alive:
                break
            time.sleep(1.0)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait(timeout=15)

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# What the notebook JSON says


def _has_widget_output(cell: dict) -> bool:
    return any(WIDGET_VIEW_MIME in out.get("data", {}) for out in cell.get("outputs", []))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


@dataclass
class WidgetExpectations:
    """Indices (in the notebook's cell list) of cells that must show widgets / explorers."""

    widget_cells: list[int]
    explorer_cells: list[int]
    source: str  # where the expectation came from, for messages


def expected_widget_cells(notebook: Path, twin: Path | None = None) -> WidgetExpectations:
    """Which cells of ``notebook`` must render widgets, and which of those are explorers.

    A course notebook has no outputs; its executed twin in solutions/ (same cell ids) shows
    which cells displayed widgets there. Without a usable twin, and always for explorers, the
    source decides: a cell that calls ``make_..._explorer(...)``, ``interact(...)``,
    ``interactive(...)`` or ``interactive_output(...)``.
    """
    cells = json.loads(Path(notebook).read_text())["cells"]
    widget: set[int] = set()
    how = "the source of the cells"
    twin_cells = None
    if twin is not None and Path(twin).exists():
        twin_cells = json.loads(Path(twin).read_text())["cells"]
        if not any(c.get("outputs") for c in twin_cells):
            twin_cells = None  # not executed: it says nothing
    if twin_cells is not None:
        how = f"the executed outputs of {Path(twin).parent.name}/{Path(twin).name}"
        by_id = {c.get("id"): c for c in twin_cells if c.get("id")}
        for i, cell in enumerate(cells):
            other = by_id.get(cell.get("id"))
            if other is None and i < len(twin_cells):
                other = twin_cells[i]
            if other is not None and _has_widget_output(other):
                widget.add(i)
    explorers = set()
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        if _has_widget_output(cell):
            widget.add(i)
        if EXPLORER_CALL.search(_source(cell)) and (twin_cells is None or i in widget):
            explorers.add(i)
            widget.add(i)
    return WidgetExpectations(sorted(widget), sorted(explorers), how)


# --------------------------------------------------------------------------------------------
# The browser side

# Find the notebook panel showing PATH, whichever tab is active.
_PANEL_JS = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.context && w.context.path === path && w.content && w.content.widgets) return w;
  }
  return null;
};
"""

_KERNEL_READY_JS = (
    "(path) => {"
    + _PANEL_JS
    + """
  const panel = findPanel(path);
  if (!panel || !panel.context.isReady || !panel.sessionContext.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""
)

_STATE_JS = (
    "(path) => {"
    + _PANEL_JS
    + """
  const panel = findPanel(path);
  if (!panel) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.map((cell, i) => {
    cell.node.setAttribute('data-mg-cell', String(i));
    const model = cell.model;
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    return {
      type: model.type,
      count: model.type === 'code' ? model.executionCount : null,
      running: !!prompt && prompt.textContent.includes('*'),
    };
  });
  return {
    kernel: kernel ? kernel.status : 'none',
    connection: kernel ? kernel.connectionStatus : 'none',
    cells,
  };
}"""
)

_RUN_ALL_JS = (
    "async (path) => {"
    + _PANEL_JS
    + """
  const app = window.jupyterapp;
  const panel = findPanel(path);
  app.shell.activateById(panel.id);
  await app.commands.execute('notebook:run-all-cells');
}"""
)

_NOTEBOOK_JSON_JS = (
    "(path) => {"
    + _PANEL_JS
    + """
  return findPanel(path).model.toJSON();
}"""
)

# Text and images of the explorer's Output widgets (or of the whole output area, without the
# controls' own readouts, when it has no Output widget).
_SNAPSHOT_JS = """
(area) => {
  const parts = [];
  let roots = Array.from(area.querySelectorAll('.widget-output'));
  if (roots.length === 0) roots = [area];
  for (const root of roots) {
    const clone = root.cloneNode(true);
    clone.querySelectorAll('.widget-readout, input, select, button').forEach((n) => n.remove());
    parts.push(clone.innerText);
    root.querySelectorAll('img').forEach((img) => parts.push('img:' + img.src));
    root.querySelectorAll('svg').forEach((svg) => parts.push('svg:' + svg.outerHTML));
  }
  return parts.join('\\n');
}
"""

_CONTROLS = {
    "slider": ".widget-slider .noUi-handle, .widget-slider input[type=range]",
    "dropdown": ".widget-dropdown select",
    "toggle": ".widget-toggle-buttons button:not(.mod-active)",
    "radio": ".widget-radio-box input:not(:checked)",
    "checkbox": ".widget-checkbox input[type=checkbox]",
    "button": "button.widget-button, button.jupyter-button:not(.widget-toggle-button)",
}
_ANY_WIDGET = ".jupyter-widgets, [class*='widget-']"


@dataclass
class NotebookReport:
    """What :func:`check_notebook` found; ``problems`` is empty when the notebook is fine."""

    path: str
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    widget_views: int = 0
    explorers_checked: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    console: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"{self.path}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems]
        if self.screenshot:
            lines.append(f"  screenshot: {self.screenshot}")
        errors = [c for c in self.console if c.startswith(("error", "pageerror"))]
        if errors:
            lines.append("  browser console errors (last 10):")
            lines += [f"    {c[:300]}" for c in errors[-10:]]
        return "\n".join(lines)


def _cell_label(cells: list[dict], i: int) -> str:
    cell = cells[i]
    first = next((ln for ln in _source(cell).splitlines() if ln.strip()), "").strip()
    cid = f", id {cell['id']}" if cell.get("id") else ""
    return f"cell {i + 1}{cid} `{first[:70]}`"


def _wait(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def check_notebook(
    page,
    server: LabServer,
    relpath: str,
    expect: WidgetExpectations,
    screenshot: Path | None = None,
    run_timeout: float = 240.0,
    response_timeout: float = 60.0,
) -> NotebookReport:
    """Open ``relpath`` (relative to the server root), run all cells and check what renders.

    Never raises for a problem in the notebook: every problem found goes into the report.
    Raises only when the page cannot be driven at all (JupyterLab never loads).
    """
    report = NotebookReport(relpath)
    page.on("console", lambda m: report.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: report.console.append(f"pageerror: {e}"))
    t0 = time.monotonic()
    try:
        finished = _open_and_run(page, server, relpath, report, run_timeout)
        report.timings["run"] = time.monotonic() - t0
        if finished is not None:  # the notebook opened: report errors even after a timeout
            cells = page.evaluate(_NOTEBOOK_JSON_JS, relpath)["cells"]
            _check_outputs(cells, report)
        if finished:
            # After an error, run-all stops: judge widgets only in the cells that ran.
            ran = {i for i, c in enumerate(cells) if c.get("execution_count") is not None}
            expect = WidgetExpectations(
                [i for i in expect.widget_cells if i in ran],
                [i for i in expect.explorer_cells if i in ran],
                expect.source,
            )
            _check_widgets(page, cells, expect, report)
            t1 = time.monotonic()
            _check_explorers(page, relpath, cells, expect, report, response_timeout)
            report.timings["explorers"] = time.monotonic() - t1
    finally:
        if screenshot is not None:
            try:
                _take_screenshot(page, expect, screenshot)
                report.screenshot = screenshot
            except Exception as exc:  # a screenshot must not hide the real failure
                report.console.append(f"error: screenshot failed: {exc}")
        report.timings["total"] = time.monotonic() - t0
    return report


def _open_and_run(page, server, relpath, report, run_timeout) -> bool | None:
    """True when all cells ran (or run-all stopped at an error), False when they did not
    finish, None when the notebook's kernel never became ready."""
    t0 = time.monotonic()
    page.goto(server.notebook_url(relpath, f"mg-{relpath}"), wait_until="domcontentloaded")
    page.wait_for_function("() => !!window.jupyterapp", timeout=90_000)
    page.evaluate("async () => { await jupyterapp.started; await jupyterapp.restored; }")
    # The toolbar says "idle" before any kernel exists; cells run before the kernel is really
    # connected and idle get lost (COURSE_NOTES.md), so wait for the kernel itself.
    def kernel_ready():
        # A notebook without a kernelspec asks for one: take the default.
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count() and "Select Kernel" in page.locator(".jp-Dialog").inner_text():
            dialog.first.click()
        return page.evaluate(_KERNEL_READY_JS, relpath)

    if not _wait(kernel_ready, timeout=120.0):
        report.problems.append(
            f"the kernel of {relpath} never became connected and idle within 120 s; "
            f"state: {page.evaluate(_STATE_JS, relpath)}"
        )
        return None
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    report.timings["kernel_ready"] = time.monotonic() - t0

    code = [i for i, c in enumerate(page.evaluate(_STATE_JS, relpath)["cells"])
            if c["type"] == "code"]  # fmt: skip
    if not code:
        return True

    def started():
        state = page.evaluate(_STATE_JS, relpath)
        return state["kernel"] == "busy" or any(
            c["running"] or c["count"] is not None for c in state["cells"]
        )

    # Run all; if nothing has started after a while, the request was lost: ask again.
    for attempt in range(3):
        page.evaluate(_RUN_ALL_JS, relpath)
        if _wait(started, timeout=15.0 * (attempt + 1)):
            break
    else:
        report.problems.append(f"{relpath}: 'run all cells' never started executing (3 tries)")
        return False

    stable_since = None
    deadline = time.monotonic() + run_timeout
    while time.monotonic() < deadline:
        state = page.evaluate(_STATE_JS, relpath)
        cells = state["cells"]
        running = [i for i in code if cells[i]["running"]]
        done = all(cells[i]["count"] is not None for i in code)
        idle = state["kernel"] == "idle" and not running
        # A cell that raises stops run-all: the rest stay unexecuted; the outputs say why.
        if idle and (done or _any_error_output(page, relpath)):
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since >= 1.0:
                return True
        else:
            stable_since = None
        time.sleep(0.3)
    state = page.evaluate(_STATE_JS, relpath)
    waiting = [i + 1 for i in code if state["cells"][i]["count"] is None]
    report.problems.append(
        f"{relpath}: cells did not finish within {run_timeout:.0f} s "
        f"(kernel {state['kernel']}; cells still running or not run: {waiting})"
    )
    return False


def _any_error_output(page, relpath) -> bool:
    cells = page.evaluate(_NOTEBOOK_JSON_JS, relpath)["cells"]
    return any(o.get("output_type") == "error" for c in cells for o in c.get("outputs", []))


def _check_outputs(cells: list[dict], report: NotebookReport) -> None:
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                report.problems.append(
                    f"{_cell_label(cells, i)} raised {out.get('ename')}: {out.get('evalue')}"
                )
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                if "Traceback" in text:
                    report.problems.append(
                        f"{_cell_label(cells, i)} printed a traceback on stderr:\n{text[-1500:]}"
                    )


def _output_area(page, i: int):
    return page.locator(f'[data-mg-cell="{i}"] .jp-Cell-outputArea').first


def _check_widgets(page, cells, expect: WidgetExpectations, report: NotebookReport) -> None:
    # Widget views render asynchronously after the kernel is idle: give them time.
    def rendered(i):
        return _output_area(page, i).locator(_ANY_WIDGET).count() > 0

    def loading():
        return page.locator(".jp-Notebook").get_by_text("Loading widget...").count()

    # Done when every expected cell shows a widget, or when nothing has changed for 3 s
    # (a cell that shows nothing by then will not: its kernel is idle).
    last, since, deadline = None, time.monotonic(), time.monotonic() + 30.0
    while time.monotonic() < deadline:
        now = ([i for i in expect.widget_cells if rendered(i)], loading())
        if len(now[0]) == len(expect.widget_cells) and not now[1]:
            break
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 3.0:
            break
        time.sleep(0.25)
    for i in expect.widget_cells:
        if not rendered(i):
            text = _output_area(page, i).inner_text()[:300] if _output_area(page, i).count() else ""
            report.problems.append(
                f"{_cell_label(cells, i)} should show a widget (according to {expect.source}) but "
                f"rendered none; its output: {text!r}"
            )
    notebook = page.locator(".jp-Notebook")
    for bad in ("Error displaying widget", "Loading widget...", "Failed to load model class"):
        n = notebook.get_by_text(bad).count()
        if n:
            report.problems.append(f"{n} widget view(s) show {bad!r}")
    views = page.locator(".jp-Notebook .jp-OutputArea-output .jupyter-widgets")
    report.widget_views = views.count()
    if expect.widget_cells and report.widget_views == 0:
        report.problems.append("the notebook has widget cells but no widget view rendered")


def _kernel_status(page, relpath) -> str:
    state = page.evaluate(_STATE_JS, relpath)
    return state["kernel"] if state else "none"


def _check_explorers(page, relpath, cells, expect, report, response_timeout) -> None:
    # An explorer is any cell whose rendered output has a control, plus every cell whose
    # source builds one (which must then have a control).
    with_controls = page.evaluate(
        """(selector) => Array.from(document.querySelectorAll('[data-mg-cell]'))
            .filter((cell) => {
              const area = cell.querySelector('.jp-Cell-outputArea');
              return !!area && !!area.querySelector(selector);
            })
            .map((cell) => Number(cell.getAttribute('data-mg-cell')))""",
        ", ".join(_CONTROLS.values()),
    )
    for i in expect.explorer_cells:
        if i not in with_controls and not any(f"{_cell_label(cells, i)} should" in p
                                              for p in report.problems):  # fmt: skip
            report.problems.append(
                f"{_cell_label(cells, i)} builds an explorer but shows no control "
                "(slider, dropdown, toggle, radio, checkbox or button)"
            )
    for i in with_controls:
        outcome = _move_one_control(page, relpath, i, response_timeout)
        label = _cell_label(cells, i)
        if outcome.startswith("changed"):
            report.explorers_checked.append(f"{label}: {outcome}")
        else:
            report.problems.append(f"{label}: explorer output did not change: {outcome}")


def _move_one_control(page, relpath, i, response_timeout) -> str:
    area = _output_area(page, i)
    tried = []
    for kind, selector in _CONTROLS.items():
        control = area.locator(selector).first
        if not control.count():
            continue
        before = area.evaluate(_SNAPSHOT_JS)
        for how in _actions(kind):
            tried.append(f"{kind} {how}")
            t_action = time.monotonic()
            _act(control, kind, how)
            after = _await_change(page, relpath, area, before, t_action, response_timeout)
            if after is None:
                continue
            # A first difference may be a cleared output about to be redrawn: let the kernel
            # finish, then judge the final state.
            _await_idle(page, relpath, response_timeout)
            final = area.evaluate(_SNAPSHOT_JS)
            seconds = time.monotonic() - t_action
            if final != before and final.strip():
                return f"changed after {kind} {how} ({seconds:.1f} s)"
            tried[-1] += " (output emptied)" if not final.strip() else " (changed back)"
    return "tried " + ", ".join(tried) if tried else "no control found"


def _await_idle(page, relpath, timeout: float, settle: float = 1.0) -> None:
    idle_since, deadline = None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _kernel_status(page, relpath) == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle:
                return
        else:
            idle_since = None
        time.sleep(0.2)


def _actions(kind: str) -> list[str]:
    return ["End", "Home"] if kind == "slider" else ["change"]


def _act(control, kind: str, how: str) -> None:
    if kind == "slider":
        control.focus()
        control.press(how)
    elif kind == "dropdown":
        options = control.evaluate("(s) => Array.from(s.options).map((o) => o.value)")
        current = control.evaluate("(s) => s.value")
        other = next((o for o in options if o != current), None)
        if other is not None:
            control.select_option(other)
    else:
        control.click()


def _await_change(page, relpath, area, before, t_action, timeout):
    """The new snapshot once it differs from ``before``, or None when the kernel has settled
    (idle for 1.5 s, at least 2 s after the action) without a change, or on timeout."""
    idle_since = None
    while time.monotonic() - t_action < timeout:
        now = area.evaluate(_SNAPSHOT_JS)
        if now != before:
            return now
        if _kernel_status(page, relpath) == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= 1.5 and time.monotonic() - t_action >= 2.0:
                return None
        else:
            idle_since = None
        time.sleep(0.2)
    return None


def press_slider_and_click(page, relpath: str, button_text: str, key: str = "Home",
                           done_text: str | None = None, timeout: float = 120.0):
    """In the cell whose output has a button labelled ``button_text`` (a panel that does slow
    work on a button, which the generic explorer check leaves alone): press ``key`` on its
    slider (Home: the smallest value), click the button, and wait until the kernel is idle and
    the cell's output has changed and shows ``done_text``. Returns ``(ok, message)``; not ok
    when no such cell exists, the output did not change in ``timeout`` seconds, lacks
    ``done_text``, or shows a traceback."""
    cells = page.evaluate(
        """(text) => Array.from(document.querySelectorAll('[data-mg-cell]'))
            .filter((cell) => Array.from(cell.querySelectorAll('.jp-Cell-outputArea button'))
                .some((b) => b.textContent.trim() === text))
            .map((cell) => Number(cell.getAttribute('data-mg-cell')))""",
        button_text,
    )
    if not cells:
        return False, f"{relpath}: no cell shows a button {button_text!r}"
    i = cells[0]
    area = _output_area(page, i)
    slider = area.locator(_CONTROLS["slider"]).first
    if slider.count():
        slider.focus()
        slider.press(key)
        _await_idle(page, relpath, 30.0)
    before = area.evaluate(_SNAPSHOT_JS)
    t0 = time.monotonic()
    area.locator("button", has_text=button_text).first.click()
    snapshot, idle_since = before, None
    while time.monotonic() - t0 < timeout:
        snapshot = area.evaluate(_SNAPSHOT_JS)
        settled = snapshot != before and (done_text is None or done_text in snapshot)
        if settled and _kernel_status(page, relpath) == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= 1.0:
                break
        else:
            idle_since = None
        time.sleep(0.3)
    seconds = time.monotonic() - t0
    what = f"cell {i + 1}: slider {key}, then {button_text!r}"
    if "Traceback" in snapshot:
        return False, f"{what}: the output shows a traceback:\n{snapshot[-1500:]}"
    if snapshot == before or (done_text is not None and done_text not in snapshot):
        return False, (f"{what}: the output did not change to show {done_text!r} within "
                       f"{timeout:.0f} s; it shows:\n{snapshot[-1500:]}")
    return True, f"{what}: done after {seconds:.1f} s"


def answer_quiz(page, relpath: str, choice: str, expect: str, timeout: float = 30.0):
    """In the end-of-lesson quiz (minigrad/course/quiz.py), pick the radio button labelled
    ``choice`` (its text, without the letter), click that question's Check button, and wait
    until the question's feedback shows ``expect``. Returns ``(ok, message)``."""
    box = page.locator(".mg-quiz-question", has=page.locator("label", has_text=choice)).first
    if not box.count():
        return False, f"{relpath}: no quiz question offers {choice!r}"
    box.scroll_into_view_if_needed()
    box.locator("label", has_text=choice).first.click()
    _await_idle(page, relpath, timeout)
    t0 = time.monotonic()
    box.locator("button", has_text="Check").first.click()
    text = ""
    while time.monotonic() - t0 < timeout:
        text = box.inner_text()
        if expect in text:
            return True, (f"quiz: picked {choice!r}, clicked Check: the feedback says "
                          f"{expect!r} ({time.monotonic() - t0:.1f} s)")
        time.sleep(0.2)
    return False, (f"{relpath}: after picking {choice!r} and clicking Check, the question "
                   f"did not show {expect!r} within {timeout:.0f} s; it shows:\n{text[-800:]}")


def _take_screenshot(page, expect: WidgetExpectations, path: Path) -> None:
    """Screenshot with the first widget cell (else the top of the notebook) in view."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = expect.widget_cells[0] if expect.widget_cells else 0
    page.evaluate(
        "(i) => { const n = document.querySelector(`[data-mg-cell=\"${i}\"]`);"
        " if (n) n.scrollIntoView({block: 'start'}); }",
        target,
    )
    page.wait_for_timeout(500)
    tmp = path.with_name(path.name + ".tmp.png")
    page.screenshot(path=str(tmp))
    os.replace(tmp, path)
