"""The course as a learner meets it, read from the executed notebooks:
no answer printed before its question, the glossary linked everywhere and
holding every term, every shipped scenario used, the trace language taught
in 00 before any notebook uses it."""

import html
import json
import re
from pathlib import Path

import pytest

from hugelab import scenarios
from hugelab.replay import replay
from hugelab.teaching import lessons
from hugelab.teaching.predict import Choice, Question, Row, same_number
from hugelab.trace.language import TraceError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# the numbered path, 00 to 09 (07-many-kernels and 08-files-and-mounts included): every one obeys the rules
COURSE = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if p.name != "glossary.ipynb")


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def outputs(cell):
    text = []
    for o in cell.get("outputs", []):
        text.append("".join(o.get("text", "")))
        text.append("".join(o.get("data", {}).get("text/plain", "")) if "application/vnd.jupyter.widget-view+json"
                    not in o.get("data", {}) else "")
    return "\n".join(text)


def squash(text):
    return " ".join(text.split())


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_no_answer_is_printed_before_its_question(path):
    seen = ""
    for cell in cells(path):
        asked = re.findall(r"lessons\.(q\w+)\(\)", source(cell))
        if "lessons.self_test()" in source(cell):
            assert "Total" not in seen and "T/F/R/S" not in seen, "the self-test shows no table"
            for q in lessons.self_test():
                assert not any(shown in squash(seen) for shown in lessons.giveaways(q))
        for name in asked:
            for shown in lessons.giveaways(getattr(lessons, name)()):
                assert shown not in squash(seen) and shown not in seen, \
                    f"{path.name}: the answer to {name} is on screen before it: {shown}"
        seen += outputs(cell) + "\n"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_no_question_hint_or_explanation_is_written_in_a_notebooks_visible_code(path):
    """Questions, hints and explanations live in hugelab/teaching/lessons.py: written inline in a code cell, the
    explanation (which states the answer) is on screen above its question."""
    for n, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code":
            continue
        code = source(cell)
        assert not re.search(r"\bQuestion\(", code), f"{path.name} cell {n}: a Question built inline"
        for arg in ("why", "hint", "hints", "reveal"):
            inline = re.search(rf"\b{arg}\s*=\s*(?:[rfRF]{{0,2}}[\"']|\{{)", code)
            assert not inline, f"{path.name} cell {n}: {arg}= written inline"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_every_notebook_links_the_glossary(path):
    assert "(glossary.ipynb)" in "".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")


GLOSSARY = "\n\n".join(source(c) for c in cells(NOTEBOOKS / "glossary.ipynb"))
TERMS = ["-mm", "kref", "buddy allocator", "owner", "bare pool", "v6.9 restore", "surplus", "overcommit",
         "copy-on-write (COW)", "VMA", "resv_map", "restore_reserve", "MAP_NORESERVE", "MADV_DONTNEED", "fault",
         "reservation", "hstate", "inode", "page cache", "invariant", "split", "skipped", "SIGBUS", "ENOMEM",
         "EINVAL", "merge window", "vm_private_data", "vm_ops->open", "wrap", "step",
         # 07-many-kernels and 08-files-and-mounts
         "subpool", "statfs", "size=", "min_size=", "truncate", "hole punch", "fallocate", "MADV_REMOVE",
         "eviction", "unlink", "memfd", "System V segment", "shmget", "shmat", "IPC_RMID", "ENOSPC", "EBUSY",
         "mapcount", "zap", "namespace", "golden trace", "LTP", "kernel selftests", "libhugetlbfs",
         "guest kernel", "QEMU", "recorded records", "stable fix", "6.12", "MAP_SHARED"]


@pytest.mark.parametrize("term", TERMS)
def test_the_glossary_explains_every_kernel_term_the_course_uses(term):
    assert re.search(r"^### [^\n]*" + re.escape(term), GLOSSARY, re.M), term


def glossary_terms():
    """Each glossary entry's heading (a cell of its own, so a link to it lands on the term), and its terms."""
    found = []
    for cell in cells(NOTEBOOKS / "glossary.ipynb")[1:]:
        heading = source(cell).splitlines()[0]
        assert heading.startswith("### "), heading
        found.append((heading[4:], [t.strip() for t in re.split(r",(?![^(]*\))", heading[4:])]))
    return found


def test_the_glossary_is_one_entry_per_cell_and_links_to_it_name_an_entry():
    """A link lands on its entry as glossary.ipynb#cell-id=ID: JupyterLab finds the cell in the notebook's
    model, rendered or not (a heading's own anchor is looked for in the page, before the cells are drawn),
    and nbconvert's HTML gives each cell that id too."""
    entries = glossary_terms()
    assert len(entries) >= 50
    ids = {c["id"] for c in cells(NOTEBOOKS / "glossary.ipynb")[1:]}
    linked = 0
    for path in COURSE:
        for cell in cells(path):
            for target in re.findall(r"\(glossary\.ipynb#([^)]*\)?)\)", source(cell)):
                assert target.startswith("cell-id=") and target[8:] in ids, \
                    f"{path.name}: the link glossary.ipynb#{target} lands on no entry"
                linked += 1
    assert linked >= 15


