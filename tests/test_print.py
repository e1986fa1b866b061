"""`hugelab print`: notebooks with blanks (and a key), exercise sheets, the course key, as PDF.

Each PDF is read back with poppler (pdftotext for its words, pdftoppm for a picture of a page),
as a person would look at it."""

import re
import shutil
import subprocess
import sys

import pytest

from hugelab.teaching import lessons
from hugelab.teaching.exercise import make_exercise
from hugelab.teaching.predict import both_forms

pytestmark = pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("pdftotext")
                                     and shutil.which("pdftoppm")),
                                reason="needs chromium and poppler-utils (scripts/test.sh installs them as root)")


def hugelab_print(*args):
    return subprocess.run([sys.executable, "-m", "hugelab", "print", *args], capture_output=True, text=True,
                          timeout=300)


def text_of(pdf, layout=False):
    return subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def squash(text):
    """Words as pdftotext gives them back: spaces squashed, and hyphens dropped (a word broken at a
    line's end, "double-" + "credit", comes back as "doublecredit")."""
    return " ".join(text.replace("-", "").split())


def first_page_png(pdf, tmp_path):
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    (png,) = tmp_path.glob("page*.png")
    assert png.stat().st_size > 10_000  # a page with something drawn on it, not a blank one
    return png


def test_a_sheet_has_blanks_and_its_key_the_answers(tmp_path):
    blank, key = tmp_path / "sheet.pdf", tmp_path / "key.pdf"
    assert hugelab_print("sheets", "--seed", "3", "--out", str(blank)).returncode == 0
    assert hugelab_print("sheets", "--seed", "3", "--key", "--out", str(key)).returncode == 0
    ex = make_exercise(3)
    blank_text, key_text = text_of(blank, layout=True), text_of(key, layout=True)
    assert "name" in blank_text and "id" in blank_text and "seed 3" in blank_text
    for number, step in enumerate(ex.steps, 1):
        c = step.counters
        row = f"{number} {step.op} {c.total} {c.free} {c.rsvd} {c.surp}"
        assert row in squash(key_text), row
        assert row not in squash(blank_text)
    first_page_png(blank, tmp_path)


def test_a_class_sheets_carry_each_students_name_and_id(tmp_path):
    (tmp_path / "roster.csv").write_text("id,name\ns1,Ada Lovelace\ns2,Alan Turing\n")
    (tmp_path / "secret").write_text("a course secret\n")
    out = tmp_path / "class.pdf"
    done = hugelab_print("sheets", "--roster", str(tmp_path / "roster.csv"), "--secret-file", str(tmp_path / "secret"),
                         "--difficulty", "fork", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = text_of(out)
    assert "Ada Lovelace" in text and "Alan Turing" in text and "difficulty fork" in text
    pages = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+2$", pages, re.M), pages  # one page a student


def test_a_notebook_prints_with_a_box_for_each_question_and_its_key_answers(tmp_path):
    import nbformat

    from hugelab.teaching.lab import course_dir
    from hugelab.teaching.predict import Choice, Question, Row, letter
    from hugelab.teaching.printing import _asked

    blank, key = tmp_path / "03.pdf", tmp_path / "03-key.pdf"
    assert hugelab_print("notebooks", "03", "--out", str(blank)).returncode == 0
    assert hugelab_print("notebooks", "03", "--key", "--out", str(key)).returncode == 0
    (path,) = course_dir().glob("03-*.ipynb")
    asked = [q for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
             for q in _asked(cell.source)]
    assert any(isinstance(q, Question) for q in asked)
    blank_text, key_text = squash(text_of(blank)), squash(text_of(key))
    assert blank_text.count("Your answer:") == sum(type(q) is Question for q in asked)
    assert blank_text.count("Your letter:") == sum(isinstance(q, Choice) for q in asked)
    assert "Predict(" not in blank_text and "import" not in blank_text  # prose, not code
    assert "interactive explorer" in blank_text
    for q in asked:
        assert squash(q.prompt) in blank_text
        if type(q) is Question:
            assert squash(f"Answer: {both_forms(q.answer)}") in key_text
        elif isinstance(q, Choice):
            assert squash(f"Your letter: {letter(q.answer)}") in key_text
        elif isinstance(q, Row):
            assert squash(" ".join(f"{f} {both_forms(v)}" for f, v in zip(("Total", "Free", "Rsvd", "Surp"),
                                                                           q.answer))) in key_text
    first_page_png(blank, tmp_path)


def test_the_course_key_has_every_answer_and_the_misconceptions(tmp_path):
    out = tmp_path / "key.pdf"
    assert hugelab_print("key", "--out", str(out)).returncode == 0
    text = squash(text_of(out))
    from hugelab.teaching.printing import misconceptions

    for q in (lessons.q03_split(), lessons.q05_cow(), lessons.self_test()[0], lessons.q03_why_copy(),
              lessons.q03_row()):
        assert squash(q.prompt) in text
        assert misconceptions(q)
        for _, hint in misconceptions(q):
            assert squash(hint)[:50] in text


def test_printing_what_is_not_there_is_one_line(tmp_path):
    done = hugelab_print("notebooks", "42", "--out", str(tmp_path / "x.pdf"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no notebook 42" in done.stderr
    done = hugelab_print("key", "--seed", "3", "--out", str(tmp_path / "x.pdf"))
    assert done.returncode == 2 and "go with: print sheets" in done.stderr
