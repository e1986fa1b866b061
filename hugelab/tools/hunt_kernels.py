"""``hugelab hunt --kernels A,B``: a trace on which two real kernels disagree, found and shrunk.

Both kernels replay the same random traces (each in its own QEMU guest, or
one on this machine: see :mod:`hugelab.realkernel.targets`), one after the
other: the guests are booted one at a time and never replay at once, so a
2-core machine shared with others is not asked for two cores of TCG. In a
guest, a trace after which the pool is not bare is part of its record (the
counters it kept), and the next trace gets a fresh guest. A trace whose
records differ anywhere (counters, outcome, statfs or what leaked) is shrunk
with :func:`hugelab.trace.shrink.shrink`, every candidate replayed on both
kernels again, and the hunt goes on until a find has at most ``max_ops``
operations (or the traces run out: the smallest find is printed).
"""

from __future__ import annotations

import random
from contextlib import ExitStack
from typing import TextIO

from ..limits import KERNEL_MAX_RUN_STEPS, run_too_long
from ..model.hstate import Counters
from ..replay import Step
from ..trace.generate import random_trace, random_v2_trace
from ..trace.language import Trace, parse_trace
from ..trace.shrink import shrink
from .tables import differ_line, runs_table

MAX_OPS = 10


def hunt_kernels(specs: list[str], traces: int, length: int, seed: int, out: TextIO,
                 progress: TextIO | None = None, max_ops: int = MAX_OPS, files: bool = False) -> int:
    """``files``: random trace-v2 traces; with ``min_size`` mounts only when no side is this
    machine's kernel (see :func:`hugelab.realkernel.targets.min_size_in_random_traces`)."""
    from ..realkernel.machine import KernelLeaked
    from ..realkernel.targets import is_host, min_size_in_random_traces, open_kernel

    refusal = run_too_long(traces, length, on_kernels=True)
    if refusal is not None:
        raise ValueError(refusal)
    min_size = min_size_in_random_traces(specs, files)

    with ExitStack() as stack:
        machines = [stack.enter_context(open_kernel(spec)) for spec in specs]  # one boot after the other
        names = [f"Linux {m.release}" for m in machines]
        guests = [not is_host(spec) for spec in specs]
        if progress:
            print(f"  hunting: {' vs '.join(names)}", file=progress)

        def run(machine, guest: bool, trace: Trace) -> tuple[list[Step], Counters | None]:
            try:
                return machine.replay(trace), None
            except KernelLeaked as leak:
                if not guest:  # this machine's pool leaked: stop here (the error names the trace)
                    raise
                return leak.steps, leak.counters

        def both(trace: Trace) -> list[tuple[list[Step], Counters | None]]:
            return [run(m, guest, trace) for m, guest in zip(machines, guests)]

        def disagree(text: str) -> bool:
            a, b = both(parse_trace(text))
            return a != b

        best: str | None = None
        for n in range(traces):
            rng = random.Random(seed + n)
            text = random_v2_trace(rng, length, min_size=min_size) if files else random_trace(rng, length)
            if not disagree(text):
                if progress and (n + 1) % 10 == 0:
                    print(f"\r  {n + 1}/{traces} traces: they agree so far", end="", file=progress, flush=True)
                continue
            small = shrink(text, disagree, budget=KERNEL_MAX_RUN_STEPS)
            if progress:
                print(f"\r  trace {n + 1} (seed {seed + n}) differs; shrunk to {len(parse_trace(small))} "
                      "operations", file=progress)
            if best is None or len(parse_trace(small)) < len(parse_trace(best)):
                best = small
            if len(parse_trace(best)) <= max_ops:
                break
        if best is None:
            print(f"searched {traces} random traces of {length} operations: {' and '.join(names)} agree on "
                  "every step", file=out)
            return 0
        trace = parse_trace(best)
        runs = both(trace)
        text, differ = runs_table(names, [steps for steps, _ in runs])
    print(f"{' and '.join(names)} disagree on this trace of {len(trace)} operations:\n", file=out)
    print(best, file=out)
    print(text, file=out)
    print(differ_line(differ), file=out)
    for name, (_, leaked) in zip(names, runs):
        if leaked is not None:
            print(f"{name} leaked: once everything of the trace was gone its pool showed Total/Free/Rsvd/Surp = "
                  f"{leaked}", file=out)
    print(reproducer_hint(trace), file=out)
    return 0


def reproducer_hint(trace: Trace) -> str:
    """How to turn a find into a C program (and, for a min_size trace, where it may run)."""
    hint = ("\nA C reproducer for kernel developers: save the trace, then hugelab export-c FILE "
            "[--expect POLICY] -o repro.c (it checks the counters"
            + (", the outcome and each sized mount's statfs" if trace.sized_mounts else " and the outcome")
            + " after every step)")
    if trace.min_size_mount():
        hint += ("\nThis trace mounts with min_size=, which can keep reservations until reboot on Linux 6.15 "
                 "and later: the program runs only with --may-leak; run it only on a throw-away machine")
    return hint