def visible(path):
    """What Run All Cells leaves on screen before any answer: markdown outside its folds, code, and every
    output but the folded ones (an answers() fold's HTML is a closed <details>)."""
    text = []
    for cell in cells(path):
        if cell["cell_type"] == "markdown":
            text.append(re.sub(r"<details.*?</details>", "", source(cell), flags=re.S))
            continue
        text.append(source(cell))
        for o in cell.get("outputs", []):
            if o.get("data", {}).get("text/html", "") and "".join(o["data"]["text/html"]).startswith("<details"):
                continue
            text.append(outputs({"outputs": [o]}))
    return "\n".join(text)


def asked_in(path):
    """The questions a notebook asks, by lessons' function name (the self-test's by position)."""
    text = "".join(source(c) for c in cells(path) if c["cell_type"] == "code")
    asked = {name: getattr(lessons, name)() for name in re.findall(r"lessons\.(q\w+)\(\)", text)}
    if "lessons.self_test()" in text:
        asked.update({f"self_test[{n}]": q for n, q in enumerate(lessons.self_test())})
    return asked


def wrapped_forms(q):
    """A wrapped answer in the forms a page could print it: 2^64 - k and '(= -k)'."""
    values = (q.answer,) if isinstance(q, Question) else ()  # a row's own giveaway is the row
    return [form for v in values if v >= 2**63 for form in (str(v), f"(= {v - 2**64})")]


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_after_run_all_nothing_unfolded_answers_any_of_the_notebooks_questions(path):
    """Run All scrolls to the end: summaries, grids and explanations below a question are on screen
    before it is answered, so whatever states an answer is folded."""
    shown = visible(path)
    for name, q in asked_in(path).items():
        for giveaway in lessons.giveaways(q) + wrapped_forms(q):
            assert giveaway not in squash(shown), f"{path.name}: {name}'s answer is on screen: {giveaway}"


#: what the glossary (one click from every notebook) said, in its own words, that answered a question: a learner
#: reads an entry before the question it answers. Kept here, beside the check, as the glossary's tells.
GLOSSARY_TELLS = {
    "q03_why_copy": ["count into every piece", "handed it all back"],
    "q05_child_rsvd": ["holds no reservation of its own", "A child holds no reservation",
                       "only it holds the mapping's reservations"],
    "q05_surplus": ["to back reservations or faults", "to back reservations"],
    "q05_dontneed": ["dropped page gives its reservation back", "gives its reservation back",
                     "reservation restore on unmap"],
    "q02_why_shared": ["belong to the file (its inode), not to any process", "not to any process"],
}


@pytest.mark.parametrize("doc", ["README.md", "docs/using.md", "notebooks/glossary.ipynb"])
def test_the_readme_the_docs_for_learners_and_the_glossary_answer_no_question(doc):
    path = NOTEBOOKS.parent / doc
    parts = [source(c) for c in cells(path)] if doc.endswith(".ipynb") else [path.read_text()]
    parts = [squash(re.sub(r"<details.*?</details>", "", part, flags=re.S)) for part in parts]
    text = " ".join(parts)
    every = [fn() for fn in lessons.ALL.values()] + lessons.self_test()
    for q in every:
        for giveaway in lessons.giveaways(q) + wrapped_forms(q):
            assert giveaway not in text, f"{doc}: {q.prompt!r} is answered there: {giveaway}"
        for part in parts:  # one glossary entry (or the whole page) saying what a why question's right option says
            same = said_by_right_option(q) & shingles(part)
            assert len(same) < ECHO, f"{doc}: {q.prompt!r} is answered there: {sorted(same)}"
    if doc.endswith("glossary.ipynb"):
        for name, tells in GLOSSARY_TELLS.items():
            assert hasattr(lessons, name), f"{name} is no question any more: move its tells"
            for tell in tells:
                assert tell not in text, f"{doc} answers {name}: {tell}"


NUMBERED = [p for p in COURSE if re.match(r"\d\d-", p.name)]


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.stem)
def test_each_notebook_asks_two_why_questions_and_a_whole_row(path):
    asked = asked_in(path).values()
    assert sum(isinstance(q, Choice) for q in asked) >= 2, f"{path.name}: fewer than two why questions"
    assert sum(isinstance(q, Row) for q in asked) >= 1, f"{path.name}: no whole-row prediction"


def test_the_path_is_numbered_in_file_order():
    from hugelab.teaching.notebook import course
    path, beside = course(str(NOTEBOOKS))
    numbers = [number for number, _stem, _title in path]
    assert numbers[:10] == list(range(10)) and numbers == sorted(set(numbers))
    assert [stem for _n, stem, _t in path] == sorted(stem for _n, stem, _t in path)
    assert all(stem.startswith(f"{number:02d}-") for number, stem, _t in path)
    assert not beside


# glossary terms everyone knows before the course, or that the course uses only in passing
ANY_TIME = {"step", "trace", "huge page", "hugetlb", "hugetlbfs", "mmap", "munmap", "mprotect", "commit", "fork",
            "child", "policy (era)", "namespace", "2.6.27", "6.1", "6.9", "6.12", "6.18"}


