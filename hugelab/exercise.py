"""Generated exercises, OSTEP-style: predict the counters, then check.

``exercise(seed)`` prints a random trace with ``?`` where the learner must
predict HugePages_Total/Free/Rsvd/Surp and the outcome; the same seed with
``answers=True`` fills them in. The lab notebook uses the same generator
with the same seeds.
"""

from __future__ import annotations

import random

from .generate import random_trace
from .replay import Step, replay
from .tables import table

#: fewer kinds than verify's traces: the ones a learner meets first
EXERCISE_WEIGHTS = {"touch": 30, "mmap": 14, "munmap": 12, "mprotect": 5, "fork": 6, "exit": 3,
                    "madvise": 3, "pool": 2}


def exercise_trace(seed: int, length: int = 8) -> str:
    """The trace of exercise ``seed``: reproducible, small, valid."""
    return random_trace(random.Random(seed), length, max_pages=4, max_pool=6, weights=EXERCISE_WEIGHTS,
                        min_pool=3)


def exercise_steps(seed: int, policy: str = "modern", length: int = 8) -> list[Step]:
    return replay(exercise_trace(seed, length), policy)


def exercise(seed: int, answers: bool = False, policy: str = "modern", length: int = 8) -> str:
    steps = exercise_steps(seed, policy, length)
    flag = "--answers " if not answers else ""
    head = (f"hugelab exercise --seed {seed} (policy {policy})\n"
            + ("Predict HugePages_Total/Free/Rsvd/Surp and the outcome after each step, then run\n"
               f"  hugelab exercise --seed {seed} {flag}--policy {policy}\n" if not answers else
               "Answers: the counters /proc/meminfo shows after each step.\n") + "\n")
    return head + table(steps, hidden=not answers) + "\n"
