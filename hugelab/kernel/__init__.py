"""The running Linux kernel as a machine that replays traces (needs root).

``replay_kernel(trace)`` gives the same step records as
``hugelab.replay(trace, policy)``, measured instead of modelled.
"""

from __future__ import annotations

from ..replay import Step, as_trace, drive
from ..trace import Trace
from .machine import KernelMachine, KernelReplayError, KernelSession, KernelUnavailable, why_unavailable


def replay_on(session: KernelSession, trace: Trace) -> list[Step]:
    """Replay one trace inside an open session (the pool starts empty)."""
    machine = KernelMachine(session, trace)
    try:
        return list(drive(trace, machine))
    finally:
        machine.close()


def replay_kernel(trace: Trace | str) -> list[Step]:
    """Replay ``trace`` on this machine's kernel; see :class:`KernelSession` for the safety rules."""
    trace = as_trace(trace)
    with KernelSession() as session:
        return replay_on(session, trace)


__all__ = ["KernelMachine", "KernelReplayError", "KernelSession", "KernelUnavailable",
           "replay_kernel", "replay_on", "why_unavailable"]