def test_every_glossary_term_a_question_uses_is_taught_before_it():
    """Walk the path in order; a question may use a glossary term only once a markdown cell (of this notebook,
    before the question, or of an earlier one) has named it."""
    taught = ""
    terms = [t for _heading, names in glossary_terms() for t in names if t not in ANY_TIME and len(t) > 2]
    for path in NUMBERED:
        for cell in cells(path):
            if cell["cell_type"] == "markdown":
                taught += re.sub(r"<details.*?</details>", "", source(cell), flags=re.S).lower() + "\n"
                continue
            for name in re.findall(r"lessons\.(q\w+)\(\)", source(cell)):
                q = getattr(lessons, name)()
                words = q.prompt + " " + " ".join(o.text for o in getattr(q, "options", ()))
                for term in terms:
                    if re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", words, re.I):
                        assert term.lower() in taught, f"{path.name}: {name} uses {term!r} before it is taught"


def test_every_shipped_scenario_is_used_in_the_course():
    every = sorted(NOTEBOOKS.glob("*.ipynb"))  # the notebooks beside the path count too
    text = "".join(source(c) + outputs(c) for p in every for c in cells(p)) + lessons_source()
    unused = [name for name in scenarios.names() if name not in text]
    assert not unused


def lessons_source():
    return Path(lessons.__file__).read_text()


def test_00_teaches_every_form_of_the_trace_language_and_every_outcome():
    text = "".join(source(c) for c in cells(NOTEBOOKS / "00-start-here.ipynb"))
    # a table's chip kept on one line is HTML: <code style="white-space:nowrap">main</code> reads as `main`
    text = html.unescape(re.sub(r"<code[^>]*>(.*?)</code>", r"`\1`", text))
    for form in ["pool 8", "overcommit", "mmap a 4 private", "shared", "noreserve", "touch a 0", "read",
                 "munmap a 1 1", "START COUNT", "mprotect", "madvise a 0 1 dontneed", "fork b", "in b touch",
                 "`main`", "exit b", "half-open"]:
        assert form in text, form
    for outcome in ["ENOMEM", "EINVAL", "SIGBUS", "SIGSEGV", "skipped", "ENOSPC", "EBUSY"]:
        assert f"| `{outcome}` |" in text, outcome
    for outcome in ["EACCES", "EBADF", "ENOENT"]:  # the rare trace-v2 ones share a row
        assert f"`{outcome}`" in text, outcome
    for head in ["**Total**", "**Free**", "**Rsvd**", "**Surp**", "T/F/R/S"]:
        assert head in text, head


def test_notebooks_import_only_from_hugelab():
    for path in COURSE + [NOTEBOOKS / "glossary.ipynb"]:
        for cell in cells(path):
            for line in source(cell).splitlines():
                m = re.match(r"\s*(?:from|import)\s+([\w.]+)", line)
                if m:
                    assert m.group(1).split(".")[0] == "hugelab", (path.name, line)


def test_the_seed_steps_in_the_docs_are_the_steps_hugelab_prints():
    import subprocess
    import sys
    readme = (NOTEBOOKS.parent / "docs" / "using.md").read_text()
    done = subprocess.run([sys.executable, "-m", "hugelab", "replay", "seed"], capture_output=True, text=True)
    printed = [line.split(None, 1) for line in done.stdout.splitlines()[1:]]
    block = readme.split("hugelab replay seed` prints:")[1].split("```")[1]
    shown = [line.split(None, 1) for line in block.strip().splitlines()[1:]]
    assert shown == printed


# -- what one question's words say about another's answer ------------------------------------------

def groups(path):
    """The notebook's questions in order, as (group, name, question): the questions of one cell are one group
    (ask() opens each once the one before it is answered; the self-test chains all of its own)."""
    found = []
    for n, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code":
            continue
        code = source(cell)
        found += [(n, name, getattr(lessons, name)()) for name in re.findall(r"lessons\.(q\w+)\(\)", code)]
        if "lessons.self_test()" in code:
            found += [(n, f"self_test[{i}]", q) for i, q in enumerate(lessons.self_test())]
    return found


def on_screen(q):
    """A question's words shown before it is answered: its prompt and, for a why question, its options."""
    return " ".join([q.prompt, *(o.text for o in getattr(q, "options", ()))])


def feedback(q):
    """What a question says once tried: every hint, its explanation, its reveal and its "show answer"."""
    hints = []
    if isinstance(q, Question):
        hints = [*q.hints.values(), q.hint]
    elif isinstance(q, Row):
        hints = [h for wrongs in q.hints.values() for h in wrongs.values()]
    elif isinstance(q, Choice):
        hints = [o.hint for o in q.options]
    return " ".join([*hints, q.why, q.reveal, q.give_up()])


