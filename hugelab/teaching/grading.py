"""A class's exercise sheets: one per student from a roster, and all of them graded into one CSV.

A roster is a CSV file with a header row naming an ``id`` column (or ``student_id``/``username``,
as nbgrader and LMS exports name it), optionally ``name`` and ``seed``. A student's seed is the
roster's ``seed`` if given, else derived from the id and the course's secret
(:func:`seed_for`: HMAC-SHA256, so nobody without the secret can tell which seed an id gets, and
the same id always gets the same seed). Grading with a roster never trusts a sheet's own seed
line: the sheet is graded against its student's seed, and a sheet whose seed line says another
is flagged.

Each row of the CSV is one sheet (or one roster student with no sheet): file, id, name, flags,
the seed graded, the seed the sheet says, difficulty, right, total, percent, the lines that could
not be read (each costing its answers), then one column per answer (1 right, 0 wrong), the same
columns for every sheet of one setting.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..limits import echo
from .exercise import Exercise, Score, SheetError, Student, check_sheet, sheet

#: seeds derived from ids fall in [0, SEED_SPACE): nine digits, so that two of a class of hundreds
#: almost never share one (120 students: about 1 in 140,000)
SEED_SPACE = 10**9
ID_COLUMNS = ("id", "student_id", "username")
NAME_COLUMNS = ("name", "full_name")
#: a roster is a class list, not a data set
MAX_ROSTER_BYTES = 4 * 1024 * 1024


class RosterError(ValueError):
    """A roster or secret that cannot be used: one sentence."""


def seed_for(student_id: str, secret: bytes) -> int:
    """The seed of ``student_id``'s exercise: HMAC-SHA256 of the id under the course's secret."""
    digest = hmac.new(secret, student_id.strip().encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


def _key(student_id: str) -> str:
    """How ids are matched: case and surrounding spaces do not count."""
    return student_id.strip().casefold()


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    seed: int


@dataclass
class Roster:
    entries: list[Entry]
    by_id: dict[str, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {_key(e.id): e for e in self.entries}

    def find(self, student_id: str | None) -> Entry | None:
        return self.by_id.get(_key(student_id)) if student_id else None


def read_secret(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise RosterError(f"cannot read the secret file {echo(path)}: {e.strerror}") from None
    secret = data.strip()
    if len(secret) < 8:
        raise RosterError(f"the secret in {echo(path)} is shorter than 8 bytes: anyone could guess it")
    return secret


def read_roster(path: str, secret: bytes | None) -> Roster:
    """The roster at ``path``; RosterError (one sentence naming the row) if it cannot be used."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_ROSTER_BYTES + 1)
    except OSError as e:
        raise RosterError(f"cannot read the roster {echo(path)}: {e.strerror}") from None
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError(f"the roster {echo(path)} is larger than {MAX_ROSTER_BYTES // 1024 // 1024} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"the roster {echo(path)} is not UTF-8 text") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise RosterError(f"the roster {echo(path)} is empty")
    head = [h.strip().casefold() for h in rows[0]]
    id_col = next((head.index(c) for c in ID_COLUMNS if c in head), None)
    if id_col is None:
        raise RosterError(f"the roster {echo(path)} has no id column (its first row names {', '.join(ID_COLUMNS)})")
    name_col = next((head.index(c) for c in NAME_COLUMNS if c in head), None)
    seed_col = head.index("seed") if "seed" in head else None
    if seed_col is None and secret is None:
        raise RosterError("the roster has no seed column: give --secret-file, the course's secret the seeds "
                          "are derived from")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(head) - len(row))
        student_id = cells[id_col].strip()
        if not student_id:
            raise RosterError(f"roster row {number}: no id")
        if _key(student_id) in seen:
            raise RosterError(f"roster row {number}: id {echo(student_id)} is also on row {seen[_key(student_id)]}")
        seen[_key(student_id)] = number
        seed_text = cells[seed_col].strip() if seed_col is not None else ""
        if seed_text:
            if not seed_text.isdigit():
                raise RosterError(f"roster row {number}: seed must be a whole number, not {echo(seed_text)}")
            seed = int(seed_text)
        elif secret is not None:
            seed = seed_for(student_id, secret)
        else:
            raise RosterError(f"roster row {number}: no seed, and no --secret-file to derive one from")
        name = cells[name_col].strip() if name_col is not None else ""
        entries.append(Entry(student_id, name, seed))
    if not entries:
        raise RosterError(f"the roster {echo(path)} names no student")
    return Roster(entries)


def file_name(student_id: str) -> str:
    """A file name for a student's sheet: the id with anything but letters, digits, ``.-_`` as ``_``."""
    return re.sub(r"[^\w.-]", "_", student_id.strip(), flags=re.ASCII).lstrip(".") or "_"


