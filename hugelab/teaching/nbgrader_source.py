"""``hugelab assignments COURSE``: nbgrader source notebooks of the course's questions.

The questions, their recipes and the student's own trace are ``assignments``'s; this writes them
as nbgrader's source format (cells carrying ``metadata.nbgrader``: solution cells, locked cells,
autograded test cells with hidden tests), ``COURSE/source/hugelab-NN/hugelab-NN.ipynb``, and a
minimal ``COURSE/nbgrader_config.py`` when the course has none. ``nbgrader generate_assignment``
then makes the student version as for any assignment (docs/teaching.md).
"""

from __future__ import annotations

from pathlib import Path

from .assignments import POINTS, PREFIX, TITLES, Graded, questions

SCHEMA = 3
#: the student's own trace counts double: its answer is nowhere in the package
OWN_POINTS = 2 * POINTS
INTRO = """# hugelab, graded: {number}. {title}

The questions of notebook {number}, graded. Work each one out from what the course taught (no need
to run anything but these cells): in each answer cell, replace `raise NotImplementedError()` with
your answer as a whole number, e.g. `{first} = 3`. A counter below zero may be written signed
(`-6`) or as the kernel prints it (`18446744073709551610`).

Run every cell before you submit: the check under each answer only says whether it is a whole
number. Right or wrong, and why, comes in your feedback once your lecturer has graded it. The last
question is yours alone: its trace is drawn from your id."""

# Every hidden test first looks through the cells run so far (IPython's In) for the course's answer
# book, hugelab.teaching.lessons: its questions carry their answers, and a student could import
# them. A deterrent that names the cell, not a wall: the kernel is the student's.
HIDDEN_HEAD = r"""import re as _re
_book = "less" "ons"  # spelt apart, so that this cell never finds itself
for _n, _cell in enumerate(globals().get("In", [])):
    if _re.search(rf"teaching\s*\.\s*{_book}|\b{_book}\s*\.|import\s+{_book}|import[^\n]*\b{_book}\b", _cell):
        raise AssertionError(f"Cell In[{_n}] imports the course's own questions, which carry their answers: "
                             "every answer here must be your own.")
import textwrap as _textwrap
from hugelab.replay import replay as _replay
from hugelab.teaching.predict import same_number as _same


def _say(text):
    print(_textwrap.fill(text, 88))  # readable in the feedback, where a traceback line scrolls


def _wrong(text):
    _say(text)
    raise AssertionError(text)
"""


def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = True,
          points: int | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _visible_check(name: str) -> str:
    return (f"assert isinstance({name}, int) and not isinstance({name}, bool), "
            f"\"{name} must be a whole number, e.g. {name} = 3\"\n")


def numbered(trace: str) -> str:
    """The trace's operations, numbered as the questions count steps; its comments (which explain
    what happens, and so answer questions) left out."""
    from ..trace.language import parse_trace

    ops = [op.text for op in parse_trace(trace)]
    return "\n".join(f"{n:>2}  {op}" for n, op in enumerate(ops, 1))


def _question_cells(index: int, g: Graded, nbf) -> list:
    q, r = g.question, g.recipe
    text = f"**{index}.** {q.prompt}"
    if r.trace:
        text += f"\n\nThe trace{f' (policy `{r.policy}`)' if r.policy else ''}:\n\n```\n{numbered(r.trace)}\n```"
    hints = {wrong: hint for wrong, hint in q.hints.items()}
    test = (_visible_check(g.name) + "### BEGIN HIDDEN TESTS\n" + HIDDEN_HEAD +
            f"_trace = {r.trace!r}\n{r.code}\n_hints = {hints!r}\n"
            f"if not _same({g.name}, _right):\n"
            f"    _wrong(f\"Not {{{g.name}}}. \" + next((h for w, h in _hints.items() "
            f"if _same(w, {g.name})), {q.hint!r}))\n"
            f"_say({('Right. ' + q.why).strip()!r})\n### END HIDDEN TESTS")
    return [nbf.new_markdown_cell(text, metadata=_meta(f"{g.name}_prompt")),
            nbf.new_code_cell(f"### BEGIN SOLUTION\n{g.name} = {q.answer}\n### END SOLUTION",
                              metadata=_meta(f"{g.name}_answer", solution=True, locked=False)),
            nbf.new_code_cell(test, metadata=_meta(f"{g.name}_test", grade=True, points=POINTS))]


