"""Small helpers the notebooks call, so that no library code lives in a notebook.

Text outputs only (they read on GitHub and nbviewer, and nbval compares
them); the widgets live in :mod:`hugelab.widgets.controls`.
"""

from __future__ import annotations

import html
import inspect
import io
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from ..model.hstate import show
from ..replay import Step, as_trace, replay
from ..scenarios import describe, load
from ..tools.hunt import _with_exits, hunt
from ..tools.tables import differ_line, grid, outcome, rows_text, runs_rows, table
from .walkthrough import Moment, Walk, prose_html

#: a text block's look in HTML: lines wrap only between words (JupyterLab's own outputs wrap anywhere, splitting
#: "SIGBUS" and 18446744073709551610 at the right edge)
PRE = "white-space:pre-wrap;word-break:normal;overflow-wrap:normal"
#: a table's cell: one word never broken, a cell wraps only at its own spaces (JupyterLab's sanitizer keeps
#: plain values only: px, no var())
CELL = ("padding:1px 7px 1px 0;border:none;vertical-align:top;word-break:keep-all;overflow-wrap:normal;"
        "font-family:monospace;font-size:12px")


#: a monospace character's width in em (DejaVu Sans Mono, Menlo and Consolas are all 0.6): JupyterLab's sanitizer
#: keeps em, not ch
CHAR_EM = 0.6
#: how much deeper than its line's own indent a wrapped line's continuation starts, in characters
HANG = 4


def pre_html(text: str) -> str:
    """``text`` as a block that wraps only between words, each line's continuation indented under it (a
    plain pre-wrap block started 10's long commit titles' second line at column 0)."""
    lines = []
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        pad, hang = (indent + HANG) * CHAR_EM, HANG * CHAR_EM
        lines.append(f"<div style='padding-left:{pad:g}em;text-indent:-{hang:g}em'>"
                     f"{html.escape(line.lstrip(' ')) or ' '}</div>")
    return f"<pre style='{PRE}'>{''.join(lines)}</pre>"


class Shown:
    """A table printed in a notebook: its text as the plain form (nbval and the tests read it), an HTML
    table as JupyterLab's, so that at any width a row wraps only inside a cell, at a space."""

    def __init__(self, text: str, html_form: str) -> None:
        self.text, self.html = text, html_form

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html


def compare_html(names: list[str], runs: list) -> tuple[str, str]:
    """The side-by-side table of ``runs`` (one per name) as text and as an HTML table, and the line that
    counts the steps that differ."""
    statfs, rows, differ = runs_rows(runs)  # once: the text and the HTML table show the same cells
    text = rows_text(names, statfs, rows)
    parts = 3 if statfs else 2
    head = "".join(f"<th colspan={parts} style='{CELL};text-align:left'>{_cell(n)}</th>" for n in names)
    # statfs of one mount: its name in the heading, each cell "6 free of 6" kept whole ("q1:" / "6 free of 6" made
    # every row two lines at 1068 px, and the table fits that width only without the repeated name)
    mounts = {part.split(": ", 1)[0] for _m, _n, _op, blocks in rows for block in blocks[:len(names)]
              for part in block[2:3] if part}
    one = next(iter(mounts)) if len(mounts) == 1 and all(
        ", " not in part for _m, _n, _op, blocks in rows for block in blocks for part in block[2:3]) else ""
    sub = "".join(f"<th style='{CELL};text-align:left;font-weight:normal'>{_cell(w)}</th>"
                  for _ in names for w in ("T/F/R/S", "outcome", f"statfs {one}".strip())[:parts])
    body = []
    for mark, number, op, blocks in rows:
        cells = [(mark, "left"), (number, "right"), (op, "left")]
        cells += [(part if n < 2 else (part[len(one) + 2:] if one else part).replace(" ", "\u00a0"),
                   "left") for block in blocks for n, part in enumerate(block[:parts])]
        body.append("<tr>" + "".join(f"<td style='{CELL};text-align:{align}'>{_cell(c)}</td>"
                                     for c, align in cells) + "</tr>")
    table_html = _html_table(f"<tr><th style='{CELL}'></th><th style='{CELL};text-align:right'>step</th>"
                             f"<th style='{CELL};text-align:left'>op</th>{head}</tr>"
                             f"<tr><th colspan=3 style='{CELL}'></th>{sub}</tr>",
                             "".join(body)) + _wrapped_key([text]) + pre_html(differ_line(differ))
    return f"{text}\n{differ_line(differ)}", table_html


