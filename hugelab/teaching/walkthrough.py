"""A scenario step by step: the counters, the scenario's own comment on the
line, who holds which page, what each private mapping's resv_map says
(consumed offsets) and what each file's (inode's) map says (reserved offsets).

For the notebooks' walk-throughs (05's lost reservation): everything shown
is read from a model replaying the scenario, nothing is written by hand.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from ..model.hstate import show, signed
from ..model.machine import Model
from ..model.resv_map import ResvMap
from ..replay import ModelReplay
from ..tools.tables import outcome
from ..trace.language import parse_trace


@dataclass(frozen=True)
class Moment:
    """The state after one step."""

    step: int
    op: str
    outcome: str
    comment: str
    counters: str
    meaning: str
    pages: tuple[str, ...]
    maps: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"step {self.step}: {self.op}  ->  {self.outcome}"] + [f"  {line}" for line in self.details()]
        # folded at spaces: a notebook breaks a line too long for it anywhere, mid-word included
        return "\n".join(folded for line in lines
                         for folded in textwrap.wrap(line, 100, subsequent_indent="      ",
                                                     break_long_words=False, break_on_hyphens=False) or [""])

    def details(self) -> list[str]:
        """The lines under the step's heading: counters, their meaning, the comment, pages, maps."""
        lines = [self.counters, f"what that means: {self.meaning}"]
        if self.comment:
            lines.append(f"the scenario says: {self.comment}")
        return lines + (list(self.pages) or ["no process maps a huge page"]) + list(self.maps)

    def html(self) -> str:
        """The step as HTML prose: it wraps between words at any width, each line with a hanging indent."""
        lines = "".join(f"<div style='padding-left:1.5em;text-indent:-1.5em'>{html.escape(line)}</div>"
                        for line in self.details())
        return (f"<div class='hugelab-moment' style='margin:0 0 6px 0'><b>step {self.step}:</b> "
                f"<code>{html.escape(self.op)}</code> &rarr; {html.escape(self.outcome)}"
                f"<div style='padding-left:1.5em'>{lines}</div></div>")


#: the course's prose, here and in the question widgets: it wraps between words, never inside one (JupyterLab
#: breaks a printed line anywhere: "reservat" / "ion"), with prose's line gap
PROSE = "line-height:1.45;white-space:normal;word-break:normal;overflow-wrap:normal"


def prose_html(text: str) -> str:
    """``text`` escaped for HTML, each `quoted` span (a trace line, a call) shown as code, as markdown shows it:
    feedback and folds are HTML, where a backtick would be printed as it is."""
    parts = html.escape(text).split("`")
    if len(parts) % 2 == 0:  # an odd backtick: no pairs to trust, leave them all
        return html.escape(text)
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


class Walk:
    """Moments as a notebook shows them: HTML that wraps between words; their printed text as the plain form
    (what nbval compares)."""

    def __init__(self, moments: Sequence[Moment]) -> None:
        self.moments = list(moments)

    def __repr__(self) -> str:
        return "\n".join(map(str, self.moments))

    def _repr_html_(self) -> str:
        return f"<div class='hugelab-walk' style='{PROSE}'>{''.join(m.html() for m in self.moments)}</div>"


def meaning(free: int, rsvd: int, surp: int) -> str:
    """What Free, Rsvd and Surp say together, in words."""
    if rsvd < 0:
        said = (f"Rsvd is {rsvd}: more reservations were handed back than are outstanding, so the "
                "pool holds back no page for the promises that remain")
    elif rsvd > free:
        said = (f"Rsvd {rsvd} > Free {free}: a promise with no free page behind it; "
                "a reserved fault will find nothing")
    elif free == 0:
        said = "no free page: a fault can get a page only as a new surplus page, if overcommit allows"
    elif rsvd == free:
        said = f"every free page ({free}) is promised: a fault without a reservation may take none of them"
    elif rsvd == 0 and free == 1:
        said = "the 1 free page is not promised: a fault without a reservation may take it"
    elif rsvd == 0:
        said = f"none of the {free} free pages is promised: a fault without a reservation may take any of them"
    else:
        said = (f"{rsvd} of the {free} free pages {'is' if rsvd == 1 else 'are'} promised; a fault without "
                f"a reservation may take the other {free - rsvd}")
    if surp == 1:
        said += "; 1 surplus page, above the pool size, leaves as soon as it is free"
    elif surp:
        said += f"; {surp} surplus pages, above the pool size, leave as soon as they are free"
    return said


