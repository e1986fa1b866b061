"""Small helpers the notebooks call, so that no library code lives in a notebook.

Text outputs only (they read on GitHub and nbviewer, and nbval compares
them); the widgets live in :mod:`hugelab.widgets`.
"""

from __future__ import annotations

from .replay import as_trace, replay
from .scenarios import load
from .tables import compare_table, differ_line, table


def show_replay(trace: str, policy: str = "modern") -> None:
    """Print the replay table of ``trace`` (text or a scenario name) under ``policy``."""
    print(table(replay(_text(trace), policy)))


def show_compare(trace: str, *policies: str) -> None:
    """Print ``trace`` under several policies side by side, ``*`` where they differ."""
    text, differ = compare_table(as_trace(_text(trace)), list(policies) or ["double-credit", "region-count"])
    print(text)
    print(differ_line(differ))


def rsvd(trace: str, policy: str = "modern") -> list[int]:
    """HugePages_Rsvd after each step, as /proc/meminfo prints it."""
    return [s.counters.rsvd for s in replay(_text(trace), policy)]


def _text(trace: str) -> str:
    return trace if "\n" in trace or " " in trace else load(trace)
