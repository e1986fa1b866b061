"""Difficulty settings for generated exercises: what every sheet drawn at a setting has.

Left alone, a seed draws whatever trace is worth predicting: a fork in about half the sheets, a
failing step in a quarter or so. Graded side by side, such sheets are not comparable. A setting
fixes the shape instead, so that every sheet of a class has the same kinds of step:

* ``forks``: exactly one fork (on) or none, and then no exit either (off);
* ``failures``: at least one step that fails (ENOMEM, SIGBUS, SIGSEGV, EINVAL) (on) or none (off);
* ``surplus``: HugePages_Surp above 0 after some step (on) or 0 throughout (off);

each in every policy's replay of a paired sheet taken together. ``None`` leaves that one to the
seed. The sheet names its setting in a ``difficulty`` line, so the checker draws the same trace.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..replay import Step
from ..trace.language import Fork, Trace

ASPECTS = ("forks", "failures", "surplus")
WORDS = {"on": True, "off": False, "any": None}


@dataclass(frozen=True)
class Difficulty:
    forks: bool | None = None
    failures: bool | None = None
    surplus: bool | None = None

    @property
    def free(self) -> bool:
        """No constraint at all: the draw of a sheet with no difficulty line."""
        return self.forks is None and self.failures is None and self.surplus is None

    def weights(self, weights: dict[str, int]) -> dict[str, int]:
        """The generator's operation weights under this setting: no fork or exit when forks are off."""
        if self.forks is False:
            return {k: w for k, w in weights.items() if k not in ("fork", "exit")}
        return weights

    def fits(self, trace: Trace, runs: tuple[tuple[Step, ...], ...]) -> bool:
        """Has the drawn trace, replayed under each policy (``runs``), this setting's shape?"""
        forks = sum(isinstance(op, Fork) for op in trace)
        if self.forks is not None and forks != (1 if self.forks else 0):
            return False
        failed = any(s.error is not None for steps in runs for s in steps)
        if self.failures is not None and failed != self.failures:
            return False
        surplus = any(s.counters.surp for steps in runs for s in steps)
        return self.surplus is None or surplus == self.surplus

    def line(self) -> str:
        """The sheet's line: ``difficulty forks=on failures=off surplus=off``."""
        words = {True: "on", False: "off", None: "any"}
        return "difficulty " + " ".join(f"{name}={words[getattr(self, name)]}" for name in ASPECTS)

    def name(self) -> str:
        """The preset's name, or the line's words."""
        return next((n for n, d in PRESETS.items() if d == self), self.line().removeprefix("difficulty "))


#: no setting: each seed draws what it draws (the sheets of old, and the course's own exercise)
ANY = Difficulty()

#: the settings a lecturer names (``hugelab exercise --difficulty NAME``)
PRESETS = {
    "basic": Difficulty(forks=False, failures=False, surplus=False),
    "fork": Difficulty(forks=True, failures=False, surplus=False),
    "full": Difficulty(forks=True, failures=True, surplus=True),
}


def parse_difficulty(words: list[str]) -> Difficulty:
    """The words after ``difficulty`` on a sheet: a preset's name, or ``forks=on failures=off ...``.

    ValueError (a sentence) for anything else."""
    if len(words) == 1 and words[0] in PRESETS:
        return PRESETS[words[0]]
    values: dict[str, bool | None] = {}
    for word in words:
        name, _, value = word.partition("=")
        if name not in ASPECTS or value not in WORDS:
            raise ValueError(f"difficulty takes {', '.join(PRESETS)} or {', '.join(a + '=on|off' for a in ASPECTS)}, "
                             f"not {word!r}")
        values[name] = WORDS[value]
    if not values:
        raise ValueError(f"difficulty takes {', '.join(PRESETS)} or {', '.join(a + '=on|off' for a in ASPECTS)}")
    return Difficulty(**values)
