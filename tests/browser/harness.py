"""JupyterLab, Voila and Debian's chromium on loopback, for browser tests and benchmarks.

Never `playwright install`: the browser is /usr/bin/chromium from Debian.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from hugelab.ownfiles import Folder
from hugelab.teaching.lab import settings_dir as lab_settings_dir
from hugelab.teaching.saving import SERVER_OPTION as KEEP_RECORDED_PYTHON

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = Path(os.environ.get("HUGELAB_TEST_OUTPUT", REPO / "test-output"))
#: how long a test waits for an event (a chart drawn, a text shown) before calling it a hang: long
#: enough for a machine at load 13 on two cores (30 s was not: issue 22)
EVENT_BOUND = 180_000


def why_no_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (scripts/test.sh installs it with apt as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (python) is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"no answer from {url} within {seconds} s")


# A python3 kernel that reports another Python version: this interpreter's ipykernel, with the
# version in its kernel_info reply replaced (as Debian 12's 3.11.2 would report it, say).
OTHER_PYTHON_KERNEL = """import sys
from ipykernel.ipkernel import IPythonKernel
IPythonKernel.language_info = {**IPythonKernel.language_info, "version": sys.argv.pop(1)}
from ipykernel.kernelapp import launch_new_instance
launch_new_instance()
"""


def python3_kernelspec(folder: Path, version: str) -> Path:
    """A kernelspec named python3 (displayed as ipykernel's own) whose kernel says it is Python
    ``version``; put ``folder`` first on JUPYTER_PATH to have JupyterLab start it."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", OTHER_PYTHON_KERNEL, version, "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python", "metadata": {"debugger": True}}))
    return folder


class Lab:
    """A JupyterLab server on a copy of the notebooks, with its own config, data and settings, and
    the options `hugelab lab` gives its own (the save hook). ``python_version``: the python3 kernel
    reports that version instead of this interpreter's (a learner's other Python). ``trusted``: the copies
    signed as `hugelab lab` signs the course's, so that their saved widget state draws before any cell runs
    (untrusted, JupyterLab shows a widget output's plain text instead)."""

    def __init__(self, notebooks: Path = REPO / "notebooks", python_version: str | None = None,
                 trusted: bool = False) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="hugelab-lab-"))
        self.root = self.home / "notebooks"
        shutil.copytree(notebooks, self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        if trusted:
            import nbformat
            from nbformat.sign import NotebookNotary

            (self.home / "data").mkdir()
            notary = NotebookNotary(data_dir=str(self.home / "data"))  # the server's JUPYTER_DATA_DIR, below
            for path in sorted(self.root.glob("*.ipynb")):
                notary.sign(nbformat.read(path, as_version=4))
        settings = self.home / "settings"  # the user's settings: empty
        # The "official Jupyter news?" toast is turned off as `hugelab lab` does it (overrides).
        with Folder.open(self.home) as home:
            app_settings = lab_settings_dir(home)
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.home / "config"), JUPYTER_DATA_DIR=str(self.home / "data"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(self.home / "runtime"))
        # the kernel must find the installed kernelspec although JUPYTER_DATA_DIR moved
        other = str(python3_kernelspec(self.home / "other-python", python_version)) if python_version else None
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [other, str(Path(sys.prefix) / "share" / "jupyter"),
                                                            os.environ.get("JUPYTER_PATH")]))
        self.port, self.token = free_port(), uuid.uuid4().hex
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             f"--ServerApp.token={self.token}", "--allow-root", f"--ServerApp.root_dir={self.root}",
             f"--LabApp.app_settings_dir={app_settings}", KEEP_RECORDED_PYTHON,
             # window.jupyterapp: tests wait on the notebook model's own state, not on the clock
             "--LabApp.expose_app_in_browser=True"],
            env=env, stdout=subprocess.DEVNULL, stderr=(self.home / "server.log").open("w"), start_new_session=True)
        _wait_http(f"http://127.0.0.1:{self.port}/api/status?token={self.token}", self.proc)

    def url(self, notebook: str) -> str:
        return (f"http://127.0.0.1:{self.port}/lab/workspaces/{uuid.uuid4().hex[:8]}/tree/{notebook}"
                f"?reset&token={self.token}")

    def voila_url(self, notebook: str) -> str:
        return f"http://127.0.0.1:{self.port}/voila/render/{notebook}?token={self.token}"

    def stop(self) -> None:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/shutdown?token={self.token}",
                                         method="POST")
            urllib.request.urlopen(req, timeout=5).close()
            self.proc.wait(10)
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True)


# Every code cell has run: its input prompt reads [n], or, where the input is
# collapsed (the exercises hide theirs), its output prompt does.
ALL_EXECUTED = ("() => { const cells = [...document.querySelectorAll('.jp-Cell.jp-CodeCell')];"
                " return cells.length > 0 && cells.every(c =>"
                " [...c.querySelectorAll('.jp-InputPrompt, .jp-OutputPrompt')]"
                ".some(p => /\\[\\d+\\]/.test(p.textContent))); }")


