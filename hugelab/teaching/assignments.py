"""Graded notebooks for nbgrader, generated from the course's own questions (``lessons``).

``hugelab assignments COURSE`` writes one nbgrader *source* notebook per numbered notebook that
asks questions, ``COURSE/source/hugelab-NN/hugelab-NN.ipynb``, so the graded versions stay in step
with the course: the same prompts, traces and hints. In each:

* a question is a code cell the student answers (``q03_split = ...``: an nbgrader solution cell,
  released as ``raise NotImplementedError()``), then a locked, autograded test cell. Its visible
  part checks that the answer is a whole number; its hidden part (``### BEGIN HIDDEN TESTS``,
  stripped from the released notebook and put back when autograding) computes the answer there
  and then by replaying the question's trace with hugelab's model: it never calls a function
  that hands out answers (``lessons.q03_split().answer``), which a student could call too;
* a wrong answer fails the test with the lesson's hint for that answer (the misconception behind
  it), which nbgrader's feedback shows; a right answer prints why it is right;
* the last question is the student's own: a trace drawn from their id (:func:`student_variant`),
  whose answer the hidden test computes the same way. On a hub the id is the hub's user name;
  when nbgrader autogrades, the submission's folder (``autograded/ID/...``) names it.

What a question's answer is computed from (its *recipe*) is worked out here from the lesson's own
record of what it asks (``lessons.ASKED``: trace, step, policy) or, for the few that ask about a
map or a close, written out below; every recipe is checked against the lesson's answer when the
notebook is written, and a question without a recipe that gives the lesson's answer is left out,
saying so.

This module is what the released notebooks import at run time (``student_variant``): it is part
of the package, as the course is.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..replay import ModelReplay, replay
from .difficulty import ANY, PRESETS
from .exercise import make_exercise
from .predict import ROW_FIELDS, Choice, Question, Row, same_number

PREFIX = "hugelab-"
TITLES = {"00": "Start here", "01": "The pool and reservations", "02": "The region map",
          "03": "Splitting a VMA: the double credit", "04": "The fix", "05": "Today's kernel", "06": "Lab",
          "07": "Many kernels", "08": "Files and mounts", "09": "Self-test", "10": "The bug zoo"}
#: the policy a notebook's own-trace question is asked under: the era that notebook teaches
VARIANT_POLICY = {"03": "double-credit", "04": "region-count"}
#: own-trace length: long enough to need the notebook's ideas, short enough for ten minutes
VARIANT_LENGTH = 6
POINTS = 1


def student_id() -> str:
    """Who is answering: the student folder when nbgrader autograds a submission
    (``.../autograded/ID/ASSIGNMENT``), else the hub's user name, else the login name."""
    parts = Path.cwd().parts
    for marker in ("autograded", "submitted", "feedback"):
        if marker in parts[:-1]:
            return parts[len(parts) - 1 - parts[::-1].index(marker) + 1]
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def variant_seed(assignment: str, student: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{assignment}:{student.strip()}".encode()).digest()[:8], "big") % 10**9


def student_variant(assignment: str, student: str | None = None) -> tuple[str, str]:
    """(trace text, policy) of ``student``'s own question in ``assignment`` (by default the
    student answering, :func:`student_id`). The answer is not here: the test replays the trace."""
    number = assignment.removeprefix(PREFIX)
    sid = student_id() if student is None else student
    policy = VARIANT_POLICY.get(number, "modern")
    early = number < "05"  # fork, COW and surplus come with 05: none before
    ex = make_exercise(variant_seed(assignment, sid), VARIANT_LENGTH, policy if policy != "double-credit" else "modern",
                       pair=policy == "double-credit", difficulty=PRESETS["basic"] if early else ANY)
    return "".join(f"{s.op}\n" for s in ex.steps), policy


# -- recipes: how a hidden test computes a question's answer --------------------------------------

@dataclass(frozen=True)
class Recipe:
    #: the trace the question is about (shown to the student), or None
    trace: str | None
    policy: str | None
    #: Python lines that set ``_right`` from ``_trace`` with ``_replay`` (hugelab.replay.replay)
    code: str


# what the lessons that do not ask for a counter or a failing step ask, as code over their traces
_MAP_AFTER = '''from hugelab.replay import ModelReplay as _Run
from hugelab.trace.language import parse_trace as _parse
_run = _Run("modern")
for _op in list(_parse(_trace))[:{step}]:
    _run.feed(_op)
'''
SPECIAL: dict[str, tuple[str | None, str | None, str]] = {
    "q02_count": (None, None, "from hugelab.model.resv_map import ResvMap as _Map\n_map = _Map()\n"
                              "_map.region_add(0, 1)\n_map.region_add(3, 4)\n_right = _map.region_count(0, 3)"),
    "q02_unused": ("SIX", "region-count", "_right = _replay(_trace, 'region-count')[4].closes[0].unused"),
    "q04_close": ("CLOSES", "region-count", "_right = _replay(_trace, 'region-count')[4].closes[0].credit"),
    "q04_total": ("CLOSES", "region-count",
                  "_right = sum(c.credit for s in _replay(_trace, 'region-count') for c in s.closes)"),
    "q08_statfs": ("CAPPED", "modern", "_right = _replay(_trace)[4].mounts['q'][1]"),
    "q08_shared_entries": ("TWO_MAPS", "modern", _MAP_AFTER.format(step=7)
                           + "_right = len(_run.model.inodes['f'].resv_map)"),
    "q08_private_entries": ("TWO_MAPS", "modern", _MAP_AFTER.format(step=7)
                            + "_right = next(len(v.private_data) for p in _run.model.procs.values()\n"
                              "              for n, v in p.all_vmas() if n == 'p' and v.private_data is not None)"),
}
_FIELD = re.compile(r"HugePages_(Total|Free|Rsvd|Surp) = ")


def recipe(name: str, q: Question) -> Recipe | str:
    """How to compute ``q``'s answer by replaying, checked against the lesson; else why not (a sentence)."""
    from . import lessons

    if name in SPECIAL:
        const, policy, code = SPECIAL[name]
        found = Recipe(getattr(lessons, const) if const else None, policy, code)
    elif q.prompt in lessons.ASKED:
        trace, step, policy = lessons.ASKED[q.prompt]
        last = q.reveal.strip().splitlines()[-1] if q.reveal.strip() else ""
        field = _FIELD.search(last)
        if field and last.startswith(f"after step {step} "):
            code = f"_right = _replay(_trace, {policy!r})[{step - 1}].counters.{field.group(1).lower()}"
        else:
            error = replay(trace, policy)[step - 1].error
            if error is None or not same_number(q.answer, step):
                return "it asks neither a counter nor the step that fails"
            code = f"_right = next(n for n, s in enumerate(_replay(_trace, {policy!r}), 1) if s.error == {error!r})"
        found = Recipe(trace, policy, code)
    else:
        return "no recipe computes its answer from a trace"
    got = run_recipe(found)
    if not isinstance(got, int) or not same_number(got, q.answer):
        return f"its recipe gives {got!r}, the lesson says {q.answer}"
    return found


def run_recipe(r: Recipe) -> object:
    namespace: dict[str, object] = {"_replay": replay, "_trace": r.trace, "ModelReplay": ModelReplay}
    exec(r.code, namespace)  # our own recipes, above: the hidden test runs the same lines
    return namespace["_right"]


# -- the questions of each notebook -----------------------------------------------------------------

@dataclass(frozen=True)
class Graded:
    name: str  # the student's variable: q03_split
    question: Question
    recipe: Recipe


def questions(number: str) -> tuple[list[Graded], list[tuple[str, str]]]:
    """Notebook ``number``'s gradeable questions, and (name, why not) for those left out."""
    from . import lessons

    makers: list[tuple[str, Callable[[], Question]]] = [
        (name, fn) for name, fn in lessons.ALL.items() if name.startswith(f"q{number}_")]
    found: list[tuple[str, object]] = [(name, fn()) for name, fn in makers]
    if number == "09":
        found = [(f"q09_{n}", q) for n, q in enumerate(lessons.self_test(), 1)]
    # a why question (predict.Choice) is practice in the notebook, with its hints there; a whole-row
    # prediction (predict.Row) is graded as its four counters, one answer each
    graded, left_out = [], []
    for name, q in found:
        if isinstance(q, Choice):
            continue
        if isinstance(q, Row):
            graded.extend(_row_fields(name, q))
            continue
        if not isinstance(q, Question) or not isinstance(q.answer, int):
            left_out.append((name, f"a {type(q).__name__}, not a question with a number for an answer"))
            continue
        r = recipe(name, q)
        if isinstance(r, str):
            left_out.append((name, r))
        else:
            graded.append(Graded(name, q, r))
    return graded, left_out


def _row_fields(name: str, row: Row) -> list[Graded]:
    """A whole-row question as four graded numbers (q00_row_total, ...), each with its field's hints."""
    from . import lessons

    trace, step, policy = lessons.ASKED[row.prompt]
    graded = []
    for field, value in zip(ROW_FIELDS, row.answer):
        q = Question(f"{row.prompt} HugePages_{field}?", value, row.hints.get(field, {}), why=row.why,
                     reveal=row.reveal)
        r = Recipe(trace, policy, f"_right = _replay(_trace, {policy!r})[{step - 1}].counters.{field.lower()}")
        got = run_recipe(r)
        assert isinstance(got, int) and same_number(got, value), (name, field, got, value)
        graded.append(Graded(f"{name}_{field.lower()}", q, r))
    return graded


def numbers() -> list[str]:
    """The numbered notebooks that ask questions."""
    return [n for n in TITLES if questions(n)[0]]
