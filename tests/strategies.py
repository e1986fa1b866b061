"""Hypothesis strategies: valid traces from a list of plain tuples.

Each tuple is read against what exists so far (indices wrap around the
processes and mappings alive), so Hypothesis can delete any element or
shrink any number and still get a valid trace: that is what makes found
failures shrink to a handful of lines.
"""

from __future__ import annotations

from hypothesis import strategies as st

KINDS = ["mmap", "munmap", "touch", "mprotect", "madvise", "fork", "exit", "pool"]
PROTS = ["r", "rw", "none"]

raw_op = st.tuples(st.sampled_from(KINDS), *[st.integers(0, 7)] * 4, st.booleans())


def interpret(pool: int, overcommit: int, raw: list, max_pages: int = 5, max_pool: int = 6) -> str:
    alive = {"main": []}
    pages: dict[str, int] = {}
    lines = [f"pool {pool} overcommit {overcommit}"]
    forks = 0
    for kind, a, b, c, d, flag in raw:
        procs = sorted(alive)
        proc = procs[a % len(procs)]
        pre = "" if proc == "main" else f"in {proc} "
        known = alive[proc]
        if kind in ("munmap", "touch", "mprotect", "madvise") and not known:
            kind = "mmap"
        if kind == "mmap":
            name = f"m{len(pages)}"
            pages[name] = 1 + c % max_pages
            known.append(name)
            word = "shared" if d % 3 == 2 else "private"
            lines.append(f"{pre}mmap {name} {pages[name]} {word}" + (" noreserve" if flag and d % 2 else ""))
        elif kind == "touch":
            name = known[b % len(known)]
            lines.append(f"{pre}touch {name} {c % pages[name]}" + (" read" if flag else ""))
        elif kind in ("munmap", "mprotect", "madvise"):
            name = known[b % len(known)]
            start = c % pages[name]
            count = 1 + d % (pages[name] - start)
            tail = {"munmap": "", "madvise": " dontneed", "mprotect": " " + PROTS[d % 3]}[kind]
            lines.append(f"{pre}{kind} {name} {start} {count}{tail}")
        elif kind == "fork":
            forks += 1
            child = f"p{forks}"
            alive[child] = list(known)
            lines.append(f"{pre}fork {child}")
        elif kind == "exit" and proc != "main":
            del alive[proc]
            lines.append(f"exit {proc}")
        elif kind == "pool":
            lines.append(f"pool {c % (max_pool + 1)} overcommit {d % 4}")
    return "\n".join(lines) + "\n"


@st.composite
def traces(draw, max_ops: int = 25, max_pages: int = 5, max_pool: int = 6) -> str:
    pool = draw(st.integers(0, max_pool))
    overcommit = draw(st.integers(0, 3))
    raw = draw(st.lists(raw_op, min_size=1, max_size=max_ops))
    return interpret(pool, overcommit, raw, max_pages, max_pool)
