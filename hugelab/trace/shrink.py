"""Shrinking a failing trace: drop lines, drop words and lower numbers while the failure persists.

Passes, repeated until none changes anything:

* lines: delta debugging, dropping chunks of lines, halving the chunk size
  down to single lines;
* words: each word after a line's first two (``min_size=3``, ``overcommit 2``,
  ``noreserve``, ``read``, ``offset 1``...), one at a time;
* numbers: each number that stands alone or after ``=`` (pages, counts,
  offsets, a pool's size; never the digits of a name such as ``m1``), tried at
  0, 1, half and one less, smallest first, again from each value that still
  fails;
* trades, only when nothing else helps: a line dropped (with the lines that
  name what it makes) for one number raised elsewhere, then lowered again.

A candidate that is not valid trace text (a line naming a mapping that is no
longer created, a count of 0 where one is needed) is never kept, and ``fails``
is never asked about it. A smaller number is a smaller trace only in what a
reader has to hold in mind: ``pool 3`` instead of ``pool 12``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .language import TraceError, parse_trace

#: a number of its own: not the digits that end a name (m1) or start one
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")


class _Spent(Exception):
    """The lines tried have reached the budget."""


def shrink(text: str, fails: Callable[[str], bool], numbers: bool = True, budget: int | None = None) -> str:
    """The smallest trace found from ``text`` for which ``fails`` holds (by lines, then words and numbers).

    ``budget``: the most lines all the candidates asked about may hold together
    (each is replayed, on a kernel perhaps, holding its lock: a 10,000-line
    trace could otherwise take tens of thousands of replays of thousands of
    lines). Once spent, the smallest failing trace found so far is returned.
    """
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]
    best, spent = lines, 0

    def still_fails(candidate: list[str]) -> bool:
        nonlocal best, spent
        body = "\n".join(candidate) + "\n"
        try:
            parse_trace(body)
        except TraceError:
            return False
        spent += len(candidate)
        if budget is not None and spent > budget:
            raise _Spent
        if fails(body):
            best = candidate
            return True
        return False

    try:
        return _shrink(lines, still_fails, numbers)
    except _Spent:
        return "\n".join(best) + "\n"


def _shrink(lines: list[str], still_fails: Callable[[list[str]], bool], numbers: bool) -> str:
    most = max([int(n) for line in lines for n in _NUMBER.findall(line)] or [1])
    while True:
        lines = _drop_lines(lines, still_fails)
        if not numbers:
            break
        smaller = _lower_numbers(_drop_words(lines, still_fails), still_fails)
        if smaller == lines:
            smaller = _lower_numbers(_trade(lines, still_fails, most), still_fails)
            if smaller == lines:
                break
        lines = smaller
    return "\n".join(lines) + "\n"


def _trade(lines: list[str], still_fails: Callable[[list[str]], bool], most: int) -> list[str]:
    """Drop a line and everything naming what it makes, raising one number elsewhere to make up for it.

    Two lines that each take a little (two fallocates of one and two pages) are often one line
    taking more (one fallocate of three): lowering numbers alone stops at the two.
    """
    for i in range(len(lines)):
        made = lines[i].split()[1] if len(lines[i].split()) > 1 else ""
        rest = [line for j, line in enumerate(lines)
                if j != i and not (made and j > i and made in line.split())]
        for k, line in enumerate(rest):
            for number in _NUMBER.finditer(line):
                value = int(number.group())
                for higher in sorted({value + 1, 2 * value, 4 * value}):
                    if higher > 2 * most:
                        break
                    candidate = rest[:k] + [line[:number.start()] + str(higher) + line[number.end():]] + rest[k + 1:]
                    if still_fails(candidate):
                        return candidate
    return lines


def _drop_lines(lines: list[str], still_fails: Callable[[list[str]], bool]) -> list[str]:
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
            return lines
        chunk = max(1, chunk // 2) if not changed or chunk > 1 else 1


def _drop_words(lines: list[str], still_fails: Callable[[list[str]], bool]) -> list[str]:
    for i in range(len(lines)):
        j = 2
        while j < len(lines[i].split()):
            words = lines[i].split()
            candidate = lines[:i] + [" ".join(words[:j] + words[j + 1:])] + lines[i + 1:]
            if still_fails(candidate):
                lines = candidate
            else:
                j += 1
    return lines


def _lower_numbers(lines: list[str], still_fails: Callable[[list[str]], bool]) -> list[str]:
    for i in range(len(lines)):
        k = 0
        while k < len(_NUMBER.findall(lines[i])):
            number = list(_NUMBER.finditer(lines[i]))[k]
            value, lowered = int(number.group()), False
            for lower in sorted({0, 1, value // 2, value - 1} - {value}):
                if lower > value:
                    break
                line = lines[i][:number.start()] + str(lower) + lines[i][number.end():]
                candidate = lines[:i] + [line] + lines[i + 1:]
                if still_fails(candidate):
                    lines, lowered = candidate, True
                    break
            if not lowered:  # else the same number again, from its lower value
                k += 1
    return lines
