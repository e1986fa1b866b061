"""``hugelab hunt``: search random traces for a broken invariant under a policy.

The checks are :mod:`hugelab.invariants`: no counter below zero, free >=
rsvd after every step, and a bare pool once every process has exited (the
hunt adds those exits itself). A find is shrunk to the fewest lines that
still break an invariant and printed with the counters along it.
"""

from __future__ import annotations

import random
from typing import TextIO

from .generate import random_trace
from .invariants import bare_pool_violations, violations
from .replay import replay
from .shrink import shrink
from .tables import table
from .trace import Fork, parse_trace


def _with_exits(text: str) -> str:
    """``text`` followed by the exit of every process it creates (skipped if gone)."""
    procs = ["main"] + [op.child for op in parse_trace(text) if isinstance(op, Fork)]
    return text + "".join(f"exit {p}\n" for p in reversed(procs))


def broken(text: str, policy: str) -> list[str]:
    """What the trace breaks under ``policy`` (empty when nothing)."""
    steps = replay(_with_exits(text), policy)
    found = [f"step {n} ({s.op}): {v}" for n, s in enumerate(steps, 1) for v in violations(s.counters)]
    if not found:
        found = [f"after every process exited: {v}" for v in bare_pool_violations(steps[-1].counters)]
    return found


def hunt(policy: str, traces: int, length: int, seed: int, out: TextIO) -> int:
    for n in range(traces):
        text = random_trace(random.Random(seed + n), length)
        if broken(text, policy):
            small = shrink(text, lambda t: bool(broken(t, policy)))
            ops = len(parse_trace(small))
            print(f"found after {n + 1} random traces: under {policy}, this trace of {ops} operations "
                  "breaks the kernel's invariants:\n", file=out)
            print(small, file=out)
            print(table(replay(_with_exits(small), policy)), file=out)
            print("\nbroken:", file=out)
            for line in broken(small, policy):
                print(f"  {line}", file=out)
            print("\nSave the trace to a file and compare it with the other eras (hugelab compare FILE "
                  "--policy A --policy B), or, as root, with your kernel (hugelab replay FILE --kernel).", file=out)
            return 0
    print(f"searched {traces} random traces of {length} operations under {policy}: no invariant broken", file=out)
    return 0
