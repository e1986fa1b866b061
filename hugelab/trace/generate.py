"""Random traces that use all of trace v1, for verify, hunt, exercises and tests.

Every trace starts with a ``pool`` line and is valid text by construction
(names exist, pages are in range). Sizes stay small so that pools run dry,
COW fails and surplus pages appear often.
"""

from __future__ import annotations

import bisect
import random

from .language import MAIN, OPERATIONS

PROT_CODE = {"unmapped": 0, "none": 1, "r": 2, "rw": 3}

# The weights live in each operation's row (OPERATIONS); these say only the order of the draw, kept
# so that a seed always gives the trace it gave before (rng.choices depends on the order).
_V1_DRAW = ("touch", "mmap", "munmap", "mprotect", "madvise", "fork", "exit", "pool")
_V2_DRAW = ("touch", "mmap", "mmap file", "munmap", "mprotect", "madvise", "remove", "fork", "exit", "pool", "mount",
            "umount", "file", "memfd", "close", "unlink", "truncate", "fallocate", "punch", "shmget", "shmat", "shmrm")
_V2_VARIANTS = {kind: weight for row in OPERATIONS.values() for kind, weight in row.v2_weights.items()}

#: relative weights of the operations after the first line
WEIGHTS = {kind: OPERATIONS[kind].v1_weight for kind in _V1_DRAW}
#: relative weights of a v2 trace's operations (v1's, plus files, mounts, segments), by kind of line
V2_WEIGHTS = {kind: _V2_VARIANTS[kind] for kind in _V2_DRAW}


def random_trace(rng: random.Random, length: int, max_pages: int = 6, max_pool: int = 8,
                 weights: dict[str, int] | None = None, min_pool: int = 0, live: bool = False) -> str:
    """A random trace of ``length`` operation lines (the first is ``pool``).

    ``live``: touches only pages that are mapped and accessible in the
    touching process, and ``main`` never exits, so that long traces keep
    doing work instead of skipping lines after a SIGSEGV (benchmarks).
    """
    weights = weights or WEIGHTS
    kinds, kind_weights = list(weights), list(weights.values())
    alive: dict[str, list[str]] = {MAIN: []}  # process -> mapping names it knows
    # the live process names in sorted order, kept as they change (sorting
    # them afresh at every line made long traces quadratic); MAIN sorts
    # first, before every child p1, p2...
    order = [MAIN]
    pages: dict[str, int] = {}
    # live traces: process -> mapping -> one byte per page, as the text leaves
    # them (PROT_CODE); immutable, so a fork shares them until one side changes
    layout: dict[str, dict[str, bytes]] = {MAIN: {}}
    children = 0

    def pool_line() -> str:
        n = rng.randint(min_pool, max_pool)
        return f"pool {n} overcommit {rng.randint(0, 4)}" if rng.random() < 0.4 else f"pool {n}"

    lines = [pool_line()]
    while len(lines) < length:
        kind = rng.choices(kinds, kind_weights)[0]
        proc = rng.choice(order)
        prefix = "" if proc == MAIN else f"in {proc} "
        known = alive[proc]
        if kind == "pool":
            lines.append(pool_line())
        elif kind == "mmap" or (kind in ("touch", "munmap", "mprotect", "madvise") and not known):
            name = f"m{len(pages)}"
            pages[name] = rng.randint(1, max_pages)
            known.append(name)
            layout[proc][name] = bytes([PROT_CODE["rw"]]) * pages[name]
            extra = " noreserve" if rng.random() < 0.2 and not live else ""
            lines.append(f"{prefix}mmap {name} {pages[name]} {rng.choice(['private', 'private', 'shared'])}{extra}")
        elif kind == "touch":
            name = rng.choice(known)
            read = " read" if rng.random() < 0.3 else ""
            if live:
                lowest = PROT_CODE["r"] if read else PROT_CODE["rw"]
                where = layout[proc][name]
                tries = (rng.randrange(pages[name]) for _ in range(20))
                page = next((i for i in tries if where[i] >= lowest), None)
                if page is None:
                    continue
            else:
                page = rng.randrange(pages[name])
            lines.append(f"{prefix}touch {name} {page}{read}")
        elif kind in ("munmap", "mprotect", "madvise"):
            name = rng.choice(known)
            start = rng.randrange(pages[name])
            count = rng.randint(1, pages[name] - start)
            prot = rng.choice(["r", "rw", "none", "rw"])
            tail = {"munmap": "", "mprotect": " " + prot, "madvise": " dontneed"}[kind]
            lines.append(f"{prefix}{kind} {name} {start} {count}{tail}")
            if live and kind != "madvise":
                changed = bytearray(layout[proc][name])
                for i in range(start, start + count):
                    if kind == "munmap":
                        changed[i] = PROT_CODE["unmapped"]
                    elif changed[i] == PROT_CODE["unmapped"]:
                        break  # mprotect stops at the first hole
                    else:
                        changed[i] = PROT_CODE[prot]
                layout[proc][name] = bytes(changed)
        elif kind == "fork":
            children += 1
            child = f"p{children}"
            alive[child] = list(known)
            bisect.insort(order, child)
            layout[child] = dict(layout[proc])
            lines.append(f"{prefix}fork {child}")
        elif kind == "exit" and len(alive) > 1:
            victim = rng.choice(_Children(order))
            del alive[victim]
            del order[bisect.bisect_left(order, victim)]
            lines.append(f"exit {victim}")
    return "\n".join(lines) + "\n"


