"""Hypothesis strategies: valid traces built operation by operation (so they shrink)."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def traces(draw, max_ops: int = 25, max_pages: int = 5, max_pool: int = 6) -> str:
    alive = {"main": []}
    pages: dict[str, int] = {}
    n = draw(st.integers(0, max_pool))
    oc = draw(st.integers(0, 3))
    lines = [f"pool {n} overcommit {oc}"]
    for _ in range(draw(st.integers(1, max_ops))):
        proc = draw(st.sampled_from(sorted(alive)))
        pre = "" if proc == "main" else f"in {proc} "
        known = alive[proc]
        kind = draw(st.sampled_from(["mmap", "touch", "touch", "touch", "munmap", "mprotect",
                                     "madvise", "fork", "exit", "pool"]))
        if kind == "mmap" or (kind in ("touch", "munmap", "mprotect", "madvise") and not known):
            name = f"m{len(pages)}"
            pages[name] = draw(st.integers(1, max_pages))
            known.append(name)
            kind_word = draw(st.sampled_from(["private", "shared"]))
            extra = " noreserve" if draw(st.booleans()) and draw(st.booleans()) else ""
            lines.append(f"{pre}mmap {name} {pages[name]} {kind_word}{extra}")
        elif kind == "touch":
            name = draw(st.sampled_from(known))
            read = " read" if draw(st.booleans()) else ""
            lines.append(f"{pre}touch {name} {draw(st.integers(0, pages[name] - 1))}{read}")
        elif kind in ("munmap", "mprotect", "madvise"):
            name = draw(st.sampled_from(known))
            start = draw(st.integers(0, pages[name] - 1))
            count = draw(st.integers(1, pages[name] - start))
            tail = {"munmap": "", "madvise": " dontneed",
                    "mprotect": " " + draw(st.sampled_from(["r", "rw", "none"]))}[kind]
            lines.append(f"{pre}{kind} {name} {start} {count}{tail}")
        elif kind == "fork":
            child = f"p{len(alive)}_{len(lines)}"
            alive[child] = list(known)
            lines.append(f"{pre}fork {child}")
        elif kind == "exit" and proc != "main":
            del alive[proc]
            lines.append(f"exit {proc}")
        elif kind == "pool":
            lines.append(f"pool {draw(st.integers(0, max_pool))} overcommit {draw(st.integers(0, 3))}")
    return "\n".join(lines) + "\n"
