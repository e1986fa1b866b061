"""The split explorer in JupyterLab, in Debian's chromium: scenarios by clicks alone, and readable at any size.

Screenshots go to test-output/ (HUGELAB_TEST_OUTPUT): explorer-seed.png, explorer-fork-cow.png,
explorer-pages-{1,8,64,512}.png.
"""

import shutil
import tempfile
from pathlib import Path

import nbformat as nbf
import pytest

from harness import Lab, run_all

pytestmark = pytest.mark.browser
FAULTED = "rgb(59, 125, 216)"


@pytest.fixture(scope="module")
def explorer_lab():
    from harness import why_no_browser

    if why_no_browser():
        pytest.skip(f"browser tests skipped: {why_no_browser()}")
    folder = Path(tempfile.mkdtemp(prefix="hugelab-explorer-"))
    nb = nbf.v4.new_notebook()
    nb.cells = [nbf.v4.new_code_cell("from hugelab.widgets import SplitExplorer\nSplitExplorer()")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbf.write(nb, folder / "explorer.ipynb")
    lab = Lab(notebooks=folder)
    yield lab
    lab.stop()
    shutil.rmtree(folder, ignore_errors=True)


def open_explorer(lab, page):
    page.set_viewport_size({"width": 1500, "height": 2400})  # the whole explorer in one screenshot
    page.goto(lab.url("explorer.ipynb"))
    run_all(page)
    page.wait_for_selector(".hugelab-explorer button.widget-button:text-is('mmap')")
    return page.locator(".hugelab-explorer")


def button(explorer, label):
    return explorer.locator(f"button.widget-button:text-is('{label}')")


def side(explorer, i):
    return explorer.locator(".hugelab-side").nth(i)


def map_figure(explorer, i, n=0):
    """The n-th mapping chart of side i (the selected mapping is the first)."""
    return side(explorer, i).locator("div.bqplot.figure.hugelab-map").nth(n)


def wait_bars(page, count, side_index=0):
    page.wait_for_function(
        "([n, s]) => { const f = document.querySelectorAll('.hugelab-side')[s]"
        ".querySelector('div.bqplot.figure.hugelab-map'); return f && f.querySelectorAll('rect.bar').length === n; }",
        arg=[count, side_index], timeout=30_000)


def wait_text(explorer, text, timeout=20_000):
    """Wait until the controls and both sides have caught up: each shows ``text``, or the explorer does."""
    try:
        _wait_text(explorer, text, timeout)
    except Exception:
        raise AssertionError(f"never showed {text!r}; it shows:\n{explorer.inner_text()[:3000]}") from None


def _wait_text(explorer, text, timeout):
    explorer.page.wait_for_function(
        "t => { const sides = [...document.querySelectorAll('.hugelab-side')];"
        " const all = document.querySelector('.hugelab-explorer').innerText.includes(t);"
        " return all && (sides.every(s => s.innerText.includes(t)) || !sides.some(s => s.innerText.includes(t))); }",
        arg=text, timeout=timeout)


def bar_fills(figure):
    return figure.locator("rect.bar").evaluate_all("els => els.map(e => getComputedStyle(e).fill)")


def slider_keys(explorer, description, handle, key, times):
    slider = explorer.locator(".widget-hslider").filter(
        has=explorer.page.locator(f"label.widget-label:text-is('{description}')"))
    knob = slider.locator(handle)
    for _ in range(times):
        knob.focus()
        explorer.page.keyboard.press(key)
    explorer.page.wait_for_timeout(400)  # a slider's value reaches the kernel throttled: let it land first


def test_the_seed_by_clicks_alone(explorer_lab, page, shots):
    explorer = open_explorer(explorer_lab, page)
    button(explorer, "mmap").click()
    wait_bars(page, 4)
    map_figure(explorer, 0).locator("rect.bar").first.click()  # fault page 0 by clicking it
    wait_text(explorer, "touch a 0: ok")
    page.wait_for_function(  # both sides colour page 0 as faulted
        "c => [...document.querySelectorAll('.hugelab-side')].every(s => getComputedStyle("
        "s.querySelector('div.bqplot.figure.hugelab-map rect.bar')).fill === c)", arg=FAULTED)
    button(explorer, "munmap").click()  # the default range [1, 2)
    wait_text(explorer, "munmap a 1 1: ok")
    assert "close a[1, 2): credited 3, really unused 1, Rsvd 3 -> 0" in side(explorer, 0).inner_text()
    assert "close a[1, 2): credited 1, really unused 1, Rsvd 3 -> 2" in side(explorer, 1).inner_text()
    assert "the two sides part here" in side(explorer, 0).inner_text()
    # the range slider, by keyboard: [0, 1), munmap; then [2, 4), munmap
    slider_keys(explorer, "range [f, t)", ".noUi-handle-lower", "ArrowLeft", 1)
    slider_keys(explorer, "range [f, t)", ".noUi-handle-upper", "ArrowLeft", 1)
    button(explorer, "munmap").click()
    wait_text(explorer, "munmap a 0 1: ok")
    slider_keys(explorer, "range [f, t)", ".noUi-handle-upper", "ArrowRight", 3)
    slider_keys(explorer, "range [f, t)", ".noUi-handle-lower", "ArrowRight", 2)
    button(explorer, "munmap").click()
    wait_text(explorer, "munmap a 2 2: ok")
    assert "munmap a 2 2" in explorer.locator("textarea").first.input_value()
    left_counts = side(explorer, 0).locator("div.bqplot.figure.hugelab-counters")
    right_counts = side(explorer, 1).locator("div.bqplot.figure.hugelab-counters")
    assert "18446744073709551610 (= -6)" in side(explorer, 0).inner_text()
    assert "Rsvd 18446744073709551610 (= -6)" in left_counts.inner_text()
    assert "(= -" not in right_counts.inner_text()
    assert "step 6 of 6" in explorer.inner_text()
    assert set(bar_fills(map_figure(explorer, 0))) == {"rgb(255, 255, 255)"} == set(bar_fills(map_figure(explorer, 1)))
    assert "rsvd below zero" in side(explorer, 0).inner_text()
    assert "rsvd below zero" not in side(explorer, 1).inner_text()
    assert_sides_in_line(explorer)  # the left side's warning pushes nothing down
    assert_no_overlap(explorer)
    explorer.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    explorer.screenshot(path=str(shots / "explorer-seed.png"))
    assert not [e for e in page.console_errors if "Error displaying widget" in e]


def test_fork_and_copy_on_write_by_clicks_alone(explorer_lab, page, shots):
    explorer = open_explorer(explorer_lab, page)
    slider_keys(explorer, "pool", ".noUi-handle", "ArrowLeft", 6)  # pool 8 -> 2
    button(explorer, "reset").click()
    wait_text(explorer, "line 1 pool 2: ok")
    slider_keys(explorer, "pages", ".noUi-handle", "ArrowLeft", 2)  # 4 -> 2 pages
    button(explorer, "mmap").click()
    wait_bars(page, 2)
    map_figure(explorer, 0).locator("rect.bar").first.click()
    wait_text(explorer, "touch a 0: ok")
    button(explorer, "fork").click()
    wait_text(explorer, "line 4 fork c1: ok")
    map_figure(explorer, 0).locator("rect.bar").first.click()  # main writes: COW with no spare page
    wait_text(explorer, "step 5 of 5")
    explorer.locator(".widget-dropdown").filter(has_text="process").locator("select").select_option("c1")
    wait_text(explorer, "as c1 sees it")
    explorer.locator("button:text-is('read')").click()
    map_figure(explorer, 0).locator("rect.bar").first.click()
    wait_text(explorer, "in c1 touch a 0 read: SIGBUS")
    trace = explorer.locator("textarea").first.input_value()
    assert trace == "pool 2\nmmap a 2 private\ntouch a 0\nfork c1\ntouch a 0\nin c1 touch a 0 read\n"
    for i in range(2):
        assert "in c1 touch a 0 read: SIGBUS" in side(explorer, i).inner_text()
    options = explorer.locator(".widget-dropdown select").first.inner_text().replace("\xa0", " ")
    assert "c1 (killed by SIGBUS at line 6)" in options
    assert_no_overlap(explorer)
    explorer.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    explorer.screenshot(path=str(shots / "explorer-fork-cow.png"))


def sized_trace(pages):
    """A mapping of ``pages`` pages split every few pages, half of it faulted, then a munmap."""
    lines = [f"pool {pages}", f"mmap a {pages} private"]
    lines += [f"touch a {i}" for i in range(0, pages, max(1, pages // 8))]
    lines += [f"mprotect a {i} 1 r" for i in range(1, pages, max(3, pages // 20))]
    if pages > 2:
        lines.append(f"munmap a {pages // 2} 1")
    return "\n".join(lines) + "\n"


# Every SVG text of every visible explorer chart: its box, the figure's box, and which figure.
TEXT_BOXES = """root => [...root.querySelectorAll('div.bqplot.figure')].filter(f => f.offsetParent !== null)
  .flatMap((f, k) => { const fb = f.getBoundingClientRect();
    return [...f.querySelectorAll('svg text')].filter(t => t.textContent.trim()
      && t.getBoundingClientRect().width > 0 && getComputedStyle(t).visibility !== 'hidden')
      .map(t => { const b = t.getBoundingClientRect();
        return {k, text: t.textContent, x0: b.left, x1: b.right, y0: b.top, y1: b.bottom,
                fx0: fb.left, fx1: fb.right, fy0: fb.top, fy1: fb.bottom}; }); })"""


def assert_sides_in_line(explorer):
    """Each chart of the left side starts at the height of its twin on the right, warnings or not;
    every counters chart draws its four lines."""
    tops = explorer.evaluate("""root => [...root.querySelectorAll('.hugelab-side')].map(s =>
        [...s.querySelectorAll('div.bqplot.figure')].filter(f => f.offsetParent !== null)
        .map(f => Math.round(f.getBoundingClientRect().top)))""")
    assert len(tops) == 2 and tops[0] == tops[1], tops
    lines = explorer.evaluate("""root => [...root.querySelectorAll('div.bqplot.figure.hugelab-counters')].map(f =>
        [...f.querySelectorAll('path.line')].filter(p => (p.getAttribute('d') || '').length > 2).length)""")
    assert all(n >= 4 for n in lines), lines


def assert_no_overlap(explorer):
    boxes = explorer.evaluate(TEXT_BOXES)
    assert boxes
    for b in boxes:  # nothing cut at an edge
        assert b["fx0"] - 1 <= b["x0"] and b["x1"] <= b["fx1"] + 1, b
        assert b["fy0"] - 1 <= b["y0"] and b["y1"] <= b["fy1"] + 1, b
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["k"] != b["k"]:
                continue
            overlap_x = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            overlap_y = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
            assert overlap_x <= 1 or overlap_y <= 1, (a, b)


@pytest.mark.parametrize("pages", [1, 8, 64, 512])
def test_readable_at_every_size(explorer_lab, page, shots, pages):
    explorer = open_explorer(explorer_lab, page)
    explorer.locator("textarea").nth(1).fill(sized_trace(pages))
    button(explorer, "load").click()
    wait_text(explorer, "loaded")
    wait_bars(page, pages, 0)
    wait_bars(page, pages, 1)
    page.wait_for_timeout(800)  # let every mark settle
    assert "Error displaying widget" not in explorer.inner_text()
    explorer.screenshot(path=str(shots / f"explorer-pages-{pages}.png"))
    assert_no_overlap(explorer)
    assert_sides_in_line(explorer)


def test_two_mappings_private_and_shared_drawn_side_by_side(explorer_lab, page, shots):
    explorer = open_explorer(explorer_lab, page)
    explorer.locator("textarea").nth(1).fill("pool 16\nmmap a 8 private\nmmap b 6 shared\ntouch a 1\ntouch b 2\n"
                                             "fork c1\nin c1 touch b 3\nmunmap a 2 2\n")
    button(explorer, "load").click()
    wait_text(explorer, "loaded 8 lines")
    wait_bars(page, 6, 1)  # b, the newest mapping, is selected: drawn first
    page.wait_for_timeout(800)
    for i in range(2):
        captions = side(explorer, i).locator(".hugelab-caption").all_inner_texts()
        assert [c.split(" as ")[0] for c in captions if c] == ["\u25b6 b (shared, 6 pages)", "a (private, 8 pages)"]
        assert "map line: reserved offsets" in captions[0]
        # the fix keeps a map of consumed offsets; double-credit keeps a count: no line, nothing to explain
        assert ("map line: consumed offsets" in captions[1]) == (i == 1)
    explorer.screenshot(path=str(shots / "explorer-two-mappings.png"))
    assert_no_overlap(explorer)
    assert_sides_in_line(explorer)
