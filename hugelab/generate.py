"""Random traces that use all of trace v1, for verify, hunt, exercises and tests.

Every trace starts with a ``pool`` line and is valid text by construction
(names exist, pages are in range). Sizes stay small so that pools run dry,
COW fails and surplus pages appear often.
"""

from __future__ import annotations

import bisect
import random

from .trace import MAIN

PROT_CODE = {"unmapped": 0, "none": 1, "r": 2, "rw": 3}

#: relative weights of the operations after the first line
WEIGHTS = {"touch": 34, "mmap": 14, "munmap": 10, "mprotect": 7, "madvise": 7,
           "fork": 8, "exit": 4, "pool": 5}


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


class _Children:
    """The sorted live processes but MAIN (the first), as a sequence, without a copy."""

    def __init__(self, order: list[str]) -> None:
        self.order = order

    def __len__(self) -> int:
        return len(self.order) - 1

    def __getitem__(self, i: int) -> str:
        return self.order[i + 1]
