"""The hugelab trace language, v1 and v2 (files, mounts, segments, memfd): its grammar, parsing and checking.

A trace is plain text, one operation a line; ``#`` starts a comment, blank
lines are ignored. Mappings and processes have names (a letter or ``_``,
then letters, digits, ``_ - .``), unique within a trace; ``main`` exists
from the start and every other process comes from a ``fork``. Pages are
counted in huge pages from the start of a mapping: ``START COUNT`` means the
half-open range ``[START, START + COUNT)``.

:data:`OPERATIONS` states the grammar once, one row per operation; the
parser's messages and ``hugelab replay --help`` (:data:`GRAMMAR`) are made
from it. The parser checks the whole text before anything is replayed, so a
bad trace changes nothing: it raises :class:`TraceError` naming the line and
the problem.

What only shows while replaying (an mmap that failed, a process that was
killed or has exited, a ``umount`` that succeeded or failed with EBUSY) is
not a text error: the replay skips the lines that name what is gone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass

from ..limits import (
    ECHO_CHARS,
    MAX_FILES,
    MAX_LINE_CHARS,
    MAX_MOUNTS,
    MAX_OPS,
    MAX_PAGES,
    MAX_PROCESSES,
    MAX_SEGMENTS,
    MAX_TRACE_BYTES,
    echo,
)

MAIN = "main"
PROTECTIONS = ("r", "rw", "none")


class TraceError(ValueError):
    """A trace that is not valid text; ``str()`` is ``line N: problem``."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Op:
    """One operation line. ``line`` is 1-based; ``text`` is the op as written."""

    line: int
    text: str


@dataclass(frozen=True)
class Pool(Op):
    pages: int
    overcommit: int


@dataclass(frozen=True)
class Mmap(Op):
    proc: str
    name: str
    pages: int
    shared: bool
    noreserve: bool
    #: v2: the file mapped (None: an anonymous MAP_HUGETLB mapping)
    file: str | None = None
    #: v2: the file offset of the mapping's first page
    offset: int = 0


@dataclass(frozen=True)
class Touch(Op):
    proc: str
    name: str
    page: int
    write: bool


@dataclass(frozen=True)
class Munmap(Op):
    proc: str
    name: str
    start: int
    count: int


@dataclass(frozen=True)
class Mprotect(Op):
    proc: str
    name: str
    start: int
    count: int
    prot: str


@dataclass(frozen=True)
class Madvise(Op):
    proc: str
    name: str
    start: int
    count: int
    advice: str


@dataclass(frozen=True)
class Fork(Op):
    proc: str
    child: str


@dataclass(frozen=True)
class Exit(Op):
    proc: str


# -- v2: files, mounts, System V segments, memfd ------------------------------
@dataclass(frozen=True)
class Mount(Op):
    mount: str
    size: int | None
    min_size: int | None


@dataclass(frozen=True)
class Umount(Op):
    mount: str


@dataclass(frozen=True)
class FileOp(Op):
    """``file F [on M]``: create F and hold it open (mount None: the trace's own mount)."""

    file: str
    mount: str | None


@dataclass(frozen=True)
class Memfd(Op):
    file: str


@dataclass(frozen=True)
class CloseFile(Op):
    file: str


@dataclass(frozen=True)
class Unlink(Op):
    file: str


@dataclass(frozen=True)
class Truncate(Op):
    file: str
    pages: int


@dataclass(frozen=True)
class Fallocate(Op):
    file: str
    start: int
    count: int


@dataclass(frozen=True)
class Punch(Op):
    file: str
    start: int
    count: int


@dataclass(frozen=True)
class Shmget(Op):
    segment: str
    pages: int
    noreserve: bool


@dataclass(frozen=True)
class Shmat(Op):
    proc: str
    segment: str
    name: str


@dataclass(frozen=True)
class Shmrm(Op):
    segment: str


Operation = (Pool | Mmap | Touch | Munmap | Mprotect | Madvise | Fork | Exit | Mount | Umount | FileOp | Memfd
             | CloseFile | Unlink | Truncate | Fallocate | Punch | Shmget | Shmat | Shmrm)


