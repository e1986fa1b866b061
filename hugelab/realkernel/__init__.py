"""The running Linux kernel as a machine that replays traces (needs root).

``replay_kernel(trace)`` gives the same step records as
``hugelab.replay(trace, policy)``, measured instead of modelled.
"""

from __future__ import annotations

import sys

from ..replay import Step, as_trace, drive
from ..trace.language import Trace, parse_trace
from .machine import (
    KernelInterrupted,
    KernelLeaked,
    KernelMachine,
    KernelReplayError,
    KernelSession,
    KernelUnavailable,
    check_limits,
    why_unavailable,
)


def refusal(trace: Trace) -> str | None:
    """Why this trace must not be replayed on this machine's kernel, if it must not.

    A ``min_size`` mount can leak reservations until reboot on Linux 6.15+
    (scenario ``min-size-leak-6.18``): such traces belong in a throw-away
    guest, never on a host that others (CI included) need afterwards.
    """
    mount = trace.min_size_mount()
    if mount is None:
        return None
    return (f"line {mount.line}: refused: a min_size mount can leak huge page reservations until reboot "
            "(scenario min-size-leak-6.18); replay it in a throw-away guest, not on this machine")


def replay_on(session: KernelSession, trace: Trace, label: str = "the trace", throwaway: bool = False) -> list[Step]:
    """Replay one trace inside an open session (the pool starts empty, and must end bare).

    Raises :class:`KernelUnavailable` for a trace :func:`refusal` refuses, or
    one past this machine's limits (:mod:`hugelab.limits`), unless the kernel
    is ``throwaway`` (a QEMU guest's, gone after the run). ``label`` names the
    trace if the pool is not bare after it.
    """
    reason = None if throwaway else refusal(trace)
    if reason:
        raise KernelUnavailable(reason)
    machine = KernelMachine(session, trace, label, check=not throwaway)
    try:
        steps = list(drive(trace, machine))
    except BaseException:
        try:
            machine.close()
        except KernelReplayError as e:  # the leak outranks what interrupted us
            print(f"hugelab: {e}", file=sys.stderr)
        raise
    try:
        machine.close()
    except KernelLeaked as leak:  # the records stand: they show the way to the leak
        leak.steps = steps
        raise
    return steps


def leaking_step(session: KernelSession, trace: Trace) -> int | None:
    """The first step whose prefix of ``trace`` leaks on its own, replaying prefixes from the shortest.

    For a throw-away guest only: every prefix before the first leaking one leaves the pool
    bare (else it would have leaked), so each starts as a fresh replay would; the search
    stops at the first leak, after which the guest is spent.
    """
    for n in range(1, len(trace.ops) + 1):
        prefix = parse_trace("".join(op.text + "\n" for op in trace.ops[:n]))  # a prefix of a trace is one
        try:
            replay_on(session, prefix, throwaway=True)
        except KernelLeaked:
            return n
    return None


def replay_kernel(trace: Trace | str, label: str = "the trace") -> list[Step]:
    """Replay ``trace`` on this machine's kernel; see :class:`KernelSession` for the safety rules.

    The trace is checked against this machine's limits before the lock is taken or anything written.
    """
    trace = as_trace(trace)
    reason = refusal(trace)
    if reason:
        raise KernelUnavailable(reason)
    check_limits(trace)
    with KernelSession() as session:
        return replay_on(session, trace, label)


__all__ = ["KernelInterrupted", "KernelLeaked", "KernelMachine", "KernelReplayError", "KernelSession",
           "KernelUnavailable", "check_limits", "leaking_step", "refusal", "replay_kernel", "replay_on",
           "why_unavailable"]
