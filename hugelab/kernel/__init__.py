"""The running Linux kernel as a machine that replays traces (needs root).

``replay_kernel(trace)`` gives the same step records as
``hugelab.replay(trace, policy)``, measured instead of modelled.
"""

from __future__ import annotations

from ..replay import Step, as_trace, drive
from ..trace import Mount, Trace
from .machine import KernelMachine, KernelReplayError, KernelSession, KernelUnavailable, why_unavailable


def refusal(trace: Trace) -> str | None:
    """Why this trace must not be replayed on this machine's kernel, if it must not.

    A ``min_size`` mount can leak reservations until reboot on Linux 6.15+
    (scenario ``min-size-leak-6.18``): such traces belong in a throw-away
    guest, never on a host that others (CI included) need afterwards.
    """
    for op in trace:
        if isinstance(op, Mount) and op.min_size is not None:
            return (f"line {op.line}: refused: a min_size mount can leak huge page reservations until reboot "
                    "(scenario min-size-leak-6.18); replay it in a throw-away guest, not on this machine")
    return None


def replay_on(session: KernelSession, trace: Trace, throwaway: bool = False) -> list[Step]:
    """Replay one trace inside an open session (the pool starts empty).

    Raises :class:`KernelUnavailable` for a trace :func:`refusal` refuses,
    unless the kernel is ``throwaway`` (a QEMU guest's, gone after the run).
    """
    reason = None if throwaway else refusal(trace)
    if reason:
        raise KernelUnavailable(reason)
    machine = KernelMachine(session, trace)
    try:
        return list(drive(trace, machine))
    finally:
        machine.close()


def replay_kernel(trace: Trace | str) -> list[Step]:
    """Replay ``trace`` on this machine's kernel; see :class:`KernelSession` for the safety rules."""
    trace = as_trace(trace)
    reason = refusal(trace)
    if reason:
        raise KernelUnavailable(reason)
    with KernelSession() as session:
        return replay_on(session, trace)


__all__ = ["KernelMachine", "KernelReplayError", "KernelSession", "KernelUnavailable",
           "refusal", "replay_kernel", "replay_on", "why_unavailable"]
