"""A class of 120 graded in one command: ``hugelab exercise --check SHEET... --roster --csv``.

The lecturer's path, end to end, through the command line as a lecturer types it:

1. a roster of 121 students (id, name) and a course secret;
2. ``hugelab exercise --roster R --secret-file S --out sheets/`` (and ``--key`` into keys/): one
   sheet per student, its seed derived from the id, at a difficulty setting;
3. the students' hand-ins, made from the keys with the mistakes a class makes: most sheets with
   a few wrong cells, some with a line mangled (a typo in the operation), one handing in another
   student's key; 120 hand in, one does not;
4. one ``hugelab exercise --check handin/*.txt --roster R --secret-file S --csv grades.csv``,
   timed (wall clock, best of 3).

The CSV is then read back and checked against what was planted: 120 sheet rows plus one missing
student, every planted wrong cell and mangled line costing exactly its answers, the swapped sheet
flagged and graded against its student's seed.

``python benchmarks/bench_grading.py [--setting fork|full] [--pair] [--students 120]``
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HUGELAB = [sys.executable, "-m", "hugelab"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HUGELAB, *args], capture_output=True, text=True)


def plant(key: str, rng: random.Random, wrong_cells: int, mangle: bool) -> tuple[str, int]:
    """A hand-in from ``key``: ``wrong_cells`` counters off by one, and maybe one operation mangled.
    Returns the text and how many answers it should lose."""
    lines = key.split("\n")
    rows = [i for i, line in enumerate(lines) if re.match(r"\s*\d+\s", line)]
    lost = 0
    if mangle:
        i = rng.choice(rows)
        lines[i] = re.sub(r"^(\s*\d+\s+)(\S+)", r"\1\2x", lines[i])  # "munmap" -> "munmapx": the line is lost
        rows.remove(i)
        lost += 5
    for i in rng.sample(rows, wrong_cells):
        cells = lines[i].split("#")[0].split()
        column = len(cells) - rng.randint(2, 5)  # one of Total, Free, Rsvd, Surp
        cells[column] = str(int(cells[column]) + 1)
        lines[i] = "  ".join(cells)
        lost += 1
    return "\n".join(lines), lost


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=120)
    parser.add_argument("--setting", default="fork", choices=["basic", "fork", "full"])
    parser.add_argument("--pair", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hugelab-grading-"))
    try:
        rng = random.Random(26)
        # one more on the roster than hand in: student 0 hands in nothing
        ids = [f"s{100000 + 7 * n}" for n in range(args.students + 1)]
        (work / "roster.csv").write_text("id,name\n" + "".join(f"{i},Student {n}\n" for n, i in enumerate(ids)))
        (work / "secret").write_text("a course secret, kept by the lecturer\n")
        common = ["--roster", str(work / "roster.csv"), "--secret-file", str(work / "secret")]
        shape = ["--difficulty", args.setting, *(["--pair"] if args.pair else [])]
        started = time.monotonic()
        for out, extra in (("sheets", []), ("keys", ["--key"])):
            done = run("exercise", *common, "--out", str(work / out), *shape, *extra)
            assert done.returncode == 0, done.stderr
        made = time.monotonic() - started
        handin = work / "handin"
        handin.mkdir()
        expected: dict[str, int] = {}
        for n, student in enumerate(ids):
            if n == 0:
                continue  # student 0 hands in nothing
            key = (work / "keys" / f"{student}.key.txt").read_text()
            if n == 1:  # hands in student 2's key under their own name
                key = (work / "keys" / f"{ids[2]}.key.txt").read_text().replace(f"id {ids[2]}", f"id {student}")
                (handin / f"{student}.txt").write_text(key)
                continue
            text, lost = plant(key, rng, wrong_cells=rng.randint(0, 6), mangle=n % 10 == 3)
            (handin / f"{student}.txt").write_text(text)
            expected[student] = lost
        sheets = sorted(str(p) for p in handin.iterdir())
        times = []
        for _ in range(3):
            started = time.monotonic()
            done = run("exercise", "--check", *sheets, *common, "--csv", str(work / "grades.csv"))
            times.append(time.monotonic() - started)
            assert done.returncode == 1, done.stderr  # the swapped and the missing sheet are flagged
        with open(work / "grades.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(sheets) == args.students and len(rows) == args.students + 1, (len(sheets), len(rows))
        by_id = {r["id"]: r for r in rows}
        assert by_id[ids[0]]["flags"] == "missing: no sheet"
        assert "not the student's" in by_id[ids[1]]["flags"]
        for student, lost in expected.items():
            row = by_id[student]
            assert int(row["total"]) - int(row["right"]) == lost, (student, row["right"], row["total"], lost)
            assert row["flags"] == "", row["flags"]
        total = int(rows[1]["total"])
        setting = f"--difficulty {args.setting}{' --pair' if args.pair else ''}"
        print(f"{args.students + 1} on the roster, {args.students} hand in, {setting}: "
              f"{total} answers a sheet")
        print(f"  sheets and keys for the class (two commands): {made:.1f} s")
        print(f"  {len(sheets)} sheets graded into one CSV (one command): best {min(times):.2f} s "
              f"of {', '.join(f'{t:.2f}' for t in times)}")
        print(f"  every planted mistake found: {sum(expected.values())} answers lost as planted; "
              f"1 swapped seed and 1 missing sheet flagged")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
