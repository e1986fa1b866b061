"""``hugelab print``: the course's notebooks, exercise sheets and the course key as PDF.

Printed pages for a class that works on paper (or an LMS that takes PDFs):

* **notebooks**: each numbered notebook as its reader sees it, without the code, with a box to
  write in where a predict widget asks a question (the prompt above it, room for 20 digits), the
  interactive explorer named instead of drawn, and answers that the notebook folds away left
  folded; ``key=True`` fills every box with the answer and why, and opens the folds;
* **sheets**: exercise sheets, one a page, landscape, with name and id lines and answer cells
  wide enough for a wrapped counter (18446744073709551610); ``key=True`` filled in;
* **key**: every question of the course with its answer, why, and each likely wrong answer with
  the misconception behind it (the lessons' hints): the teacher's printable key.

HTML is made here; Debian's chromium prints it (``--headless --print-to-pdf``): no LaTeX, no
network. The course's HTML comes from nbconvert (the notebooks extra).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .predict import ROW_FIELDS, Choice, Question, Row, both_forms, letter

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; }
pre, code { white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere; font-size: 9pt;
            font-family: "DejaVu Sans Mono", monospace !important; }
.jp-OutputArea-output pre { white-space: pre-wrap !important; word-break: normal !important;
                            overflow-wrap: break-word !important; font-size: 8pt; }
.hl-q { border: 1px solid #555; border-radius: 4px; padding: 6px 10px; margin: 8px 0; break-inside: avoid; }
.hl-q .prompt { font-weight: bold; }
.hl-box { display: inline-block; border: 1px solid #000; min-width: 24ch; height: 1.8em; margin: 6px 0 2px 0;
          font-family: "DejaVu Sans Mono", monospace; vertical-align: middle; padding: 0 6px; line-height: 1.8em; }
.hl-why { font-style: italic; }
.hl-note { color: #555; font-style: italic; border-left: 3px solid #aaa; padding-left: 8px; }
.hl-wrong li { margin: 2px 0; }
.hl-options { list-style: none; padding-left: 8px; margin: 4px 0; }
.hl-box.hl-letter { min-width: 4ch; }
.hl-field { display: inline-block; white-space: nowrap; margin-right: 10px; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; } h3 { font-size: 11.5pt; }
"""