def run_all(page, timeout_ms: int = 120_000) -> None:
    """Run > Run All Cells once the kernel is idle; wait until every code cell has run.

    If the kernel was not really ready and nothing ran, ask once more.
    """
    page.wait_for_selector(".jp-Notebook", timeout=timeout_ms)
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=timeout_ms)
    for attempt in range(2):
        page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
        page.click("li.lm-Menu-item[data-command='runmenu:run-all']")
        try:
            page.wait_for_function(ALL_EXECUTED, timeout=timeout_ms // 2 if attempt == 0 else timeout_ms)
            break
        except Exception:
            if attempt == 1:
                raise
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=timeout_ms)


# Every widget model of the notebook on show has sent the kernel everything it holds: nothing
# throttled in its buffer, no update unanswered, no echo outstanding (@jupyter-widgets/base keeps
# these as _msg_buffer, _pending_msgs and _expectedEchoMsgIds). A slider moved by keyboard sends
# its value throttled: a button clicked before this could reach the kernel first.
WIDGETS_SYNCED = """async () => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.content || !panel.content.widgets) return false;
    const managers = new Set();
    const visit = async (widget, depth) => {
        if (widget._manager && widget._manager.promise) managers.add(await widget._manager.promise);
        if (depth < 4) for (const child of (widget.widgets || [])) await visit(child, depth + 1);
    };
    for (const cell of panel.content.widgets) if (cell.outputArea) await visit(cell.outputArea, 0);
    if (managers.size === 0) return false;
    for (const manager of managers) {
        for (const pending of Object.values(manager._models || {})) {
            const model = await pending;
            if (model._pending_msgs > 0 || model._msg_buffer !== null
                    || (model._expectedEchoMsgIds && model._expectedEchoMsgIds.size > 0)) return false;
        }
    }
    return true;
}"""

# The geometry of everything drawn under a selector is the same for FRAMES animation frames in a
# row: charts have re-laid themselves out after a resize or a new history (no fixed sleep).
SETTLED = """([selector, frames]) => {
    const root = document.querySelector(selector);
    if (!root) return false;
    const boxes = [...root.querySelectorAll('svg text, svg rect, svg path, button, .widget-html, .widget-label')]
        .map(e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height].map(Math.round); });
    const signature = JSON.stringify(boxes);
    const seen = window.__hugelabSettled || (window.__hugelabSettled = {});
    const last = seen[selector];
    const frames_same = last && last.signature === signature ? last.frames + 1 : 0;
    seen[selector] = {signature, frames: frames_same};
    return frames_same >= frames;
}"""


# A bqplot figure lays itself out again 300 ms after its box changes size (a debounced ResizeObserver),
# and only while on screen: until then its axes and labels sit where the old size put them, outside its
# box (a page chart's tick "0" drawn 36 px under its figure, seen twice in a fresh clone's CI). A figure
# is laid out when its plot area is its box less its margins; the margins are hugelab's own, by class.
LAID_OUT = """([selector, margins]) => {
    const root = document.querySelector(selector);
    if (!root) return false;
    const figures = [...root.querySelectorAll('div.bqplot.figure')].filter(f => f.offsetParent !== null);
    return figures.every(f => {
        const name = Object.keys(margins).find(c => f.classList.contains(c));
        const area = f.querySelector('rect.plotarea_background');
        if (!name || !area) return false;
        const m = margins[name], box = f.getBoundingClientRect();
        const w = parseFloat(area.getAttribute('width')), h = parseFloat(area.getAttribute('height'));
        return Math.abs(box.width - m.left - m.right - w) <= 1 && Math.abs(box.height - m.top - m.bottom - h) <= 1;
    });
}"""


def figure_margins() -> dict:
    """hugelab's figures' margins by CSS class (hugelab.widgets.charts)."""
    from hugelab.widgets.charts import COUNTERS_MARGIN, MAPPING_MARGIN

    return {"hugelab-map": MAPPING_MARGIN, "hugelab-file": MAPPING_MARGIN, "hugelab-counters": COUNTERS_MARGIN}


def wait_laid_out(page, selector: str, timeout_ms: int = 120_000) -> None:
    """Every figure under ``selector`` on screen has been laid out by bqplot for the size it has now."""
    page.wait_for_function(LAID_OUT, arg=[selector, figure_margins()], polling="raf", timeout=timeout_ms)


def wait_widgets_synced(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(WIDGETS_SYNCED, timeout=timeout_ms)


def wait_settled(page, selector: str = ".jp-Notebook", frames: int = 5, timeout_ms: int = 120_000) -> None:
    page.evaluate("s => { if (window.__hugelabSettled) delete window.__hugelabSettled[s]; }", selector)
    page.wait_for_function(SETTLED, arg=[selector, frames], polling="raf", timeout=timeout_ms)
