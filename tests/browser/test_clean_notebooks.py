"""Opening a notebook in JupyterLab and letting it save changes no byte of it (so a course
taken in a clone leaves `git status` clean), with this Python and with another one, and no news
toast covers the first notebook.

Each notebook is opened in a copy, the kernel starts (JupyterLab then writes the kernel's
kernelspec and language_info into the notebook), and the notebook is saved with Ctrl+S, which
writes it even when autosave would not; the bytes on disk must be the committed bytes.

language_info.version is the kernel's Python version, which JupyterLab writes whenever a kernel
starts. The copies are the committed bytes, untouched: a second server runs a python3 kernel that
reports another version (as Debian 12's 3.11.2 did against the committed 3.11.7), and its save
must change no byte either (hugelab.teaching.saving keeps the recorded version, as `hugelab lab`
does). Every wait is on an event: the kernel's info reply, the server's answer to the save.
"""

import json
import re

import pytest

from harness import REPO, Lab

pytestmark = pytest.mark.browser
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
RECORDED = {json.loads((REPO / "notebooks" / n).read_text(encoding="utf-8"))["metadata"]
            .get("language_info", {}).get("version") for n in NOTEBOOKS} - {None}
#: a Python the notebooks were not executed with (Debian 12's, unless that is the one)
OTHER = "3.11.2" if "3.11.2" not in RECORDED else "3.12.1"

# Resolves, once the notebook's kernel has answered kernel_info and JupyterLab has written that
# answer's language_info into the notebook, to that version and whether the notebook is dirty.
KERNEL_INFO_APPLIED = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await panel.context.ready;
    await panel.sessionContext.ready;
    const info = await panel.sessionContext.session.kernel.info;
    // JupyterLab's own handler of this same promise ran first (it subscribed when the kernel started)
    await new Promise(resolve => setTimeout(resolve, 0));
    const written = panel.context.model.getMetadata('language_info');
    return {kernel: info.language_info.version, written: written && written.version,
            dirty: panel.context.model.dirty};
}"""


@pytest.fixture(scope="module", params=["this Python", OTHER])
def lab(request):
    server = Lab(python_version=None if request.param == "this Python" else request.param)
    server.kernel_version = request.param
    yield server
    server.stop()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_opening_and_saving_a_notebook_changes_no_byte(lab, page, name):
    path = lab.root / name
    committed = (REPO / "notebooks" / name).read_bytes()
    assert path.read_bytes() == committed  # the copy is untouched: the test sees what a learner's clone holds
    page.goto(lab.url(name))
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=120_000)
    state = page.evaluate(KERNEL_INFO_APPLIED)
    if lab.kernel_version != "this Python":
        assert state["kernel"] == lab.kernel_version  # the other Python's kernel did start
    assert state["written"] == state["kernel"]  # JupyterLab has written the kernel's version into the notebook
    recorded = json.loads(committed)["metadata"].get("language_info", {}).get("version")
    if state["kernel"] == recorded:
        assert not state["dirty"], "JupyterLab changed it on opening"
    assert page.get_by_text(re.compile("official Jupyter news")).count() == 0
    page.locator(".jp-Notebook").first.click()
    with page.expect_response(lambda r: r.request.method == "PUT" and f"/api/contents/{name}" in r.url,
                              timeout=120_000) as saved:
        page.keyboard.press("Control+s")
    assert saved.value.ok, f"the save answered {saved.value.status}"
    # jupyter_server answers once it has written the file and removed its backup (.~NAME)
    assert not (lab.root / f".~{name}").exists()
    assert path.read_bytes() == committed, (
        f"{name}: JupyterLab's save with a kernel on Python {state['kernel']} changed it (recorded {recorded}): "
        "run scripts/execute-notebooks.sh, or see hugelab/teaching/saving.py")
