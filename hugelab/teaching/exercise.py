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

from ..limits import EXERCISE_MAX_SHEET_BYTES, echo, echo_number
from ..model.hstate import Counters, signed, u64
from ..model.machine import Model
from ..model.policies import POLICIES
from ..replay import ModelReplay, Step
from ..tools.tables import outcome
from ..trace.generate import random_trace
from ..trace.language import Mmap, Mprotect, Munmap, Operation, Touch, Trace, TraceError, parse_trace
from .difficulty import ANY, Difficulty, parse_difficulty
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
#: ... and at a difficulty setting, which turns most candidates down (seeds 0-119 at "full", paired,
#: need up to about 2,700: benchmarks/bench_grading.py)
SHAPED_TRIES = 6000
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
    difficulty: Difficulty = ANY

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
    run = ModelReplay(policy, trace)
    steps, split_count = [], 0
    for op in trace:
        split_count += splits(op, run.model)
        steps.append(run.feed(op))
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
    if len(runs) > 1 and any(shared_fault_borrows(trace, steps) for steps in runs):
        return None  # the 2008 eras' shared fault that takes a surplus page: no notebook teaches it
    return tuple(runs)


def shared_fault_borrows(trace: Trace, steps: tuple[Step, ...]) -> bool:
    """Does a fault of a shared mapping take a surplus page (Surp rises at the touch)?

    Before 7f09ca51 (both 2008 eras of a paired sheet) a shared mapping's fault, when every free page
    is promised, takes a surplus page and leaves its reservation unconsumed; the course never teaches
    that, so a paired sheet never asks it."""
    ops = list(trace)
    shared = {op.name for op in ops if isinstance(op, Mmap) and op.shared}
    return any(isinstance(op, Touch) and op.name in shared and step.error is None
               and step.counters.surp > before.counters.surp
               for op, before, step in zip(ops[1:], steps, steps[1:]))


def _is_fault(step: Step, before: Step | None) -> bool:
    """A touch that faulted a page in: it took a page (Free or Total moved)."""
    if kind(step.op) != "touch" or step.error is not None or before is None:
        return False
    return (step.counters.free, step.counters.total) != (before.counters.free, before.counters.total)


def make_exercise(seed: int, length: int = DEFAULT_LENGTH, policy: str = "modern", pair: bool = False,
                  difficulty: Difficulty = ANY) -> Exercise:
    """Exercise ``seed``: reproducible; ValueError if no such exercise can be drawn.

    With a ``difficulty`` setting, only a trace of that shape is taken (hugelab.teaching.difficulty);
    without one, the draw is the one sheets have always had, seed for seed."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"an exercise has {MIN_LENGTH} to {MAX_LENGTH} steps, not {echo_number(length)}")
    policies = PAIR if pair else (policy,)
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose one of: {', '.join(POLICIES)}")
    rng = random.Random(seed)
    weights = difficulty.weights(EXERCISE_WEIGHTS)
    for _ in range(TRIES if difficulty.free else SHAPED_TRIES):
        text = random_trace(rng, length, max_pages=4, max_pool=6, weights=weights, min_pool=3)
        if difficulty.surplus is False and "overcommit" in text:
            continue  # a cheap early no: most surplus comes from overcommit
        trace = parse_trace(text)
        runs = worth_doing(trace, policies)
        if runs is not None and difficulty.fits(trace, runs):
            return Exercise(seed, length, policies, trace, runs, difficulty)
    setting = "" if difficulty.free else f" at difficulty {difficulty.name()}"
    raise ValueError(f"no exercise worth doing found for seed {echo_number(seed)} with {length} steps{setting}; "
                     "try another seed or length")


# -- the teacher's sheet -------------------------------------------------------

SHEET_HELP = """\
# hugelab exercise sheet: predict what /proc/meminfo shows after each step.
# Over each ? write HugePages_Total, Free, Rsvd, Surp and the outcome
# ({outcomes}).
# A counter below zero may be written as the kernel prints it
# (18446744073709551610) or signed (-6).
# Check a filled-in sheet with:  hugelab exercise --check FILE"""


@dataclass(frozen=True)
class Student:
    """Who a sheet is for: its ``name`` and ``id`` lines (None: left as ``?`` for the student)."""

    name: str | None = None
    id: str | None = None


def sheet(ex: Exercise, key: bool = False, student: Student | None = None) -> str:
    """The exercise as a sheet to fill in (``?``), or, with ``key``, filled in.

    With ``student``, the sheet has a ``name`` and an ``id`` line (``?`` where not given) for the
    student to fill in, or filled in for a class's sheets made from a roster."""
    wrapped = key and any(s.counters.rsvd != signed(s.counters.rsvd) for steps in ex.runs for s in steps)
    out = [SHEET_HELP.format(outcomes=", ".join(OUTCOMES)) if not key else
           "# hugelab exercise key: what /proc/meminfo shows after each step"
           + (" (where Rsvd wrapped below zero, a comment gives its signed value)." if wrapped else ".")]
    if student is not None:
        out += [f"name {student.name or '?'}", f"id {student.id or '?'}"]
    out += [f"seed {ex.seed}", f"length {ex.length}"]
    if not ex.difficulty.free:
        out.append(ex.difficulty.line())
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
class Problem:
    """A line of the sheet that could not be read: it costs its own answers (``costs``), never the sheet."""

    line: int
    message: str
    costs: int = 0

    def __str__(self) -> str:
        cost = f" ({self.costs} answers counted wrong)" if self.costs else ""
        return f"line {self.line}: {self.message}{cost}"


