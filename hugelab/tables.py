"""Every table hugelab prints, and the line that counts differing steps.

The command line, ``hunt``, ``exercise`` and the notebooks print through
here, so a table reads the same wherever it appears (and the golden tables
in the tests pin one format).
"""

from __future__ import annotations

from collections.abc import Sequence

from .hstate import show
from .replay import Step, replay
from .trace import Trace


def outcome(step: Step) -> str:
    return step.error or "ok"


def table(steps: Sequence[Step], hidden: bool = False) -> str:
    """The readable replay table: line, op, Total, Free, Rsvd, Surp, outcome.

    ``hidden``: ``?`` instead of the counters and outcome (an exercise to predict).
    """
    rows: list[tuple[str, ...]] = [("line", "op", "Total", "Free", "Rsvd", "Surp", "outcome")]
    for s in steps:
        c = s.counters
        cells = ("?",) * 5 if hidden else (show(c.total), show(c.free), show(c.rsvd), show(c.surp), outcome(s))
        rows.append((str(s.line), s.op, *cells))
    return _format(rows, right={0, 2, 3, 4, 5})


def compare_table(trace: Trace, policies: Sequence[str]) -> tuple[str, int]:
    """Side by side, one column block per policy; ``*`` marks rows that differ.

    Returns the table and how many steps differ (for :func:`differ_line`).
    """
    runs = [replay(trace, p) for p in policies]
    header = ["", "line", "op"] + [f"{p} T/F/R/S outcome" for p in policies]
    rows = [tuple(header)]
    differ = 0
    for steps in zip(*runs):
        same = all(s == steps[0] for s in steps)
        differ += not same
        cells = ["" if same else "*", str(steps[0].line), steps[0].op]
        for s in steps:
            c = s.counters
            cells.append(f"{c.total}/{c.free}/{show(c.rsvd)}/{c.surp} {outcome(s)}")
        rows.append(tuple(cells))
    return _format(rows, right={1}), differ


def differ_line(differ: int) -> str:
    """What :func:`compare_table` found, in one line."""
    return f"{differ} step(s) differ" if differ else "no step differs"


def _format(rows: Sequence[tuple[str, ...]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
