"""The course in chromium, as a newcomer meets it: before Run All each question says plainly that it
needs its cell run; after Run All (which leaves the view at the notebook's end), scrolled from top to
bottom, nothing on screen gives any of the notebook's answers away (summaries, grids and explanations
are folded until the learner opens them); at every question the answer appears only after a try; a
likely wrong answer (a wrong number, a wrong field of a row, a misconception's option) gets its own
hint; the kernel's printed form of a wrapped value counts as right; the self-test keeps a score.

Screenshots: test-output/course-<notebook>-q<N>-{before,after}.png, course-<notebook>-first-sight.png.
"""

import json

import pytest
from playwright.sync_api import expect

from harness import EVENT_BOUND, REPO, Lab, run_all, wait_settled, why_no_browser

pytestmark = pytest.mark.browser
# the numbered path, 00 to 09
COURSE = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb") if p.name != "glossary.ipynb")


def questions():
    """Every question of the lessons module, by its prompt as the widget shows it."""
    from hugelab.teaching import lessons
    found = [fn() for fn in lessons.ALL.values()] + lessons.self_test()
    return {squash(q.prompt): q for q in found}


def squash(text):
    return " ".join(text.split())


def giveaways(q):
    from hugelab.teaching import lessons
    from hugelab.teaching.predict import Question
    values = (q.answer,) if isinstance(q, Question) else ()  # a row's own giveaway is the row
    wrapped = [form for v in values if v >= 2**63 for form in (str(v), f"(= {v - 2**64})")]
    return lessons.giveaways(q) + wrapped


# the text of every markdown cell and output on screen (its box meets the viewport), widget text included;
# a closed <details> fold shows only its summary
ON_SCREEN = """() => {
  const h = window.innerHeight;
  return [...document.querySelectorAll('.jp-RenderedMarkdown, .jp-OutputArea-output')]
    .filter(e => { const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < h && r.height > 0; })
    .map(e => e.innerText).join('\\n');
}"""
# the notebook's scrolling box: to the top, or one screen further; true once at the bottom
SCROLL = """(top) => {
  const box = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')
           || document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (top) { box.scrollTop = 0; return false; }
  const before = box.scrollTop;
  box.scrollTop = before + box.clientHeight * 0.8;
  return box.scrollTop === before;
}"""


def answered_nothing_yet(page, name, shots, asked):
    """Scroll the whole notebook after Run All: no answer of any of its questions on screen."""
    stem = name.removesuffix(".ipynb")
    screens = [squash(page.evaluate(ON_SCREEN))]  # where Run All left the view: the end
    page.screenshot(path=str(shots / f"course-{stem}-after-run-all.png"))
    page.evaluate(SCROLL, True)
    for _ in range(400):
        wait_settled(page)  # the scroll has landed and the outputs in view are laid out
        screens.append(squash(page.evaluate(ON_SCREEN)))
        if page.evaluate(SCROLL, False):
            break
    screens.append(squash(page.evaluate(ON_SCREEN)))
    seen = "\n".join(screens)
    assert "Summary" in seen or stem.startswith("09"), "the scroll reached the end"
    for q in asked:
        for shown in giveaways(q):
            assert shown not in seen, f"{name}: {shown!r} is on screen after Run All, before any answer"


def first_sight(page, name, shots):
    """Before Run All: every question says plainly that its cell must run; no broken widget."""
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    wait_settled(page)  # every saved output drawn (charts from saved state included)
    page.screenshot(path=str(shots / f"course-{name.removesuffix('.ipynb')}-first-sight.png"))
    text = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in text


@pytest.fixture(scope="module")
def trusted_lab():
    """The course as `hugelab lab` serves it: its notebooks trusted, so saved widget state draws before any run."""
    if why_no_browser():
        pytest.skip(f"browser tests skipped: {why_no_browser()}")
    server = Lab(trusted=True)
    yield server
    server.stop()