def says(text, forms):
    """The forms that ``text`` holds as whole words (whitespace squashed)."""
    text = squash(text)
    return [f for f in forms if f and re.search(rf"(?<!\w){re.escape(squash(f))}(?!\w)", text)]


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_no_questions_words_say_the_answer_of_one_not_yet_answered(path):
    """A question's feedback (hints, explanation, reveal) is read before the questions below it are answered;
    its prompt and options are on screen before any question that is not chained before it in its cell."""
    asked = groups(path)
    for i, (group_i, name_i, qi) in enumerate(asked):
        for j, (group_j, name_j, qj) in enumerate(asked):
            if j == i:
                continue
            forms = lessons.stated(qj)
            if qi.prompt in lessons.ASKED and qj.prompt in lessons.ASKED and \
                    lessons.ASKED[qi.prompt][0] != lessons.ASKED[qj.prompt][0]:
                forms = lessons.giveaways(qj)  # words about another trace: only its rows answer qj
            if j > i:
                said = says(feedback(qi), forms)
                assert not said, f"{path.name}: {name_i}'s feedback answers {name_j}: {said}"
            if j > i or group_j != group_i:
                said = says(on_screen(qi), forms)
                assert not said, f"{path.name}: {name_i}'s words, on screen, answer {name_j}: {said}"


def process_of(op):
    """The process a trace line runs in: ``in c touch a 0`` runs in c, a line without ``in`` in main."""
    return op.split()[1] if op.startswith("in ") else "main"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_a_step_question_leaves_more_than_one_step_to_choose(path):
    """05 asked why the owner's copy-on-write at step 5 takes the page from the child, then 'at which step does the
    child die?': the child's next line, step 6, was the one step left to choose. A question asking at which step
    something happens is not answered by the first line of the answer's process after the last step an earlier
    question asked about in the same trace."""
    asked = groups(path)
    for i, (_g, name, q) in enumerate(asked):
        if not isinstance(q, Question) or q.prompt not in lessons.ASKED or "which step" not in q.prompt:
            continue
        trace, answer, policy = lessons.ASKED[q.prompt]
        told = [lessons.ASKED[p.prompt][1] for _h, _n, p in asked[:i]
                if p.prompt in lessons.ASKED and lessons.ASKED[p.prompt][0] == trace]
        after = max(told, default=0)
        steps = replay(trace, policy)
        who = process_of(steps[answer - 1].op)
        candidates = [n for n in range(after + 1, answer + 1) if process_of(steps[n - 1].op) == who]
        assert candidates != [answer], \
            f"{path.name}: {name}'s answer, step {answer}, is {who}'s first line after step {after}, which an " \
            "earlier question asked about"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_no_hint_names_the_kernel_whose_answer_another_question_asks(path):
    """'That is 6.18.' under a wrong answer -1 tells the learner 6.18's answer to the question below."""
    asked = groups(path)
    for _g, name_i, qi in asked:
        if not isinstance(qi, Question):
            continue
        for _h, name_j, qj in asked:
            if qj is qi or not isinstance(qj, Question) or qj.prompt not in lessons.ASKED \
                    or qi.prompt not in lessons.ASKED:
                continue
            trace_i, step_i, _ = lessons.ASKED[qi.prompt]
            trace_j, step_j, policy_j = lessons.ASKED[qj.prompt]
            if (trace_i, step_i) != (trace_j, step_j):
                continue
            kernel = policy_j.removeprefix("linux-")
            for wrong, hint in qi.hints.items():
                if same_number(wrong, qj.answer):
                    assert not says(hint, [kernel]), \
                        f"{path.name}: {name_i}'s hint for {wrong} names {kernel}, whose answer {name_j} asks"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_the_words_under_a_question_about_its_steps_are_folded(path):
    """Markdown between a question's cell and the next code cell that shows something new, which discusses
    a step the question asks about ("step 4"), is on screen before it is answered: it must be in a fold."""
    pending: list[int] = []
    for cell in cells(path):
        code = source(cell)
        if cell["cell_type"] == "code":
            asked = [getattr(lessons, name)() for name in re.findall(r"lessons\.(q\w+)\(\)", code)]
            steps = [lessons.ASKED[q.prompt][1] for q in asked if q.prompt in lessons.ASKED]
            if asked:
                pending = steps
            elif "answers(" not in code:
                pending = []
            continue
        shown = re.sub(r"<details.*?</details>", "", code, flags=re.S)
        for step in pending:
            assert not re.search(rf"\bsteps? {step}\b|\(step {step}\)", shown), \
                f"{path.name}: the text under a question about step {step} discusses it unfolded: {shown[:120]!r}"


def test_the_course_cites_no_file_a_learner_cannot_open():
    """The notebooks (and the static site built from them) are all a learner has: docs/ and the repository's
    other files are not there, so the course says what they say instead of citing them."""
    for path in COURSE:
        for cell in cells(path):
            text = source(cell) + outputs(cell)
            for o in cell.get("outputs", []):
                text += "".join(o.get("data", {}).get("text/html", ""))
            cited = re.findall(r"(?<![\w/.])docs/[\w./-]*", text)
            assert not cited, f"{path.name} cites {cited}, which a learner in the course cannot open"


# -- what is on screen before each question is answered --------------------------------------------------

def ask_cells(path):
    """The cells that ask questions, in order: (cell index, [lessons' function names]). ``ask(q1, q2, ...)``
    shows q1 at once and each later one only once the one above it is answered."""
    return [(n, re.findall(r"lessons\.(q\w+)\(\)", source(c))) for n, c in enumerate(cells(path))
            if c["cell_type"] == "code" and re.search(r"lessons\.q\w+\(\)", source(c))]