def is_v2(op: Operation) -> bool:
    """Does ``op`` use trace v2 (files, mounts, segments, memfd, MADV_REMOVE)?"""
    return not isinstance(op, Pool | Mmap | Touch | Munmap | Mprotect | Madvise | Fork | Exit) or \
        (isinstance(op, Mmap) and op.file is not None) or (isinstance(op, Madvise) and op.advice == "remove")


@dataclass(frozen=True)
class Trace:
    """A checked trace: its operations and the text they came from."""

    ops: tuple[Operation, ...]
    text: str
    #: v2: the trace makes a mount with size= (its step records then carry statfs)
    sized_mounts: bool = False

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self):
        return iter(self.ops)

    def min_size_mount(self) -> Mount | None:
        """The first mount with ``min_size=``, if any: such traces can leak reservations
        until reboot on Linux 6.15+, so they run only where a kernel is thrown away."""
        return next((op for op in self.ops if isinstance(op, Mount) and op.min_size is not None), None)


def _number(word: str, what: str, line: int) -> int:
    if not word.isdigit() or not word.isascii():
        raise TraceError(line, f"{what} must be a whole number, not {echo(word)}")
    # the length test first: int() of thousands of digits is slow, then refused
    value = int(word) if len(word) <= 20 else MAX_PAGES + 1
    if value > MAX_PAGES:
        raise TraceError(line, f"{what} {echo(word)} is more than hugelab's limit of {MAX_PAGES:,} pages "
                               "(2^36: more than any address space holds)")
    return value


def _hint(name: str) -> str:
    """``name`` in a suggested line, or NAME when it is too long to echo."""
    return name if len(name) <= ECHO_CHARS else "NAME"


# \w is exactly str.isalnum() or "_" (Unicode included), so this is the rule
# "letters, digits, _ - ." in one C-level match
_NAME_CHARS = re.compile(r"[\w.\-]+\Z")


def _name(word: str, what: str, line: int) -> str:
    if (word[0].isalpha() or word[0] == "_") and _NAME_CHARS.match(word):
        return word
    raise TraceError(line, f"{what} {echo(word)} is not a name (letters, digits, _ - .)")


@dataclass
class _FileText:
    """What the text knows of a file: its mount, and whether it can still be named."""

    mount: str | None
    memfd: bool
    unlinked: bool = False
    closed: bool = False


#: the most of each kind a trace may create (limits.py says why); a memfd counts as a file
_MOST = {"mount": MAX_MOUNTS, "file": MAX_FILES, "segment": MAX_SEGMENTS}


