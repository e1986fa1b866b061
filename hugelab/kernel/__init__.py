"""The running Linux kernel as a machine that replays traces (needs root).

``replay_kernel(trace)`` gives the same step records as
``hugelab.replay(trace, policy)``, measured instead of modelled.
"""

from __future__ import annotations

import sys

from ..replay import Step, as_trace, drive
from ..trace import Trace
from .machine import (
    KernelInterrupted,
    KernelMachine,
    KernelReplayError,
    KernelSession,
    KernelUnavailable,
    check_limits,
    why_unavailable,
)


def replay_on(session: KernelSession, trace: Trace, label: str = "the trace") -> list[Step]:
    """Replay one trace inside an open session (the pool starts empty, and must end bare)."""
    machine = KernelMachine(session, trace, label)
    try:
        steps = list(drive(trace, machine))
    except BaseException:
        try:
            machine.close()
        except KernelReplayError as e:  # the leak outranks what interrupted us
            print(f"hugelab: {e}", file=sys.stderr)
        raise
    machine.close()
    return steps


def replay_kernel(trace: Trace | str, label: str = "the trace") -> list[Step]:
    """Replay ``trace`` on this machine's kernel; see :class:`KernelSession` for the safety rules.

    The trace is checked against this machine's limits before the lock is taken or anything written.
    """
    trace = as_trace(trace)
    check_limits(trace)
    with KernelSession() as session:
        return replay_on(session, trace, label)


__all__ = ["KernelInterrupted", "KernelMachine", "KernelReplayError", "KernelSession", "KernelUnavailable",
           "check_limits", "replay_kernel", "replay_on", "why_unavailable"]