def concept_rows(path):
    """The rows of a notebook's markdown tables (its concept tables among them) outside any fold."""
    return [line for c in cells(path) if c["cell_type"] == "markdown"
            for line in re.sub(r"<details.*?</details>", "", source(c), flags=re.S).splitlines()
            if line.startswith("|")]


def words_of(q, answered):
    """What a question puts on screen: its prompt and options; once answered, its hints, why and reveal too."""
    said = [q.prompt, *(o.text for o in getattr(q, "options", ()))]
    if answered:
        said += [o.hint for o in getattr(q, "options", ())] + [q.why, q.reveal]
        hints = getattr(q, "hints", {})
        said += [h for h in hints.values() if isinstance(h, str)]
        said += [h for d in hints.values() if isinstance(d, dict) for h in d.values()]
        said += [getattr(q, "hint", "")]
    return "\n".join(said)


def unfolded_below(cell):
    """A code cell below a question (before the next one) whose output is not folded (no answers() fold, no
    widget): it is on screen beside the question (08's replay of LTP's segment test, just under its shmat
    question, showed shmat's row)."""
    code = source(cell)
    return bool(cell.get("outputs")) and "answers(" not in code and "SplitExplorer(" not in code


def screen_before(path, at, index):
    """(where, text) of all that is on screen when question ``index`` of the ask cell at ``at`` is first open:
    every question's text that Run All leaves open (each ask cell's first question, prompt and options), every
    question answered before it (hints, why and reveal included), the folds above it (opened after their
    questions), the notebook's markdown outside folds, and the concept rows of this notebook and the earlier
    ones."""
    shown = []
    following = min([cell_at for cell_at, _ in ask_cells(path) if cell_at > at], default=len(cells(path)))
    for cell_at, names in ask_cells(path):
        for n, name in enumerate(names):
            if (cell_at, n) == (at, index):
                continue
            answered = cell_at < at or (cell_at == at and n < index)
            if answered or n == 0:
                shown.append((f"{name}{' (answered)' if answered else ''}",
                              words_of(getattr(lessons, name)(), answered)))
    for n, cell in enumerate(cells(path)):
        if cell["cell_type"] == "markdown":
            shown.append((f"markdown cell {n}", re.sub(r"<details.*?</details>", "", source(cell), flags=re.S)))
            continue
        # every cell's code is on screen, and its names read as words: 06's `lessons.q06_why_segv()` above its
        # question said "segv", 08's `describe("file-reservation-outlives-mapping")` "reservation outlives"
        shown.append((f"code of cell {n}", re.sub(r"[_\-.]+", " ", source(cell))))
        if n < at or (at < n < following and unfolded_below(cell)):
            shown.append((f"output of cell {n}", outputs(cell)))
    for earlier in [p for p in NUMBERED if p.name <= path.name]:
        shown += [(f"{earlier.name}'s concept row", row) for row in concept_rows(earlier)]
    return shown


_STOP = {"a", "an", "the", "of", "to", "and", "or", "in", "on", "at", "is", "are", "it", "its", "by", "for", "be",
         "as", "that", "this", "with", "from", "not", "no", "one", "each", "every", "was", "were", "into", "has",
         "have", "had", "so", "than", "then"}


def shingles(text):
    """Every run of four words (at least two of them not small words): a sentence saying what an option
    says shares some of them with it."""
    w = re.findall(r"[a-z0-9_]+(?:->[a-z_]+)?", text.lower())
    return {" ".join(w[i:i + 4]) for i in range(len(w) - 3) if sum(x not in _STOP for x in w[i:i + 4]) >= 2}


def said_by_right_option(q):
    """For a why question, the four-word runs of its right option that neither its prompt nor a wrong option
    says: on screen before the question is answered, they give the right option away."""
    if not isinstance(q, Choice):
        return set()
    others = q.prompt + "\n" + "\n".join(o.text for n, o in enumerate(q.options) if n != q.answer)
    return shingles(q.right.text) - shingles(others)


GUARDED = NUMBERED

#: kernel names that say a question's answer: the glossary lists each as a term (a learner looks it up after the
#: notebook has named it), but the notebook keeps it off the screen until the question is answered. 05's concept
#: table named Linux 6.9's change `restore_reserve` for MADV_DONTNEED, and the section under the question said
#: "Another case the v6.9 restore meets": together they said the dropped page's reservation comes back.
SCREEN_TELLS = {
    "q05_dontneed": ["restore_reserve", "v6.9 restore", "6.9 restore"],
}

#: four-word runs a text must share with a why question's right option to give it away: two (a five-word echo, or
#: two phrases). One run alone is the course's common wording: 00's outcome table defining SIGSEGV as "nothing is
#: mapped there" (the right option names SIGSEGV and its wrong one SIGBUS: the definition says what an outcome
#: means, not which the step has), 07's "that page's reservation back", 10's "back to the pool" about a minimum.
ECHO = 2