SHEET_CSS = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; }
.sheet { break-after: page; }
.sheet:last-child { break-after: auto; }
.who td { padding: 4px 10px 4px 0; }
.line { display: inline-block; border-bottom: 1px solid #000; min-width: 60ch; }
table.steps { border-collapse: collapse; margin-top: 8px; }
table.steps th, table.steps td { border: 1px solid #444; padding: 3px 6px; height: 1.7em; }
table.steps td.op { font-family: "DejaVu Sans Mono", monospace; white-space: nowrap; }
table.steps td.cell { min-width: 21ch; font-family: "DejaVu Sans Mono", monospace; text-align: right; }
table.steps td.outcome { min-width: 9ch; }
.help { color: #333; font-size: 9pt; }
"""


class PrintError(Exception):
    """Printing cannot be done here: one sentence."""


def _page(title: str, body: str, css: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{css}</style></head><body>{body}</body></html>")


def to_pdf(page: str, out: Path, timeout: float = 180) -> None:
    """Print the HTML ``page`` to ``out`` with headless chromium."""
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
                   None)
    if browser is None:
        raise PrintError("printing needs chromium (Debian: apt-get install chromium)")
    out = out.resolve()
    if not out.parent.is_dir():
        raise PrintError(f"no folder {out.parent} to write {out.name} into")
    with tempfile.TemporaryDirectory(prefix="hugelab-print-") as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(page, encoding="utf-8")
        command = [browser, "--headless", "--disable-gpu", "--no-pdf-header-footer", f"--user-data-dir={tmp}/profile",
                   f"--print-to-pdf={out}", source.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # chromium refuses to run as root with its sandbox
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PrintError(f"chromium did not print within {timeout:.0f} s") from None
        if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise PrintError(f"chromium could not print (exit status {done.returncode}): {last}")


# -- questions -------------------------------------------------------------------------------------

def question_html(q, key: bool, number: str = "") -> str:
    """A question as printed: a box for a number, four for a whole row, letters for a why question;
    with ``key``, filled in, and why."""
    prompt = f"<div class='prompt'>{html.escape(number)}{html.escape(q.prompt)}</div>"
    why = f" <span class='hl-why'>{html.escape(q.why)}</span>" if key and q.why else ""
    if isinstance(q, Choice):
        options = "".join(f"<li>{letter(n)}) {html.escape(o.text)}</li>" for n, o in enumerate(q.options))
        said = letter(q.answer) if key else ""
        return (f"<div class='hl-q'>{prompt}<ul class='hl-options'>{options}</ul>"
                f"Your letter: <span class='hl-box hl-letter'>{said}</span>{why}</div>")
    if isinstance(q, Row):
        boxes = " ".join(f"<span class='hl-field'>{name} <span class='hl-box'>"
                         f"{html.escape(both_forms(v)) if key else ''}</span></span>"
                         for name, v in zip(ROW_FIELDS, q.answer))
        return f"<div class='hl-q'>{prompt}{boxes}{why}</div>"
    said, label = (html.escape(both_forms(q.answer)), "Answer") if key else ("", "Your answer")
    return f"<div class='hl-q'>{prompt}{label}: <span class='hl-box'>{said}</span>{why}</div>"


def misconceptions(q) -> list[tuple[str, str]]:
    """(the wrong answer, the idea behind it) for each hint a question has."""
    if isinstance(q, Choice):
        return [(f"{letter(n)}) {o.text}", o.hint) for n, o in enumerate(q.options) if o.hint]
    if isinstance(q, Row):
        return [(f"{name} {both_forms(w)}", h) for name, wrongs in q.hints.items() for w, h in wrongs.items()]
    return [(both_forms(w), h) for w, h in q.hints.items()]


def key_html(with_answers: bool = True) -> str:
    """The course's questions, notebook by notebook: answers, why, and the misconceptions."""
    from . import lessons
    from .assignments import TITLES

    parts = ["<h1>hugelab: the course's questions" + (" and answers</h1>" if with_answers else "</h1>")]
    for number, title in TITLES.items():
        found = [fn() for name, fn in lessons.ALL.items() if name.startswith(f"q{number}_")]
        if number == "09":
            found = lessons.self_test()
        if not found:
            continue
        parts.append(f"<h2>{number}. {html.escape(title)}</h2>")
        for i, q in enumerate(found, 1):
            parts.append(question_html(q, with_answers, f"{number}.{i} "))
            wrong = misconceptions(q)
            if with_answers and wrong:
                items = "".join(f"<li><b>{html.escape(w)}</b>: {html.escape(h)}</li>" for w, h in wrong)
                parts.append(f"<div class='hl-wrong'>Likely wrong answers and the idea behind each:<ul>{items}</ul>"
                             "</div>")
    return _page("hugelab course key", "".join(parts), PRINT_CSS)


# -- notebooks -------------------------------------------------------------------------------------

_ASKS = re.compile(r"lessons\.(q\d\d_\w+)\(\)")
_WIDGET = "application/vnd.jupyter.widget-view+json"


def _asked(source: str) -> list[Question | Row | Choice]:
    from . import lessons

    asked: list[Question | Row | Choice] = [lessons.ALL[n]() for n in _ASKS.findall(source) if n in lessons.ALL]
    if "lessons.self_test()" in source:
        asked += lessons.self_test()
    return asked


def notebook_html(path: Path, key: bool) -> str:
    """One notebook for print: prose and outputs without the code, boxes where it asks."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        asked = _asked(cell.source)
        if asked:
            boxes = "".join(question_html(q, key) for q in asked)
            cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": boxes})]
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if _WIDGET in output.get("data", {}):
                note = ("<div class='hl-note'>[An interactive explorer is here: open the notebook in JupyterLab "
                        "to use it.]</div>")
                outputs.append(nbformat.v4.new_output("display_data", data={"text/html": note}))
            else:
                outputs.append(output)
        cell.outputs = outputs
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    body = re.sub(r"<script\b.*?</script>", "", body, flags=re.S)  # nothing runs on paper
    if key:
        body = re.sub(r"<details\b", "<details open", body)
    return body.replace("</head>", f"<style>{PRINT_CSS}</style></head>", 1)


# -- exercise sheets -------------------------------------------------------------------------------

def sheets_html(exercises: Iterable, key: bool, students: Iterable | None = None) -> str:
    """One page per exercise: who, seed, setting, and the table to fill in (or filled in)."""
    from ..tools.tables import outcome
    from .explain import FIELDS

    pages = []
    people = list(students) if students is not None else None
    for n, ex in enumerate(exercises):
        who = people[n] if people is not None else None
        name = html.escape(who.name) if who is not None and who.name else ""
        ident = html.escape(who.id) if who is not None and who.id else ""
        setting = "" if ex.difficulty.free else f", difficulty {html.escape(ex.difficulty.name())}"
        head = (f"<h2>hugelab exercise {'key' if key else 'sheet'}: seed {ex.seed}</h2>"
                f"<table class='who'><tr><td>name</td><td><span class='line'>{name}</span></td></tr>"
                f"<tr><td>id</td><td><span class='line'>{ident}</span></td></tr></table>"
                f"<p class='help'>seed {ex.seed}, length {ex.length}{setting}. Predict what /proc/meminfo shows after "
                "each step: HugePages_Total, Free, Rsvd, Surp, and the outcome (ok, ENOMEM, EINVAL, SIGBUS, "
                "SIGSEGV). A counter below zero may be written signed (-6) or as the kernel prints it "
                "(18446744073709551610).</p>")
        tables = []
        for policy, steps in zip(ex.policies, ex.runs):
            rows = []
            for number, s in enumerate(steps, 1):
                c = s.counters
                values = [str(c.total), str(c.free), str(c.rsvd), str(c.surp)] if key else ["", "", "", ""]
                cells = "".join(f"<td class='cell'>{v}</td>" for v in values)
                rows.append(f"<tr><td>{number}</td><td class='op'>{html.escape(s.op)}</td>{cells}"
                            f"<td class='outcome'>{outcome(s) if key else ''}</td></tr>")
            heads = "".join(f"<th>{f}</th>" for f in ("step", "op", *FIELDS, "outcome"))
            tables.append(f"<h3>policy {html.escape(policy)}</h3><table class='steps'><tr>{heads}</tr>"
                          f"{''.join(rows)}</table>")
        pages.append(f"<div class='sheet'>{head}{''.join(tables)}</div>")
    return _page("hugelab exercise sheets", "".join(pages), SHEET_CSS)


def notebooks_html(paths: list[Path], key: bool) -> str:
    """Several notebooks in one document, each starting on a new page."""
    pages = [notebook_html(p, key) for p in paths]
    head = pages[0].split("<body", 1)[0]
    bodies = [re.sub(r"^.*?<body[^>]*>|</body>.*$", "", page, flags=re.S) for page in pages]
    joined = "<div style='break-after: page'></div>".join(bodies)
    return f"{head}<body>{joined}</body></html>"


def numbered_notebooks(course: Path, wanted: list[str]) -> list[Path]:
    """The course's numbered notebooks (``NN-*.ipynb``), those of ``wanted`` numbers, in order.
    PrintError naming a number that has no notebook."""
    found = {p.name[:2]: p for p in sorted(course.glob("[0-9][0-9]-*.ipynb"))}
    for number in wanted:
        if number not in found:
            raise PrintError(f"no notebook {number}; the course has {', '.join(found)}")
    return [found[n] for n in (wanted or list(found))]