# On screen, a widget output still loading or failed, and ipywidgets' red broken-link icon (drawn before every view
# with no kernel behind it: dozens down a saved explorer, a learner read them as errors)
BROKEN_ON_SCREEN = """() => {
  const h = window.innerHeight;
  const seen = e => { const r = e.getBoundingClientRect();
                      return e.offsetParent !== null && r.bottom > 0 && r.top < h; };
  const icons = [...document.querySelectorAll('.jupyter-widgets-disconnected')].filter(seen).filter(e => {
    const before = getComputedStyle(e, '::before');
    return before.display !== 'none' && before.content !== 'none' && before.content !== 'normal'; });
  const loading = [...document.querySelectorAll('.jp-OutputArea-output')].filter(seen)
    .filter(e => /Loading widget|Error displaying widget/.test(e.innerText));
  return {icons: icons.length, loading: loading.map(e => e.innerText.slice(0, 60))};
}"""
NO_WIDGET_LOADING = ("() => ![...document.querySelectorAll('.jp-OutputArea-output')]"
                     ".some(e => /Loading widget/.test(e.innerText))")


@pytest.mark.parametrize("width", [1068, 1400])
@pytest.mark.parametrize("name", [n for n in COURSE if "SplitExplorer(" in (REPO / "notebooks" / n).read_text()])
def test_a_saved_explorer_draws_before_run_all_with_no_broken_link_icons(trusted_lab, browser, shots, name, width):
    """Opened as `hugelab lab` opens it (trusted), before any cell runs: every widget output drawn from its saved state
    or saying in plain words that its cell must run; no red broken-link icon (06 and 08 showed one before each box and
    text of the explorer); the saved explorer says it is a picture until its cell runs."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    stem = name.removesuffix(".ipynb")
    try:
        page.goto(trusted_lab.url(name))
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=EVENT_BOUND)
        page.evaluate(SCROLL, True)
        for _ in range(400):
            page.wait_for_function(NO_WIDGET_LOADING, timeout=EVENT_BOUND)
            wait_settled(page)
            found = page.evaluate(BROKEN_ON_SCREEN)
            assert found == {"icons": 0, "loading": []}, f"{name} at {width} px: {found}"
            if page.evaluate(SCROLL, False):
                break
        note = page.locator(".hugelab-saved-note")
        note.scroll_into_view_if_needed()
        wait_settled(page)
        page.screenshot(path=str(shots / f"course-{stem}-saved-explorer-{width}.png"))
        assert note.is_visible() and "Run this cell" in note.inner_text()
        # the trace and load boxes are controls, not saved: no text on the picture points at them
        assert "load box" not in page.locator(".hugelab-explorer").first.inner_text()
        assert_words_whole(page, ".hugelab-saved-note")  # prose's line gap, not a control's 28 px
        assert page.locator("div.bqplot.figure svg rect.plotarea_events").count() > 0  # its charts drawn
    finally:
        context.close()


def answer(page, widget, q, final=False):
    """A likely wrong answer (its own hint, no reveal), then the right one (its reveal). A why question's letter
    only picks: "check" judges it. In the self-test (``final``) the wrong answer is final: the entry and the
    check go grey, the page says so, and "show answer" reveals."""
    from hugelab.teaching.predict import ROW_FIELDS, Choice, Row
    feedback = widget.locator(".hugelab-feedback")
    check = widget.locator("button.widget-button:text-is('check')")
    if isinstance(q, Choice):
        wrong = next(n for n in range(len(q.options)) if n != q.answer)
        widget.locator(f".hugelab-letters button:text-is('{'abcdefgh'[wrong]}')").click()
        expect(widget.locator(".hugelab-letters button.mod-primary")).to_have_text("abcdefgh"[wrong])
        assert feedback.count() == 0  # a pick answers nothing
        check.click()
        expect(feedback).to_contain_text(f"Not {'abcdefgh'[wrong]}.")
        assert squash(q.options[wrong].hint) in squash(feedback.inner_text())
        assert widget.locator(".hugelab-reveal").count() == 0
        if final:
            return finally_shown(widget, q, check)
        widget.locator(f".hugelab-letters button:text-is('{'abcdefgh'[q.answer]}')").click()
        check.click()
        expect(feedback).to_contain_text("Right.")
        return
    entry = widget.locator("input[type=text]")
    if isinstance(q, Row):
        field, wrongs = next((f, h) for f, h in q.hints.items() if h)
        value, hint = next(iter(wrongs.items()))
        typed = [str(v) for v in q.answer]
        typed[ROW_FIELDS.index(field)] = str(value)
        entry.fill(" ".join(typed))
        check.click()  # the first answer by "check", the second by Enter: a value alone (Tab) judges nothing
        expect(feedback).to_contain_text(f"{field} is not {value}")
        right = " ".join(str(v) for v in q.answer)  # the kernel's printed form where one wrapped
        done = "Right, the whole row."
    else:
        value, hint = next(iter(q.hints.items()))
        entry.fill(str(value))
        check.click()
        expect(feedback).to_contain_text(f"Not {value}.")
        right, done = str(q.answer), "Right."
    assert squash(hint) in squash(feedback.inner_text())
    assert widget.locator(".hugelab-reveal").count() == 0
    if final:
        expect(entry).to_be_disabled()
        return finally_shown(widget, q, check)
    entry.fill(right)
    entry.press("Enter")
    expect(feedback).to_contain_text(done)
    reveal = widget.locator(".hugelab-reveal")
    reveal.wait_for()
    assert last_line(q) in squash(reveal.inner_text())


def last_line(q):
    """The last line of ``q``'s reveal as the page shows it: a wrapped value in its short form."""
    from hugelab.teaching.notebook import _short
    return squash(_short(q.reveal.strip().splitlines()[-1]))


