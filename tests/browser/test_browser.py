"""JupyterLab and Voila in Debian's chromium: what a learner sees the first time.

Screenshots go to test-output/ (HUGELAB_TEST_OUTPUT).
"""

import json
import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from harness import EVENT_BOUND, REPO, free_port, run_all, wait_settled

pytestmark = pytest.mark.browser
FIGURES = pytest.importorskip("hugelab.widgets.controls").FIGURES
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def code_cells(name):
    nb = json.loads((REPO / "notebooks" / name).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def widgets_saved(name, kind):
    """How many widgets of ``kind`` the executed notebook shows (one cell may display several): its
    repr, or, for one whose state is not saved (it needs a kernel), "Predict: run this cell..."."""
    nb = json.loads((REPO / "notebooks" / name).read_text())
    return sum("".join(o.get("data", {}).get("text/plain", "")).startswith((f"{kind}(", f"{kind}: "))
               for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


def screenshot_outputs(page, shots, stem):
    """A screenshot of the top, then of every widget output, scrolled into view."""
    page.screenshot(path=str(shots / f"{stem}-0.png"))
    views = page.locator(".jp-OutputArea-output .widget-vbox.widget-container")
    for i in range(views.count()):
        if not views.nth(i).is_visible():  # an explorer keeps unused mapping charts hidden
            continue
        views.nth(i).scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{stem}-{i + 1}.png"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_runs_all_cells_and_draws_every_widget(lab, page, shots, name):
    page.goto(lab.url(name))
    run_all(page)
    sources = code_cells(name)
    explorers = sum(s.count("SplitExplorer(") for s in sources)
    predicts = widgets_saved(name, "Predict")
    assert predicts >= sum(s.count("Predict(") for s in sources)
    if any("SelfTest(" in s for s in sources):  # the self-test: a check button per question, one shown at a time
        from hugelab.teaching import lessons
        predicts += len(lessons.self_test())
    # the last widgets have rendered: every question's check button, every explorer's charts
    expect(page.locator("button.widget-button:text-is('check')")).to_have_count(predicts, timeout=EVENT_BOUND)
    figures = page.locator("div.bqplot.figure")
    expect(figures).to_have_count(FIGURES * explorers, timeout=EVENT_BOUND)
    wait_settled(page)
    text = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in text
    assert "Traceback" not in text
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    for i in range(figures.count()):  # every chart on show drawn (an explorer hides unused mapping charts)
        if figures.nth(i).is_visible():
            assert figures.nth(i).locator("svg.svg-figure rect.plotarea_events").count() == 1
    screenshot_outputs(page, shots, name.removesuffix(".ipynb"))


def test_voila_app_renders_the_explorer(page, shots):
    port = free_port()
    as_root = ["--allow-root"] if os.geteuid() == 0 else []
    app = subprocess.Popen([sys.executable, "-m", "hugelab", "app", "--port", str(port), *as_root],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = app.stdout.readline()
        assert line.startswith(f"hugelab split explorer: http://127.0.0.1:{port}/?token=")
        page.goto(line.split()[-1], timeout=EVENT_BOUND)
        page.wait_for_selector("button.widget-button:text-is('mmap')", timeout=EVENT_BOUND)
        page.click("button.widget-button:text-is('mmap')")
        page.wait_for_function("() => document.querySelectorAll('div.bqplot.figure.hugelab-map')[0]"
                               ".querySelectorAll('rect.bar').length === 4", timeout=EVENT_BOUND)
        assert page.locator("div.bqplot.figure").count() == FIGURES
        assert "Error displaying widget" not in page.content()
        wait_settled(page, "body")
        page.screenshot(path=str(shots / "voila-app.png"), full_page=True)
    finally:
        app.terminate()
        app.wait(15)
    assert app.returncode is not None