#: a wrapped counter as :func:`hugelab.model.show` prints it: "18446744073709551610 (= -6)"
_WRAPPED = re.compile(r"\b(\d{11,}) \(= -(\d+)\)")


def _short(text: str) -> str:
    """``text`` with each wrapped value in its short exact form, 2^64 - 6 (2⁶⁴, a minus sign): the 27 characters of
    "18446744073709551610 (= -6)" made every row of a table two lines at 1068 px (:func:`_wrapped_key` says the
    long form under the table)."""
    return _WRAPPED.sub(lambda m: f"2\u2076\u2074\u2212{m.group(2)}", text)


def _wrapped_key(texts: Sequence[str]) -> str:
    """Under a table of ``texts``' cells: what each short wrapped value stands for, as the kernel prints it."""
    found = {int(m.group(2)): m.group(1) for t in texts for m in _WRAPPED.finditer(t)}
    return "".join(pre_html(f"2\u2076\u2074\u2212{n}: the kernel prints {value} (= -{n})")
                   for n, value in sorted(found.items()))


def _cell(text: str) -> str:
    """A cell's HTML: each word kept whole (a hyphen is no place to break "fork-unmap"), a wrapped value in its
    short form (:func:`_short`); the cell wraps only between words."""
    words = _short(text).split(" ")
    return " ".join(f"<span style='white-space:nowrap'>{html.escape(w)}</span>" if w else "" for w in words)


def show_grid(rows: Sequence[tuple[str, ...]]) -> None:
    """Print a plain table (:func:`hugelab.tools.tables.grid`: the first row its heading); in JupyterLab an
    HTML table, whose cells wrap only at their own spaces."""
    head, *body = rows
    # a heading's parenthesis on a line of its own, and a wider gap: 07's "2.6.26  -mm 2.6.26 (pre-fix)  2.6.27
    # (84afd99b)" ran together into one line of names
    th = "".join(f"<th style='{CELL};padding-right:14px;text-align:left'>"
                 f"{'<br>('.join(_cell(part) for part in c.split(' (', 1))}</th>" for c in head)
    tr = "".join("<tr>" + "".join(f"<td style='{CELL};text-align:left'>{_cell(c)}</td>" for c in r) + "</tr>"
                 for r in body)
    text = grid(rows)
    _show(text, _html_table(f"<tr>{th}</tr>", tr) + _wrapped_key([text]))


def _html_table(head: str, body: str) -> str:
    """A table of :data:`CELL` cells as the course shows it: its own width, scrolled sideways only if a
    single word is wider than the window."""
    return ("<div style='overflow-x:auto'><table class='hugelab-table' style='border-collapse:collapse;"
            f"margin:0;table-layout:auto'><thead>{head}</thead><tbody>{body}</tbody></table></div>")


#: while :func:`answers` collects a fold's output: the tables printed into it, as (start, end, html) in its text
_TABLES: list[list[tuple[int, int, str]]] = []


def _show(text: str, html_form: str) -> None:
    """Print ``text``; in a fold, its HTML form replaces it there; elsewhere it is shown as a :class:`Shown`."""
    out = sys.stdout
    display = _display()
    if _TABLES and isinstance(out, io.StringIO):
        start = out.tell()
        print(text)
        _TABLES[-1].append((start, out.tell(), html_form))
    elif display is not None:
        display(Shown(text, html_form))
    else:
        print(text)


def _display() -> Callable[[Any], Any] | None:
    """IPython's ``display`` in a running kernel or shell, else None (a plain script prints)."""
    ipython = sys.modules.get("IPython")
    if ipython is None or ipython.get_ipython() is None:
        return None
    from IPython.display import display
    return display