@pytest.mark.parametrize("path", GUARDED, ids=lambda p: p.stem)
def test_nothing_on_screen_before_a_question_gives_it_away(path):
    """A question's answer (its giveaways, and for a why question what its right option says) is in no
    question, option, hint, explanation, concept row or sentence on screen before it is answered: the
    questions that Run All leaves open below it included."""
    found = []
    for at, names in ask_cells(path):
        for index, name in enumerate(names):
            q = getattr(lessons, name)()
            for where, text in screen_before(path, at, index):
                for giveaway in lessons.giveaways(q) + SCREEN_TELLS.get(name, []):
                    if giveaway in squash(text):
                        found.append(f"{name}: {where} says {giveaway!r}")
                same = said_by_right_option(q) & shingles(text)
                if len(same) >= ECHO:
                    found.append(f"{name}: {where} says what its right option says: {sorted(same)}")
    assert not found, f"{path.name}:\n" + "\n".join(found)


def printed_before(path):
    """Everything the course printed before ``path`` (folded or not: the learner opened the folds), with
    every earlier question's reveal."""
    text = []
    for earlier in [p for p in NUMBERED if p.name < path.name]:
        text += [outputs(c) for c in cells(earlier)]
        text += [getattr(lessons, name)().reveal for _at, names in ask_cells(earlier) for name in names]
    return text


#: the notebooks whose one-counter questions are checked too: all of them (07 and 10 once asked 6.18's Rsvd
#: at step 5 of 05's fork-unmap trace, whose row 05's fold had printed)
ONE_COUNTER_CHECKED = ("00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10")


@pytest.mark.parametrize("path", GUARDED, ids=lambda p: p.stem)
def test_a_whole_row_answer_is_no_row_printed_earlier(path):
    """Predicting a row (or one counter of a step) is reasoning only if the same row (the same operation, the
    same four counters) is not in a table the learner has already seen: in an earlier notebook, or above the
    question in this one (01 once asked Free after `touch a 0` of 00's seed, whose table 00 had shown)."""
    before = printed_before(path)
    for at, names in ask_cells(path):
        for name in names:
            q = getattr(lessons, name)()
            counts = isinstance(q, Question) and q.prompt in lessons.FIELD and path.name[:2] in ONE_COUNTER_CHECKED
            if isinstance(q, Row) or counts:
                for giveaway in lessons.giveaways(q)[:2]:
                    seen = [t for t in before if giveaway in squash(t)]
                    assert not seen, f"{path.name}: {name}'s row {giveaway!r} was printed earlier"
        before += [outputs(c) for c in cells(path)[:at]]


# -- how the tables read in JupyterLab -----------------------------------------------------------------

@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_side_by_side_tables_are_html_tables_whose_cells_wrap_only_between_words(path):
    """JupyterLab wraps a printed line anywhere at the output's edge: at 1068 px a side-by-side table's row ran
    on under the next, "SIGBU" / "S" and 18446744073709551610 split. Every side-by-side table (T/F/R/S blocks)
    and grid is shown as an HTML table whose every word is kept whole; its plain text is what nbval compares."""
    for n, cell in enumerate(cells(path)):
        for o in cell.get("outputs", []):
            plain = "".join(o.get("text", "")) or "".join(o.get("data", {}).get("text/plain", ""))
            if "T/F/R/S" not in plain and not re.search(r"^behaviour\s+2\.6\.26", plain, re.M):
                continue
            page = "".join(o.get("data", {}).get("text/html", ""))
            assert "<table class='hugelab-table'" in page, f"{path.name} cell {n}: a side-by-side table printed as text"
            for td in re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.S):
                bare = re.sub(r"<span style='white-space:nowrap'>[^<]*</span>", "", td)
                assert not bare.strip(), f"{path.name} cell {n}: a cell's words may break: {td!r}"


def test_a_cells_words_are_kept_whole_and_a_wrapped_value_is_one_word():
    from hugelab.teaching.notebook import _cell
    assert _cell("fork-unmap") == "<span style='white-space:nowrap'>fork-unmap</span>"
    word = "<span style='white-space:nowrap'>{}</span>"
    # a wrapped value in its short exact form (27 characters made every row two lines at 1068 px)
    assert _cell("8/0/18446744073709551610 (= -6)/0") == word.format("8/0/2\u2076\u2074\u2212" "6/0")
    assert _cell("in b touch big 0").count("<span") == 5


def test_a_table_with_a_wrapped_value_says_its_long_form_under_it():
    from hugelab import replay
    from hugelab.scenarios import load
    from hugelab.teaching.notebook import compare_html

    text, page = compare_html(["double-credit", "region-count"], [replay(load("seed"), p)
                                                                  for p in ("double-credit", "region-count")])
    assert "18446744073709551610 (= -6)" in text  # the plain form (nbval, the tests) unchanged
    table, key = page.split("</table>", 1)
    assert "18446744073709551610" not in table and "2\u2076\u2074\u2212" "6" in table
    assert "2\u2076\u2074\u2212" "6: the kernel prints 18446744073709551610 (= -6)" in key