def class_sheets(roster: Roster, make, out: Path, key: bool) -> list[Path]:
    """One sheet (or key) per roster student in ``out``, named by id: ``make(seed)`` draws the exercise."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in roster.entries:
        ex: Exercise = make(entry.seed)
        path = out / (file_name(entry.id) + (".key.txt" if key else ".txt"))
        path.write_text(sheet(ex, key=key, student=Student(entry.name or None, entry.id)), encoding="utf-8")
        written.append(path)
    return written


# -- grading many sheets --------------------------------------------------------------------------

@dataclass
class Row:
    """One line of the class's CSV."""

    file: str
    student: Student
    flags: list[str]
    score: Score | None = None
    expected_seed: int | None = None


def grade(paths: list[str], roster: Roster | None, secret: bytes | None, read) -> list[Row]:
    """Grade every sheet; ``read(path)`` gives its text or raises OSError/ValueError (one sentence).

    Flags say what must not be trusted: a seed line that is not the student's, an id not on the
    roster, two sheets with one id, a sheet with no id (when seeds come from ids), a sheet that
    cannot be graded, and a roster student with no sheet."""
    rows: list[Row] = []
    by_id: dict[str, Row] = {}
    for path in paths:
        row = Row(path, Student(), [])
        rows.append(row)
        try:
            text = read(path)
        except (OSError, ValueError) as e:
            row.flags.append(f"unreadable: {getattr(e, 'strerror', None) or e}")
            continue
        expected = _expected_seed(text, roster, secret, row)
        try:
            row.score = check_sheet(text, seed=expected)
        except SheetError as e:
            row.flags = [f"not graded: {e}"]  # what else it said is about a sheet that is not there
            continue
        row.student = row.score.student
        if roster is not None and (entry := roster.find(row.student.id)) is not None:
            row.student = Student(entry.name or row.student.name, entry.id)
        if expected is not None and row.score.sheet_seed not in (None, expected):
            row.flags.append(f"seed {row.score.sheet_seed} on the sheet is not the student's ({expected}): "
                             "graded against the student's")
        if row.student.id:
            other = by_id.setdefault(_key(row.student.id), row)
            if other is not row:
                row.flags.append(f"same id as {other.file}")
                other.flags.append(f"same id as {row.file}")
    if roster is not None:
        for entry in roster.entries:
            if _key(entry.id) not in by_id:
                rows.append(Row("", Student(entry.name or None, entry.id), ["missing: no sheet"],
                                expected_seed=entry.seed))
    return rows


def _expected_seed(text: str, roster: Roster | None, secret: bytes | None, row: Row) -> int | None:
    """The seed the sheet's student must have, from its id line; None where the sheet's own is all
    there is (no roster and no secret), flagging why where it should not be."""
    if roster is None and secret is None:
        return None
    ident = _id_line(text)
    if ident is None:
        row.flags.append("no id on the sheet: its own seed line graded, unchecked")
        return None
    if roster is not None:
        entry = roster.find(ident)
        if entry is not None:
            row.expected_seed = entry.seed
            return entry.seed
        if secret is None:
            row.flags.append(f"id {ident} is not on the roster: its own seed line graded, unchecked")
            return None
        row.flags.append(f"id {ident} is not on the roster")
    assert secret is not None
    row.expected_seed = seed_for(ident, secret)
    return row.expected_seed


def _id_line(text: str) -> str | None:
    """The sheet's ``id`` line (before its first policy line), if it has one filled in."""
    for raw in text.split("\n"):
        words = raw.split("#")[0].split()
        if words[:1] == ["policy"]:
            break
        if words[:1] == ["id"] and len(words) == 2 and words[1] != "?":
            return words[1]
    return None


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (a sheet's name line is the student's text)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(rows: list[Row], out) -> None:
    """The class's CSV on the text stream ``out``."""
    labels: list[str] = []
    for row in rows:
        for label, _ in row.score.cells if row.score else ():
            if label not in labels:
                labels.append(label)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "id", "name", "flags", "seed", "sheet_seed", "difficulty", "right", "total", "percent",
                     "unread_lines", *labels])
    for row in rows:
        s = row.score
        cells = dict(s.cells) if s else {}
        writer.writerow([_safe(row.file), _safe(row.student.id or ""), _safe(row.student.name or ""),
                         _safe("; ".join(row.flags)),
                         s.seed if s else (row.expected_seed if row.expected_seed is not None else ""),
                         "" if s is None or s.sheet_seed is None else s.sheet_seed,
                         s.difficulty.name() if s else "",
                         s.right if s else "", s.total if s else "", f"{s.percent:.1f}" if s else "",
                         _safe("; ".join(map(str, s.problems))) if s else "",
                         *(("1" if cells[label] else "0") if label in cells else "" for label in labels)])


def summary(rows: list[Row]) -> str:
    graded = [r.score for r in rows if r.score is not None]
    flagged = [r for r in rows if r.flags]
    mean = sum(s.percent for s in graded) / len(graded) if graded else 0.0
    lines = [f"graded {len(graded)} sheet(s): mean {mean:.1f}%; {len(flagged)} flagged"]
    for row in flagged:
        who = row.file or f"(no sheet) {row.student.id}"
        lines.append(f"  {who}: {'; '.join(row.flags)}")
    return "\n".join(lines) + "\n"