def finally_shown(widget, q, check):
    """A self-test question after its first (wrong) answer: closed, saying so; "show answer" reveals."""
    expect(check).to_be_disabled()
    expect(widget.locator(".hugelab-final")).to_contain_text("Your answer is final")
    widget.locator("button.widget-button:text-is('show answer')").click()
    reveal = widget.locator(".hugelab-reveal")
    reveal.wait_for()
    assert last_line(q) in squash(reveal.inner_text())


@pytest.mark.parametrize("name", COURSE)
def test_a_newcomer_sees_no_answer_before_answering(lab, page, shots, name):
    known = questions()
    page.goto(lab.url(name))
    first_sight(page, name, shots)
    run_all(page)
    wait_settled(page)  # the last widgets have rendered and laid themselves out
    widgets = page.locator(".jp-OutputArea-output .hugelab-predict")
    assert widgets.count() > 0
    assert page.locator(".hugelab-reveal").count() == 0  # nothing revealed before any try
    # each question's own words (not the line a later question shows until the one above is answered)
    prompts = [squash(widgets.nth(i).locator(".widget-html").filter(has_not=page.locator(".hugelab-waiting"))
                      .first.text_content()) for i in range(widgets.count())]
    asked = []
    for prompt in prompts:
        for head in ("Predict the row:", "Predict:", "Why?"):
            prompt = prompt.removeprefix(head)
        asked.append(known[squash(prompt)])
    answered_nothing_yet(page, name, shots, asked)
    stem = name.removesuffix(".ipynb")
    for i, q in enumerate(asked):
        widget = widgets.nth(i)
        widget.scroll_into_view_if_needed()
        wait_settled(page)
        screen = squash(page.evaluate(ON_SCREEN))
        page.screenshot(path=str(shots / f"course-{stem}-q{i + 1}-before.png"))
        for shown in giveaways(q):
            assert shown not in screen, f"{name} question {i + 1}: {shown!r} is on screen before answering"
        answer(page, widget, q, final=stem.startswith("09"))
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"course-{stem}-q{i + 1}-after.png"))
    if stem.startswith("09"):  # every answer was wrong first: the score says so, and where to look
        score = page.locator(".hugelab-score")
        expect(score).to_contain_text(f"Score: 0 of {len(asked)} right the first time.")
        expect(score).to_contain_text("notebook 03")
    text = page.locator(".jp-Notebook").inner_text()
    assert "Traceback" not in text and "Error displaying widget" not in text


def test_the_glossary_opens_from_00_and_a_term_link_lands_on_its_entry(lab, page, shots):
    page.goto(lab.url("00-start-here.ipynb"))
    page.wait_for_selector(".jp-Notebook")
    page.locator(".jp-RenderedMarkdown a:text-is('glossary')").first.click()
    page.wait_for_selector(".jp-RenderedMarkdown h1:has-text('Glossary')", timeout=EVENT_BOUND)
    page.screenshot(path=str(shots / "course-glossary.png"))
    nb = json.loads((REPO / "notebooks" / "glossary.ipynb").read_text())
    assert any("kref" in "".join(c["source"]) for c in nb["cells"])
    # 05's concept table links its terms: the link lands on the entry, not on the glossary's top
    page.goto(lab.url("05-todays-kernel.ipynb"))
    page.wait_for_selector(".jp-Notebook")
    page.locator(".jp-RenderedMarkdown a:text-is('owner')").first.click()
    heading = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h3:text-is('owner')")
    heading.wait_for(timeout=EVENT_BOUND)
    wait_settled(page)  # the jump to the entry has landed
    box = heading.bounding_box()
    page.screenshot(path=str(shots / "course-glossary-owner.png"))
    assert box is not None and 0 <= box["y"] < 800, f"the link did not land on the entry: {box}"


