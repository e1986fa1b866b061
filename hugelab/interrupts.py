"""Signals that stop hugelab: every catchable one whose default would end the process.

The first such signal interrupts (a KeyboardInterrupt); every later one is
ignored, so that a burst of Ctrl-Cs or a SIGTERM after a SIGINT cannot cut
short the cleanup the first one started (a kernel session putting the pool
back), nor kill the process before it has said what it put back.
"""

from __future__ import annotations

import contextlib
import signal

#: every signal whose default action ends the process, and that can be caught
CAUGHT = tuple(getattr(signal, name) for name in (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF",
    "SIGXCPU", "SIGXFSZ", "SIGIO", "SIGPWR") if hasattr(signal, name))

#: every signal received by a handler of this module or a kernel session, in order
received: list[int] = []


class Interrupted(KeyboardInterrupt):
    """The first signal: ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def first_only(signum: int, frame) -> None:
    """A handler: the first signal raises :class:`Interrupted`, later ones are only recorded."""
    received.append(signum)
    if len(received) == 1:
        raise Interrupted(signum)


def install() -> None:
    """Make :func:`first_only` the handler of every signal in :data:`CAUGHT` (main thread only).

    For a process that is hugelab (the command line): the handlers stay until it exits.
    """
    received.clear()
    for signum in CAUGHT:
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, first_only)