class _Checker:
    """Tracks what the text has created so far, process by process.

    :func:`_parse_line` changes it only once a line has passed every check,
    so a line refused with :class:`TraceError` leaves it as it was.
    """

    def __init__(self) -> None:
        self.processes: dict[str, set[str]] = {MAIN: set()}  # process -> mapping names it knows
        self.mappings: dict[str, int] = {}  # name -> pages
        # every mount made: whether a umount takes it away shows only while replaying (EBUSY keeps it)
        self.mounts: set[str] = set()
        self.files: dict[str, _FileText] = {}
        self.segments: dict[str, int] = {}  # name -> pages
        #: True while this checker shares its sets and file records with another
        #: (a trial copy): it then replaces them rather than change them
        self.shared = False

    def copy(self) -> _Checker:
        """A checker to try a line on: as cheap as copying five dicts, whatever their contents hold."""
        trial = _Checker()
        trial.processes = dict(self.processes)
        trial.mappings = dict(self.mappings)
        trial.mounts = set(self.mounts)
        trial.files = dict(self.files)
        trial.segments = dict(self.segments)
        trial.shared = True
        return trial

    def know(self, proc: str, name: str) -> None:
        """Process ``proc`` now knows mapping ``name``."""
        if self.shared:
            self.processes[proc] = self.processes[proc] | {name}
        else:
            self.processes[proc].add(name)

    def file_is(self, name: str, **flags: bool) -> None:
        """Set flags (``closed``, ``unlinked``) of file ``name``'s record."""
        if self.shared:
            self.files[name] = _FileText(**{**vars(self.files[name]), **flags})
        else:
            for flag, value in flags.items():
                setattr(self.files[name], flag, value)

    def file(self, name: str, line: int) -> _FileText:
        """A file the line may name: created and still nameable (a file whose mount a
        umount took away is the replay's to skip: the text cannot know the umount succeeded)."""
        info = self.files.get(name)
        if info is None:
            raise TraceError(line, f"no file {name!r} (create it with 'file {name}' or 'memfd {name}')")
        if info.closed and (info.memfd or info.unlinked):
            gone = "closed" if info.memfd else "unlinked and closed"
            raise TraceError(line, f"file {name!r} was {gone}: it can no longer be named")
        return info

    def mount(self, name: str, line: int) -> None:
        if name not in self.mounts:
            raise TraceError(line, f"no mount {name!r} (create it with 'mount {name}')")

    def segment(self, name: str, line: int) -> int:
        if name not in self.segments:
            raise TraceError(line, f"no segment {name!r} (create it with 'shmget {name} PAGES')")
        return self.segments[name]

    def new(self, space: Collection[str], name: str, what: str, line: int) -> str:
        if name in space:
            raise TraceError(line, f"{what} {name!r} is created twice (names are unique within a trace)")
        most = _MOST.get(what)
        if most is not None and len(space) >= most:
            raise TraceError(line, f"more than {most:,} {what}s in one trace (hugelab's limit)")
        return name

    def process(self, proc: str, line: int) -> set[str]:
        if proc not in self.processes:
            raise TraceError(line, f"no process {echo(proc)} (create it with 'fork {_hint(proc)}')")
        return self.processes[proc]

    def mapping(self, proc: str, name: str, line: int) -> int:
        known = self.process(proc, line)
        if name not in known:
            if name in self.mappings:
                raise TraceError(line, f"process {echo(proc)} has no mapping {echo(name)} "
                                       "(it was mapped in another process)")
            raise TraceError(line, f"no mapping {echo(name)} (create it with 'mmap {_hint(name)} PAGES private')")
        return self.mappings[name]

    def range(self, proc: str, name: str, start: int, count: int, line: int) -> None:
        pages = self.mapping(proc, name, line)
        if start + count > pages:
            raise TraceError(
                line, f"pages [{start}, {start + count}) are outside mapping {echo(name)}, which has {pages} pages"
            )


def _parse_line(words: list[str], line: int, text: str, check: _Checker) -> Operation:
    """The operation of one line's words, recorded in ``check``.

    Every branch raises before it changes ``check``: a refused line leaves it
    as it was (the explorer and the generators add lines one at a time and
    go on after a refusal, without a copy of the checker per line).
    """
    proc = MAIN
    in_proc = words[0] == "in"
    if in_proc:
        if len(words) < 3:
            raise TraceError(line, "'in PROC' must be followed by an operation")
        proc = _name(words[1], "process", line)
        words = words[2:]
    op, args = words[0], words[1:]
    row = OPERATIONS.get(op)
    if row is None:
        *most, last = OPERATIONS
        raise TraceError(line, f"unknown operation {echo(op)} (expected {', '.join(most)} or {last})")
    if in_proc and not row.in_proc:
        raise TraceError(line, f"'{op}' does not take 'in PROC'")
    if not row.least <= len(args) <= row.most:
        raise TraceError(line, f"wrong number of words for {op}: expected '{row.usage}'")
    return row.parse(_Words(op, args, proc, line, text, row.usage), check)


@dataclass(frozen=True)
class _Words:
    """One line, split: what every operation's parser gets (with the checker)."""

    op: str
    args: list[str]
    proc: str
    line: int
    text: str
    usage: str


# -- one parser per operation (each row of OPERATIONS names its own) ----------
def _parse_pool(w: _Words, check: _Checker) -> Pool:
    pages = _number(w.args[0], "pool size", w.line)
    overcommit = 0
    if len(w.args) > 1:
        if w.args[1] != "overcommit" or len(w.args) != 3:
            raise TraceError(w.line, "expected 'pool N' or 'pool N overcommit M'")
        overcommit = _number(w.args[2], "overcommit", w.line)
    return Pool(w.line, w.text, pages, overcommit)