def random_v2_trace(rng: random.Random, length: int, max_pages: int = 6, max_pool: int = 8,
                    min_size: bool = False, since_2008: bool = True) -> str:
    """A random trace of ``length`` lines mixing v1 operations with files, mounts,
    memfds and System V segments (trace v2). Valid text by construction: each
    candidate line is checked by the parser's :class:`~hugelab.trace.language.TraceBuilder`
    and dropped if the text so far makes it invalid.

    ``min_size``: mounts may have ``min_size=``. Such traces can leak
    reservations on Linux 6.15+ for good: never replay them on a host you need.
    ``since_2008``: use what came after 2008 (fallocate, hole punch,
    MADV_REMOVE, memfd); without it the 2008 eras can replay the trace.

    Every file, mount and mapping stays in the draw after a ``umount``: one
    that fails with EBUSY (a file open or mapped) is followed by uses of the
    mount and its files, one that succeeds by lines the replay skips. Half
    the umounts first close the mount's files the text still holds open,
    so that both outcomes are common.
    """
    from .language import FileOp, Fork, Mmap, Shmat, TraceBuilder, TraceError, Umount

    builder = TraceBuilder()
    later = () if since_2008 else ("remove", "fallocate", "punch", "memfd")
    weights = {kind: weight for kind, weight in V2_WEIGHTS.items() if kind not in later}
    kinds, kind_weights = list(weights), list(weights.values())
    files: list[str] = []
    mounts: list[str] = []
    files_on: dict[str, list[str]] = {}  # mount -> the files made on it
    mapping_file: dict[str, str] = {}  # mapping -> the file it maps
    # after a umount: its mount and files, which the next lines favour (used on after
    # EBUSY, skipped after a success)
    focus_mount: str = ""
    focus: list[str] = []
    segments: list[str] = []
    pages: dict[str, int] = {}
    # what the builder knows, kept here as lines are accepted (asking it at
    # every line made long traces quadratic): the processes in the order
    # they were made, and the mappings each knows in the order they were made
    process_names = [MAIN]
    knows: dict[str, list[str]] = {MAIN: []}
    made = 0

    def new(prefix: str) -> str:
        nonlocal made
        made += 1
        return f"{prefix}{made}"

    def pool_line() -> str:
        n = rng.randint(0, max_pool)
        return f"pool {n} overcommit {rng.randint(0, 4)}" if rng.random() < 0.4 else f"pool {n}"

    def pick_file() -> str:
        return rng.choice(focus if focus and rng.random() < 0.6 else files)

    builder.add(pool_line())
    while len(builder.ops) < length:
        kind = rng.choices(kinds, kind_weights)[0]
        procs = process_names
        proc = rng.choice(procs)
        prefix = "" if proc == MAIN else f"in {proc} "
        known = knows[proc]
        near = [m for m in known if mapping_file.get(m) in focus] if focus else []
        if near and rng.random() < 0.6:
            known = near
        if kind == "pool":
            line = pool_line()
        elif kind == "mmap" or (kind in ("touch", "munmap", "mprotect", "madvise", "remove") and not known):
            name = new("m")
            pages[name] = rng.randint(1, max_pages)
            extra = " noreserve" if rng.random() < 0.2 else ""
            line = f"{prefix}mmap {name} {pages[name]} {rng.choice(['private', 'shared'])}{extra}"
        elif kind == "mmap file" and files:
            name = new("m")
            pages[name] = rng.randint(1, max_pages)
            extra = " noreserve" if rng.random() < 0.15 else ""
            offset = f" offset {rng.randint(1, max_pages)}" if rng.random() < 0.25 else ""
            line = (f"{prefix}mmap {name} {pages[name]} {rng.choice(['private', 'shared', 'shared'])}{extra} "
                    f"file {pick_file()}{offset}")
        elif kind == "touch":
            name = rng.choice(known)
            line = f"{prefix}touch {name} {rng.randrange(pages[name])}{' read' if rng.random() < 0.3 else ''}"
        elif kind in ("munmap", "mprotect", "madvise", "remove"):
            name = rng.choice(known)
            start = rng.randrange(pages[name])
            count = rng.randint(1, pages[name] - start)
            tail = {"munmap": "", "mprotect": " " + rng.choice(["r", "rw", "none", "rw"]),
                    "madvise": " dontneed", "remove": " remove"}[kind]
            line = f"{prefix}{'madvise' if kind == 'remove' else kind} {name} {start} {count}{tail}"
        elif kind == "fork":
            line = f"{prefix}fork {new('p')}"
        elif kind == "exit" and len(procs) > 1:
            line = f"exit {rng.choice([p for p in procs if p != MAIN])}"
        elif kind == "mount":
            name = new("q")
            size = rng.randint(0, max_pool)
            options = f" size={size}" if rng.random() < 0.7 else ""
            if min_size and rng.random() < 0.4:
                options += f" min_size={rng.randint(0, size if options else max_pool)}"
            line = f"mount {name}{options}"
            mounts.append(name)
        elif kind == "umount" and mounts:
            # mostly a mount with files: an empty one always goes, and its lines after are few
            with_files = [m for m in mounts if m in files_on]
            if not with_files and rng.random() < 0.75:
                continue
            mount = rng.choice(with_files if with_files and rng.random() < 0.9 else mounts)
            if rng.random() < 0.5:  # a tidy umount: close what the text holds open on it first
                for file in files_on.get(mount, ()):
                    if len(builder.ops) < length - 1 and not builder.file_gone(file) and \
                            not builder.file_closed(file):
                        builder.add(f"close {file}")
            line = f"umount {mount}"
        elif kind in ("file", "memfd"):
            name = new("f")
            on = rng.choice(mounts) if kind == "file" and mounts and rng.random() < 0.8 else ""
            on = focus_mount if on and focus_mount and rng.random() < 0.4 else on
            line = f"{kind} {name}" + (f" on {on}" if on else "")
            files.append(name)
        elif kind in ("close", "unlink") and files:
            line = f"{kind} {pick_file()}"
        elif kind == "truncate" and files:
            line = f"truncate {pick_file()} {rng.randint(0, max_pages)}"
        elif kind in ("fallocate", "punch") and files:
            start = rng.randint(0, max_pages)
            line = f"{kind} {pick_file()} {start} {rng.randint(1, max_pages)}"
        elif kind == "shmget":
            name = new("s")
            line = f"shmget {name} {rng.randint(1, max_pages)}{' noreserve' if rng.random() < 0.2 else ''}"
            segments.append(name)
        elif kind == "shmat" and segments:
            name = new("m")
            segment = rng.choice(segments)
            line = f"{prefix}shmat {segment} {name}"
            pages[name] = 0  # known once the line is accepted
        elif kind == "shmrm" and segments:
            line = f"shmrm {rng.choice(segments)}"
        else:
            continue
        try:
            op = builder.add(line)
        except TraceError:
            continue
        if kind == "shmat":
            pages[op.name] = builder.segment_pages(op.segment)  # type: ignore[union-attr]
        elif isinstance(op, FileOp) and op.mount is not None:
            files_on.setdefault(op.mount, []).append(op.file)
        elif isinstance(op, Mmap) and op.file is not None:
            mapping_file[op.name] = op.file
        elif isinstance(op, Umount):
            focus_mount, focus = op.mount, files_on.get(op.mount, [])
        if isinstance(op, Mmap | Shmat):
            knows[op.proc].append(op.name)
        elif isinstance(op, Fork):
            knows[op.child] = list(knows[op.proc])
            process_names.append(op.child)
    return "".join(op.text + "\n" for op in builder.ops)


class _Children:
    """The sorted live processes but MAIN (the first), as a sequence, without a copy."""

    def __init__(self, order: list[str]) -> None:
        self.order = order

    def __len__(self) -> int:
        return len(self.order) - 1

    def __getitem__(self, i: int) -> str:
        return self.order[i + 1]
