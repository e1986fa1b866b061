"""The course in chromium, as a newcomer meets it after Run All: at every
question, nothing on screen gives its answer away; the answer appears only
after a try; a likely wrong answer gets its own hint; the kernel's printed
form of a wrapped value counts as right.

Screenshots: test-output/course-<notebook>-q<N>-{before,after}.png.
"""

import json

import pytest
from playwright.sync_api import expect

from harness import EVENT_BOUND, REPO, run_all, wait_settled

pytestmark = pytest.mark.browser
# the numbered path and the notebooks beside it (many-kernels, files-and-mounts)
COURSE = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb") if p.name != "glossary.ipynb")


def questions():
    """Every question of the lessons module, by its prompt as the widget shows it."""
    from hugelab.teaching import lessons
    found = [fn() for fn in lessons.ALL.values()] + lessons.self_test()
    return {q.prompt: q for q in found}


def squash(text):
    return " ".join(text.split())


# the text of every output on screen (its box meets the viewport), widget text included
ON_SCREEN = """() => {
  const h = window.innerHeight;
  return [...document.querySelectorAll('.jp-OutputArea-output')]
    .filter(e => { const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < h; })
    .map(e => e.innerText).join('\\n');
}"""


@pytest.mark.parametrize("name", COURSE)
def test_a_newcomer_sees_no_answer_before_answering(lab, page, shots, name):
    from hugelab.teaching import lessons
    known = questions()
    page.goto(lab.url(name))
    run_all(page)
    widgets = page.locator(".jp-OutputArea-output .widget-vbox").filter(
        has=page.locator("button.widget-button:text-is('check')"))
    expected = sum(str(o.get("data", {}).get("text/plain", "")).startswith(("Predict(", "Predict: "))
                   for c in json.loads((REPO / "notebooks" / name).read_text())["cells"] for o in c.get("outputs", []))
    assert expected > 0
    page.wait_for_function(  # every question has rendered (its check button is there)
        "n => document.querySelectorAll(\".jp-OutputArea-output .widget-vbox button.widget-button\").length >= n",
        arg=expected, timeout=120_000)
    wait_settled(page)
    assert page.locator("pre.hugelab-reveal").count() == 0  # nothing revealed before any try
    stem = name.removesuffix(".ipynb")
    for i in range(widgets.count()):
        widget = widgets.nth(i)
        widget.scroll_into_view_if_needed()
        wait_settled(page)  # scrolled, and laid out where it stays
        prompt = widget.locator("b:text-is('Predict:')").locator("xpath=..").inner_text()
        prompt = squash(prompt.removeprefix("Predict:"))
        q = next((v for k, v in known.items() if squash(k) == prompt), None)
        screen = squash(page.evaluate(ON_SCREEN))
        page.screenshot(path=str(shots / f"course-{stem}-q{i + 1}-before.png"))
        if q is None:  # 06's questions about a generated exercise are built in the notebook
            assert "hugelab exercise key" not in screen
            continue
        for shown in lessons.giveaways(q):
            assert shown not in screen, f"{name} question {i + 1}: {shown!r} is on screen before answering"
        # a likely wrong answer: its own hint, no reveal yet
        wrong, hint = next(iter(q.hints.items()))
        entry = widget.locator("input[type=text]")
        entry.fill(str(wrong))
        entry.press("Enter")
        expect(widget.locator(".hugelab-feedback")).to_contain_text(f"Not {wrong}.")
        assert squash(hint) in squash(widget.locator(".hugelab-feedback").inner_text())
        assert widget.locator("pre.hugelab-reveal").count() == 0
        # the answer, in the form the kernel prints it where it wrapped
        entry.fill(str(q.answer))
        entry.press("Enter")
        expect(widget.locator(".hugelab-feedback")).to_contain_text("Right.")
        reveal = widget.locator("pre.hugelab-reveal")
        reveal.wait_for()
        assert squash(q.reveal.strip().splitlines()[-1]) in squash(reveal.inner_text())
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"course-{stem}-q{i + 1}-after.png"))
    text = page.locator(".jp-Notebook").inner_text()
    assert "Traceback" not in text and "Error displaying widget" not in text


def test_the_glossary_opens_from_00(lab, page, shots):
    page.goto(lab.url("00-start-here.ipynb"))
    page.wait_for_selector(".jp-Notebook")
    page.locator(".jp-RenderedMarkdown a:text-is('glossary')").first.click()
    page.wait_for_selector(".jp-RenderedMarkdown h1:has-text('Glossary')", timeout=EVENT_BOUND)
    page.screenshot(path=str(shots / "course-glossary.png"))
    nb = json.loads((REPO / "notebooks" / "glossary.ipynb").read_text())
    assert any("kref" in "".join(c["source"]) for c in nb["cells"])
