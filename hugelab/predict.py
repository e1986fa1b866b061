"""Predict, then check: a question with one right number and hints aimed at
the likely misconceptions behind each wrong one.

The widget (:class:`hugelab.widgets.Predict`) only shows this; the logic is
here so that it is tested without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Question:
    prompt: str
    answer: int
    #: wrong answer -> the hint for the misconception that leads to it
    hints: dict[int, str] = field(default_factory=dict)
    #: for any other wrong answer
    hint: str = "Replay it step by step: which counter does each operation change?"
    #: said after a right answer: the idea to keep
    why: str = ""

    def check(self, text: str) -> tuple[bool, str]:
        """(right?, what to say) for what the learner typed."""
        try:
            value = int(str(text).strip())
        except ValueError:
            return False, f"Type a whole number (you typed {text!r})."
        if value == self.answer:
            return True, "Right." + (f" {self.why}" if self.why else "")
        return False, f"Not {value}. " + self.hints.get(value, self.hint)
