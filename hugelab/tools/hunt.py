"""``hugelab hunt``: search random traces for a broken invariant under a policy.

The checks are :mod:`hugelab.model.invariants`: no counter below zero, free >=
rsvd after every step, and a bare pool once every process has exited (the
hunt adds those exits itself). A find is shrunk (:func:`hugelab.trace.shrink.shrink`)
while it still breaks an invariant, until no single line can go, and printed
with the counters along it.
"""

from __future__ import annotations

import contextlib
import random
from typing import TextIO

from ..limits import MAX_RUN_STEPS, run_too_long
from ..model.invariants import bare_pool_violations, violations
from ..model.policies import get_policy
from ..replay import replay
from ..trace.generate import random_trace, random_v2_trace
from ..trace.language import FileOp, Fork, Memfd, Mount, Shmget, TraceBuilder, TraceError, parse_trace
from ..trace.shrink import shrink
from .tables import table


def _with_exits(text: str) -> str:
    """``text`` followed by the exit of every process it creates (skipped if gone),
    then (trace v2) the close and unlink of every file, the removal of every
    segment and the umount of every mount, so that nothing holds the pool."""
    ops = parse_trace(text).ops
    procs = ["main"] + [op.child for op in ops if isinstance(op, Fork)]
    text += "".join(f"exit {p}\n" for p in reversed(procs))
    if not any(isinstance(op, FileOp | Memfd | Shmget | Mount) for op in ops):
        return text
    builder = TraceBuilder()
    for line in text.splitlines():
        builder.add(line)
    ending = [f"close {op.file}" for op in ops if isinstance(op, FileOp | Memfd)]
    ending += [f"unlink {op.file}" for op in ops if isinstance(op, FileOp)]
    ending += [f"shmrm {op.segment}" for op in ops if isinstance(op, Shmget)]
    ending += [f"umount {op.mount}" for op in ops if isinstance(op, Mount)]
    for line in ending:
        with contextlib.suppress(TraceError):  # gone already, as far as the text goes
            builder.add(line)
    return "".join(op.text + "\n" for op in builder.ops)


def broken(text: str, policy: str) -> list[str]:
    """What the trace breaks under ``policy`` (empty when nothing)."""
    steps = replay(_with_exits(text), policy)
    found = [f"step {n} ({s.op}): {v}" for n, s in enumerate(steps, 1) for v in violations(s.counters)]
    # (v2: the ending's closes come before its umounts, so a mount refused with EBUSY earlier goes too)
    if not found:
        found = [f"after every process exited and every file, segment and mount went: {v}"
                 for v in bare_pool_violations(steps[-1].counters)]
    return found


def hunt(policy: str, traces: int, length: int, seed: int, out: TextIO, files: bool = False) -> int:
    """Search ``traces`` random traces; ``files``: trace-v2 traces with files, mounts
    (min_size included), memfds and segments, as far as ``policy``'s era has them."""
    refusal = run_too_long(traces, length, on_kernels=False)
    if refusal is not None:
        raise ValueError(refusal)
    modern = not get_policy(policy).missing
    for n in range(traces):
        rng = random.Random(seed + n)
        text = random_v2_trace(rng, length, min_size=modern, since_2008=modern) if files \
            else random_trace(rng, length)
        if broken(text, policy):
            small = shrink(text, lambda t: bool(broken(t, policy)), budget=MAX_RUN_STEPS)
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
