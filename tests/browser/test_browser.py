"""JupyterLab and Voila in Debian's chromium: what a learner sees the first time.

Screenshots go to test-output/ (HUGELAB_TEST_OUTPUT).
"""

import json
import os
import subprocess
import sys
import time

import pytest

from harness import REPO, free_port, run_all

pytestmark = pytest.mark.browser
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def code_cells(name):
    nb = json.loads((REPO / "notebooks" / name).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def screenshot_outputs(page, shots, stem):
    """A screenshot of the top, then of every widget output, scrolled into view."""
    page.screenshot(path=str(shots / f"{stem}-0.png"))
    views = page.locator(".jp-OutputArea-output .widget-vbox.widget-container")
    for i in range(views.count()):
        views.nth(i).scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{stem}-{i + 1}.png"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_runs_all_cells_and_draws_every_widget(lab, page, shots, name):
    page.goto(lab.url(name))
    run_all(page)
    page.wait_for_timeout(1500)  # let the last widgets render
    text = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in text
    assert "Traceback" not in text
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    sources = code_cells(name)
    explorers = sum(s.count("SplitExplorer(") for s in sources)
    predicts = sum(s.count("Predict(") for s in sources)
    assert page.locator("button.widget-button:text-is('check')").count() == predicts
    figures = page.locator("div.bqplot.figure")
    assert figures.count() == 4 * explorers
    for i in range(figures.count()):  # every chart drawn
        assert figures.nth(i).locator("svg.svg-figure rect.plotarea_events").count() == 1
    screenshot_outputs(page, shots, name.removesuffix(".ipynb"))


def bar_fills(figure):
    return figure.locator("rect.bar").evaluate_all("els => els.map(e => getComputedStyle(e).fill)")


def test_split_explorer_clicks_change_both_sides_as_the_model_says(lab, page, shots):
    page.goto(lab.url("03-splitting-a-vma-the-double-credit.ipynb"))
    run_all(page)
    explorer = page.locator(".jp-OutputArea-output").filter(has=page.locator("button.widget-button:text-is('mmap')"))
    explorer.scroll_into_view_if_needed()
    figures = explorer.locator("div.bqplot.figure")
    left_map, left_counts, right_map, right_counts = (figures.nth(i) for i in range(4))
    explorer.locator("button.widget-button:text-is('mmap')").click()
    page.wait_for_function("n => document.querySelectorAll('div.bqplot.figure')[0]"
                           ".querySelectorAll('rect.bar').length === 4", arg=4)
    # click page 0 in the left chart: both sides fault it
    left_map.locator("rect.bar").first.click()
    page.wait_for_timeout(500)
    faulted = "rgb(59, 125, 216)"
    assert bar_fills(left_map)[0] == faulted and bar_fills(right_map)[0] == faulted
    # range [1, 2) is the default split: munmap it
    explorer.locator("button.widget-button:text-is('munmap')").click()
    page.wait_for_timeout(500)
    # move the range slider with the keyboard to [0, 1), munmap; then to [2, 4), munmap
    range_slider = explorer.locator(".widget-hslider").filter(has_text="range [f, t)")
    lower = range_slider.locator(".noUi-handle-lower")
    upper = range_slider.locator(".noUi-handle-upper")
    lower.focus()
    page.keyboard.press("ArrowLeft")
    upper.focus()
    page.keyboard.press("ArrowLeft")
    explorer.locator("button.widget-button:text-is('munmap')").click()
    page.wait_for_timeout(500)
    for _ in range(3):
        upper.focus()
        page.keyboard.press("ArrowRight")
    for _ in range(2):
        lower.focus()
        page.keyboard.press("ArrowRight")
    explorer.locator("button.widget-button:text-is('munmap')").click()
    page.wait_for_timeout(1000)
    text = explorer.inner_text()
    assert "munmap a 2 2" in explorer.locator("textarea").first.input_value()
    assert "18446744073709551610 (= -6)" in text  # the left side's Rsvd
    # the wrap marker and its label, under double-credit only
    assert "Rsvd 18446744073709551610 (= -6)" in left_counts.inner_text()
    assert left_counts.locator("path.dot, path.point, .dot").count() >= 1 or "(= -6)" in left_counts.inner_text()
    assert "(= -" not in right_counts.inner_text()
    # every page unmapped now on both sides
    assert set(bar_fills(left_map)) == {"rgb(255, 255, 255)"} == set(bar_fills(right_map))
    # the right side's Rsvd line ends at 0, the left one stops at the edge
    assert "Rsvd</b> 0" in explorer.inner_html() or "Rsvd 0" in text
    explorer.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "split-explorer-seed.png"))


def test_voila_app_renders_the_explorer(page, shots):
    port = free_port()
    as_root = ["--allow-root"] if os.geteuid() == 0 else []
    app = subprocess.Popen([sys.executable, "-m", "hugelab", "app", "--port", str(port), *as_root],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = app.stdout.readline()
        assert line.startswith(f"hugelab split explorer: http://127.0.0.1:{port}/?token=")
        page.goto(line.split()[-1], timeout=90_000)
        page.wait_for_selector("button.widget-button:text-is('mmap')", timeout=90_000)
        page.click("button.widget-button:text-is('mmap')")
        page.wait_for_function("() => document.querySelectorAll('div.bqplot.figure')[0]"
                               ".querySelectorAll('rect.bar').length === 4", timeout=30_000)
        assert page.locator("div.bqplot.figure").count() == 4
        assert "Error displaying widget" not in page.content()
        time.sleep(0.5)
        page.screenshot(path=str(shots / "voila-app.png"), full_page=True)
    finally:
        app.terminate()
        app.wait(15)
    assert app.returncode is not None
