"""Shrinking a failing trace: drop lines while the failure persists.

Delta debugging over lines: try dropping chunks, halving the chunk size
down to single lines, and repeat until no single line can go. Dropping a
line can make later lines invalid text (they name a mapping that is no
longer created); such candidates are simply not kept.
"""

from __future__ import annotations

from collections.abc import Callable

from .language import TraceError, parse_trace


def shrink(text: str, fails: Callable[[str], bool]) -> str:
    """The smallest trace (by lines) found from ``text`` for which ``fails`` holds."""
    lines = [line for line in text.splitlines() if line.split("#", 1)[0].strip()]

    def still_fails(candidate: list[str]) -> bool:
        body = "\n".join(candidate) + "\n"
        try:
            parse_trace(body)
        except TraceError:
            return False
        return fails(body)

    chunk = max(1, len(lines) // 2)
    while True:
        i, changed = 0, False
        while i < len(lines):
            candidate = lines[:i] + lines[i + chunk:]
            if candidate and still_fails(candidate):
                lines, changed = candidate, True
            else:
                i += chunk
        if chunk == 1 and not changed:
            return "\n".join(lines) + "\n"
        chunk = max(1, chunk // 2) if not changed or chunk > 1 else 1