def _parse_mmap(w: _Words, check: _Checker) -> Mmap:
    args, line, proc = w.args, w.line, w.proc
    name = _name(args[0], "mapping", line)
    check.process(proc, line)
    if name in check.mappings:
        raise TraceError(line, f"mapping {echo(name)} is created twice (names are unique within a trace)")
    pages = _number(args[1], "PAGES", line)
    if args[2] not in ("private", "shared"):
        raise TraceError(line, f"expected 'private' or 'shared', not {echo(args[2])}")
    rest = args[3:]
    noreserve = bool(rest) and rest[0] == "noreserve"
    rest = rest[1:] if noreserve else rest
    file, offset = None, 0
    if rest:
        if rest[0] != "file" or len(rest) not in (2, 4) or (len(rest) == 4 and rest[2] != "offset"):
            raise TraceError(line, f"expected '{w.usage}'")
        file = rest[1]
        check.file(file, line)
        if len(rest) == 4:
            offset = _number(rest[3], "offset", line)
    check.mappings[name] = pages
    check.know(proc, name)
    return Mmap(line, w.text, proc, name, pages, args[2] == "shared", noreserve, file, offset)


def _parse_touch(w: _Words, check: _Checker) -> Touch:
    name, page = w.args[0], _number(w.args[1], "PAGE", w.line)
    if len(w.args) == 3 and w.args[2] != "read":
        raise TraceError(w.line, f"expected 'read' or nothing after the page, not {echo(w.args[2])}")
    check.range(w.proc, name, page, 1, w.line)
    return Touch(w.line, w.text, w.proc, name, page, len(w.args) == 2)


def _range_of(w: _Words, check: _Checker) -> tuple[str, int, int]:
    """NAME START COUNT, checked against the mapping: munmap, mprotect and madvise share it."""
    name = w.args[0]
    start, count = _number(w.args[1], "START", w.line), _number(w.args[2], "COUNT", w.line)
    check.range(w.proc, name, start, count, w.line)
    return name, start, count


def _parse_munmap(w: _Words, check: _Checker) -> Munmap:
    return Munmap(w.line, w.text, w.proc, *_range_of(w, check))


def _parse_mprotect(w: _Words, check: _Checker) -> Mprotect:
    name, start, count = _range_of(w, check)
    if w.args[3] not in PROTECTIONS:
        raise TraceError(w.line, f"protection must be r, rw or none, not {echo(w.args[3])}")
    return Mprotect(w.line, w.text, w.proc, name, start, count, w.args[3])


def _parse_madvise(w: _Words, check: _Checker) -> Madvise:
    name, start, count = _range_of(w, check)
    if w.args[3] not in ("dontneed", "remove"):
        raise TraceError(w.line, f"the advice is 'dontneed' or 'remove', not {echo(w.args[3])}")
    return Madvise(w.line, w.text, w.proc, name, start, count, w.args[3])


def _parse_fork(w: _Words, check: _Checker) -> Fork:
    known = check.process(w.proc, w.line)
    child = _name(w.args[0], "process", w.line)
    if child in check.processes:
        raise TraceError(w.line, f"process {echo(child)} is created twice (names are unique within a trace)")
    if len(check.processes) >= MAX_PROCESSES:
        raise TraceError(w.line, f"more than {MAX_PROCESSES:,} processes (hugelab's limit: Linux's pid_max "
                                 "never allows more)")
    check.processes[child] = set(known)
    return Fork(w.line, w.text, w.proc, child)


def _parse_exit(w: _Words, check: _Checker) -> Exit:
    check.process(w.args[0], w.line)
    return Exit(w.line, w.text, w.args[0])


def _parse_shmat(w: _Words, check: _Checker) -> Shmat:
    check.process(w.proc, w.line)
    pages = check.segment(w.args[0], w.line)
    name = check.new(check.mappings, _name(w.args[1], "mapping", w.line), "mapping", w.line)
    check.mappings[name] = pages
    check.know(w.proc, name)
    return Shmat(w.line, w.text, w.proc, w.args[0], name)


def _parse_mount(w: _Words, check: _Checker) -> Mount:
    name = check.new(check.mounts, _name(w.args[0], "mount", w.line), "mount", w.line)
    options: dict[str, int] = {}
    for word in w.args[1:]:
        key, _, value = word.partition("=")
        if key not in ("size", "min_size") or not value:
            raise TraceError(w.line, f"a mount option is size=N or min_size=K, not {word!r}")
        if key in options:
            raise TraceError(w.line, f"{key}= given twice")
        options[key] = _number(value, key, w.line)
    check.mounts.add(name)
    return Mount(w.line, w.text, name, options.get("size"), options.get("min_size"))