# Every word of the text under a selector: a word drawn on two lines (broken inside, as JupyterLab breaks a printed
# line at the output's edge: "reservat" / "ion", "th" / "e one"), and text whose line gap is a control's (a widget's
# HTML has a 28 px line height: a wrapped prompt left "5)?" alone under a tall gap). Words part at spaces, hyphens
# and slashes.
BROKEN_TEXT = """selector => {
  const broken = [], tall = [];
  for (const root of document.querySelectorAll(selector)) {
    if (!root.offsetParent) continue;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement, style = getComputedStyle(parent);
      if (!node.data.trim() || !parent.offsetParent || parent.closest('button, select')) continue;  // controls
      const size = parseFloat(style.fontSize), gap = parseFloat(style.lineHeight);
      if (gap > 1.7 * size) tall.push(`${gap}px lines of ${size}px text: ${node.data.trim().slice(0, 40)}`);
      const words = /[^\\s\\-\\/]+/g;
      for (let m = words.exec(node.data); m; m = words.exec(node.data)) {
        const r = document.createRange();
        r.setStart(node, m.index);
        r.setEnd(node, m.index + m[0].length);
        const tops = [...r.getClientRects()].filter(b => b.width > 0).map(b => b.top).sort((a, b) => a - b);
        if (tops.length > 1 && tops[tops.length - 1] - tops[0] > size / 2) broken.push(m[0]);
      }
    }
  }
  return {broken, tall};
}"""


def assert_words_whole(page, selector):
    found = page.evaluate(BROKEN_TEXT, selector)
    assert not found["broken"], f"words broken across lines under {selector}: {found['broken'][:20]}"
    assert not found["tall"], f"a control's line gap for prose under {selector}: {found['tall'][:10]}"


@pytest.mark.parametrize("width", [1068, 1400])
def test_05s_questions_feedback_and_walk_through_wrap_between_words(lab, browser, shots, width):
    """A fresh learner at 1068 px: the walk-through's printout broke words ("reservat" / "ion"), a why question's
    explanation came in monospace broken mid-word ("so it is th" / "e one"), a wrapped prompt left "5)?" alone under
    a tall gap. With the file browser open, as JupyterLab opens."""
    from hugelab.teaching import lessons

    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        page.goto(lab.url("05-todays-kernel.ipynb"))
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        run_all(page)
        wait_settled(page)
        walk = page.locator(".hugelab-walk").first  # the steps shown; the rest of the walk is in a fold
        walk.scroll_into_view_if_needed()
        wait_settled(page)
        page.screenshot(path=str(shots / f"course-05-walk-{width}.png"))
        assert_words_whole(page, ".hugelab-walk")
        for q in (lessons.q05_why_fork(), lessons.q05_why_cow(), lessons.q05_cow(), lessons.q05_owner_unmaps()):
            widget = page.locator(".hugelab-predict").filter(has_text=q.prompt[:60]).first
            widget.scroll_into_view_if_needed()
            answer(page, widget, q)
            wait_settled(page)
            assert_words_whole(page, ".hugelab-predict")
        page.locator(".hugelab-predict").filter(has_text=lessons.q05_why_cow().prompt[:60]).first \
            .scroll_into_view_if_needed()
        wait_settled(page)
        page.screenshot(path=str(shots / f"course-05-why-cow-{width}.png"))
        explanation = page.locator(".hugelab-explanation").first
        assert "monospace" not in explanation.evaluate("e => getComputedStyle(e).fontFamily")
    finally:
        context.close()


# every fold opened; a long line of a fold's text whose continuation does not start right of the line's own start
# (10's commit titles went on at column 0 at 1400 px)
OPEN_FOLDS = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"
HANGING = """() => {
  const flat = [];
  for (const line of document.querySelectorAll('.jp-OutputArea-output pre > div')) {
    if (!line.offsetParent || !line.textContent.trim()) continue;
    const r = document.createRange();
    r.selectNodeContents(line);
    const boxes = [...r.getClientRects()].filter(b => b.width > 0);
    const first = Math.min(...boxes.map(b => b.top));
    const starts = boxes.filter(b => b.top > first + 2).map(b => b.left);
    const left = Math.min(...boxes.filter(b => b.top <= first + 2).map(b => b.left));
    if (starts.length && Math.min(...starts) <= left) flat.push(line.textContent.slice(0, 60));
  }
  return flat;
}"""


