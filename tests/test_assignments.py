"""Graded notebooks for nbgrader, made from the course's questions: what the hidden tests do, and
nbgrader itself end to end (generate, release, fetch, a right and a wrong submission, autograde,
feedback, grades)."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hugelab.replay import replay
from hugelab.teaching.assignments import TITLES, questions, student_id, student_variant
from hugelab.teaching.nbgrader_source import notebook

pytest.importorskip("nbformat")


def hidden(cell_source: str) -> str:
    """The test cell as nbgrader's autograder runs it: visible part and hidden tests, markers dropped."""
    return re.sub(r"### (BEGIN|END) HIDDEN TESTS\n?", "", cell_source)


def graded_cells(nb) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"].removesuffix("_test"): c.source for c in nb.cells
            if c.metadata["nbgrader"].get("grade")}


def test_every_numbered_notebook_has_its_questions_graded_and_03_all_of_them():
    for number in TITLES:
        graded, left_out = questions(number)
        assert graded, number
        assert left_out == [], (number, left_out)
    assert [g.name for g in questions("03")[0]] == ["q03_split", "q03_end", "q03_lost", "q03_row_total",
                                                    "q03_row_free", "q03_row_rsvd", "q03_row_surp"]


@pytest.mark.parametrize("number", list(TITLES))
def test_hidden_tests_replay_the_trace_and_answer_with_the_lessons_hints(number):
    nb, _ = notebook(number)
    tests = graded_cells(nb)
    for g in questions(number)[0]:
        source = hidden(tests[g.name])
        assert "lessons" not in source and ".answer" not in source  # computed, not looked up
        assert "_replay(" in source or "region_count(" in source or "_Run(" in source
        namespace = {g.name: g.question.answer}
        exec(source, namespace)  # the right answer passes
        for wrong, hint in g.question.hints.items():
            namespace = {g.name: wrong}
            with pytest.raises(AssertionError) as e:
                exec(source, namespace)
            assert hint in str(e.value), (g.name, wrong)
        if g.question.answer >= 2**63 or g.question.answer < 0:  # both forms of a wrapped counter
            other = g.question.answer - 2**64 if g.question.answer > 0 else g.question.answer + 2**64
            exec(source, {g.name: other})


def test_a_cell_that_imports_the_course_answers_fails_every_test():
    nb, _ = notebook("03")
    source = hidden(graded_cells(nb)["q03_split"])
    answer = questions("03")[0][0].question.answer
    taken = {"q03_split": answer, "In": ["", "from hugelab.teaching import lessons\n"
                                            "q03_split = lessons.q03_split().answer", source]}
    with pytest.raises(AssertionError, match="imports the course's own questions"):
        exec(source, taken)
    exec(source, {"q03_split": answer, "In": ["", "q03_split = 7", source]})


def test_each_student_has_an_own_trace_from_the_id(tmp_path, monkeypatch):
    alice, bob = student_variant("hugelab-03", "alice"), student_variant("hugelab-03", "bob")
    assert alice == student_variant("hugelab-03", "alice") and alice != bob
    assert alice[1] == "double-credit" and student_variant("hugelab-05", "alice")[1] == "modern"
    graded = tmp_path / "autograded" / "alice" / "hugelab-03"
    graded.mkdir(parents=True)
    monkeypatch.chdir(graded)
    monkeypatch.setenv("JUPYTERHUB_USER", "mallory")
    assert student_id() == "alice"  # the autograder's folder, not the environment
    monkeypatch.chdir(tmp_path)
    assert student_id() == "mallory"


# -- nbgrader, end to end -------------------------------------------------------------------------

def nbgrader(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore",
                               # nbgrader runs alembic (its database) by name, from the venv's bin
                               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def fill(notebook_path: Path, answers: dict[str, int], out: Path):
    nb = json.loads(notebook_path.read_text())
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            name = meta["grade_id"].removesuffix("_answer")
            cell["source"] = f"{name} = {answers[name]}\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(nb))


def test_nbgrader_end_to_end(tmp_path):
    pytest.importorskip("nbgrader")
    course, exchange, student = tmp_path / "course", tmp_path / "exchange", tmp_path / "student"
    exchange.mkdir()
    student.mkdir()
    done = subprocess.run([sys.executable, "-m", "hugelab", "assignments", str(course), "--only", "03"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and f"{len(questions('03')[0])} question(s) of notebook 03" in done.stdout, done.stderr
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"c.Exchange.root = {str(exchange)!r}\n")
    nbgrader("generate_assignment", "hugelab-03", "--force", cwd=course)
    released = course / "release" / "hugelab-03" / "hugelab-03.ipynb"
    text = released.read_text()
    assert "raise NotImplementedError()" in text and "_replay" not in text and "BEGIN HIDDEN" not in text
    nbgrader("release_assignment", "hugelab-03", cwd=course)
    nbgrader("fetch_assignment", "hugelab-03", "--course", "hugelab", f"--Exchange.root={exchange}", cwd=student)
    fetched = student / "hugelab-03" / "hugelab-03.ipynb"
    graded = questions("03")[0]

    def own(sid):
        trace, policy = student_variant("hugelab-03", sid)
        return replay(trace, policy)[-1].counters.rsvd

    right = {g.name: g.question.answer for g in graded} | {"q03_own": own("alice")}
    # bob's answers: the likeliest wrong one, where the lesson names one
    wrong = {g.name: next(iter(g.question.hints), g.question.answer + 1) for g in graded} | {"q03_own": own("bob") + 1}
    fill(fetched, right, course / "submitted" / "alice" / "hugelab-03" / "hugelab-03.ipynb")
    fill(fetched, wrong, course / "submitted" / "bob" / "hugelab-03" / "hugelab-03.ipynb")
    for sid in ("alice", "bob"):
        nbgrader("db", "student", "add", sid, cwd=course)
    nbgrader("autograde", "hugelab-03", cwd=course)
    nbgrader("generate_feedback", "hugelab-03", cwd=course)
    nbgrader("export", cwd=course)
    with open(course / "grades.csv", newline="") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    top = len(graded) + 2  # one point each, the own trace two
    assert float(grades["alice"]["max_score"]) == top
    assert float(grades["alice"]["score"]) == top
    assert float(grades["bob"]["score"]) == 0
    first = graded[0]
    said = f"Not {wrong[first.name]}. {first.question.hints[wrong[first.name]]}"
    autograded = json.loads((course / "autograded" / "bob" / "hugelab-03" / "hugelab-03.ipynb").read_text())
    (test_cell,) = [c for c in autograded["cells"]
                    if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{first.name}_test"]
    printed = " ".join("".join(o["text"]) for o in test_cell["outputs"] if o["output_type"] == "stream")
    assert " ".join(printed.split()) == said  # the hint, as bob reads it above the traceback
    feedback = (course / "feedback" / "bob" / "hugelab-03" / "hugelab-03.html").read_text()
    assert "Not " in feedback and "Score: 0.0" in feedback
    assert "Right." in (course / "feedback" / "alice" / "hugelab-03" / "hugelab-03.html").read_text()
    shutil.rmtree(exchange)