def _parse_umount(w: _Words, check: _Checker) -> Umount:
    check.mount(w.args[0], w.line)  # M stays nameable: EBUSY keeps it, a success makes the replay skip
    return Umount(w.line, w.text, w.args[0])


def _parse_file(w: _Words, check: _Checker) -> FileOp:
    name = check.new(check.files, _name(w.args[0], "file", w.line), "file", w.line)
    mount = None
    if len(w.args) > 1:
        if len(w.args) != 3 or w.args[1] != "on":
            raise TraceError(w.line, "expected 'file F' or 'file F on M'")
        mount = w.args[2]
        check.mount(mount, w.line)
    check.files[name] = _FileText(mount, False)
    return FileOp(w.line, w.text, name, mount)


def _parse_memfd(w: _Words, check: _Checker) -> Memfd:
    name = check.new(check.files, _name(w.args[0], "file", w.line), "file", w.line)
    check.files[name] = _FileText(None, True)
    return Memfd(w.line, w.text, name)


def _parse_close(w: _Words, check: _Checker) -> CloseFile:
    check.file(w.args[0], w.line)
    check.file_is(w.args[0], closed=True)
    return CloseFile(w.line, w.text, w.args[0])


def _parse_unlink(w: _Words, check: _Checker) -> Unlink:
    info = check.file(w.args[0], w.line)
    if info.memfd:
        raise TraceError(w.line, f"file {w.args[0]!r} is a memfd: it has no name to unlink")
    check.file_is(w.args[0], unlinked=True)
    return Unlink(w.line, w.text, w.args[0])


def _parse_truncate(w: _Words, check: _Checker) -> Truncate:
    check.file(w.args[0], w.line)
    return Truncate(w.line, w.text, w.args[0], _number(w.args[1], "PAGES", w.line))


def _file_range(w: _Words, check: _Checker) -> tuple[str, int, int]:
    check.file(w.args[0], w.line)
    return w.args[0], _number(w.args[1], "START", w.line), _number(w.args[2], "COUNT", w.line)


def _parse_fallocate(w: _Words, check: _Checker) -> Fallocate:
    return Fallocate(w.line, w.text, *_file_range(w, check))


def _parse_punch(w: _Words, check: _Checker) -> Punch:
    return Punch(w.line, w.text, *_file_range(w, check))


def _parse_shmget(w: _Words, check: _Checker) -> Shmget:
    name = check.new(check.segments, _name(w.args[0], "segment", w.line), "segment", w.line)
    pages = _number(w.args[1], "PAGES", w.line)
    if len(w.args) == 3 and w.args[2] != "noreserve":
        raise TraceError(w.line, f"expected 'noreserve' or nothing after the size, not {w.args[2]!r}")
    check.segments[name] = pages
    return Shmget(w.line, w.text, name, pages, len(w.args) == 3)


def _parse_shmrm(w: _Words, check: _Checker) -> Shmrm:
    check.segment(w.args[0], w.line)
    return Shmrm(w.line, w.text, w.args[0])


@dataclass(frozen=True)
class OperationRow:
    """One operation of the language, and every home it has: how it is written and parsed, what it
    is once parsed, and what carries it out in each back end. Adding an operation means one row
    here and its handlers; ``tests/test_operations.py`` fails while a back end lacks it.

    The back ends look an operation up by ``op`` (its word): the model's handler
    (:data:`hugelab.model.machine.HANDLERS`), the real-kernel worker's command (``kernel`` says which
    worker: the replaying ``session``, a trace ``process``, or the ``files`` worker that owns mounts,
    files and segments), and the C program's step (``OP_<c>`` in ``repro_template.c``).
    """

    op: str
    #: the words after the operation's name, as ``--help`` shows them
    args: str
    #: how many words may follow the operation's name
    least: int
    most: int
    #: whether ``in PROC`` may say which process does it (else it is global)
    in_proc: bool
    #: the system call or setting it stands for
    means: str
    #: its parsed form, and the parser that makes it from the line's words
    form: type[Op]
    parse: Callable[[_Words, _Checker], Operation]
    #: which real-kernel worker carries it out: "session", "process" or "files"
    kernel: str
    #: the C program's step: ``OP_<c>``
    c: str
    #: the random generators' relative weights: v1's (0: not in v1), and v2's by variant
    #: (a variant is a kind of line the v2 generator writes, e.g. "mmap file")
    v1_weight: int
    v2_weights: dict[str, int]

    @property
    def usage(self) -> str:
        return f"{self.op} {self.args}"


