"""Opening a notebook in JupyterLab and letting it save changes no byte of it (so a course
taken in a clone leaves `git status` clean), and no news toast covers the first notebook.

Each notebook is opened in a copy, the kernel starts (JupyterLab then writes the kernel's
kernelspec and language_info into the notebook), and the notebook is saved with Ctrl+S, which
writes it even when autosave would not; the bytes on disk must be the committed bytes.

One field depends on the machine, not on the notebook: language_info.version, the kernel's
Python version, which JupyterLab records whenever a kernel starts. Where this Python differs
from the one the notebooks were executed with, the copy gets this Python's version in that one
line first (and says so); every other byte must still be the committed one.
"""

import json
import platform
import re
import time

import pytest

from harness import REPO, Lab

pytestmark = pytest.mark.browser
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
VERSION = platform.python_version()  # the kernel runs this very interpreter (jupyter_client's python3)


def with_this_python(text: str) -> str:
    recorded = json.loads(text)["metadata"].get("language_info", {}).get("version")
    if recorded in (None, VERSION):
        return text
    start = text.index('  "language_info": {')
    pattern = re.compile(r'("version": )"' + re.escape(recorded) + '"')
    head, tail = text[:start], text[start:]
    tail, n = pattern.subn(rf'\1"{VERSION}"', tail, count=1)
    assert n == 1
    return head + tail


@pytest.fixture(scope="module")
def lab():
    server = Lab()
    for name in NOTEBOOKS:
        path = server.root / name
        path.write_text(with_this_python(path.read_text(encoding="utf-8")), encoding="utf-8")
    yield server
    server.stop()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_opening_and_saving_a_notebook_changes_no_byte(lab, page, name):
    path = lab.root / name
    committed = path.read_bytes()
    before = path.stat().st_mtime_ns
    page.goto(lab.url(name))
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=90_000)
    page.wait_for_timeout(1000)  # the kernel's info has reached the notebook's metadata
    assert page.get_by_text(re.compile("official Jupyter news")).count() == 0
    assert page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() == 0, "JupyterLab changed it on opening"
    page.locator(".jp-Notebook").first.click()
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 20
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.stat().st_mtime_ns != before, "JupyterLab did not save"
    time.sleep(0.3)  # the write is complete
    saved = path.read_bytes()
    assert saved == committed, f"{name}: JupyterLab's save changed it: run scripts/execute-notebooks.sh"
