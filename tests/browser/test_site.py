"""The static site (scripts/site.sh): built from the committed notebooks, opened from files with
no server and no network, every page draws its widgets from the saved state.
"""

import json
import shutil
import sys

import pytest

from harness import EVENT_BOUND, REPO

pytestmark = pytest.mark.browser
sys.path.insert(0, str(REPO / "scripts"))
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def expected_figures(path):
    """bqplot figures the notebook's saved widget state holds (4 per split explorer)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    state = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return sum(1 for m in state.values() if m.get("model_name") == "FigureModel")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import course

    if shutil.which("npm") is None and not (REPO / ".venv" / "site-npm").is_dir():
        pytest.skip("npm is needed once to fetch the widget manager for the static site")
    out = tmp_path_factory.mktemp("site")
    course.build_site(out)
    return out


def test_index_links_every_notebook_in_the_courses_order(site, page):
    """00 first, then the numbered notebooks by their number (06, 07, 08, 09, whatever their file
    names), the glossary last (issue 22: the index read 6, 9, 8, Glossary, 7)."""
    page.goto((site / "index.html").as_uri())
    links = page.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert sorted(links) == sorted(f"{p.stem}.html" for p in NOTEBOOKS)
    titles = page.locator("li a").all_inner_texts()
    numbers = [int(t.split(".")[0]) for t in titles if t.split(".")[0].isdigit()]
    assert links[0] == "00-start-here.html" and numbers == sorted(numbers) and len(numbers) >= 8, titles
    assert links[-1] == "glossary.html"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_page_draws_its_widgets_from_files(site, page, path):
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto((site / f"{path.stem}.html").as_uri())
    figures = expected_figures(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    views = sum(1 for c in nb["cells"] for o in c.get("outputs", [])
                if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
    # every widget output rendered by the widget manager (not left as its text fallback)
    page.wait_for_function("n => document.querySelectorAll('.jupyter-widgets.widget-container, "
                           ".jupyter-widgets.widget-inline-hbox, .jupyter-widgets.widget-box').length >= n",
                           arg=min(views, 1), timeout=EVENT_BOUND)
    if figures:
        page.wait_for_function("n => document.querySelectorAll("
                               "'div.bqplot.figure svg.svg-figure rect.plotarea_events').length === n",
                               arg=figures, timeout=EVENT_BOUND)
        assert page.locator("div.bqplot.figure").count() == figures
        # and every figure drew its marks: the page map's bars, the counters' lines
        page.wait_for_function("() => [...document.querySelectorAll('div.bqplot.figure')]"
                               ".every(f => f.querySelector('svg rect.bar, svg path.line'))", timeout=EVENT_BOUND)
    text = page.locator("body").inner_text()
    assert "Explorer(children=" not in text and "Predict(children=" not in text
    # a chart sized below zero (a hidden one) logs "<rect> attribute width: A negative value is not valid"
    assert not [e for e in page.console_errors if "negative" in e], page.console_errors
    assert "Error displaying widget" not in text
    assert not [u for u in failed if u.startswith("file:")], failed