#: The grammar, in the order ``--help`` lists it: one row per operation.
OPERATIONS: dict[str, OperationRow] = {row.op: row for row in (
    OperationRow("pool", "N [overcommit M]", 1, 3, False, "set vm.nr_hugepages (and vm.nr_overcommit_hugepages)",
                 Pool, _parse_pool, "session", "POOL", 5, {"pool": 3}),
    OperationRow("mmap", "NAME PAGES private|shared [noreserve] [file F [offset K]]", 3, 8, True,
                 "mmap PAGES huge pages (+ MAP_NORESERVE), anonymous or of file F from its page K",
                 Mmap, _parse_mmap, "process", "MMAP", 14, {"mmap": 6, "mmap file": 10}),
    OperationRow("touch", "NAME PAGE [read]", 2, 3, True, "write one byte of page PAGE (or read it)",
                 Touch, _parse_touch, "process", "TOUCH", 34, {"touch": 30}),
    OperationRow("munmap", "NAME START COUNT", 3, 3, True, "munmap pages [START, START + COUNT)",
                 Munmap, _parse_munmap, "process", "MUNMAP", 10, {"munmap": 6}),
    OperationRow("mprotect", "NAME START COUNT r|rw|none", 4, 4, True, "mprotect them: read, read-write or none",
                 Mprotect, _parse_mprotect, "process", "MPROTECT", 7, {"mprotect": 3}),
    OperationRow("madvise", "NAME START COUNT dontneed|remove", 4, 4, True,
                 "madvise(MADV_DONTNEED or MADV_REMOVE) them",
                 Madvise, _parse_madvise, "process", "MADVISE", 7, {"madvise": 4, "remove": 3}),
    OperationRow("fork", "CHILD", 1, 1, True, "fork a child process named CHILD",
                 Fork, _parse_fork, "process", "FORK", 8, {"fork": 4}),
    OperationRow("exit", "PROC", 1, 1, False, "process PROC exits",
                 Exit, _parse_exit, "process", "EXIT", 4, {"exit": 2}),
    # v2: files, mounts, System V segments, memfd (done by the trace itself, except shmat)
    OperationRow("mount", "M [size=N] [min_size=K]", 1, 3, False, "mount hugetlbfs M (size=, min_size= in pages)",
                 Mount, _parse_mount, "files", "MOUNT", 0, {"mount": 6}),
    OperationRow("umount", "M", 1, 1, False, "umount M",
                 Umount, _parse_umount, "files", "UMOUNT", 0, {"umount": 10}),
    OperationRow("file", "F [on M]", 1, 3, False,
                 "create file F (on M, else a mount of the trace's own) and hold it open",
                 FileOp, _parse_file, "files", "FILE", 0, {"file": 8}),
    OperationRow("memfd", "F", 1, 1, False, "memfd_create(F, MFD_HUGETLB), held open",
                 Memfd, _parse_memfd, "files", "MEMFD", 0, {"memfd": 2}),
    OperationRow("close", "F", 1, 1, False, "drop the trace's hold on F",
                 CloseFile, _parse_close, "files", "CLOSE", 0, {"close": 3}),
    OperationRow("unlink", "F", 1, 1, False, "remove F's name",
                 Unlink, _parse_unlink, "files", "UNLINK", 0, {"unlink": 3}),
    OperationRow("truncate", "F PAGES", 2, 2, False, "ftruncate F to PAGES pages",
                 Truncate, _parse_truncate, "files", "TRUNCATE", 0, {"truncate": 4}),
    OperationRow("fallocate", "F START COUNT", 3, 3, False, "fallocate pages [START, START + COUNT) of F",
                 Fallocate, _parse_fallocate, "files", "FALLOCATE", 0, {"fallocate": 4}),
    OperationRow("punch", "F START COUNT", 3, 3, False, "punch a hole over pages [START, START + COUNT) of F",
                 Punch, _parse_punch, "files", "PUNCH", 0, {"punch": 3}),
    OperationRow("shmget", "S PAGES [noreserve]", 2, 3, False, "shmget a SHM_HUGETLB segment S (+ SHM_NORESERVE)",
                 Shmget, _parse_shmget, "files", "SHMGET", 0, {"shmget": 3}),
    OperationRow("shmat", "S NAME", 2, 2, True, "shmat segment S as mapping NAME",
                 Shmat, _parse_shmat, "process", "SHMAT", 0, {"shmat": 3}),
    OperationRow("shmrm", "S", 1, 1, False, "shmctl(S, IPC_RMID)",
                 Shmrm, _parse_shmrm, "files", "SHMRM", 0, {"shmrm": 2}),
)}