class Folded:
    """Text that a notebook shows folded (an HTML ``<details>``), opened by a click.

    Its plain-text form is the text itself, so nbval still compares every
    number; JupyterLab shows the HTML form, closed, so the answers below a
    question are not on screen until the learner opens them. ``tables``: the
    (start, end, html) of tables printed into the text, shown as HTML tables.
    """

    def __init__(self, text: str, summary: str, why: str = "", tables: Sequence[tuple[int, int, str]] = ()) -> None:
        self.text, self.summary, self.why, self.tables = text, summary, why, list(tables)

    def __repr__(self) -> str:
        return f"{self.why}\n\n{self.text}" if self.why else self.text

    def _repr_html_(self) -> str:
        why = f"<p>{prose_html(self.why)}</p>" if self.why else ""
        body, at = [], 0
        for start, end, table_html in self.tables:
            if self.text[at:start].strip("\n"):
                body.append(pre_html(self.text[at:start].strip("\n")))
            body.append(table_html)
            at = end
        if self.text[at:].strip("\n"):
            body.append(pre_html(self.text[at:].strip("\n")))
        return (f"<details class='hugelab-answers'><summary><b>{html.escape(self.summary)}</b></summary>"
                f"{why}{''.join(body)}</details>")


@contextmanager
def answers(summary: str, why: str = "") -> Iterator[None]:
    """Whatever the block prints is shown folded, as one :class:`Folded` output, after ``why``
    (the explanation that would give the answers away if it were on screen). ``summary``, the fold's title,
    names what it waits for: 08's two neighbouring folds were both "Answers: open once you have answered", and a
    learner opened the one under the next question.

    The output goes through ``sys.displayhook``, as a cell's last value
    does: in IPython that shows the folded HTML; elsewhere the plain text.
    """
    out = io.StringIO()
    _TABLES.append([])
    try:
        with redirect_stdout(out):
            yield
    finally:
        tables = _TABLES.pop()
    text = out.getvalue()
    sys.displayhook(Folded(text.rstrip("\n"), summary, why, [(a, min(b, len(text.rstrip("\n"))), h)
                                                              for a, b, h in tables]))


def show_replay(trace: str, policy: str = "modern") -> None:
    """Print the replay table of ``trace`` (text or a scenario name) under ``policy``; in JupyterLab an HTML
    table (printed, a row with a wrapped Rsvd ran on to a second line at 1068 px, its outcome under its op)."""
    steps = replay(_text(trace), policy)
    text = table(steps)
    _show(text, _replay_html(steps, text))


def _replay_html(steps: Sequence[Step], text: str, statfs: bool = False) -> str:
    """The replay table of ``steps`` as an HTML table (:func:`show_replay`, :func:`show_statfs`); ``statfs``: a
    column of what statfs reports for each sized mount ("free of 3" ran on to a second line of every row of 08's
    folds at 1068 px). One mount: its name in the heading, each cell "1 free of 3" kept whole."""
    head = list(_REPLAY_HEAD)
    names = {m for s in steps for m in (s.mounts or {})}
    one = next(iter(names)) if len(names) == 1 else ""
    if statfs:
        head.append(f"statfs {one}".strip())
    rows = []
    for n, s in enumerate(steps, 1):
        c = s.counters
        row = [str(n), s.op, *(show(v) for v in (c.total, c.free, c.rsvd, c.surp)), outcome(s)]
        if statfs:
            row.append(", ".join((f"{m}: " if not one else "") + f"{free}\u00a0free\u00a0of\u00a0{size}"
                                 for m, (size, free) in (s.mounts or {}).items()))
        rows.append(row)
    return _replay_table_html(head, rows) + _wrapped_key([text])


#: a replay table's heading (:func:`hugelab.tools.tables.table`), and its columns set on the right
_REPLAY_HEAD = ("step", "op", "Total", "Free", "Rsvd", "Surp", "outcome")
_REPLAY_RIGHT = {0, 2, 3, 4, 5}


def _replay_table_html(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A replay table's rows (step, op, Total, Free, Rsvd, Surp, outcome, maybe statfs) as the course's HTML
    table: what :func:`show_replay`, :func:`show_statfs` and a question's reveal (:func:`printout_html`) show."""
    def row(cells: Sequence[str], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag} style='{CELL};text-align:{'right' if i in _REPLAY_RIGHT else 'left'}'>"
                                f"{_cell(c)}</{tag}>" for i, c in enumerate(cells)) + "</tr>"
    return _html_table(row(head, "th"), "".join(row(r, "td") for r in rows))


