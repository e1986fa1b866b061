"""Every table hugelab prints, and the line that counts differing steps.

The command line, ``hunt``, ``exercise`` and the notebooks print through
here, so a table reads the same wherever it appears (and the golden tables
in the tests pin one format).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model.hstate import show
from ..replay import Step, replay
from ..trace.language import Trace


def outcome(step: Step) -> str:
    return step.error or "ok"


def table(steps: Sequence[Step], hidden: bool = False) -> str:
    """The readable replay table: step, op, Total, Free, Rsvd, Surp, outcome.

    Steps are numbered 1..N, one per operation, as a learner counts them;
    a trace file's line numbers (comments included) only matter where an
    error names a line. ``hidden``: ``?`` instead of the counters and
    outcome (an exercise to predict).
    """
    rows: list[tuple[str, ...]] = [("step", "op", "Total", "Free", "Rsvd", "Surp", "outcome")]
    for number, s in enumerate(steps, 1):
        c = s.counters
        cells = ("?",) * 5 if hidden else (show(c.total), show(c.free), show(c.rsvd), show(c.surp), outcome(s))
        rows.append((str(number), s.op, *cells))
    return _format(rows, right={0, 2, 3, 4, 5})


def compare_table(trace: Trace, policies: Sequence[str]) -> tuple[str, int]:
    """Side by side, one column block per policy; ``*`` marks rows that differ.

    Each block reads ``T/F/R/S outcome``: HugePages_Total/Free/Rsvd/Surp
    after the step, then the outcome. Steps are numbered 1..N as in :func:`table`.

    Returns the table and how many steps differ (for :func:`differ_line`).
    """
    return runs_table(policies, [replay(trace, p) for p in policies])


def statfs_text(step: Step) -> str:
    """A step's sized mounts as statfs shows them, ``q: 1 free of 4``; '' without any."""
    return ", ".join(f"{name}: {free} free of {size}" for name, (size, free) in (step.mounts or {}).items())


def runs_table(names: Sequence[str], runs: Sequence[Sequence[Step]]) -> tuple[str, int]:
    """Replays of one trace side by side (policies or real kernels), ``*`` where they differ.

    A trace with sized mounts also shows each mount's statfs, since two
    kernels can agree on every counter and still differ there.
    """
    statfs, rows, differ = runs_rows(runs)
    return rows_text(names, statfs, rows), differ


def rows_text(names: Sequence[str], statfs: bool, rows: list[tuple[str, str, str, list[tuple[str, ...]]]]) -> str:
    """:func:`runs_rows`' cells as :func:`runs_table` prints them (one text block per run)."""
    what = "T/F/R/S outcome statfs" if statfs else "T/F/R/S outcome"
    lines = [("", "step", "op", *(f"{name} {what}" for name in names))]
    lines += [(mark, number, op, *(" ".join(filter(None, block)) for block in blocks))
              for mark, number, op, blocks in rows]
    return _format(lines, right={1})


def runs_rows(runs: Sequence[Sequence[Step]]) -> tuple[bool, list[tuple[str, str, str, list[tuple[str, ...]]]], int]:
    """What :func:`runs_table` shows, cell by cell: whether any step has a sized mount; for each step its
    mark (``*`` where the runs differ), number and op, then for each run (T/F/R/S, outcome, statfs or '');
    how many steps differ."""
    statfs = any(s.mounts for steps in runs for s in steps)
    rows: list[tuple[str, str, str, list[tuple[str, ...]]]] = []
    differ = 0
    for number, steps in enumerate(zip(*runs), 1):
        same = all(s == steps[0] for s in steps)
        differ += not same
        blocks: list[tuple[str, ...]] = []
        for s in steps:
            c = s.counters
            blocks.append((f"{c.total}/{c.free}/{show(c.rsvd)}/{c.surp}", outcome(s),
                           statfs_text(s) if statfs and s.mounts else ""))
        rows.append(("" if same else "*", str(number), steps[0].op, blocks))
    return statfs, rows, differ


def grid(rows: Sequence[tuple[str, ...]]) -> str:
    """A plain table: the first row is the heading, every column left-aligned under it.

    Left, not right: a wide value (``18446744073709551615 (= -1)``) then
    starts right under its column's heading, so it cannot be read as the
    narrow column's to its left.
    """
    return _format(rows, right=set())


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