@dataclass(frozen=True)
class Score:
    seed: int
    right: int
    total: int
    marks: tuple[Mark, ...]
    #: lines that could not be read, each costing its answers
    problems: tuple[Problem, ...] = ()
    #: every answer of the exercise in sheet order: (label, right?); a label is "3.Rsvd", or
    #: "double-credit 3.Rsvd" on a paired sheet
    cells: tuple[tuple[str, bool], ...] = ()
    student: Student = Student()
    #: the seed the sheet's own line says (None: no seed line); differs from ``seed`` when the
    #: checker was told the student's seed and the sheet says another
    sheet_seed: int | None = None
    difficulty: Difficulty = ANY

    @property
    def percent(self) -> float:
        return 100.0 * self.right / self.total

    def report(self) -> str:
        head = f"hugelab exercise --seed {self.seed}: {self.right}/{self.total} answers right ({self.percent:.0f}%)"
        return "\n".join([head, *map(str, self.problems), *map(str, self.marks)]) + "\n"


@dataclass(frozen=True)
class _Head:
    seed: int | None
    length: int
    difficulty: Difficulty
    student: Student
    first: int  # index of the first policy line
    problems: tuple[Problem, ...]


def _header(lines: list[str]) -> _Head:
    """What the sheet's head says, up to its first policy line. A line that cannot be read is a
    problem (it holds no answer, so it costs none); a sheet with no policy line is not a sheet."""
    found: dict[str, int] = {}
    difficulty = Difficulty()
    name = ident = None
    problems: list[Problem] = []
    for i, raw in enumerate(lines):
        words = raw.split("#")[0].split()
        if not words:
            continue
        if words[0] == "policy":
            return _Head(found.get("seed"), found.get("length", DEFAULT_LENGTH), difficulty, Student(name, ident), i,
                         tuple(problems))
        rest = " ".join(words[1:])
        if words[0] == "name":
            name = rest if rest not in ("", "?") else None
        elif words[0] == "id" and len(words) <= 2:
            ident = rest if rest not in ("", "?") else None
        elif words[0] == "difficulty":
            try:
                difficulty = parse_difficulty(words[1:])
            except ValueError as e:
                raise SheetError(i + 1, str(e)) from None  # the trace would be another one: nothing to grade
        elif words[0] in ("seed", "length") and len(words) == 2:
            value = parse_number(words[1])
            if value is None or value < 0:
                raise SheetError(i + 1, f"{words[0]} must be a whole number, not {echo(words[1])}")
            found[words[0]] = value
        else:
            problems.append(Problem(i + 1, f"expected 'name ...', 'id ...', 'seed N', 'length N', 'difficulty ...' "
                                           f"or 'policy P', not {echo(raw.strip())}"))
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
    return cleaned


def _cell(wrote: str, right: int | str, field: str) -> tuple[bool, str, str]:
    """(right?, the right answer as said, a note when what was written is no answer at all)."""
    if isinstance(right, str):
        if wrote != "?" and wrote.upper() not in {o.upper() for o in OUTCOMES}:
            return False, right, f"The outcome is one of {', '.join(OUTCOMES)}."
        return wrote.upper() == right.upper(), right, ""
    value = parse_number(wrote)
    shown = str(right) if u64(right) == signed(right) else f"{right} (= {signed(right)})"
    if value is None and wrote != "?":
        return False, shown, f"{field} is a whole number."
    return value is not None and same_number(value, right), shown, ""


def check_sheet(text: str, seed: int | None = None) -> Score:
    """Score a filled-in sheet.

    ``seed``: the exercise the sheet must be graded against (the student's, from a roster); the
    sheet's own seed line is then only compared with it (``Score.sheet_seed``), never trusted.
    A step line that cannot be read costs its own five answers (``Score.problems``); SheetError
    (one line, naming the line) only when there is no exercise to grade against at all."""
    # only \n (or \r\n) ends a line, as an editor counts them (str.splitlines also splits at U+2028...)
    lines = [raw.removesuffix("\r") for raw in text.removesuffix("\n").split("\n")] if text else []
    head = _header(lines)
    first = head.first
    if seed is None:
        if head.seed is None:
            raise SheetError(first + 1, "the sheet does not say its seed (a line 'seed N' before the first policy)")
        seed = head.seed
    blocks = [raw.split("#")[0].split()[1:] for raw in lines[first:] if raw.split("#")[0].split()[:1] == ["policy"]]
    names = tuple(words[0] if len(words) == 1 else "" for words in blocks)
    pair = names[:2] == PAIR
    if names[0] not in POLICIES:
        raise SheetError(first + 1, f"unknown policy {echo(names[0])}; choose one of: {', '.join(POLICIES)}")
    try:
        ex = make_exercise(seed, head.length, names[0], pair=pair, difficulty=head.difficulty)
    except ValueError as e:
        raise SheetError(first + 1, str(e)) from None
    return _grade(ex, lines, first, head)


