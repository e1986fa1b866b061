"""Random traces that use all of trace v1, for verify, hunt, exercises and tests.

Every trace starts with a ``pool`` line and is valid text by construction
(names exist, pages are in range). Sizes stay small so that pools run dry,
COW fails and surplus pages appear often.
"""

from __future__ import annotations

import random

from .trace import MAIN

#: relative weights of the operations after the first line
WEIGHTS = {"touch": 34, "mmap": 14, "munmap": 10, "mprotect": 7, "madvise": 7,
           "fork": 8, "exit": 4, "pool": 5}


def random_trace(rng: random.Random, length: int, max_pages: int = 6, max_pool: int = 8,
                 weights: dict[str, int] | None = None, min_pool: int = 0) -> str:
    """A random trace of ``length`` operation lines (the first is ``pool``)."""
    weights = weights or WEIGHTS
    kinds, kind_weights = list(weights), list(weights.values())
    alive: dict[str, list[str]] = {MAIN: []}  # process -> mapping names it knows
    pages: dict[str, int] = {}
    children = 0

    def pool_line() -> str:
        n = rng.randint(min_pool, max_pool)
        return f"pool {n} overcommit {rng.randint(0, 4)}" if rng.random() < 0.4 else f"pool {n}"

    lines = [pool_line()]
    while len(lines) < length:
        kind = rng.choices(kinds, kind_weights)[0]
        proc = rng.choice(sorted(alive))
        prefix = "" if proc == MAIN else f"in {proc} "
        known = alive[proc]
        if kind == "pool":
            lines.append(pool_line())
        elif kind == "mmap" or (kind in ("touch", "munmap", "mprotect", "madvise") and not known):
            name = f"m{len(pages)}"
            pages[name] = rng.randint(1, max_pages)
            known.append(name)
            extra = " noreserve" if rng.random() < 0.2 else ""
            lines.append(f"{prefix}mmap {name} {pages[name]} {rng.choice(['private', 'private', 'shared'])}{extra}")
        elif kind == "touch":
            name = rng.choice(known)
            read = " read" if rng.random() < 0.3 else ""
            lines.append(f"{prefix}touch {name} {rng.randrange(pages[name])}{read}")
        elif kind in ("munmap", "mprotect", "madvise"):
            name = rng.choice(known)
            start = rng.randrange(pages[name])
            count = rng.randint(1, pages[name] - start)
            tail = {"munmap": "", "mprotect": " " + rng.choice(["r", "rw", "none", "rw"]),
                    "madvise": " dontneed"}[kind]
            lines.append(f"{prefix}{kind} {name} {start} {count}{tail}")
        elif kind == "fork":
            children += 1
            child = f"p{children}"
            alive[child] = list(known)
            lines.append(f"{prefix}fork {child}")
        elif kind == "exit" and len(alive) > 1:
            victim = rng.choice(sorted(set(alive) - {MAIN}) or [MAIN])
            del alive[victim]
            lines.append(f"exit {victim}")
    return "\n".join(lines) + "\n"