#: each operation's row, by its parsed form
ROW_OF: dict[type, OperationRow] = {row.form: row for row in OPERATIONS.values()}

#: every operation's usage, one a line
GRAMMAR = "\n".join(("[in PROC] " if s.in_proc else "") + s.usage for s in OPERATIONS.values())


def grammar_help() -> str:
    """The grammar with what each operation means, for ``hugelab replay --help``."""
    usages = GRAMMAR.splitlines()
    width = max(map(len, usages))
    rows = [f"  {usage.ljust(width)}  {s.means}" for usage, s in zip(usages, OPERATIONS.values())]
    return ("a trace is one operation a line ('#' starts a comment); PROC defaults to main;\n"
            "START COUNT means the pages [START, START + COUNT), counted from the mapping's start:\n"
            + "\n".join(rows))


class TraceBuilder:
    """Checks and adds trace lines one at a time (the explorer's clicks use it).

    A bad line raises :class:`TraceError` and leaves the builder as it was.
    """

    def __init__(self) -> None:
        self._check = _Checker()
        self.ops: list[Operation] = []
        self.lines = 0

    @property
    def mapping_names(self) -> set[str]:
        """Every mapping name the lines so far have created."""
        return set(self._check.mappings)

    def mappings_of(self, proc: str) -> set[str]:
        """The mapping names ``proc`` knows after the lines so far (its own and inherited)."""
        return set(self._check.processes.get(proc, ()))

    def segment_pages(self, segment: str) -> int:
        """The size of segment ``segment`` (made by an earlier ``shmget`` line)."""
        return self._check.segments[segment]

    @property
    def process_names(self) -> list[str]:
        """Every process the lines so far have created, ``main`` first."""
        return list(self._check.processes)

    @property
    def process_count(self) -> int:
        """How many processes the lines so far have created, ``main`` included."""
        return len(self._check.processes)

    @property
    def file_names(self) -> list[str]:
        """Every file (and memfd) the lines so far have created, oldest first."""
        return list(self._check.files)

    def file_gone(self, name: str) -> str:
        """Why a later line could no longer name file ``name`` ("" while it can)."""
        try:
            self._check.file(name, self.lines + 1)
        except TraceError as e:
            return e.problem
        return ""

    def file_closed(self, name: str) -> bool:
        """Has a line so far closed file ``name`` (the text's own hold on it)?"""
        return self._check.files[name].closed

    @property
    def mount_names(self) -> list[str]:
        """Every mount the lines so far have made, oldest first (whether a umount
        took one away shows only while replaying: :attr:`hugelab.replay.Liveness.unmounted`)."""
        return [op.mount for op in self.ops if isinstance(op, Mount)]

    def state(self) -> tuple[_Checker, int]:
        """What a checkpoint keeps of this builder besides its operations: the checker (to copy
        at once, e.g. by pickling: a later line changes it in place) and the line count."""
        return self._check, self.lines

    @classmethod
    def restored(cls, state: tuple[_Checker, int], ops: list[Operation]) -> TraceBuilder:
        """A builder as it was when ``state`` was taken (a copy of it no one else holds), given the
        operations it had then (never changed once made, so shared with the builder they came from)."""
        builder = cls()
        builder._check, builder.lines = state
        builder.ops = ops
        return builder

    def add(self, raw: str, check: Callable[[Operation], None] | None = None) -> Operation | None:
        """Check one line of text; return its operation (None for blank or comment).

        ``check``, if given, may refuse the operation (raising TraceError) before it is added.
        """
        number = self.lines + 1
        if raw.endswith("\r\n") or raw.endswith("\n"):
            raw = raw[: -2 if raw.endswith("\r\n") else -1]
        check_line(raw, number)
        words = raw.split("#", 1)[0].split()
        if not words:
            self.lines = number
            return None
        if check is None:  # a refused line leaves the checker as it was (see _Checker)
            op = _parse_line(words, number, " ".join(words), self._check)
        else:  # ``check`` may still refuse a valid line: parse into a copy, kept only if it does not
            trial = self._check.copy()
            op = _parse_line(words, number, " ".join(words), trial)
            check(op)
            trial.shared = False  # the old checker goes: nothing is shared any more
            self._check = trial
        self.lines = number
        self.ops.append(op)
        return op


