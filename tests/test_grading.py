"""A class's sheets: made from a roster, seeded from each id, graded into one CSV in one command."""

import csv
import io
import subprocess
import sys

import pytest

from hugelab.teaching.exercise import check_sheet, make_exercise, sheet
from hugelab.teaching.grading import RosterError, read_roster, seed_for

SECRET = b"a course secret"


def hugelab(*args):
    return subprocess.run([sys.executable, "-m", "hugelab", *args], capture_output=True, text=True, timeout=300)


def test_a_seed_comes_from_the_id_and_the_secret_alone():
    assert seed_for("s001", SECRET) == seed_for(" s001 ", SECRET)
    assert seed_for("s001", SECRET) != seed_for("s002", SECRET)
    assert seed_for("s001", SECRET) != seed_for("s001", b"another course secret")
    assert 0 <= seed_for("s001", SECRET) < 10**9


@pytest.mark.parametrize("text, message", [
    ("name\nAda\n", "has no id column"),
    ("id,name\ns1,Ada\nS1,Bob\n", "roster row 3: id 'S1' is also on row 2"),
    ("id,seed\ns1,x\n", "roster row 2: seed must be a whole number"),
    ("id,name\n", "names no student"),
    ("id,name\n,Ada\n", "roster row 2: no id"),
])
def test_a_roster_that_cannot_be_used_is_one_sentence_naming_the_row(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(RosterError) as e:
        read_roster(str(path), SECRET)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_roster_without_seeds_needs_the_secret(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("id,name,seed\ns1,Ada,17\ns2,Bob,\n")
    with pytest.raises(RosterError, match="row 3: no seed, and no --secret-file"):
        read_roster(str(path), None)
    roster = read_roster(str(path), SECRET)
    assert [e.seed for e in roster.entries] == [17, seed_for("s2", SECRET)]


def test_a_class_from_roster_to_csv(tmp_path):
    (tmp_path / "roster.csv").write_text("student_id,name\ns1,Ada\ns2,\"Turing, Alan\"\ns3,Grace\ns4,=HYPERLINK(1)\n"
                                         "s5,Edsger\n")
    (tmp_path / "secret").write_text("a course secret\n")
    common = ["--roster", str(tmp_path / "roster.csv"), "--secret-file", str(tmp_path / "secret")]
    for out, extra in (("sheets", []), ("keys", ["--key"])):
        done = hugelab("exercise", *common, "--out", str(tmp_path / out), "--difficulty", "fork", *extra)
        assert done.returncode == 0, done.stderr
    blank = (tmp_path / "sheets" / "s2.txt").read_text()
    assert "name Turing, Alan\nid s2\n" in blank and "difficulty forks=on failures=off surplus=off" in blank
    assert f"seed {seed_for('s2', SECRET)}\n" in blank
    keys = {s: (tmp_path / "keys" / f"{s}.key.txt").read_text() for s in ("s1", "s2", "s3", "s4", "s5")}
    hand = tmp_path / "handin"
    hand.mkdir()
    (hand / "s1.txt").write_text(keys["s1"])  # all right
    (hand / "s2.txt").write_text(keys["s3"].replace("id s3", "id s2"))  # another student's key as their own
    lines = keys["s4"].split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip().startswith("3 "))
    lines[row] = lines[row].replace("  ", "  x", 1)  # one mangled line: that line's 5 answers, not the sheet
    (hand / "s4.txt").write_text("\n".join(lines))
    (hand / "s5.txt").write_text(keys["s5"])
    (hand / "s5-again.txt").write_text(keys["s5"])  # the same id twice
    (hand / "nobody.txt").write_text(keys["s1"].replace("id s1", "id s99"))  # not on the roster
    (hand / "junk.txt").write_text("\x00\x01")
    sheets = sorted(str(p) for p in hand.iterdir())
    done = hugelab("exercise", "--check", *sheets, *common, "--csv", str(tmp_path / "grades.csv"))
    assert done.returncode == 1, done.stderr  # something is flagged
    assert "graded 6 sheet(s)" in done.stdout and "Traceback" not in done.stderr
    rows = {r["file"].rsplit("/", 1)[-1] or r["id"]: r
            for r in csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text()))}
    assert (rows["s1.txt"]["right"], rows["s1.txt"]["flags"], rows["s1.txt"]["name"]) == ("40", "", "Ada")
    assert rows["s1.txt"]["difficulty"] == "fork" and rows["s1.txt"]["3.Rsvd"] == "1"
    swapped = rows["s2.txt"]
    assert "is not the student's" in swapped["flags"] and int(swapped["right"]) < 40
    assert swapped["seed"] == str(seed_for("s2", SECRET)) and swapped["sheet_seed"] == str(seed_for("s3", SECRET))
    mangled = rows["s4.txt"]
    assert (mangled["right"], mangled["flags"], mangled["name"]) == ("35", "", "'=HYPERLINK(1)")
    assert mangled["unread_lines"].startswith(f"line {row + 1}: ")
    assert [mangled[f"3.{f}"] for f in ("Total", "Free", "Rsvd", "Surp", "outcome")] == ["0"] * 5
    assert "same id as" in rows["s5.txt"]["flags"] and "same id as" in rows["s5-again.txt"]["flags"]
    assert "id s99 is not on the roster" in rows["nobody.txt"]["flags"]
    assert rows["junk.txt"]["flags"].startswith("not graded: line 1: no 'policy P' line")
    assert rows["junk.txt"]["right"] == ""
    assert rows["s3"]["flags"] == "missing: no sheet" and rows["s3"]["file"] == ""


def test_without_a_roster_the_secret_still_checks_each_seed(tmp_path):
    (tmp_path / "secret").write_text("a course secret\n")
    right = sheet(make_exercise(seed_for("s7", SECRET)), key=True).replace("seed", "id s7\nseed", 1)
    wrong = sheet(make_exercise(5), key=True).replace("seed", "id s8\nseed", 1)
    (tmp_path / "a.txt").write_text(right)
    (tmp_path / "b.txt").write_text(wrong)
    done = hugelab("exercise", "--check", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"),
                   "--secret-file", str(tmp_path / "secret"), "--csv", "-")
    assert done.returncode == 1
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["flags"] == "" for r in rows] == [True, False]
    assert "graded 2 sheet(s)" in done.stderr


def test_many_sheets_without_a_csv_print_each_report(tmp_path):
    for seed in (1, 2):
        (tmp_path / f"{seed}.txt").write_text(sheet(make_exercise(seed), key=True))
    done = hugelab("exercise", "--check", str(tmp_path / "1.txt"), str(tmp_path / "2.txt"))
    assert done.returncode == 0 and done.stdout.count("40/40 answers right") == 2


def test_grading_arguments_are_refused_in_one_line(tmp_path):
    for args, message in ((["--csv", "x.csv"], "--csv goes with --check"),
                          (["--roster", "r.csv"], "need --roster ROSTER.csv and --out DIR"),
                          (["--check", "a", "--difficulty", "fork"], "leave out --difficulty"),
                          (["--secret-file", "s"], "--secret-file goes with --roster or --check")):
        done = hugelab("exercise", *args)
        assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_sheet_graded_twice_is_the_same_score():
    key = sheet(make_exercise(seed_for("s1", SECRET)), key=True)
    assert check_sheet(key) == check_sheet(key)
