"""``replay(trace, policy)``: the one driver behind the command line, the
widgets, the notebooks and the tests.

It walks a checked trace and produces one :class:`Step` per operation line:
the outcome, and the counters after the step (as JSON, one object a line:
``{"line": N, "op": TEXT, "ok": BOOL, "error": null|NAME, "counters":
{"total", "free", "rsvd", "surp"}}``, the format ``replay --json`` prints).
A line that names a process which has exited or was killed, or a mapping
whose mmap failed, is skipped (``error == "skipped"``, counters unchanged).

Anything that can carry out an operation and read counters (a
:class:`~hugelab.model.Model`, or the real kernel in
:mod:`hugelab.kernel`) is a *machine* and can be driven the same way.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from .hstate import Counters
from .model import Model
from .policies import Close, Policy
from .trace import MAIN, Exit, Fork, Mmap, Operation, Pool, Trace, parse_trace

SIGNALS = ("SIGBUS", "SIGSEGV")


class Machine(Protocol):
    def apply(self, op: Operation) -> str | None: ...

    def counters(self) -> Counters: ...


@dataclass(slots=True)
class Step:
    """One step record (the fields ``as_dict`` gives), plus the closes behind it.

    A record, never changed once made (not frozen only because a frozen
    dataclass takes three times as long to build, 100,000 times a trace).
    """

    line: int
    op: str
    error: str | None
    counters: Counters
    closes: tuple[Close, ...] = field(default=(), compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return {"line": self.line, "op": self.op, "ok": self.ok, "error": self.error,
                "counters": self.counters.as_dict()}

    def to_json(self) -> str:
        return json.dumps(self.as_dict())


class Liveness:
    """Which processes live and which mappings exist, from the outcomes so far.

    Shared by every machine so that the model and the real kernel skip the
    same lines for the same reasons.
    """

    def __init__(self) -> None:
        self.alive = {MAIN}
        self.failed_mmaps: set[str] = set()

    def skips(self, op: Operation) -> bool:
        if isinstance(op, Pool):
            return False
        if op.proc not in self.alive:
            return True
        name = getattr(op, "name", None)
        return name is not None and name in self.failed_mmaps

    def record(self, op: Operation, error: str | None) -> None:
        if isinstance(op, Pool):
            return
        if isinstance(op, Mmap) and error is not None:
            self.failed_mmaps.add(op.name)
        elif isinstance(op, Fork) and error is None:
            self.alive.add(op.child)
        elif isinstance(op, Exit) or error in SIGNALS:
            self.alive.discard(op.proc)


class Replayer:
    """Feeds operations one at a time to a machine; each call returns its step."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.live = Liveness()

    def feed(self, op: Operation) -> Step:
        if self.live.skips(op):
            return Step(op.line, op.text, "skipped", self.machine.counters())
        error = self.machine.apply(op)
        self.live.record(op, error)
        closes = tuple(getattr(self.machine, "closes", ()))
        return Step(op.line, op.text, error, self.machine.counters(), closes)


def drive(trace: Trace, machine: Machine) -> Iterator[Step]:
    """Carry out ``trace`` on ``machine``, yielding each step as it is done."""
    replayer = Replayer(machine)
    for op in trace:
        yield replayer.feed(op)


def as_trace(trace: Trace | str | Iterable[str]) -> Trace:
    return trace if isinstance(trace, Trace) else parse_trace(trace)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector (as ``timeit`` does), then restore it.

    A long trace keeps millions of page objects alive, and every collection
    walks them all: that was half of a 100,000-step replay. The model makes
    no reference cycles (``tests/test_replay.py`` checks it), so reference
    counting alone frees everything and nothing piles up while paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def replay(trace: Trace | str, policy: str | Policy = "modern") -> list[Step]:
    """Replay ``trace`` (text or parsed) under ``policy``; one :class:`Step` per operation.

    Raises :class:`~hugelab.trace.TraceError` for bad text, before replaying anything.
    """
    trace = as_trace(trace)
    with cyclic_gc_paused():
        return list(drive(trace, Model(policy)))