def _own_cells(index: int, number: str, nbf) -> list:
    assignment, name = f"{PREFIX}{number}", f"q{number}_own"
    text = (f"**{index}. Your own trace.** The cell below draws a trace from your id (run it: it prints the "
            "trace). What is HugePages_Rsvd after its last step, under the policy it names? (Signed, or as "
            "the kernel prints it.)")
    show = (f"from hugelab.teaching.assignments import student_id, student_variant\n"
            f"MY_TRACE, MY_POLICY = student_variant({assignment!r})\n"
            f"print(f\"student {{student_id()}}, policy {{MY_POLICY}}:\")\nprint(MY_TRACE)")
    solution = ("### BEGIN SOLUTION\nfrom hugelab.replay import replay\n"
                f"{name} = replay(MY_TRACE, MY_POLICY)[-1].counters.rsvd\n### END SOLUTION")
    test = (_visible_check(name) + "### BEGIN HIDDEN TESTS\n" + HIDDEN_HEAD +
            "from hugelab.teaching.assignments import student_variant as _variant\n"
            "from hugelab.teaching.explain import explain as _explain\n"
            f"_trace, _policy = _variant({assignment!r})\n_steps = _replay(_trace, _policy)\n"
            "_right = _steps[-1].counters.rsvd\n"
            f"if not _same({name}, _right):\n"
            f"    _wrong(f\"Not {{{name}}}. \" + _explain(_steps[-1], _steps[-2].counters, 'Rsvd', str({name}), "
            "_policy))\n"
            "_say('Right.')\n### END HIDDEN TESTS")
    return [nbf.new_markdown_cell(text, metadata=_meta(f"{name}_prompt")),
            nbf.new_code_cell(show, metadata=_meta(f"{name}_trace")),
            nbf.new_code_cell(solution, metadata=_meta(f"{name}_answer", solution=True, locked=False)),
            nbf.new_code_cell(test, metadata=_meta(f"{name}_test", grade=True, points=OWN_POINTS))]


def notebook(number: str):
    """Notebook ``number``'s assignment (an nbformat notebook), and (name, why) of questions left out."""
    import nbformat.v4 as nbf

    graded, left_out = questions(number)
    nb = nbf.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    first = graded[0].name if graded else f"q{number}_own"
    nb.cells.append(nbf.new_markdown_cell(INTRO.format(number=number, title=TITLES[number], first=first),
                                          metadata=_meta("intro")))
    for index, g in enumerate(graded, 1):
        nb.cells.extend(_question_cells(index, g, nbf))
    nb.cells.extend(_own_cells(len(graded) + 1, number, nbf))
    return nb, left_out


CONFIG = '''c = get_config()  # noqa: F821 (nbgrader's config file)
# written by hugelab assignments; nbgrader's own settings (exchange, hub) go here too
c.CourseDirectory.course_id = "hugelab"
'''


def write(course: Path, only: list[str] | None, out, err) -> int:
    """Write the assignments into ``course``; exit status 0, or 2 with one line on ``err``."""
    try:
        import nbformat
    except ImportError:
        print("hugelab assignments needs nbformat (and nbgrader to use them): pip install 'hugelab[grading]'",
              file=err)
        return 2
    wanted = only or list(TITLES)
    unknown = [n for n in wanted if n not in TITLES]
    if unknown:
        print(f"hugelab: no numbered notebook {unknown[0]!r}; choose from {', '.join(TITLES)}", file=err)
        return 2
    if course.exists() and not course.is_dir():
        print(f"hugelab: {course} is not a folder", file=err)
        return 2
    for number in wanted:
        nb, left_out = notebook(number)
        asked = sum(1 for c in nb.cells if c.metadata["nbgrader"].get("grade")) - 1
        name = f"{PREFIX}{number}"
        path = course / "source" / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        print(f"hugelab: {path.relative_to(course)}: {asked} question(s) of notebook {number} and the student's "
              "own trace", file=out)
        for question, why in left_out:
            print(f"hugelab:   left out {question}: {why}", file=out)
    config = course / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
        print(f"hugelab: {config.relative_to(course)}: course_id hugelab (edit it for your course)", file=out)
    return 0
