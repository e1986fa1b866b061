"""Generated exercises, OSTEP-style: predict the counters, then check.

``make_exercise(seed)`` draws a small random trace that is worth predicting:
every step does something (no ``skipped`` line), at least one page is
faulted in, at least one munmap or mprotect splits a VMA, and, for a
*paired* exercise, a close under double-credit hands back more (or less)
than the piece really holds unused, so the pre-fix and fixed (region-count)
kernels disagree. The same seed always gives the same exercise.

For teachers: :func:`sheet` prints the questions (``?`` to fill in),
``sheet(..., key=True)`` the same sheet filled in, and :func:`check_sheet`
scores a student's filled-in sheet line by line, saying why each wrong
answer is wrong. A sheet names its seed, length and policies, so the
checker rebuilds the exercise from the sheet alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..limits import echo
from ..model.hstate import Counters, signed, u64
from ..model.machine import Model
from ..model.policies import POLICIES
from ..replay import Replayer, Step
from ..tools.tables import outcome
from ..trace.generate import random_trace
from ..trace.language import Mprotect, Munmap, Operation, Trace, TraceError, parse_trace
from .explain import FIELDS, explain, kind
from .predict import parse_number, same_number

#: fewer kinds than verify's traces: the ones a learner meets first
EXERCISE_WEIGHTS = {"touch": 30, "mmap": 14, "munmap": 12, "mprotect": 5, "fork": 6, "exit": 3,
                    "madvise": 3, "pool": 2}
#: the two kernels a paired exercise holds side by side
PAIR = ("double-credit", "region-count")
#: an exercise needs a pool, an mmap, a fault and a split at least
MIN_LENGTH = 4
MAX_LENGTH = 40
#: steps in an exercise when the teacher does not say
DEFAULT_LENGTH = 8
#: candidates drawn per seed before giving up (seeds 0-99 need far fewer: tests/test_exercise.py)
TRIES = 2000
OUTCOMES = ("ok", "ENOMEM", "EINVAL", "SIGBUS", "SIGSEGV")


class SheetError(ValueError):
    """A sheet that cannot be read; ``str()`` is ``line N: problem``."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line