@pytest.mark.parametrize("policy", ["double-credit", "modern"])
def test_a_printed_replay_table_is_shown_as_the_course_html_table_cell_for_cell(policy):
    """A question's reveal is text (a table, then the asked step): at 1068 px its printed rows wrapped, a
    20-digit Rsvd sizing the column and every outcome on a line of its own. printout_html shows each table in
    it as show_replay's HTML table (the one code path), read back from the text column by column."""
    from hugelab.model.hstate import show
    from hugelab.teaching.notebook import _short, printout_html
    from hugelab.tools.tables import outcome, table

    shown = 0
    for name in scenarios.names():
        try:
            steps = replay(scenarios.load(name), policy)
        except TraceError:  # an operation that era has not (a file, a mount)
            continue
        shown += 1
        after = f"after step {len(steps)}: Rsvd {show(steps[-1].counters.rsvd)}"
        page = printout_html(f"{policy}:\n{table(steps)}\n{after}")
        head, body = page.split("</thead>")
        rows = [[html.unescape(re.sub(r"<[^>]+>", "", td)) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
                for tr in re.findall(r"<tr>(.*?)</tr>", body)]
        c = [s.counters for s in steps]
        assert rows == [[str(n), s.op, *(_short(show(v)) for v in (k.total, k.free, k.rsvd, k.surp)), outcome(s)]
                        for n, (s, k) in enumerate(zip(steps, c), 1)], name
        assert html.escape(_short(after)) + "</div>" in page and f"{policy}:</div>" in head
    assert shown >= 15


# -- what 00 promises, and what is taught before it is asked ----------------------------------------------

def markdown_before_first_question(path):
    text = ""
    for cell in cells(path):
        if cell["cell_type"] == "code" and re.search(r"lessons\.q\w+\(\)", source(cell)):
            return text
        if cell["cell_type"] == "markdown":
            text += re.sub(r"<details.*?</details>", "", source(cell), flags=re.S) + "\n"
    return text


def test_00_promises_of_its_folds_no_more_than_a_fold_keeps():
    """A fold is a plain HTML <details>: anyone can open it, before Run All too (the committed notebooks keep
    their outputs, for nbval). 00 asks the learner to open one only once they have answered, and does not
    promise that a fold opens only then."""
    text = squash(" ".join(source(c) for c in cells(NOTEBOOKS / "00-start-here.ipynb")
                           if c["cell_type"] == "markdown"))
    for promise in ("stays folded", "opens only", "only when you click"):
        assert promise not in text, f"00 promises what a fold cannot keep: {promise!r}"
    assert "open one only once you have answered" in text


def test_00_defines_the_four_counters_before_its_first_question():
    """Its first question asks a whole row, Surp included: each counter is defined above it."""
    before = markdown_before_first_question(NOTEBOOKS / "00-start-here.ipynb")
    for head in ["**Total**", "**Free**", "**Rsvd**", "**Surp**"]:
        assert head in before, f"00 asks for {head} before it defines it"


def test_a_read_fault_is_taught_to_take_a_page_before_a_question_asks_about_one():
    """A virtual-memory student expects a read fault to map the shared zero page and take nothing; hugetlb has
    no zero page. The course says so before a question asks about a step that only reads."""
    taught = ""
    for path in NUMBERED:
        for cell in cells(path):
            if cell["cell_type"] == "markdown":
                taught += re.sub(r"<details.*?</details>", "", source(cell), flags=re.S) + "\n"
                continue
            for name in re.findall(r"lessons\.(q\w+)\(\)", source(cell)):
                q = getattr(lessons, name)()
                if q.prompt not in lessons.ASKED:
                    continue
                trace, step, policy = lessons.ASKED[q.prompt]
                if replay(trace, policy)[step - 1].op.endswith(" read"):
                    assert "zero page" in taught, f"{path.name}: {name} asks about a read fault before it is taught"

# -- what an earlier notebook already said ------------------------------------------------------------------

def said_in(path):
    """Everything ``path`` shows a learner who works through it: its markdown (folds opened), its outputs,
    and every question's words and feedback."""
    text = [source(c) for c in cells(path) if c["cell_type"] == "markdown"]
    text += [outputs(c) for c in cells(path)]
    text += [words_of(getattr(lessons, name)(), True) for _at, names in ask_cells(path) for name in names]
    return squash("\n".join(text))


def answered_elsewhere(q):
    """What says ``q``'s answer whatever trace a page is about: the words registered with ``lessons._tells``,
    a why question's explanation, and a close question's arithmetic (its reveal's ' = ' lines)."""
    forms = list(lessons.TOLD.get(q.prompt, ()))
    if isinstance(q, Choice):
        forms.append(squash(q.why))
    elif isinstance(q, Question) and q.prompt not in lessons.ASKED:
        forms += [squash(line) for line in q.reveal.splitlines() if " = " in line]
    return forms


#: the notebooks a fresh learner took end to end (issue 25), and 10, whose why_leak once asked what 08's "A leak in
#: Linux 6.18" had said; 08's why_outlives is said by 02 ("reservations belong to the file") and waits for its owner
RECALLED = [p for p in NUMBERED if p.name < "06" or p.name >= "10"]


@pytest.mark.parametrize("path", RECALLED, ids=lambda p: p.stem)
def test_no_earlier_notebook_says_a_questions_answer(path):
    """A learner arrives having read the notebooks before: 03's answers fold printed the seed's closes, 02's
    feedback said half-open windows never overlap. A question whose answer they said is recall, not
    prediction."""
    earlier = {p.name: said_in(p) for p in NUMBERED if p.name < path.name}
    found = []
    for name, q in asked_in(path).items():
        for form in answered_elsewhere(q):
            found += [f"{name}: {where} said {form!r}" for where, text in earlier.items() if form in text]
    assert not found, f"{path.name}:\n" + "\n".join(found)


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_no_page_sends_the_learner_into_a_fold_before_answering(path):
    """A fold opened 'once you have answered' is the answer's place: a page that says to open it and then
    answer makes the question a reading exercise (03 sent the learner to the two kernel tests first)."""
    for n, cell in enumerate(cells(path)):
        if cell["cell_type"] != "markdown":
            continue
        shown = squash(re.sub(r"<details.*?</details>", "", source(cell), flags=re.S)).lower()
        sent = re.search(r"\bopen\b[^.]*\bthen answer|\bopen\b[^.]*\bbefore (?:you )?answer", shown)
        assert not sent, f"{path.name} cell {n}: {sent.group(0)!r}"


def test_04_shows_the_fixs_close_as_84afd99b_wrote_it():
    """04 lists hugelab's close hooks as 'the code under study': the fix's must be 84afd99b's
    hugetlb_vm_op_close, not carry 7251ff78's quota line (a later commit) inside 'the fix'."""
    nb = cells(NOTEBOOKS / "04-the-fix.ipynb")
    (listing,) = [outputs(c) for c in nb if "show_source(RegionCount.close)" in source(c)]
    assert "region_count(" in listing and "hugetlb_acct_memory(-" in listing
    for later in ("7251ff78", "quota", "put_pages", "spool"):
        assert later not in listing, f"04's RegionCount.close shows {later!r}, which 84afd99b did not have"


# -- where the path goes next ------------------------------------------------------------------------------

def named_notebooks(text):
    """The notebooks a text names as such: `NN-name`, **NN-name** or NN-name.ipynb (not "03-key.pdf")."""
    return re.findall(r"\*\*(\d\d-[a-z][\w-]*)\*\*|`(?:notebooks/)?(\d\d-[a-z][\w-]*?)(?:\.ipynb)?`"
                      r"|(\d\d-[a-z][\w-]*)\.ipynb", text)


def test_the_course_points_only_at_notebooks_that_exist_and_calls_the_last_one_last():
    """06's summary said 'last **09-self-test**' while 10-bug-zoo followed it, and the hub guide handed out
    '00-start-here.ipynb to 09-self-test.ipynb': a learner stopped one notebook short."""
    stems = [p.stem for p in NUMBERED]
    pages = {p.name: "\n".join(source(c) for c in cells(p) if c["cell_type"] == "markdown") for p in COURSE}
    pages.update({str(p.relative_to(NOTEBOOKS.parent)): p.read_text()
                  for p in [NOTEBOOKS.parent / "README.md", *sorted((NOTEBOOKS.parent / "docs").glob("*.md"))]})
    named = 0
    for where, text in pages.items():
        text = squash(text)
        for name in ["".join(groups) for groups in named_notebooks(text)]:
            assert name in stems, f"{where} names the notebook {name!r}, which is not in notebooks/"
            named += 1
        for last in re.findall(r"\blast\W+(?:notebook\W+)?(\d\d-[a-z][\w-]*)", text):
            assert last == stems[-1], f"{where} calls {last} the last notebook; it is {stems[-1]}"
        for _first, last in re.findall(r"(00-[a-z][\w-]*)(?:\.ipynb)?`? to `?(\d\d-[a-z][\w-]*)", text):
            assert last == stems[-1], f"{where} gives the path as ending at {last}; it ends at {stems[-1]}"
        for nxt in re.findall(r"\bNext: \W*(\d\d-[a-z][\w-]*)", text):
            here = stems.index(Path(where).stem)
            assert nxt == stems[here + 1], f"{where}: 'Next' names {nxt}; the notebook after it is {stems[here + 1]}"
    assert named >= 10


COUNTED = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_a_fold_that_counts_the_questions_it_waits_for_counts_the_ones_above_it(path):
    """03's fold 'open once you have answered the first two' sat under an ask cell of three questions: which
    two, and was the third safe? A fold's title or the words that introduce it, naming a number of questions
    to answer first, name all the questions of the ask cell above it."""
    above = 0
    for n, cell in enumerate(cells(path)):
        code = source(cell)
        if cell["cell_type"] == "code" and re.search(r"lessons\.q\w+\(\)", code):
            above = len(re.findall(r"lessons\.(q\w+)\(\)", code))
        for first, word in re.findall(r"answered the (first )?(\w+)(?= questions| above|\b)", squash(code)):
            if word in COUNTED:
                assert not first and COUNTED[word] == above, \
                    f"{path.name} cell {n}: 'answered the {first}{word}' under an ask cell of {above} questions"
