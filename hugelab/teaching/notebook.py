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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from ..model.hstate import show
from ..replay import as_trace, replay
from ..scenarios import describe, load
from ..tools.hunt import hunt
from ..tools.tables import compare_table, differ_line, table


class Folded:
    """Text that a notebook shows folded (an HTML ``<details>``), opened by a click.

    Its plain-text form is the text itself, so nbval still compares every
    number; JupyterLab shows the HTML form, closed, so the answers below a
    question are not on screen until the learner opens them.
    """

    def __init__(self, text: str, summary: str, why: str = "") -> None:
        self.text, self.summary, self.why = text, summary, why

    def __repr__(self) -> str:
        return f"{self.why}\n\n{self.text}" if self.why else self.text

    def _repr_html_(self) -> str:
        why = f"<p>{html.escape(self.why)}</p>" if self.why else ""
        return (f"<details class='hugelab-answers'><summary><b>{html.escape(self.summary)}</b></summary>"
                f"{why}<pre>{html.escape(self.text)}</pre></details>")


@contextmanager
def answers(summary: str = "Answers: open once you have answered", why: str = "") -> Iterator[None]:
    """Whatever the block prints is shown folded, as one :class:`Folded` output, after ``why``
    (the explanation that would give the answers away if it were on screen).

    The output goes through ``sys.displayhook``, as a cell's last value
    does: in IPython that shows the folded HTML; elsewhere the plain text.
    """
    out = io.StringIO()
    with redirect_stdout(out):
        yield
    sys.displayhook(Folded(out.getvalue().rstrip("\n"), summary, why))


def show_replay(trace: str, policy: str = "modern") -> None:
    """Print the replay table of ``trace`` (text or a scenario name) under ``policy``."""
    print(table(replay(_text(trace), policy)))


def show_compare(trace: str, *policies: str) -> None:
    """Print ``trace`` under several policies side by side, ``*`` where they differ."""
    text, differ = compare_table(as_trace(_text(trace)), list(policies) or ["double-credit", "region-count"])
    print(text)
    print(differ_line(differ))


def show_statfs(trace: str, policy: str = "modern") -> None:
    """Print the replay table of ``trace`` with what statfs reports, after each step, for every
    mount made with size= (free pages of its size)."""
    steps = replay(_text(trace), policy)
    lines = table(steps).splitlines()
    width = max(map(len, lines))
    print(lines[0].ljust(width) + "  statfs")
    for line, s in zip(lines[1:], steps):
        statfs = ", ".join(f"{m}: {free} free of {size}" for m, (size, free) in (s.mounts or {}).items())
        print((line.ljust(width) + "  " + statfs).rstrip())


def rsvd(trace: str, policy: str = "modern") -> list[int]:
    """HugePages_Rsvd after each step, as /proc/meminfo prints it."""
    return [s.counters.rsvd for s in replay(_text(trace), policy)]


def show_trace(trace: str) -> None:
    """Print a trace's operations numbered as steps (no counters: nothing to give an answer away)."""
    for number, op in enumerate(as_trace(_text(trace)), 1):
        print(f"{number:>4}  {op.text}")


def show_source(obj: Callable[..., Any] | type) -> None:
    """Print the source of a hugelab function or class: the code under study, as it runs."""
    print(textwrap.dedent(inspect.getsource(obj)).rstrip())


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
    for name in names:
        steps = replay(load(name), policy)
        c = steps[-1].counters
        odd = [f"step {n} {s.error}" for n, s in enumerate(steps, 1) if s.error]
        print(fold(f"{name}: {describe(name)}"))
        print(fold(f"    {len(steps)} steps; at the end Total {c.total} Free {c.free} Rsvd {show(c.rsvd)} "
                   f"Surp {c.surp}" + (f"; {', '.join(odd)}" if odd else "; every step ok")))


def show_hunt(policy: str, traces: int, length: int, seed: int) -> None:
    """Print what ``hugelab hunt`` finds (or that it finds nothing)."""
    out = io.StringIO()
    hunt(policy, traces, length, seed, out=out)
    print(fold(out.getvalue().rstrip()))


#: the characters a printed line holds in a notebook at 1068 px: JupyterLab breaks a longer one anywhere,
#: mid-word included, so the helpers fold their long lines at spaces first
WIDTH = 100


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