def line_comments(text: str) -> dict[int, str]:
    """Trace line number -> the comment written after the operation on that line."""
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        code, _, comment = line.partition("#")
        if code.strip() and comment.strip():
            found[number] = comment.strip()
    return found


def pages_held(model: Model) -> tuple[str, ...]:
    """One line per huge page someone maps: which processes map it, and its restore_reserve mark.

    A page mapped through a second mapping (a file's cached page, read
    through a private mapping too) names that mapping: ``main (as p)``.
    """
    held: dict[int, tuple[str, int, list[str], bool]] = {}
    for proc_name, proc in model.procs.items():
        for name, vma in proc.all_vmas():
            for idx, page in vma.ptes.items():
                entry = held.setdefault(id(page), (name, idx, [], page.restore_reserve))
                entry[2].append(proc_name if name == entry[0] else f"{proc_name} (as {name})")
    lines = []
    for name, idx, procs, restore in sorted(held.values()):
        mark = " (marked restore_reserve: Rsvd +1 when it is freed)" if restore else ""
        lines.append(f"page {idx} of {name}: mapped by {', '.join(procs)}{mark}")
    return tuple(lines)


def private_maps(model: Model) -> tuple[str, ...]:
    """One line per private mapping's resv_map still alive: its consumed offsets and its references."""
    seen: dict[int, tuple[str, ResvMap]] = {}
    for proc in model.procs.values():
        for name, vma in proc.all_vmas():
            if vma.owner and isinstance(vma.private_data, ResvMap):
                seen.setdefault(id(vma.private_data), (f"{name} (owner {proc.name})", vma.private_data))
    return tuple(f"resv_map of {who}: consumed {resv.regions() or 'nothing'}, shared by {resv.refs} VMA piece(s)"
                 for who, resv in seen.values())


def file_maps(model: Model) -> tuple[str, ...]:
    """One line per named file, memfd or System V segment still alive: its (inode's) map, whose
    entries mean *reserved* (an entry stays when its page arrives), and its page cache."""
    files = [(f"file {name}", inode) for name, inode in model.inodes.items() if not inode.evicted]
    files += [(f"segment {name}", seg.file) for name, seg in model.segments.items() if not seg.file.evicted]
    lines = []
    for who, inode in files:
        cached = sorted(inode.page_cache)
        lines.append(f"{who}'s map: reserved {inode.resv_map.regions() or 'nothing'}; page cache: "
                     + (f"page(s) {', '.join(map(str, cached))}" if cached else "empty"))
    return tuple(lines)


def walk(text: str, policy: str = "modern") -> list[Moment]:
    """Replay ``text`` under ``policy`` and describe the state after every step."""
    comments = line_comments(text)
    trace = parse_trace(text)
    run = ModelReplay(policy, trace)
    model = run.model
    moments = []
    for number, (op, step) in enumerate(zip(trace, run.run()), 1):
        c = step.counters
        counters = f"Total {c.total}  Free {c.free}  Rsvd {show(c.rsvd)}  Surp {c.surp}"
        moments.append(Moment(number, step.op, outcome(step), comments.get(op.line, ""), counters,
                              meaning(c.free, signed(c.rsvd), c.surp), pages_held(model),
                              private_maps(model) + file_maps(model)))
    return moments