@dataclass(frozen=True)
class Exercise:
    seed: int
    length: int
    policies: tuple[str, ...]
    trace: Trace
    #: one replay per policy, in the order of ``policies``
    runs: tuple[tuple[Step, ...], ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.runs[0]


def splits(op: Operation, kernel: Model) -> bool:
    """Does ``op`` (about to be applied to ``kernel``) cut a VMA in two?

    A munmap or mprotect of ``[start, end)`` splits a VMA that reaches
    outside the range (mprotect only where the protection changes), as the
    model's ``_split`` does.
    """
    if not isinstance(op, (Munmap, Mprotect)) or op.proc not in kernel.procs:
        return False
    start, end = op.start, op.start + op.count
    for vma in kernel.procs[op.proc].pieces(op.name):
        overlaps = vma.start < end and start < vma.end
        cut = overlaps and (vma.start < start or vma.end > end)
        if cut and (isinstance(op, Munmap) or vma.prot != op.prot):
            return True
    return False


def _replay_watching(trace: Trace, policy: str) -> tuple[tuple[Step, ...], int]:
    """The steps of ``trace`` under ``policy``, and how many of them split a VMA."""
    kernel = Model(policy)
    replayer = Replayer(kernel)
    steps, split_count = [], 0
    for op in trace:
        split_count += splits(op, kernel)
        steps.append(replayer.feed(op))
    return tuple(steps), split_count


def worth_doing(trace: Trace, policies: tuple[str, ...]) -> tuple[tuple[Step, ...], ...] | None:
    """The runs of ``trace`` if it is worth predicting under ``policies``, else None."""
    runs = []
    for policy in policies:
        steps, split_count = _replay_watching(trace, policy)
        if split_count == 0 or any(s.error == "skipped" for s in steps):
            return None
        if not any(_is_fault(s, b) for b, s in zip((None, *steps), steps)):
            return None
        runs.append(steps)
    if len(runs) > 1 and not any(c.credit != c.unused for s in runs[0] for c in s.closes):
        return None  # a pair must show the double credit itself: a close that credits what is not unused
    return tuple(runs)


def _is_fault(step: Step, before: Step | None) -> bool:
    """A touch that faulted a page in: it took a page (Free or Total moved)."""
    if kind(step.op) != "touch" or step.error is not None or before is None:
        return False
    return (step.counters.free, step.counters.total) != (before.counters.free, before.counters.total)


def make_exercise(seed: int, length: int = DEFAULT_LENGTH, policy: str = "modern", pair: bool = False) -> Exercise:
    """Exercise ``seed``: reproducible; ValueError if no such exercise can be drawn."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"an exercise has {MIN_LENGTH} to {MAX_LENGTH} steps, not {length}")
    policies = PAIR if pair else (policy,)
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose one of: {', '.join(POLICIES)}")
    rng = random.Random(seed)
    for _ in range(TRIES):
        text = random_trace(rng, length, max_pages=4, max_pool=6, weights=EXERCISE_WEIGHTS, min_pool=3)
        trace = parse_trace(text)
        runs = worth_doing(trace, policies)
        if runs is not None:
            return Exercise(seed, length, policies, trace, runs)
    raise ValueError(f"no exercise worth doing found for seed {seed} with {length} steps; try another seed or length")


# -- the teacher's sheet -------------------------------------------------------

SHEET_HELP = """\
# hugelab exercise sheet: predict what /proc/meminfo shows after each step.
# Over each ? write HugePages_Total, Free, Rsvd, Surp and the outcome
# ({outcomes}). A counter below zero may be written as the kernel
# prints it (18446744073709551610) or signed (-6).
# Check a filled-in sheet with:  hugelab exercise --check FILE"""


def sheet(ex: Exercise, key: bool = False) -> str:
    """The exercise as a sheet to fill in (``?``), or, with ``key``, filled in."""
    out = [SHEET_HELP.format(outcomes=", ".join(OUTCOMES)) if not key else
           "# hugelab exercise key: what /proc/meminfo shows after each step (signed value in a comment).",
           f"seed {ex.seed}", f"length {ex.length}"]
    for policy, steps in zip(ex.policies, ex.runs):
        out.append(f"policy {policy}")
        rows: list[tuple[str, ...]] = [("step", "op", *FIELDS, "outcome")]
        notes = []
        for number, s in enumerate(steps, 1):
            c = s.counters
            cells = [str(c.total), str(c.free), str(c.rsvd), str(c.surp), outcome(s)] if key else ["?"] * 5
            rows.append((str(number), s.op, *cells))
            notes.append(f"  # Rsvd = {signed(c.rsvd)}" if key and c.rsvd != signed(c.rsvd) else "")
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r, note in zip(rows, [""] + notes):
            cells = [c.rjust(w) if i in (0, 2, 3, 4, 5) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
            out.append("  ".join(cells).rstrip() + note)
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Mark:
    """One wrong (or missing) answer on a sheet."""

    line: int
    policy: str
    step: int
    op: str
    field: str
    wrote: str
    right: str
    why: str

    def __str__(self) -> str:
        return (f"line {self.line}, {self.policy} step {self.step} ({self.op}): {self.field}: you wrote {self.wrote}, "
                f"the kernel shows {self.right}. {self.why}")


@dataclass(frozen=True)
class Score:
    seed: int
    right: int
    total: int
    marks: tuple[Mark, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.right / self.total

    def report(self) -> str:
        head = f"hugelab exercise --seed {self.seed}: {self.right}/{self.total} answers right ({self.percent:.0f}%)"
        return "\n".join([head, *map(str, self.marks)]) + "\n"


def _header(lines: list[str]) -> tuple[int, int, int]:
    """(seed, length, index of the first policy line) from the sheet's head."""
    found: dict[str, int] = {}
    for i, raw in enumerate(lines):
        words = raw.split("#")[0].split()
        if not words:
            continue
        if words[0] == "policy":
            if "seed" not in found:
                raise SheetError(i + 1, "the sheet does not say its seed (a line 'seed N' before the first policy)")
            return found["seed"], found.get("length", 8), i
        if words[0] in ("seed", "length") and len(words) == 2:
            value = parse_number(words[1])
            if value is None or value < 0:
                raise SheetError(i + 1, f"{words[0]} must be a whole number, not {echo(words[1])}")
            found[words[0]] = value
            continue
        raise SheetError(i + 1, f"expected 'seed N', 'length N' or 'policy P', not {echo(raw.strip())}")
    raise SheetError(len(lines) or 1, "no 'policy P' line: this is not a hugelab exercise sheet")


def _answers(rest: str, number: int, line: int) -> list[str]:
    """The five answers after the op on a step's line: Total Free Rsvd Surp outcome."""
    words = rest.split("#")[0].replace("(=", " (=").split()
    cleaned: list[str] = []
    skip = False
    for word in words:  # drop a table's "(= -6)" after a wrapped counter
        if word == "(=":
            skip = True
            continue
        if skip:
            skip = not word.endswith(")")
            continue
        cleaned.append(word)
    if len(cleaned) != 5:
        raise SheetError(line, f"step {number} needs 5 answers (Total Free Rsvd Surp outcome), found {len(cleaned)}")
    for name, word in zip(FIELDS, cleaned):
        if word != "?" and parse_number(word) is None:
            raise SheetError(line, f"step {number}: {name} must be a whole number or ?, not {echo(word)}")
    if cleaned[4] != "?" and cleaned[4].upper() not in {o.upper() for o in OUTCOMES}:
        raise SheetError(line, f"step {number}: the outcome must be one of {', '.join(OUTCOMES)}, "
                               f"not {echo(cleaned[4])}")
    return cleaned


def check_sheet(text: str) -> Score:
    """Score a filled-in sheet; SheetError (one line, naming the line) if it cannot be read."""
    # only \n (or \r\n) ends a line, as an editor counts them (str.splitlines also splits at U+2028...)
    lines = [raw.removesuffix("\r") for raw in text.removesuffix("\n").split("\n")] if text else []
    seed, length, first = _header(lines)
    blocks = [raw.split("#")[0].split()[1:] for raw in lines[first:] if raw.split("#")[0].split()[:1] == ["policy"]]
    names = tuple(words[0] if len(words) == 1 else "" for words in blocks)
    pair = names == PAIR
    if not pair and len(names) != 1:
        raise SheetError(first + 1, f"a sheet has one 'policy P' block, or the pair {' and '.join(PAIR)}")
    if names[0] not in POLICIES:
        raise SheetError(first + 1, f"unknown policy {echo(names[0])}; choose one of: {', '.join(POLICIES)}")
    try:
        ex = make_exercise(seed, length, names[0], pair=pair)
    except ValueError as e:
        raise SheetError(first + 1, str(e)) from None
    marks: list[Mark] = []
    total = 0
    block = -1
    expect = 1
    for i in range(first, len(lines)):
        lineno = i + 1
        words = lines[i].split("#")[0].split()
        if not words:
            continue
        if words[0] == "policy":
            if block >= 0 and expect <= len(ex.steps):
                raise SheetError(lineno, f"the {ex.policies[block]} block ends after step {expect - 1} "
                                         f"of {len(ex.steps)}")
            block, expect = block + 1, 1
            continue
        if words[0] == "step":
            continue  # the column heads
        number = parse_number(words[0])
        if number is None:
            raise SheetError(lineno, f"expected a step line ('{expect}  OP  Total Free Rsvd Surp outcome'), "
                                     f"not {echo(lines[i].strip())}")
        if number != expect or expect > len(ex.steps):
            raise SheetError(lineno, f"expected step {expect}, found step {number}")
        step = ex.runs[block][number - 1]
        body = lines[i].split(None, 1)[1] if len(words) > 1 else ""
        body = " ".join(body.split())
        if not (body.startswith(step.op) and body[len(step.op):len(step.op) + 1] in ("", " ")):
            raise SheetError(lineno, f"step {number} of seed {seed} is {step.op!r}: this line does not match the sheet")
        answers = _answers(body[len(step.op):], number, lineno)
        before = ex.runs[block][number - 2].counters if number > 1 else Counters(0, 0, 0, 0)
        truth: list[int | str] = [*step.counters, outcome(step)]
        for field, wrote, right in zip((*FIELDS, "outcome"), answers, truth):
            total += 1
            if isinstance(right, str):
                good, shown = wrote.upper() == right.upper(), right
            else:
                value = parse_number(wrote)
                good = value is not None and same_number(value, right)
                shown = str(right) if u64(right) == signed(right) else f"{right} (= {signed(right)})"
            if good:
                continue
            marks.append(Mark(lineno, ex.policies[block], number, step.op, field, wrote, shown,
                              explain(step, before, field, wrote, ex.policies[block])))
        expect += 1
    if block < 0 or block != len(ex.policies) - 1 or expect <= len(ex.steps):
        raise SheetError(len(lines), f"the sheet ends after step {expect - 1} of {len(ex.steps)}")
    return Score(seed, total - len(marks), total, tuple(marks))


def command(seed: int, length: int, policy: str, pair: bool, key: bool, check: str | None, out, err) -> int:
    """``hugelab exercise``: print a sheet or its key, or score a filled-in sheet.

    Exit status: 0 printed, or every answer right; 1 some answer wrong;
    2 a bad sheet or bad arguments (one line on ``err``).
    """
    if check is not None:
        from ..trace.source import SourceError, read_file
        try:
            text = read_file(check)  # a regular file, UTF-8, within MAX_TRACE_BYTES
        except OSError as e:
            print(f"hugelab: cannot read sheet {echo(check)}: {e.strerror}", file=err)
            return 2
        except (SourceError, TraceError) as e:
            print(f"hugelab: sheet {echo(check)}: {e}", file=err)
            return 2
        try:
            score = check_sheet(text)
        except SheetError as e:
            print(f"hugelab: {check}: {e}", file=err)
            return 2
        print(score.report(), end="", file=out)
        return 0 if not score.marks else 1
    try:
        ex = make_exercise(seed, length, policy, pair)
    except ValueError as e:
        print(f"hugelab: {e}", file=err)
        return 2
    print(sheet(ex, key=key), end="", file=out)
    return 0