def _grade(ex: Exercise, lines: list[str], first: int, head: _Head) -> Score:
    """Every answer of ``ex`` against the sheet's lines from its first policy line on."""
    problems = list(head.problems)
    marks: list[Mark] = []
    got: dict[tuple[int, int], bool] = {}  # (block, step, field index) -> right?, as graded
    cell_right: dict[tuple[int, int, int], bool] = {}
    block = -1
    expect = 1
    for i in range(first, len(lines)):
        lineno = i + 1
        words = lines[i].split("#")[0].split()
        if not words or words[0] == "step":  # blank, a comment, or the column heads
            continue
        if words[0] == "policy":
            block, expect = block + 1, 1
            if block >= len(ex.policies) or words[1:] != [ex.policies[block]]:
                problems.append(Problem(lineno, f"expected 'policy {ex.policies[block]}'" if block < len(ex.policies)
                                        else f"this exercise has {len(ex.policies)} policy block(s); "
                                             "the lines after this one are not graded"))
            continue
        if block >= len(ex.policies):
            continue
        block = max(block, 0)
        steps = ex.runs[block]
        number = parse_number(words[0])
        if number is None or not 1 <= number <= len(steps) or (block, number) in got:
            problems.append(Problem(lineno, f"expected a step line ('{expect}  OP  Total Free Rsvd Surp "
                                            f"outcome'), not {echo(lines[i].strip())}"))
            continue
        expect = number + 1
        step = steps[number - 1]
        body = " ".join(lines[i].split(None, 1)[1].split()) if len(words) > 1 else ""
        if not (body.startswith(step.op) and body[len(step.op):len(step.op) + 1] in ("", " ")):
            got[(block, number)] = False
            problems.append(Problem(lineno, f"step {number} of seed {echo_number(ex.seed)} is {step.op!r}: this line "
                                            "does not match the sheet", costs=5))
            continue
        try:
            answers = _answers(body[len(step.op):], number, lineno)
        except SheetError as e:
            got[(block, number)] = False
            problems.append(Problem(lineno, str(e).split(": ", 1)[1], costs=5))
            continue
        got[(block, number)] = True
        before = ex.runs[block][number - 2].counters if number > 1 else Counters(0, 0, 0, 0)
        truth: list[int | str] = [*step.counters, outcome(step)]
        for index, (field, wrote, right) in enumerate(zip((*FIELDS, "outcome"), answers, truth)):
            good, shown, note = _cell(wrote, right, field)
            cell_right[(block, number, index)] = good
            if not good:
                why = note or explain(step, before, field, wrote, ex.policies[block])
                marks.append(Mark(lineno, ex.policies[block], number, step.op, field, wrote, shown, why))
    missing = [(b, n) for b in range(len(ex.policies)) for n in range(1, len(ex.runs[b]) + 1) if (b, n) not in got]
    if missing:
        said = ", ".join(f"{ex.policies[b]} step {n}" if len(ex.policies) > 1 else f"step {n}" for b, n in missing)
        problems.append(Problem(len(lines), f"no line for {said}", costs=5 * len(missing)))
    cells = tuple((f"{ex.policies[b] + ' ' if len(ex.policies) > 1 else ''}{n}.{field}",
                   cell_right.get((b, n, index), False))
                  for b in range(len(ex.policies)) for n in range(1, len(ex.runs[b]) + 1)
                  for index, field in enumerate((*FIELDS, "outcome")))
    right = sum(good for _, good in cells)
    return Score(ex.seed, right, len(cells), tuple(marks), tuple(sorted(problems, key=lambda p: p.line)), cells,
                 head.student, head.seed, ex.difficulty)


def command(seed: int, length: int, policy: str, pair: bool, key: bool, check: str | None, out, err,
            difficulty: Difficulty = ANY, named: bool = True) -> int:
    """``hugelab exercise``: print a sheet or its key, or score one filled-in sheet.

    Exit status: 0 printed, or every answer right; 1 some answer wrong or a line unreadable;
    2 a bad sheet or bad arguments (one line on ``err``).
    """
    if check is not None:
        from ..trace.source import SourceError, read_file
        try:
            text = read_file(check, EXERCISE_MAX_SHEET_BYTES)  # a regular file, UTF-8, of a sheet's size
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
        return 0 if not score.marks and not score.problems else 1
    try:
        ex = make_exercise(seed, length, policy, pair, difficulty)
    except ValueError as e:
        print(f"hugelab: {e}", file=err)
        return 2
    print(sheet(ex, key=key, student=None if key or not named else Student()), end="", file=out)
    return 0
