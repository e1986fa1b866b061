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


#: how a row question names its four numbers, in the order /proc/meminfo and every table print them
ROW_FIELDS = ("Total", "Free", "Rsvd", "Surp")


def parse_row(text: str) -> tuple[int, ...] | None:
    """The four whole numbers of a row a learner typed ("8 7 3 0", "8/7/3/0", "8, 7, 3, 0"), or None.

    A table's form of a wrapped value, ``18446744073709551610 (= -6)``, counts as one number."""
    text = re.sub(r"\(\s*=\s*-?\d+\s*\)", " ", str(text))
    words = [w for w in re.split(r"[\s,/;|]+", text.strip()) if w]
    numbers = [parse_number(w) for w in words]
    if len(numbers) != len(ROW_FIELDS) or any(n is None for n in numbers):
        return None
    return tuple(n for n in numbers if n is not None)


@dataclass(frozen=True)
class Row:
    """Predict the whole row of a step: HugePages_Total, Free, Rsvd and Surp at once.

    Each field has its own hints, keyed to its likely wrong values; the feedback names the fields that are
    right, so the learner reworks only the others."""

    prompt: str
    #: Total, Free, Rsvd, Surp
    answer: tuple[int, int, int, int]
    #: field ("Free") -> wrong value -> the hint for the misconception behind it
    hints: dict[str, dict[int, str]] = field(default_factory=dict)
    why: str = ""
    reveal: str = ""

    def __post_init__(self) -> None:
        for name, wrongs in self.hints.items():
            if name not in ROW_FIELDS:
                raise ValueError(f"row question {self.prompt!r}: no field {name!r} (fields: {', '.join(ROW_FIELDS)})")
            for wrong in wrongs:
                if same_number(wrong, self.answer[ROW_FIELDS.index(name)]):
                    raise ValueError(f"row question {self.prompt!r}: a {name} hint is keyed to the answer")

    def check(self, text: str) -> tuple[bool, str]:
        row = parse_row(text)
        if row is None:
            return False, (f"Type four whole numbers, Total Free Rsvd Surp, such as 8 8 0 0 "
                           f"(you typed {str(text).strip()!r}).")
        wrong = [(name, got) for name, got, want in zip(ROW_FIELDS, row, self.answer) if not same_number(got, want)]
        if not wrong:
            said = "Right, the whole row."
            for name, value in zip(ROW_FIELDS, self.answer):
                if wraps(value):
                    said += f" {name} is {signed(u64(value))}, which /proc/meminfo prints as {u64(value)}."
            return True, said + (f" {self.why}" if self.why else "")
        right = [name for name in ROW_FIELDS if name not in dict(wrong)]
        said = ("Not yet: " + ", ".join(f"{name} is not {got}" for name, got in wrong) + "."
                + (f" ({', '.join(right)} right.)" if right else ""))
        for name, got in wrong:
            said += f" {name}: " + next((h for v, h in self.hints.get(name, {}).items() if same_number(v, got)),
                                        GENERIC_HINT)
        return False, said

    def give_up(self) -> str:
        shown = ", ".join(f"{name} {both_forms(value)}" for name, value in zip(ROW_FIELDS, self.answer))
        return f"The row is {shown}." + (f" {self.why}" if self.why else "")


@dataclass(frozen=True)
class Option:
    text: str
    #: for a wrong option, the misconception it stands for, said when it is picked; empty for the right one
    hint: str = ""


@dataclass(frozen=True)
class Choice:
    """A "why" question: one right explanation among the usual misconceptions, each wrong option with the
    hint that answers its own misconception. The learner answers with the option's letter."""

    prompt: str
    options: tuple[Option, ...]
    #: the index of the right option
    answer: int
    why: str = ""
    reveal: str = ""

    def __post_init__(self) -> None:
        if len(self.options) < 3:
            raise ValueError(f"why question {self.prompt!r}: at least three options (two misconceptions)")
        for n, option in enumerate(self.options):
            if n != self.answer and not option.hint:
                raise ValueError(f"why question {self.prompt!r}: wrong option {letter(n)} has no hint")
            if n == self.answer and option.hint:
                raise ValueError(f"why question {self.prompt!r}: the right option {letter(n)} has a hint")

    @property
    def right(self) -> Option:
        return self.options[self.answer]

    def labels(self) -> list[str]:
        return [f"{letter(n)}) {option.text}" for n, option in enumerate(self.options)]

    def check(self, text: str) -> tuple[bool, str]:
        picked = str(text).strip().lower().removesuffix(")")
        letters = [letter(n) for n in range(len(self.options))]
        if picked not in letters:
            return False, f"Pick one of {', '.join(letters)} (you gave {str(text).strip()!r})."
        n = letters.index(picked)
        if n == self.answer:
            return True, "Right." + (f" {self.why}" if self.why else "")
        return False, f"Not {picked}. {self.options[n].hint}"

    def give_up(self) -> str:
        said = f"The answer is {letter(self.answer)}) {self.right.text.rstrip('.')}."
        return said + (f" {self.why}" if self.why else "")


def letter(n: int) -> str:
    return "abcdefgh"[n]


class Score:
    """The self-test's score: a question counts as known when the learner's first answer was right (no
    "show answer" before it). Each miss names the notebook that teaches it."""

    def __init__(self, where: list[str]) -> None:
        #: question number (from 1) -> the notebook to revisit when it is missed
        self.where = where
        self.first: dict[int, bool] = {}

    def record(self, number: int, right: bool) -> None:
        self.first.setdefault(number, right)

    def summary(self) -> str:
        total, done = len(self.where), len(self.first)
        right = sum(self.first.values())
        if done < total:
            said = f"Score so far: {right} of {done} answered right the first time ({total - done} to go)."
        else:
            said = f"Score: {right} of {total} right the first time."
        misses = [n for n in sorted(self.first) if not self.first[n]]
        if misses:
            said += " Revisit: " + "; ".join(f"question {n}: notebook {self.where[n - 1]}" for n in misses) + "."
        elif done == total:
            said += " Nothing to revisit."
        return said