def _columns(lines: Sequence[str]) -> list[tuple[int, int]]:
    """The columns of a table printed as text (:func:`hugelab.tools.tables.table`): runs of characters
    separated by two or more spaces in every line (a cell holds single spaces only: "mmap a 4 private")."""
    width = max(map(len, lines))
    padded = [line.ljust(width + 2) for line in lines]
    blank = [all(line[i] == " " for line in padded) for i in range(width + 2)]
    spans, start = [], None
    for i in range(width + 2):
        before, after = i > 0 and blank[i - 1], i + 1 == width + 2 or blank[i + 1]
        gap = blank[i] and (before or after)  # a space beside another: between two columns
        if start is None and not gap:
            start = i
        elif start is not None and gap:
            spans.append((start, i))
            start = None
    return spans


def printout_html(text: str) -> str:
    """``text`` as the course shows a printout in JupyterLab: each replay table in it (its heading line
    ``step  op  Total ...``, as :func:`hugelab.tools.tables.table` prints it) as :func:`show_replay`'s HTML
    table, the other lines as :func:`pre_html` with a wrapped value in its short form, and under it all the
    key to the short forms (a question's reveal: a table, then the asked step)."""
    lines, page, at = text.split("\n"), [], 0
    plain: list[str] = []
    while at < len(lines):
        if lines[at].split() == list(_REPLAY_HEAD):
            end = at + 1
            while end < len(lines) and re.match(r"\s*\d+  \S", lines[end]):
                end += 1
            spans = _columns(lines[at:end])
            if len(spans) == len(_REPLAY_HEAD):
                if plain:
                    page.append(pre_html(_short("\n".join(plain))))
                    plain = []
                page.append(_replay_table_html(_REPLAY_HEAD, [[line[a:b].strip() for a, b in spans]
                                                              for line in lines[at + 1:end]]))
                at = end
                continue
        plain.append(lines[at])
        at += 1
    if plain:
        page.append(pre_html(_short("\n".join(plain))))
    return "".join(page) + _wrapped_key([text])


def show_compare(trace: str, *policies: str) -> None:
    """Print ``trace`` under several policies side by side, ``*`` where they differ."""
    names = list(policies) or ["double-credit", "region-count"]
    trace_ops = as_trace(_text(trace))
    _show(*compare_html(names, [replay(trace_ops, p) for p in names]))


def show_statfs(trace: str, policy: str = "modern") -> None:
    """Print the replay table of ``trace`` with what statfs reports, after each step, for every
    mount made with size= (free pages of its size)."""
    steps = replay(_text(trace), policy)
    lines = table(steps).splitlines()
    width = max(map(len, lines))
    out = [lines[0].ljust(width) + "  statfs"]
    for line, s in zip(lines[1:], steps):
        statfs = ", ".join(f"{m}: {free} free of {size}" for m, (size, free) in (s.mounts or {}).items())
        out.append((line.ljust(width) + "  " + statfs).rstrip())
    text = "\n".join(out)
    _show(text, _replay_html(steps, text, statfs=True))


def rsvd(trace: str, policy: str = "modern") -> list[int]:
    """HugePages_Rsvd after each step, as /proc/meminfo prints it."""
    return [s.counters.rsvd for s in replay(_text(trace), policy)]


def show_trace(trace: str) -> None:
    """Print a trace's operations numbered as steps (no counters: nothing to give an answer away)."""
    for number, op in enumerate(as_trace(_text(trace)), 1):
        print(f"{number:>4}  {op.text}")


def show_source(obj: Callable[..., Any] | type) -> None:
    """Print the source of a hugelab function or class: the code under study, as it runs. In JupyterLab a long
    line wraps between words, continued indented under its start (printed, it broke mid-word at the edge)."""
    text = textwrap.dedent(inspect.getsource(obj)).rstrip()
    _show(text, pre_html(text))


