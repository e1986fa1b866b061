"""Latency in a real browser: input event to the first chart mutation in the DOM.

JupyterLab on loopback, Debian's chromium. In one browser session:

* hugelab: keydown (ArrowRight/ArrowLeft) on the explorer's step slider, and
  clicks on its fault/undo buttons, 30 samples each, on a 4-page mapping and
  again on bench_click's 512-page mapping with a 200-step history;
* the floor of the stack: a bare notebook whose slider sets a bqplot Bars
  mark's heights through a trivial Python callback, 30 keydowns.

Measured in the page: a capture-phase listener stores performance.now() at
keydown/mousedown; a MutationObserver on the figures records the first
change after it. Goal (issue 6): hugelab's p90 at most 1.5x the floor's.
Run: ``python benchmarks/bench_browser_latency.py`` (needs chromium).
"""

import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import nbformat as nbf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))
from bench_click import history

from hugelab.app import notebook_path

from harness import Lab, launch, run_all

SAMPLES = 30
PROBE = """() => {
  window.__t0 = null; window.__lat = null;
  const start = () => { window.__t0 = performance.now(); window.__lat = null; };
  document.addEventListener('keydown', start, true);
  document.addEventListener('mousedown', start, true);
  const seen = () => {
    if (window.__t0 !== null && window.__lat === null) window.__lat = performance.now() - window.__t0;
  };
  for (const f of document.querySelectorAll('div.bqplot.figure'))
    new MutationObserver(seen).observe(f, {attributes: true, childList: true, subtree: true, characterData: true});
}"""


def floor_notebook(path: Path) -> None:
    nb = nbf.v4.new_notebook()
    nb.cells = [nbf.v4.new_code_cell(
        "import bqplot as bq, ipywidgets as w\n"
        "x = bq.OrdinalScale(); y = bq.LinearScale(min=0, max=64)\n"
        "bars = bq.Bars(x=list(range(8)), y=[1] * 8, scales={'x': x, 'y': y})\n"
        "slider = w.IntSlider(value=1, min=0, max=64, description='floor')\n"
        "slider.observe(lambda c: setattr(bars, 'y', [c['new']] * 8), names='value')\n"
        "w.VBox([slider, bq.Figure(marks=[bars], layout={'height': '200px'})])")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbf.write(nb, path)


def sample(page, act) -> float:
    page.evaluate("() => { window.__t0 = null; window.__lat = null; }")
    act()
    page.wait_for_function("() => window.__lat !== null", timeout=10_000)
    latency = page.evaluate("() => window.__lat")
    page.wait_for_timeout(60)  # let the rest of the update land before the next sample
    return latency


def series(page, acts) -> list[float]:
    return [sample(page, acts[i % len(acts)]) for i in range(SAMPLES)]


def summary(name: str, values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    p90 = values[int(0.9 * len(values)) - 1]
    print(f"{name:34} median {statistics.median(values):6.1f} ms   p90 {p90:6.1f} ms   ({len(values)} samples)")
    return statistics.median(values), p90


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="hugelab-latency-"))
    shutil.copy(notebook_path(), folder / "explorer.ipynb")
    floor_notebook(folder / "floor.ipynb")
    lab = Lab(notebooks=folder)
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(lab.url("explorer.ipynb"))
            run_all(page)
            page.click("button.widget-button:text-is('mmap')")
            for i in range(6):  # some history to scrub through
                page.locator("div.bqplot.figure").first.locator("rect.bar").nth(i % 4).click()
                page.wait_for_timeout(150)
            page.evaluate(PROBE)
            step = page.locator(".widget-hslider").filter(has_text="step").locator(".noUi-handle")
            step.focus()
            keys = series(page, [lambda: page.keyboard.press("ArrowLeft"), lambda: page.keyboard.press("ArrowRight")])
            fault = page.locator("button.widget-button:text-is('fault')")
            undo = page.locator("button.widget-button:text-is('undo')")
            clicks = series(page, [fault.click, undo.click])
            # the same at 512 pages: a 200-step history loaded through the load box
            page.locator(".hugelab-explorer textarea").nth(1).fill(history(random.Random(1), 200))
            page.click("button.widget-button:text-is('load')")
            page.wait_for_function("() => document.querySelector('div.bqplot.figure.hugelab-map')"
                                   ".querySelectorAll('rect.bar').length === 512", timeout=60_000)
            page.locator("button:text-is('read')").click()
            page.wait_for_timeout(1000)
            step.focus()
            keys_512 = series(page, [lambda: page.keyboard.press("ArrowLeft"),
                                     lambda: page.keyboard.press("ArrowRight")])
            clicks_512 = series(page, [fault.click, undo.click])
            page.goto(lab.url("floor.ipynb"))
            run_all(page)
            page.evaluate(PROBE)
            handle = page.locator(".widget-hslider").filter(has_text="floor").locator(".noUi-handle")
            handle.focus()
            floor = series(page, [lambda: page.keyboard.press("ArrowRight"), lambda: page.keyboard.press("ArrowLeft")])
            browser.close()
    finally:
        lab.stop()
        shutil.rmtree(folder, ignore_errors=True)
    _, key_p90 = summary("hugelab step slider keydown", keys)
    _, click_p90 = summary("hugelab fault/undo button click", clicks)
    _, key_512_p90 = summary("512 pages: step slider keydown", keys_512)
    _, click_512_p90 = summary("512 pages: fault/undo click", clicks_512)
    _, floor_p90 = summary("floor: bare slider -> bars keydown", floor)
    print(f"p90 ratio to the floor: slider {key_p90 / floor_p90:.2f}x, buttons {click_p90 / floor_p90:.2f}x; "
          f"at 512 pages slider {key_512_p90 / floor_p90:.2f}x, buttons {click_512_p90 / floor_p90:.2f}x "
          "(goal: at most 1.5x)")


if __name__ == "__main__":
    main()