@pytest.mark.parametrize("width", [1068, 1400])
@pytest.mark.parametrize("name", ["04-the-fix.ipynb", "06-lab.ipynb", "07-many-kernels.ipynb",
                                  "10-bug-zoo.ipynb"])
def test_printouts_and_folds_wrap_between_words_and_hang(lab, browser, shots, name, width):
    """A fresh learner at 1068 px: 06's scenario list broke 'MAP_NORESERV' / 'E' and 'ker' / 'nel', 08's leak
    print-out 'Rsv' / 'd'; at 1400 px a fold's long line went on at column 0. Every fold opened, every printout and
    table keeps its words whole, and a fold's wrapped line continues indented under its start."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        page.goto(lab.url(name))
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        run_all(page)
        page.evaluate(OPEN_FOLDS)
        wait_settled(page)
        assert_words_whole(page, ".jp-OutputArea-output pre, .jp-OutputArea-output .hugelab-table")
        assert not page.evaluate(HANGING), f"{name}: fold lines continued at their own start: {page.evaluate(HANGING)}"
        for n, text in enumerate(("steps; at the end Total", "at the end Rsvd", "T/F/R/S", "commits",
                                  "recorded", "random traces")):
            shown = page.locator(".jp-OutputArea-output").filter(has_text=text)
            if shown.count():
                shown.first.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / f"course-{name[:2]}-printout-{n}-{width}.png"))
    finally:
        context.close()


# a table body row drawn on more than one line: the tops of its cells' text differ (a heading may take two: 07's grid
# puts "(pre-fix)" under "-mm 2.6.26" so that its names stay apart)
ROWS_ON_TWO_LINES = """() => [...document.querySelectorAll('.jp-OutputArea-output .hugelab-table tbody tr')]
  .filter(r => r.offsetParent !== null).filter(r => {
    const tops = [];
    for (const c of r.cells) {
      const range = document.createRange();
      range.selectNodeContents(c);
      for (const b of range.getClientRects()) if (b.width > 0) tops.push(b.top);
    }
    return tops.length && Math.max(...tops) - Math.min(...tops) > 4;
  }).map(r => r.innerText.replace(/\\s+/g, ' ').slice(0, 80))"""


@pytest.mark.parametrize("width", [1068, 1400])
@pytest.mark.parametrize("name", ["03-splitting-a-vma-the-double-credit.ipynb", "06-lab.ipynb", "07-many-kernels.ipynb",
                                  "10-bug-zoo.ipynb"])
def test_a_table_with_a_wrapped_counter_keeps_each_row_on_one_line(lab, browser, shots, name, width):
    """At 1068 px "18446744073709551610 (= -6)" in a cell made the side-by-side tables and 07's grid two lines a row.
    Every fold opened, every table's row is one line, and the long form is said under the table."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        page.goto(lab.url(name))
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        run_all(page)
        page.evaluate(OPEN_FOLDS)
        wait_settled(page)
        tables = page.locator(".jp-OutputArea-output .hugelab-table")
        assert tables.count() > 0
        for n in range(tables.count()):
            tables.nth(n).scroll_into_view_if_needed()
            wait_settled(page)
            page.screenshot(path=str(shots / f"course-{name[:2]}-table-{n}-{width}.png"))
        assert not page.evaluate(ROWS_ON_TWO_LINES), page.evaluate(ROWS_ON_TWO_LINES)
        if name[:2] in ("03", "07"):  # 06's hunt, 08's statfs and 10's folds: their rows too (a learner's 1068 px)
            assert "the kernel prints 18446744073709551610 (= -6)" in page.locator(".jp-Notebook").inner_text()
    finally:
        context.close()