def course(folder: str = ".") -> tuple[list[tuple[int, str, str]], list[tuple[str, str]]]:
    """The notebooks in ``folder``: the numbered path as (number, file stem, title), in order, and the
    notebooks beside it as (stem, title). A notebook's number is its title's ("# 3. ..."), 0 for 00;
    the glossary is neither."""
    path, beside = [], []
    for notebook in sorted(Path(folder).glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        heading = next((("".join(c["source"]).strip().splitlines() or [""])[0] for c in cells
                        if c["cell_type"] == "markdown"), "").lstrip("# ").strip()
        number = re.match(r"(\d+)\. ", heading)
        if notebook.stem.startswith("00-"):
            path.append((0, notebook.stem, heading))
        elif number:
            path.append((int(number.group(1)), notebook.stem, heading[number.end():]))
        elif notebook.stem != "glossary":
            beside.append((notebook.stem, heading))
    return sorted(path), beside


def show_course(folder: str = ".") -> None:
    """Print the course in ``folder``: the path in order, then what sits beside it."""
    path, beside = course(folder)
    for number, stem, _title in path:
        print(f"{number:>2}  {stem}")
    for stem, title in beside:
        print(f"    {stem}: {title}")


def show_scenarios(names: list[str], policy: str = "modern") -> None:
    """For each scenario: what it shows (its opening comment), and how it ends under ``policy``."""
    lines = []
    for name in names:
        steps = replay(load(name), policy)
        c = steps[-1].counters
        odd = [f"step {n} {s.error}" for n, s in enumerate(steps, 1) if s.error]
        lines.append(f"{name}: {' '.join(describe(name).split())}")
        lines.append(f"    {len(steps)} steps; at the end Total {c.total} Free {c.free} Rsvd {show(c.rsvd)} "
                     f"Surp {c.surp}" + (f"; {', '.join(odd)}" if odd else "; every step ok"))
    show_lines(lines)


def show_lines(lines: Sequence[str]) -> None:
    """Print ``lines``. JupyterLab breaks a printed line anywhere ('MAP_NORESERV' / 'E', 'hugela' / 'b replay' at
    1068 px): in JupyterLab each line wraps at the window's width, between words, continued indented; the plain
    text is folded at spaces."""
    _show("\n".join(map(fold, lines)), pre_html("\n".join(lines)))


def show_walk(moments: Sequence[Moment]) -> None:
    """Show a walk-through's ``moments``, in an :func:`answers` fold too: in JupyterLab as prose, each sentence
    wrapping between words once at the window's edge (printed, folded at 100 and then again at the edge, they
    broke "if overcommit" / "allows")."""
    shown = Walk(moments)
    _show(repr(shown), shown._repr_html_())


def show_file(text: str) -> None:
    """Print a trace file as it is written; in JupyterLab its opening comment flows as one paragraph and each
    line wraps between words, once (the file's own breaks inside a sentence, then the window's, made its lines
    ragged)."""
    lines = text.rstrip("\n").split("\n")
    opening = 0
    while opening < len(lines) and lines[opening].startswith("#"):
        opening += 1
    paragraph = ["# " + " ".join(line[1:].strip() for line in lines[:opening])] if opening else []
    _show(text, pre_html("\n".join(paragraph + lines[opening:])))


def show_hunt(policy: str, traces: int, length: int, seed: int) -> None:
    """Print what ``hugelab hunt`` finds (or that it finds nothing)."""
    out = io.StringIO()
    hunt(policy, traces, length, seed, out=out)
    lines = out.getvalue().rstrip().split("\n")
    head = next((n for n, line in enumerate(lines) if line.startswith("step  op")), None)
    if head is None:
        show_lines(lines)
        return
    # the table of the find as the course's HTML table (printed, its outcome column ran on to a second line of
    # every row at 1068 px): the found trace is the lines between the first blank one and the table
    end = lines.index("", head)
    steps = replay(_with_exits("\n".join(lines[lines.index("") + 1:head]) + "\n"), policy)
    text = "\n".join(lines[head:end])
    assert table(steps) == text, "hunt's table is no longer the replay of its find"
    show_lines(lines[:head])
    _show(text, _replay_html(steps, text))
    show_lines(lines[end:])


#: the characters a printed line holds in a notebook at 1068 px with the file browser open (measured in chromium,
#: as a code cell's): JupyterLab breaks a longer one anywhere, mid-word included, so the helpers fold their long
#: lines at spaces first (the plain form; JupyterLab shows the HTML form, which wraps between words at any width)
WIDTH = 80


def fold(text: str, width: int = WIDTH) -> str:
    """``text`` with every line longer than ``width`` folded at spaces, continued one indent deeper."""
    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        out += textwrap.wrap(line, width, initial_indent="", subsequent_indent=indent + "    ",
                             break_long_words=False, break_on_hyphens=False)
    return "\n".join(out)


def _text(trace: str) -> str:
    return trace if "\n" in trace or " " in trace else load(trace)