BOM = "\ufeff"
# Characters an editor, cat, wc -l or grep do not show as part of a line's
# text: C0/C1 controls but tab (and \r before \n), and, outside ASCII,
# format characters such as bidirectional overrides, and U+2028/U+2029.
# str.splitlines() would end a line at several of them, hiding an operation
# inside a comment.
_ASCII_HIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _first_hidden(text: str) -> int:
    """The index of the first hidden character in ``text`` (one pass, in C when ASCII), or -1."""
    found = _ASCII_HIDDEN.search(text)
    first = found.start() if found else len(text)
    if not text.isascii():
        for match in _NON_ASCII.finditer(text, 0, first):
            if unicodedata.category(match.group()) in _HIDDEN_CATEGORIES:
                return match.start()
    return first if found else -1


def _refuse_hidden(line: str, number: int, column: int) -> None:
    char = line[column]
    name = unicodedata.name(char, "a control character")
    raise TraceError(number, f"character U+{ord(char):04X} ({name}) at column {column + 1}: only \\n and "
                             "\\r\\n may end a line, and no other control or separator character may appear")


def check_line(raw: str, number: int) -> None:
    """Refuse one line (no line break in it) that is too long or holds a hidden character."""
    if len(raw) > MAX_LINE_CHARS:
        raise TraceError(number, f"the line is {len(raw):,} characters long; hugelab's limit is {MAX_LINE_CHARS:,}")
    column = _first_hidden(raw)
    if "\n" in raw:
        column = min(raw.index("\n"), column if column >= 0 else len(raw))
    if column >= 0:
        _refuse_hidden(raw, number, column)


def lines(text: str) -> Iterator[tuple[int, str]]:
    """Number and check each line of ``text``: only ``\\n`` and ``\\r\\n`` end a line.

    So the line numbers are those ``cat -n``, ``wc -l`` and any editor show.
    A UTF-8 byte order mark at the very start is dropped. Raises
    :class:`TraceError`, at the line where it is, for a line too long or
    a hidden character (see :func:`check_line`).
    """
    if text.startswith(BOM):
        text = text[1:]
    hidden = _first_hidden(text)
    hidden_line = text.count("\n", 0, hidden) + 1 if hidden >= 0 else 0
    crlf = "\r" in text
    for number, raw in enumerate(text.split("\n"), start=1):
        if len(raw) > MAX_LINE_CHARS:
            raise TraceError(number, f"the line is {len(raw):,} characters long; "
                                     f"hugelab's limit is {MAX_LINE_CHARS:,}")
        if number == hidden_line:
            _refuse_hidden(raw, number, hidden - (text.rfind("\n", 0, hidden) + 1))
        yield number, raw[:-1] if crlf and raw.endswith("\r") else raw


def parse_trace(text: str | Iterable[str]) -> Trace:
    """Check a whole trace and return it; raise :class:`TraceError` on the first bad line."""
    if not isinstance(text, str):
        text = "\n".join(text)
    if len(text) > MAX_TRACE_BYTES:
        raise TraceError(1, f"the trace is {len(text):,} characters long; hugelab's limit is {MAX_TRACE_BYTES:,}")
    check = _Checker()
    ops: list[Operation] = []
    for number, raw in lines(text):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if len(ops) == MAX_OPS:
            raise TraceError(number, f"more than {MAX_OPS:,} operations (hugelab's limit for one trace)")
        ops.append(_parse_line(words, number, " ".join(words), check))
    return Trace(tuple(ops), text, bool(check.mounts) and any(isinstance(op, Mount) and op.size is not None
                                                            for op in ops))


def format_ops(ops: Iterable[Operation]) -> str:
    """Trace text for ``ops``, one per line (the form shrinking prints)."""
    return "".join(op.text + "\n" for op in ops)