# a question's reveal (a table, the asked step's line, the key to a short form): each of its lines (a table's row,
# a printed line; a <pre> of several lines counted line by line) that the browser drew on more than one line
REVEAL_LINES_ON_TWO = """(reveal) => {
  const lines = el => {  // the lines its text is drawn on (a text node's own boxes: a cell's box is no line)
    const tops = [], walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let t = walk.nextNode(); t; t = walk.nextNode()) {
      const r = document.createRange(); r.selectNodeContents(t);
      for (const b of r.getClientRects()) if (b.width > 0) tops.push(b.top);
    }
    tops.sort((a, b) => a - b);
    return tops.filter((t, i) => i === 0 || t - tops[i - 1] > 4).length; };
  const parts = [...reveal.querySelectorAll('tr, pre > div')];
  if (parts.length) return parts.filter(e => lines(e) > 1).map(e => e.innerText.replace(/\\s+/g, ' ').slice(0, 80));
  const said = reveal.innerText.split('\\n').filter(l => l.trim()).length;
  return lines(reveal) > said ? [`${lines(reveal)} lines drawn for ${said}`] : [];
}"""


@pytest.mark.parametrize("width", [1068, 1400])
@pytest.mark.parametrize("name,asked", [
    ("03-splitting-a-vma-the-double-credit.ipynb", ["q03_lost", "q03_claim", "q03_row"]),
    ("05-todays-kernel.ipynb", ["q05_lost_total", "q05_lost_free"])])
def test_a_questions_reveal_keeps_each_row_and_line_on_one_line(lab, browser, shots, name, asked, width):
    """At 1068 px a question's reveal was a printed table whose Rsvd column was sized for 18446744073709551610
    (= -6): every row's outcome went on under it (03's "which step dies", 05's steps 10 and 11), and 03's "after
    step 10" line left "8" alone. Answered, each reveal is the course's table (the short form 2\u2076\u2074\u22126,
    its key under it), a row one line, and its asked step's line whole."""
    from hugelab.teaching import lessons
    from hugelab.teaching.predict import Choice

    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        page.goto(lab.url(name))
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        run_all(page)
        wait_settled(page)
        for fn in asked:
            q = getattr(lessons, fn)()
            widget = page.locator(".hugelab-predict").filter(has_text=q.prompt[:60]).first
            widget.scroll_into_view_if_needed()
            answer(page, widget, q)
            wait_settled(page)
            if isinstance(q, Choice):  # answered to show the row question under it; its reveal is prose
                continue
            reveal = widget.locator(".hugelab-reveal")
            reveal.scroll_into_view_if_needed()
            wait_settled(page)
            page.screenshot(path=str(shots / f"course-{name[:2]}-reveal-{fn}-{width}.png"))
            broken = reveal.evaluate(REVEAL_LINES_ON_TWO)
            assert not broken, f"{fn}: lines of its reveal drawn on two lines: {broken}"
            assert reveal.locator(".hugelab-table").count() == 1, f"{fn}: its reveal is no table"
    finally:
        context.close()


# a code chip of a markdown table drawn on two lines ("region_count(f," / "t)", "vm_ops-" / ">open")
CHIPS_ON_TWO_LINES = """() => [...document.querySelectorAll('.jp-RenderedMarkdown td code')].filter(c => {
    const tops = [...c.getClientRects()].filter(b => b.width > 0).map(b => b.top);
    return tops.length > 1 && Math.max(...tops) - Math.min(...tops) > 4;
  }).map(c => c.textContent)"""


@pytest.mark.parametrize("width", [1068, 1400])
@pytest.mark.parametrize("name, row", [("00-start-here.ipynb", "pool 2 overcommit 4"),
                                       ("02-the-region-map.ipynb", "region_count(f, t)"),
                                       ("03-splitting-a-vma-the-double-credit.ipynb", "split_vma")])
def test_a_code_chip_in_a_markdown_table_stays_on_one_line(lab, browser, shots, name, row, width):
    """At 1068 px 00's grammar table, 02's and 03's concept tables broke their commands inside: "munmap a 1" / "1",
    "region_count(f," / "t)", "vm_ops-" / ">open". A table's chip keeps to one line (a long C call breaks only between
    its arguments, as separate chips)."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        page.goto(lab.url(name))
        cell = page.locator(".jp-Notebook .jp-Cell").filter(has_text=row).first
        cell.scroll_into_view_if_needed()
        wait_settled(page)
        cell.locator("table").first.screenshot(path=str(shots / f"course-{name[:2]}-table-chips-{width}.png"))
        assert not page.evaluate(CHIPS_ON_TWO_LINES), page.evaluate(CHIPS_ON_TWO_LINES)
    finally:
        context.close()
