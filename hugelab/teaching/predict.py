"""Predict, then check: a question with one right number, hints aimed at the
misconceptions behind the likely wrong ones, and the output that answers it.

The widget (:class:`hugelab.widgets.controls.Predict`) only shows this; the logic is
here so that it is tested without a browser.

Counters are ``unsigned long`` in the kernel: a count of -6 prints as
18446744073709551610. Wherever an answer (or a hint's wrong answer) is such
a value, both forms are the same answer: :func:`same_number` compares them
modulo 2^64, and the feedback says which form the kernel prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model.hstate import U64, signed, u64

#: said to any wrong answer no hint names: it points at the method, never at the arithmetic
GENERIC_HINT = "Go one operation at a time: which counter does each operation change, and by how much?"

# what the kernel prints for a wrapped counter, as hugelab's tables show it: "18446744073709551610 (= -6)"
_SHOWN = re.compile(r"(\d+)\s*\(\s*=\s*-?\d+\s*\)")


def parse_number(text: str) -> int | None:
    """The whole number in what a learner typed, or None.

    Accepts ``-6``, ``18446744073709551610``, ``18446744073709551610 (= -6)``
    (a table's form) and digit groups with ``_`` or ``,``.
    """
    text = str(text).strip().replace("_", "").replace(",", "")
    shown = _SHOWN.fullmatch(text)
    if shown:
        text = shown.group(1)
    try:
        return int(text)
    except ValueError:
        return None


def wraps(value: int) -> bool:
    """Is ``value`` a counter below zero, in either form (-6 or 2^64 - 6)?"""
    return value < 0 or U64 // 2 <= value < U64


def same_number(a: int, b: int) -> bool:
    """Equal as the kernel's unsigned long holds them (-6 and 18446744073709551610 are one value)."""
    if -U64 // 2 <= a < U64 and -U64 // 2 <= b < U64:
        return u64(a) == u64(b)
    return a == b


def both_forms(value: int) -> str:
    """'-6, which the kernel prints as 18446744073709551610' for a wrapped value, else the number."""
    if not wraps(value):
        return str(value)
    return f"{signed(u64(value))}, which the kernel prints as {u64(value)}"


@dataclass(frozen=True)
class Question:
    prompt: str
    answer: int
    #: wrong answer -> the hint for the misconception that leads to it
    hints: dict[int, str] = field(default_factory=dict)
    #: for any other wrong answer
    hint: str = GENERIC_HINT
    #: said after a right answer: the idea to keep
    why: str = ""
    #: the output that answers the question (a table, a printout), shown only
    #: once the learner has committed: after a right answer, or on "show answer"
    reveal: str = ""

    def __post_init__(self) -> None:
        for wrong in self.hints:
            if same_number(wrong, self.answer):
                raise ValueError(f"question {self.prompt!r}: a hint is keyed to the answer {self.answer}, "
                                 "so it could never be shown")

    def hint_for(self, value: int) -> str:
        for wrong, hint in self.hints.items():
            if same_number(wrong, value):
                return hint
        return self.hint

    def check(self, text: str) -> tuple[bool, str]:
        """(right?, what to say) for what the learner typed."""
        value = parse_number(text)
        if value is None:
            return False, f"Type a whole number (you typed {str(text).strip()!r})."
        if same_number(value, self.answer):
            said = "Right."
            if wraps(self.answer):
                said += (f" The count is {signed(u64(self.answer))}: the kernel keeps it in an unsigned long, "
                         f"so /proc/meminfo prints 2^64 - {-signed(u64(self.answer))} = {u64(self.answer)}.")
            return True, said + (f" {self.why}" if self.why else "")
        return False, f"Not {value}. " + self.hint_for(value)

    def give_up(self) -> str:
        """What "show answer" says: the answer (both forms if it wrapped) and why."""
        return f"The answer is {both_forms(self.answer)}." + (f" {self.why}" if self.why else "")
